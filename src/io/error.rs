//! Errors of the I/O module.

use thiserror::Error;

/// What can go wrong reading or writing files.
#[derive(Debug, Error)]
pub enum IoError {
    /// The HDF5 library reported an error.
    #[cfg(feature = "hdf5")]
    #[error("{path}: HDF5 error while {action}: {source}")]
    Hdf5 {
        /// File name.
        path: String,
        /// What fxgrid was doing.
        action: String,
        /// The library's error.
        source: hdf5::Error,
    },
    /// A file that is not in the expected format.
    #[error("{path}: {reason}")]
    Format {
        /// File name.
        path: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// File content that cannot be used, with the error that says why.
    #[error("{path}: {what}")]
    Content {
        /// File name.
        path: String,
        /// What could not be done with the content.
        what: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A dataset with the wrong shape or type.
    #[error("{path}: dataset {dataset}: expected {expected}, found {found}")]
    Dataset {
        /// File name.
        path: String,
        /// Dataset path inside the file.
        dataset: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// Operating-system I/O error.
    #[error("{path}: {source}")]
    Os {
        /// File name.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
