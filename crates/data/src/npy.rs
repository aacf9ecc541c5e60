//! Image arrays saved with NumPy: `[N, C, H, W]`, `[N, H, W, C]` or `[N, H, W]`, of uint8
//! (0..=255) or float32 / float64 (in [0, 1], or in [-1, 1] when any value is negative).

use std::io::BufReader;
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};
use rayon::prelude::*;

use crate::DataError;
use crate::decode::DecodedImages;
use crate::preprocess::{PlaneLayout, Planes, Preprocessing};

/// Slack allowed beyond [-1, 1] or [0, 1] for float arrays (rounding in the writer).
const RANGE_SLACK: f64 = 1e-4;

/// The element values of an array, in file order.
enum Values {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
    Doubles(Vec<f64>),
}

/// Where the channel axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `[N, C, H, W]`.
    ChannelsFirst,
    /// `[N, H, W, C]` (or `[N, H, W]` with one channel).
    ChannelsLast,
}

/// Reads an image array and preprocesses every image on every core.
pub fn read_npy_images(path: &Path, prep: &Preprocessing) -> Result<DecodedImages, DataError> {
    let npy_error = |found: String, expected: &str| DataError::Npy {
        path: path.to_path_buf(),
        found,
        expected: expected.into(),
    };
    let file = std::fs::File::open(path).map_err(|error| DataError::io(path, error))?;
    let npy = NpyFile::new(BufReader::new(file)).map_err(|error| {
        npy_error(
            format!("not an NPY file ({error})"),
            "a .npy array written by numpy.save",
        )
    })?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if npy.order() == Order::Fortran {
        return Err(npy_error(
            "a Fortran-order array".into(),
            "C order (save np.ascontiguousarray(x))",
        ));
    }
    let (count, height, width, channels, layout) = image_axes(&shape).map_err(|found| {
        npy_error(
            found,
            "shape [N, C, H, W], [N, H, W, C] or [N, H, W] with C in {1, 3, 4}",
        )
    })?;
    if count == 0 || height == 0 || width == 0 {
        return Err(npy_error(
            format!("shape {shape:?} with a zero dimension"),
            "at least one image of at least 1×1",
        ));
    }
    let dtype = npy.dtype();
    let descr = dtype.descr();
    let truncated = |error: std::io::Error| {
        npy_error(
            format!("data that cannot be read ({error})"),
            &format!("{} elements of {descr}", shape.iter().product::<usize>()),
        )
    };
    let values = match &dtype {
        DType::Plain(ty) => match (ty.type_char(), ty.size_field()) {
            (TypeChar::Uint, 1) => Values::Bytes(npy.into_vec::<u8>().map_err(truncated)?),
            (TypeChar::Float, 4) => Values::Floats(npy.into_vec::<f32>().map_err(truncated)?),
            (TypeChar::Float, 8) => Values::Doubles(npy.into_vec::<f64>().map_err(truncated)?),
            _ => return Err(npy_error(format!("dtype {descr}"), "dtype uint8, float32 or float64")),
        },
        _ => return Err(npy_error(format!("dtype {descr}"), "dtype uint8, float32 or float64")),
    };
    // Floats are mapped to [0, 255]: from [0, 1], or from [-1, 1] when any value is negative.
    let (offset, scale) = match &values {
        Values::Bytes(_) => (0.0, 1.0),
        Values::Floats(v) => float_mapping(v.iter().map(|&x| f64::from(x)))
            .map_err(|found| npy_error(found, "float values in [0, 1] or [-1, 1]"))?,
        Values::Doubles(v) => {
            float_mapping(v.iter().copied()).map_err(|found| npy_error(found, "float values in [0, 1] or [-1, 1]"))?
        }
    };
    let plane_layout = PlaneLayout::from_channels(channels).unwrap_or(PlaneLayout::Gray);
    let image_values = channels * height * width;
    let image_len = prep.image_len();
    let mut pixels = vec![0u8; count * image_len];
    let to_planes = |index: usize| -> Planes {
        let range = index * image_values..(index + 1) * image_values;
        let samples: Vec<f32> = match &values {
            Values::Bytes(v) => v[range].iter().map(|&x| f32::from(x)).collect(),
            Values::Floats(v) => v[range]
                .iter()
                .map(|&x| ((f64::from(x) + offset) * scale) as f32)
                .collect(),
            Values::Doubles(v) => v[range].iter().map(|&x| ((x + offset) * scale) as f32).collect(),
        };
        match layout {
            Layout::ChannelsFirst => Planes {
                layout: plane_layout,
                height,
                width,
                values: samples,
            },
            Layout::ChannelsLast => Planes::from_interleaved(plane_layout, height, width, samples.into_iter()),
        }
    };
    pixels
        .par_chunks_mut(image_len)
        .enumerate()
        .for_each(|(index, out)| to_planes(index).preprocess_into(prep, out));
    let layout_name = match layout {
        Layout::ChannelsFirst => "NCHW",
        Layout::ChannelsLast => "NHWC",
    };
    Ok(DecodedImages {
        pixels,
        labels: vec![0; count],
        unreadable: Vec::new(),
        sizes: [((width as u32, height as u32), count)].into_iter().collect(),
        modes: [(format!("npy {descr} {layout_name} {}", plane_layout.name()), count)]
            .into_iter()
            .collect(),
    })
}

/// `(count, height, width, channels, layout)` of an image array's shape, or what was found.
fn image_axes(shape: &[usize]) -> Result<(usize, usize, usize, usize, Layout), String> {
    let is_channels = |d: usize| matches!(d, 1 | 3 | 4);
    match *shape {
        [n, h, w] => Ok((n, h, w, 1, Layout::ChannelsLast)),
        // Both axes could be channels only for images 1, 3 or 4 pixels high: then a last
        // axis of 3 (RGB, NumPy's and PIL's layout) decides for NHWC.
        [n, c, h, w] if is_channels(c) && !(is_channels(w) && w == 3 && c != 3) => {
            Ok((n, h, w, c, Layout::ChannelsFirst))
        }
        [n, h, w, c] if is_channels(c) => Ok((n, h, w, c, Layout::ChannelsLast)),
        [_, _, _, _] => Err(format!(
            "shape {shape:?}: neither axis 1 nor axis 3 has 1, 3 or 4 channels"
        )),
        _ => Err(format!("shape {shape:?} (rank {})", shape.len())),
    }
}

/// `(offset, scale)` mapping float values onto [0, 255], or what was found.
fn float_mapping(values: impl Iterator<Item = f64>) -> Result<(f64, f64), String> {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        if !value.is_finite() {
            return Err(format!("a non-finite value ({value})"));
        }
        low = low.min(value);
        high = high.max(value);
    }
    let within = |a: f64, b: f64| low >= a - RANGE_SLACK && high <= b + RANGE_SLACK;
    if low < 0.0 && within(-1.0, 1.0) {
        Ok((1.0, 127.5))
    } else if within(0.0, 1.0) {
        Ok((0.0, 255.0))
    } else {
        Err(format!("float values spanning [{low}, {high}]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_found_or_the_shape_is_named() {
        assert_eq!(image_axes(&[5, 3, 8, 9]).unwrap(), (5, 8, 9, 3, Layout::ChannelsFirst));
        assert_eq!(image_axes(&[5, 8, 9, 4]).unwrap(), (5, 8, 9, 4, Layout::ChannelsLast));
        assert_eq!(image_axes(&[5, 8, 9]).unwrap(), (5, 8, 9, 1, Layout::ChannelsLast));
        // Ambiguous shapes: a last axis of 3 is RGB.
        assert_eq!(image_axes(&[5, 4, 5, 3]).unwrap(), (5, 4, 5, 3, Layout::ChannelsLast));
        assert_eq!(image_axes(&[5, 3, 4, 4]).unwrap(), (5, 4, 4, 3, Layout::ChannelsFirst));
        assert!(image_axes(&[5, 8, 9, 7]).unwrap_err().contains("neither axis"));
        assert!(image_axes(&[5, 8]).unwrap_err().contains("rank 2"));
    }

    #[test]
    fn float_ranges() {
        assert_eq!(float_mapping([0.0, 0.5, 1.0].into_iter()).unwrap(), (0.0, 255.0));
        assert_eq!(float_mapping([-1.0, 0.5].into_iter()).unwrap(), (1.0, 127.5));
        assert!(
            float_mapping([0.0, 255.0].into_iter())
                .unwrap_err()
                .contains("[0, 255]")
        );
        assert!(float_mapping([f64::NAN].into_iter()).is_err());
    }
}
