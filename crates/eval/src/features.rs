//! A set of feature vectors in f64, with the pieces every pairwise metric needs: squared
//! norms, and blocks of squared distances or inner products against another set.

use nalgebra::DMatrix;
use rayon::prelude::*;

use crate::EvalError;

/// Rows per block of a pairwise computation: a block against 10 000 rows is 40 MB of f64.
pub(crate) const BLOCK_ROWS: usize = 512;

/// `N` feature vectors of dimension `D`.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// `[N, D]`.
    rows: DMatrix<f64>,
    /// `[D, N]`, kept for products against other sets.
    columns: DMatrix<f64>,
    /// `‖x_i‖²`, `[N]`.
    squared_norms: Vec<f64>,
}

impl FeatureSet {
    /// Features from row-major `[count, dim]` f32 values.
    pub fn new(features: &[f32], dim: usize) -> Result<Self, EvalError> {
        if dim == 0 || features.is_empty() || !features.len().is_multiple_of(dim) {
            return Err(EvalError::Shape(format!(
                "{} feature values are not rows of {dim}",
                features.len()
            )));
        }
        let count = features.len() / dim;
        let rows = DMatrix::from_row_iterator(count, dim, features.iter().map(|&v| f64::from(v)));
        let squared_norms = rows.row_iter().map(|row| row.norm_squared()).collect();
        Ok(Self {
            columns: rows.transpose(),
            rows,
            squared_norms,
        })
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.rows.nrows()
    }

    /// Whether the set is empty (never, for a set built by [`FeatureSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.rows.ncols()
    }

    /// Rows `start..start + count` as a new set.
    pub fn slice(&self, start: usize, count: usize) -> Self {
        let rows = self.rows.rows(start, count).into_owned();
        Self {
            columns: rows.transpose(),
            squared_norms: self.squared_norms[start..start + count].to_vec(),
            rows,
        }
    }

    /// Inner products `x_i · y_j` of rows `start..start + count` of `self` with every row of
    /// `other`: `[count, other.len()]`.
    pub fn inner_products(&self, start: usize, count: usize, other: &Self) -> DMatrix<f64> {
        self.rows.rows(start, count) * &other.columns
    }

    /// Calls `visit(i, distances)` for every row `i` of `self` with its squared Euclidean
    /// distances to every row of `other` (`‖x‖² + ‖y‖² − 2 x·y`, clamped at 0), in blocks
    /// of [`BLOCK_ROWS`] rows computed in parallel. Results are collected in row order.
    pub fn map_squared_distances<T: Send>(&self, other: &Self, visit: impl Fn(usize, &[f64]) -> T + Sync) -> Vec<T> {
        let blocks: Vec<usize> = (0..self.len()).step_by(BLOCK_ROWS).collect();
        let per_block: Vec<Vec<T>> = blocks
            .par_iter()
            .map(|&start| {
                let count = BLOCK_ROWS.min(self.len() - start);
                let products = self.inner_products(start, count, other);
                let mut row = vec![0.0; other.len()];
                (0..count)
                    .map(|r| {
                        let norm = self.squared_norms[start + r];
                        for (j, slot) in row.iter_mut().enumerate() {
                            *slot = (norm + other.squared_norms[j] - 2.0 * products[(r, j)]).max(0.0);
                        }
                        visit(start + r, &row)
                    })
                    .collect()
            })
            .collect();
        per_block.into_iter().flatten().collect()
    }
}
