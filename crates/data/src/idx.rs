//! The IDX file format of MNIST and Fashion-MNIST, gzip-compressed or raw.
//!
//! Layout (big-endian): two zero bytes, a type byte (`0x08` = unsigned byte), the number of
//! dimensions, one `u32` per dimension, then the row-major payload. Image files have magic
//! `0x00000803` (2051, three dimensions: count, rows, columns); label files `0x00000801`
//! (2049, one dimension: count).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::DataError;

/// Magic number of an IDX image file.
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX label file.
pub const LABELS_MAGIC: u32 = 2049;

/// Decoded IDX images: `count` images of `rows × columns` bytes, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub columns: usize,
    /// `count · rows · columns` pixel values in 0..=255.
    pub pixels: Vec<u8>,
}

/// Decoded IDX labels.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxLabels {
    /// One class index per item.
    pub labels: Vec<u8>,
}

/// Reads an IDX image file (magic 2051), gzipped or raw.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    let (dims, pixels) = read_idx(path, IMAGES_MAGIC, "images")?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        columns: dims[2],
        pixels,
    })
}

/// Reads an IDX label file (magic 2049), gzipped or raw.
pub fn read_idx_labels(path: &Path) -> Result<IdxLabels, DataError> {
    let (_, labels) = read_idx(path, LABELS_MAGIC, "labels")?;
    Ok(IdxLabels { labels })
}

/// The whole file, decompressed when it starts with the gzip magic `1f 8b`.
pub(crate) fn read_decompressed(path: &Path) -> Result<Vec<u8>, DataError> {
    if path.is_dir() {
        return Err(DataError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let raw = std::fs::read(path).map_err(|source| DataError::io(path, source))?;
    if raw.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    // IDX payloads compress about 2:1; start with room for that.
    let mut bytes = Vec::with_capacity(raw.len() * 2);
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut bytes)
        .map_err(|error| DataError::Gzip {
            path: path.to_path_buf(),
            error,
        })?;
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

fn read_idx(path: &Path, magic: u32, kind: &'static str) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let bytes = read_decompressed(path)?;
    let (dims, offset) = parse_header(path, &bytes, magic, kind)?;
    let expected = dims.iter().product::<usize>();
    let actual = bytes.len() - offset;
    if actual != expected {
        return Err(DataError::PayloadLength {
            path: path.to_path_buf(),
            dims,
            expected,
            actual,
        });
    }
    let mut payload = bytes;
    payload.drain(..offset);
    Ok((dims, payload))
}

fn parse_header(path: &Path, bytes: &[u8], magic: u32, kind: &'static str) -> Result<(Vec<usize>, usize), DataError> {
    let bad_header = |reason: String| DataError::BadHeader {
        path: PathBuf::from(path),
        reason,
    };
    let word = |index: usize| -> Option<u32> {
        let start = 4 * index;
        bytes
            .get(start..start + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or_else(|| bad_header(format!("only {} bytes, no magic number", bytes.len())))?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
            kind,
        });
    }
    let rank = (magic & 0xff) as usize;
    let dims = (1..=rank)
        .map(|index| {
            word(index)
                .map(|d| d as usize)
                .ok_or_else(|| bad_header(format!("ends before dimension {index} of {rank}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if dims.contains(&0) {
        return Err(bad_header(format!("zero dimension in {dims:?}")));
    }
    Ok((dims, 4 * (rank + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rank_comes_from_the_magic_number() {
        // 2051 = 0x0803: unsigned bytes, 3 dimensions.
        let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3];
        bytes.extend([1, 2, 3, 4, 5, 6]);
        let (dims, offset) = parse_header(Path::new("x"), &bytes, IMAGES_MAGIC, "images").unwrap();
        assert_eq!((dims, offset), (vec![2, 1, 3], 16));
    }

    #[test]
    fn short_header_is_an_error() {
        let bytes = [0, 0, 8, 3, 0, 0, 0, 2];
        let err = parse_header(Path::new("x.idx"), &bytes, IMAGES_MAGIC, "images").unwrap_err();
        assert_eq!(err.to_string(), "x.idx: bad IDX header: ends before dimension 2 of 3");
    }
}
