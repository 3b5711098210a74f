//! Hot loops of the gridder and degridder: kernel weights by Horner's rule across the
//! `W` cells, spreading onto and interpolating from a tile buffer. No allocation, no
//! validation; the support is a const generic so every loop has a fixed trip count.
#![allow(clippy::needless_range_loop)] // fixed-length lane loops read clearer with indices

use num_complex::Complex;

use super::GridFloat;

/// Kernel weights on both axes at once: `W` weights (a padded width, see [`padded`]) for
/// the fractional offsets `dx` and `dy`, by one Horner evaluation over `2W` lanes with
/// fused multiply-adds, so the two dependency chains run side by side. `coeff2` holds
/// `degree + 1` rows of `2W` coefficients, highest degree first, each row the `W`
/// coefficients of [`super::es_kernel::PolyKernel`] twice; the fused multiply-add is a single
/// instruction in the FMA-enabled builds of the tile loops.
#[inline(always)]
pub fn weights2<T: GridFloat, const W: usize>(
    coeff2: &[T],
    degree: usize,
    dx: T,
    dy: T,
) -> ([T; W], [T; W]) {
    let (zx, zy) = (T::one() - (dx + dx), T::one() - (dy + dy));
    let mut z = [T::zero(); 32];
    let mut acc = [T::zero(); 32];
    for i in 0..W {
        z[i] = zx;
        z[W + i] = zy;
    }
    acc[..2 * W].copy_from_slice(&coeff2[..2 * W]);
    for d in 1..=degree {
        let c = &coeff2[d * 2 * W..(d + 1) * 2 * W];
        for i in 0..2 * W {
            acc[i] = acc[i].mul_add(z[i], c[i]);
        }
    }
    let mut kx = [T::zero(); W];
    let mut ky = [T::zero(); W];
    kx.copy_from_slice(&acc[..W]);
    ky.copy_from_slice(&acc[W..2 * W]);
    (kx, ky)
}

/// Kernel weight of cell `i` only (`stride`: the row length of `coeff`).
#[inline(always)]
pub fn weight_one<T: GridFloat>(
    coeff: &[T],
    stride: usize,
    degree: usize,
    delta: T,
    i: usize,
) -> T {
    let z = T::one() - (delta + delta);
    let mut out = coeff[i];
    for d in 1..=degree {
        out = out.mul_add(z, coeff[d * stride + i]);
    }
    out
}

/// Adds `value · kx[i] · ky[r]` to `buf[(y + r) * stride + x + i]` for `r < W` and
/// `i < WP`, `WP` being `W` rounded up to a multiple of 4 (the weights beyond `W` are 0), so
/// each row update is a fixed number of whole vectors. The buffer is viewed as interleaved
/// (re, im) scalars.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn spread<T: GridFloat, const W: usize, const WP: usize>(
    buf: &mut [Complex<T>],
    stride: usize,
    x: usize,
    y: usize,
    kx: &[T; WP],
    ky: &[T; WP],
    value: Complex<T>,
) {
    let mut kxx = [T::zero(); 32];
    for i in 0..WP {
        kxx[2 * i] = kx[i];
        kxx[2 * i + 1] = kx[i];
    }
    assert!((y + W - 1) * stride + x + WP <= buf.len());
    for r in 0..W {
        let t = [value.re * ky[r], value.im * ky[r]];
        let start = (y + r) * stride + x;
        // SAFETY: in bounds by the assertion above; Complex<T> is #[repr(C)] { re, im }.
        let row = unsafe {
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().add(start) as *mut T, 2 * WP)
        };
        for j in 0..2 * WP {
            row[j] = t[j & 1].mul_add(kxx[j], row[j]);
        }
    }
}

/// `Σ_{r<W} ky[r] Σ_{i<WP} kx[i] · buf[(y + r) * stride + x + i]` (see [`spread`]).
#[inline(always)]
pub fn interpolate<T: GridFloat, const W: usize, const WP: usize>(
    buf: &[Complex<T>],
    stride: usize,
    x: usize,
    y: usize,
    kx: &[T; WP],
    ky: &[T; WP],
) -> Complex<T> {
    assert!((y + W - 1) * stride + x + WP <= buf.len());
    // Sum the rows weighted by ky over 2·WP lanes, then reduce with kx once.
    let mut acc = [T::zero(); 32];
    for r in 0..W {
        let start = (y + r) * stride + x;
        // SAFETY: in bounds by the assertion above.
        let row =
            unsafe { std::slice::from_raw_parts(buf.as_ptr().add(start) as *const T, 2 * WP) };
        for j in 0..2 * WP {
            acc[j] = row[j].mul_add(ky[r], acc[j]);
        }
    }
    let (mut re, mut im) = (T::zero(), T::zero());
    for i in 0..WP {
        re = acc[2 * i].mul_add(kx[i], re);
        im = acc[2 * i + 1].mul_add(kx[i], im);
    }
    Complex::new(re, im)
}

/// `W` rounded up to a multiple of 4: the width the tile loops work on.
pub const fn padded(w: usize) -> usize {
    w.div_ceil(4) * 4
}

/// Calls `$body` with `const $W: usize` bound to the runtime support `$w` (4 ..= 16) and
/// `const $WP: usize` to its padded width.
macro_rules! with_support {
    ($w:expr, $W:ident, $WP:ident => $body:expr) => {
        match $w {
            4 => {
                const $W: usize = 4;
                const $WP: usize = 4;
                $body
            }
            5 => {
                const $W: usize = 5;
                const $WP: usize = 8;
                $body
            }
            6 => {
                const $W: usize = 6;
                const $WP: usize = 8;
                $body
            }
            7 => {
                const $W: usize = 7;
                const $WP: usize = 8;
                $body
            }
            8 => {
                const $W: usize = 8;
                const $WP: usize = 8;
                $body
            }
            9 => {
                const $W: usize = 9;
                const $WP: usize = 12;
                $body
            }
            10 => {
                const $W: usize = 10;
                const $WP: usize = 12;
                $body
            }
            11 => {
                const $W: usize = 11;
                const $WP: usize = 12;
                $body
            }
            12 => {
                const $W: usize = 12;
                const $WP: usize = 12;
                $body
            }
            13 => {
                const $W: usize = 13;
                const $WP: usize = 16;
                $body
            }
            14 => {
                const $W: usize = 14;
                const $WP: usize = 16;
                $body
            }
            15 => {
                const $W: usize = 15;
                const $WP: usize = 16;
                $body
            }
            16 => {
                const $W: usize = 16;
                const $WP: usize = 16;
                $body
            }
            other => unreachable!("kernel support {other} outside 4..=16"),
        }
    };
}
pub(crate) use with_support;
