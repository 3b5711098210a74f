//! Cleaning image planes from visibilities held in memory: the dirty image and PSF of
//! each plane, the beam, the clean, and the restored, residual, model and PSF images.

use std::ops::Range;
use std::time::Instant;

use ndarray::{s, Array2, Array3, ArrayView2};
use num_complex::Complex;

use super::{
    clean, fit_beam, restore, CleanComponent, CleanConfig, CleanReport, DeconvolveError, Psf,
    ResidualImager, VisResidual,
};
use crate::grid::weighting::imaging_weights;
use crate::grid::{GridConfig, GridFloat, StageTimes};
use crate::image::{
    auto_cell_of, needs_wstacking, stokes_i, Beam, Image, ImageGeometry, ImagingConfig,
};
use crate::precision::Precision;
use crate::progress::Progress;
use crate::sky::{Component, Shape, SkyModel};
use crate::vis::Visibilities;

/// The images of a deconvolution.
#[derive(Debug, Clone)]
pub struct CleanImages {
    /// `model ⊗ beam + residual` (Jy/beam), with the restoring beam.
    pub restored: Image,
    /// The residual from the visibilities (Jy/beam).
    pub residual: Image,
    /// The components (Jy/pixel).
    pub model: Image,
    /// The point spread function (peak 1).
    pub psf: Image,
    /// The components of each plane.
    pub components: Vec<Vec<CleanComponent>>,
}

impl CleanImages {
    /// The components as a sky model: points, and for multi-scale components circular
    /// Gaussians of FWHM half the scale, at their pixels' positions, with their fluxes at
    /// the plane's frequency and a flat spectrum.
    pub fn components(&self) -> Result<SkyModel, crate::sky::SkyError> {
        let g = &self.model.geometry;
        let mut comps = Vec::new();
        for (p, plane) in self.components.iter().enumerate() {
            for c in plane {
                if let Some(radec) = g.pixel_to_radec(c.row as f64, c.col as f64) {
                    let shape = if c.scale_px > 0.0 {
                        let fwhm = 0.5 * c.scale_px * g.cell_x_rad;
                        Shape::Gaussian {
                            major_rad: fwhm,
                            minor_rad: fwhm,
                            pa_rad: 0.0,
                        }
                    } else {
                        Shape::Point
                    };
                    comps.push(Component {
                        ref_freq_hz: g.freqs_hz[p],
                        shape,
                        ..Component::point(radec, c.flux_jy)
                    });
                }
            }
        }
        SkyModel::new(comps)
    }
}

/// What cleaning one plane did.
#[derive(Debug, Clone)]
pub struct PlaneReport {
    /// The clean's report.
    pub clean: CleanReport,
    /// The restoring beam.
    pub beam: Beam,
    /// Sum of the imaging weights, `Σ w`.
    pub weight_sum: f64,
    /// The image noise per unit visibility noise, `sqrt(Σ w²) / Σ w`: σ of the dirty image
    /// for Stokes I samples of equal noise σ = 1 per real part.
    pub noise_per_vis_sigma: f64,
    /// Visibilities gridded.
    pub n_vis: usize,
    /// Gridder and degridder calls.
    pub grid_calls: usize,
    /// Their stage times, plan included.
    pub grid_times: StageTimes,
    /// Seconds making the dirty image and PSF.
    pub dirty_psf_s: f64,
}

/// The weight a sample is gridded with: its imaging weight, or 0 where it is flagged or
/// the weight is not positive.
#[inline]
pub fn gridded_weight(w: f32, flagged: bool) -> f32 {
    if flagged || w.is_nan() || w <= 0.0 {
        0.0
    } else {
        w
    }
}

/// Weighted Stokes I samples `[row, chan]` in memory: `w · V` and `w` (0 where flagged).
#[derive(Debug, Clone, Copy)]
pub struct WeightedVis<'a, T: GridFloat> {
    /// uvw per row (m).
    pub uvw_m: ArrayView2<'a, f64>,
    /// Frequencies of the channels (Hz).
    pub freqs_hz: &'a [f64],
    /// `w · V`.
    pub weighted: ArrayView2<'a, Complex<T>>,
    /// `w`.
    pub weights: ArrayView2<'a, f32>,
}

/// What cleaning needs of one image plane's data: its dirty image and PSF, and the
/// residual of any model (the major cycle), with the weights' sums for the report.
pub trait PlaneData: ResidualImager {
    /// The dirty image (Jy/beam).
    fn dirty(&mut self) -> Result<Array2<f32>, DeconvolveError>;
    /// The PSF (peak 1 at the centre).
    fn psf(&mut self) -> Result<Array2<f32>, DeconvolveError>;
    /// `Σ w` over the plane's samples.
    fn weight_sum(&self) -> f64;
    /// `Σ w²` over the plane's samples.
    fn weight_sq_sum(&self) -> f64;
    /// Samples gridded.
    fn n_vis(&self) -> usize;
    /// Gridder and degridder calls so far, and their stage times.
    fn grid_stats(&self) -> (usize, StageTimes);
}

impl<T: GridFloat> PlaneData for VisResidual<'_, T> {
    fn dirty(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        VisResidual::dirty(self)
    }
    fn psf(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        VisResidual::psf(self)
    }
    fn weight_sum(&self) -> f64 {
        VisResidual::weight_sum(self)
    }
    fn weight_sq_sum(&self) -> f64 {
        VisResidual::weight_sq_sum(self)
    }
    fn n_vis(&self) -> usize {
        self.plan().n_vis()
    }
    fn grid_stats(&self) -> (usize, StageTimes) {
        (self.calls, self.times)
    }
}

/// The images of a clean, filled plane by plane ([`CleanAssembly::clean_plane`]) and
/// wrapped at the end ([`CleanAssembly::finish`]). The cubes are made once, so memory is
/// the cubes plus one plane's work.
#[derive(Debug)]
pub struct CleanAssembly {
    restored: Array3<f32>,
    residual: Array3<f32>,
    model: Array3<f32>,
    psf: Array3<f32>,
    components: Vec<Vec<CleanComponent>>,
    reports: Vec<PlaneReport>,
}

impl CleanAssembly {
    /// Empty cubes of `planes` planes of `geometry`'s size.
    pub fn new(planes: usize, geometry: &ImageGeometry) -> Self {
        let shape = (planes, geometry.npix_y, geometry.npix_x);
        CleanAssembly {
            restored: Array3::zeros(shape),
            residual: Array3::zeros(shape),
            model: Array3::zeros(shape),
            psf: Array3::zeros(shape),
            components: Vec::new(),
            reports: Vec::new(),
        }
    }

    /// Cleans plane `p` (the next one) from `data`: PSF, beam, dirty image, clean, restore.
    pub fn clean_plane(
        &mut self,
        p: usize,
        data: &mut dyn PlaneData,
        geometry: &ImageGeometry,
        cfg: &CleanConfig,
        progress: &dyn Progress,
    ) -> Result<(), DeconvolveError> {
        cfg.validate()?;
        let t = Instant::now();
        let psf_img = data.psf()?;
        let dirty = data.dirty()?;
        let dirty_psf_s = t.elapsed().as_secs_f64();
        let psf = Psf::new(psf_img.view(), cfg.psf_patch)?;
        let beam = fit_beam(
            psf_img.view(),
            geometry.cell_x_rad,
            geometry.cell_y_rad,
            cfg.beam_fit,
        )?;
        self.psf.slice_mut(s![p, .., ..]).assign(&psf_img);
        drop(psf_img);
        let out = clean(dirty, &psf, cfg, data, progress)?;
        self.residual.slice_mut(s![p, .., ..]).assign(&out.residual);
        let mut rest = out.residual;
        restore(
            rest.view_mut(),
            out.model.view(),
            &beam,
            geometry.cell_x_rad,
            geometry.cell_y_rad,
        );
        self.restored.slice_mut(s![p, .., ..]).assign(&rest);
        self.model.slice_mut(s![p, .., ..]).assign(&out.model);
        self.components.push(out.components);
        let (grid_calls, grid_times) = data.grid_stats();
        self.reports.push(PlaneReport {
            clean: out.report,
            beam,
            weight_sum: data.weight_sum(),
            noise_per_vis_sigma: data.weight_sq_sum().sqrt() / data.weight_sum(),
            n_vis: data.n_vis(),
            grid_calls,
            grid_times,
            dirty_psf_s,
        });
        Ok(())
    }

    /// The images, placed with `geometry`. `history` heads every image's HISTORY (the first
    /// line is replaced by what the image is).
    pub fn finish(
        self,
        geometry: &ImageGeometry,
        cfg: &CleanConfig,
        history: &[String],
    ) -> (CleanImages, Vec<PlaneReport>) {
        let reports = self.reports;
        let mut lines = history.to_vec();
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(parameters(cfg));
        lines.extend(outcomes(&reports));
        let image = |data: Array3<f32>, unit: &str, what: &str, beam: Option<Beam>| {
            let mut h = lines.clone();
            h[0] = format!("fxgrid {} {what}", crate::VERSION);
            Image {
                geometry: geometry.clone(),
                data,
                unit: unit.into(),
                history: h,
                beam,
            }
        };
        let beam0 = reports.first().map(|r| r.beam);
        (
            CleanImages {
                restored: image(self.restored, "JY/BEAM", "restored image (CLEAN)", beam0),
                residual: image(self.residual, "JY/BEAM", "residual image (CLEAN)", beam0),
                model: image(self.model, "JY/PIXEL", "CLEAN model", None),
                psf: image(self.psf, "JY/BEAM", "point spread function", None),
                components: self.components,
            },
            reports,
        )
    }
}

/// Cleans each plane (`planes`: channel ranges) of `data`, held in memory, on the grid of
/// `gcfg` (one [`VisResidual`] per plane), and makes the images placed with `geometry`
/// ([`CleanAssembly`]).
pub fn clean_planes<T: GridFloat>(
    gcfg: &GridConfig,
    geometry: &ImageGeometry,
    planes: &[Range<usize>],
    data: WeightedVis<'_, T>,
    cfg: &CleanConfig,
    history: &[String],
    progress: &dyn Progress,
) -> Result<(CleanImages, Vec<PlaneReport>), DeconvolveError> {
    cfg.validate()?;
    let mut out = CleanAssembly::new(planes.len(), geometry);
    for (p, chans) in planes.iter().enumerate() {
        let mut vr = VisResidual::new(
            gcfg,
            data.uvw_m,
            data.freqs_hz,
            data.weighted,
            data.weights,
            chans.clone(),
        )?;
        out.clean_plane(p, &mut vr, geometry, cfg, progress)?;
    }
    Ok(out.finish(geometry, cfg, history))
}

/// The HISTORY line of the clean parameters.
fn parameters(c: &CleanConfig) -> String {
    format!(
        "clean niter {} gain {} mgain {} threshold {} Jy auto-threshold {} auto-mask {} max-major {} psf-patch {} multiscale {}",
        c.niter,
        c.gain,
        c.mgain,
        c.threshold_jy,
        c.auto_threshold.map_or("none".into(), |s| format!("{s} sigma")),
        c.auto_mask.map_or("none".into(), |s| format!("{s} sigma")),
        c.max_major,
        c.psf_patch.map_or("auto".into(), |p| p.to_string()),
        c.multiscale.as_ref().map_or("off".into(), |m| format!(
            "scales {} bias {} gain {}",
            m.scales.as_ref().map_or("auto".into(), |s| format!("{s:?}")),
            m.bias,
            m.gain
        )),
    )
}

/// HISTORY lines of how each plane's clean ended.
fn outcomes(planes: &[PlaneReport]) -> Vec<String> {
    planes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "plane {i}: {} iterations, {} major cycles, {}; sigma {:.4e} Jy/beam, model flux {:.6} Jy; beam {:.3}x{:.3} arcsec PA {:.2} deg",
                p.clean.iterations,
                p.clean.cycles.len(),
                p.clean.stop.describe(),
                p.clean.sigma,
                p.clean.model_flux_jy,
                p.beam.major_rad.to_degrees() * 3600.0,
                p.beam.minor_rad.to_degrees() * 3600.0,
                p.beam.pa_rad.to_degrees()
            )
        })
        .collect()
}

/// The HISTORY line of the imaging parameters.
pub fn imaging_history(cfg: &ImagingConfig, wstacking: bool) -> String {
    format!(
        "weighting {}, epsilon {:e}, precision {}, w-stacking {}, channels {}{}",
        cfg.weighting_description(),
        cfg.epsilon,
        cfg.precision.name(),
        wstacking,
        cfg.channels
            .as_ref()
            .map_or("all".to_string(), |r| format!("{}:{}", r.start, r.end)),
        if cfg.per_channel {
            " per channel"
        } else {
            " MFS"
        }
    )
}

/// Cleans the Stokes I data of `vis` in memory (what `fxgrid image --niter` does for a
/// file): weights, the cell (`None`: [`auto_cell_of`]) and w-stacking as
/// [`crate::image::dirty_image_and_psf`] chooses them, then [`clean_planes`].
pub fn clean_visibilities(
    vis: &Visibilities,
    cfg: &ImagingConfig,
    clean_cfg: &CleanConfig,
    progress: &dyn Progress,
) -> Result<(CleanImages, Vec<PlaneReport>), DeconvolveError> {
    clean_cfg.validate()?;
    let channels = cfg.channels.clone().unwrap_or(0..vis.n_chan());
    let data = stokes_i(vis, channels.clone())?;
    let mut cfg = cfg.clone();
    let cell = match cfg.cell_rad {
        Some(c) => c,
        None => auto_cell_of(&data)?,
    };
    cfg.cell_rad = Some(cell);
    cfg.channels = Some(channels.clone());
    let wstacking = cfg
        .wstacking
        .unwrap_or_else(|| needs_wstacking(&data, cfg.npix_x, cfg.npix_y, cell));
    let gcfg = cfg.grid_config(wstacking)?;
    let weights = imaging_weights(
        cfg.weighting,
        cfg.weight_rank_filter,
        &gcfg,
        data.uvw_m.view(),
        &data.freqs_hz,
        Some(data.weight.view()),
        Some(data.flags.view()),
    )?;
    let meta = vis.meta();
    let date_obs =
        meta.times_jd_utc.first().copied().unwrap_or(0.0) - 0.5 * meta.int_time_s / 86_400.0;
    let geometry = cfg.geometry(
        meta.phase_centre,
        cell,
        &data.freqs_hz,
        meta.chan_width_hz,
        date_obs,
    );
    let planes = cfg.planes(channels.len());
    let history = [String::new(), imaging_history(&cfg, wstacking)];
    let weights = ndarray::Zip::from(&weights)
        .and(&data.flags)
        .map_collect(|&w, &f| gridded_weight(w, f));
    macro_rules! run {
        ($t:ty) => {{
            let weighted: Array2<Complex<$t>> = ndarray::Zip::from(&data.vis)
                .and(&weights)
                .map_collect(|v, &w| {
                    let w = w as f64;
                    Complex::new((v.re * w) as $t, (v.im * w) as $t)
                });
            let wv = WeightedVis {
                uvw_m: data.uvw_m.view(),
                freqs_hz: &data.freqs_hz,
                weighted: weighted.view(),
                weights: weights.view(),
            };
            clean_planes(&gcfg, &geometry, &planes, wv, clean_cfg, &history, progress)
        }};
    }
    match cfg.precision {
        Precision::F32 => run!(f32),
        Precision::F64 => run!(f64),
    }
}
