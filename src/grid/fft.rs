//! The 2-D FFT between an oversampled uv grid and an image, doing only the work the image
//! needs: rows of the grid that hold no data are skipped, and along the second axis only
//! the columns that map to image columns are transformed.
//!
//! The grid is row-major, `nv` rows (v) of `nu` cells (u). The forward direction uses
//! `exp(−2πi k n / N)` (rustfft's forward), the inverse `exp(+2πi k n / N)`, unnormalised:
//! the two are exact adjoints.

use std::sync::Arc;

use num_complex::Complex;
use rayon::prelude::*;
use rustfft::{Fft, FftNum, FftPlanner};

use crate::util::{prefetch, SharedMut};

/// Columns gathered per column-FFT task: consecutive columns make the gather read whole
/// cache lines.
const COL_BLOCK: usize = 32;

/// How many rows ahead the strided column gathers prefetch.
const PREFETCH_ROWS: usize = 8;

/// Plans of the row and column transforms between one grid size and one image size.
///
/// The image's column `k` is the grid's column `cols[k]` and its row `i` the grid's row
/// `out_rows[i]` (see [`image_axis_indices`]). Image values never pass through the grid:
/// the column transforms hand their results to, or take their inputs from, the caller in
/// blocks of up to `COL_BLOCK` whole columns, `buf[b * nv + grid row]` holding image column
/// `k0 + b`.
pub(crate) struct GridFft<T: FftNum> {
    nu: usize,
    nv: usize,
    cols: Vec<usize>,
    out_rows: Vec<usize>,
    /// Grid columns no image column maps to: `gap.0..gap.1`.
    gap: (usize, usize),
    row_fwd: Arc<dyn Fft<T>>,
    row_inv: Arc<dyn Fft<T>>,
    col_fwd: Arc<dyn Fft<T>>,
    col_inv: Arc<dyn Fft<T>>,
    /// Transforms of half a column (`nv / 2` points) for the real-image transforms.
    half_fwd: Arc<dyn Fft<T>>,
    half_inv: Arc<dyn Fft<T>>,
    /// `exp(−2πi k / nv)` for `k = 0..nv / 2`.
    twiddles: Vec<Complex<T>>,
}

impl<T: FftNum> GridFft<T> {
    /// Plans for a grid of `nv` rows by `nu` columns and an image of `ny` rows by `nx`
    /// columns (`nx ≤ nu`, `ny ≤ nv`).
    pub fn new(nu: usize, nv: usize, nx: usize, ny: usize) -> Self {
        assert!(
            nx <= nu && ny <= nv,
            "image {ny}x{nx} larger than grid {nv}x{nu}"
        );
        let mut planner = FftPlanner::new();
        GridFft {
            nu,
            nv,
            cols: image_axis_indices(nx, nu),
            out_rows: image_axis_indices(ny, nv),
            gap: (nx - nx / 2, nu - nx / 2),
            row_fwd: planner.plan_fft_forward(nu),
            row_inv: planner.plan_fft_inverse(nu),
            col_fwd: planner.plan_fft_forward(nv),
            col_inv: planner.plan_fft_inverse(nv),
            half_fwd: planner.plan_fft_forward((nv / 2).max(1)),
            half_inv: planner.plan_fft_inverse((nv / 2).max(1)),
            twiddles: (0..nv / 2)
                .map(|k| {
                    let (s, c) = (-2.0 * std::f64::consts::PI * k as f64 / nv as f64).sin_cos();
                    Complex::new(of_f64(c), of_f64(s))
                })
                .collect(),
        }
    }

    /// Whether [`Self::forward_real`] and [`Self::inverse_real`] apply: an even number of
    /// grid rows.
    pub fn real_ok(&self) -> bool {
        self.nv >= 2 && self.nv.is_multiple_of(2)
    }

    /// Rows `0..=nv/2` that the real-image transforms work on: those whose row or
    /// mirrored row `(nv − v) mod nv` is flagged.
    fn half_rows(&self, rows: &[bool]) -> Vec<bool> {
        (0..=self.nv / 2)
            .map(|v| rows[v] || rows[(self.nv - v) % self.nv])
            .collect()
    }

    /// Grid → image when only the image's real part is wanted (the dirty image without
    /// w-stacking): [`Self::forward`]'s real part at half the work. The real part of the
    /// transform of `G` is the transform of its Hermitian part `H(k) = (G(k) +
    /// conj G(−k)) / 2`, whose transform is real: the rows `0..=nv/2` of `H` are made and
    /// transformed, and each image column comes from half a column by a real inverse
    /// transform (a complex one of `nv / 2` points). `sink(k0, buf)` gets the values as
    /// [`Self::forward`] gives them, with zero imaginary parts. The grid is left all zero.
    pub fn forward_real(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        sink: impl Fn(usize, &[Complex<T>]) + Sync,
    ) {
        assert!(self.real_ok(), "{} grid rows: not even", self.nv);
        let zero = Complex::new(T::zero(), T::zero());
        let (nu, nv, m) = (self.nu, self.nv, self.nv / 2);
        let (a, b) = self.gap;
        let half_rows = self.half_rows(rows);
        let half = of_f64::<T>(0.5);
        let shared = SharedMut(grid.as_mut_ptr());
        let scratch_len = self.row_fwd.get_inplace_scratch_len();
        (0..=m)
            .into_par_iter()
            .filter(|&v| half_rows[v])
            .for_each_init(
                || (vec![zero; nu], vec![zero; scratch_len]),
                |(mirror, scratch), v| {
                    let w = (nv - v) % nv;
                    // SAFETY: the task of row v (v ≤ nv/2) is the only one to touch rows v
                    // and w = nv − v (> nv/2 unless w = v); both are inside the grid.
                    let row =
                        unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(v * nu), nu) };
                    {
                        let other =
                            unsafe { std::slice::from_raw_parts(shared.ptr().add(w * nu), nu) };
                        mirror_conj(other, mirror);
                    }
                    for (g, h) in row.iter_mut().zip(mirror.iter()) {
                        *g = (*g + *h) * half;
                    }
                    if w != v {
                        // SAFETY: as above; `row` is not used while this exists.
                        unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(w * nu), nu) }
                            .fill(zero);
                    }
                    self.row_fwd.process_with_scratch(row, scratch);
                    row[a..b].fill(zero);
                },
            );
        let data_rows: Vec<usize> = (0..=m).filter(|&v| half_rows[v]).collect();
        self.real_columns(&self.half_fwd, |k0, block, buf, z, scratch| {
            // SAFETY: each task reads and zeroes only its own columns `block`, which no
            // other task touches; the rows are grid rows.
            unsafe {
                walk_rows(shared, nu, &data_rows, block, |r, b, cell| {
                    *buf.get_unchecked_mut(b * nv + r) = *cell;
                    *cell = zero;
                })
            };
            for col in buf.chunks_exact_mut(nv) {
                self.half_to_real(col, z, scratch);
            }
            sink(k0, buf);
        });
    }

    /// The image's columns in blocks for the real-image transforms: `f(k0, grid columns,
    /// buf, z, scratch)` with a zeroed `buf` of `nv` values per column, and the buffers of
    /// the half-length transform `fft`.
    fn real_columns(
        &self,
        fft: &Arc<dyn Fft<T>>,
        f: impl Fn(usize, &[usize], &mut [Complex<T>], &mut [Complex<T>], &mut [Complex<T>]) + Sync,
    ) {
        let zero = Complex::new(T::zero(), T::zero());
        let (nv, scratch_len) = (self.nv, fft.get_inplace_scratch_len());
        self.cols.par_chunks(COL_BLOCK).enumerate().for_each_init(
            || {
                (
                    vec![zero; COL_BLOCK * nv],
                    vec![zero; nv / 2],
                    vec![zero; scratch_len],
                )
            },
            |(buf, z, scratch), (i, block)| {
                let buf = &mut buf[..block.len() * nv];
                buf.fill(zero);
                f(i * COL_BLOCK, block, buf, z, scratch);
            },
        );
    }

    /// `col[0..=nv/2]` holds half of a Hermitian spectrum `X`; replaces `col` by the real
    /// `x[n] = Σ_k X[k] exp(−2πi k n / nv)` (as `(x, 0)`): with `M = nv / 2` and
    /// `X[k + M] = conj X[M − k]`, `Z[k] = (X[k] + X[k+M]) + i (X[k] − X[k+M]) e^{−2πik/nv}`
    /// transforms (`M` points) to `x[2n] + i x[2n+1]`.
    fn half_to_real(
        &self,
        col: &mut [Complex<T>],
        z: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let m = self.nv / 2;
        let i = Complex::new(T::zero(), T::one());
        for k in 0..m {
            let (x, y) = (col[k], col[m - k].conj());
            z[k] = (x + y) + i * (x - y) * self.twiddles[k];
        }
        self.half_fwd.process_with_scratch(z, scratch);
        for (n, v) in z.iter().enumerate() {
            col[2 * n] = Complex::new(v.re, T::zero());
            col[2 * n + 1] = Complex::new(v.im, T::zero());
        }
    }

    /// `col` holds a real column `x` (real parts); replaces `col[0..=nv/2]` by
    /// `X[k] = Σ_n x[n] exp(+2πi k n / nv)`, the half that determines the rest
    /// (`X[nv − k] = conj X[k]`): `z[n] = x[2n] + i x[2n+1]` transformed (`M` points) to
    /// `Z`, whose even and odd parts `E[k] = (Z[k] + conj Z[M−k]) / 2`,
    /// `O[k] = (Z[k] − conj Z[M−k]) / 2i` give `X[k] = E[k] + e^{+2πik/nv} O[k]`.
    fn real_to_half(
        &self,
        col: &mut [Complex<T>],
        z: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let m = self.nv / 2;
        for (n, v) in z.iter_mut().enumerate() {
            *v = Complex::new(col[2 * n].re, col[2 * n + 1].re);
        }
        self.half_inv.process_with_scratch(z, scratch);
        let half = of_f64::<T>(0.5);
        for k in 0..=m {
            let zk = z[k % m];
            let zr = z[(m - k) % m].conj();
            let e = (zk + zr) * half;
            // (zk − zr) / 2i = −i (zk − zr) / 2
            let d = (zk - zr) * half;
            let o = Complex::new(d.im, -d.re);
            let t = if k < m {
                self.twiddles[k].conj()
            } else {
                Complex::new(-T::one(), T::zero())
            };
            col[k] = e + t * o;
        }
    }

    /// Image → grid for a real image (without w-stacking): [`Self::inverse`] at half the
    /// work. Each image column (the real parts `source` writes) becomes half a column
    /// by a real transform; rows `0..=nv/2` are transformed, and every flagged row
    /// beyond them is the mirror of one of those: `G(−k) = conj G(k)` for a real image.
    /// Only the flagged rows are meaningful afterwards.
    pub fn inverse_real(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        source: impl Fn(usize, &mut [Complex<T>]) + Sync,
    ) {
        assert!(self.real_ok(), "{} grid rows: not even", self.nv);
        let zero = Complex::new(T::zero(), T::zero());
        let (nu, nv, m) = (self.nu, self.nv, self.nv / 2);
        let half_rows = self.half_rows(rows);
        let data_rows: Vec<usize> = (0..=m).filter(|&v| half_rows[v]).collect();
        let shared = SharedMut(grid.as_mut_ptr());
        self.real_columns(&self.half_inv, |k0, block, buf, z, scratch| {
            source(k0, buf);
            for col in buf.chunks_exact_mut(nv) {
                self.real_to_half(col, z, scratch);
            }
            // SAFETY: each task writes only its own columns `block`; the rows are grid
            // rows.
            unsafe {
                walk_rows(shared, nu, &data_rows, block, |r, b, cell| {
                    *cell = *buf.get_unchecked(b * nv + r);
                })
            };
        });
        let (a, b) = self.gap;
        let scratch_len = self.row_inv.get_inplace_scratch_len();
        (0..=m)
            .into_par_iter()
            .filter(|&v| half_rows[v])
            .for_each_init(
                || vec![zero; scratch_len],
                |scratch, v| {
                    // SAFETY: as in `forward_real`: rows v and nv − v are this task's.
                    let row =
                        unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(v * nu), nu) };
                    row[a..b].fill(zero);
                    self.row_inv.process_with_scratch(row, scratch);
                    let w = (nv - v) % nv;
                    if w != v && rows[w] {
                        let other =
                            unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(w * nu), nu) };
                        mirror_conj(row, other);
                    }
                },
            );
    }

    /// The grid row of each image row.
    pub fn out_rows(&self) -> &[usize] {
        &self.out_rows
    }

    /// Grid → image: forward transform of the rows flagged in `rows` (the only rows that
    /// may hold data), then of the columns that map to image columns, each block of which
    /// goes to `sink(k0, buf)`. The grid is left all zero.
    pub fn forward(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        sink: impl Fn(usize, &[Complex<T>]) + Sync,
    ) {
        let zero = Complex::new(T::zero(), T::zero());
        let (a, b) = self.gap;
        self.rows(
            grid,
            rows,
            &self.row_fwd,
            |_| {},
            |row| row[a..b].fill(zero),
        );
        self.columns_to_sink(grid, self.nu, &self.cols, rows, sink);
    }

    /// Image → grid: `source(k0, buf)` writes each block of image columns at the rows
    /// [`Self::out_rows`] of a zeroed `buf`; the columns are inverse transformed and
    /// stored at the grid rows flagged in `rows`, and those rows are inverse transformed.
    /// Only the flagged rows are meaningful afterwards.
    pub fn inverse(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        source: impl Fn(usize, &mut [Complex<T>]) + Sync,
    ) {
        self.columns_from_source(grid, self.nu, &self.cols, rows, source);
        let zero = Complex::new(T::zero(), T::zero());
        let (a, b) = self.gap;
        self.rows(
            grid,
            rows,
            &self.row_inv,
            |row| row[a..b].fill(zero),
            |_| {},
        );
    }

    /// Scratch length for [`Self::row_forward_to_image`] and [`Self::row_inverse_from_image`].
    pub fn row_scratch_len(&self) -> usize {
        self.row_fwd
            .get_inplace_scratch_len()
            .max(self.row_inv.get_inplace_scratch_len())
    }

    /// Forward transform of one grid row (`nu` cells, transformed in place) into the
    /// image's columns: `out[k]` is the row's grid column `cols[k]`, `k < nx`. The first
    /// half of [`Self::forward`] one row at a time, for callers that make rows as they go.
    pub fn row_forward_to_image(
        &self,
        row: &mut [Complex<T>],
        out: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        self.row_fwd.process_with_scratch(row, scratch);
        // The image's columns are the grid's two ends, `cols` being `b..` then `..a`.
        let (a, b) = self.gap;
        let h = out.len() - a;
        out[..h].copy_from_slice(&row[b..]);
        out[h..].copy_from_slice(&row[..a]);
    }

    /// The adjoint of [`Self::row_forward_to_image`]: `row` (`nu` cells) becomes the
    /// inverse transform of the row whose grid column `cols[k]` is `inp[k]` and whose
    /// other cells are zero.
    pub fn row_inverse_from_image(
        &self,
        inp: &[Complex<T>],
        row: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
    ) {
        let (a, b) = self.gap;
        let h = inp.len() - a;
        row[..a].copy_from_slice(&inp[h..]);
        row[a..b].fill(Complex::new(T::zero(), T::zero()));
        row[b..].copy_from_slice(&inp[..h]);
        self.row_inv.process_with_scratch(row, scratch);
    }

    /// The second half of [`Self::forward`] on rows already transformed: `half` holds
    /// `nv` rows of the image's `nx` columns (as [`Self::row_forward_to_image`] makes
    /// them), of which only those flagged in `rows` may be non-zero. Each block of
    /// columns is transformed and goes to `sink(k0, buf)`; `half` is left all zero.
    pub fn forward_columns(
        &self,
        half: &mut [Complex<T>],
        rows: &[bool],
        sink: impl Fn(usize, &[Complex<T>]) + Sync,
    ) {
        let nx = self.cols.len();
        let image_cols: Vec<usize> = (0..nx).collect();
        self.columns_to_sink(half, nx, &image_cols, rows, sink);
    }

    /// The adjoint of [`Self::forward_columns`], the first half of [`Self::inverse`]:
    /// `source(k0, buf)` writes each block of image columns at the rows
    /// [`Self::out_rows`] of a zeroed `buf`; the columns are inverse transformed and
    /// stored in `half` (`nv` rows of `nx` columns) at the rows flagged in `rows`. Only
    /// those rows are meaningful afterwards.
    pub fn inverse_columns(
        &self,
        half: &mut [Complex<T>],
        rows: &[bool],
        source: impl Fn(usize, &mut [Complex<T>]) + Sync,
    ) {
        let nx = self.cols.len();
        let image_cols: Vec<usize> = (0..nx).collect();
        self.columns_from_source(half, nx, &image_cols, rows, source);
    }

    /// The forward column transforms of `grid` (rows of `stride` cells, of which only
    /// those flagged in `rows` may be non-zero), image column `k` being the grid's column
    /// `cols[k]`: each block goes to `sink(k0, buf)`, and the columns read are zeroed.
    fn columns_to_sink(
        &self,
        grid: &mut [Complex<T>],
        stride: usize,
        cols: &[usize],
        rows: &[bool],
        sink: impl Fn(usize, &[Complex<T>]) + Sync,
    ) {
        let zero = Complex::new(T::zero(), T::zero());
        let nv = self.nv;
        assert_eq!(grid.len(), stride * nv);
        let data_rows: Vec<usize> = (0..nv).filter(|&r| rows[r]).collect();
        let shared = SharedMut(grid.as_mut_ptr());
        self.columns(
            &self.col_fwd,
            |k0, block, buf| {
                buf.fill(zero);
                // SAFETY: each task reads and zeroes only its own columns, which no other
                // task touches; the rows are below nv and the columns below `stride`.
                unsafe {
                    walk_rows(
                        shared,
                        stride,
                        &data_rows,
                        &cols[k0..k0 + block.len()],
                        |r, b, cell| {
                            *buf.get_unchecked_mut(b * nv + r) = *cell;
                            *cell = zero;
                        },
                    )
                };
            },
            |k0, _, buf| sink(k0, buf),
        );
    }

    /// The adjoint of [`Self::columns_to_sink`]: `source(k0, buf)` fills each block of a
    /// zeroed `buf`, which is inverse transformed and stored at the rows flagged in `rows`.
    fn columns_from_source(
        &self,
        grid: &mut [Complex<T>],
        stride: usize,
        cols: &[usize],
        rows: &[bool],
        source: impl Fn(usize, &mut [Complex<T>]) + Sync,
    ) {
        let zero = Complex::new(T::zero(), T::zero());
        let nv = self.nv;
        assert_eq!(grid.len(), stride * nv);
        let data_rows: Vec<usize> = (0..nv).filter(|&r| rows[r]).collect();
        let shared = SharedMut(grid.as_mut_ptr());
        self.columns(
            &self.col_inv,
            |k0, _, buf| {
                buf.fill(zero);
                source(k0, buf);
            },
            |k0, block, buf| {
                let cols = &cols[k0..k0 + block.len()];
                // SAFETY: each task writes only its own columns; rows below nv, columns
                // below `stride`.
                unsafe {
                    if cols.windows(2).all(|p| p[1] == p[0] + 1) {
                        store_rows(shared, stride, &data_rows, cols[0], cols.len(), buf, nv);
                    } else {
                        walk_rows(shared, stride, &data_rows, cols, |r, b, cell| {
                            *cell = *buf.get_unchecked(b * nv + r);
                        })
                    }
                };
            },
        );
    }

    /// Transforms the rows flagged in `rows` in place, calling `before` and `after` on
    /// each (while it is in cache).
    fn rows(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        fft: &Arc<dyn Fft<T>>,
        before: impl Fn(&mut [Complex<T>]) + Sync,
        after: impl Fn(&mut [Complex<T>]) + Sync,
    ) {
        let scratch_len = fft.get_inplace_scratch_len();
        grid.par_chunks_mut(self.nu)
            .zip(rows.par_iter())
            .filter(|(_, &r)| r)
            .for_each_init(
                || vec![Complex::new(T::zero(), T::zero()); scratch_len],
                |scratch, (row, _)| {
                    before(row);
                    fft.process_with_scratch(row, scratch);
                    after(row);
                },
            );
    }

    /// Transforms the image's columns in blocks: `load(k0, grid columns, buf)` fills the
    /// block's `buf` (`nv` values per column), which is transformed and passed to
    /// `store(k0, grid columns, buf)`.
    fn columns(
        &self,
        fft: &Arc<dyn Fft<T>>,
        load: impl Fn(usize, &[usize], &mut [Complex<T>]) + Sync,
        store: impl Fn(usize, &[usize], &[Complex<T>]) + Sync,
    ) {
        let nv = self.nv;
        let scratch_len = fft.get_inplace_scratch_len();
        let zero = Complex::new(T::zero(), T::zero());
        self.cols.par_chunks(COL_BLOCK).enumerate().for_each_init(
            || (vec![zero; COL_BLOCK * nv], vec![zero; scratch_len]),
            |(buf, scratch), (i, block)| {
                let buf = &mut buf[..block.len() * nv];
                load(i * COL_BLOCK, block, buf);
                fft.process_with_scratch(buf, scratch);
                store(i * COL_BLOCK, block, buf);
            },
        );
    }
}

/// `to[u] = conj from[(n − u) mod n]`: a row at the mirrored frequencies.
fn mirror_conj<T: FftNum>(from: &[Complex<T>], to: &mut [Complex<T>]) {
    let n = from.len();
    to[0] = from[0].conj();
    for u in 1..n {
        to[u] = from[n - u].conj();
    }
}

fn of_f64<T: FftNum>(x: f64) -> T {
    T::from_f64(x).expect("an FFT float holds any f64 value")
}

/// Calls `f(row, index in block, cell)` for the cells of columns `block` in each of
/// `rows` (rows of `nu` cells), prefetching the cells `PREFETCH_ROWS` rows ahead: the
/// strided walk of the column transforms.
///
/// # Safety
/// Every row index is below the grid's row count, every column below `nu`, and no other
/// thread touches these cells meanwhile.
unsafe fn walk_rows<T>(
    grid: SharedMut<Complex<T>>,
    nu: usize,
    rows: &[usize],
    block: &[usize],
    mut f: impl FnMut(usize, usize, *mut Complex<T>),
) {
    let per_line = (64 / std::mem::size_of::<Complex<T>>()).max(1);
    for (n, &r) in rows.iter().enumerate() {
        if let Some(&ahead) = rows.get(n + PREFETCH_ROWS) {
            let row = grid.0.add(ahead * nu);
            for &c in block.iter().step_by(per_line) {
                prefetch(row.add(c));
            }
        }
        let row = grid.0.add(r * nu);
        for (b, &c) in block.iter().enumerate() {
            f(r, b, row.add(c));
        }
    }
}

/// `grid[r · stride + c0 + b] = buf[b · nv + r]` for the rows `r` in `rows` and `b <
/// nb`: a block of consecutive columns stored from the column transforms' buffer.
///
/// # Safety
///
/// As [`walk_rows`], for the columns `c0..c0 + nb`; `buf` holds `nb` columns of `nv`.
unsafe fn store_rows<T: Copy>(
    grid: SharedMut<Complex<T>>,
    stride: usize,
    rows: &[usize],
    c0: usize,
    nb: usize,
    buf: &[Complex<T>],
    nv: usize,
) {
    debug_assert!(buf.len() >= nb * nv);
    let size = std::mem::size_of::<Complex<T>>();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_sfence, _mm_stream_si128};
        // Whole 16-byte pieces, aligned, go straight to memory (the rows are not read
        // again until every column is done): this saves reading each line before it is
        // written.
        let bytes = nb * size;
        let first = grid.0.add(rows.first().map_or(0, |&r| r * stride) + c0) as usize;
        if (size == 8 || size == 16)
            && bytes.is_multiple_of(16)
            && first.is_multiple_of(16)
            && (stride * size).is_multiple_of(16)
        {
            let per = 16 / size;
            for &r in rows {
                let dst = grid.0.add(r * stride + c0) as *mut __m128i;
                for piece in 0..bytes / 16 {
                    let b = piece * per;
                    let lo = buf.as_ptr().add(b * nv + r) as *const u64;
                    let v = if per == 2 {
                        let hi = buf.as_ptr().add((b + 1) * nv + r) as *const u64;
                        std::arch::x86_64::_mm_set_epi64x(
                            hi.read_unaligned() as i64,
                            lo.read_unaligned() as i64,
                        )
                    } else {
                        std::arch::x86_64::_mm_loadu_si128(lo as *const __m128i)
                    };
                    _mm_stream_si128(dst.add(piece), v);
                }
            }
            _mm_sfence();
            return;
        }
    }
    for &r in rows {
        let dst = std::slice::from_raw_parts_mut(grid.0.add(r * stride + c0), nb);
        for (b, d) in dst.iter_mut().enumerate() {
            *d = *buf.get_unchecked(b * nv + r);
        }
    }
}

/// Grid indices of the `n` image positions `k − n/2`, `k = 0..n`, on an FFT axis of
/// length `len` (negative positions wrap to the end).
pub(crate) fn image_axis_indices(n: usize, len: usize) -> Vec<usize> {
    (0..n)
        .map(|k| (k as i64 - (n / 2) as i64).rem_euclid(len as i64) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dft(
        grid: &[Complex<f64>],
        nu: usize,
        nv: usize,
        c: usize,
        r: usize,
        sign: f64,
    ) -> Complex<f64> {
        let mut s = Complex::new(0.0, 0.0);
        for b in 0..nv {
            for a in 0..nu {
                let ph = sign
                    * 2.0
                    * std::f64::consts::PI
                    * ((a * c) as f64 / nu as f64 + (b * r) as f64 / nv as f64);
                s += grid[b * nu + a] * Complex::from_polar(1.0, ph);
            }
        }
        s
    }

    /// A grid of rows of `nu` cells, with data in the flagged rows only.
    fn test_grid(nu: usize, rows: &[bool]) -> Vec<Complex<f64>> {
        (0..nu * rows.len())
            .map(|i| {
                if rows[i / nu] {
                    Complex::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos())
                } else {
                    Complex::new(0.0, 0.0)
                }
            })
            .collect()
    }

    /// The real-image transforms equal the complex ones' real parts (forward) and the
    /// complex ones of a real image (inverse), with flagged rows whose mirrors are not
    /// flagged, and leave the grid as the complex ones do.
    #[test]
    fn real_image_transforms_match_the_complex_ones() {
        for (nu, nv, nx, ny) in [
            (12usize, 10usize, 7usize, 4usize),
            (9, 16, 9, 16),
            (20, 2, 5, 2),
        ] {
            let rows: Vec<bool> = (0..nv).map(|r| r != 3 && r != 6 % nv).collect();
            let grid = test_grid(nu, &rows);
            let plan = GridFft::<f64>::new(nu, nv, nx, ny);
            assert!(plan.real_ok());
            let out_rows = image_axis_indices(ny, nv);
            let collect = |real: bool| {
                let image = std::sync::Mutex::new(vec![Complex::new(0.0, 0.0); nx * ny]);
                let mut g = grid.clone();
                let sink = |k0: usize, buf: &[Complex<f64>]| {
                    let mut im = image.lock().unwrap();
                    for b in 0..buf.len() / nv {
                        for (i, &r) in out_rows.iter().enumerate() {
                            im[i * nx + k0 + b] = buf[b * nv + r];
                        }
                    }
                };
                if real {
                    plan.forward_real(&mut g, &rows, sink);
                } else {
                    plan.forward(&mut g, &rows, sink);
                }
                assert!(g.iter().all(|z| z.norm() == 0.0));
                image.into_inner().unwrap()
            };
            let (want, got) = (collect(false), collect(true));
            for (w, g) in want.iter().zip(&got) {
                assert!(
                    (w.re - g.re).abs() < 1e-12 && g.im == 0.0,
                    "{nu}x{nv}: {w} {g}"
                );
            }
            // Inverse of a real image.
            let pixel = |i: usize, k: usize| ((i * 31 + k * 7) as f64 * 0.29).cos();
            let source = |k0: usize, buf: &mut [Complex<f64>]| {
                for b in 0..buf.len() / nv {
                    for (i, &r) in out_rows.iter().enumerate() {
                        buf[b * nv + r] = Complex::new(pixel(i, k0 + b), 0.0);
                    }
                }
            };
            let mut want = vec![Complex::new(7.0, 7.0); nu * nv];
            plan.inverse(&mut want, &rows, source);
            let mut got = vec![Complex::new(-3.0, 5.0); nu * nv];
            plan.inverse_real(&mut got, &rows, source);
            for r in (0..nv).filter(|&r| rows[r]) {
                for c in 0..nu {
                    let (w, g) = (want[r * nu + c], got[r * nu + c]);
                    assert!((w - g).norm() < 1e-12, "{nu}x{nv} row {r} col {c}: {w} {g}");
                }
            }
        }
    }

    /// The restricted transforms equal a full naive 2-D DFT at the kept positions, the
    /// forward one leaves the grid zero, and the inverse one is its adjoint.
    #[test]
    fn restricted_transforms_match_a_naive_dft() {
        let (nu, nv, nx, ny) = (12usize, 10usize, 7usize, 4usize);
        let rows: Vec<bool> = (0..nv).map(|r| r != 3 && r != 6).collect();
        let grid = test_grid(nu, &rows);
        let plan = GridFft::<f64>::new(nu, nv, nx, ny);
        let cols = image_axis_indices(nx, nu);
        let out_rows = image_axis_indices(ny, nv);
        let image = std::sync::Mutex::new(vec![Complex::new(0.0, 0.0); nx * ny]);
        let mut g = grid.clone();
        plan.forward(&mut g, &rows, |k0, buf| {
            let mut im = image.lock().unwrap();
            for b in 0..buf.len() / nv {
                for (i, &r) in out_rows.iter().enumerate() {
                    im[i * nx + k0 + b] = buf[b * nv + r];
                }
            }
        });
        assert!(g.iter().all(|z| z.norm() == 0.0));
        let image = image.into_inner().unwrap();
        for (i, &r) in out_rows.iter().enumerate() {
            for (k, &c) in cols.iter().enumerate() {
                let want = dft(&grid, nu, nv, c, r, -1.0);
                assert!((want - image[i * nx + k]).norm() < 1e-10);
            }
        }
        // Inverse: an image with one non-zero pixel gives a plane wave on every flagged row.
        let mut g = vec![Complex::new(7.0, 7.0); nu * nv];
        plan.inverse(&mut g, &rows, |k0, buf| {
            if (k0..k0 + buf.len() / nv).contains(&2) {
                buf[(2 - k0) * nv + out_rows[1]] = Complex::new(1.0, 0.0);
            }
        });
        for b in (0..nv).filter(|&b| rows[b]) {
            for a in 0..nu {
                let ph = 2.0
                    * std::f64::consts::PI
                    * ((a * cols[2]) as f64 / nu as f64 + (b * out_rows[1]) as f64 / nv as f64);
                assert!((g[b * nu + a] - Complex::from_polar(1.0, ph)).norm() < 1e-12);
            }
        }
    }
}
