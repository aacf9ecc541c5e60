//! The Inception Score with the Fashion-MNIST classifier standing in for Inception.
//!
//! `IS = exp(E_x KL(p(y|x) ‖ p(y)))`, computed on each of `splits` consecutive, equal parts
//! of the samples (the remainder is dropped), reported as mean ± standard deviation over the
//! parts, as in Salimans et al. 2016. It lies in [1, number of classes].

use crate::EvalError;
use crate::moments::mean_and_std;

/// Mean and population standard deviation of the score over the splits.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InceptionScore {
    /// Mean over the splits.
    pub mean: f64,
    /// Standard deviation over the splits.
    pub std: f64,
}

/// The score of `probabilities`, row-major `[N, classes]` (rows sum to 1), over `splits` parts.
pub fn inception_score(probabilities: &[f32], classes: usize, splits: usize) -> Result<InceptionScore, EvalError> {
    if classes == 0 || !probabilities.len().is_multiple_of(classes) {
        return Err(EvalError::Shape(format!(
            "{} probabilities are not rows of {classes}",
            probabilities.len()
        )));
    }
    let count = probabilities.len() / classes;
    if splits == 0 || count < splits {
        return Err(EvalError::Shape(format!(
            "{count} samples cannot be cut into {splits} splits"
        )));
    }
    let part = count / splits;
    let scores: Vec<f64> = (0..splits)
        .map(|split| {
            let rows: Vec<&[f32]> = probabilities[split * part * classes..(split + 1) * part * classes]
                .chunks(classes)
                .collect();
            let mut marginal = vec![0.0f64; classes];
            for row in &rows {
                for (m, &p) in marginal.iter_mut().zip(row.iter()) {
                    *m += f64::from(p) / part as f64;
                }
            }
            let mean_kl: f64 = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .zip(&marginal)
                        .filter(|(p, _)| **p > 0.0)
                        .map(|(&p, &m)| {
                            let p = f64::from(p);
                            p * (p.ln() - m.ln())
                        })
                        .sum::<f64>()
                })
                .sum::<f64>()
                / part as f64;
            mean_kl.exp()
        })
        .collect();
    let (mean, std) = mean_and_std(&scores);
    if !mean.is_finite() {
        return Err(EvalError::NonFinite("Inception Score"));
    }
    Ok(InceptionScore { mean, std })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_and_balanced_predictions_score_the_class_count() {
        let mut probabilities = Vec::new();
        for i in 0..100 {
            let mut row = vec![0.0f32; 10];
            row[i % 10] = 1.0;
            probabilities.extend(row);
        }
        let score = inception_score(&probabilities, 10, 10).unwrap();
        assert!((score.mean - 10.0).abs() < 1e-9, "{score:?}");
        assert!(score.std < 1e-9);
    }

    #[test]
    fn identical_predictions_score_one() {
        let row = [0.5f32, 0.3, 0.2];
        let probabilities: Vec<f32> = row.iter().copied().cycle().take(3 * 40).collect();
        let score = inception_score(&probabilities, 3, 10).unwrap();
        assert!((score.mean - 1.0).abs() < 1e-6, "{score:?}");
    }

    #[test]
    fn too_few_samples_is_an_error() {
        assert!(inception_score(&[1.0, 0.0], 2, 10).is_err());
    }
}
