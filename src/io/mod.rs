//! File I/O: FITS images ([`fits`]); HDF5 (UVH5 visibilities, voltages, spectra) behind the
//! default-on `hdf5` feature.
//!
//! Writes go to a temporary name beside the target and are renamed into place only when
//! complete, so a failed or interrupted write never leaves a partial file under the
//! requested name.

mod error;
pub mod fits;
#[cfg(feature = "hdf5")]
mod h5;
#[cfg(feature = "ms")]
pub mod ms;
pub mod pending;
#[cfg(feature = "hdf5")]
mod source;
#[cfg(feature = "hdf5")]
pub mod uvh5;
#[cfg(feature = "hdf5")]
pub mod voltages;

pub use error::IoError;
pub use pending::{
    commit_outputs, defer_outputs, discard_outputs, put_in_place, remove_all_pending, Pending,
};
#[cfg(feature = "hdf5")]
pub use source::{open_vis_source, VisSource};

use std::path::{Path, PathBuf};

/// A human-readable summary of a file fxgrid reads, by its format: FITS images, and with
/// the `hdf5` feature fxgrid's voltage and spectra files, UVH5 and other HDF5 files.
pub fn summarise(path: &Path) -> Result<String, IoError> {
    if path.is_dir() && is_ms_path(path) {
        #[cfg(feature = "ms")]
        return ms::summarise(path);
        #[cfg(not(feature = "ms"))]
        return Err(no_ms(path));
    }
    let mut magic = [0u8; 8];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|source| IoError::Os {
            path: path.display().to_string(),
            source,
        })?;
        let n = f.read(&mut magic).map_err(|source| IoError::Os {
            path: path.display().to_string(),
            source,
        })?;
        if n >= 6 && &magic[..6] == b"SIMPLE" {
            return fits::summarise(path);
        }
    }
    #[cfg(feature = "hdf5")]
    {
        if voltages::is_stream_file(path)? {
            return voltages::summarise(path);
        }
        uvh5::summarise(path)
    }
    #[cfg(not(feature = "hdf5"))]
    Err(IoError::Format {
        path: path.display().to_string(),
        reason: "not a FITS file, and HDF5 files need fxgrid built with the hdf5 feature".into(),
    })
}

/// Whether `path` is a casacore table: a directory with `table.dat`.
pub fn is_casacore_table(path: &Path) -> bool {
    path.is_dir() && path.join("table.dat").is_file()
}

/// Whether `path` names a Measurement Set: an existing casacore table directory, or a
/// name ending in `.ms` (any case).
pub fn is_ms_path(path: &Path) -> bool {
    is_casacore_table(path)
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ms"))
}

/// Write `vis` in the format the path names: a Measurement Set for `*.ms` (needs the `ms`
/// feature), UVH5 otherwise.
#[cfg(feature = "hdf5")]
pub fn write_visibilities(path: &Path, vis: &crate::vis::Visibilities) -> Result<(), IoError> {
    let mut w = VisWriter::create(path, vis.n_times())?;
    w.write(vis)?;
    w.finish()
}

/// Visibilities written a few integrations at a time, as UVH5 or (by the `.ms` extension,
/// with the `ms` feature) a Measurement Set: memory is one batch whatever the length of
/// the observation. Written under a temporary name, renamed into place by
/// [`VisWriter::finish`]; dropped before, it removes what it wrote.
#[cfg(feature = "hdf5")]
pub enum VisWriter {
    /// UVH5.
    Uvh5(Box<uvh5::Uvh5Writer>),
    /// A Measurement Set, made with the first batch.
    #[cfg(feature = "ms")]
    Ms {
        /// The path.
        path: PathBuf,
        /// The writer, once the first batch came.
        writer: Option<Box<ms::MsWriter>>,
        /// Integrations expected and written.
        times: (usize, usize),
    },
}

#[cfg(feature = "hdf5")]
impl VisWriter {
    /// A file of `n_times` integrations at `path`.
    pub fn create(path: &Path, n_times: usize) -> Result<Self, IoError> {
        if is_ms_path(path) {
            #[cfg(feature = "ms")]
            return Ok(VisWriter::Ms {
                path: path.to_path_buf(),
                writer: None,
                times: (n_times, 0),
            });
            #[cfg(not(feature = "ms"))]
            return Err(no_ms(path));
        }
        Ok(VisWriter::Uvh5(Box::new(uvh5::Uvh5Writer::create(
            path, n_times,
        )?)))
    }

    /// Append the next integrations.
    pub fn write(&mut self, vis: &crate::vis::Visibilities) -> Result<(), IoError> {
        match self {
            VisWriter::Uvh5(w) => w.write(vis),
            #[cfg(feature = "ms")]
            VisWriter::Ms {
                path,
                writer,
                times,
            } => {
                if times.1 + vis.n_times() > times.0 {
                    return Err(IoError::Format {
                        path: path.display().to_string(),
                        reason: format!(
                            "{} integrations written and {} more given: the file was created for {}",
                            times.1,
                            vis.n_times(),
                            times.0
                        ),
                    });
                }
                let w = match writer {
                    Some(w) => w,
                    None => writer.insert(Box::new(ms::MsWriter::create(path, vis.meta())?)),
                };
                w.append_vis(vis)?;
                times.1 += vis.n_times();
                Ok(())
            }
        }
    }

    /// Finish the file and rename it into place; every integration must have been written.
    pub fn finish(self) -> Result<(), IoError> {
        match self {
            VisWriter::Uvh5(w) => (*w).finish(),
            #[cfg(feature = "ms")]
            VisWriter::Ms {
                path,
                writer,
                times,
            } => match writer {
                Some(w) if times.0 == times.1 => w.finish(),
                _ => Err(IoError::Format {
                    path: path.display().to_string(),
                    reason: format!(
                        "{} of {} integrations written: the file is incomplete and was not kept",
                        times.1, times.0
                    ),
                }),
            },
        }
    }
}

/// Read a whole visibility file (UVH5, or a Measurement Set's `DATA` with the `ms`
/// feature) into [`crate::vis::Visibilities`].
#[cfg(feature = "hdf5")]
pub fn read_visibilities(path: &Path) -> Result<crate::vis::Visibilities, IoError> {
    if is_ms_path(path) {
        #[cfg(feature = "ms")]
        return ms::read_ms(path, ms::DataColumn::Data);
        #[cfg(not(feature = "ms"))]
        return Err(no_ms(path));
    }
    uvh5::read_uvh5(path)
}

#[cfg(not(feature = "ms"))]
fn no_ms(path: &Path) -> IoError {
    IoError::Format {
        path: path.display().to_string(),
        reason: "Measurement Sets need fxgrid built with the ms feature (cargo build --release --features ms)".into(),
    }
}

/// The temporary name a file is written under before it is renamed to `path`: hidden,
/// beside it, and UTF-8 (HDF5 takes only UTF-8 names) whatever bytes `path`'s name has.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.fxgrid-tmp-{}", std::process::id()))
}

/// Renames the finished file or directory `tmp` to `path`. A file replaces a file
/// atomically; a directory (a Measurement Set) replaces only an existing casacore table
/// (moved aside, then removed once the new one is in place), and anything else there is
/// refused. `tmp` is left where it was on failure.
pub fn replace_path(tmp: &Path, path: &Path) -> Result<(), IoError> {
    let os = |p: &Path| {
        let p = p.display().to_string();
        move |source| IoError::Os { path: p, source }
    };
    let is_dir = std::fs::symlink_metadata(tmp).is_ok_and(|m| m.is_dir());
    if !is_dir || path.symlink_metadata().is_err() {
        return std::fs::rename(tmp, path).map_err(os(path));
    }
    if !is_casacore_table(path) {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: "exists and is not a casacore table: not replaced".into(),
        });
    }
    let aside = Pending::new(temporary_path(path).with_extension("old"));
    std::fs::rename(path, aside.path()).map_err(os(path))?;
    if let Err(e) = std::fs::rename(tmp, path).map_err(os(path)) {
        let _ = std::fs::rename(aside.path(), path);
        aside.keep();
        return Err(e);
    }
    // Dropping `aside` removes the old table.
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_atomically`]).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomically(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|source| IoError::Os {
            path: path.display().to_string(),
            source,
        })
    })
}

/// Run `write` on a temporary path, then rename it to `path`; remove it on failure or
/// when the process is interrupted (see [`pending`]).
pub fn write_atomically<F>(path: &Path, write: F) -> Result<(), IoError>
where
    F: FnOnce(&Path) -> Result<(), IoError>,
{
    let tmp = Pending::new(temporary_path(path));
    write(tmp.path())?;
    put_in_place(tmp, path)
}
