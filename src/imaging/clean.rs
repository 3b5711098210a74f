//! Deconvolving a UVH5 file: the selected Stokes I samples are read once (the passes of
//! [`super::image_uvh5`]) and held in memory, weighted, in the precision asked; each image
//! plane is then cleaned with one gridder plan for all its major cycles
//! ([`crate::deconvolve::clean_planes`]).

use std::path::Path;
use std::time::Instant;

use ndarray::{s, Array2};
use num_complex::Complex;

use super::{grid_blocks, prepare, FileImagingError, FileReport, FileSelection};
use crate::deconvolve::{
    clean_planes, gridded_weight, imaging_history, CleanConfig, CleanImages, DeconvolveError,
    PlaneReport, WeightedVis,
};
use crate::grid::GridFloat;
use crate::image::ImagingConfig;
use crate::io::uvh5::Uvh5Reader;
use crate::precision::Precision;
use crate::progress::Progress;

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
        self.uvw_m.len() * 8
            + self.weighted.len() * std::mem::size_of::<Complex<T>>()
            + self.weights.len() * 4
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
                    reason: format!(
                        "the file changed while it was read: more than the {nrow} rows counted"
                    ),
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
                    let w = gridded_weight(w, f);
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
    let geometry = prep.cfg.geometry(
        prep.plan.rephaser.target,
        cell,
        &held.freqs_hz,
        prep.width_hz,
        prep.date_obs,
    );
    let planes = prep.cfg.planes(nchan);
    let t = Instant::now();
    let history = [String::new(), imaging_history(&prep.cfg, prep.wstacking)];
    let data = WeightedVis {
        uvw_m: held.uvw_m.view(),
        freqs_hz: &held.freqs_hz,
        weighted: held.weighted.view(),
        weights: held.weights.view(),
    };
    let (images, reports) =
        clean_planes(&gcfg, &geometry, &planes, data, clean_cfg, &history, cycles)?;
    let clean_s = t.elapsed().as_secs_f64();
    let vis_bytes = held.bytes();
    Ok((
        images,
        CleanFileReport {
            file: prep.report,
            wstacking: prep.wstacking,
            planes: reports,
            vis_bytes,
            load_s,
            clean_s,
        },
    ))
}

impl From<DeconvolveError> for FileImagingError {
    fn from(e: DeconvolveError) -> Self {
        FileImagingError::Deconvolve(e)
    }
}
