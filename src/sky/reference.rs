//! The slow, obviously correct predictor: the test oracle for [`super::predict()`].
//!
//! For each integration, baseline, channel and component it evaluates the geometric delay
//! `τ = b · (ŝ − ŝ0) / c` directly from the ECEF baseline `b = r_q − r_p` and the observed
//! unit vectors of the component `ŝ` and of the phase centre `ŝ0`, and sums
//! `S(f) · G · exp(+2πi f τ)` in f64. It shares no arithmetic with the fast path beyond
//! the astrometry (apparent place), which is tested against astropy on its own.

use ndarray::Array4;
use num_complex::Complex64;

use super::predict::{gauss_coeffs, gauss_exponent};
use super::{SkyError, SkyModel};
use crate::telescope::{
    all_baselines, time_geometry, ArrayLayout, Observation, SPEED_OF_LIGHT_M_S,
};

/// Stokes-I visibilities `[time, baseline (all pairs with autos, DESIGN order), channel]`
/// in f64 (XX = YY = this, XY = YX = 0 for an unpolarised sky).
pub fn predict_reference(
    layout: &ArrayLayout,
    obs: &Observation,
    sky: &SkyModel,
) -> Result<ndarray::Array3<Complex64>, SkyError> {
    let geom = time_geometry(layout, obs)?;
    let freqs = obs.freqs_hz();
    let bls = all_baselines(layout.n_ant());
    let pos = layout.ecef_offsets();
    let mut out = ndarray::Array3::<Complex64>::zeros((geom.len(), bls.len(), freqs.len()));
    for (t, g) in geom.iter().enumerate() {
        let s0 = g.frame.w_hat;
        let dirs: Vec<[f64; 3]> = sky
            .components
            .iter()
            .map(|c| g.observer.observed(c.radec).to_ecef_unit(layout.site))
            .collect();
        for (b, &(p, q)) in bls.iter().enumerate() {
            let bv = pos[q] - pos[p];
            let uvw = g.frame.project(bv);
            let bv = bv.to_array();
            for (k, &f) in freqs.iter().enumerate() {
                let mut v = Complex64::new(0.0, 0.0);
                for (c, s) in sky.components.iter().zip(&dirs) {
                    let delay_m: f64 = (0..3).map(|i| bv[i] * (s[i] - s0[i])).sum();
                    let phase = std::f64::consts::TAU * f * delay_m / SPEED_OF_LIGHT_M_S;
                    let taper = match gauss_coeffs(c) {
                        None => 1.0,
                        Some(g) => (-gauss_exponent(&g, uvw.u_m, uvw.v_m) * f * f).exp(),
                    };
                    v += Complex64::from_polar(c.flux_at(f) * taper, phase);
                }
                out[[t, b, k]] = v;
            }
        }
    }
    Ok(out)
}

/// Expand Stokes-I reference visibilities to the four linear products `[t, b, f, pol]`.
pub fn to_linear_pols(stokes_i: &ndarray::Array3<Complex64>) -> Array4<Complex64> {
    let (nt, nb, nf) = stokes_i.dim();
    Array4::from_shape_fn((nt, nb, nf, 4), |(t, b, k, p)| {
        if p == 0 || p == 3 {
            stokes_i[[t, b, k]]
        } else {
            Complex64::new(0.0, 0.0)
        }
    })
}
