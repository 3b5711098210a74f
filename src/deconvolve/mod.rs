//! Deconvolution: CLEAN in the image domain (minor cycles) inside Cotton–Schwab major
//! cycles that go back to the visibilities.
//!
//! - [`minor_cycle`]: Högbom's CLEAN with a Clark-style sub-minor loop over the brightest
//!   pixels and the PSF patch ([`Psf`]), in [`hogbom`].
//! - [`clean`]: the major cycles. Each minor cycle stops when the peak residual has
//!   fallen by `mgain` (or reached the threshold, or the PSF's far sidelobes make going
//!   deeper meaningless); then a [`ResidualImager`] predicts the model's visibilities,
//!   subtracts them from the data and grids the residual again ([`VisResidual`] does
//!   it with one [`crate::grid::GridPlan`], made once for all cycles). Thresholds are
//!   absolute (`threshold_jy`) or in units of the residual's noise (`auto_threshold`),
//!   estimated from the median absolute deviation ([`mad_sigma`]) at every major cycle;
//!   `auto_mask` cleans everywhere down to its level, then only where components were
//!   found, down to the threshold (WSClean's meaning).
//! - [`multiscale_minor_cycle`]: multi-scale CLEAN (Gaussian components of several sizes,
//!   [`multiscale`]).
//! - [`fit_beam`] and [`restore`]: the restoring beam fitted to the PSF's main lobe and
//!   the restored image `model ⊗ beam + residual`.
//!
//! Units: residual and PSF in Jy/beam (the PSF peaks at 1), the model in Jy/pixel.
//! Images are `[row, col]` as in [`crate::image`].

pub mod beam;
mod cotton_schwab;
pub mod hogbom;
pub mod multiscale;
pub mod noise;
mod planes;
mod psf;

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Zip};
use thiserror::Error;

pub use beam::{fit_beam, restore, BeamFit};
pub use cotton_schwab::VisResidual;
pub use hogbom::{minor_cycle, peak_abs, MinorCycle, MinorOutcome};
pub use multiscale::{multiscale_minor_cycle, MultiscaleConfig};
pub use noise::mad_sigma;
pub use planes::{
    clean_planes, clean_visibilities, gridded_weight, imaging_history, CleanAssembly, CleanImages,
    PlaneData, PlaneReport, WeightedVis,
};
pub use psf::Psf;

use crate::grid::GridError;
use crate::progress::Progress;

/// What can go wrong deconvolving.
#[derive(Debug, Error)]
pub enum DeconvolveError {
    /// A parameter that cannot be used.
    #[error("invalid clean parameter {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: String,
    },
    /// A PSF that cannot be used or fitted.
    #[error("PSF: {0}")]
    Psf(String),
    /// Images of different shapes.
    #[error("{what}: expected shape {expected}, found {found}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// Expected shape.
        expected: String,
        /// Found shape.
        found: String,
    },
    /// Gridding or degridding in a major cycle.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// Reading the data again for a major cycle.
    #[error("reading the visibilities for a major cycle")]
    Data(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How to clean.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanConfig {
    /// Most minor iterations in all (0: no cleaning).
    pub niter: usize,
    /// Loop gain, in (0, 1] (default 0.1).
    pub gain: f64,
    /// Major-cycle gain: the minor cycle stops when the peak residual has fallen by this
    /// fraction, in (0, 1] (default 0.8).
    pub mgain: f64,
    /// Stop at this peak residual (Jy/beam; default 0).
    pub threshold_jy: f64,
    /// Stop at this many σ of the residual's noise (`None`: no such threshold).
    pub auto_threshold: Option<f64>,
    /// Clean everywhere down to this many σ, then only inside the mask of the components
    /// found so far (`None`: no mask). Must exceed `auto_threshold`.
    pub auto_mask: Option<f64>,
    /// Most major cycles (default 20).
    pub max_major: usize,
    /// Half-width of the PSF patch of the minor cycle in pixels (`None`: [`Psf::default_half`]).
    pub psf_patch: Option<usize>,
    /// Multi-scale CLEAN ([`multiscale`]; `None`: components are points).
    pub multiscale: Option<MultiscaleConfig>,
    /// Which PSF pixels the restoring beam is fitted to (default: WSClean's).
    pub beam_fit: BeamFit,
}

impl Default for CleanConfig {
    fn default() -> Self {
        CleanConfig {
            niter: 0,
            gain: 0.1,
            mgain: 0.8,
            threshold_jy: 0.0,
            auto_threshold: None,
            auto_mask: None,
            max_major: 20,
            psf_patch: None,
            multiscale: None,
            beam_fit: BeamFit::default(),
        }
    }
}

impl CleanConfig {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), DeconvolveError> {
        let bad =
            |field: &'static str, value: f64, expected: &str| DeconvolveError::InvalidConfig {
                field,
                value: value.to_string(),
                expected: expected.into(),
            };
        if !(self.gain > 0.0 && self.gain <= 1.0) {
            return Err(bad("gain", self.gain, "0 < gain ≤ 1"));
        }
        if !(self.mgain > 0.0 && self.mgain <= 1.0) {
            return Err(bad("mgain", self.mgain, "0 < mgain ≤ 1"));
        }
        if !(self.threshold_jy >= 0.0 && self.threshold_jy.is_finite()) {
            return Err(bad(
                "threshold_jy",
                self.threshold_jy,
                "a finite threshold ≥ 0 Jy",
            ));
        }
        for (field, v) in [
            ("auto_threshold", self.auto_threshold),
            ("auto_mask", self.auto_mask),
        ] {
            if let Some(s) = v {
                if !(s > 0.0 && s.is_finite()) {
                    return Err(bad(field, s, "a finite number of σ > 0"));
                }
            }
        }
        if let (Some(m), Some(t)) = (self.auto_mask, self.auto_threshold) {
            if m <= t {
                return Err(bad(
                    "auto_mask",
                    m,
                    &format!("more σ than auto_threshold ({t})"),
                ));
            }
        }
        if self.auto_mask.is_some() && self.auto_threshold.is_none() && self.threshold_jy == 0.0 {
            return Err(DeconvolveError::InvalidConfig {
                field: "auto_mask",
                value: format!("{:?}", self.auto_mask),
                expected: "a threshold to clean to inside the mask: auto_threshold or threshold_jy"
                    .into(),
            });
        }
        if self.max_major == 0 {
            return Err(bad("max_major", 0.0, "at least 1 major cycle"));
        }
        if let Some(m) = &self.multiscale {
            m.validate()?;
        }
        Ok(())
    }
}

/// Makes residual images from a model: the major cycle's "go back to the data".
pub trait ResidualImager {
    /// The residual image (Jy/beam, like the dirty image) of the data minus the
    /// visibilities of `model` (Jy/pixel).
    fn residual(&mut self, model: ArrayView2<'_, f32>) -> Result<Array2<f32>, DeconvolveError>;
}

/// Why cleaning stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The peak residual reached the threshold (or the last minor cycle cleaned down to
    /// it and the residual was made from the data once more).
    Threshold,
    /// `niter` minor iterations were done.
    Iterations,
    /// `max_major` major cycles were done.
    MajorCycles,
    /// The peak residual grew over two major cycles.
    Diverged,
}

impl StopReason {
    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            StopReason::Threshold => "threshold reached",
            StopReason::Iterations => "iteration limit reached",
            StopReason::MajorCycles => "major-cycle limit reached",
            StopReason::Diverged => "diverged: the peak residual grew over two major cycles",
        }
    }
}

/// One major cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MajorCycleReport {
    /// Peak |residual| when the minor cycle started (Jy/beam).
    pub peak_start: f64,
    /// Level the minor cycle cleaned to.
    pub minor_stop: f64,
    /// Peak |residual| when the minor cycle ended.
    pub peak_minor_end: f64,
    /// Peak |residual| of the residual made from the visibilities afterwards.
    pub peak_after: f64,
    /// Noise σ of that residual (MAD).
    pub sigma_after: f64,
    /// Minor iterations in this cycle.
    pub iterations: usize,
    /// Whether the minor cycle was restricted to the auto-mask.
    pub masked: bool,
    /// Seconds in the minor cycle.
    pub minor_s: f64,
    /// Seconds making the residual from the visibilities.
    pub major_s: f64,
}

/// What cleaning did.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanReport {
    /// Every major cycle.
    pub cycles: Vec<MajorCycleReport>,
    /// Minor iterations in all.
    pub iterations: usize,
    /// Why it stopped.
    pub stop: StopReason,
    /// Noise σ of the final residual (MAD, Jy/beam).
    pub sigma: f64,
    /// Peak |residual| at the end.
    pub peak: f64,
    /// Flux in the model (Jy).
    pub model_flux_jy: f64,
    /// Components: distinct (scale, position) pairs (for point CLEAN, the model's
    /// non-zero pixels).
    pub components: usize,
    /// The threshold in force at the end (Jy/beam).
    pub threshold_jy: f64,
}

/// One CLEAN component: a point (scale 0) or a Gaussian of FWHM `scale_px / 2` pixels
/// ([`multiscale`]), with its total flux.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanComponent {
    /// Scale size in pixels (0: a point).
    pub scale_px: f64,
    /// Row.
    pub row: usize,
    /// Column.
    pub col: usize,
    /// Flux (Jy).
    pub flux_jy: f64,
}

/// Model and residual of a clean.
#[derive(Debug, Clone)]
pub struct CleanResult {
    /// The model image (Jy/pixel): the components, Gaussians painted in.
    pub model: Array2<f32>,
    /// The components, summed per scale and position.
    pub components: Vec<CleanComponent>,
    /// The residual from the visibilities of the model (Jy/beam).
    pub residual: Array2<f32>,
    /// What happened.
    pub report: CleanReport,
}

/// Cleans `dirty` (Jy/beam) with `psf` and `cfg`, going back to the data through
/// `imager` after each minor cycle (module docs). `progress` hears of each major cycle.
pub fn clean(
    dirty: Array2<f32>,
    psf: &Psf,
    cfg: &CleanConfig,
    imager: &mut dyn ResidualImager,
    progress: &dyn Progress,
) -> Result<CleanResult, DeconvolveError> {
    cfg.validate()?;
    let mut residual = dirty;
    let mut model = Array2::<f32>::zeros(residual.dim());
    let mut sigma = noise(residual.view(), cfg);
    let mut mask: Option<Array2<bool>> = None;
    let mut masking = cfg.auto_mask.is_some();
    let mut cycles: Vec<MajorCycleReport> = Vec::new();
    let mut iterations = 0usize;
    let mut added: std::collections::BTreeMap<(u64, usize, usize), f64> = Default::default();
    let scales = cfg.multiscale.as_ref().map(|m| {
        let (ny, nx) = residual.dim();
        m.scales_for(psf.fwhm_px(), ny.min(nx))
    });
    progress.start(cfg.max_major as u64, "major cycles");
    let (stop, threshold) = loop {
        let level = |s: Option<f64>| s.map_or(0.0, |s| s * sigma);
        let mut threshold = cfg.threshold_jy.max(level(cfg.auto_threshold));
        if masking {
            threshold = threshold.max(level(cfg.auto_mask));
        }
        let (_, _, peak) = peak_abs(residual.view(), mask.as_ref().map(|m| m.view()));
        let peak = peak.abs() as f64;
        // Multi-scale goes on while a larger scale is above its own noise-scaled level.
        if peak <= threshold && (cfg.multiscale.is_none() || masking) {
            if masking {
                // Down to the mask level everywhere: from now on only where components are.
                masking = false;
                mask = Some(model.mapv(|v| v != 0.0));
                continue;
            }
            break (StopReason::Threshold, threshold);
        }
        if iterations >= cfg.niter {
            break (StopReason::Iterations, threshold);
        }
        if cycles.len() >= cfg.max_major {
            break (StopReason::MajorCycles, threshold);
        }
        let minor_stop = threshold
            .max((1.0 - cfg.mgain) * peak)
            .max(psf.far_sidelobe() as f64 * peak);
        let t = Instant::now();
        let out = match (&cfg.multiscale, &scales) {
            (Some(ms), Some(scales)) => multiscale_minor_cycle(
                residual.view_mut(),
                model.view_mut(),
                psf,
                scales,
                ms,
                minor_stop as f32,
                cfg.niter - iterations,
                mask.as_ref().map(|m| m.view()),
            ),
            _ => minor_cycle(
                residual.view_mut(),
                model.view_mut(),
                psf,
                &MinorCycle {
                    gain: cfg.gain as f32,
                    stop: minor_stop as f32,
                    max_iterations: cfg.niter - iterations,
                    mask: mask.as_ref().map(|m| m.view()),
                },
            ),
        };
        let minor_s = t.elapsed().as_secs_f64();
        iterations += out.iterations;
        for &(scale, y, x, d) in &out.added {
            *added.entry((scale.to_bits(), y, x)).or_default() += d as f64;
        }
        if out.iterations == 0 {
            // Nothing above any level (multi-scale): the residual is already the data's.
            break (StopReason::Threshold, threshold);
        }
        let t = Instant::now();
        residual = imager.residual(model.view())?;
        let major_s = t.elapsed().as_secs_f64();
        sigma = noise(residual.view(), cfg);
        let (_, _, after) = peak_abs(residual.view(), mask.as_ref().map(|m| m.view()));
        cycles.push(MajorCycleReport {
            peak_start: peak,
            minor_stop,
            peak_minor_end: out.peak as f64,
            peak_after: after.abs() as f64,
            sigma_after: sigma,
            iterations: out.iterations,
            masked: mask.is_some(),
            minor_s,
            major_s,
        });
        progress.advance(1);
        if minor_stop <= threshold && !masking {
            // The minor cycle was asked to go all the way to the threshold: this was the
            // last major cycle (the residual from the data is what it is).
            break (StopReason::Threshold, threshold);
        }
        let n = cycles.len();
        if n >= 3
            && cycles[n - 1].peak_after > cycles[n - 2].peak_after
            && cycles[n - 2].peak_after > cycles[n - 3].peak_after
        {
            break (StopReason::Diverged, threshold);
        }
    };
    progress.finish();
    let sigma = mad_sigma(residual.view(), None).unwrap_or(0.0) as f64;
    let (_, _, peak) = peak_abs(residual.view(), None);
    let flux: f64 = Zip::from(&model).fold(0.0, |a, &v| a + v as f64);
    let components: Vec<CleanComponent> = added
        .into_iter()
        .filter(|&(_, f)| f != 0.0)
        .map(|((scale, row, col), flux_jy)| CleanComponent {
            scale_px: f64::from_bits(scale),
            row,
            col,
            flux_jy,
        })
        .collect();
    Ok(CleanResult {
        model,
        report: CleanReport {
            cycles,
            iterations,
            stop,
            sigma,
            peak: peak.abs() as f64,
            model_flux_jy: flux,
            components: components.len(),
            threshold_jy: threshold,
        },
        components,
        residual,
    })
}

/// The residual's σ when a threshold needs it (0 otherwise).
fn noise(residual: ArrayView2<'_, f32>, cfg: &CleanConfig) -> f64 {
    if cfg.auto_threshold.is_some() || cfg.auto_mask.is_some() {
        mad_sigma(residual, None).unwrap_or(0.0) as f64
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
