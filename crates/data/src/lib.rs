//! Every dataset wgan reads: Fashion-MNIST, any IDX image file, image folders and NPY arrays;
//! their preprocessing (alpha, channels, crop, resize), the image-folder cache, and seeded
//! batching.
//!
//! This crate is the only place that decodes datasets. Images are stored once, preprocessed;
//! batches are copied out as `[B, C, H, W]` tensors in [-1, 1] on the requested device.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod batches;
mod cache;
mod decode;
mod error;
mod fashion_mnist;
mod folder;
mod idx;
mod image_set;
mod locate;
mod npy;
mod preprocess;
mod report;
mod resize;
mod source;

pub use batches::{ShuffleState, ShuffledBatches};
pub use cache::{CacheSlot, default_cache_dir};
pub use decode::{MAX_DECODED_BYTES, MAX_IMAGE_SIDE, UnreadablePolicy, decode_image};
pub use error::DataError;
pub use fashion_mnist::{FASHION_MNIST_CLASSES, Split, idx_image_set, load_image_set};
pub use folder::{FolderListing, IMAGE_EXTENSIONS, ImageFile, list_folder};
pub use idx::{IdxImages, IdxLabels, read_idx_images, read_idx_labels};
pub use image_set::{ImageSet, Pixels};
pub use locate::{DatasetFiles, DatasetSources, Mirror, PROJECT_DATASET_DIR, SYSTEM_DATASET_DIR};
pub use preprocess::{AlphaBackground, PlaneLayout, Planes, Preprocessing, ResizeMode};
pub use report::{CacheStatus, DataReport, SizeCount};
pub use resize::{Window, resize_bilinear, resize_plane, to_unit_range};
pub use source::{DataSpec, LoadProgress, LoadedData, SourceKind, load_data};
