//! What a load saw: counts, classes, sizes and modes, skipped and unreadable files, the cache.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How many distinct image sizes a report lists before summarising the rest.
const LISTED_SIZES: usize = 5;

/// Images of one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeCount {
    /// Width in pixels, as decoded.
    pub width: u32,
    /// Height in pixels, as decoded.
    pub height: u32,
    /// Images of this size.
    pub count: usize,
}

/// What happened to the dataset cache on this load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CacheStatus {
    /// The source is not cached (IDX and NPY sources, or `data.cache = false`).
    Off,
    /// Read from the cache file.
    Hit {
        /// The cache file.
        path: String,
    },
    /// Decoded and written to the cache file; `reason` says why it was not read.
    Written {
        /// The cache file.
        path: String,
        /// `no cache yet`, or why the old one was not trusted.
        reason: String,
    },
    /// Decoded, but the cache could not be written (the run goes on).
    WriteFailed {
        /// What went wrong.
        reason: String,
    },
}

/// What a run would see of its data source, for `wgan data inspect` and the start of
/// `wgan train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataReport {
    /// The source kind and path, e.g. `image-folder ~/faces`.
    pub source: String,
    /// Images loaded.
    pub count: usize,
    /// Channels after preprocessing.
    pub channels: usize,
    /// Side after preprocessing.
    pub size: usize,
    /// `(class name, images)`, in label order; empty for an unlabelled source.
    pub classes: Vec<(String, usize)>,
    /// Decoded sizes, most frequent first.
    pub sizes: Vec<SizeCount>,
    /// Pixel formats found, with counts.
    pub modes: BTreeMap<String, usize>,
    /// Files skipped as not images.
    pub skipped: usize,
    /// A few of them.
    pub skipped_examples: Vec<String>,
    /// Image files skipped as unreadable (`data.skip_unreadable`), with reasons.
    pub unreadable: Vec<String>,
    /// The cache.
    pub cache: CacheStatus,
    /// Wall-clock seconds the load took.
    pub seconds: f64,
}

impl DataReport {
    /// Sizes from a `(width, height) → count` map, most frequent first.
    pub fn sizes_from(map: &BTreeMap<(u32, u32), usize>) -> Vec<SizeCount> {
        let mut sizes: Vec<SizeCount> = map
            .iter()
            .map(|(&(width, height), &count)| SizeCount { width, height, count })
            .collect();
        sizes.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then((a.width, a.height).cmp(&(b.width, b.height)))
        });
        sizes
    }
}

impl fmt::Display for DataReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "source     {}", self.source)?;
        writeln!(
            f,
            "images     {} -> {}×{}×{} each ({:.2} s)",
            self.count, self.channels, self.size, self.size, self.seconds
        )?;
        if self.classes.is_empty() {
            writeln!(f, "classes    none (images are not all one subfolder deep)")?;
        } else {
            let listed: Vec<String> = self.classes.iter().map(|(name, n)| format!("{name} {n}")).collect();
            writeln!(f, "classes    {}: {}", self.classes.len(), listed.join(", "))?;
        }
        let mut sizes: Vec<String> = self
            .sizes
            .iter()
            .take(LISTED_SIZES)
            .map(|s| format!("{}×{} {}", s.width, s.height, s.count))
            .collect();
        if self.sizes.len() > LISTED_SIZES {
            sizes.push(format!("and {} other sizes", self.sizes.len() - LISTED_SIZES));
        }
        writeln!(f, "sizes      {}", sizes.join(", "))?;
        let enlarged: usize = self
            .sizes
            .iter()
            .filter(|s| (s.width.min(s.height) as usize) < self.size)
            .map(|s| s.count)
            .sum();
        if enlarged > 0 {
            writeln!(
                f,
                "enlarged   {enlarged} images have a short side under {} pixels and are interpolated up",
                self.size
            )?;
        }
        let modes: Vec<String> = self.modes.iter().map(|(mode, n)| format!("{mode} {n}")).collect();
        writeln!(f, "modes      {}", modes.join(", "))?;
        if self.skipped > 0 {
            writeln!(
                f,
                "skipped    {} files that are not images (e.g. {})",
                self.skipped,
                self.skipped_examples.join(", ")
            )?;
        }
        if !self.unreadable.is_empty() {
            writeln!(f, "unreadable {} files skipped:", self.unreadable.len())?;
            for reason in self.unreadable.iter().take(10) {
                writeln!(f, "             {reason}")?;
            }
        }
        match &self.cache {
            CacheStatus::Off => Ok(()),
            CacheStatus::Hit { path } => writeln!(f, "cache      read {path}"),
            CacheStatus::Written { path, reason } => writeln!(f, "cache      wrote {path} ({reason})"),
            CacheStatus::WriteFailed { reason } => writeln!(f, "cache      not written: {reason}"),
        }
    }
}
