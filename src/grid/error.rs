//! Errors of the gridder and imager.

use thiserror::Error;

/// What can go wrong gridding, degridding or imaging.
#[derive(Debug, Error)]
pub enum GridError {
    /// A parameter that cannot be used.
    #[error("invalid imaging parameter {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// An accuracy the chosen precision or the kernels cannot deliver.
    #[error(
        "epsilon {epsilon:e} cannot be reached in {precision}: the smallest supported is {limit:e}"
    )]
    Unreachable {
        /// Requested accuracy.
        epsilon: f64,
        /// "f32" or "f64".
        precision: &'static str,
        /// Smallest accuracy supported in this precision.
        limit: f64,
    },
    /// An input array of the wrong shape.
    #[error("{what}: expected shape {expected}, found {found}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// Nothing to image: every sample flagged, zero weight or an empty selection.
    #[error("nothing to image: {0}")]
    Empty(String),
    /// Non-finite input where it cannot be flagged.
    #[error("{what} contains a non-finite value at {at}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Index of the first bad value.
        at: String,
    },
    /// The SIMD level asked for cannot be used on this CPU.
    #[error(transparent)]
    Simd(#[from] crate::simd::SimdError),
}
