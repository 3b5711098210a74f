//! Imaging a UVH5 file as it streams: blocks of baseline-times are read, selected,
//! re-phased, combined into Stokes I and gridded, so that memory is the grids plus a
//! bounded batch of data however large the file. Blocks are gathered into batches of up
//! to [`FileSelection::vis_memory_bytes`] (default [`DIRTY_BATCH_BYTES`]) and each batch
//! is one gridder call: with w-stacking every call transforms and corrects every w-plane,
//! so the time depends on the number of batches, not on the block size read.
//!
//! Two passes over the file. The first reads the per-baseline-time metadata, flags and
//! nsamples (not the visibilities): it fixes the phase centre (default: the file's first
//! sidereal centre; for drift-scan data the zenith at the middle of the observation), the
//! uv and w extents after re-phasing (for the default cell size and the w-stacking
//! choice), and the uv density that uniform and Briggs weighting need. The second reads
//! the visibilities and grids them into the dirty image and PSF ([`DirtyImager`]).
//!
//! Re-phasing follows pyuvdata: each baseline's uvw is taken back to ECEF with the frame
//! the file states (`lst_array`, `phase_center_app_ra/dec`, `phase_center_frame_pa`) and
//! projected onto the frame of the new centre, and the visibility is multiplied by
//! `exp(−2πi (w_new − w_old) ν / c)`. Rows already phased to the requested centre are left
//! exactly as stored.
//!
//! Selection: channels, a baseline-length range (|uvw|, m), a time range (JD);
//! autocorrelations are never imaged. Stokes I is `(XX + YY)/2`, `(RR + LL)/2` or the
//! file's pseudo-Stokes I, with weight `4 / (1/w_a + 1/w_b)` and flagged where either
//! product is; with only one of the two parallel-hand products, that product is used.
//! Non-finite visibilities are flagged and counted.

mod clean;

pub use clean::{clean_uvh5, CleanFileReport};

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use ndarray::{s, Array2, ArrayView1, ArrayViewMut1, Zip};
use num_complex::{Complex, Complex64};
use thiserror::Error;

use crate::grid::weighting::{data_weights, UvDensity, UvWeights, Weighting};
use crate::grid::{GridConfig, GridError, GridFloat, Precision};
use crate::image::{
    auto_cell_rad, w_term_matters, DirtyImager, Image, ImagingConfig, ImagingReport, StokesI,
};
use crate::io::uvh5::{BltMeta, CentreKind, PolProduct, Uvh5Block};
use crate::io::IoError;
use crate::io::{open_vis_source, VisSource};
use crate::progress::Progress;
use crate::telescope::{EarthOrientation, ObserverFrame, RaDec, UvwFrame, SPEED_OF_LIGHT_M_S};
use crate::util::timed;

/// What can go wrong imaging a file.
#[derive(Debug, Error)]
pub enum FileImagingError {
    /// Reading the file.
    #[error(transparent)]
    Io(#[from] IoError),
    /// Selecting, weighting or gridding.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// Time and astrometry of re-phasing.
    #[error(transparent)]
    Telescope(#[from] crate::telescope::TelescopeError),
    /// Deconvolving.
    #[error(transparent)]
    Deconvolve(crate::deconvolve::DeconvolveError),
}

/// How much of a UVH5 file to image, and where.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileSelection {
    /// Phase centre of the image (`None`: module docs).
    pub phase_centre: Option<RaDec>,
    /// Baseline lengths `|uvw|` to keep (m, half-open).
    pub baseline_m: Option<Range<f64>>,
    /// Times to keep (JD UTC, half-open).
    pub time_jd: Option<Range<f64>>,
    /// Samples (baseline-time × channel × polarisation) per block read (`0`: 2²³).
    pub block_samples: usize,
    /// Most bytes of visibilities, weights and uvw held in memory. Deconvolution holds
    /// them all within it, or else reads the file again for every major cycle (`None`:
    /// half the memory the system has available); a dirty image grids batches of blocks
    /// up to it in one call each (`None`: [`DIRTY_BATCH_BYTES`]).
    pub vis_memory_bytes: Option<usize>,
    /// A Measurement Set's visibility column (`DATA`, `CORRECTED_DATA` or `MODEL_DATA`;
    /// `None`: `DATA`). UVH5 files have one set of visibilities and refuse any other.
    pub data_column: Option<String>,
}

/// Bytes of samples a dirty image grids in one call, by default (about twenty million
/// samples in f32, ten million in f64): few calls for usual files, and memory bounded for
/// any file.
pub const DIRTY_BATCH_BYTES: usize = 256 << 20;

/// Blocks gathered for one gridder call, as the gridder takes them: uvw, visibilities in
/// the gridding precision and imaging weights (0 where flagged). Allocated once, for the
/// rows of the budget (or of the whole selection, if fewer), and filled in place.
struct Batch<T: GridFloat> {
    uvw_m: Array2<f64>,
    vis: Array2<Complex<T>>,
    weights: Array2<f32>,
    rows: usize,
}

impl<T: GridFloat> Batch<T> {
    /// Bytes one row takes.
    fn row_bytes(nchan: usize) -> usize {
        24 + nchan * (std::mem::size_of::<Complex<T>>() + 4)
    }

    /// A batch of at most `budget` bytes (and at least one row), for at most `rows_all`
    /// rows of `nchan` channels.
    fn new(budget: usize, rows_all: usize, nchan: usize) -> Self {
        let cap = (budget / Self::row_bytes(nchan)).clamp(1, rows_all.max(1));
        Batch {
            uvw_m: Array2::zeros((cap, 3)),
            vis: Array2::zeros((cap, nchan)),
            weights: Array2::zeros((cap, nchan)),
            rows: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.uvw_m.nrows()
    }

    /// Copies a block in (room made by the caller: at most the capacity's free rows, or
    /// a block larger than the whole batch into an empty one, which then grows to it).
    fn push(&mut self, d: &StokesI, w: &Array2<f32>) {
        let n = d.uvw_m.nrows();
        if self.rows + n > self.capacity() {
            debug_assert_eq!(self.rows, 0, "flushed before a block that does not fit");
            *self = Batch::new(usize::MAX, n, d.freqs_hz.len());
        }
        let rows = self.rows..self.rows + n;
        self.uvw_m.slice_mut(s![rows.clone(), ..]).assign(&d.uvw_m);
        Zip::from(self.vis.slice_mut(s![rows.clone(), ..]))
            .and(self.weights.slice_mut(s![rows, ..]))
            .and(&d.vis)
            .and(w)
            .and(&d.flags)
            .par_for_each(|bv, bw, v, &w, &f| {
                *bv = Complex::new(T::of_f64(v.re), T::of_f64(v.im));
                *bw = if f { 0.0 } else { w };
            });
        self.rows += n;
    }

    /// Grids the batch in one call and empties it.
    fn grid(&mut self, imager: &mut DirtyImager, freqs_hz: &[f64]) -> Result<(), GridError> {
        let n = self.rows;
        self.rows = 0;
        imager.add_samples(
            self.uvw_m.slice(s![..n, ..]),
            freqs_hz,
            self.vis.slice(s![..n, ..]),
            self.weights.slice(s![..n, ..]),
        )
    }
}

/// What imaging a file did, beyond [`ImagingReport`].
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The imaging report (gridder reports of every block and plane).
    pub imaging: ImagingReport,
    /// Blocks read per pass.
    pub blocks: usize,
    /// Gridder calls of a dirty image (batches of blocks, module docs).
    pub batches: usize,
    /// Baseline-times in the file.
    pub n_blts: usize,
    /// Baseline-times imaged: cross-correlations in the time and length ranges with at
    /// least one unflagged sample of non-zero weight.
    pub n_rows_selected: usize,
    /// Stokes I samples flagged because a visibility was not finite.
    pub n_nonfinite: usize,
    /// Whether any row was re-phased.
    pub rephased: bool,
    /// The image's phase centre.
    pub phase_centre: RaDec,
    /// Cell size used (rad).
    pub cell_rad: f64,
    /// Seconds in the first pass (metadata, flags, weights).
    pub scan_s: f64,
    /// Seconds reading visibilities in the second pass.
    pub read_s: f64,
    /// Seconds gridding in the second pass.
    pub grid_s: f64,
}

/// Which products make Stokes I: indices into the file's polarisations.
#[derive(Debug, Clone, Copy)]
enum StokesSource {
    Pair(usize, usize),
    One(usize),
}

fn stokes_source(pols: &[PolProduct]) -> Result<StokesSource, GridError> {
    let at = |p: PolProduct| pols.iter().position(|&q| q == p);
    Ok(
        match (at(PolProduct::I), at(PolProduct::XX), at(PolProduct::YY)) {
            (Some(i), _, _) => StokesSource::One(i),
            (_, Some(x), Some(y)) => StokesSource::Pair(x, y),
            _ => match (
                at(PolProduct::RR),
                at(PolProduct::LL),
                at(PolProduct::XX).or(at(PolProduct::YY)),
            ) {
                (Some(r), Some(l), _) => StokesSource::Pair(r, l),
                (Some(one), None, _) | (None, Some(one), _) | (None, None, Some(one)) => {
                    StokesSource::One(one)
                }
                _ => {
                    return Err(GridError::Empty(format!(
                        "Stokes I needs I, XX and/or YY, or RR and/or LL; the file has {:?}",
                        pols.iter().map(|p| p.name()).collect::<Vec<_>>()
                    )))
                }
            },
        },
    )
}

/// Per-time frames for re-phasing, computed once per distinct time and centre.
struct Rephaser {
    target: RaDec,
    site: crate::telescope::LatLonHeight,
    new_frames: HashMap<u64, UvwFrame>,
}

impl Rephaser {
    fn new_frame(&mut self, jd: f64) -> Result<UvwFrame, FileImagingError> {
        if let Some(f) = self.new_frames.get(&jd.to_bits()) {
            return Ok(*f);
        }
        let e = EarthOrientation::new(jd)?;
        let f = UvwFrame::new(&ObserverFrame::new(e, self.site), self.target);
        self.new_frames.insert(jd.to_bits(), f);
        Ok(f)
    }

    /// `(uvw at the target, w_new − w_old)` of row `k`, or `None` when the row is phased
    /// to the target already.
    fn rephase(
        &mut self,
        meta: &BltMeta,
        k: usize,
        same_centre: bool,
    ) -> Result<Option<([f64; 3], f64)>, FileImagingError> {
        if same_centre {
            return Ok(None);
        }
        let old = UvwFrame::from_apparent(
            self.site,
            meta.lst_rad[k],
            meta.app_ra_rad[k],
            meta.app_dec_rad[k],
            meta.frame_pa_rad[k],
        );
        let uvw = [0, 1, 2].map(|i| meta.uvw_m[[k, i]]);
        let b = old.unproject(uvw);
        let new = self.new_frame(meta.time_jd[k])?.project(b);
        Ok(Some(([new.u_m, new.v_m, new.w_m], new.w_m - uvw[2])))
    }
}

/// The rows of a block that are imaged, with their uvw at the target and w shift.
struct Rows {
    index: Vec<usize>,
    uvw_m: Array2<f64>,
    dw_m: Vec<f64>,
}

struct Plan<'a> {
    reader: &'a dyn VisSource,
    sel: &'a FileSelection,
    channels: Range<usize>,
    source: StokesSource,
    rephaser: Rephaser,
    /// Catalog ids whose rows are phased to the target already.
    same_ids: Vec<i64>,
}

impl Plan<'_> {
    fn rows(&mut self, meta: &BltMeta) -> Result<Rows, FileImagingError> {
        let mut index = Vec::new();
        let mut uvw = Vec::new();
        let mut dw = Vec::new();
        for k in 0..meta.len() {
            if meta.ant_1[k] == meta.ant_2[k] {
                continue;
            }
            if let Some(t) = &self.sel.time_jd {
                if !t.contains(&meta.time_jd[k]) {
                    continue;
                }
            }
            let len = (0..3)
                .map(|i| meta.uvw_m[[k, i]].powi(2))
                .sum::<f64>()
                .sqrt();
            if let Some(b) = &self.sel.baseline_m {
                if !b.contains(&len) {
                    continue;
                }
            }
            let same = self.same_ids.contains(&meta.phase_centre_id[k]);
            let (u, d) = match self.rephaser.rephase(meta, k, same)? {
                Some((u, d)) => (u, d),
                None => ([0, 1, 2].map(|i| meta.uvw_m[[k, i]]), 0.0),
            };
            index.push(k);
            uvw.extend_from_slice(&u);
            dw.push(d);
        }
        let n = index.len();
        Ok(Rows {
            index,
            uvw_m: Array2::from_shape_vec((n, 3), uvw).expect("3 per row"),
            dw_m: dw,
        })
    }

    /// Stokes I of the selected rows of `block` (visibilities only when read).
    fn stokes(&self, block: &Uvh5Block, rows: &Rows, n_nonfinite: &mut usize) -> StokesI {
        let nchan = self.channels.len();
        let n = rows.index.len();
        let freqs = &self.reader.header().freqs_hz[self.channels.clone()];
        let mut out = StokesI {
            uvw_m: rows.uvw_m.clone(),
            freqs_hz: freqs.to_vec(),
            vis: Array2::zeros((n, nchan)),
            weight: Array2::zeros((n, nchan)),
            flags: Array2::from_elem((n, nchan), true),
        };
        let mut nonfinite = vec![0usize; n];
        let source = self.source;
        Zip::from(out.vis.rows_mut())
            .and(out.weight.rows_mut())
            .and(out.flags.rows_mut())
            .and(&ArrayView1::from(&rows.index))
            .and(&ArrayView1::from(&rows.dw_m))
            .and(&mut ArrayViewMut1::from(&mut nonfinite[..]))
            .par_for_each(|mut vis, mut weight, mut flags, &k, &dw, bad| {
                for c in 0..nchan {
                    let get = |p: usize| {
                        let v = block
                            .vis
                            .as_ref()
                            .map_or(Complex64::new(0.0, 0.0), |v| v[[k, c, p]]);
                        let w = block.nsamples[[k, c, p]];
                        (v, w, block.flags[[k, c, p]] || w <= 0.0 || !w.is_finite())
                    };
                    let (v, w, f) = match source {
                        StokesSource::One(p) => get(p),
                        StokesSource::Pair(a, b) => {
                            let (va, wa, fa) = get(a);
                            let (vb, wb, fb) = get(b);
                            let f = fa || fb;
                            let w = if f { 0.0 } else { 4.0 / (1.0 / wa + 1.0 / wb) };
                            ((va + vb) * 0.5, w, f)
                        }
                    };
                    let finite = v.re.is_finite() && v.im.is_finite();
                    if !f && !finite {
                        *bad += 1;
                    }
                    vis[c] = if !finite {
                        Complex64::new(0.0, 0.0)
                    } else if dw != 0.0 {
                        let turns = -dw * freqs[c] / SPEED_OF_LIGHT_M_S;
                        v * Complex::from_polar(1.0, std::f64::consts::TAU * turns)
                    } else {
                        v
                    };
                    weight[c] = w;
                    flags[c] = f || !finite;
                }
            });
        *n_nonfinite += nonfinite.iter().sum::<usize>();
        out
    }
}

/// Dirty image and PSF of the Stokes I data of the UVH5 file `path` (module docs).
/// `cfg.cell_rad` of `None` chooses the cell ([`auto_cell_rad`]). `progress` hears of
/// every block read, in every pass. Stages: open the file and fix the selection, scan
/// the extents, choose the cell and w-stacking, measure the uv density for uniform or
/// Briggs weighting, grid, and normalise.
pub fn image_uvh5(
    path: &Path,
    cfg: &ImagingConfig,
    sel: &FileSelection,
    progress: &dyn Progress,
) -> Result<(Image, Image, FileReport), FileImagingError> {
    let (dirty, psf, report) = image_file(path, cfg, sel, true, progress)?;
    Ok((dirty, psf.expect("the PSF was asked for"), report))
}

/// [`image_uvh5`] without the PSF (`psf` false: half the gridding), or with it.
pub fn image_file(
    path: &Path,
    cfg: &ImagingConfig,
    sel: &FileSelection,
    psf: bool,
    progress: &dyn Progress,
) -> Result<(Image, Option<Image>, FileReport), FileImagingError> {
    match cfg.precision {
        Precision::F32 => image_in::<f32>(path, cfg, sel, psf, progress),
        Precision::F64 => image_in::<f64>(path, cfg, sel, psf, progress),
    }
}

fn image_in<T: GridFloat>(
    path: &Path,
    cfg: &ImagingConfig,
    sel: &FileSelection,
    psf: bool,
    progress: &dyn Progress,
) -> Result<(Image, Option<Image>, FileReport), FileImagingError> {
    let reader = open_vis_source(path, sel.data_column.as_deref())?;
    let mut prep = prepare(reader.as_ref(), path, cfg, sel, 2, progress)?;
    let mut imager = DirtyImager::new(&prep.cfg, prep.wstacking, prep.plan.channels.clone())?;
    if !psf {
        imager = imager.without_psf();
    }
    imager.report.prepare_s = prep.report.scan_s;
    let freqs = prep.freqs().to_vec();
    // Pass 2: the visibilities, gridded a batch of blocks at a time.
    let budget = sel.vis_memory_bytes.unwrap_or(DIRTY_BATCH_BYTES);
    let mut batch = Batch::<T>::new(budget, prep.rows_selected_all, freqs.len());
    let mut batches = 0;
    grid_blocks(
        &mut prep.plan,
        &prep.blocks,
        prep.uv_weights.as_ref(),
        &mut prep.report,
        progress,
        &mut |d, w| {
            if batch.rows > 0 && batch.rows + d.uvw_m.nrows() > batch.capacity() {
                batch.grid(&mut imager, &freqs)?;
                batches += 1;
            }
            batch.push(d, w);
            Ok(())
        },
    )?;
    // Every block is weighted: the weighting grid is done with before the last call.
    prep.uv_weights = None;
    if batch.rows > 0 {
        timed(&mut prep.report.grid_s, || batch.grid(&mut imager, &freqs))?;
        batches += 1;
    }
    drop(batch);
    prep.report.batches = batches;
    let (dirty, psf, rep) = imager.finish(
        prep.plan.rephaser.target,
        prep.freqs(),
        prep.width_hz,
        prep.date_obs,
    )?;
    progress.finish();
    prep.report.imaging = rep;
    Ok((dirty, psf, prep.report))
}

/// A file opened for imaging: the selection made concrete, the cell and w-stacking
/// chosen, the uv density measured (uniform and Briggs weighting).
struct Prepared<'a> {
    plan: Plan<'a>,
    blocks: Vec<Range<usize>>,
    /// The configuration with the cell and channels filled in.
    cfg: ImagingConfig,
    wstacking: bool,
    /// Uniform or Briggs weighting's factors.
    uv_weights: Option<UvWeights>,
    report: FileReport,
    /// Selected rows (with or without unflagged samples).
    rows_selected_all: usize,
    width_hz: f64,
    date_obs: f64,
}

impl Prepared<'_> {
    fn freqs(&self) -> &[f64] {
        &self.plan.reader.header().freqs_hz[self.plan.channels.clone()]
    }
}

/// Opens the selection, scans the extents (pass 1), chooses the cell and w-stacking and
/// measures the uv density (a pass for uniform or Briggs weighting). `progress` is told of
/// every block of these passes and of `passes_after` more passes.
fn prepare<'a>(
    reader: &'a dyn VisSource,
    path: &Path,
    cfg: &ImagingConfig,
    sel: &'a FileSelection,
    passes_after: usize,
    progress: &dyn Progress,
) -> Result<Prepared<'a>, FileImagingError> {
    let t0 = Instant::now();
    cfg.weighting.validate()?;
    reader.check_counts()?;
    let (mut plan, blocks, (t_min, _)) = open_plan(reader, cfg, sel)?;
    let h = reader.header();
    let channels = plan.channels.clone();
    let freqs = &h.freqs_hz[channels.clone()];
    let fmax = freqs.iter().copied().fold(0.0, f64::max);
    let passes = if cfg.weighting == Weighting::Natural {
        passes_after
    } else {
        passes_after + 1
    };
    progress.start(((passes + 1) * blocks.len()) as u64, "blocks");
    let mut report = FileReport {
        blocks: blocks.len(),
        n_blts: h.n_blts,
        phase_centre: plan.rephaser.target,
        ..Default::default()
    };

    // Pass 1: extents; then the cell and w-stacking.
    let ext = scan_extents(&mut plan, &blocks, progress)?;
    report.n_rows_selected = ext.rows;
    if ext.rows == 0 {
        return Err(GridError::Empty(format!(
            "{}: no unflagged cross-correlation with non-zero weight in the selection",
            path.display()
        ))
        .into());
    }
    let mut cfg = cfg.clone();
    cfg.channels = Some(channels.clone());
    let cell_rad = match cfg.cell_rad {
        Some(c) => c,
        None => auto_cell_rad(ext.uv_max_m * fmax / SPEED_OF_LIGHT_M_S)?,
    };
    cfg.cell_rad = Some(cell_rad);
    report.cell_rad = cell_rad;
    let wstacking = cfg.wstacking.unwrap_or_else(|| {
        let wmax_lambda = ext.w_max_m * fmax / SPEED_OF_LIGHT_M_S;
        w_term_matters(wmax_lambda, cfg.npix_x, cfg.npix_y, cell_rad)
    });
    let gcfg = cfg.grid_config(wstacking)?;
    // Uniform or Briggs weighting: a pass for the uv density.
    let uv_weights = match cfg.weighting {
        Weighting::Natural => None,
        _ => Some(uv_weights(&mut plan, &blocks, &cfg, &gcfg, progress)?),
    };
    report.scan_s = t0.elapsed().as_secs_f64();
    let width_hz = h.channel_width_hz[channels.start].abs();
    let date_obs = t_min - 0.5 * first_int_time(reader)? / 86_400.0;
    Ok(Prepared {
        plan,
        blocks,
        cfg,
        wstacking,
        uv_weights,
        report,
        rows_selected_all: ext.rows_all,
        width_hz,
        date_obs,
    })
}

/// The selection made concrete: the channels (checked), the Stokes I products, the
/// blocks of baseline-times, the time range, and the target phase centre (given, the
/// file's first sidereal centre, or the zenith at mid time), with the catalog entries
/// already phased to it.
#[allow(clippy::type_complexity)]
fn open_plan<'a>(
    reader: &'a dyn VisSource,
    cfg: &ImagingConfig,
    sel: &'a FileSelection,
) -> Result<(Plan<'a>, Vec<Range<usize>>, (f64, f64)), FileImagingError> {
    let h = reader.header();
    let nf = h.n_freqs();
    let channels = cfg.channels.clone().unwrap_or(0..nf);
    if channels.is_empty() || channels.end > nf {
        return Err(GridError::InvalidConfig {
            field: "channels",
            value: format!("{}:{}", channels.start, channels.end),
            expected: format!("a non-empty range within 0:{nf}"),
        }
        .into());
    }
    let source = stokes_source(&h.pols)?;
    let block_samples = if sel.block_samples == 0 {
        1 << 23
    } else {
        sel.block_samples
    };
    let blocks = reader.blocks(channels.len(), block_samples);
    let (t_min, t_max) = time_range(reader, &blocks)?;
    let target = match sel.phase_centre {
        Some(p) => p,
        None => match h.phase_centres.iter().find_map(|c| c.radec()) {
            Some(p) => p,
            None => crate::telescope::zenith_icrs(h.site, 0.5 * (t_min + t_max))?,
        },
    };
    let same_ids: Vec<i64> = h
        .phase_centres
        .iter()
        .filter(|c| {
            matches!(c.kind, CentreKind::Sidereal { .. })
                && c.radec().is_some_and(|p| p.separation_rad(target) < 1e-12)
        })
        .map(|c| c.id)
        .collect();
    let plan = Plan {
        reader,
        sel,
        channels,
        source,
        rephaser: Rephaser {
            target,
            site: h.site,
            new_frames: HashMap::new(),
        },
        same_ids,
    };
    Ok((plan, blocks, (t_min, t_max)))
}

/// Calls `f` with the selected Stokes I data of each block, metadata, flags and weights
/// only (no visibilities), telling `progress` of every block.
fn scan(
    plan: &mut Plan<'_>,
    blocks: &[Range<usize>],
    progress: &dyn Progress,
    f: &mut dyn FnMut(&StokesI),
) -> Result<(), FileImagingError> {
    for b in blocks {
        let block = plan
            .reader
            .read_block(b.clone(), plan.channels.clone(), false)?;
        let rows = plan.rows(&block.meta)?;
        if !rows.index.is_empty() {
            let mut ignored = 0;
            f(&plan.stokes(&block, &rows, &mut ignored));
        }
        progress.advance(1);
    }
    Ok(())
}

/// What the first pass finds.
struct Extents {
    /// Longest projected baseline |(u, v)| (m).
    uv_max_m: f64,
    /// Largest |w| (m).
    w_max_m: f64,
    /// Baseline-times with at least one unflagged sample of non-zero weight.
    rows: usize,
    /// Baseline-times selected (cross-correlations in the time and length ranges).
    rows_all: usize,
}

/// Pass 1: the uv and w extents after re-phasing, over the rows that will be imaged.
fn scan_extents(
    plan: &mut Plan<'_>,
    blocks: &[Range<usize>],
    progress: &dyn Progress,
) -> Result<Extents, FileImagingError> {
    let mut ext = Extents {
        uv_max_m: 0.0,
        w_max_m: 0.0,
        rows: 0,
        rows_all: 0,
    };
    scan(plan, blocks, progress, &mut |d: &StokesI| {
        ext.rows_all += d.uvw_m.nrows();
        for (r, row) in d.uvw_m.outer_iter().enumerate() {
            if (0..d.freqs_hz.len()).any(|c| !d.flags[[r, c]] && d.weight[[r, c]] > 0.0) {
                ext.uv_max_m = ext.uv_max_m.max(row[0].hypot(row[1]));
                ext.w_max_m = ext.w_max_m.max(row[2].abs());
                ext.rows += 1;
            }
        }
    })?;
    Ok(ext)
}

/// The uniform or Briggs weights of the data (the uv density of their data weights on
/// the weighting grid of the image).
fn uv_weights(
    plan: &mut Plan<'_>,
    blocks: &[Range<usize>],
    cfg: &ImagingConfig,
    gcfg: &GridConfig,
    progress: &dyn Progress,
) -> Result<UvWeights, FileImagingError> {
    let mut dens = UvDensity::new(gcfg);
    scan(plan, blocks, progress, &mut |d: &StokesI| {
        let w = data_weights(
            d.uvw_m.nrows(),
            d.freqs_hz.len(),
            Some(d.weight.view()),
            Some(d.flags.view()),
        );
        dens.add(d.uvw_m.view(), &d.freqs_hz, w.view());
    })?;
    Ok(dens.into_weights(cfg.weighting, cfg.weight_rank_filter)?)
}

/// Pass 2: reads, selects, re-phases, forms Stokes I and weights every block, and gives
/// it with its imaging weights to `sink` (the gridder, or memory for deconvolution).
#[allow(clippy::type_complexity)]
fn grid_blocks(
    plan: &mut Plan<'_>,
    blocks: &[Range<usize>],
    uv_weights: Option<&UvWeights>,
    report: &mut FileReport,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(&StokesI, &Array2<f32>) -> Result<(), FileImagingError>,
) -> Result<(), FileImagingError> {
    for b in blocks {
        progress.advance(1);
        let block = timed(&mut report.read_s, || {
            plan.reader
                .read_block(b.clone(), plan.channels.clone(), true)
        })?;
        let t = Instant::now();
        let rows = plan.rows(&block.meta)?;
        if rows.index.is_empty() {
            continue;
        }
        report.rephased |= rows.dw_m.iter().any(|&d| d != 0.0);
        let d = plan.stokes(&block, &rows, &mut report.n_nonfinite);
        drop(block);
        let mut w = data_weights(
            d.uvw_m.nrows(),
            d.freqs_hz.len(),
            Some(d.weight.view()),
            Some(d.flags.view()),
        );
        if let Some(uw) = uv_weights {
            uw.reweight(d.uvw_m.view(), &d.freqs_hz, w.view_mut());
        }
        sink(&d, &w)?;
        report.grid_s += t.elapsed().as_secs_f64();
    }
    Ok(())
}

fn time_range(reader: &dyn VisSource, blocks: &[Range<usize>]) -> Result<(f64, f64), IoError> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for b in blocks {
        for t in reader.read_times(b.clone())? {
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    Ok((lo, hi))
}

fn first_int_time(reader: &dyn VisSource) -> Result<f64, IoError> {
    Ok(reader.read_meta(0..1)?.integration_time_s[0])
}
