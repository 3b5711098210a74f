//! The public gridder plan and its caller-owned workspace.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Axis, CowArray, Ix2};
use num_complex::Complex;
use rayon::prelude::*;

use super::bucket::{unpack, CHAN_BITS};
use super::gridder::{self, grid_zeros, Plan};
use super::{GridConfig, GridError, GridFloat, GridParams, GridReport};

/// A gridding problem made once and executed any number of times, in either direction.
///
/// Made from the image geometry and accuracy ([`GridConfig`]), the precision `T`, the
/// baselines' uvw, the channels' frequencies, and optionally weights and flags: the
/// parameters are chosen and the visibilities bucketed into uv tiles here, once. Then
/// [`GridPlan::vis2dirty`] grids visibilities on those baselines and
/// [`GridPlan::dirty2vis`] predicts them from an image, as often as needed (a
/// deconvolution's major cycles), each call with a [`GridWorkspace`] the caller owns.
/// Results are bit-identical to the one-call [`super::vis2dirty`] and
/// [`super::dirty2vis`]. The plan borrows uvw and weights (`'a`) unless made owned with
/// [`GridPlan::into_owned`]; it is `Send + Sync`, so threads can share one plan, each with
/// its own workspace.
///
/// Any number of channels and up to 2³² rows: the buckets number a sample by its row
/// (32 bits) and channel (16 bits), so a plan of more than 65,535 channels, or of more than
/// 2³² samples, is made of parts over consecutive channel ranges, each with its own
/// parameters (from its own uv and w extents); a call runs them in turn and adds their
/// images (or places their visibilities), which equals gridding each range alone and
/// adding the results.
///
/// ```
/// use fxgrid::grid::{GridConfig, GridPlan, GridWorkspace};
/// use fxgrid::ndarray::{array, Array2};
/// use fxgrid::num_complex::Complex;
///
/// let uvw = array![[100.0, -50.0, 3.0], [-20.0, 240.0, -1.0]]; // metres
/// let freq = [150e6];
/// let cfg = GridConfig::new(64, 64, 1e-3, 1e-7);
/// let plan = GridPlan::<f64>::new(&cfg, uvw.view(), &freq, None, None).unwrap();
/// let mut ws = GridWorkspace::new();
/// let vis = Array2::from_elem((2, 1), Complex::new(1.0, 0.0));
/// for _ in 0..3 {
///     let (dirty, _) = plan.vis2dirty(vis.view(), &mut ws).unwrap();
///     let (model, _) = plan.dirty2vis(dirty.view(), &mut ws).unwrap();
///     assert_eq!(model.dim(), (2, 1));
/// }
/// ```
pub struct GridPlan<'a, T: GridFloat> {
    /// Consecutive channel ranges and their plans (one, unless the channels or samples
    /// exceed what one plan numbers).
    parts: Vec<(Range<usize>, Plan<'a>)>,
    nrow: usize,
    nchan: usize,
    weight: Option<CowArray<'a, f32, Ix2>>,
    _precision: std::marker::PhantomData<T>,
}

/// Most channels of one part of a plan: the buckets number channels in 16 bits and the
/// samples of one part (rows × channels) in 32.
fn part_channels(nrow: usize) -> usize {
    let by_samples = u32::MAX as usize / nrow.max(1);
    ((1 << CHAN_BITS) - 1).min(by_samples).max(1)
}

impl<T: GridFloat> std::fmt::Debug for GridPlan<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridPlan")
            .field("precision", &T::PRECISION)
            .field("rows", &self.nrow)
            .field("channels", &self.nchan)
            .field("parts", &self.parts.len())
            .field("n_vis", &self.n_vis())
            .field("params", self.params())
            .finish()
    }
}

impl<'a, T: GridFloat> GridPlan<'a, T> {
    /// Validates the inputs, chooses the parameters for `cfg.epsilon` in precision `T` and
    /// buckets every visibility `[row, chan]` at `uvw_m[row]` (metres) and `freq_hz[chan]`
    /// that is not flagged and has a non-zero weight. `weight` and `flags` are
    /// `[rows, channels]`; weights must be finite and ≥ 0.
    pub fn new(
        cfg: &GridConfig,
        uvw_m: ArrayView2<'a, f64>,
        freq_hz: &[f64],
        weight: Option<ArrayView2<'a, f32>>,
        flags: Option<ArrayView2<'_, bool>>,
    ) -> Result<Self, GridError> {
        let (nrow, nchan) = (uvw_m.nrows(), freq_hz.len());
        if let Some(w) = weight {
            check_shape("weights", w.shape(), nrow, nchan)?;
        }
        if let Some(f) = flags {
            check_shape("flags", f.shape(), nrow, nchan)?;
        }
        check_weights(weight)?;
        let include = |r: usize, c: usize| {
            !flags.is_some_and(|f| f[[r, c]]) && weight.is_none_or(|w| w[[r, c]] > 0.0)
        };
        let step = part_channels(nrow);
        let mut parts = Vec::new();
        let mut empty = None;
        for c0 in (0..nchan.max(1)).step_by(step) {
            let chans = c0..(c0 + step).min(nchan);
            let include = |r: usize, c: usize| include(r, c0 + c);
            let freqs = &freq_hz[chans.clone()];
            match Plan::new::<T>(cfg, CowArray::from(uvw_m), freqs, include) {
                Ok(p) => parts.push((chans, p)),
                // A part with every sample flagged contributes nothing; an error only if
                // every part is so.
                Err(e @ GridError::Empty(_)) => empty = Some(e),
                Err(e) => return Err(e),
            }
        }
        if parts.is_empty() {
            return Err(empty.expect("a plan has at least one channel range"));
        }
        Ok(GridPlan {
            parts,
            nrow,
            nchan,
            weight: weight.map(CowArray::from),
            _precision: std::marker::PhantomData,
        })
    }

    /// The plan with its own copy of uvw and weights (for keeping it beyond their
    /// lifetime).
    pub fn into_owned(self) -> GridPlan<'static, T> {
        GridPlan {
            parts: self
                .parts
                .into_iter()
                .map(|(c, p)| (c, p.into_owned()))
                .collect(),
            nrow: self.nrow,
            nchan: self.nchan,
            weight: self.weight.map(|w| CowArray::from(w.into_owned())),
            _precision: std::marker::PhantomData,
        }
    }

    /// The parameters chosen for the requested accuracy (of the first channel part, when
    /// the plan has several: [`GridPlan::parts`]).
    pub fn params(&self) -> &GridParams {
        &self.parts[0].1.params
    }

    /// Number of channel parts (1 unless more than 65,535 channels or 2³² samples; parts
    /// whose every sample is flagged are left out).
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// `(rows, channels)` of the visibilities the plan takes and gives.
    pub fn vis_shape(&self) -> (usize, usize) {
        (self.nrow, self.nchan)
    }

    /// `(rows, columns)` of the image the plan takes and gives.
    pub fn image_shape(&self) -> (usize, usize) {
        self.parts[0].1.image_shape()
    }

    /// Number of visibilities the plan holds (not flagged, non-zero weight).
    pub fn n_vis(&self) -> usize {
        self.parts.iter().map(|(_, p)| p.buckets.n_values).sum()
    }

    /// Wall time of making the plan (validation, parameter choice, bucketing), seconds.
    pub fn plan_seconds(&self) -> f64 {
        self.parts.iter().map(|(_, p)| p.plan_s).sum()
    }

    /// Bytes of memory the plan holds (buckets; uvw and weights when owned).
    pub fn heap_bytes(&self) -> usize {
        let w = match &self.weight {
            Some(w) if !w.is_view() => w.len() * 4,
            _ => 0,
        };
        self.parts
            .iter()
            .map(|(_, p)| p.heap_bytes())
            .sum::<usize>()
            + w
    }

    /// Grids `vis[row, chan]` into the unnormalised dirty image `[npix_y, npix_x]`:
    /// `I = Re Σ weight · V · exp(−2πi (u l + v m [+ w (n − 1)]))` over the plan's
    /// visibilities. Non-finite visibilities among them are left out (counted in the
    /// report); an error if none is left.
    pub fn vis2dirty(
        &self,
        vis: ArrayView2<'_, Complex<T>>,
        ws: &mut GridWorkspace<T>,
    ) -> Result<(Array2<T>, GridReport), GridError> {
        let (nrow, nchan) = self.vis_shape();
        check_shape("visibilities", vis.shape(), nrow, nchan)?;
        let n_nonfinite = self.count_nonfinite(vis);
        if n_nonfinite == self.n_vis() {
            return Err(GridError::Empty(
                "every visibility left by the flags and weights is not finite".into(),
            ));
        }
        // A non-finite sample contributes exactly nothing when it is zero: the grid's sums
        // are then the same bits as without it.
        let cleaned;
        let vis = if n_nonfinite > 0 {
            cleaned = vis.mapv(|v| if is_finite(v) { v } else { Complex::default() });
            cleaned.view()
        } else {
            vis
        };
        let mut out: Option<(Array2<T>, GridReport)> = None;
        for (chans, plan) in &self.parts {
            let weight = self.weight.as_ref().map(|w| w.slice(s![.., chans.clone()]));
            let (image, report) = gridder::grid(plan, vis.slice(s![.., chans.clone()]), weight, ws);
            out = Some(match out {
                None => (image, report),
                Some((sum, first)) => (sum + image, merged(first, &report)),
            });
        }
        let (image, mut report) = out.expect("a plan has at least one part");
        report.n_vis = self.n_vis() - n_nonfinite;
        report.n_skipped_nonfinite = n_nonfinite;
        Ok((image, report))
    }

    /// Degrids the image `dirty[npix_y, npix_x]` onto the plan's visibilities: the exact
    /// adjoint of [`GridPlan::vis2dirty`],
    /// `V = weight · Σ I · exp(+2πi (u l + v m [+ w (n − 1)]))`. Flagged samples are zero.
    pub fn dirty2vis(
        &self,
        dirty: ArrayView2<'_, T>,
        ws: &mut GridWorkspace<T>,
    ) -> Result<(Array2<Complex<T>>, GridReport), GridError> {
        let (ny, nx) = self.image_shape();
        if dirty.shape() != [ny, nx] {
            return Err(GridError::Shape {
                what: "image",
                expected: format!("[{ny}, {nx}] (rows, columns)"),
                found: format!("{:?}", dirty.shape()),
            });
        }
        if let Some(i) = dirty.iter().position(|x| !x.is_finite()) {
            return Err(GridError::NonFinite {
                what: "image",
                at: format!("row {}, column {}", i / nx, i % nx),
            });
        }
        let whole = self.parts.len() == 1 && self.parts[0].0 == (0..self.nchan);
        let mut vis = Array2::zeros(if whole {
            (0, 0)
        } else {
            (self.nrow, self.nchan)
        });
        let mut out: Option<GridReport> = None;
        for (chans, plan) in &self.parts {
            let weight = self.weight.as_ref().map(|w| w.slice(s![.., chans.clone()]));
            let (part, report) = gridder::degrid(plan, dirty, weight, ws);
            if whole {
                vis = part;
            } else {
                vis.slice_mut(s![.., chans.clone()]).assign(&part);
            }
            out = Some(match out {
                None => report,
                Some(first) => merged(first, &report),
            });
        }
        let mut report = out.expect("a plan has at least one part");
        report.n_vis = self.n_vis();
        Ok((vis, report))
    }

    /// Non-finite visibilities among those the plan holds. One pass in memory order finds
    /// whether there are any; only then are the plan's samples looked at (in bucket order,
    /// which reads the rows far apart).
    fn count_nonfinite(&self, vis: ArrayView2<'_, Complex<T>>) -> usize {
        if !par_any(vis, |v| !is_finite(*v)) {
            return 0;
        }
        self.parts
            .iter()
            .map(|(chans, plan)| {
                let vis = vis.slice(s![.., chans.clone()]);
                plan.buckets
                    .entries
                    .par_chunks(1 << 12)
                    .map(|es| {
                        es.iter()
                            .map(|&e| {
                                let (row, c0, len) = unpack(e);
                                (c0..c0 + len)
                                    .filter(|&c| !is_finite(vis[[row, c]]))
                                    .count()
                            })
                            .sum::<usize>()
                    })
                    .sum::<usize>()
            })
            .sum()
    }
}

/// The report of two parts of one call: the first part's parameters, counts and times
/// summed.
fn merged(mut first: GridReport, next: &GridReport) -> GridReport {
    first.n_vis += next.n_vis;
    first.n_skipped_nonfinite += next.n_skipped_nonfinite;
    first.times.add(&next.times);
    first
}

/// Whether `pred` holds for any element, in parallel over contiguous chunks (or rows):
/// ndarray's element-wise parallel iterator costs tens of ns per element.
fn par_any<A: Sync>(a: ArrayView2<'_, A>, pred: impl Fn(&A) -> bool + Sync) -> bool {
    match a.as_slice() {
        Some(s) => s.par_chunks(1 << 14).any(|c| c.iter().any(&pred)),
        None => a
            .axis_iter(Axis(0))
            .into_par_iter()
            .any(|r| r.iter().any(&pred)),
    }
}

fn is_finite<T: GridFloat>(v: Complex<T>) -> bool {
    v.re.is_finite() && v.im.is_finite()
}

/// The memory a [`GridPlan`] works in: the oversampled uv grid (tens to hundreds of MB),
/// kept between calls of the same grid size. Fresh memory has to be cleared page by page
/// by the operating system, which on virtual machines costs as much as gridding a few
/// million visibilities, so a caller that grids repeatedly keeps one workspace (one per
/// thread that grids at the same time) and drops it, or calls
/// [`GridWorkspace::release`], when done.
pub struct GridWorkspace<T: GridFloat> {
    grid: Vec<Complex<T>>,
    /// Whether `grid` is all zero (left so by gridding; degridding leaves data).
    clean: bool,
}

impl<T: GridFloat> Default for GridWorkspace<T> {
    fn default() -> Self {
        GridWorkspace {
            grid: Vec::new(),
            clean: true,
        }
    }
}

impl<T: GridFloat> std::fmt::Debug for GridWorkspace<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridWorkspace")
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl<T: GridFloat> GridWorkspace<T> {
    /// An empty workspace (it grows on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.grid.len() * std::mem::size_of::<Complex<T>>()
    }

    /// Frees the memory held.
    pub fn release(&mut self) {
        *self = Self::default();
    }

    /// A grid of `n` cells: the one held if it has that size (cleared if `zero` is asked
    /// and it is not all zero), otherwise fresh zeros.
    pub(super) fn take(&mut self, n: usize, zero: bool) -> Vec<Complex<T>> {
        let g = std::mem::take(&mut self.grid);
        if g.len() != n {
            drop(g);
            return grid_zeros::<T>(n);
        }
        let mut g = g;
        if zero && !self.clean {
            let z = Complex::new(T::zero(), T::zero());
            g.par_chunks_mut(1 << 16).for_each(|c| c.fill(z));
        }
        g
    }

    /// Holds `grid` for the next call (`clean`: it is all zero).
    pub(super) fn keep(&mut self, grid: Vec<Complex<T>>, clean: bool) {
        self.grid = grid;
        self.clean = clean;
    }
}

pub(super) fn check_shape(
    what: &'static str,
    found: &[usize],
    nrow: usize,
    nchan: usize,
) -> Result<(), GridError> {
    if found != [nrow, nchan] {
        return Err(GridError::Shape {
            what,
            expected: format!("[{nrow}, {nchan}] (rows, channels)"),
            found: format!("{found:?}"),
        });
    }
    Ok(())
}

fn check_weights(weight: Option<ArrayView2<'_, f32>>) -> Result<(), GridError> {
    if let Some(w) = weight {
        let bad = |x: &f32| !(x.is_finite() && *x >= 0.0);
        if !par_any(w, bad) {
            return Ok(());
        }
        if let Some(i) = w.iter().position(bad) {
            let nchan = w.ncols().max(1);
            return Err(GridError::NonFinite {
                what: "weights (must be finite and ≥ 0)",
                at: format!("row {}, channel {}", i / nchan, i % nchan),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_workspaces_can_be_shared_and_sent() {
        fn send_sync<X: Send + Sync>() {}
        send_sync::<GridPlan<'static, f32>>();
        send_sync::<GridPlan<'static, f64>>();
        send_sync::<GridWorkspace<f32>>();
    }
}
