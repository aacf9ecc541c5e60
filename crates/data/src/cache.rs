//! The preprocessed-image cache of an image folder: one file per (folder, preprocessing),
//! keyed by every file's path, size and modification time, written atomically and verified
//! by CRC-32 on every read. A cache that does not match or does not verify is rebuilt.
//!
//! Layout: `WGANDSET`, a little-endian `u32` format version, a `u64` header length, the
//! JSON header ([`CacheHeader`]), then the payload: pixels (`[count, channels, size, size]`
//! bytes) and labels (`count` little-endian `u32`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::DataError;
use crate::decode::UnreadablePolicy;
use crate::folder::FolderListing;
use crate::preprocess::Preprocessing;
use crate::report::DataReport;

const MAGIC: &[u8; 8] = b"WGANDSET";
const FORMAT_VERSION: u32 = 1;
/// Bumped whenever decoding or preprocessing changes what a cache would hold.
const PREPROCESS_VERSION: u32 = 1;
/// Headers are small; anything larger is damage, not a header.
const MAX_HEADER_BYTES: u64 = 64 << 20;

/// The cache file's JSON header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheHeader {
    /// SHA-256 (hex) of the file list and the preprocessing settings.
    pub key: String,
    /// Images stored.
    pub count: usize,
    /// Class names.
    pub classes: Vec<String>,
    /// The load report at the time the cache was written.
    pub report: DataReport,
    /// Payload bytes.
    pub payload_len: u64,
    /// CRC-32 (IEEE) of the payload.
    pub payload_crc32: u32,
}

/// A cache's contents.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The header.
    pub header: CacheHeader,
    /// `[count, channels, size, size]` bytes.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u32>,
}

/// The cache file for `listing` under `prep` and `policy`, and its key.
#[derive(Debug, Clone)]
pub struct CacheSlot {
    /// Where the cache lives.
    pub path: PathBuf,
    /// What its header must say.
    pub key: String,
}

impl CacheSlot {
    /// The slot in `dir`: named by the folder and settings, keyed also by every file.
    pub fn new(dir: &Path, listing: &FolderListing, prep: &Preprocessing, policy: &UnreadablePolicy) -> Self {
        let root = std::fs::canonicalize(&listing.root).unwrap_or_else(|_| listing.root.clone());
        let settings = format!(
            "wgan image-folder cache {FORMAT_VERSION}.{PREPROCESS_VERSION}\n{}\n{}\nskip={} max={}\n",
            root.display(),
            serde_json::to_string(prep).unwrap_or_default(),
            policy.skip,
            policy.max_fraction
        );
        let name = hex(&Sha256::digest(settings.as_bytes()))[..24].to_string();
        let mut key = Sha256::new();
        key.update(settings.as_bytes());
        for file in &listing.files {
            key.update(format!("{}\0{}\0{}\n", file.relative, file.bytes, file.modified_ns).as_bytes());
        }
        Self {
            path: dir.join(format!("{name}.wgands")),
            key: hex(&key.finalize()),
        }
    }

    /// The cache's contents if it exists, matches the key and verifies; otherwise why not.
    pub fn read(&self) -> Result<Cached, String> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err("no cache yet".into()),
            Err(error) => return Err(format!("cannot open the old cache: {error}")),
        };
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let damaged = |what: &str| format!("old cache damaged ({what}), rebuilt");
        let mut magic = [0u8; 8];
        let mut version = [0u8; 4];
        let mut header_len = [0u8; 8];
        reader
            .read_exact(&mut magic)
            .and_then(|()| reader.read_exact(&mut version))
            .and_then(|()| reader.read_exact(&mut header_len))
            .map_err(|_| damaged("truncated header"))?;
        if &magic != MAGIC {
            return Err(damaged("not a wgan dataset cache"));
        }
        if u32::from_le_bytes(version) != FORMAT_VERSION {
            return Err("old cache has another format version, rebuilt".into());
        }
        let header_len = u64::from_le_bytes(header_len);
        if header_len > MAX_HEADER_BYTES {
            return Err(damaged("header length"));
        }
        let mut header = vec![0u8; header_len as usize];
        reader
            .read_exact(&mut header)
            .map_err(|_| damaged("truncated header"))?;
        let header: CacheHeader = serde_json::from_slice(&header).map_err(|_| damaged("unreadable header"))?;
        if header.key != self.key {
            return Err("the folder or the preprocessing changed since the cache was written, rebuilt".into());
        }
        let pixel_len = header.count * header.report.channels * header.report.size * header.report.size;
        if header.payload_len != (pixel_len + 4 * header.count) as u64 {
            return Err(damaged("payload length"));
        }
        let mut pixels = vec![0u8; pixel_len];
        let mut label_bytes = vec![0u8; 4 * header.count];
        reader
            .read_exact(&mut pixels)
            .and_then(|()| reader.read_exact(&mut label_bytes))
            .map_err(|_| damaged("truncated payload"))?;
        if reader.read(&mut [0u8; 1]).map_err(|e| e.to_string())? != 0 {
            return Err(damaged("trailing bytes"));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&pixels);
        crc.update(&label_bytes);
        if crc.finalize() != header.payload_crc32 {
            return Err(damaged("checksum mismatch"));
        }
        let labels = label_bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Cached { header, pixels, labels })
    }

    /// Writes the cache atomically: a temporary file in the same directory, flushed to disk,
    /// then renamed over the slot. A failure leaves any old cache file as it was.
    pub fn write(
        &self,
        pixels: &[u8],
        labels: &[u32],
        classes: &[String],
        report: &DataReport,
    ) -> Result<(), DataError> {
        let io = |error| DataError::CacheWrite {
            path: self.path.clone(),
            error,
        };
        let label_bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        let mut crc = crc32fast::Hasher::new();
        crc.update(pixels);
        crc.update(&label_bytes);
        let header = CacheHeader {
            key: self.key.clone(),
            count: labels.len(),
            classes: classes.to_vec(),
            report: report.clone(),
            payload_len: (pixels.len() + label_bytes.len()) as u64,
            payload_crc32: crc.finalize(),
        };
        let header = serde_json::to_vec(&header).map_err(|error| io(std::io::Error::other(error)))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let temporary = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let mut writer = BufWriter::with_capacity(1 << 20, temporary.as_file());
        writer.write_all(MAGIC).map_err(io)?;
        writer.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io)?;
        writer.write_all(&(header.len() as u64).to_le_bytes()).map_err(io)?;
        writer.write_all(&header).map_err(io)?;
        writer.write_all(pixels).map_err(io)?;
        writer.write_all(&label_bytes).map_err(io)?;
        writer.flush().map_err(io)?;
        drop(writer);
        temporary.as_file().sync_all().map_err(io)?;
        temporary.persist(&self.path).map_err(|error| io(error.error))?;
        Ok(())
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/wgan/datasets`, else
/// `~/.cache/wgan/datasets`, else `.wgan-cache/` in the working directory.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
    match base {
        Some(base) => base.join("wgan").join("datasets"),
        None => PathBuf::from(".wgan-cache"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
