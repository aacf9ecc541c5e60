//! One training process per run directory.
//!
//! `RUN/train.lock` holds the owner's process id and is locked with an OS advisory lock
//! (`flock`) for as long as the trainer lives. The kernel releases that lock when the process
//! dies, however it dies, so a lock file left behind by a crash is recognised as stale (it
//! exists but nobody holds it) and taken over, while a live owner makes a second trainer
//! refuse to start.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::TrainError;

/// File name of the lock inside the run directory.
pub const LOCK_FILE: &str = "train.lock";

/// Exclusive ownership of a run directory; released (and the file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    stale_owner: Option<String>,
}

impl RunLock {
    /// Takes the lock of the run directory `root`, or fails with [`TrainError::Locked`]
    /// naming the process that holds it.
    pub fn acquire(root: &Path) -> Result<Self, TrainError> {
        let path = root.join(LOCK_FILE);
        let io = |source| TrainError::io(&path, source);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(TrainError::Locked {
                        path: path.clone(),
                        owner: read_owner(&mut file),
                    });
                }
                Err(TryLockError::Error(source)) => return Err(io(source)),
            }
            // The previous owner may have removed the file between our open and our lock;
            // then we locked an orphan and must start over on the file now at `path`.
            let locked = file.metadata().map_err(io)?;
            match std::fs::metadata(&path) {
                Ok(current) if current.dev() == locked.dev() && current.ino() == locked.ino() => {}
                Ok(_) => continue,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(io(source)),
            }
            let previous = read_owner(&mut file);
            let owner = format!("process {}", std::process::id());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(owner.as_bytes()))
                .and_then(|()| file.sync_all())
                .map_err(io)?;
            return Ok(Self {
                file,
                path,
                stale_owner: (!previous.is_empty()).then_some(previous),
            });
        }
    }

    /// The owner named in a lock file that nobody held any more: a crashed earlier run.
    pub fn stale_owner(&self) -> Option<&str> {
        self.stale_owner.as_deref()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove while still locked, so a waiting process cannot lock the unlinked file
        // unnoticed (it re-checks the path after locking). The lock goes with the handle.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// The owner text of a lock file, or "" if empty or unreadable.
fn read_owner(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_owner_and_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(first.stale_owner(), None);
        let err = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("in use by process {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains(LOCK_FILE), "{err}");
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        let again = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(again.stale_owner(), None);
    }

    #[test]
    fn a_lock_file_nobody_holds_is_stale_and_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "process 4242").unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(lock.stale_owner(), Some("process 4242"));
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(text, format!("process {}", std::process::id()));
    }
}
