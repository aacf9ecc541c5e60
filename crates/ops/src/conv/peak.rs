//! The CPU's matrix-product peak, through the convolutions' own gemm call.

use std::time::Instant;

use rayon::prelude::*;

use super::matmul::{View, matmul_new};

/// Side of the square f32 matrices each thread multiplies for [`host_matrix_product_peak`]:
/// 2.1 GFLOP a product, about 0.05 s on one core here.
pub const HOST_PEAK_SIZE: usize = 1024;

/// GFLOP/s of the CPU convolutions' matrix products at their best: every rayon thread
/// multiplying its own `size`² f32 matrices at once, each with the same single-threaded gemm
/// call the convolutions make on their groups of images. The median over `runs` timed rounds,
/// after one untimed.
///
/// # Panics
/// If `runs` is 0.
pub fn host_matrix_product_peak(size: usize, runs: usize) -> f64 {
    assert!(runs > 0, "host_matrix_product_peak: no timed runs");
    let threads = rayon::current_num_threads();
    let matrix = |seed: usize| -> Vec<f32> {
        (0..size * size)
            .map(|i| (((i * 37 + seed * 11) % 101) as f32 / 50.0) - 1.0)
            .collect()
    };
    let inputs: Vec<(Vec<f32>, Vec<f32>)> = (0..threads).map(|t| (matrix(2 * t), matrix(2 * t + 1))).collect();
    let mut products: Vec<Vec<f32>> = vec![Vec::new(); threads];
    let mut seconds: Vec<f64> = (0..=runs)
        .map(|_| {
            let started = Instant::now();
            products
                .par_iter_mut()
                .zip(inputs.par_iter())
                .for_each(|(product, (left, right))| matmul_new(product, square(left, size), square(right, size)));
            started.elapsed().as_secs_f64()
        })
        .skip(1)
        .collect();
    seconds.sort_by(f64::total_cmp);
    let flops = threads as f64 * 2.0 * (size as f64).powi(3);
    flops / seconds[seconds.len() / 2] / 1e9
}

/// A row-major `size × size` matrix over `data`.
fn square(data: &[f32], size: usize) -> View<'_, f32> {
    View {
        data,
        rows: size,
        cols: size,
        row_stride: size,
        col_stride: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_a_positive_rate_and_its_product_is_right() {
        // A 64² product takes microseconds; the rate must be finite and positive, and the
        // products it times must be right (checked against a naive product).
        let peak = host_matrix_product_peak(64, 3);
        assert!(peak.is_finite() && peak > 0.0, "{peak}");
        let size = 5;
        let left: Vec<f32> = (0..25).map(|i| i as f32).collect();
        let right: Vec<f32> = (0..25).map(|i| (i % 7) as f32).collect();
        let mut product = Vec::new();
        matmul_new(&mut product, square(&left, size), square(&right, size));
        for r in 0..size {
            for c in 0..size {
                let expected: f32 = (0..size).map(|k| left[r * size + k] * right[k * size + c]).sum();
                assert_eq!(product[r * size + c], expected);
            }
        }
    }
}
