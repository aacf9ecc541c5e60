//! Mean and population standard deviation over splits or subsets, as IS and KID report them.

/// `(mean, population standard deviation)` of `values`; NaN for an empty slice.
pub(crate) fn mean_and_std(values: &[f64]) -> (f64, f64) {
    let count = values.len() as f64;
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
    (mean, variance.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divides_by_the_count_not_the_count_minus_one() {
        let (mean, std) = mean_and_std(&[1.0, 3.0]);
        assert_eq!((mean, std), (2.0, 1.0));
        assert!(mean_and_std(&[]).0.is_nan());
    }
}
