//! Hot loops of the X-engine: register-tiled Hermitian products over a chunk of spectra.
//!
//! Data of one channel and one chunk of `K` spectra are planar and time-major: `re[t·S + i]`,
//! `im[t·S + i]` (f32), or packed `(re, im)` i16 pairs as one i32 word per sample plus a
//! second array of `(im, −re)` words (integers), with the input index `i` innermost and the
//! stride `S` a multiple of [`Q`], zero-padded. A tile is [`P`] rows `p` × [`Q`] columns `q`;
//! over time it accumulates in registers
//!
//! ```text
//! V[p][q] += conj(x_p(t)) · x_q(t) = (pr·qr + pi·qi) + i (pr·qi − pi·qr)
//! ```
//!
//! so each time step is a rank-1 update: one broadcast per row, one vector load per 16
//! columns, and 4 multiply-adds (float) per complex product. The integer kernel does the
//! real part as one `vpdpwssd` lane (pr·qr + pi·qi over a packed pair) and the imaginary
//! part as another against `(qi, −qr)`: 2 instructions per complex product instead of 4.
//! Only tiles that touch the upper triangle `p <= q` are computed.
//!
//! Why our own kernel rather than a matrix-product crate: it reads the corner-turned chunk
//! as it is (no repacking), shares its shape with the integer kernel, which no float GEMM
//! offers, and lets the chunk sums go straight into the streaming accumulators. How it
//! compares with OpenBLAS `cherk` is measured in docs/PERFORMANCE.md.

/// Rows of a tile.
pub const P: usize = 4;
/// Columns of a tile (and the padding of the input stride).
pub const Q: usize = 32;

use crate::simd::{Backend, SimdLevel};

/// Geometry of one call: `k` time steps, stride `s`, tile origin `(p0, q0)`.
#[derive(Debug, Clone, Copy)]
pub struct Tile {
    /// Time steps.
    pub k: usize,
    /// Stride between time steps (a multiple of [`Q`]).
    pub s: usize,
    /// First row.
    pub p0: usize,
    /// First column (a multiple of [`Q`]).
    pub q0: usize,
}

#[inline(always)]
fn tile_f32_generic(re: &[f32], im: &[f32], t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    debug_assert!(re.len() >= t.k * t.s && im.len() >= t.k * t.s);
    let mut ar = [[0.0f32; Q]; P];
    let mut ai = [[0.0f32; Q]; P];
    for step in 0..t.k {
        let base = step * t.s;
        let qr: &[f32; Q] = re[base + t.q0..base + t.q0 + Q].try_into().expect("tile");
        let qi: &[f32; Q] = im[base + t.q0..base + t.q0 + Q].try_into().expect("tile");
        for a in 0..P {
            let pr = re[base + t.p0 + a];
            let pi = im[base + t.p0 + a];
            for j in 0..Q {
                ar[a][j] = pr.mul_add(qr[j], ar[a][j]);
                ar[a][j] = pi.mul_add(qi[j], ar[a][j]);
                ai[a][j] = pr.mul_add(qi[j], ai[a][j]);
                ai[a][j] = (-pi).mul_add(qr[j], ai[a][j]);
            }
        }
    }
    for a in 0..P {
        for j in 0..Q {
            out_re[a * Q + j] = ar[a][j];
            out_im[a * Q + j] = ai[a][j];
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile_f32_avx512(re: &[f32], im: &[f32], t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    tile_f32_generic(re, im, t, out_re, out_im)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_f32_avx2(re: &[f32], im: &[f32], t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    tile_f32_generic(re, im, t, out_re, out_im)
}

fn tile_f32_portable(re: &[f32], im: &[f32], t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    // Without FMA hardware `mul_add` is a slow library call: plain multiply-adds instead.
    let mut ar = [[0.0f32; Q]; P];
    let mut ai = [[0.0f32; Q]; P];
    for step in 0..t.k {
        let base = step * t.s;
        let qr = &re[base + t.q0..base + t.q0 + Q];
        let qi = &im[base + t.q0..base + t.q0 + Q];
        for a in 0..P {
            let (pr, pi) = (re[base + t.p0 + a], im[base + t.p0 + a]);
            for j in 0..Q {
                ar[a][j] += pr * qr[j] + pi * qi[j];
                ai[a][j] += pr * qi[j] - pi * qr[j];
            }
        }
    }
    for a in 0..P {
        out_re[a * Q..(a + 1) * Q].copy_from_slice(&ar[a]);
        out_im[a * Q..(a + 1) * Q].copy_from_slice(&ai[a]);
    }
}

/// The float tile: sums over `t.k` time steps written (not added) to `out_re`, `out_im`
/// (`P × Q`, row-major).
pub(crate) fn tile_f32(
    simd: Backend,
    re: &[f32],
    im: &[f32],
    t: Tile,
    out_re: &mut [f32],
    out_im: &mut [f32],
) {
    assert!(t.s.is_multiple_of(Q) && t.q0.is_multiple_of(Q) && t.q0 + Q <= t.s && t.p0 + P <= t.s);
    assert!(re.len() >= t.k * t.s && im.len() >= t.k * t.s);
    assert!(out_re.len() >= P * Q && out_im.len() >= P * Q);
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx512 exists only where the CPU has AVX-512 F.
        SimdLevel::Avx512 => unsafe { tile_f32_avx512(re, im, t, out_re, out_im) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx2 exists only where the CPU has AVX2 and FMA.
        SimdLevel::Avx2 => unsafe { tile_f32_avx2(re, im, t, out_re, out_im) },
        _ => tile_f32_portable(re, im, t, out_re, out_im),
    }
}

/// Pack a complex integer sample as the i32 word `(re, im)` (little-endian: re in the low
/// half) and its partner `(im, −re)`. −32768 is taken as −32767 so that −re fits.
#[inline]
pub fn pack_pair(re: i16, im: i16) -> (i32, i32) {
    let re = re.max(-32767);
    let im = im.max(-32767);
    let w = |lo: i16, hi: i16| (lo as u16 as u32 | ((hi as u16 as u32) << 16)) as i32;
    (w(re, im), w(im, -re))
}

fn tile_i16_portable(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    let split = |w: i32| (w as i16 as i32, (w >> 16) as i16 as i32);
    let mut ar = [[0i32; Q]; P];
    let mut ai = [[0i32; Q]; P];
    for step in 0..t.k {
        let base = step * t.s;
        for a in 0..P {
            let (pr, pi) = split(x[base + t.p0 + a]);
            for j in 0..Q {
                let (qr, qi) = split(x[base + t.q0 + j]);
                let (sr, si) = split(xs[base + t.q0 + j]);
                ar[a][j] = ar[a][j].wrapping_add(pr * qr + pi * qi);
                ai[a][j] = ai[a][j].wrapping_add(pr * sr + pi * si);
            }
        }
    }
    for a in 0..P {
        out_re[a * Q..(a + 1) * Q].copy_from_slice(&ar[a]);
        out_im[a * Q..(a + 1) * Q].copy_from_slice(&ai[a]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_i16_vnni(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    use std::arch::x86_64::*;
    let mut ar = [[_mm512_setzero_si512(); 2]; P];
    let mut ai = [[_mm512_setzero_si512(); 2]; P];
    for step in 0..t.k {
        let base = step * t.s;
        // SAFETY (loads): the caller asserted q0 + Q <= s and len >= k·s, so
        // base + q0 + 32 <= len; p0 + P <= s likewise.
        let q = x.as_ptr().add(base + t.q0);
        let qs = xs.as_ptr().add(base + t.q0);
        let q_lo = _mm512_loadu_si512(q.cast());
        let q_hi = _mm512_loadu_si512(q.add(16).cast());
        let s_lo = _mm512_loadu_si512(qs.cast());
        let s_hi = _mm512_loadu_si512(qs.add(16).cast());
        for a in 0..P {
            let p = _mm512_set1_epi32(*x.get_unchecked(base + t.p0 + a));
            ar[a][0] = _mm512_dpwssd_epi32(ar[a][0], p, q_lo);
            ar[a][1] = _mm512_dpwssd_epi32(ar[a][1], p, q_hi);
            ai[a][0] = _mm512_dpwssd_epi32(ai[a][0], p, s_lo);
            ai[a][1] = _mm512_dpwssd_epi32(ai[a][1], p, s_hi);
        }
    }
    for a in 0..P {
        for v in 0..2 {
            _mm512_storeu_si512(out_re.as_mut_ptr().add(a * Q + 16 * v).cast(), ar[a][v]);
            _mm512_storeu_si512(out_im.as_mut_ptr().add(a * Q + 16 * v).cast(), ai[a][v]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_i16_avx2(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    use std::arch::x86_64::*;
    // Two passes of 16 columns keep 16 accumulators in the 16 ymm registers' budget.
    for half in 0..2 {
        let q0 = t.q0 + 16 * half;
        let mut ar = [[_mm256_setzero_si256(); 2]; P];
        let mut ai = [[_mm256_setzero_si256(); 2]; P];
        for step in 0..t.k {
            let base = step * t.s;
            // SAFETY: as in the VNNI kernel.
            let q = x.as_ptr().add(base + q0);
            let qs = xs.as_ptr().add(base + q0);
            let qv = [
                _mm256_loadu_si256(q.cast()),
                _mm256_loadu_si256(q.add(8).cast()),
            ];
            let sv = [
                _mm256_loadu_si256(qs.cast()),
                _mm256_loadu_si256(qs.add(8).cast()),
            ];
            for a in 0..P {
                let p = _mm256_set1_epi32(*x.get_unchecked(base + t.p0 + a));
                for v in 0..2 {
                    ar[a][v] = _mm256_add_epi32(ar[a][v], _mm256_madd_epi16(p, qv[v]));
                    ai[a][v] = _mm256_add_epi32(ai[a][v], _mm256_madd_epi16(p, sv[v]));
                }
            }
        }
        for a in 0..P {
            for v in 0..2 {
                let o = a * Q + 16 * half + 8 * v;
                _mm256_storeu_si256(out_re.as_mut_ptr().add(o).cast(), ar[a][v]);
                _mm256_storeu_si256(out_im.as_mut_ptr().add(o).cast(), ai[a][v]);
            }
        }
    }
}

/// The integer tile over packed pairs `x` and partners `xs` ([`pack_pair`]): sums over
/// `t.k` time steps written to `out_re`, `out_im` (`P × Q`). The caller keeps `k` small
/// enough that no sum exceeds `i32` (module docs of [`super`]).
pub(crate) fn tile_i16(
    simd: Backend,
    x: &[i32],
    xs: &[i32],
    t: Tile,
    out_re: &mut [i32],
    out_im: &mut [i32],
) {
    assert!(t.s.is_multiple_of(Q) && t.q0.is_multiple_of(Q) && t.q0 + Q <= t.s && t.p0 + P <= t.s);
    assert!(x.len() >= t.k * t.s && xs.len() >= t.k * t.s);
    assert!(out_re.len() >= P * Q && out_im.len() >= P * Q);
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `vnni()` is true only for a Backend made where the CPU has AVX-512 F and
        // VNNI; the bounds the unchecked loads rely on were asserted above.
        SimdLevel::Avx512 if simd.vnni() => unsafe { tile_i16_vnni(x, xs, t, out_re, out_im) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx2 or above exists only where the CPU has AVX2.
        SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe { tile_i16_avx2(x, xs, t, out_re, out_im) },
        _ => tile_i16_portable(x, xs, t, out_re, out_im),
    }
}
