//! Fashion-MNIST (and any IDX image file): finding, decoding, resizing and seeded batching.
//!
//! This crate is the only place that decodes datasets. Images are stored once, preprocessed,
//! as f32 in [-1, 1]; batches are copied out as `[B, C, H, W]` tensors on the requested device.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod batches;
mod error;
mod fashion_mnist;
mod idx;
mod locate;
mod resize;

pub use batches::{ShuffleState, ShuffledBatches};
pub use error::DataError;
pub use fashion_mnist::{ImageSet, Split, load_image_set};
pub use idx::{IdxImages, IdxLabels, read_idx_images, read_idx_labels};
pub use locate::{DatasetFiles, DatasetSources, Mirror, PROJECT_DATASET_DIR, SYSTEM_DATASET_DIR};
pub use resize::{resize_bilinear, to_unit_range};
