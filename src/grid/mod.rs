//! Gridding and degridding with accuracy control: visibilities → dirty image
//! ([`vis2dirty`]) and its exact adjoint, image → visibilities ([`dirty2vis`]).
//!
//! The kernel is the exponential of semicircle ([`es_kernel`]); [`params`] chooses its support
//! and the grid oversampling from the requested accuracy ε by a cost model; w-stacking
//! with the exact `n − 1` term handles wide fields. [`mod@reference`] holds the direct Fourier
//! sums the fast path is tested against, and [`weighting`] the natural, uniform and Briggs
//! weights.
//!
//! The sign conventions are those of [`crate::conventions`]:
//! `I(l, m) = Re Σ_k w_k V_k exp(−2πi (u_k l + v_k m + w_k (n − 1)))` with `l` towards
//! east; images are `[row, column]` with the column index growing as `l` decreases
//! (east on the left) and the row index growing with `m`; the phase centre is pixel
//! `(ny/2, nx/2)`. The result of [`vis2dirty`] is not normalised: divide by the sum of the
//! weights for Jy/beam (the [`crate::image`] module does).
//!
//! **Plans and workspaces.** [`vis2dirty`] and [`dirty2vis`] are one-call conveniences.
//! To grid or degrid the same baselines repeatedly (a deconvolution's major cycles), make
//! a [`GridPlan`] once (parameters chosen, visibilities bucketed) and run it with a
//! [`GridWorkspace`] you own, which keeps the uv grid (tens to hundreds of MB) between
//! calls. The library holds no memory of its own between calls.
//!
//! ```
//! use fxgrid::grid::{dirty2vis, vis2dirty, GridConfig};
//! use fxgrid::ndarray::{array, Array2};
//! use fxgrid::num_complex::Complex;
//!
//! let uvw = array![[100.0, -50.0, 3.0], [-20.0, 240.0, -1.0]]; // metres
//! let freq = [150e6];
//! let vis = Array2::from_elem((2, 1), Complex::new(1.0f64, 0.0));
//! let cfg = GridConfig::new(64, 64, 1e-3, 1e-7);
//! let (dirty, report) = vis2dirty(&cfg, uvw.view(), &freq, vis.view(), None, None).unwrap();
//! // A point source at the phase centre: the centre pixel is the sum of the weights.
//! assert!((dirty[[32, 32]] - 2.0).abs() < 1e-6);
//! assert!(report.params.support >= 4);
//! let (model, _) = dirty2vis(&cfg, uvw.view(), &freq, dirty.view(), None, None).unwrap();
//! assert_eq!(model.dim(), (2, 1));
//! ```

mod bucket;
pub mod error;
pub mod es_kernel;
mod fft;
mod geometry;
mod gridder;
pub mod params;
mod plan;
pub mod reference;
mod tile_loops;
pub mod weighting;

use ndarray::{Array2, ArrayView2};
use num_complex::Complex;
use rustfft::FftNum;

use crate::simd::SimdLevel;

pub use error::GridError;
pub use geometry::n_minus_1;
pub use params::{GridParams, Precision};
pub use plan::{GridPlan, GridWorkspace};

mod sealed {
    /// Seals [`super::GridFloat`] to `f32` and `f64` (the gridder relies on all-zero
    /// bytes being 0).
    pub trait Sealed: Sized + 'static {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Floating-point types the gridder runs in (`f32`, `f64`; sealed).
pub trait GridFloat: sealed::Sealed + FftNum + num_traits::Float + Default {
    /// The matching [`Precision`].
    const PRECISION: Precision;
    /// Conversion from f64 (rounding).
    fn of_f64(x: f64) -> Self;
    /// Conversion to f64.
    fn as_f64(self) -> f64;
}

impl GridFloat for f32 {
    const PRECISION: Precision = Precision::F32;
    #[inline(always)]
    fn of_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl GridFloat for f64 {
    const PRECISION: Precision = Precision::F64;
    #[inline(always)]
    fn of_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}

/// Image geometry and accuracy of a gridding run.
#[derive(Debug, Clone, PartialEq)]
pub struct GridConfig {
    /// Image width in pixels (columns, along l).
    pub npix_x: usize,
    /// Image height in pixels (rows, along m).
    pub npix_y: usize,
    /// Pixel size along l (radians of direction cosine).
    pub cell_x_rad: f64,
    /// Pixel size along m.
    pub cell_y_rad: f64,
    /// Requested relative L2 accuracy against the direct Fourier sum.
    pub epsilon: f64,
    /// Apply the w-term exactly by w-stacking (wide fields); otherwise w is ignored.
    pub wstacking: bool,
    /// Instruction set of the tile loops; `None` takes `FXGRID_SIMD` or else the best the
    /// CPU supports. A level the CPU lacks is an error.
    pub simd: Option<SimdLevel>,
}

impl GridConfig {
    /// A square-pixel configuration without w-stacking.
    pub fn new(npix_x: usize, npix_y: usize, cell_rad: f64, epsilon: f64) -> Self {
        GridConfig {
            npix_x,
            npix_y,
            cell_x_rad: cell_rad,
            cell_y_rad: cell_rad,
            epsilon,
            wstacking: false,
            simd: None,
        }
    }

    /// Checks sizes, cell sizes and ε.
    pub fn validate(&self) -> Result<(), GridError> {
        for (field, n) in [("npix_x", self.npix_x), ("npix_y", self.npix_y)] {
            if !(2..=1 << 16).contains(&n) {
                return Err(GridError::InvalidConfig {
                    field,
                    value: n.to_string(),
                    expected: "an image size from 2 to 65536 pixels".into(),
                });
            }
        }
        for (field, c, n) in [
            ("cell_x_rad", self.cell_x_rad, self.npix_x),
            ("cell_y_rad", self.cell_y_rad, self.npix_y),
        ] {
            if !(c.is_finite() && c > 0.0) {
                return Err(GridError::InvalidConfig {
                    field,
                    value: c.to_string(),
                    expected: "a positive pixel size".into(),
                });
            }
            // The field must stay inside the sky hemisphere: |l| < 1 at the edges.
            if c * (n / 2) as f64 >= 1.0 || c * (n - 1 - n / 2) as f64 >= 1.0 {
                return Err(GridError::InvalidConfig {
                    field,
                    value: c.to_string(),
                    expected: format!(
                        "a pixel size whose {n}-pixel field stays within the horizon (< {:.6} rad)",
                        1.0 / ((n / 2).max(1) as f64)
                    ),
                });
            }
        }
        if self.wstacking {
            let lmax = self.cell_x_rad * (self.npix_x / 2) as f64;
            let mmax = self.cell_y_rad * (self.npix_y / 2) as f64;
            if lmax * lmax + mmax * mmax >= 1.0 {
                return Err(GridError::InvalidConfig {
                    field: "cell_x_rad",
                    value: self.cell_x_rad.to_string(),
                    expected: "a field whose corners stay within the horizon (l² + m² < 1)".into(),
                });
            }
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(GridError::InvalidConfig {
                field: "epsilon",
                value: self.epsilon.to_string(),
                expected: "0 < epsilon < 1".into(),
            });
        }
        Ok(())
    }
}

/// Wall time of each stage of one call (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Validation, parameter choice and bucketing: making the [`GridPlan`] (zero for a
    /// call of a plan made before).
    pub bucket_s: f64,
    /// Applying the visibility-side factors (weights; with w-stacking, the conjugation of
    /// folded samples and the phase of the mid n − 1): before gridding with w-stacking,
    /// in bucket order; after degridding with weights or w-stacking, in row order. Zero
    /// otherwise: the tile loops read and write the visibilities where they are.
    pub reorder_s: f64,
    /// Spreading onto or interpolating from the grid. With w-stacking this includes the
    /// grid rows' FFTs, which are made band by band between the tiles.
    pub grid_s: f64,
    /// FFTs (and placing the image on the grid or taking it off); with w-stacking, the
    /// column FFTs only.
    pub fft_s: f64,
    /// Image-plane corrections.
    pub correct_s: f64,
    /// The whole call.
    pub total_s: f64,
}

impl StageTimes {
    /// Adds the times of another call.
    pub fn add(&mut self, other: &StageTimes) {
        self.bucket_s += other.bucket_s;
        self.reorder_s += other.reorder_s;
        self.grid_s += other.grid_s;
        self.fft_s += other.fft_s;
        self.correct_s += other.correct_s;
        self.total_s += other.total_s;
    }

    /// Counts making the plan (`seconds`, [`GridPlan::plan_seconds`]) as part of the call.
    pub fn add_plan(&mut self, seconds: f64) {
        self.bucket_s += seconds;
        self.total_s += seconds;
    }
}

/// What a gridding call chose and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct GridReport {
    /// The parameters chosen for the requested ε.
    pub params: GridParams,
    /// Visibilities gridded (unflagged, non-zero weight, finite).
    pub n_vis: usize,
    /// Visibilities skipped because they were not finite.
    pub n_skipped_nonfinite: usize,
    /// Degree of the kernel's piecewise polynomial.
    pub kernel_degree: usize,
    /// Stage timings.
    pub times: StageTimes,
}

/// Grids visibilities `vis[row, chan]` at `uvw_m[row]` (metres) and `freq_hz[chan]` into
/// the unnormalised dirty image `[npix_y, npix_x]`:
/// `I = Re Σ weight · V · exp(−2πi (u l + v m [+ w (n − 1)]))`. Flagged samples, zero
/// weights and non-finite visibilities (counted in the report) are left out. One call of
/// a [`GridPlan`] with a fresh [`GridWorkspace`]; make the plan yourself to grid or
/// degrid the same baselines again.
pub fn vis2dirty<T: GridFloat>(
    cfg: &GridConfig,
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    vis: ArrayView2<'_, Complex<T>>,
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Result<(Array2<T>, GridReport), GridError> {
    plan::check_shape("visibilities", vis.shape(), uvw_m.nrows(), freq_hz.len())?;
    let plan = GridPlan::<T>::new(cfg, uvw_m, freq_hz, weight, flags)?;
    let (image, mut report) = plan.vis2dirty(vis, &mut GridWorkspace::new())?;
    report.times.add_plan(plan.plan_seconds());
    Ok((image, report))
}

/// Degrids the image `dirty[npix_y, npix_x]` onto `uvw_m[row]` and `freq_hz[chan]`: the
/// exact adjoint of [`vis2dirty`],
/// `V = weight · Σ I · exp(+2πi (u l + v m [+ w (n − 1)]))`. Flagged samples are zero.
/// One call of a [`GridPlan`] with a fresh [`GridWorkspace`].
pub fn dirty2vis<T: GridFloat>(
    cfg: &GridConfig,
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    dirty: ArrayView2<'_, T>,
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Result<(Array2<Complex<T>>, GridReport), GridError> {
    let plan = GridPlan::<T>::new(cfg, uvw_m, freq_hz, weight, flags)?;
    let (vis, mut report) = plan.dirty2vis(dirty, &mut GridWorkspace::new())?;
    report.times.add_plan(plan.plan_seconds());
    Ok((vis, report))
}
