//! Where dataset files come from: an explicit directory, the project's `datasets/`, the
//! system directory of Debian's `dataset-fashion-mnist` package, or a verified download.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{DataError, Split, idx::read_decompressed};

/// The project-local directory searched first (relative to the working directory).
pub const PROJECT_DATASET_DIR: &str = "datasets/fashion-mnist";
/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const SYSTEM_DATASET_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The image and label files of one split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFiles {
    /// IDX image file (magic 2051).
    pub images: PathBuf,
    /// IDX label file (magic 2049).
    pub labels: PathBuf,
}

/// A download location with the SHA-256 of each file's decompressed IDX content.
///
/// Hashes are of the decompressed bytes, so a file recompressed by a packager still verifies.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// URL prefix; a file is fetched from `base_url + name + ".gz"`.
    pub base_url: String,
    /// `(file stem, SHA-256 hex of the decompressed file)`.
    pub checksums: Vec<(String, String)>,
    /// Limit for opening the connection.
    pub connect_timeout: Duration,
    /// Limit for the whole transfer of one file.
    pub transfer_timeout: Duration,
}

impl Mirror {
    /// Zalando Research's official Fashion-MNIST mirror.
    pub fn official() -> Self {
        let checksums = [
            (
                "train-images-idx3-ubyte",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            (
                "train-labels-idx1-ubyte",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            (
                "t10k-images-idx3-ubyte",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            (
                "t10k-labels-idx1-ubyte",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        ];
        Self {
            base_url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/".into(),
            checksums: checksums.iter().map(|(n, h)| (n.to_string(), h.to_string())).collect(),
            connect_timeout: Duration::from_secs(5),
            transfer_timeout: Duration::from_secs(120),
        }
    }

    fn checksum(&self, stem: &str) -> Option<&str> {
        self.checksums
            .iter()
            .find(|(name, _)| name == stem)
            .map(|(_, hash)| hash.as_str())
    }
}

/// The places to look for dataset files, in order.
#[derive(Debug, Clone)]
pub struct DatasetSources {
    /// A directory named by the config or command line. When set, it is the only place
    /// searched: a wrong explicit path is reported, never silently replaced.
    pub explicit: Option<PathBuf>,
    /// Directories searched in order when no explicit directory is set.
    pub search_dirs: Vec<PathBuf>,
    /// Where to download missing files from, and the directory to keep them in.
    pub download: Option<(Mirror, PathBuf)>,
}

impl DatasetSources {
    /// The standard order: `explicit` alone if given; otherwise `datasets/fashion-mnist/`,
    /// then `/usr/share/datasets/fashion-mnist/`, then the official mirror (kept in
    /// `datasets/fashion-mnist/`).
    pub fn standard(explicit: Option<PathBuf>) -> Self {
        Self {
            explicit,
            search_dirs: vec![PathBuf::from(PROJECT_DATASET_DIR), PathBuf::from(SYSTEM_DATASET_DIR)],
            download: Some((Mirror::official(), PathBuf::from(PROJECT_DATASET_DIR))),
        }
    }

    /// Finds (or downloads) the image and label files of `split`.
    pub fn locate(&self, split: Split) -> Result<DatasetFiles, DataError> {
        let (images, labels) = split.file_stems();
        Ok(DatasetFiles {
            images: self.locate_file(images)?,
            labels: self.locate_file(labels)?,
        })
    }

    fn locate_file(&self, stem: &str) -> Result<PathBuf, DataError> {
        let mut searched = Vec::new();
        let dirs = match &self.explicit {
            Some(dir) => std::slice::from_ref(dir),
            None => self.search_dirs.as_slice(),
        };
        for dir in dirs {
            if let Some(found) = find_in(dir, stem) {
                return Ok(found);
            }
            searched.push(format!("{} ({stem}[.gz] absent)", dir.display()));
        }
        if self.explicit.is_none()
            && let Some((mirror, target)) = &self.download
        {
            match download(mirror, stem, target) {
                Ok(path) => return Ok(path),
                Err(reason) => searched.push(format!("{}{stem}.gz ({reason})", mirror.base_url)),
            }
        }
        Err(DataError::NotFound {
            file: format!("{stem}.gz"),
            searched,
            hint: "install Debian's package (`apt-get install dataset-fashion-mnist`), or put the \
                   four official IDX files in datasets/fashion-mnist/ (see datasets/README.md), \
                   or name their directory with data.path (or --set data.path=DIR)"
                .into(),
        })
    }
}

/// `dir/stem.gz` or `dir/stem`, whichever exists first.
fn find_in(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.exists())
}

/// Fetches `stem.gz`, verifies it, and moves it into `target`. The error is a short reason.
fn download(mirror: &Mirror, stem: &str, target: &Path) -> Result<PathBuf, String> {
    let expected = mirror.checksum(stem).ok_or("no published checksum for this file")?;
    let url = format!("{}{stem}.gz", mirror.base_url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(mirror.connect_timeout))
        .timeout_global(Some(mirror.transfer_timeout))
        .build()
        .into();
    let bytes = agent
        .get(&url)
        .call()
        .and_then(|mut response| response.body_mut().with_config().limit(256 << 20).read_to_vec())
        .map_err(|err| format!("download failed: {err}"))?;
    std::fs::create_dir_all(target).map_err(|err| format!("cannot create {}: {err}", target.display()))?;
    let path = target.join(format!("{stem}.gz"));
    let partial = target.join(format!("{stem}.gz.part"));
    std::fs::write(&partial, &bytes).map_err(|err| format!("cannot write {}: {err}", partial.display()))?;
    let verified = verify_sha256(&partial, expected);
    if let Err(err) = verified {
        let _ = std::fs::remove_file(&partial);
        return Err(err.to_string());
    }
    std::fs::rename(&partial, &path).map_err(|err| format!("cannot move into {}: {err}", path.display()))?;
    Ok(path)
}

/// Checks the SHA-256 of `path`'s decompressed content against `expected` (hex).
pub(crate) fn verify_sha256(path: &Path, expected: &str) -> Result<(), DataError> {
    let bytes = read_decompressed(path)?;
    let actual = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    if actual != expected {
        return Err(DataError::Checksum {
            path: path.to_path_buf(),
            expected: expected.into(),
            actual,
        });
    }
    Ok(())
}
