//! Deconvolving a UVH5 file: the selected Stokes I samples are read once (the passes of
//! [`super::image_uvh5`]) and held in memory, weighted, in the precision asked; each image
//! plane is then cleaned with one gridder plan for all its major cycles
//! ([`crate::deconvolve::clean_planes`]).

use std::path::Path;
use std::time::Instant;

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2, Zip};
use num_complex::Complex;

use super::{grid_blocks, prepare, FileImagingError, FileReport, FileSelection, Prepared};
use crate::deconvolve::{
    clean_planes, gridded_weight, imaging_history, CleanAssembly, CleanConfig, CleanImages,
    DeconvolveError, PlaneData, PlaneReport, ResidualImager, WeightedVis,
};
use crate::grid::{GridConfig, GridError, GridFloat, GridPlan, GridWorkspace, StageTimes};
use crate::image::ImagingConfig;
use crate::io::open_vis_source;
use crate::precision::Precision;
use crate::progress::{NoProgress, Progress};

/// What deconvolving a file did.
#[derive(Debug, Clone)]
pub struct CleanFileReport {
    /// Reading and selecting (the imaging report's gridder fields are empty).
    pub file: FileReport,
    /// Whether w-stacking was used.
    pub wstacking: bool,
    /// Each plane.
    pub planes: Vec<PlaneReport>,
    /// Bytes of visibilities, weights and uvw held in memory (0 when streamed).
    pub vis_bytes: usize,
    /// Whether the file was read again in every major cycle (the data exceeded the
    /// memory budget, [`FileSelection::vis_memory_bytes`]).
    pub streamed: bool,
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
    let reader = open_vis_source(path, sel.data_column.as_deref())?;
    let mut prep = prepare(reader.as_ref(), path, cfg, sel, 1, blocks)?;
    let t = Instant::now();
    let nchan = prep.plan.channels.len();
    let nrow = prep.rows_selected_all;
    let needed = nrow * (nchan * (std::mem::size_of::<Complex<T>>() + 4) + 24);
    let budget = sel.vis_memory_bytes.unwrap_or_else(default_vis_budget);
    if needed > budget {
        blocks.finish();
        return clean_streamed::<T>(prep, clean_cfg, cycles);
    }
    let mut held = Held::<T> {
        uvw_m: Array2::zeros((nrow, 3)),
        freqs_hz: prep.freqs().to_vec(),
        weighted: Array2::zeros((nrow, nchan)),
        weights: Array2::zeros((nrow, nchan)),
    };
    let mut next = 0usize;
    grid_blocks(
        &mut prep.plan,
        &prep.blocks,
        prep.uv_weights.as_ref(),
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
            streamed: false,
            load_s,
            clean_s,
        },
    ))
}

/// Half the memory the system says is available (`MemAvailable` of /proc/meminfo), or no
/// limit where that cannot be read.
fn default_vis_budget() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(usize::MAX, |kb| kb * 1024 / 2)
}

/// Cleans with the file read again for every image (dirty, PSF, each major cycle's
/// residual): memory is one block, the grids and the images, whatever the file's size.
fn clean_streamed<T: GridFloat>(
    mut prep: Prepared<'_>,
    clean_cfg: &CleanConfig,
    cycles: &dyn Progress,
) -> Result<(CleanImages, CleanFileReport), FileImagingError> {
    let t = Instant::now();
    let gcfg = prep.cfg.grid_config(prep.wstacking)?;
    let freqs = prep.freqs().to_vec();
    let geometry = prep.cfg.geometry(
        prep.plan.rephaser.target,
        prep.report.cell_rad,
        &freqs,
        prep.width_hz,
        prep.date_obs,
    );
    let planes = prep.cfg.planes(freqs.len());
    let mut out = CleanAssembly::new(planes.len(), &geometry);
    for (p, chans) in planes.iter().enumerate() {
        let mut data = Streamed::<T> {
            prep: &mut prep,
            gcfg: gcfg.clone(),
            chans: chans.clone(),
            wsum: 0.0,
            w2sum: 0.0,
            n_vis: 0,
            ws: GridWorkspace::new(),
            times: StageTimes::default(),
            calls: 0,
        };
        out.clean_plane(p, &mut data, &geometry, clean_cfg, cycles)?;
    }
    let history = [String::new(), imaging_history(&prep.cfg, prep.wstacking)];
    let (images, reports) = out.finish(&geometry, clean_cfg, &history);
    Ok((
        images,
        CleanFileReport {
            file: prep.report,
            wstacking: prep.wstacking,
            planes: reports,
            vis_bytes: 0,
            streamed: true,
            load_s: 0.0,
            clean_s: t.elapsed().as_secs_f64(),
        },
    ))
}

/// One plane's samples, read from the file again for every image.
struct Streamed<'p, 'r, T: GridFloat> {
    prep: &'p mut Prepared<'r>,
    gcfg: GridConfig,
    chans: Range<usize>,
    wsum: f64,
    w2sum: f64,
    n_vis: usize,
    ws: GridWorkspace<T>,
    times: StageTimes,
    calls: usize,
}

/// What a pass over the file makes.
enum Pass<'m> {
    Dirty,
    Psf,
    Residual(ArrayView2<'m, f32>),
}

impl<T: GridFloat> Streamed<'_, '_, T> {
    /// One pass: every block gridded with its own plan (for a residual, the model's
    /// visibilities predicted and subtracted first), summed, normalised by `Σ w`.
    fn pass(&mut self, what: Pass<'_>) -> Result<Array2<f32>, FileImagingError> {
        let Streamed {
            prep,
            gcfg,
            chans,
            ws,
            times,
            calls,
            ..
        } = self;
        let mut acc = Array2::<f64>::zeros((gcfg.npix_y, gcfg.npix_x));
        let model = match &what {
            Pass::Residual(m) => Some(m.mapv(|v| T::of_f64(v as f64))),
            _ => None,
        };
        let (mut wsum, mut w2sum, mut n_vis) = (0.0f64, 0.0f64, 0usize);
        grid_blocks(
            &mut prep.plan,
            &prep.blocks,
            prep.uv_weights.as_ref(),
            &mut prep.report,
            &NoProgress,
            &mut |d, w| {
                let w = Zip::from(w.slice(s![.., chans.clone()]))
                    .and(d.flags.slice(s![.., chans.clone()]))
                    .map_collect(|&w, &f| gridded_weight(w, f));
                if !w.iter().any(|&x| x > 0.0) {
                    return Ok(());
                }
                let excluded = w.mapv(|x| x <= 0.0);
                let plan = GridPlan::<T>::new(
                    gcfg,
                    d.uvw_m.view(),
                    &d.freqs_hz[chans.clone()],
                    None,
                    Some(excluded.view()),
                )?;
                times.add_plan(plan.plan_seconds());
                let mut vis: Array2<Complex<T>> = match &what {
                    Pass::Psf => w.mapv(|x| Complex::new(T::of_f64(x as f64), T::zero())),
                    _ => Zip::from(d.vis.slice(s![.., chans.clone()]))
                        .and(&w)
                        .map_collect(|v, &x| {
                            let x = x as f64;
                            Complex::new(T::of_f64(v.re * x), T::of_f64(v.im * x))
                        }),
                };
                if let Some(m) = &model {
                    let (pred, rep) = plan.dirty2vis(m.view(), ws)?;
                    times.add(&rep.times);
                    *calls += 1;
                    Zip::from(&mut vis)
                        .and(&pred)
                        .and(&w)
                        .par_for_each(|v, p, &x| {
                            let x = T::of_f64(x as f64);
                            *v = Complex::new(v.re - x * p.re, v.im - x * p.im);
                        });
                }
                let (img, rep) = plan.vis2dirty(vis.view(), ws)?;
                times.add(&rep.times);
                *calls += 1;
                Zip::from(&mut acc)
                    .and(&img)
                    .par_for_each(|a, &v| *a += v.as_f64());
                wsum += w.iter().map(|&x| x as f64).sum::<f64>();
                w2sum += w.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
                n_vis += plan.n_vis();
                Ok(())
            },
        )?;
        if wsum.is_nan() || wsum <= 0.0 {
            return Err(GridError::Empty(
                "every sample of the plane is flagged or has zero weight".into(),
            )
            .into());
        }
        (self.wsum, self.w2sum, self.n_vis) = (wsum, w2sum, n_vis);
        Ok(acc.mapv(|x| (x / wsum) as f32))
    }
}

/// A file error in a major cycle as a deconvolution error (gridding errors kept as such).
fn in_cycle(e: FileImagingError) -> DeconvolveError {
    match e {
        FileImagingError::Grid(g) => DeconvolveError::Grid(g),
        FileImagingError::Deconvolve(d) => d,
        other => DeconvolveError::Data(Box::new(other)),
    }
}

impl<T: GridFloat> ResidualImager for Streamed<'_, '_, T> {
    fn residual(&mut self, model: ArrayView2<'_, f32>) -> Result<Array2<f32>, DeconvolveError> {
        self.pass(Pass::Residual(model)).map_err(in_cycle)
    }
}

impl<T: GridFloat> PlaneData for Streamed<'_, '_, T> {
    fn dirty(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        self.pass(Pass::Dirty).map_err(in_cycle)
    }
    fn psf(&mut self) -> Result<Array2<f32>, DeconvolveError> {
        self.pass(Pass::Psf).map_err(in_cycle)
    }
    fn weight_sum(&self) -> f64 {
        self.wsum
    }
    fn weight_sq_sum(&self) -> f64 {
        self.w2sum
    }
    fn n_vis(&self) -> usize {
        self.n_vis
    }
    fn grid_stats(&self) -> (usize, StageTimes) {
        (self.calls, self.times)
    }
}

impl From<DeconvolveError> for FileImagingError {
    fn from(e: DeconvolveError) -> Self {
        FileImagingError::Deconvolve(e)
    }
}
