//! Errors of the channeliser.

use thiserror::Error;

/// What can go wrong configuring or running a polyphase filterbank.
#[derive(Debug, Error)]
pub enum ChannelError {
    /// A configuration value that cannot be used.
    #[error("invalid filterbank parameter {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A buffer of the wrong length.
    #[error("{what}: expected length {expected}, found {found}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        found: usize,
    },
    /// The SIMD level asked for cannot be used on this CPU.
    #[error(transparent)]
    Simd(#[from] crate::simd::SimdError),
}
