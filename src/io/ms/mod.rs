//! CASA Measurement Sets (MSv2, casacore tables), behind the `ms` feature (casacore's
//! table system is built from the sources bundled with `rubbl_casatables`).
//!
//! # What is written ([`MsWriter`], [`write_ms`])
//! - MAIN with the columns MSv2 requires, plus `DATA`, `FLAG` and `WEIGHT_SPECTRUM` in
//!   tiled storage managers, and `WEIGHT`/`SIGMA` per correlation; `TIME` and
//!   `TIME_CENTROID` in MJD seconds (UTC) with their epoch measure, uvw with a J2000 uvw
//!   measure, one scan, one field, one spectral window, `STATE_ID = −1`.
//! - The subtables ANTENNA (absolute ITRF positions), SPECTRAL_WINDOW (TOPO),
//!   POLARIZATION (CASA order XX XY YX YY), FIELD and SOURCE (J2000), DATA_DESCRIPTION,
//!   OBSERVATION (with pyuvdata's extra `TELESCOPE_LOCATION`), FEED (X east, Y north, as
//!   in UVH5), HISTORY (the data's provenance), PROCESSOR, and empty POINTING and STATE.
//!
//! # Conventions (docs/CONVENTIONS.md)
//! One dataset means the same thing in both formats, as pyuvdata's `write_ms` has it:
//! the Measurement Set holds the complex conjugate of the UVH5 visibilities and the
//! negated uvw, and MAIN carries pyuvdata's keyword `pyuvdata_flip_conj = True` saying
//! so. `WEIGHT_SPECTRUM` holds UVH5's `nsamples`; `WEIGHT` is its median over channels
//! and `SIGMA` = `WEIGHT`^−½, as pyuvdata writes them.
//!
//! # Reading ([`MsReader`], [`read_ms`])
//! [`MsReader`] reads the subtables and streams MAIN by row blocks: `DATA`,
//! `CORRECTED_DATA` or `MODEL_DATA`; `WEIGHT_SPECTRUM` or else `WEIGHT` over channels;
//! `FLAG` or'ed with `FLAG_ROW`; any fields, spectral windows and data descriptions
//! (a block is read for one data description); linear, circular and Stokes
//! correlations. The conjugation is undone as pyuvdata undoes it: by the
//! `pyuvdata_flip_conj` keyword where it is present, and otherwise (files of CASA,
//! WSClean, DP3) always.
//!
//! [`MsSource`] presents a Measurement Set to the file imager as UVH5-style rows: the
//! rows of every spectral window of one baseline-time merged, their channels concatenated.
//!
//! A missing column or subtable, a cell of the wrong shape, or a directory that is not
//! a table is an [`IoError`] naming it.

mod convert;
mod desc;
mod read;
mod source;
mod write;

pub use convert::{convert, ConvertReport};
pub use read::{read_ms, DataColumn, MsBlock, MsField, MsHeader, MsReader, MsSpectralWindow};
pub use source::MsSource;
pub use write::{write_ms, MsRows, MsWriter};

use std::path::Path;

use super::IoError;
use crate::io::uvh5::PolProduct;
use crate::vis::Pol;

/// pyuvdata's MAIN keyword: whether the data are the conjugate of pyuvdata's (and
/// fxgrid's UVH5) convention, with negated uvw.
const CONJUGATE_KEYWORD: &str = "pyuvdata_flip_conj";

/// MJD seconds (the Measurement Set's `TIME`) of a Julian Date.
fn jd_to_mjd_s(jd: f64) -> f64 {
    (jd - 2_400_000.5) * 86_400.0
}

/// Julian Date of MJD seconds.
fn mjd_s_to_jd(mjd_s: f64) -> f64 {
    mjd_s / 86_400.0 + 2_400_000.5
}

/// casacore's Stokes code (`CORR_TYPE`) of a linear product.
fn corr_type(p: Pol) -> i32 {
    match p {
        Pol::XX => 9,
        Pol::XY => 10,
        Pol::YX => 11,
        Pol::YY => 12,
    }
}

/// casacore's Stokes codes of the products UVH5 knows.
mod casa {
    use super::PolProduct;

    const TABLE: [(i32, PolProduct, Option<[i32; 2]>); 12] = [
        (1, PolProduct::I, None),
        (2, PolProduct::Q, None),
        (3, PolProduct::U, None),
        (4, PolProduct::V, None),
        (5, PolProduct::RR, Some([0, 0])),
        (6, PolProduct::RL, Some([0, 1])),
        (7, PolProduct::LR, Some([1, 0])),
        (8, PolProduct::LL, Some([1, 1])),
        (9, PolProduct::XX, Some([0, 0])),
        (10, PolProduct::XY, Some([0, 1])),
        (11, PolProduct::YX, Some([1, 0])),
        (12, PolProduct::YY, Some([1, 1])),
    ];

    /// The product of a casacore Stokes code.
    pub(super) fn product(code: i32) -> Option<PolProduct> {
        TABLE.iter().find(|e| e.0 == code).map(|e| e.1)
    }

    /// The receptor indices `CORR_PRODUCT` gives a correlation code.
    pub(super) fn receptors(code: i32) -> Option<[i32; 2]> {
        TABLE.iter().find(|e| e.0 == code).and_then(|e| e.2)
    }
}

/// A human-readable summary of a Measurement Set (its subtables and row count).
pub fn summarise(path: &Path) -> Result<String, IoError> {
    let rd = MsReader::open(path, DataColumn::Data)?;
    let h = rd.header();
    let mut out = format!(
        "{}\n  format: Measurement Set (casacore table), {} rows{}\n  telescope: {}\n  site: lat {:.5}°, lon {:.5}°, alt {:.1} m\n  antennas: {}\n",
        rd.path(),
        h.n_rows,
        if h.conjugated {
            ", conjugate of UVH5's convention"
        } else {
            ", UVH5's conjugation (pyuvdata_flip_conj = False)"
        },
        h.telescope_name,
        h.site.lat_rad.to_degrees(),
        h.site.lon_rad.to_degrees(),
        h.site.height_m,
        h.antenna_names.len()
    );
    for (i, s) in h.spectral_windows.iter().enumerate() {
        if let (Some(a), Some(b)) = (s.freqs_hz.first(), s.freqs_hz.last()) {
            out += &format!(
                "  spectral window {i}: {} channels, {:.6} – {:.6} MHz, width {:.3} kHz\n",
                s.freqs_hz.len(),
                a / 1e6,
                b / 1e6,
                s.widths_hz[0] / 1e3
            );
        }
    }
    for (i, p) in h.polarisations.iter().enumerate() {
        let names: Vec<&str> = p.iter().map(|q| q.name()).collect();
        out += &format!("  polarisation setup {i}: {}\n", names.join(" "));
    }
    for (i, f) in h.fields.iter().enumerate() {
        out += &format!(
            "  field {i} {:?}: RA {:.6}°, Dec {:.6}° (J2000)\n",
            f.name,
            f.phase_centre.ra_rad.to_degrees(),
            f.phase_centre.dec_rad.to_degrees()
        );
    }
    out += &format!("  data units: {}\n", h.vis_units);
    if let Some(l) = h.history.lines().next() {
        out += &format!("  history: {l}\n");
    }
    Ok(out)
}
