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

/// Adds `value · kx[i] · ky[r]` to `buf[(y + r) * stride + x + i]`. The buffer is viewed
/// as interleaved (re, im) scalars so each row update is one fixed-length multiply-add
/// over `2W` lanes.
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
    let kxx = duplicate(kx);
    for r in 0..W {
        let (tr, ti) = (value.re * ky[r], value.im * ky[r]);
        let start = (y + r) * stride + x;
        let row = as_scalars_mut(&mut buf[start..start + W]);
        for j in 0..W {
            row[2 * j] = row[2 * j] + tr * kxx[2 * j];
            row[2 * j + 1] = row[2 * j + 1] + ti * kxx[2 * j + 1];
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
    // Sum the rows weighted by ky over 2W lanes, then reduce with kx once.
    let mut acc = [[T::zero(); 2]; W];
    for r in 0..W {
        let start = (y + r) * stride + x;
        let row = &buf[start..start + W];
        for j in 0..W {
            acc[j][0] = acc[j][0] + row[j].re * ky[r];
            acc[j][1] = acc[j][1] + row[j].im * ky[r];
        }
    }
    let (mut re, mut im) = (T::zero(), T::zero());
    for j in 0..W {
        re = re + acc[j][0] * kx[j];
        im = im + acc[j][1] * kx[j];
    }
    Complex::new(re, im)
}

/// `[k0, k0, k1, k1, …]` (as a `[[T; 2]; W]`, the layout of `W` complex numbers).
#[inline(always)]
fn duplicate<T: GridFloat, const W: usize>(k: &[T; W]) -> [T; 64] {
    let mut out = [T::zero(); 64];
    for i in 0..W {
        out[2 * i] = k[i];
        out[2 * i + 1] = k[i];
    }
    out
}

/// A slice of complex numbers as interleaved scalars.
#[inline(always)]
fn as_scalars_mut<T: GridFloat>(c: &mut [Complex<T>]) -> &mut [T] {
    // SAFETY: Complex<T> is #[repr(C)] { re, im }, so n complex values are 2n scalars.
    unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr() as *mut T, 2 * c.len()) }
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
