//! Loading data for the commands: Fashion-MNIST splits for the metrics, and any configured
//! source for training, with a progress bar while an image folder is decoded.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use wgan_data::{DataSpec, DatasetSources, ImageSet, LoadProgress, LoadedData, Split, load_data, load_image_set};
use wgan_train::RunConfig;

/// Fashion-MNIST's image size in its IDX files.
pub const SOURCE_SIZE: [usize; 2] = [28, 28];

/// One split of Fashion-MNIST resized to `size × size`, found in `dir` or by the standard
/// search (project `datasets/`, the Debian package, the official mirror).
pub fn load_split(split: Split, dir: Option<PathBuf>, size: usize) -> anyhow::Result<ImageSet> {
    let name = match split {
        Split::Train => "training",
        Split::Test => "test",
    };
    let files = DatasetSources::standard(dir)
        .locate(split)
        .with_context(|| format!("finding the {name} data"))?;
    eprintln!("{name} data: {}", files.images.display());
    load_image_set(&files, Some(SOURCE_SIZE), size).with_context(|| format!("loading the {name} data"))
}

/// The training images `config` names, preprocessed to its model, with a one-line summary
/// (and the cache's fate) on stderr.
pub fn load_training_data(config: &RunConfig) -> anyhow::Result<LoadedData> {
    let loaded = load_spec(&config.data.spec(&config.model)).context("loading the training data")?;
    let report = &loaded.report;
    let classes = match report.classes.len() {
        0 => String::new(),
        n => format!(", {n} classes"),
    };
    eprintln!(
        "training data: {}: {} images{classes} in {:.2} s{}",
        report.source,
        report.count,
        report.seconds,
        cache_note(&report.cache)
    );
    if report.skipped > 0 || !report.unreadable.is_empty() {
        eprintln!(
            "training data: skipped {} files that are not images and {} unreadable images (wgan data inspect lists them)",
            report.skipped,
            report.unreadable.len()
        );
    }
    Ok(loaded)
}

/// Loads `spec`, drawing a bar on a terminal while files are decoded.
pub fn load_spec(spec: &DataSpec) -> Result<LoadedData, wgan_data::DataError> {
    let bar = DecodeBar(std::io::stderr().is_terminal().then(ProgressBar::hidden));
    load_data(spec, &bar)
}

fn cache_note(cache: &wgan_data::CacheStatus) -> String {
    match cache {
        wgan_data::CacheStatus::Off => String::new(),
        wgan_data::CacheStatus::Hit { path } => format!(" (from the cache {path})"),
        wgan_data::CacheStatus::Written { path, reason } => format!(" (decoded; cache written to {path}: {reason})"),
        wgan_data::CacheStatus::WriteFailed { reason } => format!(" (decoded; cache not written: {reason})"),
    }
}

/// A progress bar over the files being decoded, when stderr is a terminal.
struct DecodeBar(Option<ProgressBar>);

impl LoadProgress for DecodeBar {
    fn begin(&self, files: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(files as u64);
            bar.set_style(
                ProgressStyle::with_template("decoding {bar:30.cyan/blue} {pos}/{len} images  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn advance(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for DecodeBar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
