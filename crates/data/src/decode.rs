//! Decoding image files, with limits, in parallel, into one preprocessed byte buffer.

use std::collections::BTreeMap;
use std::path::Path;

use image::{DynamicImage, ImageError, ImageReader, Limits};
use rayon::prelude::*;

use crate::DataError;
use crate::folder::ImageFile;
use crate::preprocess::{Planes, Preprocessing};

/// Largest width or height the decoder accepts.
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Largest decoded size the decoder accepts, in bytes (a decompression bomb declares more).
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// What to do with image files that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnreadablePolicy {
    /// Skip and count them instead of failing at the first.
    pub skip: bool,
    /// When skipping, the fraction of files that may be unreadable before the load fails.
    pub max_fraction: f64,
}

impl UnreadablePolicy {
    /// Fail at the first unreadable file.
    pub const STRICT: Self = Self {
        skip: false,
        max_fraction: 0.0,
    };
}

/// The decoded, preprocessed images of a folder and what was seen on the way.
#[derive(Debug, Clone, Default)]
pub struct DecodedImages {
    /// `[kept, channels, size, size]` bytes.
    pub pixels: Vec<u8>,
    /// One label per kept image.
    pub labels: Vec<u32>,
    /// Skipped files with the reason, in path order.
    pub unreadable: Vec<String>,
    /// `(width, height)` of the decoded images, with counts.
    pub sizes: BTreeMap<(u32, u32), usize>,
    /// Pixel formats found (`L8`, `Rgb8`, `Rgba16`, …), with counts.
    pub modes: BTreeMap<String, usize>,
}

/// Decodes one image file within [`MAX_IMAGE_SIDE`] and [`MAX_DECODED_BYTES`]. The format
/// is sniffed from the content, then guessed from the extension.
pub fn decode_image(path: &Path) -> Result<DynamicImage, DataError> {
    let io = |error| DataError::io(path, error);
    let mut reader = ImageReader::open(path).map_err(io)?.with_guessed_format().map_err(io)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    reader.decode().map_err(|error| match error {
        ImageError::Limits(reason) => DataError::TooLarge {
            path: path.to_path_buf(),
            reason: reason.to_string(),
            max_side: MAX_IMAGE_SIDE,
            max_bytes: MAX_DECODED_BYTES,
        },
        ImageError::IoError(error) => DataError::io(path, error),
        other => DataError::Decode {
            path: path.to_path_buf(),
            reason: other.to_string().trim_end().to_string(),
        },
    })
}

/// Decodes and preprocesses `files` on every core, calling `on_decoded` after each file.
///
/// With `policy.skip` false an unreadable file is the error, and decoding stops (with several,
/// the one a worker met first); otherwise unreadable files are dropped and counted, and the load
/// fails if they are more than `policy.max_fraction` of all files, or all of them.
pub fn decode_files(
    files: &[ImageFile],
    prep: &Preprocessing,
    policy: UnreadablePolicy,
    on_decoded: &(dyn Fn() + Sync),
) -> Result<DecodedImages, DataError> {
    let image_len = prep.image_len();
    let mut pixels = vec![0u8; files.len() * image_len];
    let decode_one = |(out, file): (&mut [u8], &ImageFile)| {
        let decoded = decode_image(&file.path).map(|image| {
            Planes::from_image(&image).preprocess_into(prep, out);
            (image.width(), image.height(), format!("{:?}", image.color()))
        });
        on_decoded();
        decoded
    };
    let outcomes: Vec<Result<_, DataError>> = if policy.skip {
        pixels
            .par_chunks_mut(image_len)
            .zip(files.par_iter())
            .map(decode_one)
            .collect()
    } else {
        let all: Result<Vec<_>, DataError> = pixels
            .par_chunks_mut(image_len)
            .zip(files.par_iter())
            .map(decode_one)
            .collect();
        all?.into_iter().map(Ok).collect()
    };
    let mut decoded = DecodedImages::default();
    let mut kept = 0;
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok((width, height, mode)) => {
                if kept != index {
                    pixels.copy_within(index * image_len..(index + 1) * image_len, kept * image_len);
                }
                kept += 1;
                decoded.labels.push(files[index].label);
                *decoded.sizes.entry((width, height)).or_default() += 1;
                *decoded.modes.entry(mode).or_default() += 1;
            }
            Err(error) => decoded.unreadable.push(error.to_string()),
        }
    }
    pixels.truncate(kept * image_len);
    decoded.pixels = pixels;
    let unreadable = decoded.unreadable.len();
    if kept == 0 || unreadable as f64 > policy.max_fraction * files.len() as f64 {
        return Err(DataError::TooManyUnreadable {
            unreadable,
            total: files.len(),
            limit: policy.max_fraction,
            first: decoded.unreadable.iter().take(3).cloned().collect(),
        });
    }
    Ok(decoded)
}
