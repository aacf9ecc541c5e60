//! Kernel Inception Distance (Bińkowski et al. 2018) in the classifier's feature space.
//!
//! KID is the squared maximum mean discrepancy between the sample and reference feature
//! distributions under the cubic polynomial kernel `k(x, y) = (x·y / D + 1)³`, estimated
//! without bias:
//!
//! `MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / m(m−1) + Σ_{i≠j} k(yᵢ, yⱼ) / m(m−1) − 2 Σ_{i,j} k(xᵢ, yⱼ) / m²`
//!
//! Unlike the Fréchet distance it has no bias at small sample counts, so its expected value
//! is 0 for two samples of one distribution, and an estimate can be slightly negative.
//! Protocol: the sets are cut into consecutive, disjoint subsets of [`KID_SUBSET_SIZE`]
//! (or of the smaller set's size, if smaller); subset `s` of the samples is compared with
//! subset `s` of the reference; KID is the mean over subsets, with their population
//! standard deviation. Disjoint subsets in order need no random numbers, so any
//! implementation reproduces the exact value.

use crate::moments::mean_and_std;
use crate::{EvalError, FeatureSet};

/// Points per KID subset.
pub const KID_SUBSET_SIZE: usize = 1000;

/// KID: mean and standard deviation of the unbiased MMD² over subsets.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelDistance {
    /// Mean over the subsets.
    pub mean: f64,
    /// Population standard deviation over the subsets.
    pub std: f64,
    /// Number of subsets.
    pub subsets: usize,
    /// Points per subset.
    pub subset_size: usize,
}

/// `Σ k(x, y)` over the pairs of `x`'s rows and `y`'s rows, without the diagonal when
/// `skip_diagonal` (`x` and `y` then being one set).
fn kernel_sum(x: &FeatureSet, y: &FeatureSet, skip_diagonal: bool) -> f64 {
    let dim = x.dim() as f64;
    let products = x.inner_products(0, x.len(), y);
    let mut sum = 0.0;
    for j in 0..products.ncols() {
        for i in 0..products.nrows() {
            if !(skip_diagonal && i == j) {
                sum += (products[(i, j)] / dim + 1.0).powi(3);
            }
        }
    }
    sum
}

/// Unbiased MMD² between two sets of `m ≥ 2` points each.
pub fn unbiased_mmd2(x: &FeatureSet, y: &FeatureSet) -> Result<f64, EvalError> {
    let m = x.len();
    if m < 2 || y.len() != m || x.dim() != y.dim() {
        return Err(EvalError::Shape(format!(
            "MMD² needs two sets of equal size ≥ 2 and dimension; got {}×{} and {}×{}",
            x.len(),
            x.dim(),
            y.len(),
            y.dim()
        )));
    }
    let m = m as f64;
    let within = (kernel_sum(x, x, true) + kernel_sum(y, y, true)) / (m * (m - 1.0));
    Ok(within - 2.0 * kernel_sum(x, y, false) / (m * m))
}

/// KID of `samples` against `reference` with the protocol above.
pub fn kernel_inception_distance(samples: &FeatureSet, reference: &FeatureSet) -> Result<KernelDistance, EvalError> {
    let subset_size = KID_SUBSET_SIZE.min(samples.len()).min(reference.len());
    if subset_size < 2 {
        return Err(EvalError::Shape(format!(
            "KID needs at least 2 samples and 2 reference points, got {} and {}",
            samples.len(),
            reference.len()
        )));
    }
    let subsets = samples.len().min(reference.len()) / subset_size;
    let values = (0..subsets)
        .map(|s| {
            let start = s * subset_size;
            unbiased_mmd2(&samples.slice(start, subset_size), &reference.slice(start, subset_size))
        })
        .collect::<Result<Vec<f64>, EvalError>>()?;
    let (mean, std) = mean_and_std(&values);
    if !mean.is_finite() {
        return Err(EvalError::NonFinite("KID"));
    }
    Ok(KernelDistance {
        mean,
        std,
        subsets,
        subset_size,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    use super::*;

    fn gaussian(count: usize, dim: usize, shift: f32, seed: u64) -> FeatureSet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values: Vec<f32> = (0..count * dim)
            .map(|_| {
                let z: f32 = StandardNormal.sample(&mut rng);
                z + shift
            })
            .collect();
        FeatureSet::new(&values, dim).unwrap()
    }

    /// Two 1-d sets of two points, by hand: k(a, b) = (ab + 1)³.
    #[test]
    fn matches_a_hand_computed_case() {
        let x = FeatureSet::new(&[1.0, 2.0], 1).unwrap();
        let y = FeatureSet::new(&[0.0, -1.0], 1).unwrap();
        // Within x: 2·k(1, 2) / 2 = 27. Within y: 2·k(0, −1) / 2 = 1.
        // Across: k(1, 0) + k(1, −1) + k(2, 0) + k(2, −1) = 1 + 0 + 1 − 1 = 1, times 2/4.
        let expected = 27.0 + 1.0 - 2.0 * 1.0 / 4.0;
        assert!((unbiased_mmd2(&x, &y).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn is_about_zero_for_one_distribution_and_grows_with_a_shift() {
        let reference = gaussian(3000, 8, 0.0, 1);
        let same = kernel_inception_distance(&gaussian(3000, 8, 0.0, 2), &reference).unwrap();
        assert_eq!((same.subsets, same.subset_size), (3, 1000));
        assert!(same.mean.abs() < 0.02, "{same:?}");
        let itself = kernel_inception_distance(&reference, &reference).unwrap();
        // Not exactly 0: the diagonal is left out within the set but not across it.
        assert!(itself.mean.abs() < 0.02, "{itself:?}");
        let shifted = kernel_inception_distance(&gaussian(3000, 8, 0.5, 2), &reference).unwrap();
        let further = kernel_inception_distance(&gaussian(3000, 8, 1.0, 2), &reference).unwrap();
        assert!(
            shifted.mean > 10.0 * same.mean.abs().max(0.01),
            "{shifted:?} vs {same:?}"
        );
        assert!(further.mean > shifted.mean, "{further:?} vs {shifted:?}");
    }

    #[test]
    fn small_sets_use_one_smaller_subset() {
        let kid = kernel_inception_distance(&gaussian(50, 4, 0.0, 3), &gaussian(80, 4, 0.0, 4)).unwrap();
        assert_eq!((kid.subsets, kid.subset_size), (1, 50));
        assert!(kernel_inception_distance(&gaussian(1, 4, 0.0, 3), &gaussian(80, 4, 0.0, 4)).is_err());
    }
}
