//! Bounds on physical values, checked where they enter (command line, sky and layout files,
//! file headers): beyond them a value is a mistake, not an observation, and arithmetic
//! downstream would overflow to Inf or NaN that must never reach an output file.

/// Largest distance of an antenna from the array centre in any axis (m): more than the
/// Earth's diameter.
pub const MAX_ANTENNA_OFFSET_M: f64 = 1.3e7;
/// Site heights (m): from below the deepest ocean floor to far above any aircraft.
pub const SITE_HEIGHT_RANGE_M: (f64, f64) = (-1.2e4, 1.0e5);
/// Largest baseline coordinate (m): beyond space VLBI's (3.5e8 m).
pub const MAX_UVW_M: f64 = 1.0e9;
/// Highest frequency (Hz): 10 THz, well above any radio telescope.
pub const MAX_FREQ_HZ: f64 = 1.0e13;
/// Largest flux density or noise (Jy): the quiet Sun is ~1e6 Jy at metre wavelengths.
pub const MAX_FLUX_JY: f64 = 1.0e10;
/// Longest integration (s): about 11 days.
pub const MAX_INT_TIME_S: f64 = 1.0e6;
/// Largest |RA| (rad) taken as a direction: two turns either way.
pub const MAX_RA_RAD: f64 = 4.0 * std::f64::consts::PI;

/// Whether `x` is finite and within `[lo, hi]`.
pub fn within(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && (lo..=hi).contains(&x)
}
