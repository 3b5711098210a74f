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

/// [`interpolate`] with AVX-512, a row of `WP` cells (2·WP scalars) being one to four
/// whole vectors. Left to itself, the compiler vectorises the generic loop one complex
/// value at a time (it follows the (re, im) pairs of the final sum), which costs a load
/// and a fused multiply-add per cell and row where one per vector does. The same sums as
/// the generic loop, in a different order (so not bit for bit).
///
/// Not [`spread`]: written the same way, with whole vectors read and written back per
/// row, gridding was 5–8 % slower (consecutive samples of a tile overlap the previous
/// sample's stores in part, which the store buffer cannot forward).
#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    use std::arch::x86_64::*;

    use num_complex::Complex;

    use crate::grid::GridFloat;

    /// `kx` with each weight twice (for the re and im lanes of a cell), vector `c` of
    /// `n` (scalars of `T` in lanes of 512 bits).
    ///
    /// # Safety
    /// AVX-512 F; `kx` holds `WP` weights.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn twice_ps<const WP: usize>(kx: *const f32, c: usize) -> __m512 {
        let idx = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        let left = WP - 8 * c;
        let k: __mmask16 = if left >= 8 { 0xff } else { (1u16 << left) - 1 };
        _mm512_permutexvar_ps(idx, _mm512_maskz_loadu_ps(k, kx.add(8 * c)))
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn twice_pd(kx: *const f64, c: usize) -> __m512d {
        let idx = _mm512_setr_epi64(0, 0, 1, 1, 2, 2, 3, 3);
        _mm512_permutexvar_pd(idx, _mm512_castpd256_pd512(_mm256_loadu_pd(kx.add(4 * c))))
    }

    /// Sums the even and the odd lanes: (re, im).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pair_sum_ps(v: __m512) -> (f32, f32) {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        let s8 = _mm256_add_ps(_mm512_castps512_ps256(v), hi);
        let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        (
            _mm_cvtss_f32(s2),
            _mm_cvtss_f32(_mm_shuffle_ps::<1>(s2, s2)),
        )
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn pair_sum_pd(v: __m512d) -> (f64, f64) {
        let s4 = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd::<1>(v));
        let s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
        (_mm_cvtsd_f64(s2), _mm_cvtsd_f64(_mm_unpackhi_pd(s2, s2)))
    }

    /// Vectors of 16 f32 in a row of `WP` cells (the last one masked where 2·WP is not a
    /// multiple of 16), and the mask of vector `c`.
    const fn mask_ps(wp: usize, c: usize) -> __mmask16 {
        let left = 2 * wp - 16 * c;
        if left >= 16 {
            0xffff
        } else {
            ((1u32 << left) - 1) as u16
        }
    }

    /// [`super::interpolate`].
    ///
    /// # Safety
    /// AVX-512 F; the bounds of [`super::interpolate`] (asserted here too).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn interpolate<T: GridFloat, const W: usize, const WP: usize>(
        buf: &[Complex<T>],
        stride: usize,
        x: usize,
        y: usize,
        kx: &[T; WP],
        ky: &[T; WP],
    ) -> Complex<T> {
        assert!((y + W - 1) * stride + x + WP <= buf.len());
        let base = buf.as_ptr().add(y * stride + x);
        if size_of::<T>() == 4 {
            let (base, ky, kx) = (
                base as *const f32,
                ky.as_ptr() as *const f32,
                kx.as_ptr() as *const f32,
            );
            let n = (2 * WP).div_ceil(16);
            let mut acc = [_mm512_setzero_ps(); 2];
            for r in 0..W {
                let k = _mm512_set1_ps(*ky.add(r));
                let row = base.add(2 * r * stride);
                for c in 0..n {
                    let v = _mm512_maskz_loadu_ps(mask_ps(WP, c), row.add(16 * c));
                    acc[c] = _mm512_fmadd_ps(v, k, acc[c]);
                }
            }
            let mut sum = _mm512_mul_ps(acc[0], twice_ps::<WP>(kx, 0));
            for c in 1..n {
                sum = _mm512_fmadd_ps(acc[c], twice_ps::<WP>(kx, c), sum);
            }
            let (re, im) = pair_sum_ps(sum);
            Complex::new(T::of_f64(re as f64), T::of_f64(im as f64))
        } else {
            let (base, ky, kx) = (
                base as *const f64,
                ky.as_ptr() as *const f64,
                kx.as_ptr() as *const f64,
            );
            let n = WP / 4;
            let mut acc = [_mm512_setzero_pd(); 4];
            for r in 0..W {
                let k = _mm512_set1_pd(*ky.add(r));
                let row = base.add(2 * r * stride);
                for c in 0..n {
                    acc[c] = _mm512_fmadd_pd(_mm512_loadu_pd(row.add(8 * c)), k, acc[c]);
                }
            }
            let mut sum = _mm512_mul_pd(acc[0], twice_pd(kx, 0));
            for c in 1..n {
                sum = _mm512_fmadd_pd(acc[c], twice_pd(kx, c), sum);
            }
            let (re, im) = pair_sum_pd(sum);
            Complex::new(T::of_f64(re), T::of_f64(im))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX-512 interpolation equals the generic one to rounding (the sums are in a
    /// different order) at every support and offset in a tile buffer, in both precisions.
    #[cfg(target_arch = "x86_64")]
    fn check_avx512<T: GridFloat>(tol: f64) {
        if !std::is_x86_feature_detected!("avx512f") {
            return;
        }
        fn one<T: GridFloat, const W: usize, const WP: usize>(tol: f64) {
            let (stride, rows) = (16 + WP - 1, 16 + W - 1);
            let cell = |i: usize| {
                let t = i as f64 * 0.37;
                Complex::new(T::of_f64(t.sin()), T::of_f64((1.3 * t).cos()))
            };
            let buf: Vec<Complex<T>> = (0..rows * stride).map(cell).collect();
            let weights = |s: f64| {
                std::array::from_fn::<T, WP, _>(|i| {
                    T::of_f64(if i < W {
                        0.5 + (s * (i + 1) as f64).sin()
                    } else {
                        0.0
                    })
                })
            };
            for (x, y) in [(0, 0), (15, 0), (0, 15), (7, 11), (15, 15)] {
                let (kx, ky) = (weights(0.7 + x as f64), weights(1.9 + y as f64));
                let want = interpolate::<T, W, WP>(&buf, stride, x, y, &kx, &ky);
                // SAFETY: the CPU has AVX-512 F (checked above).
                let got = unsafe { avx512::interpolate::<T, W, WP>(&buf, stride, x, y, &kx, &ky) };
                let d = ((want.re - got.re).as_f64()).hypot((want.im - got.im).as_f64());
                let scale = W as f64 * W as f64 * 2.0;
                assert!(d <= tol * scale, "W {W}: ({x}, {y}) off by {d:e}");
            }
        }
        for w in 4..=16 {
            with_support!(w, W, WP => one::<T, W, WP>(tol));
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx512_interpolation_is_the_generic_one() {
        check_avx512::<f32>(4.0 * f32::EPSILON as f64);
        check_avx512::<f64>(4.0 * f64::EPSILON);
    }
}
