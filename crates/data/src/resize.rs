//! Bilinear resizing with half-pixel centres and scaling to [-1, 1].
//!
//! The same as `tf.image.resize(..., "bilinear")` and PyTorch's
//! `interpolate(mode="bilinear", align_corners=False, antialias=False)`.

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
    fn unit_range_endpoints() {
        assert_eq!(to_unit_range(0.0), -1.0);
        assert_eq!(to_unit_range(255.0), 1.0);
    }
}
