//! Errors of the sky module.

use thiserror::Error;

use crate::telescope::TelescopeError;
use crate::vis::VisShapeError;

/// What can go wrong with sky models and prediction.
#[derive(Debug, Error)]
pub enum SkyError {
    /// A sky-model file line that could not be parsed.
    #[error("sky model {origin}, line {line}: {reason}")]
    Parse {
        /// File name or other origin.
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A component with impossible parameters.
    #[error("sky component {index}: {reason}")]
    InvalidComponent {
        /// 0-based component index.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// A prediction parameter that cannot be used.
    #[error("invalid prediction parameter {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Geometry or time problem.
    #[error(transparent)]
    Telescope(#[from] TelescopeError),
    /// Internal shape inconsistency.
    #[error(transparent)]
    Shape(#[from] VisShapeError),
    /// I/O on a sky-model file.
    #[error("{path}: {source}")]
    Io {
        /// File name.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
