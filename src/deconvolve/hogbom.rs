//! The Högbom minor cycle with a Clark-style sub-minor loop.
//!
//! Each round finds the peak `|residual|` of the whole image (inside the mask), takes the
//! pixels above a level (the peak times the PSF's largest sidelobe, never below the
//! minor cycle's stop level; at most [`MAX_ACTIVE`] pixels) and runs Högbom's loop on that
//! list alone: the brightest entry gets `gain` times its value added to the model and the
//! PSF patch, scaled, is subtracted from the other entries, until the brightest is below
//! the level. Then the components of the round are subtracted from the whole residual in
//! one pass with the same patch, and the next round starts from the new peak. The result
//! is Högbom's (the same PSF, the same order of peaks above the level) at a cost that
//! scales with the active pixels, not the image.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::Psf;

/// Most pixels a sub-minor loop works on; above this the level is raised.
pub const MAX_ACTIVE: usize = 1 << 17;

/// What a minor cycle is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct MinorCycle<'a> {
    /// Loop gain: the fraction of the peak taken per iteration, in (0, 1].
    pub gain: f32,
    /// Stop when the peak `|residual|` (inside the mask) is at or below this (Jy/beam).
    pub stop: f32,
    /// Stop after this many iterations.
    pub max_iterations: usize,
    /// Clean only where this is true (`[row, col]`, the image's shape).
    pub mask: Option<ArrayView2<'a, bool>>,
}

/// What a minor cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinorOutcome {
    /// Iterations (components added, counting repeats at one pixel).
    pub iterations: usize,
    /// Sub-minor rounds.
    pub rounds: usize,
    /// Flux added to the model (Jy).
    pub flux_jy: f64,
    /// The peak `|residual|` at the end (inside the mask).
    pub peak: f32,
    /// The components added, `(scale size in pixels, row, col, flux Jy)` (size 0: points),
    /// one entry per position and round.
    pub added: Vec<(f64, usize, usize, f32)>,
}

/// One pixel of the active list.
#[derive(Debug, Clone, Copy)]
struct Active {
    y: u32,
    x: u32,
}

/// The brightest `|value|` inside the mask: `(row, col, value)`; `value` is 0 for an empty
/// mask.
pub fn peak_abs(
    image: ArrayView2<'_, f32>,
    mask: Option<ArrayView2<'_, bool>>,
) -> (usize, usize, f32) {
    image
        .axis_iter(Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(y, row)| {
            let mut best = (y, 0usize, 0.0f32);
            for (x, &v) in row.iter().enumerate() {
                if v.abs() > best.2.abs() && mask.is_none_or(|m| m[[y, x]]) {
                    best = (y, x, v);
                }
            }
            best
        })
        .reduce(
            || (0, 0, 0.0),
            |a, b| {
                if b.2.abs() > a.2.abs() || (b.2.abs() == a.2.abs() && (b.0, b.1) < (a.0, a.1)) {
                    b
                } else {
                    a
                }
            },
        )
}

/// Runs the minor cycle on `residual` (Jy/beam), adding components to `model` (Jy/pixel,
/// the same shape).
pub fn minor_cycle(
    mut residual: ArrayViewMut2<'_, f32>,
    mut model: ArrayViewMut2<'_, f32>,
    psf: &Psf,
    mc: &MinorCycle<'_>,
) -> MinorOutcome {
    let mut out = MinorOutcome::default();
    let frac = psf.sidelobe().clamp(0.01, 0.9);
    loop {
        let (_, _, peak) = peak_abs(residual.view(), mc.mask);
        out.peak = peak.abs();
        if out.peak <= mc.stop || out.iterations >= mc.max_iterations {
            return out;
        }
        let level = mc.stop.max(frac * out.peak);
        let (active, mut values, level) = select(residual.view(), mc.mask, level);
        let mut delta = vec![0.0f32; active.len()];
        let n = sub_minor(
            &active,
            &mut values,
            &mut delta,
            psf,
            mc.gain,
            level,
            mc.max_iterations - out.iterations,
        );
        out.iterations += n;
        out.rounds += 1;
        let comps = round_components(active.iter().map(|a| (a.y, a.x)), &delta);
        for &(y, x, d) in &comps {
            model[[y, x]] += d;
            out.flux_jy += d as f64;
            out.added.push((0.0, y, x, d));
        }
        subtract_kernel(residual.view_mut(), &comps, psf.patch(), 1.0);
        if n == 0 {
            // Only when the iteration budget is spent.
            let (_, _, p) = peak_abs(residual.view(), mc.mask);
            out.peak = p.abs();
            return out;
        }
    }
}

/// The components of a sub-minor round: `(row, col, flux)` of the active pixels whose
/// accumulated flux is not zero.
pub(super) fn round_components(
    active: impl Iterator<Item = (u32, u32)>,
    delta: &[f32],
) -> Vec<(usize, usize, f32)> {
    active
        .zip(delta)
        .filter(|(_, &d)| d != 0.0)
        .map(|((y, x), &d)| (y as usize, x as usize, d))
        .collect()
}

/// The pixels with `|value| > level` inside the mask, in row-major order, with their values;
/// the level is raised when more than [`MAX_ACTIVE`] are above it. Returns the level used.
fn select(
    residual: ArrayView2<'_, f32>,
    mask: Option<ArrayView2<'_, bool>>,
    level: f32,
) -> (Vec<Active>, Vec<f32>, f32) {
    let pick = |level: f32| -> Vec<(Active, f32)> {
        residual
            .axis_iter(Axis(0))
            .into_par_iter()
            .enumerate()
            .flat_map_iter(|(y, row)| {
                row.into_iter()
                    .enumerate()
                    .filter(move |&(x, v)| v.abs() > level && mask.is_none_or(|m| m[[y, x]]))
                    .map(move |(x, &v)| {
                        (
                            Active {
                                y: y as u32,
                                x: x as u32,
                            },
                            v,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let mut list = pick(level);
    let mut level = level;
    if list.len() > MAX_ACTIVE {
        let mut mags: Vec<f32> = list.iter().map(|(_, v)| v.abs()).collect();
        let k = list.len() - MAX_ACTIVE;
        let (_, &mut kth, _) = mags.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
        level = kth;
        list.retain(|(_, v)| v.abs() > level);
    }
    let (a, v) = list.into_iter().unzip();
    (a, v, level)
}

/// Högbom's loop on the active list (sorted by row): returns the iterations done.
fn sub_minor(
    active: &[Active],
    values: &mut [f32],
    delta: &mut [f32],
    psf: &Psf,
    gain: f32,
    level: f32,
    budget: usize,
) -> usize {
    let h = psf.half() as i64;
    let mut n = 0;
    while n < budget {
        let Some((j, vj)) = values
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .map(|(j, &v)| (j, v))
        else {
            break;
        };
        if vj.abs() <= level {
            break;
        }
        let a = gain * vj;
        delta[j] += a;
        n += 1;
        let (yj, xj) = (active[j].y as i64, active[j].x as i64);
        let lo = active.partition_point(|p| (p.y as i64) < yj - h);
        let hi = active.partition_point(|p| (p.y as i64) <= yj + h);
        for k in lo..hi {
            let dx = active[k].x as i64 - xj;
            if dx.abs() <= h {
                values[k] -= a * psf.at((active[k].y as i64 - yj) as isize, dx as isize);
            }
        }
    }
    n
}

/// `image -= sign · Σ_c d_c · kernel(· − (y_c, x_c))` for components `(y, x, d)` with the
/// kernel's centre at `(half, half)` (a square of odd size), in parallel over rows. With a
/// negative `sign` it adds (restoring a model with the beam).
pub(crate) fn subtract_kernel(
    mut image: ArrayViewMut2<'_, f32>,
    comps: &[(usize, usize, f32)],
    kernel: ArrayView2<'_, f32>,
    sign: f32,
) {
    if comps.is_empty() {
        return;
    }
    let half = kernel.nrows() / 2;
    let nx = image.ncols();
    let mut sorted = comps.to_vec();
    sorted.sort_unstable_by_key(|c| (c.0, c.1));
    image
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(y, mut row)| {
            let lo = sorted.partition_point(|c| c.0 + half < y);
            let hi = sorted.partition_point(|c| c.0 <= y + half);
            let row = row.as_slice_mut().expect("images are in standard layout");
            for &(cy, cx, d) in &sorted[lo..hi] {
                let krow = kernel.row(y + half - cy);
                let krow = krow.as_slice().expect("kernels are in standard layout");
                let x0 = cx.saturating_sub(half);
                let x1 = (cx + half + 1).min(nx);
                let k0 = x0 + half - cx;
                let s = sign * d;
                for (r, k) in row[x0..x1].iter_mut().zip(&krow[k0..k0 + (x1 - x0)]) {
                    *r -= s * k;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A PSF with sidelobes: a Gaussian main lobe and a negative ring.
    fn psf(n: usize) -> Array2<f32> {
        let c = (n / 2) as f32;
        Array2::from_shape_fn((n, n), |(y, x)| {
            let r = ((y as f32 - c).powi(2) + (x as f32 - c).powi(2)).sqrt();
            if r < 4.0 {
                (-0.5 * (r / 1.6).powi(2)).exp()
            } else {
                -0.15 * (-0.5 * ((r - 7.0) / 1.5).powi(2)).exp()
            }
        })
    }

    /// The dirty image of point sources with the PSF (the PSF taken as zero outside the
    /// patch, like the minor cycle).
    fn dirty(n: usize, psf: &Psf, sources: &[(usize, usize, f32)]) -> Array2<f32> {
        let mut img = Array2::zeros((n, n));
        subtract_kernel(img.view_mut(), sources, psf.patch(), -1.0);
        img
    }

    #[test]
    fn recovers_point_sources_exactly_when_the_psf_is_the_patch() {
        let n = 96;
        let p = Psf::new(psf(n).view(), Some(20)).unwrap();
        let sources = [(30, 40, 2.0), (33, 44, 0.5), (70, 20, -0.7), (60, 80, 0.05)];
        let mut res = dirty(n, &p, &sources);
        let mut model = Array2::zeros((n, n));
        let out = minor_cycle(
            res.view_mut(),
            model.view_mut(),
            &p,
            &MinorCycle {
                gain: 0.1,
                stop: 1e-5,
                max_iterations: 100_000,
                mask: None,
            },
        );
        assert!(out.peak <= 1e-5, "{out:?}");
        for &(y, x, s) in &sources {
            assert!(
                (model[[y, x]] - s).abs() < 1e-4,
                "({y}, {x}): {} vs {s}",
                model[[y, x]]
            );
        }
        let stray: f32 = model
            .indexed_iter()
            .filter(|((y, x), _)| !sources.iter().any(|s| (s.0, s.1) == (*y, *x)))
            .map(|(_, v)| v.abs())
            .sum();
        assert!(stray < 1e-3, "flux off the sources {stray}");
        assert!((out.flux_jy - 1.85).abs() < 1e-3, "{}", out.flux_jy);
        assert!(out.rounds >= 2);
    }

    #[test]
    fn stops_at_the_level_the_budget_and_inside_the_mask() {
        let n = 64;
        let p = Psf::new(psf(n).view(), Some(16)).unwrap();
        let sources = [(20, 20, 1.0), (44, 44, 0.8)];
        let base = dirty(n, &p, &sources);

        let mut res = base.clone();
        let mut model = Array2::zeros((n, n));
        let out = minor_cycle(
            res.view_mut(),
            model.view_mut(),
            &p,
            &MinorCycle {
                gain: 0.1,
                stop: 0.2,
                max_iterations: 10_000,
                mask: None,
            },
        );
        assert!(out.peak <= 0.2 && out.peak > 0.2 * 0.85, "{out:?}");

        let mut res = base.clone();
        let mut model = Array2::zeros((n, n));
        let out = minor_cycle(
            res.view_mut(),
            model.view_mut(),
            &p,
            &MinorCycle {
                gain: 0.1,
                stop: 0.0,
                max_iterations: 2,
                mask: None,
            },
        );
        assert_eq!(out.iterations, 2);
        assert_eq!(model.iter().filter(|&&v| v != 0.0).count(), 1);

        let mut mask = Array2::from_elem((n, n), false);
        mask[[44, 44]] = true;
        let mut res = base.clone();
        let mut model = Array2::zeros((n, n));
        minor_cycle(
            res.view_mut(),
            model.view_mut(),
            &p,
            &MinorCycle {
                gain: 0.2,
                stop: 1e-4,
                max_iterations: 10_000,
                mask: Some(mask.view()),
            },
        );
        assert_eq!(model[[20, 20]], 0.0);
        assert!((model[[44, 44]] - 0.8).abs() < 1e-3);
    }

    #[test]
    fn peak_finding_and_kernel_edges() {
        let mut img = Array2::<f32>::zeros((8, 9));
        img[[7, 8]] = -3.0;
        img[[0, 0]] = 2.0;
        assert_eq!(peak_abs(img.view(), None), (7, 8, -3.0));
        let mut m = Array2::from_elem((8, 9), true);
        m[[7, 8]] = false;
        assert_eq!(peak_abs(img.view(), Some(m.view())), (0, 0, 2.0));
        // A kernel at a corner is cut at the edges.
        let k = Array2::from_elem((5, 5), 1.0f32);
        let mut z = Array2::<f32>::zeros((8, 9));
        subtract_kernel(z.view_mut(), &[(0, 8, 2.0)], k.view(), 1.0);
        assert_eq!(z.iter().filter(|&&v| v == -2.0).count(), 9);
    }
}
