//! fxgrid's integration tests (one crate, one module per topic).

mod astrometry;
mod channelise;
mod cli;
mod common;
mod correlate;
mod deconvolve;
mod fx;
mod grid;
#[cfg(feature = "hdf5")]
mod hostile;
mod imaging;
#[cfg(feature = "ms")]
mod ms;
mod predict;
mod simd;
#[cfg(feature = "hdf5")]
mod uvh5;
#[cfg(feature = "hdf5")]
mod uvh5_reader;
#[cfg(feature = "hdf5")]
mod voltage_files;
mod voltages;
