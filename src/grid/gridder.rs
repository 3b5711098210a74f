//! The gridder and degridder: validation, bucketing of visibilities into uv tiles (and
//! w-planes), the per-plane loops and the image-plane corrections.
//!
//! Gridding computes, for every image pixel `(row r, column c)` with `l = −(c − nx/2)·Δx`
//! and `m = (r − ny/2)·Δy`,
//! `I(r, c) = Re Σ_k w_k V_k exp(−2πi (u_k l + v_k m + w_k (n − 1)))`
//! (the w term only with w-stacking); degridding is its exact adjoint,
//! `V_k = w_k Σ_{r,c} I(r, c) exp(+2πi (u_k l + v_k m + w_k (n − 1)))`.
//!
//! How: the grid's u axis runs along `−u` so that grid columns map to image columns
//! directly. Each visibility touches `W × W` cells starting at a cell whose tile (a
//! [`super::params::TILE`]² block) it is bucketed in; tiles are processed in nine
//! colours, tiles of one colour in parallel, each into a private buffer added to the grid
//! afterwards: tiles of one colour are two tiles apart, so their buffers never overlap and
//! no atomics are needed. With w-stacking, visibilities with `w < 0` are replaced by their
//! Hermitian twins `(−u, −v, −w, V*)`, the phase of the image's mid n − 1 is applied to each
//! visibility, and planes `w_j = w0 + j·dw` are gridded one at a time with a third kernel
//! factor, transformed, multiplied by `exp(−2πi w_j (n − 1 − centre))` and summed.

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Axis};
use num_complex::Complex;
use rayon::prelude::*;

use super::kernel::{EsKernel, InverseFourier, PolyKernel};
use super::kernels::{interpolate, padded, spread, weight_one, weights2, with_support};
use super::params::{choose, GridParams, ParamInputs, TILE};
use super::{GridConfig, GridError, GridFloat, GridReport, StageTimes};
use crate::image::fft::{prefetch, transpose_map, GridFft, SharedMut};
use crate::telescope::SPEED_OF_LIGHT_M_S;

/// How many entries ahead the tile loops prefetch uvw.
const PREFETCH: usize = 8;

/// Image rows moved at a time between the image and a block of column transforms.
const IMAGE_ROW_CHUNK: usize = 16;

/// Runs `f` over the image's rows `0..ny` in chunks of [`IMAGE_ROW_CHUNK`], calling
/// `ahead(i)` for the rows of the next chunk first. This is how a block of image columns
/// moves between the image (row-major) and the column transforms' buffer (column-major)
/// without w-stacking: within a chunk, `f` takes one column at a time, whose rows are
/// consecutive in the buffer, while the chunk's image lines stay in L1, so the
/// transposition does not touch a buffer line per pixel. `ahead` prefetches: the walk
/// down a block of columns crosses a page per row, which the hardware does not prefetch.
#[inline(always)]
fn image_row_chunks(ny: usize, ahead: impl Fn(usize), mut f: impl FnMut(std::ops::Range<usize>)) {
    for i0 in (0..ny).step_by(IMAGE_ROW_CHUNK) {
        for i in (i0 + IMAGE_ROW_CHUNK..i0 + 2 * IMAGE_ROW_CHUNK).take_while(|&i| i < ny) {
            ahead(i);
        }
        f(i0..(i0 + IMAGE_ROW_CHUNK).min(ny));
    }
}

/// Bits of a bucket entry that hold the channel.
const CHAN_BITS: u32 = 16;

/// `floor(x)` without a libm call (the crate is built for baseline x86-64, where `f64::floor`
/// is a function call); exact for |x| < 2⁶³.
#[inline(always)]
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Blocks of rows for the bucketing's counting sort: up to four per thread, so rayon can
/// even out uneven blocks, as long as the per-block counts (`n_keys` each) stay within
/// 4 MiB; at least one per thread (with w-stacking there are many keys, and the counts
/// are alive with the runs and entries; a grid with over a million keys dwarfs them).
fn bucket_blocks(threads: usize, nrow: usize, n_keys: usize) -> usize {
    const MAX_COUNTS: usize = 1 << 20;
    let threads = threads.max(1);
    let per_thread = (MAX_COUNTS / (n_keys.max(1) * threads)).clamp(1, 4);
    (threads * per_thread).min(nrow).max(1)
}

/// One block of rows' share of the bucketing: its runs `(key, entry)` in row order, its
/// count of runs per key (then its first slot per key) and its number of samples.
struct BlockRuns {
    runs: Vec<(u32, u64)>,
    counts: Vec<u32>,
    n_values: usize,
}

/// Channels looked at together when finding a row's runs.
const RUN_CHUNK: usize = 64;

/// Calls `f(key, entry)` for each run of consecutive channels of `row` that `include` takes
/// and that share a bucket (`key_of` their location). Runs never cross a boundary of
/// [`RUN_CHUNK`] channels (a run split in two is still two correct entries). The keys of a
/// chunk are computed first, with the row's uvw and the grid's scalars read once, then
/// split into runs without a branch per channel.
#[inline(always)]
fn row_runs(
    geom: &Geometry<'_>,
    row: usize,
    nchan: usize,
    include: &impl Fn(usize, usize) -> bool,
    key_of: &impl Fn(&Loc) -> usize,
    mut f: impl FnMut(usize, u64),
) {
    const NONE: usize = usize::MAX;
    let mut keys = [0usize; RUN_CHUNK];
    let mut starts = [0usize; RUN_CHUNK + 1];
    let mut run_keys = [0usize; RUN_CHUNK];
    for c0 in (0..nchan).step_by(RUN_CHUNK) {
        let m = (nchan - c0).min(RUN_CHUNK);
        let (axes, (u, v, w)) = (geom.axes(), geom.row_uvw(row));
        for ((i, key), &s) in keys[..m].iter_mut().enumerate().zip(&geom.scale[c0..]) {
            *key = if include(row, c0 + i) {
                key_of(&axes.locate(u, v, w, s))
            } else {
                NONE
            };
        }
        // Every channel writes its start and key at the next free run slot; only a
        // channel that starts a run moves past it.
        let mut n = 0;
        let mut prev = NONE;
        for (i, &key) in keys[..m].iter().enumerate() {
            starts[n] = i;
            run_keys[n] = key;
            n += (i == 0 || key != prev) as usize;
            prev = key;
        }
        starts[n] = m;
        for r in 0..n {
            if run_keys[r] != NONE {
                f(
                    run_keys[r],
                    pack(row, c0 + starts[r], starts[r + 1] - starts[r]),
                );
            }
        }
    }
}

/// A run of `len` channels from `c0` of row `row`, as one bucket entry.
#[inline(always)]
fn pack(row: usize, c0: usize, len: usize) -> u64 {
    ((row as u64) << 32) | ((c0 as u64) << CHAN_BITS) | len as u64
}

/// `(row, first channel, number of channels)` of a bucket entry.
#[inline(always)]
fn unpack(e: u64) -> (usize, usize, usize) {
    (
        (e >> 32) as usize,
        ((e >> CHAN_BITS) & 0xffff) as usize,
        (e & 0xffff) as usize,
    )
}

/// Direction-cosine offset `n − 1` of `(l, m)`, computed without cancellation.
#[inline]
pub fn n_minus_1(l: f64, m: f64) -> f64 {
    let r2 = l * l + m * m;
    -r2 / ((1.0 - r2).sqrt() + 1.0)
}

/// Where a visibility lands: first cell and fractional offset on each axis, first plane
/// and its offset, and whether it was replaced by its Hermitian twin.
#[derive(Clone, Copy)]
struct Loc {
    ax: usize,
    dx: f64,
    ay: usize,
    dy: f64,
    plane: usize,
    dz: f64,
}

/// Everything that maps a (row, channel) to its grid position.
struct Geometry<'a> {
    uvw: ArrayView2<'a, f64>,
    scale: Vec<f64>,
    su: f64,
    sv: f64,
    nu: usize,
    nv: usize,
    half: f64,
    wstack: bool,
    w0: f64,
    inv_dw: f64,
}

impl Geometry<'_> {
    /// Hints the cache to fetch the uvw of `row` (the bucketed order visits rows far apart,
    /// and each visit would otherwise wait for memory).
    #[inline(always)]
    fn prefetch(&self, row: usize) {
        if let Some(p) = self.uvw.get([row, 0]) {
            prefetch(p);
        }
    }

    /// The row's u, v, w in metres.
    #[inline(always)]
    fn row_uvw(&self, row: usize) -> (f64, f64, f64) {
        assert!(row < self.uvw.nrows());
        let (rs, cs) = (self.uvw.strides()[0], self.uvw.strides()[1]);
        // SAFETY: row is in bounds (asserted) and the array has 3 columns (checked when
        // the plan was made).
        unsafe {
            let p = self.uvw.as_ptr().offset(row as isize * rs);
            (*p, *p.offset(cs), *p.offset(2 * cs))
        }
    }

    /// u, v, w in wavelengths (folded to w ≥ 0 with w-stacking).
    #[inline(always)]
    fn uvw_lambda(&self, row: usize, chan: usize) -> (f64, f64, f64, bool) {
        let (u, v, w) = self.row_uvw(row);
        self.axes().lambda(u, v, w, self.scale[chan])
    }

    /// The grid's scalars, by value (for loops over a row's channels).
    #[inline(always)]
    fn axes(&self) -> Axes {
        Axes {
            su: self.su,
            sv: self.sv,
            nu: self.nu as i64,
            nv: self.nv as i64,
            half: self.half,
            wstack: self.wstack,
            w0: self.w0,
            inv_dw: self.inv_dw,
        }
    }

    #[inline(always)]
    fn locate(&self, row: usize, chan: usize) -> Loc {
        let (u, v, w) = self.row_uvw(row);
        self.axes().locate(u, v, w, self.scale[chan])
    }
}

/// The scalars of [`Geometry`] that place a sample on the grid.
#[derive(Clone, Copy)]
struct Axes {
    su: f64,
    sv: f64,
    nu: i64,
    nv: i64,
    half: f64,
    wstack: bool,
    w0: f64,
    inv_dw: f64,
}

impl Axes {
    /// u, v, w (metres) scaled by `s` (wavelengths per metre), folded to w ≥ 0 with
    /// w-stacking; the flag says whether the sample was folded.
    #[inline(always)]
    fn lambda(&self, u: f64, v: f64, w: f64, s: f64) -> (f64, f64, f64, bool) {
        let (u, v, w) = (u * s, v * s, w * s);
        if self.wstack && w < 0.0 {
            (-u, -v, -w, true)
        } else {
            (u, v, w, false)
        }
    }

    #[inline(always)]
    fn axis(&self, x: f64, n: i64) -> (usize, f64) {
        let fl = floor(x - self.half);
        let delta = x - self.half - fl;
        // The first cell, wrapped onto the grid: one step either way, without branches
        // (the sign of u changes at random from sample to sample); samples far beyond the
        // grid (aliased, exactly as the DFT does) take the modulo.
        let mut a0 = fl as i64 + 1;
        a0 += n & (a0 >> 63);
        a0 -= n & ((n - 1 - a0) >> 63);
        if a0 as u64 >= n as u64 {
            a0 = a0.rem_euclid(n);
        }
        (a0 as usize, delta)
    }

    /// Where the sample at u, v, w (metres) scaled by `s` falls.
    #[inline(always)]
    fn locate(&self, u: f64, v: f64, w: f64, s: f64) -> Loc {
        let (u, v, w, _) = self.lambda(u, v, w, s);
        let (ax, dx) = self.axis(u * self.su, self.nu);
        let (ay, dy) = self.axis(v * self.sv, self.nv);
        let (plane, dz) = if self.wstack {
            let z = (w - self.w0) * self.inv_dw;
            let fl = floor(z - self.half);
            ((fl as i64 + 1).max(0) as usize, z - self.half - fl)
        } else {
            (0, 0.0)
        };
        Loc {
            ax,
            dx,
            ay,
            dy,
            plane,
            dz,
        }
    }
}

/// A validated, bucketed gridding problem.
pub(crate) struct Plan<'a> {
    pub params: GridParams,
    geom: Geometry<'a>,
    poly: PolyKernel,
    /// `1/Φ`, for the image-plane corrections.
    inv: InverseFourier,
    nx: usize,
    ny: usize,
    cell_x: f64,
    cell_y: f64,
    ntu: usize,
    ntv: usize,
    /// First-plane index range of the buckets: 0 ..= n_planes − W.
    n_first: usize,
    /// Bucket entries, runs of channels of one row (see [`pack`]), sorted by (first plane,
    /// tile).
    entries: Vec<u64>,
    /// Number of samples in the buckets (unflagged, non-zero weight).
    n_values: usize,
    /// Position of each entry's first sample in bucket order, one extra at the end; only
    /// made (by [`Plan::index_values`]) for the gridder's prepared values, else empty.
    value_start: Vec<u32>,
    /// Start of each (first plane, tile) bucket in `entries`; one extra at the end.
    offsets: Vec<usize>,
    pub n_skipped_nonfinite: usize,
    pub times: StageTimes,
}

fn shape_error(what: &'static str, expected: String, found: &[usize]) -> GridError {
    GridError::Shape {
        what,
        expected,
        found: format!("{found:?}"),
    }
}

impl<'a> Plan<'a> {
    /// Validates the inputs and buckets every visibility that `include(row, chan)` accepts.
    pub fn new<T: GridFloat>(
        cfg: &GridConfig,
        uvw_m: ArrayView2<'a, f64>,
        freq_hz: &[f64],
        include: impl Fn(usize, usize) -> bool + Sync,
    ) -> Result<Plan<'a>, GridError> {
        let t0 = Instant::now();
        cfg.validate()?;
        let nrow = uvw_m.nrows();
        if uvw_m.ncols() != 3 {
            return Err(shape_error("uvw", format!("[{nrow}, 3]"), uvw_m.shape()));
        }
        let nchan = freq_hz.len();
        if nchan == 0 {
            return Err(GridError::Empty("no channels".into()));
        }
        if nchan >= 1 << CHAN_BITS || nrow > u32::MAX as usize {
            return Err(GridError::InvalidConfig {
                field: "rows × channels",
                value: format!("{nrow} × {nchan}"),
                expected: format!("fewer than {} channels and 2^32 rows", 1u64 << CHAN_BITS),
            });
        }
        if let Some(f) = freq_hz.iter().find(|f| !(f.is_finite() && **f > 0.0)) {
            return Err(GridError::InvalidConfig {
                field: "frequency",
                value: f.to_string(),
                expected: "a positive frequency in Hz".into(),
            });
        }
        if let Some(i) = uvw_m.iter().position(|x| !x.is_finite()) {
            return Err(GridError::NonFinite {
                what: "uvw",
                at: format!("row {}, axis {}", i / 3, i % 3),
            });
        }
        let scale: Vec<f64> = freq_hz.iter().map(|f| f / SPEED_OF_LIGHT_M_S).collect();
        let (nx, ny) = (cfg.npix_x, cfg.npix_y);

        // w range (over all samples: flags only narrow it, and a wider range costs
        // nothing in accuracy).
        let (w_min, w_max) = if cfg.wstacking {
            let (lo, hi) = uvw_m
                .column(2)
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
                    (lo.min(w.abs()), hi.max(w.abs()))
                });
            let smin = scale.iter().copied().fold(f64::INFINITY, f64::min);
            let smax = scale.iter().copied().fold(0.0, f64::max);
            (lo * smin, hi * smax)
        } else {
            (0.0, 0.0)
        };
        let n_samples = nrow * nchan;
        if n_samples > u32::MAX as usize {
            return Err(GridError::InvalidConfig {
                field: "visibilities",
                value: n_samples.to_string(),
                expected: format!("at most {} (rows × channels) per call", u32::MAX),
            });
        }
        let nm1_range = if cfg.wstacking {
            let lmax = (nx / 2).max(nx - 1 - nx / 2) as f64 * cfg.cell_x_rad;
            let mmax = (ny / 2).max(ny - 1 - ny / 2) as f64 * cfg.cell_y_rad;
            (n_minus_1(lmax, mmax), 0.0)
        } else {
            (0.0, 0.0)
        };
        let params = choose(&ParamInputs {
            epsilon: cfg.epsilon,
            precision: T::PRECISION,
            npix_x: nx,
            npix_y: ny,
            cell_x_rad: cfg.cell_x_rad,
            cell_y_rad: cfg.cell_y_rad,
            n_vis: n_samples,
            wstacking: cfg.wstacking,
            w_range: (w_min, w_max),
            nm1_range,
        })?;
        let geom = Geometry {
            uvw: uvw_m,
            scale,
            su: -cfg.cell_x_rad * params.nu as f64,
            sv: cfg.cell_y_rad * params.nv as f64,
            nu: params.nu,
            nv: params.nv,
            half: 0.5 * params.support as f64,
            wstack: cfg.wstacking,
            w0: params.w0,
            inv_dw: 1.0 / params.dw,
        };
        // The tile size is a constant, so the bucket key below divides by a shift.
        debug_assert_eq!(params.tile, TILE);
        let tile = TILE;
        let (ntu, ntv) = (params.nu / tile, params.nv / tile);
        let n_tiles = ntu * ntv;
        let n_first = params.n_planes - if cfg.wstacking { params.support - 1 } else { 0 };
        let n_keys = n_first * n_tiles;

        // Runs of consecutive channels of one row that fall in the same bucket (a short
        // baseline's channels usually share a tile) are one entry each. They are sorted by
        // key with a counting sort over blocks of rows: each block finds and counts its
        // runs per key, then places them at its own offsets, so the entries of a key are
        // in row order.
        let n_blocks = bucket_blocks(rayon::current_num_threads(), nrow, n_keys);
        let block = nrow.div_ceil(n_blocks).max(1);
        let key_of = |loc: &Loc| {
            let t = (loc.ay / TILE) * ntu + loc.ax / TILE;
            loc.plane.min(n_first - 1) * n_tiles + t
        };
        // The kernel's polynomial fit and the interpolant of its correction (a few ms,
        // serial) are made alongside the first pass.
        let kernel = EsKernel::new(params.support, params.beta);
        let ((poly, inv), mut blocks) = rayon::join(
            || {
                (
                    PolyKernel::fit(&kernel, 0.05 * cfg.epsilon.max(1e-15)),
                    InverseFourier::new(&kernel, 0.5 / params.sigma),
                )
            },
            || -> Vec<BlockRuns> {
                (0..nrow.div_ceil(block))
                    .into_par_iter()
                    .map(|bi| {
                        let mut b = BlockRuns {
                            counts: vec![0u32; n_keys],
                            runs: Vec::new(),
                            n_values: 0,
                        };
                        for row in bi * block..((bi + 1) * block).min(nrow) {
                            row_runs(&geom, row, nchan, &include, &key_of, |k, e| {
                                b.counts[k] += 1;
                                b.n_values += unpack(e).2;
                                b.runs.push((k as u32, e));
                            });
                        }
                        b
                    })
                    .collect()
            },
        );
        let n_values: usize = blocks.iter().map(|b| b.n_values).sum();
        if n_values == 0 {
            return Err(GridError::Empty(
                "every visibility is flagged, has zero weight or is not finite".into(),
            ));
        }
        // Each block's count becomes its first slot; `offsets[k]` is where key k starts.
        let mut offsets = vec![0usize; n_keys + 1];
        let mut n_entries = 0usize;
        for (k, o) in offsets[..n_keys].iter_mut().enumerate() {
            *o = n_entries;
            for b in blocks.iter_mut() {
                let n = b.counts[k] as usize;
                b.counts[k] = n_entries as u32;
                n_entries += n;
            }
        }
        offsets[n_keys] = n_entries;
        let mut entries = vec![0u64; n_entries];
        {
            let out = SharedMut(entries.as_mut_ptr());
            blocks.par_iter_mut().for_each(|b| {
                for &(k, e) in &b.runs {
                    let slot = &mut b.counts[k as usize];
                    // SAFETY: the block's slots for key k run from the start given it
                    // above, one per run of key k it counted; no other block uses them.
                    unsafe { *out.ptr().add(*slot as usize) = e };
                    *slot += 1;
                }
            });
        }
        drop(blocks);
        let times = StageTimes {
            bucket_s: t0.elapsed().as_secs_f64(),
            ..Default::default()
        };
        Ok(Plan {
            params,
            geom,
            poly,
            inv,
            nx,
            ny,
            cell_x: cfg.cell_x_rad,
            cell_y: cfg.cell_y_rad,
            ntu,
            ntv,
            n_first,
            entries,
            offsets,
            n_values,
            value_start: Vec::new(),
            n_skipped_nonfinite: 0,
            times,
        })
    }

    /// Number of samples held (unflagged, non-zero weight).
    fn n_values(&self) -> usize {
        self.n_values
    }

    /// Numbers the samples in bucket order (`value_start`, a parallel prefix sum over the
    /// entries' lengths), for values prepared in that order.
    fn index_values(&mut self) {
        const CHUNK: usize = 1 << 14;
        let entries = &self.entries;
        let chunk_totals: Vec<usize> = entries
            .par_chunks(CHUNK)
            .map(|c| c.iter().map(|&e| unpack(e).2).sum())
            .collect();
        let mut chunk_starts = Vec::with_capacity(chunk_totals.len());
        let mut total = 0usize;
        for t in &chunk_totals {
            chunk_starts.push(total);
            total += t;
        }
        let mut value_start = vec![0u32; entries.len() + 1];
        value_start[..entries.len()]
            .par_chunks_mut(CHUNK)
            .zip(entries.par_chunks(CHUNK))
            .zip(chunk_starts.par_iter())
            .for_each(|((vs, es), &start)| {
                let mut t = start;
                for (v, &e) in vs.iter_mut().zip(es) {
                    *v = t as u32;
                    t += unpack(e).2;
                }
            });
        value_start[entries.len()] = total as u32;
        debug_assert_eq!(total, self.n_values);
        self.value_start = value_start;
    }

    fn n_tiles(&self) -> usize {
        self.ntu * self.ntv
    }

    /// First-plane range whose visibilities touch plane `j`.
    fn first_planes(&self, j: usize) -> std::ops::Range<usize> {
        if self.geom.wstack {
            let w = self.params.support;
            (j + 1).saturating_sub(w)..(j + 1).min(self.n_first)
        } else {
            0..1
        }
    }

    /// Tiles holding visibilities that touch plane `j`.
    fn occupied_tiles(&self, j: usize) -> Vec<usize> {
        let nt = self.n_tiles();
        let firsts = self.first_planes(j);
        (0..nt)
            .filter(|&t| {
                firsts
                    .clone()
                    .any(|p| self.offsets[p * nt + t + 1] > self.offsets[p * nt + t])
            })
            .collect()
    }

    /// Grid rows touched by the tiles `tiles`.
    fn row_mask(&self, tiles: &[usize]) -> Vec<bool> {
        let (tile, w, nv) = (self.params.tile, self.params.support, self.params.nv);
        let mut mask = vec![false; nv];
        let mut tile_rows = vec![false; self.ntv];
        for &t in tiles {
            tile_rows[t / self.ntu] = true;
        }
        for (tv, _) in tile_rows.iter().enumerate().filter(|(_, &b)| b) {
            for r in 0..tile + w - 1 {
                mask[(tv * tile + r) % nv] = true;
            }
        }
        mask
    }

    /// Colour (0..9) of a tile: tiles of one colour are at least two tiles apart
    /// cyclically on both axes.
    fn colour(&self, t: usize) -> usize {
        let c = |i: usize, n: usize| {
            if n % 2 == 1 && i == n - 1 {
                2
            } else {
                i % 2
            }
        };
        c(t / self.ntu, self.ntv) * 3 + c(t % self.ntu, self.ntu)
    }

    /// Image-plane corrections: per column, per row, and (w-stacking) per pixel of a
    /// quadrant indexed by `(|column offset|, |row offset|)` (see [`Self::quadrant_index`]).
    fn corrections(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (p, inv) = (&self.params, &self.inv);
        let cu = (0..self.nx)
            .map(|c| inv.eval((c as f64 - (self.nx / 2) as f64) / p.nu as f64))
            .collect();
        let cv = (0..self.ny)
            .map(|r| inv.eval((r as f64 - (self.ny / 2) as f64) / p.nv as f64))
            .collect();
        let cw = if self.geom.wstack {
            self.quadrant_map(|x| inv.eval(p.dw * (x - p.nm1_centre)))
        } else {
            Vec::new()
        };
        (cu, cv, cw)
    }

    /// The image-plane correction of pixel (row `i`, column `k`), from
    /// [`Self::corrections`].
    #[inline(always)]
    fn correction(&self, corr: &(Vec<f64>, Vec<f64>, Vec<f64>), i: usize, k: usize) -> f64 {
        let (cu, cv, cw) = corr;
        let f = cu[k] * cv[i];
        if self.geom.wstack {
            f * cw[self.quadrant_index(i, k)]
        } else {
            f
        }
    }

    fn quadrant_dims(&self) -> (usize, usize) {
        (self.nx / 2 + 1, self.ny / 2 + 1)
    }

    /// `f(n − 1)` for every pixel of the quadrant, column by column (the column
    /// transforms walk the image a column at a time).
    fn quadrant_map<U: Send>(&self, f: impl Fn(f64) -> U + Sync) -> Vec<U> {
        let (qx, qy) = self.quadrant_dims();
        (0..qx * qy)
            .into_par_iter()
            .map(|q| {
                let (qc, qr) = (q / qy, q % qy);
                f(n_minus_1(qc as f64 * self.cell_x, qr as f64 * self.cell_y))
            })
            .collect()
    }

    #[inline(always)]
    fn quadrant_index(&self, r: usize, c: usize) -> usize {
        let qr = (r as i64 - (self.ny / 2) as i64).unsigned_abs() as usize;
        let qc = (c as i64 - (self.nx / 2) as i64).unsigned_abs() as usize;
        qc * self.quadrant_dims().1 + qr
    }

    /// Phase `exp(−2πi w (n − 1 − centre))` and its per-plane step, on the quadrant.
    /// In the gridder's precision: the recurrence drifts by about one unit roundoff per
    /// plane, far below the smallest ε of that precision.
    fn plane_phases<T: GridFloat>(&self) -> (Vec<Complex<T>>, Vec<Complex<T>>) {
        let p = &self.params;
        let tau = 2.0 * std::f64::consts::PI;
        let phase = self.quadrant_map(|x| unit_phasor::<T>(-tau * p.w0 * (x - p.nm1_centre)));
        let step = self.quadrant_map(|x| unit_phasor::<T>(-tau * p.dw * (x - p.nm1_centre)));
        (phase, step)
    }

    /// Kernel coefficients as `T` for the tile loops.
    fn coeffs<T: GridFloat>(&self) -> TileCoeffs<T> {
        let w = self.params.support;
        let wp = padded(w);
        let mut out = vec![T::zero(); (self.poly.degree + 1) * wp];
        let mut out2 = vec![T::zero(); (self.poly.degree + 1) * 2 * wp];
        for (d, row) in self.poly.coeff.chunks(w).enumerate() {
            for (i, &c) in row.iter().enumerate() {
                out[d * wp + i] = T::of_f64(c);
                out2[d * 2 * wp + i] = T::of_f64(c);
                out2[d * 2 * wp + wp + i] = T::of_f64(c);
            }
        }
        TileCoeffs {
            one: out,
            two: out2,
            degree: self.poly.degree,
        }
    }

    /// The job of tile `tile` for plane `plane`: its origin and the first planes whose
    /// buckets touch the plane.
    fn tile_job<'p, T>(
        &'p self,
        coeffs: &'p TileCoeffs<T>,
        plane: usize,
        tile: usize,
        stride: usize,
    ) -> TileJob<'p, 'a, T> {
        let t = self.params.tile;
        TileJob {
            plan: self,
            coeffs,
            plane,
            firsts: self.first_planes(plane),
            tile,
            origin: ((tile % self.ntu) * t, (tile / self.ntu) * t),
            stride,
        }
    }

    /// Visibility-side factor of an entry: conjugation for folded samples and the phase of
    /// the mid n − 1 (w-stacking), as `(flip, phase)`.
    #[inline(always)]
    fn entry_factor(&self, row: usize, chan: usize) -> (bool, Complex<f64>) {
        let (_, _, w, flip) = self.geom.uvw_lambda(row, chan);
        let ph = if self.geom.wstack {
            Complex::from_polar(
                1.0,
                -2.0 * std::f64::consts::PI * w * self.params.nm1_centre,
            )
        } else {
            Complex::new(1.0, 0.0)
        };
        (flip, ph)
    }
}

/// `n` zeros, for the gridder's large buffers (grids, image accumulators, visibility
/// arrays). The memory comes zeroed from the allocator (fresh pages need no second
/// clearing pass). On Linux it is advised to use transparent huge pages (a uv grid is tens
/// to hundreds of MB: 4 KiB pages would mean tens of thousands of page faults, which
/// serialise the threads that first touch them and are slow under virtualisation), and
/// its pages are touched in parallel so the kernel's clearing is shared between threads.
///
/// # Safety
/// All-zero bytes must be a valid `U` (true of `T` and `Complex<T>` for `T: GridFloat`,
/// which is sealed to `f32` and `f64`).
unsafe fn zeroed<U: Copy>(n: usize) -> Vec<U> {
    let layout = std::alloc::Layout::array::<U>(n).expect("buffer size fits memory");
    if layout.size() == 0 {
        return Vec::new();
    }
    // SAFETY: the layout has non-zero size; all-zero bytes are a valid U (contract).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) } as *mut U;
    if ptr.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    let bytes = layout.size();
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = ptr as usize;
        let aligned = start.div_ceil(HUGE) * HUGE;
        if bytes > 2 * HUGE && aligned < start + bytes {
            let len = (start + bytes - aligned) / HUGE * HUGE;
            // SAFETY: advice only, on memory just allocated; failure is harmless.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    const PAGE: usize = 4096;
    let base = SharedMut(ptr as *mut u8);
    (0..bytes.div_ceil(PAGE)).into_par_iter().for_each(|page| {
        let p = base;
        // SAFETY: inside the allocation; writing the zero it already holds.
        unsafe { std::ptr::write_volatile(p.ptr().add(page * PAGE), 0u8) };
    });
    // SAFETY: allocated by the global allocator with the layout of `n` U, all `n`
    // initialised (zero).
    unsafe { Vec::from_raw_parts(ptr, n, n) }
}

/// A uv grid of `n` cells: the workspace kept by the last call (module docs of
/// [`crate::grid`]) when it has this size, cleared if `zero` is asked and it is not,
/// otherwise fresh zeros.
fn take_grid<T: GridFloat>(n: usize, zero: bool) -> Vec<Complex<T>> {
    let kept = T::grid_pool()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    match kept {
        Some((mut g, clean)) if g.len() == n => {
            if zero && !clean {
                let z = Complex::new(T::zero(), T::zero());
                g.par_chunks_mut(1 << 16).for_each(|c| c.fill(z));
            }
            g
        }
        _ => complex_zeros::<T>(n),
    }
}

/// Keeps `grid` for the next call (`clean`: it is all zero), replacing any grid kept.
fn keep_grid<T: GridFloat>(grid: Vec<Complex<T>>, clean: bool) {
    *T::grid_pool().lock().unwrap_or_else(|e| e.into_inner()) = Some((grid, clean));
}

/// `n` complex zeros (see [`zeroed`]).
fn complex_zeros<T: GridFloat>(n: usize) -> Vec<Complex<T>> {
    // SAFETY: T is f32 or f64 (sealed); all-zero bytes are 0 + 0i.
    unsafe { zeroed(n) }
}

/// `n` real zeros (see [`zeroed`]).
fn real_zeros<T: GridFloat>(n: usize) -> Vec<T> {
    // SAFETY: T is f32 or f64 (sealed); all-zero bytes are 0.
    unsafe { zeroed(n) }
}

/// Grids `vis` (`[row, chan]`) and returns the unnormalised dirty image `[ny, nx]`.
pub(crate) fn grid<T: GridFloat>(
    mut plan: Plan<'_>,
    vis: ArrayView2<'_, Complex<T>>,
    weight: Option<ArrayView2<'_, f32>>,
) -> (Array2<T>, GridReport) {
    let t_grid = Instant::now();
    let p = plan.params.clone();
    let (nx, ny, nu, nv) = (plan.nx, plan.ny, p.nu, p.nv);
    let w = p.support;
    let bw = p.tile + w - 1;
    let bwp = p.tile + padded(w) - 1;
    // With w-stacking each visibility is spread onto several planes: its value, weight and
    // phase factor are prepared once, in bucket order. Without, the tile loop reads it.
    let direct = !plan.geom.wstack;
    let values: Vec<Complex<T>> = if direct {
        Vec::new()
    } else {
        plan.index_values();
        // Written in place at each entry's numbering (no intermediate pieces to join,
        // which would double the memory for a moment and leave it fragmented).
        let mut values = complex_zeros::<T>(plan.n_values());
        let out = SharedMut(values.as_mut_ptr());
        let plan = &plan;
        plan.entries
            .par_iter()
            .zip(plan.value_start.par_iter())
            .for_each(|(&e, &v0)| {
                let (row, c0, len) = unpack(e);
                for i in 0..len {
                    let chan = c0 + i;
                    let v = vis[[row, chan]];
                    let v = Complex::new(v.re.as_f64(), v.im.as_f64())
                        * weight.map_or(1.0, |wt| wt[[row, chan]] as f64);
                    let (flip, ph) = plan.entry_factor(row, chan);
                    let v = if flip { v.conj() } else { v } * ph;
                    // SAFETY: the entries number their samples 0..n_values without
                    // overlap.
                    unsafe {
                        *out.ptr().add(v0 as usize + i) =
                            Complex::new(T::of_f64(v.re), T::of_f64(v.im))
                    };
                }
            });
        values
    };
    let prepared = |i: usize, _: usize, _: usize| values[i];
    let read = |_: usize, row: usize, chan: usize| {
        let v = vis[[row, chan]];
        let wt = weight.map_or(1.0, |wt| wt[[row, chan]] as f64);
        Complex::new(T::of_f64(v.re.as_f64() * wt), T::of_f64(v.im.as_f64() * wt))
    };
    // Bucket order visits rows far apart: the direct read prefetches each entry's
    // visibilities (and weights) with its uvw.
    let read_ahead = |row: usize, c0: usize| {
        prefetch(&vis[[row, c0]]);
        if let Some(wt) = weight {
            prefetch(&wt[[row, c0]]);
        }
    };
    plan.times.reorder_s = t_grid.elapsed().as_secs_f64();
    let coeffs = plan.coeffs::<T>();
    let simd = Simd::detect();
    let zero = Complex::new(T::zero(), T::zero());
    let mut grid = take_grid::<T>(nu * nv, true);
    // The image-plane corrections: needed in the plane loop without w-stacking; with it,
    // only at the end, so they are made after the plane loop's buffers are gone.
    let mut corr = if direct {
        plan.corrections()
    } else {
        Default::default()
    };
    // Without w-stacking the one plane's transform writes the corrected image directly,
    // a block of columns at a time (whole cache lines of each row). With w-stacking the
    // planes accumulate column by column (`acc[k * ny + i]`), as the column transforms
    // deliver them, and the corrected image is made at the end.
    let mut acc = if direct {
        Vec::new()
    } else {
        real_zeros::<T>(nx * ny)
    };
    let mut direct_image = if direct {
        real_zeros::<T>(nx * ny)
    } else {
        Vec::new()
    };
    let fft = GridFft::<T>::new(nu, nv, nx, ny);
    let (mut phase, step) = if plan.geom.wstack {
        plan.plane_phases()
    } else {
        (Vec::new(), Vec::new())
    };
    let mut t_kernel = 0.0;
    let mut t_fft = 0.0;
    for j in 0..p.n_planes {
        let t0 = Instant::now();
        let tiles = plan.occupied_tiles(j);
        let mask = plan.row_mask(&tiles);
        let mut by_colour: [Vec<usize>; 9] = Default::default();
        for &t in &tiles {
            by_colour[plan.colour(t)].push(t);
        }
        let shared = SharedMut(grid.as_mut_ptr());
        for colour_tiles in &by_colour {
            colour_tiles.par_iter().for_each_init(
                || vec![zero; bw * bwp],
                |buf, &t| {
                    buf.fill(zero);
                    let job = plan.tile_job(&coeffs, j, t, bwp);
                    let (ox, oy) = job.origin;
                    if direct {
                        with_support!(w, W, WP => dispatch!(simd, grid_tile::<T, W, WP>(&job, &read, &read_ahead, buf)));
                    } else {
                        with_support!(w, W, WP => dispatch!(simd, grid_tile::<T, W, WP>(&job, &prepared, &|_, _| {}, buf)));
                    }
                    // SAFETY: tiles of one colour cover disjoint grid cells.
                    unsafe { add_tile(shared, nu, nv, ox, oy, bw, bwp, buf) };
                },
            );
        }
        let t1 = Instant::now();
        // Transform, adding this plane's contribution (phased, with w-stacking) to the
        // image as each block of columns comes out; the grid is left zero.
        if direct {
            let out = SharedMut(direct_image.as_mut_ptr());
            let (cu, cv, _) = &corr;
            fft.forward(&mut grid, &mask, |k0, buf| {
                let (nb, out_rows) = (buf.len() / nv, fft.out_rows());
                image_row_chunks(
                    ny,
                    // SAFETY: the address is inside the image (a hint, never a fault).
                    |i| prefetch(unsafe { out.ptr().add(i * nx + k0) }),
                    |rows| {
                        for (b, col) in buf.chunks_exact(nv).take(nb).enumerate() {
                            let c = cu[k0 + b];
                            for i in rows.clone() {
                                let v = col[out_rows[i]].re.as_f64() * c * cv[i];
                                // SAFETY: each block of columns writes only its own
                                // columns of each row.
                                unsafe { *out.ptr().add(i * nx + k0 + b) = T::of_f64(v) };
                            }
                        }
                    },
                );
            });
        } else {
            let out = SharedMut(acc.as_mut_ptr());
            let (ph, plan, out_rows) = (&phase, &plan, fft.out_rows());
            fft.forward(&mut grid, &mask, move |k0, buf| {
                for (b, col) in buf.chunks_exact(nv).enumerate() {
                    let k = k0 + b;
                    // SAFETY: each block of columns writes only its own image columns.
                    let o = unsafe { std::slice::from_raw_parts_mut(out.ptr().add(k * ny), ny) };
                    if plan.geom.wstack {
                        let q0 = plan.quadrant_index(0, k);
                        for (i, (o, &gr)) in o.iter_mut().zip(out_rows).enumerate() {
                            let (f, q) = (col[gr], ph[q0 - (ny / 2) + i.abs_diff(ny / 2)]);
                            *o = *o + (f.re * q.re - f.im * q.im);
                        }
                    } else {
                        for (o, &gr) in o.iter_mut().zip(out_rows) {
                            *o = *o + col[gr].re;
                        }
                    }
                }
            });
        }
        let t2 = Instant::now();
        if j + 1 < p.n_planes {
            advance_phases(&mut phase, &step);
        }
        t_kernel += (t1 - t0).as_secs_f64();
        t_fft += t2.elapsed().as_secs_f64() + (t2 - t1).as_secs_f64();
    }
    // The prepared values and the plane phases are done with: freed before the image is
    // made, so that the kept grid, the accumulator and the image are not alive together
    // with them (the peak stays that of the plane loop).
    drop(values);
    drop((phase, step));
    // The forward transforms left the grid zero.
    keep_grid(grid, true);
    let t3 = Instant::now();
    if !direct {
        corr = plan.corrections();
    }
    let image = if direct {
        Array2::from_shape_vec((ny, nx), direct_image).expect("shape")
    } else {
        let mut image = Array2::from_shape_vec((ny, nx), real_zeros::<T>(nx * ny)).expect("shape");
        transpose_map(
            nx,
            ny,
            |k, i| T::of_f64(acc[k * ny + i].as_f64() * plan.correction(&corr, i, k)),
            image.as_slice_mut().expect("standard layout"),
        );
        image
    };
    plan.times.grid_s = t_kernel;
    plan.times.fft_s = t_fft;
    plan.times.correct_s = t3.elapsed().as_secs_f64();
    plan.times.total_s = plan.times.bucket_s + t_grid.elapsed().as_secs_f64();
    let report = GridReport {
        params: p,
        n_vis: plan.n_values(),
        n_skipped_nonfinite: plan.n_skipped_nonfinite,
        kernel_degree: coeffs.degree,
        times: plan.times,
    };
    (image, report)
}

/// Adds a tile buffer to the grid at `(ox, oy)`, wrapping at the grid edges.
///
/// # Safety
/// No other thread may touch the `bw × bw` cells (modulo the grid) starting at `(ox, oy)`.
/// `buf` has rows of `stride ≥ bw` cells; only the first `bw` of each are added.
#[allow(clippy::too_many_arguments)]
unsafe fn add_tile<T: GridFloat>(
    grid: SharedMut<Complex<T>>,
    nu: usize,
    nv: usize,
    ox: usize,
    oy: usize,
    bw: usize,
    stride: usize,
    buf: &[Complex<T>],
) {
    let first = bw.min(nu - ox);
    for r in 0..bw {
        let gy = (oy + r) % nv;
        let src = &buf[r * stride..r * stride + bw];
        let row = grid.0.add(gy * nu);
        for (i, s) in src[..first].iter().enumerate() {
            let d = row.add(ox + i);
            *d = *d + *s;
        }
        for (i, s) in src[first..].iter().enumerate() {
            let d = row.add(i);
            *d = *d + *s;
        }
    }
}

/// Degrids the image `dirty` (`[ny, nx]`) onto every visibility the plan holds; others
/// are zero.
pub(crate) fn degrid<T: GridFloat>(
    mut plan: Plan<'_>,
    dirty: ArrayView2<'_, T>,
    weight: Option<ArrayView2<'_, f32>>,
    nrow: usize,
    nchan: usize,
) -> (Array2<Complex<T>>, GridReport) {
    let t_start = Instant::now();
    let p = plan.params.clone();
    let (nx, ny, nu, nv) = (plan.nx, plan.ny, p.nu, p.nv);
    let w = p.support;
    let bw = p.tile + w - 1;
    let bwp = p.tile + padded(w) - 1;
    let zero = Complex::new(T::zero(), T::zero());
    // With w-stacking, the corrected image column by column (`corrected[k * ny + i]`), as
    // the column transforms of every plane take it. Without, the one plane's transform
    // reads and corrects the image directly, a block of columns at a time.
    let corr = plan.corrections();
    let direct = !plan.geom.wstack;
    let mut corrected = Vec::new();
    if !direct {
        corrected = real_zeros::<T>(nx * ny);
        let plan = &plan;
        transpose_map(
            ny,
            nx,
            |i, k| T::of_f64(dirty[[i, k]].as_f64() * plan.correction(&corr, i, k)),
            &mut corrected,
        );
    }
    let t_corr = t_start.elapsed().as_secs_f64();
    let coeffs = plan.coeffs::<T>();
    let simd = Simd::detect();
    // The planes' contributions accumulate straight into `[row, chan]` (each entry's
    // output line is prefetched with its uvw, so the scattered writes do not stall the
    // interpolation); the visibility-side factors are applied at the end, in row order.
    // Flagged samples stay zero.
    let mut vis =
        Array2::from_shape_vec((nrow, nchan), complex_zeros::<T>(nrow * nchan)).expect("shape");
    // The inverse transforms write every cell the tiles read: any grid will do.
    let mut grid = take_grid::<T>(nu * nv, false);
    let fft = GridFft::<T>::new(nu, nv, nx, ny);
    let (mut phase, step) = if plan.geom.wstack {
        plan.plane_phases()
    } else {
        (Vec::new(), Vec::new())
    };
    let (mut t_kernel, mut t_fft) = (0.0, 0.0);
    for j in 0..p.n_planes {
        let t0 = Instant::now();
        let tiles = plan.occupied_tiles(j);
        let mask = plan.row_mask(&tiles);
        // The image, corrected and (with w-stacking) phased on the fly, so no corrected
        // copy is kept, goes into the column transforms block by block.
        if direct {
            let (cu, cv, _) = &corr;
            fft.inverse(&mut grid, &mask, |k0, buf| {
                let out_rows = fft.out_rows();
                image_row_chunks(
                    ny,
                    |i| prefetch(&dirty[[i, k0]]),
                    |rows| {
                        for (b, col) in buf.chunks_exact_mut(nv).enumerate() {
                            let c = cu[k0 + b];
                            for i in rows.clone() {
                                let v = dirty[[i, k0 + b]].as_f64() * c * cv[i];
                                col[out_rows[i]] = Complex::new(T::of_f64(v), T::zero());
                            }
                        }
                    },
                );
            });
        } else {
            let (ph, corrected) = (&phase, &corrected);
            let (plan, out_rows) = (&plan, fft.out_rows());
            fft.inverse(&mut grid, &mask, move |k0, buf| {
                for (b, col) in buf.chunks_exact_mut(nv).enumerate() {
                    let k = k0 + b;
                    let image = &corrected[k * ny..(k + 1) * ny];
                    if plan.geom.wstack {
                        let q0 = plan.quadrant_index(0, k);
                        for (i, (&v, &gr)) in image.iter().zip(out_rows).enumerate() {
                            // The adjoint of the gridder's exp(−iφ) is exp(+iφ).
                            col[gr] = ph[q0 - (ny / 2) + i.abs_diff(ny / 2)].conj() * v;
                        }
                    } else {
                        for (&v, &gr) in image.iter().zip(out_rows) {
                            col[gr] = Complex::new(v, T::zero());
                        }
                    }
                }
            });
        }
        let t2 = Instant::now();
        let out = SharedMut(vis.as_mut_ptr());
        let g = &grid;
        let plan = &plan;
        tiles.par_iter().for_each_init(
            || vec![zero; bw * bwp],
            |buf, &t| {
                let job = plan.tile_job(&coeffs, j, t, bwp);
                let (ox, oy) = job.origin;
                load_tile(g, nu, nv, ox, oy, bw, bwp, buf);
                with_support!(w, W, WP => dispatch!(simd, degrid_tile::<T, W, WP>(&job, buf, out, nchan)));
            },
        );
        if j + 1 < p.n_planes {
            advance_phases(&mut phase, &step);
        }
        t_kernel += t2.elapsed().as_secs_f64();
        t_fft += (t2 - t0).as_secs_f64();
    }
    keep_grid(grid, false);
    // The visibility-side factors (weights; with w-stacking the conjugation of folded
    // samples and the phase of the mid n − 1), row by row.
    let t_scatter = Instant::now();
    if weight.is_some() || plan.geom.wstack {
        let plan = &plan;
        vis.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(row, mut out)| {
                for (chan, o) in out.iter_mut().enumerate() {
                    let (flip, ph) = plan.entry_factor(row, chan);
                    let v = Complex::new(o.re.as_f64(), o.im.as_f64()) * ph.conj();
                    let v = if flip { v.conj() } else { v }
                        * weight.map_or(1.0, |wt| wt[[row, chan]] as f64);
                    *o = Complex::new(T::of_f64(v.re), T::of_f64(v.im));
                }
            });
    }
    plan.times.reorder_s = t_scatter.elapsed().as_secs_f64();
    plan.times.grid_s = t_kernel;
    plan.times.fft_s = t_fft;
    plan.times.correct_s = t_corr;
    plan.times.total_s = plan.times.bucket_s + t_start.elapsed().as_secs_f64();
    let report = GridReport {
        params: p,
        n_vis: plan.n_values(),
        n_skipped_nonfinite: plan.n_skipped_nonfinite,
        kernel_degree: coeffs.degree,
        times: plan.times,
    };
    (vis, report)
}

/// Copies `rows × cols` grid cells at `(ox, oy)` (wrapping) into `buf` (rows of `cols`).
#[allow(clippy::too_many_arguments)]
fn load_tile<T: GridFloat>(
    grid: &[Complex<T>],
    nu: usize,
    nv: usize,
    ox: usize,
    oy: usize,
    rows: usize,
    cols: usize,
    buf: &mut [Complex<T>],
) {
    for r in 0..rows {
        let gy = (oy + r) % nv;
        let row = &grid[gy * nu..(gy + 1) * nu];
        let dst = &mut buf[r * cols..(r + 1) * cols];
        let mut done = 0;
        while done < cols {
            let start = (ox + done) % nu;
            let n = (cols - done).min(nu - start);
            dst[done..done + n].copy_from_slice(&row[start..start + n]);
            done += n;
        }
    }
}

/// Instruction sets the tile loops are compiled for, chosen at run time.
#[derive(Clone, Copy, Debug)]
enum Simd {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Simd {
    fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                return Simd::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Simd::Avx2;
            }
        }
        Simd::Portable
    }
}

/// Calls `$f::<..>($args)` through the variant compiled for `$simd`.
macro_rules! dispatch {
    ($simd:expr, $f:ident::<$T:ty, $W:ident, $WP:ident>($($arg:expr),*)) => {
        match $simd {
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn call(f: impl FnOnce()) { f() }
                // SAFETY: the CPU supports the features (checked by Simd::detect).
                unsafe { call(#[inline(always)] || $f::<$T, $W, $WP>($($arg),*)) }
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn call(f: impl FnOnce()) { f() }
                // SAFETY: as above.
                unsafe { call(#[inline(always)] || $f::<$T, $W, $WP>($($arg),*)) }
            }
            Simd::Portable => $f::<$T, $W, $WP>($($arg),*),
        }
    };
}
use dispatch;

/// Kernel coefficients as `T`: rows padded with zeros to [`padded`]`(W)` (`one`), and the
/// same with each row repeated twice (`two`, for [`weights2`]).
struct TileCoeffs<T> {
    one: Vec<T>,
    two: Vec<T>,
    degree: usize,
}

/// `exp(iφ)` in precision `T`.
fn unit_phasor<T: GridFloat>(phi: f64) -> Complex<T> {
    let (s, c) = phi.sin_cos();
    Complex::new(T::of_f64(c), T::of_f64(s))
}

/// Moves the per-pixel w-phases on to the next plane.
fn advance_phases<T: GridFloat>(phase: &mut [Complex<T>], step: &[Complex<T>]) {
    phase
        .par_iter_mut()
        .zip(step.par_iter())
        .for_each(|(a, s)| *a = *a * *s);
}

/// One tile of one plane: what the tile loops need.
struct TileJob<'p, 'a, T> {
    plan: &'p Plan<'a>,
    coeffs: &'p TileCoeffs<T>,
    plane: usize,
    firsts: std::ops::Range<usize>,
    tile: usize,
    origin: (usize, usize),
    stride: usize,
}

/// Calls `f(sample index in bucket order, row, channel, location, kernel weights on x and
/// y, w-kernel weight)` for every sample of the tile that touches plane `job.plane`, and
/// `ahead(row, first channel)` for the entry `PREFETCH` ahead (to prefetch its data).
#[inline(always)]
fn for_each_sample<T: GridFloat, const WP: usize>(
    job: &TileJob<'_, '_, T>,
    ahead: impl Fn(usize, usize),
    mut f: impl FnMut(usize, usize, usize, &Loc, &[T; WP], &[T; WP], T),
) {
    let plan = job.plan;
    let nt = plan.n_tiles();
    for first in job.firsts.clone() {
        let range = plan.offsets[first * nt + job.tile]..plan.offsets[first * nt + job.tile + 1];
        let end = range.end;
        for k in range {
            if k + PREFETCH < end {
                let (row, c0, _) = unpack(plan.entries[k + PREFETCH]);
                plan.geom.prefetch(row);
                ahead(row, c0);
            }
            let (row, c0, len) = unpack(plan.entries[k]);
            // Bucket-order numbering only where it was made (prepared values).
            let v0 = plan.value_start.get(k).map_or(0, |&v| v as usize);
            for i in 0..len {
                let loc = plan.geom.locate(row, c0 + i);
                let (kx, ky) = weights2::<T, WP>(
                    &job.coeffs.two,
                    job.coeffs.degree,
                    T::of_f64(loc.dx),
                    T::of_f64(loc.dy),
                );
                let kw = if plan.geom.wstack {
                    weight_one(
                        &job.coeffs.one,
                        WP,
                        job.coeffs.degree,
                        T::of_f64(loc.dz),
                        job.plane - loc.plane,
                    )
                } else {
                    T::one()
                };
                f(v0 + i, row, c0 + i, &loc, &kx, &ky, kw);
            }
        }
    }
}

/// Spreads the tile's visibilities for plane `job.plane` into `buf`; `value(sample index
/// in bucket order, row, channel)` gives each visibility with its visibility-side factors.
#[inline(always)]
fn grid_tile<T: GridFloat, const W: usize, const WP: usize>(
    job: &TileJob<'_, '_, T>,
    value: &impl Fn(usize, usize, usize) -> Complex<T>,
    ahead: &impl Fn(usize, usize),
    buf: &mut [Complex<T>],
) {
    let (ox, oy) = job.origin;
    for_each_sample::<T, WP>(
        job,
        ahead,
        #[inline(always)]
        |i, row, chan, loc, kx, ky, kw| {
            let v = value(i, row, chan) * kw;
            spread::<T, W, WP>(buf, job.stride, loc.ax - ox, loc.ay - oy, kx, ky, v);
        },
    );
}

/// Interpolates the tile's visibilities for plane `job.plane` from `buf`, adding to
/// `out[row * nchan + chan]`.
#[inline(always)]
fn degrid_tile<T: GridFloat, const W: usize, const WP: usize>(
    job: &TileJob<'_, '_, T>,
    buf: &[Complex<T>],
    out: SharedMut<Complex<T>>,
    nchan: usize,
) {
    let (ox, oy) = job.origin;
    for_each_sample::<T, WP>(
        job,
        // SAFETY (both closures): (row, chan) is a sample of the plan, inside `out`.
        |row, c0| prefetch(unsafe { out.ptr().add(row * nchan + c0) }),
        #[inline(always)]
        |_, row, chan, loc, kx, ky, kw| {
            let v = interpolate::<T, W, WP>(buf, job.stride, loc.ax - ox, loc.ay - oy, kx, ky) * kw;
            // Each (row, chan) is in one bucket entry only, so one tile; planes run one
            // after another.
            unsafe {
                let o = out.ptr().add(row * nchan + chan);
                *o = *o + v;
            }
        },
    );
}
