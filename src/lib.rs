//! # fxgrid
//!
//! SKA-style radio-interferometry signal processing: antenna voltages → channelised spectra
//! (F: polyphase filterbank) → visibilities (X: correlator) → images (gridding + FFT), and
//! back. The modules, by layer (docs/ARCHITECTURE.md):
//!
//! - [`telescope`]: coordinate frames, array layouts (synthetic SKA-Low-like and
//!   SKA-Mid-like), the baseline order, time scales, sidereal time, apparent places and uvw;
//!   [`Visibilities`]: data on a `[time, baseline, channel, pol]` grid with metadata;
//!   [`SimdLevel`]: the instruction sets the kernels may use;
//! - [`channelise`]: polyphase filterbanks (critically sampled and oversampled, complex and
//!   real input, int8/int16/float32 samples, streaming) with their f64 reference;
//!   [`correlate`]: the X-engine (float and integer kernels, streaming integration) with
//!   its f64 reference;
//! - [`grid`]: gridding and degridding to a requested accuracy ([`grid::GridPlan`], made
//!   once and run many times with a caller-owned [`grid::GridWorkspace`]), weighting, the
//!   direct-Fourier reference; [`image`]: images and in-memory imaging; [`sky`]: sky
//!   models, the direct-DFT predictor (the oracle of later stages) with its f64
//!   [`sky::reference`] twin, and the [`sky::voltages`] simulator;
//! - [`io`]: FITS images, and with the default `hdf5` feature UVH5 readable by pyuvdata
//!   and fxgrid's voltage and spectra files; [`plot`]: PNG previews and line plots;
//! - [`fx`]: the FX chain in memory and over files; `imaging` (feature `hdf5`): imaging
//!   UVH5 files of any size as they stream.
//!
//! Long jobs report through [`progress::Progress`]; [`Error`] takes any module's error.
//! Every sign and ordering convention is stated in [`conventions`] and backed by a test.
//!
//! ```
//! use fxgrid::sky::{predict, Component, PredictConfig, SkyModel};
//! use fxgrid::telescope::{ska_low_like, Observation, RaDec};
//!
//! let layout = ska_low_like(8, 1).unwrap();
//! let centre = RaDec::from_degrees(60.0, -30.0);
//! let obs = Observation {
//!     phase_centre: centre,
//!     start_jd_utc: 2_460_827.5,
//!     n_times: 2,
//!     int_time_s: 10.0,
//!     freq_start_hz: 150e6,
//!     chan_width_hz: 1e5,
//!     n_chan: 4,
//! };
//! let sky = SkyModel::new(vec![Component::point(centre, 1.0)]).unwrap();
//! let vis = predict(&layout, &obs, &sky, &PredictConfig::default()).unwrap();
//! // A source at the phase centre gives V = S on every baseline.
//! assert!(vis.data().iter().step_by(4).all(|v| (v.re - 1.0).abs() < 1e-6 && v.im.abs() < 1e-6));
//! ```

#![warn(missing_docs)]

pub mod channelise;
pub mod conventions;
pub mod correlate;
pub mod deconvolve;
mod error;
pub mod fx;
pub mod grid;
pub mod image;
#[cfg(feature = "hdf5")]
pub mod imaging;
pub mod io;
pub mod plot;
mod precision;
pub mod progress;
mod simd;
pub mod sky;
pub mod telescope;
mod util;
mod vis;

pub use error::Error;
pub use precision::Precision;
pub use simd::{SimdError, SimdLevel};
pub use vis::{Pol, VisMeta, VisShapeError, VisUnits, Visibilities};

pub use ndarray;
pub use num_complex;

/// The crate version, recorded in every file fxgrid writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
