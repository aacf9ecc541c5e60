//! ×2 bilinear upsampling as two matrix products, which differentiate on every backend; on
//! the CPU backend as a two-tap stencil per axis with its own backward pass ([`stencil`]).
//!
//! burn's bilinear `interpolate` has no backward pass on the CubeCL backends and defaults to
//! `align_corners = true`. Bilinear resizing is a fixed linear map per axis, so
//! `Y = A_h · X · A_wᵀ` with constant interpolation matrices gives the half-pixel-centre
//! result (PyTorch `align_corners=False`, `tf.image.resize`) through plain `matmul`.

mod stencil;

use std::any::{Any, TypeId};
use std::sync::Mutex;

use burn::tensor::{DType, Tensor, TensorData, backend::Backend};

use crate::dispatch::host_kernels_apply;

/// The two taps of every output pixel of 1-D bilinear interpolation with half-pixel
/// centres, `(lower, upper, weight of upper)`: output pixel `o` samples input coordinate
/// `(o + 0.5)·input/output − 0.5`, clamped to the first and last pixel.
pub(crate) fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f64)> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|o| {
            let source = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
            let lower = (source.floor() as usize).min(input - 1);
            let upper = (lower + 1).min(input - 1);
            (lower, upper, source - lower as f64)
        })
        .collect()
}

/// The `[output, input]` row-major matrix of 1-D bilinear interpolation with half-pixel
/// centres: output pixel `o` samples input coordinate `(o + 0.5)·input/output − 0.5`,
/// clamped to the first and last pixel (the taps of `bilinear_taps`).
pub fn bilinear_matrix(input: usize, output: usize) -> Vec<f32> {
    let mut matrix = vec![0.0f32; output * input];
    for (o, (lower, upper, weight_upper)) in bilinear_taps(input, output).into_iter().enumerate() {
        matrix[o * input + lower] += (1.0 - weight_upper) as f32;
        matrix[o * input + upper] += weight_upper as f32;
    }
    matrix
}

/// The transpose of the `[rows, columns]` row-major `matrix`, row-major `[columns, rows]`.
fn transposed(matrix: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    (0..columns)
        .flat_map(|column| (0..rows).map(move |row| matrix[row * columns + column]))
        .collect()
}

/// Upsamples by 2 in height and width with bilinear interpolation (half-pixel centres).
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`
/// - output: `[batch, channels, 2·height, 2·width]`, same dtype and device
pub fn upsample_bilinear_2x<B: Backend>(input: Tensor<B, 4>) -> Tensor<B, 4> {
    if host_kernels_apply::<B>(input.dtype())
        && let Some(output) = stencil::upsample_ad(&input).or_else(|| stencil::upsample_inner(&input))
    {
        return output;
    }
    upsample_by_matrices(input)
}

/// Which interpolation matrices: backend, device, dtype, input height and width.
type MatricesKey = (TypeId, String, DType, usize, usize);

/// The interpolation matrices made so far, `(A_h, A_wᵀ)` as `Box<(Tensor<B, 2>, Tensor<B, 2>)>`
/// for the backend in the key: each is uploaded once per device, not on every call.
static MATRICES: Mutex<Vec<(MatricesKey, Box<dyn Any + Send>)>> = Mutex::new(Vec::new());

/// `A_h` (`[2h, h]`) and `A_wᵀ` (`[w, 2w]`) for `[height, width]` inputs on `device`, made on
/// the first call for that device, dtype and size and reused after.
fn interpolation_matrices<B: Backend>(
    height: usize,
    width: usize,
    device: &B::Device,
    dtype: DType,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let key: MatricesKey = (TypeId::of::<B>(), format!("{device:?}"), dtype, height, width);
    let mut made = MATRICES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(matrices) = made
        .iter()
        .find(|(existing, _)| *existing == key)
        .and_then(|(_, matrices)| matrices.downcast_ref::<(Tensor<B, 2>, Tensor<B, 2>)>())
    {
        return matrices.clone();
    }
    let tensor = |values: Vec<f32>, shape: [usize; 2]| {
        Tensor::<B, 2>::from_data(TensorData::new(values, shape), (device, dtype))
    };
    let rows = tensor(bilinear_matrix(height, 2 * height), [2 * height, height]); // [2h, h]
    // A_wᵀ laid out row-major on the host, not as a transposed view of A_w: cubecl 0.10's
    // matmul returns wrong values for some shapes with a transposed right-hand side (on
    // Mesa's llvmpipe, e.g. [512, 8] · [8, 16]), and a contiguous operand avoids that
    // kernel (docs/testing.md, the wgpu agreement test).
    let columns_t = tensor(
        transposed(&bilinear_matrix(width, 2 * width), 2 * width, width),
        [width, 2 * width],
    ); // [w, 2w]
    made.push((key, Box::new((rows.clone(), columns_t.clone()))));
    (rows, columns_t)
}

/// [`upsample_bilinear_2x`] as the two matrix products `A_h · X · A_wᵀ`.
fn upsample_by_matrices<B: Backend>(input: Tensor<B, 4>) -> Tensor<B, 4> {
    let [batch, channels, height, width] = input.dims();
    let (rows, columns_t) = interpolation_matrices::<B>(height, width, &input.device(), input.dtype());
    let images = batch * channels;
    // Widen every row: [B·C·h, w] · [w, 2w] -> [B·C·h, 2w].
    let wide = input.reshape([images * height, width]).matmul(columns_t);
    // Heighten every column: [1, 2h, h] · [B·C, h, 2w] -> [B·C, 2h, 2w] (broadcast batch).
    let tall = rows.unsqueeze::<3>().matmul(wide.reshape([images, height, 2 * width]));
    tall.reshape([batch, channels, 2 * height, 2 * width])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::host_calls;
    use burn::backend::{Autodiff, Flex};

    type B = Flex;

    #[test]
    fn matrix_rows_sum_to_one_and_match_half_pixel_taps() {
        let m = bilinear_matrix(4, 8);
        for row in m.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Output 0 samples -0.25 -> clamped to pixel 0; output 1 samples 0.25 -> 0.75·p0 + 0.25·p1;
        // output 7 samples 3.25 -> clamped to pixel 3.
        assert_eq!(&m[0..4], &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(&m[4..8], &[0.75, 0.25, 0.0, 0.0]);
        assert_eq!(&m[28..32], &[0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn upsample_matches_reference_on_small_input() {
        // Reference: torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear",
        // align_corners=False) for x = [[1, 2], [3, 4]] (one channel), worked by hand:
        // 1-D taps for 2 -> 4 are [1, 0], [.75, .25], [.25, .75], [0, 1], so every row
        // r = [1, 2] becomes [1, 1.25, 1.75, 2] and the columns mix rows the same way.
        let device = Default::default();
        let x = Tensor::<B, 4>::from_floats([[[[1.0, 2.0], [3.0, 4.0]]]], &device);
        let calls = host_calls();
        let y = upsample_bilinear_2x(x);
        assert_eq!(host_calls() - calls, 1, "host kernel runs");
        let expected = TensorData::from([[[
            [1.0f32, 1.25, 1.75, 2.0],
            [1.5, 1.75, 2.25, 2.5],
            [2.5, 2.75, 3.25, 3.5],
            [3.0, 3.25, 3.75, 4.0],
        ]]]);
        y.into_data()
            .assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::absolute(1e-6));
    }

    #[test]
    fn upsample_keeps_batch_and_channels_apart() {
        // Each [h, w] image must be upsampled on its own: compare a batched call with
        // per-image calls on a 2×3×4×4 ramp.
        let device = Default::default();
        let x = Tensor::<B, 1, burn::tensor::Int>::arange(0..96, &device)
            .float()
            .reshape([2, 3, 4, 4]);
        let calls = host_calls();
        let batched = upsample_bilinear_2x(x.clone());
        assert_eq!(host_calls() - calls, 1, "host kernel runs");
        assert_eq!(batched.dims(), [2, 3, 8, 8]);
        for b in 0..2 {
            for c in 0..3 {
                let single = upsample_bilinear_2x(x.clone().slice([b..b + 1, c..c + 1]));
                let part = batched.clone().slice([b..b + 1, c..c + 1]);
                part.into_data()
                    .assert_approx_eq::<f32>(&single.into_data(), burn::tensor::Tolerance::absolute(1e-5));
            }
        }
    }

    #[test]
    fn interpolation_matrices_are_made_once_per_size() {
        let device = Default::default();
        // Entries for 3×5 inputs, a size no other test uses.
        let count = || {
            let made = MATRICES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            made.iter()
                .filter(|((_, _, _, height, width), _)| (*height, *width) == (3, 5))
                .count()
        };
        let x = Tensor::<B, 4>::ones([2, 1, 3, 5], &device);
        let first = upsample_by_matrices(x.clone());
        let after_first = count();
        let second = upsample_by_matrices(x);
        assert_eq!(after_first, 1, "the first call made them");
        assert_eq!(count(), 1, "the second call made no new matrices");
        first.into_data().assert_eq(&second.into_data(), true);
        let (rows, columns_t) = interpolation_matrices::<B>(3, 5, &device, DType::F32);
        assert_eq!((rows.dims(), columns_t.dims()), ([6, 3], [5, 10]));
    }

    #[test]
    fn upsample_has_a_backward_pass() {
        // d(sum(up(x)))/dx = column sums of A_h times column sums of A_w: with 2 -> 4 taps
        // every input pixel receives 1 + .75 + .25 = 2 per axis, so 4 everywhere.
        let device = Default::default();
        let x = Tensor::<Autodiff<B>, 4>::ones([1, 1, 2, 2], &device).require_grad();
        let calls = host_calls();
        let grads = upsample_bilinear_2x(x.clone()).sum().backward();
        assert_eq!(host_calls() - calls, 2, "host kernel runs, forward and backward");
        let grad = x.grad(&grads).expect("x requires grad");
        grad.into_data().assert_approx_eq::<f32>(
            &TensorData::from([[[[4.0f32, 4.0], [4.0, 4.0]]]]),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
