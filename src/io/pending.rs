//! Files and directories being written: each is registered while it exists under its
//! temporary name, so that an error ([`Pending`]'s drop) or a signal
//! ([`remove_all_pending`], from the command-line tool's SIGINT/SIGTERM handler) removes it
//! and a failed or interrupted command leaves nothing behind.
//!
//! A finished file is put in place by [`put_in_place`]: renamed at once, or, after
//! [`defer_outputs`], kept under its temporary name until [`commit_outputs`] renames every
//! one of them (or [`discard_outputs`] removes them), so that the outputs of a command
//! appear together or none does.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere while the list was held leaves it usable: it is only paths.
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a file, or a directory with its contents (Measurement Sets); absent is fine.
fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// A path being written: removed when dropped, unless [`Pending::keep`] was called (after
/// it was renamed into place).
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    armed: bool,
}

impl Pending {
    /// Registers `path` (before anything is created there).
    pub fn new(path: PathBuf) -> Self {
        registry().push(path.clone());
        Pending { path, armed: true }
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path is no longer temporary (it was renamed away): forget it.
    pub fn keep(mut self) {
        self.armed = false;
        unregister(&self.path);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.armed {
            remove(&self.path);
            unregister(&self.path);
        }
    }
}

/// Finished outputs waiting for [`commit_outputs`], when deferred.
type Deferred = Vec<(Pending, PathBuf)>;

static DEFERRED: Mutex<Option<Deferred>> = Mutex::new(None);

fn deferred() -> MutexGuard<'static, Option<Deferred>> {
    DEFERRED.lock().unwrap_or_else(|e| e.into_inner())
}

/// From now on, [`put_in_place`] keeps finished outputs under their temporary names until
/// [`commit_outputs`].
pub fn defer_outputs() {
    deferred().get_or_insert_with(Vec::new);
}

/// Puts the finished file or directory `tmp` at `path` (see [`super::replace_path`]), now
/// or, after [`defer_outputs`], at [`commit_outputs`].
pub fn put_in_place(tmp: Pending, path: &Path) -> Result<(), super::IoError> {
    if let Some(list) = deferred().as_mut() {
        list.push((tmp, path.to_path_buf()));
        return Ok(());
    }
    super::replace_path(tmp.path(), path)?;
    tmp.keep();
    Ok(())
}

/// Renames every deferred output into place, in the order they were finished, and stops
/// deferring.
pub fn commit_outputs() -> Result<(), super::IoError> {
    let list = deferred().take().unwrap_or_default();
    for (tmp, path) in list {
        super::replace_path(tmp.path(), &path)?;
        tmp.keep();
    }
    Ok(())
}

/// Removes every deferred output and stops deferring.
pub fn discard_outputs() {
    drop(deferred().take());
}

fn unregister(path: &Path) {
    let mut r = registry();
    if let Some(i) = r.iter().rposition(|p| p == path) {
        r.swap_remove(i);
    }
}

/// Removes every registered path and keeps the registry locked, so nothing new is
/// registered before the process exits: for a signal handler that then ends the process
/// (`_exit`). Returns how many paths were registered.
pub fn remove_all_pending() -> usize {
    let r = registry();
    for p in r.iter() {
        remove(p);
    }
    // A path registered just before the lock was taken may be created a moment later:
    // remove once more after that moment.
    std::thread::sleep(std::time::Duration::from_millis(20));
    for p in r.iter() {
        remove(p);
    }
    let n = r.len();
    std::mem::forget(r);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_pending_paths_are_removed_and_kept_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        {
            let pa = Pending::new(a.clone());
            std::fs::write(pa.path(), b"x").unwrap();
            let pb = Pending::new(b.clone());
            std::fs::create_dir(pb.path()).unwrap();
            std::fs::write(pb.path().join("table.dat"), b"y").unwrap();
            pa.keep();
        }
        assert!(a.exists(), "a kept path stays");
        assert!(
            !b.exists(),
            "a dropped directory is removed with its contents"
        );
        assert!(!registry().iter().any(|p| p == &a || p == &b));
    }
}
