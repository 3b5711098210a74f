//! The one place where a subcommand's outputs are opened.
//!
//! Every input path is declared first ([`Files::input`]); every output is then claimed
//! ([`Files::output`]), which refuses, before any work is done:
//! - an output that is one of the inputs: the same path, through `./` or a symbolic link
//!   in a directory, or a hard link (same device and inode);
//! - two outputs on the same path;
//! - an existing path that is not a regular file: a symbolic link, a FIFO, a device, a
//!   socket, or a directory (except a Measurement Set, which replaces one). fxgrid writes
//!   under a temporary name and renames, which would replace the node rather than write
//!   through it: `--out /dev/null` would replace `/dev/null`;
//! - a directory that does not exist.
//!
//! Outputs are written under temporary names (registered in [`fxgrid::io::pending`], so
//! that an error or an interrupt removes them) and, because `main` defers renames
//! ([`fxgrid::io::defer_outputs`]), stay there until [`Files::commit`] renames them all:
//! the outputs of a command appear together or none does.

use std::path::{Path, PathBuf};

use super::CliError;

/// Where a path lives: its directory's canonical path joined with its name, and the
/// device and inode if it exists.
#[derive(Debug)]
struct Place {
    flag: &'static str,
    given: PathBuf,
    canonical: PathBuf,
    inode: Option<(u64, u64)>,
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The inputs and outputs of one command (module docs).
#[derive(Debug, Default)]
pub struct Files {
    inputs: Vec<Place>,
    outputs: Vec<Place>,
}

fn refuse(flag: &'static str, path: &Path, why: impl Into<String>) -> CliError {
    CliError::Output {
        flag,
        path: path.display().to_string(),
        reason: why.into(),
    }
}

impl Files {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares an input. It need not exist (its reader says so in its own words), but if
    /// it does it must be a file or a directory: reading a FIFO or a device could wait
    /// forever.
    pub fn input(&mut self, flag: &'static str, path: &Path) -> Result<&mut Self, CliError> {
        let meta = std::fs::metadata(path).ok();
        if let Some(m) = &meta {
            let why = if m.is_dir() && !fxgrid::io::is_casacore_table(path) {
                Some("a file: this is a directory (and not a Measurement Set)")
            } else if !m.is_file() && !m.is_dir() {
                Some("a file: this is a FIFO, device or socket")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(CliError::Input {
                    flag,
                    path: path.display().to_string(),
                    reason: why.into(),
                });
            }
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.inputs.push(Place {
            flag,
            given: path.to_path_buf(),
            canonical,
            inode: meta.as_ref().and_then(inode),
        });
        Ok(self)
    }

    /// Claims the output `path` of `flag` (module docs). A Measurement Set output may
    /// replace an existing Measurement Set.
    pub fn output(&mut self, flag: &'static str, path: &Path) -> Result<(), CliError> {
        let name = match path.file_name() {
            Some(n) if !path.as_os_str().to_string_lossy().ends_with('/') => n.to_owned(),
            _ => return Err(refuse(flag, path, "a file name, not a directory")),
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir_canonical = match std::fs::canonicalize(&dir) {
            Ok(d) if d.is_dir() => d,
            _ => {
                return Err(refuse(
                    flag,
                    path,
                    format!("directory {} does not exist", dir.display()),
                ))
            }
        };
        let canonical = dir_canonical.join(&name);
        let mut node = None;
        if let Ok(m) = std::fs::symlink_metadata(path) {
            let ft = m.file_type();
            let ms = fxgrid::io::is_ms_path(path) && fxgrid::io::is_casacore_table(path);
            if ft.is_symlink() {
                return Err(refuse(
                    flag,
                    path,
                    "a path that is not a symbolic link: fxgrid writes a new file and renames it into place, which would replace the link; give the link's target",
                ));
            } else if ft.is_dir() && !ms {
                return Err(refuse(flag, path, "a file name, not a directory"));
            } else if !ft.is_file() && !ft.is_dir() {
                return Err(refuse(
                    flag,
                    path,
                    "a regular file or a new name: this is a device, FIFO or socket, which fxgrid would replace, not write through",
                ));
            }
            node = inode(&m);
        }
        for i in &self.inputs {
            if i.canonical == canonical || (node.is_some() && i.inode == node) {
                return Err(refuse(
                    flag,
                    path,
                    format!(
                        "a path other than the input {} ({}): writing it would destroy the input",
                        i.given.display(),
                        i.flag
                    ),
                ));
            }
        }
        for o in &self.outputs {
            if o.canonical == canonical {
                return Err(refuse(
                    flag,
                    path,
                    format!(
                        "a path other than the output of {} ({})",
                        o.flag,
                        o.given.display()
                    ),
                ));
            }
        }
        self.outputs.push(Place {
            flag,
            given: path.to_path_buf(),
            canonical,
            inode: node,
        });
        Ok(())
    }

    /// Claims an optional output.
    pub fn output_opt(
        &mut self,
        flag: &'static str,
        path: Option<&PathBuf>,
    ) -> Result<(), CliError> {
        path.map_or(Ok(()), |p| self.output(flag, p))
    }

    /// Renames every output written into place (the command has done its work).
    pub fn commit(self) -> Result<(), CliError> {
        Ok(fxgrid::io::commit_outputs()?)
    }
}
