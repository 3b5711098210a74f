//! One error type for callers who want one: every module's error converts into
//! [`Error`] with `?`, keeping its message and its source chain.

use thiserror::Error;

/// Any error of the library.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Frames, layouts, time and astrometry.
    #[error(transparent)]
    Telescope(#[from] crate::telescope::TelescopeError),
    /// Sky models, prediction and the voltage simulator.
    #[error(transparent)]
    Sky(#[from] crate::sky::SkyError),
    /// The filterbank.
    #[error(transparent)]
    Channel(#[from] crate::channelise::ChannelError),
    /// The correlator.
    #[error(transparent)]
    Correlate(#[from] crate::correlate::CorrelateError),
    /// Gridding, weighting and imaging in memory.
    #[error(transparent)]
    Grid(#[from] crate::grid::GridError),
    /// Deconvolution.
    #[error(transparent)]
    Deconvolve(#[from] crate::deconvolve::DeconvolveError),
    /// Visibility shapes.
    #[error(transparent)]
    Vis(#[from] crate::VisShapeError),
    /// Files.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// The FX chain.
    #[error(transparent)]
    Fx(#[from] crate::fx::FxError),
    /// Imaging files.
    #[cfg(feature = "hdf5")]
    #[error(transparent)]
    Imaging(#[from] crate::imaging::FileImagingError),
    /// SIMD levels.
    #[error(transparent)]
    Simd(#[from] crate::simd::SimdError),
}
