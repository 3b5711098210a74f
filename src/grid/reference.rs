//! Direct Fourier imager and degridder in f64: the oracles of [`super::vis2dirty`] and
//! [`super::dirty2vis`], with the same conventions and no approximation. Cost is
//! pixels × visibilities; use them on small problems.

use std::f64::consts::PI;

use ndarray::{Array2, ArrayView2};
use num_complex::Complex64;
use rayon::prelude::*;

use super::{n_minus_1, GridConfig};
use crate::telescope::SPEED_OF_LIGHT_M_S;

/// `(l, m, n − 1)` of pixel `(r, c)` (n − 1 is 0 without w-stacking).
pub fn pixel_lmn(cfg: &GridConfig, r: usize, c: usize) -> (f64, f64, f64) {
    let l = -((c as f64) - (cfg.npix_x / 2) as f64) * cfg.cell_x_rad;
    let m = ((r as f64) - (cfg.npix_y / 2) as f64) * cfg.cell_y_rad;
    let nm1 = if cfg.wstacking { n_minus_1(l, m) } else { 0.0 };
    (l, m, nm1)
}

fn samples(
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Vec<(usize, usize, [f64; 3], f64)> {
    let mut out = Vec::new();
    for row in 0..uvw_m.nrows() {
        for (chan, f) in freq_hz.iter().enumerate() {
            if flags.is_some_and(|fl| fl[[row, chan]]) {
                continue;
            }
            let wt = weight.map_or(1.0, |w| w[[row, chan]] as f64);
            if wt == 0.0 {
                continue;
            }
            let s = f / SPEED_OF_LIGHT_M_S;
            let uvw = [
                uvw_m[[row, 0]] * s,
                uvw_m[[row, 1]] * s,
                uvw_m[[row, 2]] * s,
            ];
            out.push((row, chan, uvw, wt));
        }
    }
    out
}

/// `I(r, c) = Re Σ w V exp(−2πi (u l + v m + w (n − 1)))`, unnormalised.
pub fn vis2dirty(
    cfg: &GridConfig,
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    vis: ArrayView2<'_, Complex64>,
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Array2<f64> {
    let s = samples(uvw_m, freq_hz, weight, flags);
    let mut img = Array2::zeros((cfg.npix_y, cfg.npix_x));
    img.axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(r, mut row)| {
            for (c, px) in row.iter_mut().enumerate() {
                let (l, m, nm1) = pixel_lmn(cfg, r, c);
                *px = s
                    .iter()
                    .map(|&(row, chan, [u, v, w], wt)| {
                        let ph = -2.0 * PI * (u * l + v * m + w * nm1);
                        wt * (vis[[row, chan]] * Complex64::from_polar(1.0, ph)).re
                    })
                    .sum();
            }
        });
    img
}

/// `V = w Σ I exp(+2πi (u l + v m + w (n − 1)))`; flagged samples are zero.
pub fn dirty2vis(
    cfg: &GridConfig,
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    dirty: ArrayView2<'_, f64>,
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Array2<Complex64> {
    let s = samples(uvw_m, freq_hz, weight, flags);
    let pixels: Vec<(f64, f64, f64, f64)> = (0..cfg.npix_y)
        .flat_map(|r| (0..cfg.npix_x).map(move |c| (r, c)))
        .map(|(r, c)| {
            let (l, m, nm1) = pixel_lmn(cfg, r, c);
            (l, m, nm1, dirty[[r, c]])
        })
        .collect();
    let values: Vec<Complex64> = s
        .par_iter()
        .map(|&(_, _, [u, v, w], wt)| {
            let sum: Complex64 = pixels
                .iter()
                .map(|&(l, m, nm1, i)| {
                    Complex64::from_polar(i, 2.0 * PI * (u * l + v * m + w * nm1))
                })
                .sum();
            sum * wt
        })
        .collect();
    let mut out = Array2::zeros((uvw_m.nrows(), freq_hz.len()));
    for (&(row, chan, _, _), v) in s.iter().zip(values) {
        out[[row, chan]] = v;
    }
    out
}
