//! Coordinate frames, array layouts, baselines, time and the uvw geometry.
//!
//! One `Copy` type per frame ([`Enu`], [`Ecef`], [`LatLonHeight`], [`RaDec`], [`Lmn`],
//! [`Uvw`]); [`ArrayLayout`] with synthetic SKA-like layouts; the baseline order of
//! docs/CONVENTIONS.md ([`baseline_index`], [`baseline_pair`]); time scales and Earth orientation
//! ([`EarthOrientation`]); apparent places and the uvw frame ([`ObserverFrame`],
//! [`UvwFrame`]); and [`Observation`] with its per-time geometry.

pub mod astrometry;
pub mod baselines;
pub mod coords;
mod error;
pub mod layout;
pub mod limits;
pub mod observation;
pub mod time;

pub use astrometry::{zenith_icrs, Observed, ObserverFrame, UvwFrame};
pub use baselines::{
    all_baselines, baseline_index, baseline_pair, correlator_input, input_antenna_pol, n_baselines,
};
pub use coords::{Ecef, Enu, LatLonHeight, Lmn, RaDec, Uvw, SPEED_OF_LIGHT_M_S};
pub use error::TelescopeError;
pub use layout::{ska_low_like, ska_mid_like, ArrayLayout, SKA_LOW_SITE, SKA_MID_SITE};
pub use observation::{
    antenna_uvw, default_day_jd_utc, time_geometry, time_geometry_range, transit_centred_start,
    Observation, TimeGeometry,
};
pub use time::{eop_at, EarthOrientation, Eop, EopSource, SECONDS_PER_DAY};
