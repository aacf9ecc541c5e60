//! Listing an image folder: the image files under it, their classes, and what was skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::DataError;

/// File extensions read as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 9] = ["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp", "jfif"];

/// How many skipped file names a listing keeps for its report.
const KEPT_EXAMPLES: usize = 5;

/// One image file found in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// The file.
    pub path: PathBuf,
    /// Its path below the folder, `/`-separated.
    pub relative: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 if unknown).
    pub modified_ns: u128,
    /// Index into [`FolderListing::classes`], or 0 when the folder has no classes.
    pub label: u32,
}

/// What a recursive search of a folder found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderListing {
    /// The folder searched.
    pub root: PathBuf,
    /// Image files in sorted path order.
    pub files: Vec<ImageFile>,
    /// Class names (the subfolder names, sorted) when every image lies exactly one
    /// subfolder deep; empty otherwise.
    pub classes: Vec<String>,
    /// Files skipped because they are not images: hidden files (`.DS_Store`, `._x.jpg`),
    /// `Thumbs.db`, text and other extensions, and anything not a regular file (FIFOs,
    /// sockets, devices).
    pub skipped: usize,
    /// The first few skipped files, relative to the folder.
    pub skipped_examples: Vec<String>,
}

/// Searches `root` recursively (following symbolic links, skipping hidden entries) for
/// files with an [`IMAGE_EXTENSIONS`] extension.
///
/// A symbolic-link loop or an unreadable directory is an error naming the path; a folder
/// with no image is an error saying what was searched.
pub fn list_folder(root: &Path) -> Result<FolderListing, DataError> {
    let metadata = std::fs::metadata(root).map_err(|error| DataError::io(root, error))?;
    if !metadata.is_dir() {
        return Err(DataError::Setting {
            field: "data.path",
            reason: format!("{} is not a directory (data.source = \"image-folder\")", root.display()),
        });
    }
    let mut found = Vec::new();
    let mut skipped = 0;
    let mut skipped_examples = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        // Hidden folders (`.git`, `.cache`) are not entered; hidden files are skipped below.
        .filter_entry(|entry| entry.depth() == 0 || !(entry.file_type().is_dir() && is_hidden(entry.file_name())));
    for entry in walker {
        let entry = entry.map_err(|error| walk_error(root, error))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = relative_name(root, entry.path());
        // FIFOs, sockets and devices are never read (opening a FIFO would wait forever).
        if is_hidden(entry.file_name()) || !entry.file_type().is_file() || !has_image_extension(entry.path()) {
            skipped += 1;
            if skipped_examples.len() < KEPT_EXAMPLES {
                skipped_examples.push(relative);
            }
            continue;
        }
        let metadata = entry.metadata().map_err(|error| walk_error(root, error))?;
        let modified_ns = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos());
        found.push((
            entry.depth(),
            ImageFile {
                path: entry.path().to_path_buf(),
                relative,
                bytes: metadata.len(),
                modified_ns,
                label: 0,
            },
        ));
    }
    if found.is_empty() {
        return Err(DataError::NoImages {
            path: root.to_path_buf(),
            extensions: IMAGE_EXTENSIONS.map(|e| format!(".{e}")).join(" "),
            skipped,
            skipped_examples,
        });
    }
    let classes = if found.iter().all(|(depth, _)| *depth == 2) {
        let names: BTreeSet<String> = found.iter().map(|(_, f)| class_of(&f.relative)).collect();
        names.into_iter().collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    let files = found
        .into_iter()
        .map(|(_, mut file)| {
            if !classes.is_empty() {
                let class = class_of(&file.relative);
                file.label = classes.binary_search(&class).map_or(0, |index| index as u32);
            }
            file
        })
        .collect();
    Ok(FolderListing {
        root: root.to_path_buf(),
        files,
        classes,
        skipped,
        skipped_examples,
    })
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// The first component of a `class/file` relative path.
fn class_of(relative: &str) -> String {
    relative.split('/').next().unwrap_or_default().to_string()
}

fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn walk_error(root: &Path, error: walkdir::Error) -> DataError {
    if let Some(ancestor) = error.loop_ancestor() {
        return DataError::SymlinkLoop {
            path: error.path().unwrap_or(root).to_path_buf(),
            ancestor: ancestor.to_path_buf(),
        };
    }
    let path = error.path().unwrap_or(root).to_path_buf();
    match error.into_io_error() {
        Some(error) => DataError::Io { path, error },
        None => DataError::Decode {
            path,
            reason: "cannot be listed".into(),
        },
    }
}
