//! Hot loops of the gridder and degridder: kernel weights by Horner's rule across the
//! `W` cells, spreading onto and interpolating from a tile buffer. No allocation, no
//! validation; the support is a const generic so every loop has a fixed trip count.

use num_complex::Complex;

use super::GridFloat;

/// All `W` kernel weights for fractional offset `delta ∈ [0, 1)`: `coeff` holds
/// `degree + 1` rows of `W` coefficients, highest degree first (see
/// [`super::kernel::PolyKernel`]).
#[inline(always)]
pub fn weights<T: GridFloat, const W: usize>(coeff: &[T], degree: usize, delta: T) -> [T; W] {
    let z = T::one() - (delta + delta);
    let mut out = [T::zero(); W];
    out.copy_from_slice(&coeff[..W]);
    for d in 1..=degree {
        let c = &coeff[d * W..(d + 1) * W];
        for i in 0..W {
            out[i] = out[i] * z + c[i];
        }
    }
    out
}

/// Kernel weight of cell `i` only.
#[inline(always)]
pub fn weight_one<T: GridFloat>(coeff: &[T], w: usize, degree: usize, delta: T, i: usize) -> T {
    let z = T::one() - (delta + delta);
    let mut out = coeff[i];
    for d in 1..=degree {
        out = out * z + coeff[d * w + i];
    }
    out
}

/// Adds `value · kx[i] · ky[r]` to `buf[(y + r) * stride + x + i]`.
#[inline(always)]
pub fn spread<T: GridFloat, const W: usize>(
    buf: &mut [Complex<T>],
    stride: usize,
    x: usize,
    y: usize,
    kx: &[T; W],
    ky: &[T; W],
    value: Complex<T>,
) {
    for r in 0..W {
        let t = value * ky[r];
        let start = (y + r) * stride + x;
        let row: &mut [Complex<T>; W] = (&mut buf[start..start + W]).try_into().unwrap();
        for i in 0..W {
            row[i].re = row[i].re + t.re * kx[i];
            row[i].im = row[i].im + t.im * kx[i];
        }
    }
}

/// `Σ_r ky[r] Σ_i kx[i] · buf[(y + r) * stride + x + i]`.
#[inline(always)]
pub fn interpolate<T: GridFloat, const W: usize>(
    buf: &[Complex<T>],
    stride: usize,
    x: usize,
    y: usize,
    kx: &[T; W],
    ky: &[T; W],
) -> Complex<T> {
    let mut acc = Complex::new(T::zero(), T::zero());
    for r in 0..W {
        let start = (y + r) * stride + x;
        let row: &[Complex<T>; W] = (&buf[start..start + W]).try_into().unwrap();
        let (mut re, mut im) = (T::zero(), T::zero());
        for i in 0..W {
            re = re + row[i].re * kx[i];
            im = im + row[i].im * kx[i];
        }
        acc.re = acc.re + re * ky[r];
        acc.im = acc.im + im * ky[r];
    }
    acc
}

/// Calls `$body` with `const $W: usize` bound to the runtime support `$w` (4 ..= 16).
macro_rules! with_support {
    ($w:expr, $W:ident => $body:expr) => {
        match $w {
            4 => {
                const $W: usize = 4;
                $body
            }
            5 => {
                const $W: usize = 5;
                $body
            }
            6 => {
                const $W: usize = 6;
                $body
            }
            7 => {
                const $W: usize = 7;
                $body
            }
            8 => {
                const $W: usize = 8;
                $body
            }
            9 => {
                const $W: usize = 9;
                $body
            }
            10 => {
                const $W: usize = 10;
                $body
            }
            11 => {
                const $W: usize = 11;
                $body
            }
            12 => {
                const $W: usize = 12;
                $body
            }
            13 => {
                const $W: usize = 13;
                $body
            }
            14 => {
                const $W: usize = 14;
                $body
            }
            15 => {
                const $W: usize = 15;
                $body
            }
            16 => {
                const $W: usize = 16;
                $body
            }
            other => unreachable!("kernel support {other} outside 4..=16"),
        }
    };
}
pub(crate) use with_support;
