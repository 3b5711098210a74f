//! [`VisSource`]: a visibility file read in blocks of baseline-times, whatever its format.
//! The file imager ([`crate::imaging`]) reads through it, so UVH5 files and (with the
//! `ms` feature) Measurement Sets image the same way.

use std::ops::Range;
use std::path::Path;

use super::uvh5::{BltMeta, Uvh5Block, Uvh5Header, Uvh5Reader};
use super::IoError;

/// A visibility file read in blocks of baseline-times (rows). The header and blocks are
/// those of UVH5 ([`Uvh5Header`], [`Uvh5Block`]), in UVH5's conventions.
pub trait VisSource {
    /// The file's name.
    fn path(&self) -> &str;
    /// The header.
    fn header(&self) -> &Uvh5Header;
    /// Check the counts of the header against the rows (as [`Uvh5Reader::check_counts`]).
    fn check_counts(&self) -> Result<(), IoError>;
    /// Row ranges of at most `max_samples` samples of `n_chans` channels.
    fn blocks(&self, n_chans: usize, max_samples: usize) -> Vec<Range<usize>>;
    /// Integration centres (JD UTC) of rows `blts`.
    fn read_times(&self, blts: Range<usize>) -> Result<Vec<f64>, IoError>;
    /// Per-row metadata of rows `blts`.
    fn read_meta(&self, blts: Range<usize>) -> Result<BltMeta, IoError>;
    /// Metadata and samples of rows `blts`, channels `chans` (visibilities if `with_vis`).
    fn read_block(
        &self,
        blts: Range<usize>,
        chans: Range<usize>,
        with_vis: bool,
    ) -> Result<Uvh5Block, IoError>;
}

impl VisSource for Uvh5Reader {
    fn path(&self) -> &str {
        Uvh5Reader::path(self)
    }
    fn header(&self) -> &Uvh5Header {
        Uvh5Reader::header(self)
    }
    fn check_counts(&self) -> Result<(), IoError> {
        Uvh5Reader::check_counts(self)
    }
    fn blocks(&self, n_chans: usize, max_samples: usize) -> Vec<Range<usize>> {
        Uvh5Reader::blocks(self, n_chans, max_samples)
    }
    fn read_times(&self, blts: Range<usize>) -> Result<Vec<f64>, IoError> {
        Uvh5Reader::read_times(self, blts)
    }
    fn read_meta(&self, blts: Range<usize>) -> Result<BltMeta, IoError> {
        Uvh5Reader::read_meta(self, blts)
    }
    fn read_block(
        &self,
        blts: Range<usize>,
        chans: Range<usize>,
        with_vis: bool,
    ) -> Result<Uvh5Block, IoError> {
        Uvh5Reader::read_block(self, blts, chans, with_vis)
    }
}

/// Open a visibility file for block reading: a Measurement Set ([`super::is_ms_path`],
/// needs the `ms` feature) reading `data_column` (`DATA` when `None`), or UVH5 (which
/// has no other column than its visibilities, so any other `data_column` is refused).
pub fn open_vis_source(
    path: &Path,
    data_column: Option<&str>,
) -> Result<Box<dyn VisSource>, IoError> {
    if super::is_ms_path(path) {
        #[cfg(feature = "ms")]
        {
            let column = match data_column {
                None => super::ms::DataColumn::Data,
                Some(c) => super::ms::DataColumn::from_name(c).ok_or_else(|| IoError::Format {
                    path: path.display().to_string(),
                    reason: format!(
                        "data column {c:?}: expected DATA, CORRECTED_DATA or MODEL_DATA"
                    ),
                })?,
            };
            return Ok(Box::new(super::ms::MsSource::open(path, column)?));
        }
        #[cfg(not(feature = "ms"))]
        return Err(super::no_ms(path));
    }
    if let Some(c) = data_column.filter(|c| !c.eq_ignore_ascii_case("DATA")) {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: format!(
                "data column {c:?} asked for: a UVH5 file has one set of visibilities (DATA)"
            ),
        });
    }
    Ok(Box::new(Uvh5Reader::open(path)?))
}
