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
//! factor, transformed, multiplied by `exp(−2πi w_j (n − 1 − centre))` and summed. A
//! w-plane is never held whole: it is made a band of tiles at a time in a strip of grid
//! rows that stays in cache, and each row is transformed as soon as it is complete and
//! kept only at the image's columns (so the plane's memory is `nv × nx`, not `nv × nu`),
//! which saves the whole grid's round trips through memory that dominated the transforms.

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Axis, CowArray, Ix2};
use num_complex::Complex;
use rayon::prelude::*;

use super::bucket::{unpack, Buckets, KeyMap, CHAN_BITS};
use super::es_kernel::{EsKernel, InverseFourier, PolyKernel};
use super::fft::GridFft;
use super::geometry::{n_minus_1, Geometry, Loc, Locs};
use super::params::{choose, GridParams, ParamInputs, TILE};
#[cfg(target_arch = "x86_64")]
use super::tile_loops::avx512;
use super::tile_loops::{interpolate, padded, spread, weight_one, weights2, with_support};
use super::{GridConfig, GridError, GridFloat, GridReport, GridWorkspace, StageTimes};
use crate::simd::{Backend, SimdLevel};
use crate::telescope::SPEED_OF_LIGHT_M_S;
use crate::util::{prefetch, prefetch_span, sincos_turns, timed, transpose_map, SharedMut};

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

/// A validated, bucketed gridding problem: what a [`super::GridPlan`] holds.
pub(super) struct Plan<'a> {
    pub(super) params: GridParams,
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
    /// Samples sorted by (first plane, tile).
    pub(super) buckets: Buckets,
    pub(super) nrow: usize,
    pub(super) nchan: usize,
    /// The kernels' instruction set.
    simd: Backend,
    /// Wall time of making the plan (seconds).
    pub(super) plan_s: f64,
}

fn shape_error(what: &'static str, expected: String, found: &[usize]) -> GridError {
    GridError::Shape {
        what,
        expected,
        found: format!("{found:?}"),
    }
}

/// Checks what the geometry depends on: the configuration, uvw (`[nrow, 3]`, finite) and
/// the frequencies (positive); returns `(nrow, nchan)`.
fn check_geometry(
    cfg: &GridConfig,
    uvw_m: &ArrayView2<'_, f64>,
    freq_hz: &[f64],
) -> Result<(usize, usize), GridError> {
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
    if nrow * nchan > u32::MAX as usize {
        return Err(GridError::InvalidConfig {
            field: "visibilities",
            value: (nrow * nchan).to_string(),
            expected: format!("at most {} (rows × channels) per plan", u32::MAX),
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
    Ok((nrow, nchan))
}

/// Kernel support, oversampling, grid size and w-planes for `cfg` in precision `T`. The w
/// range is taken over all samples (flags only narrow it, and a wider range costs nothing
/// in accuracy); `scale` is wavelengths per metre of each channel.
fn choose_params<T: GridFloat>(
    cfg: &GridConfig,
    uvw_m: &ArrayView2<'_, f64>,
    scale: &[f64],
) -> Result<GridParams, GridError> {
    let (nx, ny) = (cfg.npix_x, cfg.npix_y);
    let (w_range, nm1_range) = if cfg.wstacking {
        let (lo, hi) = uvw_m
            .column(2)
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), w| {
                (lo.min(w.abs()), hi.max(w.abs()))
            });
        let smin = scale.iter().copied().fold(f64::INFINITY, f64::min);
        let smax = scale.iter().copied().fold(0.0, f64::max);
        let lmax = (nx / 2).max(nx - 1 - nx / 2) as f64 * cfg.cell_x_rad;
        let mmax = (ny / 2).max(ny - 1 - ny / 2) as f64 * cfg.cell_y_rad;
        ((lo * smin, hi * smax), (n_minus_1(lmax, mmax), 0.0))
    } else {
        ((0.0, 0.0), (0.0, 0.0))
    };
    choose(&ParamInputs {
        epsilon: cfg.epsilon,
        precision: T::PRECISION,
        npix_x: nx,
        npix_y: ny,
        cell_x_rad: cfg.cell_x_rad,
        cell_y_rad: cfg.cell_y_rad,
        n_vis: uvw_m.nrows() * scale.len(),
        wstacking: cfg.wstacking,
        w_range,
        nm1_range,
    })
}

impl<'a> Plan<'a> {
    /// Validates the inputs and buckets every visibility that `include(row, chan)`
    /// accepts, in four stages: check the geometry, choose the parameters, place the
    /// samples on the grid and sort them into buckets (with the kernel's polynomial fit
    /// and correction made alongside).
    pub(super) fn new<T: GridFloat>(
        cfg: &GridConfig,
        uvw_m: CowArray<'a, f64, Ix2>,
        freq_hz: &[f64],
        include: impl Fn(usize, usize) -> bool + Sync,
    ) -> Result<Plan<'a>, GridError> {
        let t0 = Instant::now();
        let (nrow, nchan) = check_geometry(cfg, &uvw_m.view(), freq_hz)?;
        let simd = Backend::new(cfg.simd)?;
        let scale: Vec<f64> = freq_hz.iter().map(|f| f / SPEED_OF_LIGHT_M_S).collect();
        let params = choose_params::<T>(cfg, &uvw_m.view(), &scale)?;
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
        let (ntu, ntv) = (params.nu / TILE, params.nv / TILE);
        let n_tiles = ntu * ntv;
        let n_first = params.n_planes - if cfg.wstacking { params.support - 1 } else { 0 };
        let map = KeyMap {
            ntu,
            n_tiles,
            n_first,
        };
        // The kernel's polynomial fit and the interpolant of its correction (a few ms,
        // serial) are made alongside the bucketing.
        let kernel = EsKernel::new(params.support, params.beta);
        let ((poly, inv), buckets) = rayon::join(
            || {
                (
                    PolyKernel::fit(&kernel, 0.05 * cfg.epsilon.max(1e-15)),
                    InverseFourier::new(&kernel, 0.5 / params.sigma),
                )
            },
            || Buckets::sort(&geom, nrow, nchan, &include, &map, simd),
        );
        if buckets.n_values == 0 {
            return Err(GridError::Empty(
                "every visibility is flagged or has zero weight".into(),
            ));
        }
        Ok(Plan {
            params,
            geom,
            poly,
            inv,
            nx: cfg.npix_x,
            ny: cfg.npix_y,
            cell_x: cfg.cell_x_rad,
            cell_y: cfg.cell_y_rad,
            ntu,
            ntv,
            n_first,
            buckets,
            nrow,
            nchan,
            simd,
            plan_s: t0.elapsed().as_secs_f64(),
        })
    }

    /// The plan with its uvw owned.
    pub(super) fn into_owned(self) -> Plan<'static> {
        Plan {
            geom: self.geom.into_owned(),
            params: self.params,
            poly: self.poly,
            inv: self.inv,
            nx: self.nx,
            ny: self.ny,
            cell_x: self.cell_x,
            cell_y: self.cell_y,
            ntu: self.ntu,
            ntv: self.ntv,
            n_first: self.n_first,
            buckets: self.buckets,
            nrow: self.nrow,
            nchan: self.nchan,
            simd: self.simd,
            plan_s: self.plan_s,
        }
    }

    /// Bytes the plan holds (uvw if owned, buckets, tables).
    pub(super) fn heap_bytes(&self) -> usize {
        let uvw = if self.geom.uvw.is_view() {
            0
        } else {
            self.geom.uvw.len() * 8
        };
        uvw + self.buckets.entries.len() * 8
            + self.buckets.offsets.len() * 8
            + self.geom.scale.len() * 8
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
            .filter(|&t| firsts.clone().any(|p| !self.buckets.is_empty(p * nt + t)))
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

    /// Image-plane corrections of the u and v kernels: per column and per row. The w
    /// kernel's, per pixel, is carried by the plane phases ([`Self::plane_phases`]).
    fn corrections(&self) -> Corrections {
        let (p, inv) = (&self.params, &self.inv);
        let cu = (0..self.nx)
            .map(|c| inv.eval((c as f64 - (self.nx / 2) as f64) / p.nu as f64))
            .collect();
        let cv = (0..self.ny)
            .map(|r| inv.eval((r as f64 - (self.ny / 2) as f64) / p.nv as f64))
            .collect();
        (cu, cv)
    }

    /// The u and v kernels' image-plane correction of pixel (row `i`, column `k`), from
    /// [`Self::corrections`].
    #[inline(always)]
    fn correction(&self, corr: &Corrections, i: usize, k: usize) -> f64 {
        corr.0[k] * corr.1[i]
    }

    fn quadrant_dims(&self) -> (usize, usize) {
        (self.nx / 2 + 1, self.ny / 2 + 1)
    }

    /// Image column `c`'s run of a quadrant map (`(nx/2 + 1) × (ny/2 + 1)`, column by
    /// column): entry `t` serves the column's pixels `ny/2 ± t`.
    #[inline(always)]
    fn quadrant_column<'q, U>(&self, quadrant: &'q [U], c: usize) -> &'q [U] {
        let qy = self.quadrant_dims().1;
        let qc = c.abs_diff(self.nx / 2);
        &quadrant[qc * qy..(qc + 1) * qy]
    }

    /// The w-stacking screens on the quadrant, column by column (the column transforms
    /// walk the image a column at a time; see [`Self::quadrant_column`]): the first
    /// plane's phase `exp(−2πi w0 (n − 1 − centre))` times the w kernel's image-plane
    /// correction `1/Φ(dw (n − 1 − centre))`, and the per-plane step `exp(−2πi dw (n − 1 −
    /// centre))`. The correction is real, so carrying it in the phase corrects every
    /// plane's contribution alike. In the gridder's precision: the recurrence drifts by
    /// about one unit roundoff per plane, far below the smallest ε of that precision.
    fn plane_phases<T: GridFloat>(&self) -> (Vec<Complex<T>>, Vec<Complex<T>>) {
        const L: usize = 8;
        let p = &self.params;
        let (qx, qy) = self.quadrant_dims();
        let zero = Complex::new(T::zero(), T::zero());
        let mut phase = vec![zero; qx * qy];
        let mut step = vec![zero; qx * qy];
        phase
            .par_chunks_mut(qy)
            .zip(step.par_chunks_mut(qy))
            .enumerate()
            .for_each(|(qc, (phase, step))| {
                let l = qc as f64 * self.cell_x;
                for r0 in (0..qy).step_by(L) {
                    // n − 1 − centre of eight pixels of the column (past its end: unused).
                    let x: [f64; L] = std::array::from_fn(|i| {
                        n_minus_1(l, (r0 + i) as f64 * self.cell_y) - p.nm1_centre
                    });
                    let cw = self.inv.eval_lanes(&x.map(|x| p.dw * x));
                    for i in 0..L.min(qy - r0) {
                        let (s0, c0) = sincos_turns(-p.w0 * x[i]);
                        let (s1, c1) = sincos_turns(-p.dw * x[i]);
                        phase[r0 + i] = Complex::new(T::of_f64(c0 * cw[i]), T::of_f64(s0 * cw[i]));
                        step[r0 + i] = Complex::new(T::of_f64(c1), T::of_f64(s1));
                    }
                }
            });
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
        value_start: &'p [u32],
    ) -> TileJob<'p, 'a, T> {
        TileJob {
            plan: self,
            coeffs,
            plane,
            firsts: self.first_planes(plane),
            tile,
            origin: self.tile_origin(tile),
            stride,
            value_start,
        }
    }

    /// Asks for the grid cells of tile `tile` (its `tile + W − 1` rows and columns,
    /// wrapping) in the grid at address `grid` (an address, so that the tasks can share
    /// it): a hint, for cells a grid row apart that the hardware does not foresee.
    fn prefetch_tile<const WRITE: bool, T: GridFloat>(&self, grid: usize, tile: usize) {
        let (nu, nv) = (self.params.nu, self.params.nv);
        let bw = self.params.tile + self.params.support - 1;
        let (ox, oy) = self.tile_origin(tile);
        let first = bw.min(nu - ox);
        let cell = size_of::<Complex<T>>();
        for r in 0..bw {
            let row = grid + ((oy + r) % nv) * nu * cell;
            prefetch_span::<WRITE, u8>((row + ox * cell) as *const u8, first * cell);
            prefetch_span::<WRITE, u8>(row as *const u8, (bw - first) * cell);
        }
    }

    /// `(rows, columns)` of the image.
    pub(super) fn image_shape(&self) -> (usize, usize) {
        (self.ny, self.nx)
    }

    /// Grid cell of tile `tile`'s first corner.
    fn tile_origin(&self, tile: usize) -> (usize, usize) {
        let t = self.params.tile;
        ((tile % self.ntu) * t, (tile / self.ntu) * t)
    }

    /// Visibility-side factor of an entry: conjugation for folded samples and the phase of
    /// the mid n − 1 (w-stacking), as `(flip, phase)`.
    #[inline(always)]
    fn entry_factor(&self, row: usize, chan: usize) -> (bool, Complex<f64>) {
        let (_, _, w, flip) = self.geom.uvw_lambda(row, chan);
        let ph = if self.geom.wstack {
            let (s, c) = sincos_turns(-w * self.params.nm1_centre);
            Complex::new(c, s)
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
/// serialise the threads that first touch them and are slow under virtualisation). With
/// `prefault`, its pages are touched in parallel so the kernel's clearing is shared
/// between threads: for buffers that are written whole. A uv grid is not: gridding
/// writes only the data's footprint, so its pages are left to fault in as written (on an
/// SKA-Low-like field onto 4096², f32, 183 of the grid's 373 MB become resident, at the
/// same speed).
///
/// # Safety
/// All-zero bytes must be a valid `U` (true of `T` and `Complex<T>` for `T: GridFloat`,
/// which is sealed to `f32` and `f64`).
unsafe fn zeroed<U: Copy>(n: usize, prefault: bool) -> Vec<U> {
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
    let pages = if prefault { bytes.div_ceil(PAGE) } else { 0 };
    (0..pages).into_par_iter().for_each(|page| {
        let p = base;
        // SAFETY: inside the allocation; writing the zero it already holds.
        unsafe { std::ptr::write_volatile(p.ptr().add(page * PAGE), 0u8) };
    });
    // SAFETY: allocated by the global allocator with the layout of `n` U, all `n`
    // initialised (zero).
    unsafe { Vec::from_raw_parts(ptr, n, n) }
}

/// `n` complex zeros, prefaulted (see [`zeroed`]).
pub(super) fn complex_zeros<T: GridFloat>(n: usize) -> Vec<Complex<T>> {
    // SAFETY: T is f32 or f64 (sealed); all-zero bytes are 0 + 0i.
    unsafe { zeroed(n, true) }
}

/// A uv grid of `n` complex zeros, its pages left to fault in as gridding writes them
/// (see [`zeroed`]).
pub(super) fn grid_zeros<T: GridFloat>(n: usize) -> Vec<Complex<T>> {
    // SAFETY: T is f32 or f64 (sealed); all-zero bytes are 0 + 0i.
    unsafe { zeroed(n, false) }
}

/// `n` real zeros, prefaulted (see [`zeroed`]).
fn real_zeros<T: GridFloat>(n: usize) -> Vec<T> {
    // SAFETY: T is f32 or f64 (sealed); all-zero bytes are 0.
    unsafe { zeroed(n, true) }
}

/// The image-plane corrections of [`Plan::corrections`].
type Corrections = (Vec<f64>, Vec<f64>);

/// Where the tile loops of the gridder take each visibility from.
enum Source<'v, T: GridFloat> {
    /// `vis[row, chan]` times the weight, read in place (without w-stacking).
    Direct {
        vis: ArrayView2<'v, Complex<T>>,
        weight: Option<ArrayView2<'v, f32>>,
    },
    /// Values prepared in bucket order, numbered by `value_start` (with w-stacking).
    Prepared {
        values: Vec<Complex<T>>,
        value_start: Vec<u32>,
    },
}

/// Grids `vis` (`[row, chan]`) with the plan and returns the unnormalised dirty image
/// `[ny, nx]`, in three stages: prepare the visibilities (w-stacking only), spread and
/// transform plane by plane, correct. The report's counts of visibilities are the
/// caller's to fill in.
pub(super) fn grid<T: GridFloat>(
    plan: &Plan<'_>,
    vis: ArrayView2<'_, Complex<T>>,
    weight: Option<ArrayView2<'_, f32>>,
    ws: &mut GridWorkspace<T>,
) -> (Array2<T>, GridReport) {
    let t_start = Instant::now();
    let mut times = StageTimes::default();
    let p = &plan.params;
    let (nx, ny, nu, nv) = (plan.nx, plan.ny, p.nu, p.nv);
    let direct = !plan.geom.wstack;
    // With w-stacking each visibility is spread onto several planes: its value, weight and
    // phase factor are prepared once, in bucket order. Without, the tile loop reads it.
    let source = timed(&mut times.reorder_s, || {
        if direct {
            Source::Direct { vis, weight }
        } else {
            prepare_values(plan, vis, weight)
        }
    });
    let coeffs = plan.coeffs::<T>();
    // Without w-stacking the whole grid; with it, the grid's rows transformed and cut to
    // the image's columns (`nv × nx`), made band by band (see [`spread_bands`]).
    let mut grid = ws.take(if direct { nu * nv } else { nv * nx }, true);
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
    let mut out = real_zeros::<T>(nx * ny);
    let fft = GridFft::<T>::new(nu, nv, nx, ny);
    let pool = BandPool::new();
    let (mut phase, step) = if direct {
        (Vec::new(), Vec::new())
    } else {
        plan.plane_phases()
    };
    for j in 0..p.n_planes {
        let tiles = plan.occupied_tiles(j);
        let mask = plan.row_mask(&tiles);
        timed(&mut times.grid_s, || {
            if direct {
                spread_plane(plan, &coeffs, j, &tiles, &source, &mut grid)
            } else {
                spread_bands(
                    plan, &coeffs, j, &tiles, &mask, &source, &fft, &pool, &mut grid,
                )
            }
        });
        // Transform (with w-stacking: the columns; the rows were transformed band by
        // band), adding this plane's contribution (phased, with w-stacking) to the image
        // as each block of columns comes out; the grid is left zero.
        timed(&mut times.fft_s, || {
            if direct {
                forward_direct(plan, &fft, &mut grid, &mask, &corr, &mut out);
            } else {
                forward_stacked(plan, &fft, &mut grid, &mask, &phase, &mut out);
                if j + 1 < p.n_planes {
                    advance_phases(&mut phase, &step);
                }
            }
        });
    }
    // The prepared values and the plane phases are done with: freed before the image is
    // made, so that the kept grid, the accumulator and the image are not alive together
    // with them (the peak stays that of the plane loop).
    drop(source);
    drop((phase, step));
    // The forward transforms left the grid zero.
    ws.keep(grid, true);
    let image = timed(&mut times.correct_s, || {
        if direct {
            Array2::from_shape_vec((ny, nx), out).expect("shape")
        } else {
            corr = plan.corrections();
            stacked_image(plan, &out, &corr)
        }
    });
    times.total_s = t_start.elapsed().as_secs_f64();
    let report = GridReport {
        params: p.clone(),
        n_vis: 0,
        n_skipped_nonfinite: 0,
        kernel_degree: coeffs.degree,
        times,
    };
    (image, report)
}

/// The visibilities with their visibility-side factors (weight; with w-stacking, the
/// conjugation of folded samples and the phase of the mid n − 1), in bucket order, written
/// in place at each entry's numbering (no pieces to join, which would double the memory
/// for a moment and leave it fragmented).
fn prepare_values<'v, T: GridFloat>(
    plan: &Plan<'_>,
    vis: ArrayView2<'_, Complex<T>>,
    weight: Option<ArrayView2<'_, f32>>,
) -> Source<'v, T> {
    let value_start = plan.buckets.value_starts();
    let mut values = complex_zeros::<T>(plan.buckets.n_values);
    let out = SharedMut(values.as_mut_ptr());
    let entries = &plan.buckets.entries;
    (0..entries.len())
        .into_par_iter()
        .with_min_len(1024)
        .for_each(|k| {
            // Bucket order visits rows far apart: each entry's visibilities and uvw are
            // asked for a few entries ahead.
            if let Some(&ahead) = entries.get(k + PREFETCH) {
                let (row, c0, _) = unpack(ahead);
                plan.geom.prefetch(row);
                prefetch(&vis[[row, c0]]);
                if let Some(wt) = weight {
                    prefetch(&wt[[row, c0]]);
                }
            }
            let (row, c0, len) = unpack(entries[k]);
            let v0 = value_start[k];
            for i in 0..len {
                let chan = c0 + i;
                let v = vis[[row, chan]];
                let v = Complex::new(v.re.as_f64(), v.im.as_f64())
                    * weight.map_or(1.0, |wt| wt[[row, chan]] as f64);
                let (flip, ph) = plan.entry_factor(row, chan);
                let v = if flip { v.conj() } else { v } * ph;
                // SAFETY: the entries number their samples 0..n_values without overlap.
                unsafe {
                    *out.ptr().add(v0 as usize + i) = Complex::new(T::of_f64(v.re), T::of_f64(v.im))
                };
            }
        });
    Source::Prepared {
        values,
        value_start,
    }
}

/// Spreads the samples of plane `j` held by `tiles` onto the grid: tiles of one colour in
/// parallel, each into a private buffer added to the grid afterwards.
fn spread_plane<T: GridFloat>(
    plan: &Plan<'_>,
    coeffs: &TileCoeffs<T>,
    j: usize,
    tiles: &[usize],
    source: &Source<'_, T>,
    grid: &mut [Complex<T>],
) {
    let p = &plan.params;
    let (nu, nv, w) = (p.nu, p.nv, p.support);
    let bw = p.tile + w - 1;
    let bwp = p.tile + padded(w) - 1;
    let zero = Complex::new(T::zero(), T::zero());
    let simd = plan.simd;
    let mut by_colour: [Vec<usize>; 9] = Default::default();
    for &t in tiles {
        by_colour[plan.colour(t)].push(t);
    }
    let shared = SharedMut(grid.as_mut_ptr());
    let grid_ptr = grid.as_ptr() as usize;
    for colour_tiles in &by_colour {
        colour_tiles.par_iter().for_each_init(
            || vec![zero; bw * bwp],
            |buf, &t| {
                // The tile's grid cells are added to once its samples are spread: asked
                // for now, they arrive while the samples are.
                plan.prefetch_tile::<true, T>(grid_ptr, t);
                buf.fill(zero);
                match source {
                    Source::Direct { vis, weight } => {
                        let read = |_: usize, row: usize, chan: usize| {
                            let v = vis[[row, chan]];
                            let wt = weight.map_or(1.0, |wt| wt[[row, chan]] as f64);
                            Complex::new(
                                T::of_f64(v.re.as_f64() * wt),
                                T::of_f64(v.im.as_f64() * wt),
                            )
                        };
                        // Bucket order visits rows far apart: the direct read prefetches
                        // each entry's visibilities (and weights) with its uvw.
                        let read_ahead = |row: usize, c0: usize, len: usize| {
                            // Both ends: an entry's run often straddles two lines.
                            prefetch(&vis[[row, c0]]);
                            prefetch(&vis[[row, c0 + len - 1]]);
                            if let Some(wt) = weight {
                                prefetch(&wt[[row, c0]]);
                                prefetch(&wt[[row, c0 + len - 1]]);
                            }
                        };
                        let job = plan.tile_job(coeffs, j, t, bwp, &[]);
                        with_support!(w, W, WP => dispatch!(simd, grid_tile::<T, W, WP>(&job, &read, &read_ahead, buf)));
                    }
                    Source::Prepared {
                        values,
                        value_start,
                    } => {
                        let prepared = |i: usize, _: usize, _: usize| values[i];
                        let job = plan.tile_job(coeffs, j, t, bwp, value_start);
                        with_support!(w, W, WP => dispatch!(simd, grid_tile::<T, W, WP>(&job, &prepared, &|_, _, _| {}, buf)));
                    }
                }
                let (ox, oy) = plan.tile_origin(t);
                // SAFETY: tiles of one colour cover disjoint grid cells.
                unsafe { add_tile(shared, nu, nv, ox, oy, bw, bwp, buf) };
            },
        );
    }
}

/// Without w-stacking: transforms the one plane and writes the corrected image `[ny, nx]`
/// directly, moving each block of columns in chunks of image rows.
fn forward_direct<T: GridFloat>(
    plan: &Plan<'_>,
    fft: &GridFft<T>,
    grid: &mut [Complex<T>],
    mask: &[bool],
    corr: &Corrections,
    image: &mut [T],
) {
    let (nx, ny, nv) = (plan.nx, plan.ny, plan.params.nv);
    let out = SharedMut(image.as_mut_ptr());
    let (cu, cv) = corr;
    let sink = |k0: usize, buf: &[Complex<T>]| {
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
                        // SAFETY: each block of columns writes only its own columns of
                        // each row.
                        unsafe { *out.ptr().add(i * nx + k0 + b) = T::of_f64(v) };
                    }
                }
            },
        );
    };
    // The image is the transform's real part: the real-image transform does half the work.
    if fft.real_ok() {
        fft.forward_real(grid, mask, sink);
    } else {
        fft.forward(grid, mask, sink);
    }
}

/// With w-stacking: transforms the columns of plane `j` (its rows transformed and cut to
/// the image's columns by [`spread_bands`]) and adds it, phased by `exp(−2πi w_j (n − 1 −
/// centre))`, to the column-major accumulator `acc[k * ny + i]`.
fn forward_stacked<T: GridFloat>(
    plan: &Plan<'_>,
    fft: &GridFft<T>,
    grid: &mut [Complex<T>],
    mask: &[bool],
    phase: &[Complex<T>],
    acc: &mut [T],
) {
    let (ny, nv) = (plan.ny, plan.params.nv);
    let out = SharedMut(acc.as_mut_ptr());
    let h = ny / 2;
    fft.forward_columns(grid, mask, move |k0, buf| {
        for (b, col) in buf.chunks_exact(nv).enumerate() {
            let k = k0 + b;
            // SAFETY: each block of columns writes only its own image columns.
            let o = unsafe { std::slice::from_raw_parts_mut(out.ptr().add(k * ny), ny) };
            let q = plan.quadrant_column(phase, k);
            // Pixel `h + t` is grid row `t` and the quadrant's row `t`; pixel `i < h` is
            // grid row `nv − h + i` and the quadrant's row `h − i` (two straight runs, so
            // the loops vectorise).
            let (below, above) = o.split_at_mut(h);
            for ((o, f), q) in above.iter_mut().zip(&col[..ny - h]).zip(q) {
                *o = *o + (f.re * q.re - f.im * q.im);
            }
            for ((o, f), q) in below
                .iter_mut()
                .zip(&col[nv - h..])
                .zip(q[1..].iter().rev())
            {
                *o = *o + (f.re * q.re - f.im * q.im);
            }
        }
    });
}

/// The corrected image `[ny, nx]` from the w-stacked accumulator `acc[k * ny + i]`.
fn stacked_image<T: GridFloat>(plan: &Plan<'_>, acc: &[T], corr: &Corrections) -> Array2<T> {
    let (nx, ny) = (plan.nx, plan.ny);
    let mut image = Array2::from_shape_vec((ny, nx), real_zeros::<T>(nx * ny)).expect("shape");
    transpose_map(
        nx,
        ny,
        |k, i| T::of_f64(acc[k * ny + i].as_f64() * plan.correction(corr, i, k)),
        image.as_slice_mut().expect("standard layout"),
    );
    image
}

/// Buffers of one band task: the strip of grid rows, a tile buffer and the row
/// transforms' scratch. Kept across the planes of a call (a strip is up to a few MB, and
/// fresh ones would be paged in again for every plane).
struct BandBuffers<T> {
    strip: Vec<Complex<T>>,
    tile: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

/// The band tasks' buffers, taken and given back by the tasks.
struct BandPool<T>(std::sync::Mutex<Vec<BandBuffers<T>>>);

impl<T: GridFloat> BandPool<T> {
    fn new() -> Self {
        BandPool(std::sync::Mutex::new(Vec::new()))
    }

    /// Runs `f` with a set of buffers for `plan`. A pool serves one call: the gridder's
    /// tasks find the strip all zero and leave it so; the degridder's write every row
    /// they read.
    fn with(&self, plan: &Plan<'_>, fft: &GridFft<T>, f: impl FnOnce(&mut BandBuffers<T>)) {
        let p = &plan.params;
        let bw = p.tile + p.support - 1;
        let zero = Complex::new(T::zero(), T::zero());
        let taken = self.0.lock().map(|mut v| v.pop()).unwrap_or(None);
        let mut b = taken.unwrap_or_else(|| BandBuffers {
            strip: vec![zero; bw * p.nu],
            tile: vec![zero; bw * (p.tile + padded(p.support) - 1)],
            scratch: vec![zero; fft.row_scratch_len()],
        });
        f(&mut b);
        if let Ok(mut v) = self.0.lock() {
            v.push(b);
        }
    }
}

/// The bands (tile rows) of plane `j` in contiguous runs of about equal work, eight
/// runs per thread so that work stealing evens them out, and the occupied tiles of
/// each band.
fn band_runs(
    plan: &Plan<'_>,
    j: usize,
    tiles: &[usize],
) -> (Vec<std::ops::Range<usize>>, Vec<Vec<usize>>) {
    let (ntu, ntv, nt) = (plan.ntu, plan.ntv, plan.n_tiles());
    let mut band_tiles = vec![Vec::new(); ntv];
    for &t in tiles {
        band_tiles[t / ntu].push(t);
    }
    // Work of a band in the cost model's terms (params.rs, nanoseconds): its samples'
    // kernel points and its rows' transforms.
    let p = &plan.params;
    let firsts = plan.first_planes(j);
    let per_sample = 1.05 * (p.support * padded(p.support)) as f64 + 20.0;
    let per_band = 0.36 * (p.tile * p.nu) as f64 * (p.nu as f64).log2();
    // Samples counted as bucket entries times the mean entry length (counting them
    // exactly would walk every entry of the plane on one thread).
    let per_entry = plan.buckets.n_values as f64 / plan.buckets.entries.len().max(1) as f64;
    let work: Vec<f64> = band_tiles
        .iter()
        .map(|ts| {
            let entries: usize = ts
                .iter()
                .flat_map(|&t| {
                    firsts
                        .clone()
                        .map(move |f| plan.buckets.range(f * nt + t).len())
                })
                .sum();
            per_band + per_sample * per_entry * entries as f64
        })
        .collect();
    let n_runs = (8 * rayon::current_num_threads()).clamp(1, ntv);
    let total: f64 = work.iter().sum();
    let mut runs = Vec::with_capacity(n_runs);
    let (mut start, mut acc) = (0, 0.0);
    for (tv, w) in work.iter().enumerate() {
        acc += w;
        // Close a run once it holds its share of the work so far.
        if acc * n_runs as f64 >= total * (runs.len() + 1) as f64 && runs.len() + 1 < n_runs {
            runs.push(start..tv + 1);
            start = tv + 1;
        }
    }
    if start < ntv {
        runs.push(start..ntv);
    }
    (runs, band_tiles)
}

/// With w-stacking: spreads the samples of plane `j` held by `tiles` and transforms the
/// grid's rows, keeping their image columns in `half` (`nv` rows of `nx`), band by band.
/// A band's tiles are spread into a strip of `tile + W − 1` grid rows, small enough to
/// stay in cache; its first `tile` rows are then complete and are transformed at once,
/// and the last `W − 1` carry over to the next band. So the full grid is never made nor
/// read back from memory. Runs of bands go in parallel; the first `W − 1` rows of each
/// run wait for the previous run's carry and are transformed at the end.
#[allow(clippy::too_many_arguments)]
fn spread_bands<T: GridFloat>(
    plan: &Plan<'_>,
    coeffs: &TileCoeffs<T>,
    j: usize,
    tiles: &[usize],
    mask: &[bool],
    source: &Source<'_, T>,
    fft: &GridFft<T>,
    pool: &BandPool<T>,
    half: &mut [Complex<T>],
) {
    let Source::Prepared {
        values,
        value_start,
    } = source
    else {
        unreachable!("w-stacking prepares its values")
    };
    let p = &plan.params;
    let (nu, nx, w, tile) = (p.nu, plan.nx, p.support, p.tile);
    let (bw, carry) = (tile + w - 1, w - 1);
    let bwp = tile + padded(w) - 1;
    let zero = Complex::new(T::zero(), T::zero());
    let simd = plan.simd;
    let (runs, band_tiles) = band_runs(plan, j, tiles);
    let out = SharedMut(half.as_mut_ptr());
    // Transforms strip row `row` (grid row `g`) into row `g` of `half`.
    // SAFETY (callers): each grid row is written by one task only, once.
    let emit = |g: usize, row: &mut [Complex<T>], scratch: &mut [Complex<T>]| {
        let dst = unsafe { std::slice::from_raw_parts_mut(out.ptr().add(g * nx), nx) };
        fft.row_forward_to_image(row, dst, scratch);
    };
    let prepared = |i: usize, _: usize, _: usize| values[i];
    // Per run: its first W − 1 rows without the previous run's carry, and its own carry.
    let ends: Vec<[Vec<Complex<T>>; 2]> = runs
        .par_iter()
        .map(|run| {
            let mut head = vec![zero; carry * nu];
            let mut tail = vec![zero; carry * nu];
            pool.with(plan, fft, |b| {
                let (strip, buf, scratch) = (&mut b.strip, &mut b.tile, &mut b.scratch);
                let mut live = false;
                let strip_ptr = SharedMut(strip.as_mut_ptr());
                for tv in run.clone() {
                    let ts = &band_tiles[tv];
                    if ts.is_empty() && !live {
                        continue;
                    }
                    for &t in ts {
                        buf.fill(zero);
                        let job = plan.tile_job(coeffs, j, t, bwp, value_start);
                        with_support!(w, W, WP => dispatch!(simd, grid_tile::<T, W, WP>(&job, &prepared, &|_, _, _| {}, buf)));
                        let (ox, _) = plan.tile_origin(t);
                        // SAFETY: the strip is this task's; its rows are the band's.
                        unsafe { add_tile(strip_ptr, nu, bw, ox, 0, bw, bwp, buf) };
                    }
                    let mut from = 0;
                    if tv == run.start {
                        // Still missing the previous run's carry.
                        head.copy_from_slice(&strip[..carry * nu]);
                        from = carry;
                    }
                    for r in from..tile {
                        let g = tv * tile + r;
                        if mask[g] {
                            emit(g, &mut strip[r * nu..(r + 1) * nu], scratch);
                        }
                    }
                    strip.copy_within(tile * nu..bw * nu, 0);
                    strip[carry * nu..].fill(zero);
                    live = !ts.is_empty();
                }
                tail.copy_from_slice(&strip[..carry * nu]);
                strip[..carry * nu].fill(zero);
            });
            [head, tail]
        })
        .collect();
    // Each run's first rows: its own part and the previous run's carry (cyclically: the
    // last band's carry wraps to the first rows of the grid).
    let n = runs.len();
    runs.par_iter().enumerate().for_each(|(k, run)| {
        pool.with(plan, fft, |b| {
            // The strip's first row as a row buffer (left zero).
            let (row, scratch) = (&mut b.strip[..nu], &mut b.scratch);
            let (head, prev) = (&ends[k][0], &ends[(k + n - 1) % n][1]);
            for i in 0..carry {
                let g = run.start * tile + i;
                if mask[g] {
                    for ((o, a), b) in row
                        .iter_mut()
                        .zip(&head[i * nu..(i + 1) * nu])
                        .zip(&prev[i * nu..(i + 1) * nu])
                    {
                        *o = *a + *b;
                    }
                    emit(g, row, scratch);
                }
            }
            row.fill(zero);
        })
    });
}

/// With w-stacking: the adjoint of [`spread_bands`]. `half` holds the column transforms
/// at the image's columns (`nv` rows of `nx`); band by band, the strip of `tile + W − 1`
/// grid rows that the band's tiles read is made by row transforms (the last `W − 1` kept
/// for the next band) and the band's samples are interpolated from it, adding to
/// `vis[row, chan]`.
#[allow(clippy::too_many_arguments)]
fn interpolate_bands<T: GridFloat>(
    plan: &Plan<'_>,
    coeffs: &TileCoeffs<T>,
    j: usize,
    tiles: &[usize],
    mask: &[bool],
    fft: &GridFft<T>,
    pool: &BandPool<T>,
    half: &[Complex<T>],
    vis: &mut Array2<Complex<T>>,
) {
    let p = &plan.params;
    let (nu, nv, nx, w, tile, nchan) = (p.nu, p.nv, plan.nx, p.support, p.tile, plan.nchan);
    let (bw, carry) = (tile + w - 1, w - 1);
    let bwp = tile + padded(w) - 1;
    let zero = Complex::new(T::zero(), T::zero());
    let simd = plan.simd;
    let (runs, band_tiles) = band_runs(plan, j, tiles);
    let out = SharedMut(vis.as_mut_ptr());
    let cell = std::mem::size_of::<Complex<T>>();
    runs.par_iter().for_each(|run| {
        pool.with(plan, fft, |b| {
            let (strip, buf, scratch) = (&mut b.strip, &mut b.tile, &mut b.scratch);
            // The band whose rows the strip holds.
            let mut held: Option<usize> = None;
            for tv in run.clone() {
                let ts = &band_tiles[tv];
                if ts.is_empty() {
                    continue;
                }
                let mut from = 0;
                if held.is_some_and(|h| h + 1 == tv) {
                    strip.copy_within(tile * nu..bw * nu, 0);
                    from = carry;
                }
                for r in from..bw {
                    let g = (tv * tile + r) % nv;
                    let row = &mut strip[r * nu..(r + 1) * nu];
                    if mask[g] {
                        // The next row's image columns come from memory while this row
                        // is transformed.
                        let next = (g + 1) % nv;
                        prefetch_span::<false, _>(half[next * nx..].as_ptr(), nx * cell);
                        fft.row_inverse_from_image(&half[g * nx..(g + 1) * nx], row, scratch);
                    } else {
                        row.fill(zero);
                    }
                }
                held = Some(tv);
                for &t in ts {
                    let job = plan.tile_job(coeffs, j, t, bwp, &[]);
                    let (ox, _) = job.origin;
                    load_tile(strip, nu, bw, ox, 0, bw, bwp, buf);
                    with_support!(w, W, WP => dispatch!(simd, degrid_tile::<T, W, WP>(&job, buf, out, nchan)));
                }
            }
        })
    });
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
/// are zero. Stages: correct the image (w-stacking: once, column-major), then plane by
/// plane transform and interpolate into `[row, chan]`, then apply the visibility-side
/// factors in row order. The report's counts of visibilities are the caller's to fill in.
pub(super) fn degrid<T: GridFloat>(
    plan: &Plan<'_>,
    dirty: ArrayView2<'_, T>,
    weight: Option<ArrayView2<'_, f32>>,
    ws: &mut GridWorkspace<T>,
) -> (Array2<Complex<T>>, GridReport) {
    let t_start = Instant::now();
    let mut times = StageTimes::default();
    let p = &plan.params;
    let (nx, ny, nu, nv) = (plan.nx, plan.ny, p.nu, p.nv);
    let (nrow, nchan) = (plan.nrow, plan.nchan);
    let direct = !plan.geom.wstack;
    // With w-stacking, the corrected image column by column (`corrected[k * ny + i]`), as
    // the column transforms of every plane take it. Without, the one plane's transform
    // reads and corrects the image directly, a block of columns at a time.
    let (corr, corrected) = timed(&mut times.correct_s, || {
        let corr = plan.corrections();
        let mut corrected = Vec::new();
        if !direct {
            corrected = real_zeros::<T>(nx * ny);
            transpose_map(
                ny,
                nx,
                |i, k| T::of_f64(dirty[[i, k]].as_f64() * plan.correction(&corr, i, k)),
                &mut corrected,
            );
        }
        (corr, corrected)
    });
    let coeffs = plan.coeffs::<T>();
    // The planes' contributions accumulate straight into `[row, chan]` (each entry's
    // output line is prefetched with its uvw, so the scattered writes do not stall the
    // interpolation); the visibility-side factors are applied at the end, in row order.
    // Flagged samples stay zero.
    let mut vis =
        Array2::from_shape_vec((nrow, nchan), complex_zeros::<T>(nrow * nchan)).expect("shape");
    // The inverse transforms write every cell the tiles read: any grid will do. With
    // w-stacking it holds the column transforms at the image's columns (`nv × nx`), and
    // the rows are transformed band by band (see [`interpolate_bands`]).
    let mut grid = ws.take(if direct { nu * nv } else { nv * nx }, false);
    let fft = GridFft::<T>::new(nu, nv, nx, ny);
    let pool = BandPool::new();
    let (mut phase, step) = if direct {
        (Vec::new(), Vec::new())
    } else {
        plan.plane_phases()
    };
    for j in 0..p.n_planes {
        let tiles = plan.occupied_tiles(j);
        let mask = plan.row_mask(&tiles);
        // The image, corrected and (with w-stacking) phased on the fly, so no corrected
        // copy is kept, goes into the column transforms block by block.
        timed(&mut times.fft_s, || {
            if direct {
                inverse_direct(plan, &fft, &mut grid, &mask, &corr, dirty);
            } else {
                inverse_stacked(plan, &fft, &mut grid, &mask, &phase, &corrected);
            }
        });
        timed(&mut times.grid_s, || {
            if direct {
                interpolate_plane(plan, &coeffs, j, &tiles, &grid, &mut vis)
            } else {
                interpolate_bands(
                    plan, &coeffs, j, &tiles, &mask, &fft, &pool, &grid, &mut vis,
                )
            }
        });
        if j + 1 < p.n_planes {
            advance_phases(&mut phase, &step);
        }
    }
    ws.keep(grid, false);
    // The visibility-side factors (weights; with w-stacking the conjugation of folded
    // samples and the phase of the mid n − 1), row by row.
    timed(&mut times.reorder_s, || {
        if weight.is_some() || !direct {
            apply_vis_factors(plan, weight, &mut vis)
        }
    });
    times.total_s = t_start.elapsed().as_secs_f64();
    let report = GridReport {
        params: p.clone(),
        n_vis: 0,
        n_skipped_nonfinite: 0,
        kernel_degree: coeffs.degree,
        times,
    };
    (vis, report)
}

/// Without w-stacking: the image, corrected on the fly, into the column transforms.
fn inverse_direct<T: GridFloat>(
    plan: &Plan<'_>,
    fft: &GridFft<T>,
    grid: &mut [Complex<T>],
    mask: &[bool],
    corr: &Corrections,
    dirty: ArrayView2<'_, T>,
) {
    let (ny, nv) = (plan.ny, plan.params.nv);
    let (cu, cv) = corr;
    let source = |k0: usize, buf: &mut [Complex<T>]| {
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
    };
    // The image is real: the real-image transform does half the work.
    if fft.real_ok() {
        fft.inverse_real(grid, mask, source);
    } else {
        fft.inverse(grid, mask, source);
    }
}

/// With w-stacking: the corrected image (column-major), phased by the adjoint of the
/// gridder's plane phase, into the column transforms.
fn inverse_stacked<T: GridFloat>(
    plan: &Plan<'_>,
    fft: &GridFft<T>,
    grid: &mut [Complex<T>],
    mask: &[bool],
    phase: &[Complex<T>],
    corrected: &[T],
) {
    let (ny, nv) = (plan.ny, plan.params.nv);
    let h = ny / 2;
    fft.inverse_columns(grid, mask, move |k0, buf| {
        for (b, col) in buf.chunks_exact_mut(nv).enumerate() {
            let k = k0 + b;
            let (below, above) = corrected[k * ny..(k + 1) * ny].split_at(h);
            let q = plan.quadrant_column(phase, k);
            // The adjoint of the gridder's exp(−iφ) is exp(+iφ); the rows as in
            // [`forward_stacked`].
            let (top, rest) = col.split_at_mut(ny - h);
            for ((c, &v), q) in top.iter_mut().zip(above).zip(q) {
                *c = Complex::new(q.re * v, -(q.im * v));
            }
            for ((c, &v), q) in rest[nv - ny..]
                .iter_mut()
                .zip(below)
                .zip(q[1..].iter().rev())
            {
                *c = Complex::new(q.re * v, -(q.im * v));
            }
        }
    });
}

/// Interpolates the samples of plane `j` held by `tiles` from the grid, adding to
/// `vis[row, chan]` (each sample is in one tile only, so tiles run in parallel).
fn interpolate_plane<T: GridFloat>(
    plan: &Plan<'_>,
    coeffs: &TileCoeffs<T>,
    j: usize,
    tiles: &[usize],
    grid: &[Complex<T>],
    vis: &mut Array2<Complex<T>>,
) {
    let p = &plan.params;
    let (nu, nv, w, nchan) = (p.nu, p.nv, p.support, plan.nchan);
    let bw = p.tile + w - 1;
    let bwp = p.tile + padded(w) - 1;
    let zero = Complex::new(T::zero(), T::zero());
    let simd = plan.simd;
    let out = SharedMut(vis.as_mut_ptr());
    let grid_ptr = grid.as_ptr() as usize;
    tiles.par_iter().enumerate().for_each_init(
        || vec![zero; bw * bwp],
        |buf, (k, &t)| {
            // The next tile's cells (most often this thread's next job) are asked for
            // while this one is interpolated.
            if let Some(&next) = tiles.get(k + 1) {
                plan.prefetch_tile::<false, T>(grid_ptr, next);
            }
            let job = plan.tile_job(coeffs, j, t, bwp, &[]);
            let (ox, oy) = job.origin;
            load_tile(grid, nu, nv, ox, oy, bw, bwp, buf);
            with_support!(w, W, WP => dispatch!(simd, degrid_tile::<T, W, WP>(&job, buf, out, nchan)));
        },
    );
}

/// Applies the visibility-side factors (weights; with w-stacking the conjugation of folded
/// samples and the phase of the mid n − 1) to `vis[row, chan]`, row by row.
fn apply_vis_factors<T: GridFloat>(
    plan: &Plan<'_>,
    weight: Option<ArrayView2<'_, f32>>,
    vis: &mut Array2<Complex<T>>,
) {
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

/// Calls `$f::<..>($args)` through the variant compiled for `$simd`.
macro_rules! dispatch {
    ($simd:expr, $f:ident::<$T:ty, $W:ident, $WP:ident>($($arg:expr),*)) => {
        match $simd.level() {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn call(f: impl FnOnce()) { f() }
                // SAFETY: a Backend of this level exists only where the CPU has these
                // features (crate::simd).
                unsafe { call(#[inline(always)] || $f::<$T, $W, $WP>($($arg),*)) }
            }
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn call(f: impl FnOnce()) { f() }
                // SAFETY: as above.
                unsafe { call(#[inline(always)] || $f::<$T, $W, $WP>($($arg),*)) }
            }
            _ => $f::<$T, $W, $WP>($($arg),*),
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
    /// Bucket-order number of each entry's first sample (prepared values only; else empty).
    value_start: &'p [u32],
}

/// Calls `f(sample index in bucket order, row, channel, location, kernel weights on x and
/// y, w-kernel weight)` for every sample of the tile that touches plane `job.plane`, and
/// `ahead(row, first channel, channels)` for the entry `PREFETCH` ahead (to prefetch its data).
#[inline(always)]
fn for_each_sample<T: GridFloat, const W: usize, const WP: usize>(
    job: &TileJob<'_, '_, T>,
    ahead: impl Fn(usize, usize, usize),
    mut f: impl FnMut(usize, usize, usize, &Loc, &[T; WP], &[T; WP], T),
) {
    let plan = job.plan;
    let nt = plan.n_tiles();
    // An entry's locations, made together (eight at a time with AVX-512).
    let mut locs = Locs::default();
    for first in job.firsts.clone() {
        let range = plan.buckets.range(first * nt + job.tile);
        let end = range.end;
        let entries = &plan.buckets.entries;
        for k in range {
            if k + PREFETCH < end {
                let (row, c0, len) = unpack(entries[k + PREFETCH]);
                plan.geom.prefetch(row);
                ahead(row, c0, len);
            }
            let (row, c0, len) = unpack(entries[k]);
            // Bucket-order numbering only where it was made (prepared values).
            let v0 = job.value_start.get(k).map_or(0, |&v| v as usize);
            plan.geom.locate_run(plan.simd, row, c0, len, &mut locs);
            for i in 0..len {
                let loc = &locs.get(i);
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
                // The padded weights `ky[W..]` (zero) are not used by the tile loops: were
                // nothing to use them, the compiler would drop their lanes and split the
                // 2·WP-lane evaluation above into pieces of odd widths, mostly scalar (the
                // tile loops took 10–16 % longer). A product with zero keeps them.
                let kw = ky[W..].iter().fold(kw, |a, &k| a + k * T::zero());
                f(v0 + i, row, c0 + i, loc, &kx, &ky, kw);
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
    ahead: &impl Fn(usize, usize, usize),
    buf: &mut [Complex<T>],
) {
    let (ox, oy) = job.origin;
    for_each_sample::<T, W, WP>(
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
    let avx512 = job.plan.simd.level() == SimdLevel::Avx512;
    for_each_sample::<T, W, WP>(
        job,
        // SAFETY (both closures): (row, chan) is a sample of the plan, inside `out`.
        |row, c0, len| {
            prefetch(unsafe { out.ptr().add(row * nchan + c0) });
            prefetch(unsafe { out.ptr().add(row * nchan + c0 + len - 1) });
        },
        #[inline(always)]
        |_, row, chan, loc, kx, ky, kw| {
            let (x, y) = (loc.ax - ox, loc.ay - oy);
            let v = match () {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a Backend of level Avx512 exists only where the CPU has it.
                () if avx512 => unsafe {
                    avx512::interpolate::<T, W, WP>(buf, job.stride, x, y, kx, ky)
                },
                () => interpolate::<T, W, WP>(buf, job.stride, x, y, kx, ky),
            } * kw;
            // Each (row, chan) is in one bucket entry only, so one tile; planes run one
            // after another. A sample's first plane writes its value without reading the
            // zero there (without w-stacking, the only plane): no load, and a page of the
            // fresh output is faulted in once, for writing.
            unsafe {
                let o = out.ptr().add(row * nchan + chan);
                if job.plane == loc.plane {
                    *o = v;
                } else {
                    *o = *o + v;
                }
            }
        },
    );
}
