//! The Fréchet distance between two Gaussians fitted to feature sets, in f64.
//!
//! `FD = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2·tr((Σ₁^½ Σ₂ Σ₁^½)^½)`
//!
//! The trace term is computed from symmetric eigendecompositions only: `Σ₁^½` from the
//! eigenvalues of Σ₁ (negative round-off clamped to 0), then the eigenvalues of the symmetric
//! positive semi-definite `Σ₁^½ Σ₂ Σ₁^½`, whose square roots sum to the trace. This is the
//! same quantity as `tr((Σ₁Σ₂)^½)` (the two matrices are similar), but never takes the square
//! root of a non-symmetric matrix, so there are no complex parts to discard and no
//! ill-conditioned Schur steps.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use crate::EvalError;

/// Mean and covariance of a feature set.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// `[D]`.
    pub mean: DVector<f64>,
    /// `[D, D]`, unbiased (divided by N − 1).
    pub covariance: DMatrix<f64>,
    /// Number of feature vectors it was fitted to.
    pub count: usize,
}

impl Gaussian {
    /// Fits `features`, row-major `[count, dim]` f32, accumulating in f64.
    pub fn fit(features: &[f32], dim: usize) -> Result<Self, EvalError> {
        if dim == 0 || !features.len().is_multiple_of(dim) {
            return Err(EvalError::Shape(format!(
                "{} feature values are not rows of {dim}",
                features.len()
            )));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(EvalError::Shape(format!(
                "a covariance needs at least 2 feature vectors, got {count}"
            )));
        }
        let rows = DMatrix::from_row_iterator(count, dim, features.iter().map(|&v| f64::from(v)));
        let mean = DVector::from_iterator(dim, rows.column_iter().map(|column| column.mean()));
        let mut centered = rows;
        for mut row in centered.row_iter_mut() {
            row -= mean.transpose();
        }
        let mut covariance = centered.transpose() * &centered / (count as f64 - 1.0);
        // Exactly symmetric, whatever the summation order did.
        covariance = (&covariance + covariance.transpose()) * 0.5;
        Ok(Self {
            mean,
            covariance,
            count,
        })
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }
}

/// `f(A)` of a symmetric matrix by its eigendecomposition, `f` applied to the eigenvalues.
fn map_symmetric(matrix: DMatrix<f64>, f: impl Fn(f64) -> f64) -> DMatrix<f64> {
    let eigen = SymmetricEigen::new(matrix);
    let values = eigen.eigenvalues.map(f);
    &eigen.eigenvectors * DMatrix::from_diagonal(&values) * eigen.eigenvectors.transpose()
}

/// The Fréchet distance between `a` and `b` (≥ 0; 0 for identical Gaussians).
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64, EvalError> {
    if a.dim() != b.dim() {
        return Err(EvalError::Shape(format!(
            "feature dimensions differ: {} and {}",
            a.dim(),
            b.dim()
        )));
    }
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let root_a = map_symmetric(a.covariance.clone(), |v| v.max(0.0).sqrt());
    let inner = &root_a * &b.covariance * &root_a;
    let inner = (&inner + inner.transpose()) * 0.5;
    let trace_root: f64 = SymmetricEigen::new(inner)
        .eigenvalues
        .iter()
        .map(|v| v.max(0.0).sqrt())
        .sum();
    let distance = mean_term + a.covariance.trace() + b.covariance.trace() - 2.0 * trace_root;
    if !distance.is_finite() {
        return Err(EvalError::NonFinite("Fréchet distance"));
    }
    // Round-off can leave a tiny negative value for (nearly) identical sets.
    Ok(distance.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 2-D Gaussians with known closed-form distance: diagonal covariances commute,
    /// so FD = ‖Δμ‖² + Σ (√σ₁ − √σ₂)².
    #[test]
    fn matches_the_closed_form_for_diagonal_covariances() {
        let a = Gaussian {
            mean: DVector::from_vec(vec![0.0, 1.0]),
            covariance: DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 1.0])),
            count: 10,
        };
        let b = Gaussian {
            mean: DVector::from_vec(vec![3.0, 1.0]),
            covariance: DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 9.0])),
            count: 10,
        };
        let expected = 9.0 + (2.0f64 - 1.0).powi(2) + (1.0f64 - 3.0).powi(2);
        let distance = frechet_distance(&a, &b).unwrap();
        assert!((distance - expected).abs() < 1e-12, "{distance} vs {expected}");
    }

    #[test]
    fn fits_mean_and_unbiased_covariance() {
        let features = [1.0f32, 2.0, 3.0, 6.0, 5.0, 4.0];
        let fitted = Gaussian::fit(&features, 2).unwrap();
        assert_eq!(fitted.mean.as_slice(), &[3.0, 4.0]);
        assert_eq!(fitted.covariance[(0, 0)], 4.0);
        assert_eq!(fitted.covariance[(1, 1)], 4.0);
        assert_eq!(fitted.covariance[(0, 1)], 2.0);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Gaussian::fit(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(Gaussian::fit(&[1.0, 2.0], 2).is_err());
    }
}
