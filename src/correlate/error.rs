//! Errors of the correlator.

use thiserror::Error;

/// What can go wrong correlating.
#[derive(Debug, Error)]
pub enum CorrelateError {
    /// A parameter that cannot be used.
    #[error("invalid correlator parameter {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An input of the wrong length.
    #[error("{what}: expected {expected}, found {found}")]
    Length {
        /// What was measured.
        what: &'static str,
        /// What was expected.
        expected: String,
        /// What was found.
        found: usize,
    },
    /// The SIMD level asked for cannot be used on this CPU.
    #[error(transparent)]
    Simd(#[from] crate::simd::SimdError),
}
