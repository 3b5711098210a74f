//! Helpers shared by the integration tests.

use fxgrid::telescope::{default_day_jd_utc, ska_low_like, ArrayLayout, Observation, RaDec};

/// Relative L2 error ‖a − b‖₂ / ‖b‖₂ of two complex sequences.
pub fn rel_l2(a: impl Iterator<Item = (f64, f64)>, b: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for ((ar, ai), (br, bi)) in a.zip(b) {
        num += (ar - br).powi(2) + (ai - bi).powi(2);
        den += br * br + bi * bi;
    }
    (num / den).sqrt()
}

/// A small SKA-Low-like array and a short observation at 150 MHz.
pub fn small_setup(n_ant: usize, n_times: usize, n_chan: usize) -> (ArrayLayout, Observation) {
    let layout = ska_low_like(n_ant, 11).unwrap();
    let obs = Observation {
        phase_centre: RaDec::from_degrees(60.0, -30.0),
        start_jd_utc: default_day_jd_utc() + 0.64,
        n_times,
        int_time_s: 30.0,
        freq_start_hz: 150e6,
        chan_width_hz: 250e3,
        n_chan,
    };
    (layout, obs)
}
