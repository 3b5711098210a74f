//! The major cycle on visibilities held in memory: one gridder plan, made once, predicts
//! the model's visibilities and grids the residual in every cycle.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Zip};
use num_complex::Complex;

use super::{DeconvolveError, ResidualImager};
use crate::grid::{GridConfig, GridError, GridFloat, GridPlan, GridWorkspace, StageTimes};

/// Visibilities `[row, chan]` with their imaging weights, gridded and degridded by one
/// [`GridPlan`] over the channels of one image plane.
///
/// The data are held once, weighted (`w · V`, in the precision `T`): the dirty image is
/// `Σ w V e / Σ w`, and the residual of a model `Σ (w V − w · M) e / Σ w` with `M` the
/// model's visibilities from [`GridPlan::dirty2vis`] of the same plan (made without
/// weights, so that it gives `M` itself).
pub struct VisResidual<'a, T: GridFloat> {
    plan: GridPlan<'a, T>,
    weighted: ArrayView2<'a, Complex<T>>,
    weights: ArrayView2<'a, f32>,
    wsum: f64,
    w2sum: f64,
    ws: GridWorkspace<T>,
    /// Times of every gridding and degridding call so far.
    pub times: StageTimes,
    /// Calls of the gridder (both directions).
    pub calls: usize,
}

impl<'a, T: GridFloat> VisResidual<'a, T> {
    /// A plan for `cfg` over channels `chans` of `weighted` (`w · V`) and `weights` (`w`,
    /// 0 where flagged), rows at `uvw_m` (m) and frequencies `freqs_hz` (all channels).
    pub fn new(
        cfg: &GridConfig,
        uvw_m: ArrayView2<'a, f64>,
        freqs_hz: &[f64],
        weighted: ArrayView2<'a, Complex<T>>,
        weights: ArrayView2<'a, f32>,
        chans: Range<usize>,
    ) -> Result<Self, DeconvolveError> {
        let nrow = uvw_m.nrows();
        if weighted.dim() != (nrow, freqs_hz.len()) || weights.dim() != weighted.dim() {
            return Err(DeconvolveError::Shape {
                what: "visibilities and weights",
                expected: format!("[{nrow}, {}] (rows, channels)", freqs_hz.len()),
                found: format!("{:?} and {:?}", weighted.dim(), weights.dim()),
            });
        }
        let weighted = weighted.slice_move(s![.., chans.clone()]);
        let weights = weights.slice_move(s![.., chans.clone()]);
        let excluded = weights.mapv(|w| w <= 0.0);
        let plan = GridPlan::new(cfg, uvw_m, &freqs_hz[chans], None, Some(excluded.view()))?;
        let wsum: f64 = weights
            .iter()
            .filter(|&&w| w > 0.0)
            .map(|&w| w as f64)
            .sum();
        if wsum.is_nan() || wsum <= 0.0 {
            return Err(GridError::Empty(
                "every sample of the plane is flagged or has zero weight".into(),
            )
            .into());
        }
        let w2sum: f64 = weights
            .iter()
            .filter(|&&w| w > 0.0)
            .map(|&w| (w as f64) * (w as f64))
            .sum();
        let mut times = StageTimes::default();
        times.add_plan(plan.plan_seconds());
        Ok(VisResidual {
            plan,
            weighted,
            weights,
            wsum,
            w2sum,
            ws: GridWorkspace::new(),
            times,
            calls: 0,
        })
    }

    /// The sum of the weights (the images' normalisation).
    pub fn weight_sum(&self) -> f64 {
        self.wsum
    }

    /// The sum of the squared weights (for the thermal noise).
    pub fn weight_sq_sum(&self) -> f64 {
        self.w2sum
    }

    /// The plan.
    pub fn plan(&self) -> &GridPlan<'a, T> {
        &self.plan
    }

    /// Bytes of the grid workspace held between calls.
    pub fn workspace_bytes(&self) -> usize {
        self.ws.bytes()
    }

    fn normalised(
        &mut self,
        vis: ArrayView2<'_, Complex<T>>,
    ) -> Result<Array2<f32>, DeconvolveError> {
        let (img, rep) = self.plan.vis2dirty(vis, &mut self.ws)?;
        self.times.add(&rep.times);
        self.calls += 1;
        let norm = 1.0 / self.wsum;
        Ok(img.mapv(|x| (x.as_f64() * norm) as f32))
    }

    /// The dirty image (Jy/beam).
    pub fn dirty(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        let w = self.weighted;
        self.normalised(w)
    }

    /// The PSF (peak 1 at the centre).
    pub fn psf(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        let w = self
            .weights
            .mapv(|w| Complex::new(T::of_f64(w as f64), T::zero()));
        self.normalised(w.view())
    }
}

impl<T: GridFloat> ResidualImager for VisResidual<'_, T> {
    fn residual(&mut self, model: ArrayView2<'_, f32>) -> Result<Array2<f32>, DeconvolveError> {
        let m = model.mapv(|v| T::of_f64(v as f64));
        let (mut pred, rep) = self.plan.dirty2vis(m.view(), &mut self.ws)?;
        drop(m);
        self.times.add(&rep.times);
        self.calls += 1;
        Zip::from(&mut pred)
            .and(&self.weighted)
            .and(&self.weights)
            .par_for_each(|p, &v, &w| {
                let w = T::of_f64(w as f64);
                *p = Complex::new(v.re - w * p.re, v.im - w * p.im);
            });
        self.normalised(pred.view())
    }
}
