//! Fixtures shared by the workspace's tests; a dev-dependency only, never published.
//!
//! - [`idx`]: small IDX datasets written on the fly, so tests never need the real one.
//! - [`images`]: image folders of mixed sizes, modes and formats, corrupt files and bombs.
//! - [`npy`]: NPY arrays.
//! - [`binary`]: running the built `wgan` binary and reading what a run wrote.
//!
//! Test code: failures panic with the reason, as a test should.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod binary;
pub mod idx;
pub mod images;
pub mod npy;
