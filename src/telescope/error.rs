//! Errors of the telescope module.

use thiserror::Error;

/// What can go wrong with layouts, times and geometry.
#[derive(Debug, Error)]
pub enum TelescopeError {
    /// A time before 1972 (no leap-second table), after 2100, or not finite.
    #[error("time JD {jd_utc} (UTC) is outside the supported range (1972 to 2100, JD 2441317.5 to 2488069.5)")]
    TimeOutOfRange {
        /// The offending Julian Date.
        jd_utc: f64,
    },
    /// An antenna layout file could not be read or parsed.
    #[error("layout {path}, line {line}: {reason}")]
    LayoutParse {
        /// File name.
        path: String,
        /// 1-based line number (0 for the whole file).
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A layout that cannot be used.
    #[error("invalid layout: {reason}")]
    InvalidLayout {
        /// What was wrong.
        reason: String,
    },
    /// A sky direction that is not a direction.
    #[error("invalid sky position RA {ra_deg}°, Dec {dec_deg}°: {reason}")]
    InvalidDirection {
        /// Right ascension (deg).
        ra_deg: f64,
        /// Declination (deg).
        dec_deg: f64,
        /// What was wrong.
        reason: String,
    },
    /// Observation parameters that cannot be used.
    #[error("invalid observation: {field} = {value}: expected {expected}")]
    InvalidObservation {
        /// The parameter.
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// I/O error on a layout file.
    #[error("{path}: {source}")]
    Io {
        /// File name.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
