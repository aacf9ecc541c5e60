//! Resizing with one filter, the triangle (bilinear) kernel with half-pixel centres, and
//! scaling to [-1, 1].
//!
//! Enlarging, it is plain bilinear interpolation: `tf.image.resize(..., "bilinear")` and
//! PyTorch's `interpolate(mode="bilinear", align_corners=False)`. Shrinking by a factor `s`,
//! the kernel is widened to `s` input pixels on each side (antialiasing), as PIL's
//! `Image.resize(..., BILINEAR)` and `interpolate(..., antialias=True)` do.

/// One output pixel's two source taps along an axis: `lower·(1 − weight) + upper·weight`.
#[derive(Debug, Clone, Copy)]
struct Tap {
    lower: usize,
    upper: usize,
    weight: f32,
}

/// Taps for resizing `input` pixels to `output`: output `o` samples input coordinate
/// `(o + 0.5)·input/output − 0.5`, clamped to the image.
fn taps(input: usize, output: usize) -> Vec<Tap> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|o| {
            let source = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
            let lower = (source.floor() as usize).min(input - 1);
            Tap {
                lower,
                upper: (lower + 1).min(input - 1),
                weight: (source - lower as f64) as f32,
            }
        })
        .collect()
}

/// Resizes every `rows × columns` image in `pixels` to `size × size` and scales it with
/// `(x − 127.5) / 127.5`.
///
/// # Shapes
/// - `pixels`: `[count, rows, columns]` bytes, row-major
/// - output: `[count, size, size]` f32 in [-1, 1]
pub fn resize_bilinear(pixels: &[u8], rows: usize, columns: usize, size: usize) -> Vec<f32> {
    let image_len = rows * columns;
    if image_len == 0 || size == 0 {
        return Vec::new();
    }
    let count = pixels.len() / image_len;
    let row_taps = taps(rows, size);
    let column_taps = taps(columns, size);
    let mut output = vec![0.0f32; count * size * size];
    // Horizontal pass into a `rows × size` buffer, then vertical pass.
    let mut wide = vec![0.0f32; rows * size];
    for (image, out) in pixels.chunks_exact(image_len).zip(output.chunks_exact_mut(size * size)) {
        for (source_row, wide_row) in image.chunks_exact(columns).zip(wide.chunks_exact_mut(size)) {
            for (value, tap) in wide_row.iter_mut().zip(&column_taps) {
                let (a, b) = (source_row[tap.lower] as f32, source_row[tap.upper] as f32);
                *value = a + (b - a) * tap.weight;
            }
        }
        for (out_row, tap) in out.chunks_exact_mut(size).zip(&row_taps) {
            let upper_row = &wide[tap.upper * size..(tap.upper + 1) * size];
            let lower_row = &wide[tap.lower * size..(tap.lower + 1) * size];
            for ((value, &a), &b) in out_row.iter_mut().zip(lower_row).zip(upper_row) {
                *value = to_unit_range(a + (b - a) * tap.weight);
            }
        }
    }
    output
}

/// A rectangle of an image: rows `top..top + height`, columns `left..left + width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Window {
    /// The whole `height × width` image.
    pub fn whole(height: usize, width: usize) -> Self {
        Self {
            top: 0,
            left: 0,
            height,
            width,
        }
    }

    /// The largest centred square (side `min(height, width)`; odd margins leave the extra
    /// pixel at the bottom or right).
    pub fn centre_square(height: usize, width: usize) -> Self {
        let side = height.min(width);
        Self {
            top: (height - side) / 2,
            left: (width - side) / 2,
            height: side,
            width: side,
        }
    }
}

/// One output sample's weights over input pixels `first..first + weights.len()`.
#[derive(Debug, Clone)]
struct Kernel {
    first: usize,
    weights: Vec<f32>,
}

/// Triangle-filter weights for resizing `input` samples to `output`: output `o` is centred
/// on input coordinate `(o + 0.5)·s` with `s = input/output`, and input pixel `i` (centred
/// at `i + 0.5`) weighs `max(0, 1 − |i + 0.5 − centre| / max(s, 1))`. Weights falling outside
/// the image are dropped and the rest renormalised.
fn triangle_kernels(input: usize, output: usize) -> Vec<Kernel> {
    let scale = input as f64 / output as f64;
    let support = scale.max(1.0);
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let first = (centre - support).floor().max(0.0) as usize;
            let end = ((centre + support).ceil() as usize).min(input);
            let raw: Vec<f64> = (first..end)
                .map(|i| (1.0 - ((i as f64 + 0.5 - centre) / support).abs()).max(0.0))
                .collect();
            // Drop the zero weights at either end so every tap does work.
            let lead = raw.iter().take_while(|&&w| w == 0.0).count();
            let used = raw.len() - lead - raw.iter().rev().take_while(|&&w| w == 0.0).count();
            let kept = &raw[lead..lead + used.max(1)];
            let total: f64 = kept.iter().sum();
            Kernel {
                first: first + lead,
                weights: kept.iter().map(|w| (w / total) as f32).collect(),
            }
        })
        .collect()
}

/// Resizes `window` of one `[rows, stride]` plane to `out_rows × out_columns` with the
/// triangle filter. Values keep their scale (bytes in, bytes-as-floats out).
///
/// # Shapes
/// - `plane`: `[rows, stride]` row-major, `window` inside it
/// - output: `[out_rows, out_columns]`
pub fn resize_plane(plane: &[f32], stride: usize, window: Window, out_rows: usize, out_columns: usize) -> Vec<f32> {
    let column_kernels = triangle_kernels(window.width, out_columns);
    let row_kernels = triangle_kernels(window.height, out_rows);
    // Horizontal pass over the window's rows into `[window.height, out_columns]`.
    let mut wide = vec![0.0f32; window.height * out_columns];
    for (r, wide_row) in wide.chunks_exact_mut(out_columns).enumerate() {
        let start = (window.top + r) * stride + window.left;
        let row = &plane[start..start + window.width];
        for (value, kernel) in wide_row.iter_mut().zip(&column_kernels) {
            let taps = &row[kernel.first..kernel.first + kernel.weights.len()];
            *value = taps.iter().zip(&kernel.weights).map(|(a, w)| a * w).sum();
        }
    }
    let mut output = vec![0.0f32; out_rows * out_columns];
    for (out_row, kernel) in output.chunks_exact_mut(out_columns).zip(&row_kernels) {
        for (k, &weight) in kernel.weights.iter().enumerate() {
            let source = &wide[(kernel.first + k) * out_columns..(kernel.first + k + 1) * out_columns];
            for (value, &a) in out_row.iter_mut().zip(source) {
                *value += a * weight;
            }
        }
    }
    output
}

/// Maps a pixel value in [0, 255] to [-1, 1]: `(x − 127.5) / 127.5`.
pub fn to_unit_range(value: f32) -> f32 {
    (value - 127.5) / 127.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_pixels_of_a_28_to_32_resize() {
        // Input: pixel (r, c) = (9·r + 5·c) mod 256 on a 28×28 grid.
        // Scale 28/32 = 0.875; source coordinate s(o) = (o + 0.5)·0.875 − 0.5.
        //   o = 0:  s = −0.0625 -> clamped to 0  -> taps (0, 1, w = 0)
        //   o = 5:  s = 4.3125                   -> taps (4, 5, w = 0.3125)
        //   o = 30: s = 26.1875                  -> taps (26, 27, w = 0.1875)
        //   o = 31: s = 27.0625 -> clamped to 27 -> taps (27, 27)
        // Output (0, 0) = p(0, 0) = 0                                 -> (0 − 127.5)/127.5 = −1
        // Output (5, 5): p(4,4) = 56, p(4,5) = 61, p(5,4) = 65, p(5,5) = 70;
        //   row 4: 56 + 5·0.3125 = 57.5625; row 5: 65 + 5·0.3125 = 66.5625;
        //   rows mixed: 57.5625 + 9·0.3125 = 60.375                  -> −0.526470588
        // Output (30, 30): the pixels wrap mod 256: p(26,26) = 364 − 256 = 108, p(26,27) = 113,
        //   p(27,26) = 117, p(27,27) = 122; row 26: 108 + 5·0.1875 = 108.9375;
        //   row 27: 117.9375; rows mixed: 108.9375 + 9·0.1875 = 110.625 -> −0.132352941
        // Output (31, 31) = p(27, 27) = 122                           -> −0.043137255
        // Output (31, 0) = p(27, 0) = 243                             -> 0.905882353
        let pixels: Vec<u8> = (0..28usize)
            .flat_map(|r| (0..28usize).map(move |c| ((9 * r + 5 * c) % 256) as u8))
            .collect();
        let out = resize_bilinear(&pixels, 28, 28, 32);
        assert_eq!(out.len(), 32 * 32);
        let at = |r: usize, c: usize| out[r * 32 + c];
        for (r, c, expected) in [
            (0, 0, -1.0f32),
            (5, 5, -0.526_470_6),
            (30, 30, -0.132_352_94),
            (31, 31, -0.043_137_256),
            (31, 0, 0.905_882_35),
        ] {
            assert!(
                (at(r, c) - expected).abs() < 1e-6,
                "({r}, {c}): {} vs {expected}",
                at(r, c)
            );
        }
    }

    #[test]
    fn same_size_resize_is_identity_up_to_scaling() {
        let pixels: Vec<u8> = (0..=255u8).collect();
        let out = resize_bilinear(&pixels, 16, 16, 16);
        for (o, p) in out.iter().zip(&pixels) {
            assert_eq!(*o, to_unit_range(*p as f32));
        }
    }

    #[test]
    fn triangle_filter_enlarging_is_bilinear() {
        let pixels: Vec<u8> = (0..28usize)
            .flat_map(|r| (0..28usize).map(move |c| ((9 * r + 5 * c) % 256) as u8))
            .collect();
        let bilinear = resize_bilinear(&pixels, 28, 28, 32);
        let plane: Vec<f32> = pixels.iter().map(|&p| f32::from(p)).collect();
        let triangle = resize_plane(&plane, 28, Window::whole(28, 28), 32, 32);
        for (a, b) in bilinear.iter().zip(&triangle) {
            assert!((a - to_unit_range(*b)).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn same_size_is_the_identity_to_the_bit() {
        let plane: Vec<f32> = (0..35).map(|v| (v * 7 % 256) as f32).collect();
        assert_eq!(resize_plane(&plane, 7, Window::whole(5, 7), 5, 7), plane);
    }

    #[test]
    fn shrinking_averages_instead_of_aliasing() {
        // A 1-pixel checkerboard halved: plain bilinear samples between pixels and happens to
        // give 127.5 too, but a quarter-size shrink would sample single pixels (0 or 255);
        // the widened kernel averages them to mid grey.
        let plane: Vec<f32> = (0..64)
            .map(|i| if (i / 8 + i % 8) % 2 == 0 { 0.0 } else { 255.0 })
            .collect();
        let small = resize_plane(&plane, 8, Window::whole(8, 8), 2, 2);
        for value in small {
            assert!((value - 127.5).abs() < 1.0, "{value}");
        }
    }

    #[test]
    fn centre_square_crops_the_long_side_evenly() {
        assert_eq!(
            Window::centre_square(10, 17),
            Window {
                top: 0,
                left: 3,
                height: 10,
                width: 10
            }
        );
    }

    #[test]
    fn unit_range_endpoints() {
        assert_eq!(to_unit_range(0.0), -1.0);
        assert_eq!(to_unit_range(255.0), 1.0);
    }
}
