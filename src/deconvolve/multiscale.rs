//! Multi-scale CLEAN (after Cornwell 2008 and Offringa & Smirnov 2017): components are
//! not only points but Gaussians of several sizes. Each step convolves the residual with
//! every scale's kernel, picks the scale whose (biased) peak is brightest, runs a
//! Högbom sub-minor loop on that scale with the PSF convolved twice with the kernel, and
//! subtracts the components found, convolved once with the kernel and the PSF, from the
//! residual. Only the region the components touched is convolved again.
//!
//! Scales are sizes α in pixels: 0 is a point; a scale α > 0 is a circular Gaussian of
//! FWHM α/2 (most of its flux within a diameter α), normalised to unit sum, so a
//! component's value is its flux. The automatic scales are 0, then twice the beam's FWHM,
//! doubling, four of them at most and none beyond a quarter of the image. A peak found at scale index `i > 0` is weighted
//! by `bias^(log2(α_i / α_1))` (the first non-zero scale unweighted): larger scales must
//! be brighter to be chosen.

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::hogbom::{peak_abs, round_components, subtract_kernel, MinorOutcome};
use super::noise::mad_sigma;
use super::{DeconvolveError, Psf};

/// Multi-scale settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiscaleConfig {
    /// Scale sizes in pixels, ascending, starting with 0 (`None`: automatic, module docs).
    pub scales: Option<Vec<f64>>,
    /// Scale bias per doubling of the scale, in (0, 1] (default 0.6).
    pub bias: f64,
    /// Loop gain of the multi-scale sub-minor loop, in (0, 1] (default 0.2).
    pub gain: f64,
}

impl Default for MultiscaleConfig {
    fn default() -> Self {
        MultiscaleConfig {
            scales: None,
            bias: 0.6,
            gain: 0.2,
        }
    }
}

impl MultiscaleConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), DeconvolveError> {
        let bad =
            |field: &'static str, value: String, expected: &str| DeconvolveError::InvalidConfig {
                field,
                value,
                expected: expected.into(),
            };
        if !(self.bias > 0.0 && self.bias <= 1.0) {
            return Err(bad(
                "multiscale bias",
                self.bias.to_string(),
                "0 < bias ≤ 1",
            ));
        }
        if !(self.gain > 0.0 && self.gain <= 1.0) {
            return Err(bad(
                "multiscale gain",
                self.gain.to_string(),
                "0 < gain ≤ 1",
            ));
        }
        if let Some(sc) = &self.scales {
            let ok = !sc.is_empty()
                && sc.iter().all(|v| v.is_finite() && *v >= 0.0)
                && sc.windows(2).all(|w| w[0] < w[1]);
            if !ok {
                return Err(bad(
                    "scales",
                    format!("{sc:?}"),
                    "sizes in pixels ≥ 0, finite, strictly increasing",
                ));
            }
        }
        Ok(())
    }

    /// The scales for a beam of `beam_fwhm_px` pixels on an image of `npix` (smaller side).
    pub fn scales_for(&self, beam_fwhm_px: f64, npix: usize) -> Vec<f64> {
        if let Some(s) = &self.scales {
            return s.clone();
        }
        let mut out = vec![0.0];
        let mut a = (2.0 * beam_fwhm_px).max(2.0).round();
        while a <= npix as f64 / 4.0 && out.len() < 5 {
            out.push(a);
            a *= 2.0;
        }
        out
    }
}

/// One scale: its kernel (1-D, separable), the kernel ⊛ PSF patch for subtraction, and
/// the kernel ⊛ kernel ⊛ PSF patch for the sub-minor loop.
struct Scale {
    size: f64,
    kernel: Vec<f32>,
    /// The 2-D kernel (outer product), for painting components into the model.
    kernel2: Array2<f32>,
    /// PSF ⊛ kernel.
    once: Array2<f32>,
    /// PSF ⊛ kernel ⊛ kernel.
    twice: Array2<f32>,
    bias: f32,
    /// The scale-convolved residual.
    residual: Array2<f32>,
}

/// A Gaussian of FWHM `size / 2` pixels, unit sum, reaching 4σ (`[1]` for size 0).
fn gaussian(size: f64) -> Vec<f32> {
    if size <= 0.0 {
        return vec![1.0];
    }
    let sigma = size / 2.0 / (8.0 * std::f64::consts::LN_2).sqrt();
    let h = (4.0 * sigma).ceil().max(1.0) as i64;
    let k: Vec<f64> = (-h..=h)
        .map(|x| (-0.5 * (x as f64 / sigma).powi(2)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter().map(|v| (v / sum) as f32).collect()
}

/// `src ⊛ (k ⊗ k)` on the rows `rows` and columns `cols` of the result (zero outside `src`),
/// written into `dst` there.
fn convolve_region(
    src: ArrayView2<'_, f32>,
    k: &[f32],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    mut dst: ArrayViewMut2<'_, f32>,
) {
    let (ny, nx) = src.dim();
    let h = k.len() / 2;
    if h == 0 {
        dst.slice_mut(s![rows.clone(), cols.clone()])
            .assign(&src.slice(s![rows, cols]));
        return;
    }
    let r0 = rows.start.saturating_sub(h);
    let r1 = (rows.end + h).min(ny);
    // Along rows: tmp[y - r0][x - cols.start].
    let w = cols.len();
    let mut tmp = Array2::<f32>::zeros((r1 - r0, w));
    tmp.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut out)| {
            let row = src.row(r0 + i);
            for (j, o) in out.iter_mut().enumerate() {
                let x = cols.start + j;
                let lo = x.saturating_sub(h);
                let hi = (x + h + 1).min(nx);
                let mut acc = 0.0f32;
                for xx in lo..hi {
                    acc += k[xx + h - x] * row[xx];
                }
                *o = acc;
            }
        });
    // Along columns.
    let mut region = dst.slice_mut(s![rows.clone(), cols]);
    region
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i, mut out)| {
            let y = rows.start + i;
            out.fill(0.0);
            let lo = y.saturating_sub(h);
            let hi = (y + h + 1).min(ny);
            let out = out.as_slice_mut().expect("standard layout");
            for yy in lo..hi {
                let kv = k[yy + h - y];
                let t = tmp.row(yy - r0);
                let t = t.as_slice().expect("standard layout");
                for (o, v) in out.iter_mut().zip(t) {
                    *o += kv * v;
                }
            }
        });
}

/// `a ⊛ (k ⊗ k)` over the whole support (the result is larger by the kernel).
fn convolve_full(a: ArrayView2<'_, f32>, k: &[f32]) -> Array2<f32> {
    let h = k.len() / 2;
    let (ny, nx) = a.dim();
    let mut padded = Array2::zeros((ny + 2 * h, nx + 2 * h));
    padded.slice_mut(s![h..h + ny, h..h + nx]).assign(&a);
    let mut out = Array2::zeros(padded.dim());
    let (py, px) = padded.dim();
    convolve_region(padded.view(), k, 0..py, 0..px, out.view_mut());
    out
}

/// Value of a centred odd square kernel at offset `(dy, dx)`, 0 outside.
#[inline]
fn at(k: &Array2<f32>, dy: i64, dx: i64) -> f32 {
    let h = (k.nrows() / 2) as i64;
    if dy.abs() > h || dx.abs() > h {
        0.0
    } else {
        k[[(dy + h) as usize, (dx + h) as usize]]
    }
}

/// The multi-scale minor cycle: like [`super::minor_cycle`], with components at the
/// scales of `ms` (sizes in pixels from [`MultiscaleConfig::scales_for`]). Stops when every
/// scale's peak is at or below `stop` scaled by that scale's noise relative to the point
/// scale's (the residual's noise falls with smoothing), or `max_iterations` are done.
#[allow(clippy::too_many_arguments)]
pub fn multiscale_minor_cycle(
    mut residual: ArrayViewMut2<'_, f32>,
    mut model: ArrayViewMut2<'_, f32>,
    psf: &Psf,
    scales: &[f64],
    ms: &MultiscaleConfig,
    stop: f32,
    max_iterations: usize,
    mask: Option<ArrayView2<'_, bool>>,
) -> MinorOutcome {
    let (ny, nx) = residual.dim();
    let first = scales.iter().copied().find(|&a| a > 0.0).unwrap_or(1.0);
    let patch = psf.patch().to_owned();
    let mut sc: Vec<Scale> = scales
        .iter()
        .map(|&size| {
            let kernel = gaussian(size);
            let once = convolve_full(patch.view(), &kernel);
            let twice = convolve_full(once.view(), &kernel);
            let kernel2 =
                Array2::from_shape_fn((kernel.len(), kernel.len()), |(y, x)| kernel[y] * kernel[x]);
            let bias = if size <= 0.0 {
                1.0
            } else {
                ms.bias.powf((size / first).log2()) as f32
            };
            let mut r = Array2::zeros((ny, nx));
            convolve_region(residual.view(), &kernel, 0..ny, 0..nx, r.view_mut());
            Scale {
                size,
                kernel,
                kernel2,
                once,
                twice,
                bias,
                residual: r,
            }
        })
        .collect();
    // Each scale stops at `stop` in units of its own noise: smoothing lowers the noise,
    // so faint extended emission is found at the larger scales.
    let sigma0 = mad_sigma(residual.view(), mask)
        .unwrap_or(0.0)
        .max(f32::MIN_POSITIVE);
    let stops: Vec<f32> = sc
        .iter()
        .map(|t| {
            let ratio =
                mad_sigma(t.residual.view(), mask).map_or(1.0, |s| (s / sigma0).clamp(1e-3, 1.0));
            stop * if t.size <= 0.0 { 1.0 } else { ratio }
        })
        .collect();
    let mut out = MinorOutcome::default();
    let gain = ms.gain as f32;
    loop {
        let (_, _, p0) = peak_abs(residual.view(), mask);
        out.peak = p0.abs();
        if out.iterations >= max_iterations {
            return out;
        }
        // The scale with the brightest biased peak among those above their stop.
        let peaks: Vec<f32> = sc
            .iter()
            .map(|t| peak_abs(t.residual.view(), mask).2.abs())
            .collect();
        let Some(best) = (0..sc.len())
            .filter(|&i| peaks[i] > stops[i])
            .max_by(|&a, &b| (sc[a].bias * peaks[a]).total_cmp(&(sc[b].bias * peaks[b])))
        else {
            return out;
        };
        let s = &sc[best];
        let norm = s.twice[[s.twice.nrows() / 2, s.twice.ncols() / 2]];
        let peak_s = peaks[best];
        // Scale-0 minor cycles use the PSF's sidelobe level; larger scales half their peak.
        let frac = if s.size <= 0.0 {
            psf.sidelobe().clamp(0.05, 0.9)
        } else {
            0.5
        };
        let level = (frac * peak_s).max(stops[best]);
        // Active pixels of the scale's residual.
        let mut active: Vec<(u32, u32, f32)> = Vec::new();
        for ((y, x), &v) in s.residual.indexed_iter() {
            if v.abs() > level && mask.is_none_or(|m| m[[y, x]]) {
                active.push((y as u32, x as u32, v));
            }
        }
        if active.len() > super::hogbom::MAX_ACTIVE {
            active.sort_unstable_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
            active.truncate(super::hogbom::MAX_ACTIVE);
            active.sort_unstable_by_key(|a| (a.0, a.1));
        }
        let mut delta = vec![0.0f32; active.len()];
        let h = (s.twice.nrows() / 2) as i64;
        let mut n = 0;
        while out.iterations + n < max_iterations {
            let Some((j, vj)) = active
                .iter()
                .enumerate()
                .max_by(|a, b| a.1 .2.abs().total_cmp(&b.1 .2.abs()))
                .map(|(j, a)| (j, a.2))
            else {
                break;
            };
            if vj.abs() <= level {
                break;
            }
            let amount = gain * vj / norm;
            delta[j] += amount;
            n += 1;
            let (yj, xj) = (active[j].0 as i64, active[j].1 as i64);
            let lo = active.partition_point(|p| (p.0 as i64) < yj - h);
            let hi = active.partition_point(|p| (p.0 as i64) <= yj + h);
            for a in &mut active[lo..hi] {
                a.2 -= amount * at(&s.twice, a.0 as i64 - yj, a.1 as i64 - xj);
            }
        }
        out.iterations += n;
        out.rounds += 1;
        let comps = round_components(active.iter().map(|a| (a.0, a.1)), &delta);
        if comps.is_empty() {
            return out;
        }
        out.flux_jy += comps.iter().map(|c| c.2 as f64).sum::<f64>();
        out.added
            .extend(comps.iter().map(|&(y, x, d)| (s.size, y, x, d)));
        subtract_kernel(model.view_mut(), &comps, s.kernel2.view(), -1.0);
        subtract_kernel(residual.view_mut(), &comps, s.once.view(), 1.0);
        // Convolve again only where the residual changed.
        let reach = s.once.nrows() / 2;
        let y0 = comps
            .iter()
            .map(|c| c.0)
            .min()
            .unwrap_or(0)
            .saturating_sub(reach);
        let y1 = (comps.iter().map(|c| c.0).max().unwrap_or(0) + reach + 1).min(ny);
        let x0 = comps
            .iter()
            .map(|c| c.1)
            .min()
            .unwrap_or(0)
            .saturating_sub(reach);
        let x1 = (comps.iter().map(|c| c.1).max().unwrap_or(0) + reach + 1).min(nx);
        for t in sc.iter_mut() {
            let h = t.kernel.len() / 2;
            let rows = y0.saturating_sub(h)..(y1 + h).min(ny);
            let cols = x0.saturating_sub(h)..(x1 + h).min(nx);
            convolve_region(
                residual.view(),
                &t.kernel,
                rows,
                cols,
                t.residual.view_mut(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_have_unit_sum_and_convolution_is_exact_in_regions() {
        for size in [0.0, 4.0, 10.0, 33.0] {
            let k = gaussian(size);
            assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(k.len() % 2, 1);
        }
        let img = Array2::from_shape_fn((40, 50), |(y, x)| ((y * 7 + x * 3) % 11) as f32 - 5.0);
        let k = gaussian(6.0);
        let mut full = Array2::zeros((40, 50));
        convolve_region(img.view(), &k, 0..40, 0..50, full.view_mut());
        let mut part = Array2::zeros((40, 50));
        convolve_region(img.view(), &k, 10..25, 5..30, part.view_mut());
        assert_eq!(full.slice(s![10..25, 5..30]), part.slice(s![10..25, 5..30]));
        // Sums are kept away from the edges.
        let mut one = Array2::zeros((41, 41));
        one[[20, 20]] = 1.0f32;
        let c = convolve_full(one.view(), &k);
        assert!((c.sum() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn automatic_scales_double_from_twice_the_beam() {
        let m = MultiscaleConfig::default();
        assert_eq!(m.scales_for(5.3, 1024), vec![0.0, 11.0, 22.0, 44.0, 88.0]);
        assert_eq!(m.scales_for(5.3, 64), vec![0.0, 11.0]);
        let bad = MultiscaleConfig {
            scales: Some(vec![0.0, 8.0, 4.0]),
            ..m.clone()
        };
        assert!(bad.validate().is_err());
        let neg = MultiscaleConfig {
            scales: Some(vec![-1.0, 4.0]),
            ..m
        };
        assert!(neg.validate().is_err());
    }
}
