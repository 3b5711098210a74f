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
#[cfg(feature = "hdf5")]
mod source;
#[cfg(feature = "hdf5")]
pub mod uvh5;
#[cfg(feature = "hdf5")]
pub mod voltages;

pub use error::IoError;
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
    if is_ms_path(path) {
        #[cfg(feature = "ms")]
        return ms::write_ms(path, vis);
        #[cfg(not(feature = "ms"))]
        return Err(no_ms(path));
    }
    uvh5::write_uvh5(path, vis)
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

/// The temporary name a file is written under before it is renamed to `path`.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.fxgrid-tmp-{}", std::process::id()))
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

/// Run `write` on a temporary path, then rename it to `path`; remove it on failure.
pub fn write_atomically<F>(path: &Path, write: F) -> Result<(), IoError>
where
    F: FnOnce(&Path) -> Result<(), IoError>,
{
    let tmp = temporary_path(path);
    match write(&tmp) {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            IoError::Os {
                path: path.display().to_string(),
                source,
            }
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
