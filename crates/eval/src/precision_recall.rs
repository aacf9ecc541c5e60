//! Improved precision and recall (Kynkäänniemi et al. 2019).
//!
//! Each set approximates its manifold by balls around its points, each ball's radius the
//! distance to the point's k-th nearest neighbour in the same set (the point itself not
//! counted). **Precision** is the fraction of samples inside the reference manifold (how many
//! samples look real: fidelity); **recall** the fraction of reference points inside the
//! samples' manifold (how much of the real data is covered: diversity). A point is inside
//! when its distance to some ball's centre is at most that ball's radius.

use crate::{EvalError, FeatureSet};

/// Neighbourhood size of the manifold estimate, as in the paper.
pub const NEAREST_NEIGHBOURS: usize = 3;

/// Precision and recall of a sample set against a reference set, both in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrecisionRecall {
    /// Fraction of samples inside the reference manifold.
    pub precision: f64,
    /// Fraction of reference points inside the sample manifold.
    pub recall: f64,
}

/// Squared distance from every point of `set` to its `k`-th nearest other point of `set`.
pub fn manifold_radii(set: &FeatureSet, k: usize) -> Result<Vec<f64>, EvalError> {
    if k == 0 || set.len() <= k {
        return Err(EvalError::Shape(format!(
            "a {k}-nearest-neighbour manifold needs more than {k} points, got {}",
            set.len()
        )));
    }
    Ok(set.map_squared_distances(set, |i, distances| {
        let mut others: Vec<f64> = distances
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &d)| d)
            .collect();
        let (_, kth, _) = others.select_nth_unstable_by(k - 1, f64::total_cmp);
        *kth
    }))
}

/// Precision and recall of `samples` against `reference`, whose manifold radii
/// ([`manifold_radii`] with [`NEAREST_NEIGHBOURS`]) are `reference_radii`.
pub fn precision_recall(
    samples: &FeatureSet,
    reference: &FeatureSet,
    reference_radii: &[f64],
) -> Result<PrecisionRecall, EvalError> {
    if samples.dim() != reference.dim() || reference_radii.len() != reference.len() {
        return Err(EvalError::Shape(format!(
            "{}-d samples against {}-d reference features with {} radii for {} points",
            samples.dim(),
            reference.dim(),
            reference_radii.len(),
            reference.len()
        )));
    }
    let sample_radii = manifold_radii(samples, NEAREST_NEIGHBOURS)?;
    // One pass over the sample-to-reference distances serves both directions.
    let per_sample = samples.map_squared_distances(reference, |j, distances| {
        let inside_reference = distances.iter().zip(reference_radii).any(|(d, r)| d <= r);
        let covered: Vec<usize> = distances
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d <= sample_radii[j])
            .map(|(i, _)| i)
            .collect();
        (inside_reference, covered)
    });
    let mut recalled = vec![false; reference.len()];
    let mut precise = 0usize;
    for (inside, covered) in per_sample {
        precise += usize::from(inside);
        for i in covered {
            recalled[i] = true;
        }
    }
    Ok(PrecisionRecall {
        precision: precise as f64 / samples.len() as f64,
        recall: recalled.iter().filter(|&&r| r).count() as f64 / reference.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// `per_mode` points around each of `modes` well-separated centres in 4-d.
    fn clusters(modes: &[usize], per_mode: usize, seed: u64) -> FeatureSet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut values = Vec::new();
        for &mode in modes {
            for _ in 0..per_mode {
                for axis in 0..4 {
                    let centre = if axis == mode % 4 {
                        10.0 * (1 + mode / 4) as f32
                    } else {
                        0.0
                    };
                    values.push(centre + rng.random_range(-1.0f32..1.0));
                }
            }
        }
        FeatureSet::new(&values, 4).unwrap()
    }

    fn measure(samples: &FeatureSet, reference: &FeatureSet) -> PrecisionRecall {
        let radii = manifold_radii(reference, NEAREST_NEIGHBOURS).unwrap();
        precision_recall(samples, reference, &radii).unwrap()
    }

    #[test]
    fn identical_sets_have_precision_and_recall_one() {
        let set = clusters(&[0, 1, 2, 3], 50, 1);
        assert_eq!(
            measure(&set, &set),
            PrecisionRecall {
                precision: 1.0,
                recall: 1.0
            }
        );
    }

    #[test]
    fn dropping_modes_costs_recall_not_precision() {
        let reference = clusters(&[0, 1, 2, 3, 4, 5, 6, 7], 100, 2);
        let collapsed = clusters(&[0, 1], 400, 3);
        let both = measure(&clusters(&[0, 1, 2, 3, 4, 5, 6, 7], 100, 3), &reference);
        let dropped = measure(&collapsed, &reference);
        assert!(both.recall > 0.9 && both.precision > 0.9, "{both:?}");
        // Two of eight modes covered: recall near 1/4; the samples still look real.
        assert!(dropped.recall < 0.3, "{dropped:?}");
        assert!(dropped.precision > 0.9, "{dropped:?}");
        // Samples off the data (a mode that is not there) cost precision.
        let off = measure(&clusters(&[9, 10], 100, 4), &reference);
        assert!(off.precision < 0.05, "{off:?}");
    }

    #[test]
    fn radii_are_kth_neighbour_distances() {
        // Points on a line at 0, 1, 3, 6, 10: the 2nd nearest other point of 3 is 6 (distance 3)
        // and of 0 is 3 (distance 3).
        let set = FeatureSet::new(&[0.0, 1.0, 3.0, 6.0, 10.0], 1).unwrap();
        assert_eq!(manifold_radii(&set, 2).unwrap(), vec![9.0, 4.0, 9.0, 16.0, 49.0]);
        assert!(manifold_radii(&set, 5).is_err());
    }
}
