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

/// Columns gathered per column-FFT task: consecutive columns make the gather read whole
/// cache lines.
const COL_BLOCK: usize = 16;

/// A raw pointer shared by tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub *mut T);
// SAFETY: only used where each task writes indices no other task touches.
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// The pointer (a method, so closures capture the whole wrapper).
    #[inline(always)]
    pub(crate) fn ptr(self) -> *mut T {
        self.0
    }
}

/// Plans of the row and column transforms of one grid size.
pub struct GridFft<T: FftNum> {
    nu: usize,
    nv: usize,
    row_fwd: Arc<dyn Fft<T>>,
    row_inv: Arc<dyn Fft<T>>,
    col_fwd: Arc<dyn Fft<T>>,
    col_inv: Arc<dyn Fft<T>>,
}

impl<T: FftNum> GridFft<T> {
    /// Plans for a grid of `nv` rows by `nu` columns.
    pub fn new(nu: usize, nv: usize) -> Self {
        let mut planner = FftPlanner::new();
        GridFft {
            nu,
            nv,
            row_fwd: planner.plan_fft_forward(nu),
            row_inv: planner.plan_fft_inverse(nu),
            col_fwd: planner.plan_fft_forward(nv),
            col_inv: planner.plan_fft_inverse(nv),
        }
    }

    /// Grid → image direction: forward transform of the rows flagged in `rows`, then of the
    /// columns listed in `cols`, written back to the grid only at rows `out_rows`.
    pub fn forward(
        &self,
        grid: &mut [Complex<T>],
        rows: &[bool],
        cols: &[usize],
        out_rows: &[usize],
    ) {
        self.rows(grid, rows, &self.row_fwd);
        self.columns(grid, cols, &self.col_fwd, Some(out_rows));
    }

    /// Image → grid direction: inverse transform of the columns `cols` (whole columns),
    /// then of the rows flagged in `rows`. Other rows are left partly transformed.
    pub fn inverse(&self, grid: &mut [Complex<T>], cols: &[usize], rows: &[bool]) {
        self.columns(grid, cols, &self.col_inv, None);
        self.rows(grid, rows, &self.row_inv);
    }

    fn rows(&self, grid: &mut [Complex<T>], rows: &[bool], fft: &Arc<dyn Fft<T>>) {
        let scratch_len = fft.get_inplace_scratch_len();
        grid.par_chunks_mut(self.nu)
            .zip(rows.par_iter())
            .filter(|(_, &r)| r)
            .for_each_init(
                || vec![Complex::new(T::zero(), T::zero()); scratch_len],
                |scratch, (row, _)| fft.process_with_scratch(row, scratch),
            );
    }

    fn columns(
        &self,
        grid: &mut [Complex<T>],
        cols: &[usize],
        fft: &Arc<dyn Fft<T>>,
        out_rows: Option<&[usize]>,
    ) {
        let (nu, nv) = (self.nu, self.nv);
        let scratch_len = fft.get_inplace_scratch_len();
        let shared = SharedMut(grid.as_mut_ptr());
        let zero = Complex::new(T::zero(), T::zero());
        cols.par_chunks(COL_BLOCK).for_each_init(
            || (vec![zero; COL_BLOCK * nv], vec![zero; scratch_len]),
            |(buf, scratch), block| {
                let g = shared;
                let nb = block.len();
                // SAFETY: each task reads and writes only its own columns `block`, which
                // no other task touches; rows are in bounds (r < nv, c < nu).
                unsafe {
                    for r in 0..nv {
                        let row = g.0.add(r * nu);
                        for (b, &c) in block.iter().enumerate() {
                            *buf.get_unchecked_mut(b * nv + r) = *row.add(c);
                        }
                    }
                }
                fft.process_with_scratch(&mut buf[..nb * nv], scratch);
                unsafe {
                    match out_rows {
                        Some(out) => {
                            for &r in out {
                                let row = g.0.add(r * nu);
                                for (b, &c) in block.iter().enumerate() {
                                    *row.add(c) = *buf.get_unchecked(b * nv + r);
                                }
                            }
                        }
                        None => {
                            for r in 0..nv {
                                let row = g.0.add(r * nu);
                                for (b, &c) in block.iter().enumerate() {
                                    *row.add(c) = *buf.get_unchecked(b * nv + r);
                                }
                            }
                        }
                    }
                }
            },
        );
    }
}

/// Grid indices of the `n` image positions `k − n/2`, `k = 0..n`, on an FFT axis of
/// length `len` (negative positions wrap to the end).
pub fn image_axis_indices(n: usize, len: usize) -> Vec<usize> {
    (0..n)
        .map(|k| (k as i64 - (n / 2) as i64).rem_euclid(len as i64) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The restricted transforms equal a full naive 2-D DFT at the kept positions.
    #[test]
    fn restricted_transforms_match_a_naive_dft() {
        let (nu, nv) = (12usize, 10usize);
        let grid: Vec<Complex<f64>> = (0..nu * nv)
            .map(|i| Complex::new((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos()))
            .collect();
        let cols = image_axis_indices(6, nu);
        let out_rows = image_axis_indices(4, nv);
        let mut g = grid.clone();
        let plan = GridFft::<f64>::new(nu, nv);
        plan.forward(&mut g, &vec![true; nv], &cols, &out_rows);
        for &r in &out_rows {
            for &c in &cols {
                let mut s = Complex::new(0.0, 0.0);
                for b in 0..nv {
                    for a in 0..nu {
                        let ph = -2.0
                            * std::f64::consts::PI
                            * ((a * c) as f64 / nu as f64 + (b * r) as f64 / nv as f64);
                        s += grid[b * nu + a] * Complex::from_polar(1.0, ph);
                    }
                }
                assert!((s - g[r * nu + c]).norm() < 1e-10);
            }
        }
        // Inverse: an image with one non-zero pixel gives a plane wave on every row.
        let mut g = vec![Complex::new(0.0, 0.0); nu * nv];
        g[out_rows[1] * nu + cols[2]] = Complex::new(1.0, 0.0);
        plan.inverse(&mut g, &cols, &vec![true; nv]);
        for b in 0..nv {
            for a in 0..nu {
                let ph = 2.0
                    * std::f64::consts::PI
                    * ((a * cols[2]) as f64 / nu as f64 + (b * out_rows[1]) as f64 / nv as f64);
                assert!((g[b * nu + a] - Complex::from_polar(1.0, ph)).norm() < 1e-12);
            }
        }
    }
}
