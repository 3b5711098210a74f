//! Deconvolving a UVH5 file: the selected Stokes I samples are read once (the passes of
//! [`super::image_uvh5`]) and held in memory, weighted, in the precision asked; each image
//! plane is then cleaned with one gridder plan for all its major cycles
//! ([`crate::deconvolve`]).

use std::path::Path;
use std::time::Instant;

use ndarray::{s, Array2, Array3, Axis};
use num_complex::Complex;

use super::{grid_blocks, prepare, FileImagingError, FileReport, FileSelection};
use crate::deconvolve::{
    clean, fit_beam, restore, CleanConfig, CleanReport, DeconvolveError, Psf, VisResidual,
};
use crate::grid::{GridFloat, StageTimes};
use crate::image::{Beam, Image, ImagingConfig};
use crate::io::uvh5::Uvh5Reader;
use crate::precision::Precision;
use crate::progress::Progress;
use crate::sky::{Component, SkyModel};

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
}

impl CleanImages {
    /// The model's components as a sky model: one point per non-zero model pixel at the
    /// pixel's position, its flux at the plane's frequency, flat spectrum.
    pub fn components(&self) -> Result<SkyModel, crate::sky::SkyError> {
        let g = &self.model.geometry;
        let mut comps = Vec::new();
        for (p, plane) in self.model.data.axis_iter(Axis(0)).enumerate() {
            for ((r, c), &v) in plane.indexed_iter() {
                if v == 0.0 {
                    continue;
                }
                if let Some(radec) = g.pixel_to_radec(r as f64, c as f64) {
                    comps.push(Component {
                        ref_freq_hz: g.freqs_hz[p],
                        ..Component::point(radec, v as f64)
                    });
                }
            }
        }
        SkyModel::new(comps)
    }
}

/// What cleaning each plane did.
#[derive(Debug, Clone)]
pub struct PlaneReport {
    /// The clean's report.
    pub clean: CleanReport,
    /// The restoring beam.
    pub beam: Beam,
    /// Sum of the imaging weights.
    pub weight_sum: f64,
    /// Visibilities gridded.
    pub n_vis: usize,
    /// Gridder and degridder calls.
    pub grid_calls: usize,
    /// Their stage times, plan included.
    pub grid_times: StageTimes,
    /// Seconds making the dirty image and PSF.
    pub dirty_psf_s: f64,
}

/// What deconvolving a file did.
#[derive(Debug, Clone)]
pub struct CleanFileReport {
    /// Reading and selecting (the imaging report's gridder fields are empty).
    pub file: FileReport,
    /// Whether w-stacking was used.
    pub wstacking: bool,
    /// Each plane.
    pub planes: Vec<PlaneReport>,
    /// Bytes of visibilities, weights and uvw held in memory.
    pub vis_bytes: usize,
    /// Seconds reading the visibilities into memory.
    pub load_s: f64,
    /// Seconds cleaning (all planes, major cycles included).
    pub clean_s: f64,
}

/// Weighted Stokes I samples of a file held in memory.
struct Held<T: GridFloat> {
    uvw_m: Array2<f64>,
    freqs_hz: Vec<f64>,
    weighted: Array2<Complex<T>>,
    weights: Array2<f32>,
}

impl<T: GridFloat> Held<T> {
    fn bytes(&self) -> usize {
        self.uvw_m.len() * 8 + self.weighted.len() * std::mem::size_of::<Complex<T>>() + self.weights.len() * 4
    }
}

/// Dirty image, PSF and CLEAN of the Stokes I data of the UVH5 file `path`: the restored,
/// residual, model and PSF images. `blocks` hears of the passes over the file and
/// `cycles` of every major cycle of every plane.
pub fn clean_uvh5(
    path: &Path,
    cfg: &ImagingConfig,
    sel: &FileSelection,
    clean_cfg: &CleanConfig,
    blocks: &dyn Progress,
    cycles: &dyn Progress,
) -> Result<(CleanImages, CleanFileReport), FileImagingError> {
    clean_cfg.validate()?;
    match cfg.precision {
        Precision::F32 => clean_in::<f32>(path, cfg, sel, clean_cfg, blocks, cycles),
        Precision::F64 => clean_in::<f64>(path, cfg, sel, clean_cfg, blocks, cycles),
    }
}

fn clean_in<T: GridFloat>(
    path: &Path,
    cfg: &ImagingConfig,
    sel: &FileSelection,
    clean_cfg: &CleanConfig,
    blocks: &dyn Progress,
    cycles: &dyn Progress,
) -> Result<(CleanImages, CleanFileReport), FileImagingError> {
    let reader = Uvh5Reader::open(path)?;
    let mut prep = prepare(&reader, path, cfg, sel, 1, blocks)?;
    let t = Instant::now();
    let nchan = prep.plan.channels.len();
    let nrow = prep.rows_selected_all;
    let mut held = Held::<T> {
        uvw_m: Array2::zeros((nrow, 3)),
        freqs_hz: prep.freqs().to_vec(),
        weighted: Array2::zeros((nrow, nchan)),
        weights: Array2::zeros((nrow, nchan)),
    };
    let mut next = 0usize;
    let cfg_full = prep.cfg.clone();
    grid_blocks(
        &mut prep.plan,
        &prep.blocks,
        &cfg_full,
        prep.density.as_ref(),
        &mut prep.report,
        blocks,
        &mut |d, w| {
            let n = d.uvw_m.nrows();
            if next + n > nrow {
                return Err(FileImagingError::Io(crate::io::IoError::Format {
                    path: path.display().to_string(),
                    reason: format!("the file changed while it was read: more than the {nrow} rows counted"),
                }));
            }
            let rows = next..next + n;
            held.uvw_m.slice_mut(s![rows.clone(), ..]).assign(&d.uvw_m);
            ndarray::Zip::from(held.weighted.slice_mut(s![rows.clone(), ..]))
                .and(held.weights.slice_mut(s![rows, ..]))
                .and(&d.vis)
                .and(w)
                .and(&d.flags)
                .par_for_each(|hv, hw, v, &w, &f| {
                    let w = if f || !(w > 0.0) { 0.0 } else { w };
                    *hw = w;
                    let wf = w as f64;
                    *hv = Complex::new(T::of_f64(v.re * wf), T::of_f64(v.im * wf));
                });
            next += n;
            Ok(())
        },
    )?;
    blocks.finish();
    let load_s = t.elapsed().as_secs_f64();
    let held = Held {
        uvw_m: held.uvw_m.slice_move(s![..next, ..]),
        weighted: held.weighted.slice_move(s![..next, ..]),
        weights: held.weights.slice_move(s![..next, ..]),
        ..held
    };
    let gcfg = prep.cfg.grid_config(prep.wstacking)?;
    let cell = prep.report.cell_rad;
    let geometry = prep.cfg.geometry(prep.plan.rephaser.target, cell, &held.freqs_hz, prep.width_hz, prep.date_obs);
    let planes = prep.cfg.planes(nchan);
    let shape = (planes.len(), cfg.npix_y, cfg.npix_x);
    let (mut restored, mut residual, mut model, mut psf_cube) =
        (Array3::zeros(shape), Array3::zeros(shape), Array3::zeros(shape), Array3::zeros(shape));
    let mut reports = Vec::new();
    let t = Instant::now();
    for (p, chans) in planes.iter().enumerate() {
        let mut vr = VisResidual::new(
            &gcfg,
            held.uvw_m.view(),
            &held.freqs_hz,
            held.weighted.view(),
            held.weights.view(),
            chans.clone(),
        )?;
        let t_dirty = Instant::now();
        let psf_img = vr.psf()?;
        let dirty = vr.dirty()?;
        let dirty_psf_s = t_dirty.elapsed().as_secs_f64();
        let psf = Psf::new(psf_img.view(), clean_cfg.psf_patch)?;
        let beam = fit_beam(psf_img.view(), geometry.cell_x_rad, geometry.cell_y_rad)?;
        psf_cube.slice_mut(s![p, .., ..]).assign(&psf_img);
        drop(psf_img);
        let out = clean(dirty, &psf, clean_cfg, &mut vr, cycles)?;
        let mut rest = out.residual.clone();
        restore(rest.view_mut(), out.model.view(), &beam, geometry.cell_x_rad, geometry.cell_y_rad);
        restored.slice_mut(s![p, .., ..]).assign(&rest);
        residual.slice_mut(s![p, .., ..]).assign(&out.residual);
        model.slice_mut(s![p, .., ..]).assign(&out.model);
        reports.push(PlaneReport {
            clean: out.report,
            beam,
            weight_sum: vr.weight_sum(),
            n_vis: vr.plan().n_vis(),
            grid_calls: vr.calls,
            grid_times: vr.times.clone(),
            dirty_psf_s,
        });
    }
    let clean_s = t.elapsed().as_secs_f64();
    let history = history(&prep.cfg, prep.wstacking, clean_cfg, &reports);
    let image = |data: Array3<f32>, unit: &str, what: &str, beam: Option<Beam>| {
        let mut h = history.clone();
        h[0] = format!("fxgrid {} {what}", crate::VERSION);
        Image { geometry: geometry.clone(), data, unit: unit.into(), history: h, beam }
    };
    let beam0 = reports.first().map(|r| r.beam);
    let images = CleanImages {
        restored: image(restored, "JY/BEAM", "restored image (CLEAN)", beam0),
        residual: image(residual, "JY/BEAM", "residual image (CLEAN)", beam0),
        model: image(model, "JY/PIXEL", "CLEAN model", None),
        psf: image(psf_cube, "JY/BEAM", "point spread function", None),
    };
    let vis_bytes = held.bytes();
    Ok((
        images,
        CleanFileReport { file: prep.report, wstacking: prep.wstacking, planes: reports, vis_bytes, load_s, clean_s },
    ))
}

/// FITS HISTORY lines: every imaging and clean parameter, and how the clean ended.
fn history(cfg: &ImagingConfig, wstacking: bool, c: &CleanConfig, planes: &[PlaneReport]) -> Vec<String> {
    let mut h = vec![
        String::new(),
        format!(
            "weighting {}, epsilon {:e}, precision {}, w-stacking {}, channels {}{}",
            cfg.weighting.describe(),
            cfg.epsilon,
            cfg.precision.name(),
            wstacking,
            cfg.channels.as_ref().map_or("all".to_string(), |r| format!("{}:{}", r.start, r.end)),
            if cfg.per_channel { " per channel" } else { " MFS" }
        ),
        format!(
            "clean niter {} gain {} mgain {} threshold {} Jy auto-threshold {} auto-mask {} max-major {} psf-patch {}",
            c.niter,
            c.gain,
            c.mgain,
            c.threshold_jy,
            c.auto_threshold.map_or("none".into(), |s| format!("{s} sigma")),
            c.auto_mask.map_or("none".into(), |s| format!("{s} sigma")),
            c.max_major,
            c.psf_patch.map_or("auto".into(), |p| p.to_string()),
        ),
    ];
    for (i, p) in planes.iter().enumerate() {
        h.push(format!(
            "plane {i}: {} iterations, {} major cycles, {}; sigma {:.4e} Jy/beam, model flux {:.6} Jy; beam {:.3}x{:.3} arcsec PA {:.2} deg",
            p.clean.iterations,
            p.clean.cycles.len(),
            p.clean.stop.describe(),
            p.clean.sigma,
            p.clean.model_flux_jy,
            p.beam.major_rad.to_degrees() * 3600.0,
            p.beam.minor_rad.to_degrees() * 3600.0,
            p.beam.pa_rad.to_degrees()
        ));
    }
    h
}

impl From<DeconvolveError> for FileImagingError {
    fn from(e: DeconvolveError) -> Self {
        FileImagingError::Deconvolve(e)
    }
}
