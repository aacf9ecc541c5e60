//! Errors raised while finding, reading or batching data.

use std::path::PathBuf;

/// Why a dataset could not be used. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A directory stands where a file should be.
    #[error("{}: is a directory, expected an IDX file", path.display())]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The file has no bytes at all.
    #[error("{}: is empty, expected an IDX file", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The gzip stream is truncated or corrupt.
    #[error("{}: corrupt or truncated gzip stream: {error}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decoder reported.
        error: std::io::Error,
    },
    /// The first four bytes are not the magic number of the expected IDX kind.
    #[error("{}: magic number {found:#010x} ({found}), expected {expected} ({kind})", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Magic number read.
        found: u32,
        /// Magic number required.
        expected: u32,
        /// `images` or `labels`.
        kind: &'static str,
    },
    /// The header ends early or declares a zero dimension.
    #[error("{}: bad IDX header: {reason}", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The payload is shorter or longer than the header's dimensions say.
    #[error(
        "{}: payload is {actual} bytes but the header's dimensions {dims:?} need {expected} \
         (file truncated or not an IDX file)",
        path.display()
    )]
    PayloadLength {
        /// The file.
        path: PathBuf,
        /// Dimensions from the header.
        dims: Vec<usize>,
        /// Bytes the dimensions require.
        expected: usize,
        /// Bytes present (counted up to one past the expected length).
        actual: usize,
    },
    /// Images are not of the size this dataset must have.
    #[error("{}: images are {actual:?} pixels, expected {expected:?}", path.display())]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Required `[rows, columns]`.
        expected: [usize; 2],
        /// `[rows, columns]` in the file.
        actual: [usize; 2],
    },
    /// An image file and its label file disagree on the number of items.
    #[error(
        "{} has {images} images but {} has {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Images in it.
        images: usize,
        /// Labels in the label file.
        labels: usize,
    },
    /// A downloaded file does not have the published checksum.
    #[error("{}: SHA-256 of the decompressed data is {actual}, expected {expected}", path.display())]
    Checksum {
        /// Where the download was kept.
        path: PathBuf,
        /// Published hash.
        expected: String,
        /// Hash of what arrived.
        actual: String,
    },
    /// A required file exists in none of the places searched.
    #[error("{file} not found; looked in:\n{}\nhint: {hint}", searched.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    NotFound {
        /// File name, e.g. `train-images-idx3-ubyte.gz`.
        file: String,
        /// Each place tried and why it failed.
        searched: Vec<String>,
        /// How to get the files.
        hint: String,
    },
    /// A batch size the dataset cannot serve.
    #[error("data.batch_size: {batch_size} is not in 1..={available} (images available)")]
    BatchSize {
        /// Requested batch size.
        batch_size: usize,
        /// Images in the dataset.
        available: usize,
    },
    /// A saved shuffle state does not fit this dataset.
    #[error("shuffle state does not fit the dataset: {reason}")]
    ShuffleState {
        /// What does not fit.
        reason: String,
    },
    /// Pixel values that do not make whole images of the stated shape.
    #[error("image set: {reason}")]
    Shape {
        /// What does not fit.
        reason: String,
    },
    /// A source needs `data.path` (or another setting) that the configuration lacks.
    #[error("{field}: {reason}")]
    Setting {
        /// The dotted config field, e.g. `data.path`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A folder holds no usable image.
    #[error(
        "{}: no images found (searched recursively for {extensions}; {skipped} other files skipped{})",
        path.display(),
        if skipped_examples.is_empty() { String::new() } else { format!(", e.g. {}", skipped_examples.join(", ")) }
    )]
    NoImages {
        /// The folder searched.
        path: PathBuf,
        /// The file extensions searched for.
        extensions: String,
        /// Files skipped because they are not images.
        skipped: usize,
        /// A few of the skipped files.
        skipped_examples: Vec<String>,
    },
    /// Following symbolic links leads back into a folder already being searched.
    #[error("{}: symbolic link loop (points back to {})", path.display(), ancestor.display())]
    SymlinkLoop {
        /// The link.
        path: PathBuf,
        /// The folder it leads back to.
        ancestor: PathBuf,
    },
    /// An image file could not be decoded.
    #[error("{}: unreadable image: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder reported.
        reason: String,
    },
    /// An image's declared size is beyond the decoder limits (a decompression bomb, or an
    /// image far larger than any training set needs).
    #[error(
        "{}: refused by the decoder limits ({reason}); images may be at most {max_side} pixels a side and \
         {} MiB decoded",
        path.display(),
        max_bytes >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What the decoder reported.
        reason: String,
        /// Largest width or height accepted.
        max_side: u32,
        /// Largest decoded size accepted, in bytes.
        max_bytes: u64,
    },
    /// More files were unreadable than `data.max_unreadable_fraction` allows.
    #[error(
        "{unreadable} of {total} image files are unreadable ({:.2}%), more than \
         data.max_unreadable_fraction = {limit}; first: {}",
        100.0 * *unreadable as f64 / *total as f64,
        first.join("; ")
    )]
    TooManyUnreadable {
        /// Files that could not be used.
        unreadable: usize,
        /// Image files found.
        total: usize,
        /// The allowed fraction.
        limit: f64,
        /// The first few, with their reasons.
        first: Vec<String>,
    },
    /// An NPY array that is not an image array wgan can use.
    #[error("{}: {found}; expected {expected}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What the file holds.
        found: String,
        /// What is needed.
        expected: String,
    },
    /// The images cannot be converted to the requested number of channels.
    #[error("model.channels = {requested}: images can be converted to 1 (gray) or 3 (RGB) channels only")]
    Channels {
        /// The requested channel count.
        requested: usize,
    },
    /// A dataset cache could not be written.
    #[error("{}: cannot write the dataset cache: {error}", path.display())]
    CacheWrite {
        /// The cache file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }

    /// Whether the user can fix this. Every variant but [`DataError::Shape`] (pixels that do
    /// not make whole images, a bug in the code that built them) is about the dataset, the
    /// data settings, the cache or a saved data order, which the user controls.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, DataError::Shape { .. })
    }
}
