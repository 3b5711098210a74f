//! Frequency response of a filterbank channel and the metrics derived from it.
//!
//! The response of a channel to a tone `ν` channel widths from its centre is
//! `H(ν) = Σ_n h[n] exp(−2πi ν n / N)` (module docs of [`super`]); with Σ h = 1 it is 1 at
//! the centre. It is evaluated on a fine grid (the prototype zero-padded to at least 64
//! points per channel and Fourier transformed) and exactly where a metric needs one value.

use num_complex::Complex64;
use rustfft::FftPlanner;

/// Metrics of a prototype filter (all in dB are `20 log10 |H|`, widths in channels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResponseMetrics {
    /// Gain at the channel centre, `|H(0)|` (1 for unit gain).
    pub centre_gain: f64,
    /// Peak-to-peak variation of the response over the inner half channel, `|ν| <= 0.25` (dB).
    pub passband_ripple_db: f64,
    /// Loss at the channel edge, `−20 log10 |H(0.5)/H(0)|` (dB).
    pub scalloping_loss_db: f64,
    /// Full width at −3 dB (channels).
    pub width_3db: f64,
    /// Full width at −6 dB (channels).
    pub width_6db: f64,
    /// Worst (smallest) attenuation for `|ν| >= 1.5` channels (dB, positive).
    pub stopband_attenuation_db: f64,
    /// Response at the neighbouring channel's centre, `20 log10 |H(1)/H(0)|` (dB, negative).
    pub neighbour_leakage_db: f64,
}

/// `|H(ν)|` by direct summation.
pub fn response_at(coeffs: &[f64], n_chan: usize, nu: f64) -> f64 {
    let w = -std::f64::consts::TAU * nu / n_chan as f64;
    coeffs
        .iter()
        .enumerate()
        .map(|(n, &h)| Complex64::from_polar(h, w * n as f64))
        .sum::<Complex64>()
        .norm()
}

/// `|H|` on a grid: returns `(step in channels, values for ν = 0, step, 2·step, …)` covering
/// `0 <= ν < N` (negative ν by periodicity, `H(−ν) = H(N − ν)`).
pub fn response_grid(coeffs: &[f64], n_chan: usize) -> (f64, Vec<f64>) {
    let per_chan = 64usize;
    let len = (n_chan * per_chan).max(coeffs.len()).next_power_of_two();
    let mut buf: Vec<Complex64> = coeffs.iter().map(|&h| Complex64::new(h, 0.0)).collect();
    buf.resize(len, Complex64::default());
    FftPlanner::new().plan_fft_forward(len).process(&mut buf);
    (
        n_chan as f64 / len as f64,
        buf.iter().map(|c| c.norm()).collect(),
    )
}

/// Where `|H|` first falls to `level` (linear, relative to the centre) going outwards
/// from ν = 0, refined by bisection on the exact response.
fn crossing(coeffs: &[f64], n_chan: usize, step: f64, grid: &[f64], level: f64) -> f64 {
    let g0 = grid[0];
    let i = grid
        .iter()
        .position(|&v| v < level * g0)
        .unwrap_or(grid.len() - 1);
    let (mut lo, mut hi) = ((i.max(1) - 1) as f64 * step, i as f64 * step);
    let target = level * response_at(coeffs, n_chan, 0.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if response_at(coeffs, n_chan, mid) >= target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Compute the metrics of a prototype for `n_chan` channels.
pub fn metrics(coeffs: &[f64], n_chan: usize) -> ResponseMetrics {
    let db = |x: f64| 20.0 * x.log10();
    let (step, grid) = response_grid(coeffs, n_chan);
    let h0 = response_at(coeffs, n_chan, 0.0);
    let nu = |i: usize| {
        let v = i as f64 * step;
        if v > n_chan as f64 / 2.0 {
            v - n_chan as f64
        } else {
            v
        }
    };
    let (mut pmin, mut pmax, mut stop) = (f64::INFINITY, 0.0f64, 0.0f64);
    for (i, &g) in grid.iter().enumerate() {
        let v = nu(i).abs();
        if v <= 0.25 {
            pmin = pmin.min(g);
            pmax = pmax.max(g);
        }
        if v >= 1.5 {
            stop = stop.max(g);
        }
    }
    // A channel count below 3 has no stopband beyond ±1.5 channels.
    let stopband_attenuation_db = if n_chan >= 3 {
        -db(stop.max(1e-300) / h0)
    } else {
        f64::INFINITY
    };
    ResponseMetrics {
        centre_gain: h0,
        passband_ripple_db: db(pmax / pmin),
        scalloping_loss_db: -db(response_at(coeffs, n_chan, 0.5) / h0),
        width_3db: 2.0 * crossing(coeffs, n_chan, step, &grid, 10f64.powf(-3.0 / 20.0)),
        width_6db: 2.0 * crossing(coeffs, n_chan, step, &grid, 10f64.powf(-6.0 / 20.0)),
        stopband_attenuation_db,
        neighbour_leakage_db: db(response_at(coeffs, n_chan, 1.0) / h0),
    }
}
