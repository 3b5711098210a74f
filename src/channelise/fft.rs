//! The filterbank's own forward FFT for AVX-512: `N = 16·M` complex points, `M` a power of
//! two of at least 16 (so N = 256, 512, …, with 1024–4096 the sizes that matter), of a row
//! of interleaved complex values, in place, unnormalised, `X[k] = Σ x[n]·e^{−2πi nk/N}`
//! (the convention of rustfft's forward transform, which it replaces here).
//!
//! # Why our own
//! rustfft has no AVX-512 code, and its transform was about 60 % of the filterbank's time.
//! The decomposition below keeps every butterfly *vertical* (the 16 lanes of a register
//! are 16 independent butterflies), so a 4096-point transform needs no lane shuffles at all
//! except one 16 × 16 transpose per 256 outputs.
//!
//! # Decomposition
//! With `n = 16·n1 + b` and `k = k1 + M·k2` (`n1, k1 < M`, `b, k2 < 16`):
//!
//! ```text
//! X[k1 + M·k2] = Σ_b e^{−2πi b·k2/16} · ( e^{−2πi b·k1/N} · Σ_n1 x[16·n1 + b] e^{−2πi n1·k1/M} )
//! ```
//!
//! 1. Register `n1` holds `x[16·n1 .. 16·n1 + 16]`, split into real and imaginary parts, so
//!    lane `b` runs the `M`-point transform over `n1` of its own sequence: radix-8
//!    decimation in frequency (one radix-2 or radix-4 pass first where `log2 M` is not a
//!    multiple of 3), in place, leaving the outputs in digit-reversed order (`Plan::perm`
//!    finds them). Radix 8 instead of 4 (three passes instead of four at 4096 points)
//!    measured faster in the filterbank in five of six interleaved pairs (median +5 %),
//!    within the machine's noise in another sitting.
//! 2. Output `k1` is multiplied by `e^{−2πi b·k1/N}` in lane `b`.
//! 3. Sixteen outputs `k1 = 16c .. 16c + 16` are transposed so that a register holds one
//!    `b` and sixteen `k1`, and the 16-point transforms over `b` are again vertical. Their
//!    outputs `k2` are 16 consecutive values `k1 + M·k2`, interleaved back and stored in
//!    the 16 slots the block read, for `Plan::copy_out` to write out in natural order;
//!    or (`Plan::forward_into`) they go straight to the output, a 64-byte line at a
//!    time with non-temporal stores, which saves the copy-out's pass over the row and
//!    overlaps the output's stores with the transform (1.17–1.25× the filterbank's rate
//!    at 1024 and 4096 points, docs/PERFORMANCE.md).
//!
//! Twiddles are computed in f64 and rounded once. The error is that of any radix-2^k
//! transform, `O(ε log N)` relative (tests compare with an f64 DFT).

use num_complex::Complex32;

/// Sixteen f32 on one 64-byte line: the transform's working storage, one register each.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(crate) struct Lane16(pub [f32; 16]);

/// `lanes` seen as the `8·len` complex values it holds (64-byte aligned, as
/// [`Plan::forward`] needs).
pub(crate) fn as_complex(lanes: &mut [Lane16]) -> &mut [Complex32] {
    // SAFETY: `Lane16` is 16 f32 (`repr(C)`), `Complex32` two f32 (`repr(C)`): the memory
    // of `len` lanes is that of `8·len` complex values, suitably aligned, borrowed uniquely.
    unsafe { std::slice::from_raw_parts_mut(lanes.as_mut_ptr().cast(), 8 * lanes.len()) }
}

/// The plan of one size.
#[derive(Clone)]
pub(crate) struct Plan {
    n: usize,
    m: usize,
    /// Radices of the passes of step 1, first (largest span) first.
    radices: Vec<usize>,
    /// `e^{−2πi t/M}` for `t < M`: real parts, then imaginary parts (`M` each).
    roots: Vec<f32>,
    /// Position in the working storage of step 1's output `k1`.
    perm: Vec<u32>,
    /// Step 2's twiddles `e^{−2πi b·k1/N}` for `k1 = 16c + r`, as the product of
    /// `e^{−2πi b·c/M}` (`coarse`, entries `2c` and `2c + 1`: real and imaginary parts over
    /// lanes `b`) and `e^{−2πi b·r/N}` (`fine`, entries `2r`, `2r + 1`): 4 KiB at any size
    /// instead of the `8·N` bytes of a full table, which pushed the working set of a
    /// 4096-point transform out of L1.
    coarse: Vec<Lane16>,
    fine: Vec<Lane16>,
    /// `e^{−2πi t/16}` for `t < 16`.
    roots16: [[f32; 2]; 16],
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("n", &self.n).finish()
    }
}

fn root(t: usize, n: usize) -> [f32; 2] {
    let a = -2.0 * std::f64::consts::PI * (t % n) as f64 / n as f64;
    [a.cos() as f32, a.sin() as f32]
}

impl Plan {
    /// The plan for `n` points, or `None` when `n` is not 16 times a power of two ≥ 16.
    pub(crate) fn new(n: usize) -> Option<Plan> {
        if !n.is_multiple_of(16) || n / 16 < 16 || !(n / 16).is_power_of_two() {
            return None;
        }
        let m = n / 16;
        let log2 = m.trailing_zeros() as usize;
        // Radix 8 where it can (fewer passes over the row), one pass of 2 or 4 first.
        let mut radices = match log2 % 3 {
            0 => vec![],
            1 => vec![2],
            _ => vec![4],
        };
        radices.extend(std::iter::repeat_n(8, log2 / 3));
        // Step 1 is decimation in frequency: pass i (span L_i, L_1 = M, L_{i+1} = L_i/r_i)
        // writes its output digit d_i at offset d_i·L_{i+1}, and output
        // k1 = d_1 + r_1·(d_2 + r_2·(…)) ends at Σ d_i·L_{i+1}.
        let perm = (0..m)
            .map(|k| {
                let (mut k, mut span, mut pos) = (k, m, 0);
                for &r in &radices {
                    span /= r;
                    pos += (k % r) * span;
                    k /= r;
                }
                pos as u32
            })
            .collect();
        let table = |count: usize, modulus: usize| {
            let mut t = vec![Lane16::default(); 2 * count];
            for i in 0..count {
                for b in 0..16 {
                    [t[2 * i].0[b], t[2 * i + 1].0[b]] = root(b * i, modulus);
                }
            }
            t
        };
        Some(Plan {
            n,
            m,
            radices,
            roots: (0..m)
                .map(|t| root(t, m)[0])
                .chain((0..m).map(|t| root(t, m)[1]))
                .collect(),
            perm,
            coarse: table(m / 16, m),
            fine: table(16, n),
            roots16: std::array::from_fn(|t| root(t, 16)),
        })
    }

    /// Panics unless the transform can run on `x` here: AVX-512 (attested by `proof`), `N`
    /// values, 64-byte aligned.
    fn check_row(&self, proof: crate::simd::Backend, x: &[Complex32]) {
        assert_eq!(proof.level(), crate::simd::SimdLevel::Avx512);
        assert_eq!(x.len(), self.n);
        assert!(
            x.as_ptr().cast::<Lane16>().is_aligned(),
            "row not 64-byte aligned"
        );
    }

    /// Transform `x` (`N` values, 64-byte aligned) in place, leaving the outputs in
    /// blocks of 16 in the order [`Plan::copy_out`] undoes: output `16c + M·k2 + i`
    /// (`i < 16`) is at `16·perm[16c + k2] + i`. The transform runs in `x` alone (32 KiB
    /// at 4096 points, one L1). Requires AVX-512 F, which `proof` attests.
    pub(crate) fn forward(&self, proof: crate::simd::Backend, x: &mut [Complex32]) {
        self.check_row(proof, x);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx512 exists only where the CPU has AVX-512 F; the
        // length and alignment were asserted above.
        unsafe {
            avx512::forward(self, x)
        }
    }

    /// [`Plan::forward`] with its last stage writing the outputs straight to `out`, in
    /// natural order, with non-temporal stores of whole 64-byte lines (the copy-out pass
    /// of [`Plan::copy_out`] gone, its stores overlapped with the transform's arithmetic);
    /// `x` is left partly transformed. Where `out` starts off a line, each line is put
    /// together from two outputs of 16 values in registers; the two partial lines at its
    /// ends (shared with whatever lies next to `out`) take ordinary masked stores. An `out`
    /// not on an 8-byte boundary takes [`Plan::forward`] and [`Plan::copy_out`].
    ///
    /// Non-temporal stores are weakly ordered: call [`store_fence`] before `out` is handed
    /// to another thread. A fence after every row cost the 1024-point filterbank 14–16 %
    /// (the stores of the row must leave the core before the next row starts); one per
    /// batch of rows costs nothing measurable.
    pub(crate) fn forward_into(
        &self,
        proof: crate::simd::Backend,
        x: &mut [Complex32],
        out: &mut [Complex32],
    ) {
        assert_eq!(out.len(), self.n);
        if !(out.as_ptr() as usize).is_multiple_of(8) {
            self.forward(proof, x);
            return self.copy_out(x, out);
        }
        self.check_row(proof, x);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `forward`; `out` holds N values on an 8-byte boundary (checked).
        unsafe {
            avx512::forward_to(self, x, out.as_mut_ptr())
        }
    }

    /// `out` = the transform left in `x` by [`Plan::forward`], in natural order, with
    /// non-temporal stores (so the lines of `out` are not read before they are written);
    /// [`store_fence`] before `out` is handed to another thread.
    pub(crate) fn copy_out(&self, x: &[Complex32], out: &mut [Complex32]) {
        assert!(x.len() == self.n && out.len() == self.n);
        let blocks = self.m / 16;
        let src = |chunk: usize| 16 * self.perm[16 * (chunk % blocks) + chunk / blocks] as usize;
        #[cfg(target_arch = "x86_64")]
        if (out.as_ptr() as usize).is_multiple_of(16) {
            use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
            let (xs, o) = (x.as_ptr().cast::<f32>(), out.as_mut_ptr().cast::<f32>());
            for chunk in 0..self.m {
                let s = src(chunk);
                for i in (0..32).step_by(4) {
                    // SAFETY: chunk `chunk` of `out` and slot `s` of `x` are 16 complex
                    // values (32 f32) within their slices; `o` is 16-byte aligned, and so
                    // is every chunk (128 bytes apart).
                    unsafe {
                        _mm_stream_ps(o.add(32 * chunk + i), _mm_loadu_ps(xs.add(2 * s + i)))
                    };
                }
            }
            return;
        }
        for (chunk, o) in out.chunks_exact_mut(16).enumerate() {
            let s = src(chunk);
            o.copy_from_slice(&x[s..s + 16]);
        }
    }
}

/// Order the non-temporal stores of [`Plan::forward_into`] and [`Plan::copy_out`] (and
/// everything before them) before any later store, so that a thread that sees a later
/// store sees them too.
pub(crate) fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a store fence has no preconditions (SSE is part of x86_64).
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Lane16, Plan};
    use num_complex::Complex32;

    /// Sixteen complex values, split.
    #[derive(Clone, Copy)]
    struct C {
        re: __m512,
        im: __m512,
    }

    #[inline(always)]
    unsafe fn add(a: C, b: C) -> C {
        C {
            re: _mm512_add_ps(a.re, b.re),
            im: _mm512_add_ps(a.im, b.im),
        }
    }

    #[inline(always)]
    unsafe fn sub(a: C, b: C) -> C {
        C {
            re: _mm512_sub_ps(a.re, b.re),
            im: _mm512_sub_ps(a.im, b.im),
        }
    }

    /// `a·w`.
    #[inline(always)]
    unsafe fn mul(a: C, w: C) -> C {
        C {
            re: _mm512_fmsub_ps(a.re, w.re, _mm512_mul_ps(a.im, w.im)),
            im: _mm512_fmadd_ps(a.re, w.im, _mm512_mul_ps(a.im, w.re)),
        }
    }

    /// The same twiddle in every lane.
    #[inline(always)]
    unsafe fn splat(w: [f32; 2]) -> C {
        C {
            re: _mm512_set1_ps(w[0]),
            im: _mm512_set1_ps(w[1]),
        }
    }

    /// The radix-4 butterfly `y_q = Σ_l a_l (−i)^{lq}`.
    #[inline(always)]
    unsafe fn radix4(a: [C; 4]) -> [C; 4] {
        let s02 = add(a[0], a[2]);
        let d02 = sub(a[0], a[2]);
        let s13 = add(a[1], a[3]);
        let d13 = sub(a[1], a[3]);
        [
            add(s02, s13),
            // d02 − i·d13
            C {
                re: _mm512_add_ps(d02.re, d13.im),
                im: _mm512_sub_ps(d02.im, d13.re),
            },
            sub(s02, s13),
            // d02 + i·d13
            C {
                re: _mm512_sub_ps(d02.re, d13.im),
                im: _mm512_add_ps(d02.im, d13.re),
            },
        ]
    }

    #[inline(always)]
    unsafe fn load(w: *const Lane16, i: usize) -> C {
        C {
            re: _mm512_load_ps(w.add(2 * i).cast()),
            im: _mm512_load_ps(w.add(2 * i + 1).cast()),
        }
    }

    #[inline(always)]
    unsafe fn store(w: *mut Lane16, i: usize, v: C) {
        _mm512_store_ps(w.add(2 * i).cast(), v.re);
        _mm512_store_ps(w.add(2 * i + 1).cast(), v.im);
    }

    /// One decimation-in-frequency pass of radix `R` over spans of `span` slots: for each
    /// span and `j < span/R`, the butterfly of slots `j + s·span/R` (`s < R`), outputs
    /// twiddled by `e^{−2πi s·j/span}` (`root(t)` is `e^{−2πi t/M}`). `FIRST`: the slots
    /// are read interleaved.
    #[inline(always)]
    unsafe fn pass<const R: usize, const FIRST: bool>(
        w: *mut Lane16,
        m: usize,
        span: usize,
        root: &impl Fn(usize) -> C,
    ) {
        let q = span / R;
        let step = m / span;
        for g in (0..m).step_by(span) {
            for j in 0..q {
                let i = g + j;
                // SAFETY: slots i + s·q < g + span <= m (the caller's bound).
                let mut a: [C; R] = std::array::from_fn(|s| unsafe {
                    if FIRST {
                        load_interleaved(w.add(2 * (i + s * q)).cast())
                    } else {
                        load(w, i + s * q)
                    }
                });
                match R {
                    2 => {
                        let (x, y) = (a[0], a[1]);
                        a[0] = add(x, y);
                        a[1] = sub(x, y);
                    }
                    4 => {
                        let y = radix4([a[0], a[1], a[2], a[3]]);
                        a[..4].copy_from_slice(&y);
                    }
                    _ => {
                        let y = radix8(a[..8].try_into().expect("radix 8"));
                        a[..8].copy_from_slice(&y);
                    }
                }
                for (s, v) in a.into_iter().enumerate() {
                    let v = if s == 0 || j == 0 {
                        v
                    } else {
                        mul(v, root(s * j * step))
                    };
                    store(w, i + s * q, v);
                }
            }
        }
    }

    /// The radix-8 butterfly `y_s = Σ_l a_l e^{−2πi ls/8}`: a radix-2 step between `a_l`
    /// and `a_{l+4}`, then radix-4 butterflies of the sums (even outputs) and of the
    /// differences times `e^{−2πi l/8}` (odd outputs).
    #[inline(always)]
    unsafe fn radix8(a: [C; 8]) -> [C; 8] {
        let h = _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2);
        let b: [C; 4] = std::array::from_fn(|l| add(a[l], a[l + 4]));
        let d: [C; 4] = std::array::from_fn(|l| sub(a[l], a[l + 4]));
        let c = [
            d[0],
            // (1 − i)/√2
            C {
                re: _mm512_mul_ps(_mm512_add_ps(d[1].re, d[1].im), h),
                im: _mm512_mul_ps(_mm512_sub_ps(d[1].im, d[1].re), h),
            },
            // −i
            C {
                re: d[2].im,
                im: _mm512_sub_ps(_mm512_setzero_ps(), d[2].re),
            },
            // −(1 + i)/√2
            C {
                re: _mm512_mul_ps(_mm512_sub_ps(d[3].im, d[3].re), h),
                im: _mm512_mul_ps(
                    _mm512_add_ps(d[3].re, d[3].im),
                    _mm512_sub_ps(_mm512_setzero_ps(), h),
                ),
            },
        ];
        let (e, o) = (radix4(b), radix4(c));
        [e[0], o[0], e[1], o[1], e[2], o[2], e[3], o[3]]
    }

    /// Sixteen interleaved complex values from `x` (f32), split.
    #[inline(always)]
    unsafe fn load_interleaved(x: *const f32) -> C {
        let lo = _mm512_loadu_ps(x);
        let hi = _mm512_loadu_ps(x.add(16));
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        C {
            re: _mm512_permutex2var_ps(lo, even, hi),
            im: _mm512_permutex2var_ps(lo, odd, hi),
        }
    }

    /// Sixteen complex values stored interleaved to `out` (f32).
    #[inline(always)]
    unsafe fn store_interleaved(out: *mut f32, v: C) {
        let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        _mm512_storeu_ps(out, _mm512_permutex2var_ps(v.re, lo, v.im));
        _mm512_storeu_ps(out.add(16), _mm512_permutex2var_ps(v.re, hi, v.im));
    }

    /// Transpose the 16 × 16 matrix whose rows are `r` (row `i`, lane `j` → row `j`,
    /// lane `i`).
    #[inline(always)]
    pub(super) unsafe fn transpose(r: &mut [__m512; 16]) {
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // u[4g + j]: rows 4g .. 4g + 4 of columns j, j + 4, j + 8, j + 12 (one per
        // 128-bit lane).
        let mut u = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            let pd = |v: __m512| _mm512_castps_pd(v);
            let (a, b, c, d) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
            u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(a), pd(c)));
            u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(a), pd(c)));
            u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(b), pd(d)));
            u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(b), pd(d)));
        }
        for j in 0..4 {
            let v0 = _mm512_shuffle_f32x4::<0x88>(u[j], u[4 + j]);
            let v1 = _mm512_shuffle_f32x4::<0xdd>(u[j], u[4 + j]);
            let w0 = _mm512_shuffle_f32x4::<0x88>(u[8 + j], u[12 + j]);
            let w1 = _mm512_shuffle_f32x4::<0xdd>(u[8 + j], u[12 + j]);
            r[j] = _mm512_shuffle_f32x4::<0x88>(v0, w0);
            r[j + 8] = _mm512_shuffle_f32x4::<0xdd>(v0, w0);
            r[j + 4] = _mm512_shuffle_f32x4::<0x88>(v1, w1);
            r[j + 12] = _mm512_shuffle_f32x4::<0xdd>(v1, w1);
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward(p: &Plan, x: &mut [Complex32]) {
        let w = x.as_mut_ptr().cast::<Lane16>();
        // SAFETY: the caller's bounds (16·M values at `w`, 64-byte aligned).
        unsafe {
            transform(p, w, |c, k2, v| {
                let slot = p.perm[16 * c + k2] as usize;
                store_interleaved(w.add(2 * slot).cast(), v)
            })
        }
    }

    /// The transform of the row at `w`, with output `k2` of block `c` (`Plan::copy_out`'s
    /// chunk `c + (M/16)·k2`) stored to `out` (`N` values on an 8-byte boundary) as it is
    /// made: a line at a time, non-temporal, where `out`'s lines lie wholly within it.
    ///
    /// # Safety
    /// AVX-512 F; `x` holds `N` values on a 64-byte boundary; `out` holds `N` values on an
    /// 8-byte boundary.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward_to(p: &Plan, x: &mut [Complex32], out: *mut Complex32) {
        let w = x.as_mut_ptr().cast::<Lane16>();
        let blocks = p.m / 16;
        // `out` starts `d` values (of 8 bytes) into a line: line j of the row holds values
        // 8j − d .. 8j + 8 − d. Chunk `ch` (values 16·ch ..) fills the line from 16·ch + 8
        // − d on with its values 8 − d .. 16 − d (`mid`), and, with the previous chunk's
        // last d values, the line from 16·ch − d on (`seam`: its last d and first 8 − d
        // values, in that order, blended with the previous chunk's seam).
        let d = (out as usize % 64) / 8;
        let f = out.cast::<f32>();
        // Permutations of a split output (re in lanes 0–15, im in 16–31) that interleave
        // values `src(j)`, j < 8.
        let interleave = |src: &dyn Fn(usize) -> usize| {
            let mut t = [0i32; 16];
            for j in 0..8 {
                (t[2 * j], t[2 * j + 1]) = (src(j) as i32, 16 + src(j) as i32);
            }
            // SAFETY: `t` is 16 i32, 64 bytes.
            unsafe { _mm512_loadu_si512(t.as_ptr().cast()) }
        };
        let mid = interleave(&|j| 8 - d + j);
        let seam = interleave(&|j| (16 - d + j) % 16);
        // The f32 lanes of a seam's first d values (the previous chunk's).
        let tail = ((1u32 << (2 * d)) - 1) as __mmask16;
        // Each stream k2 (chunks (M/16)·k2 ..) is written in order of c; the seam of its
        // first chunk waits for the last chunk of stream k2 − 1, made at the last c.
        let mut head = [_mm512_setzero_ps(); 16];
        let mut prev = [_mm512_setzero_ps(); 16];
        // SAFETY (pointer arithmetic and stores): chunk `ch < M` covers values 16·ch ..
        // 16·ch + 16 of `out`; its `mid` line starts at 16·ch + 8 − d and its seam line at
        // 16·ch − d ≥ 0 (c > 0 or k2 > 0), both within `out` and on a 64-byte boundary.
        unsafe {
            transform(p, w, |c, k2, v| {
                let at = f.add(32 * (c + blocks * k2));
                _mm512_stream_ps(at.add(2 * (8 - d)), _mm512_permutex2var_ps(v.re, mid, v.im));
                let s = _mm512_permutex2var_ps(v.re, seam, v.im);
                if c == 0 {
                    head[k2] = s;
                } else {
                    _mm512_stream_ps(at.sub(2 * d), _mm512_mask_blend_ps(tail, s, prev[k2]));
                }
                prev[k2] = s;
            });
            for k2 in 1..16 {
                let at = f.add(32 * blocks * k2 - 2 * d);
                _mm512_stream_ps(at, _mm512_mask_blend_ps(tail, head[k2], prev[k2 - 1]));
            }
            // The row's first 8 − d and last d values, in lines it shares with its
            // neighbours: ordinary stores of those values alone.
            _mm512_mask_compressstoreu_ps(f.cast(), !tail, head[0]);
            _mm512_mask_storeu_ps(f.add(2 * (p.n - d)), tail, prev[15]);
        }
    }

    /// The transform of the row at `w` (`16·M` values, 64-byte aligned), giving each of
    /// its sixteen-value outputs `k2` of block `c` (step 3) to `sink(c, k2, v)` in order
    /// of `c`; the row's slots of block `c` are free once it is called.
    ///
    /// # Safety
    /// AVX-512 F; `w` holds `M` slots (16·M values), 64-byte aligned.
    #[inline(always)]
    unsafe fn transform(p: &Plan, w: *mut Lane16, mut sink: impl FnMut(usize, usize, C)) {
        let m = p.m;
        // The row itself is the working storage: slot `i` (16 complex values, 128 bytes,
        // two cache lines) holds the split register `i`.
        let roots = p.roots.as_ptr();
        // SAFETY (all pointer arithmetic): slot indices stay below M (the caller checked
        // `x` holds 16·M values, 64-byte aligned); root indices are taken mod M.
        let root = |t: usize| unsafe {
            let t = t & (m - 1);
            C {
                re: _mm512_set1_ps(*roots.add(t)),
                im: _mm512_set1_ps(*roots.add(m + t)),
            }
        };

        // Step 1: the first pass reads each slot interleaved and writes it back split (a
        // butterfly reads all its slots before it writes them).
        let mut span = m;
        for (i, &r) in p.radices.iter().enumerate() {
            match (r, i == 0) {
                (2, true) => pass::<2, true>(w, m, span, &root),
                (4, true) => pass::<4, true>(w, m, span, &root),
                (8, true) => pass::<8, true>(w, m, span, &root),
                (8, false) => pass::<8, false>(w, m, span, &root),
                _ => unreachable!("radix {r} in pass {i}"),
            }
            span /= r;
        }

        // Steps 2 and 3, sixteen outputs k1 at a time: block `c` reads the slots
        // `perm[16c + r]` and writes its outputs `k2` (interleaved) to `perm[16c + k2]`.
        let (coarse, fine) = (p.coarse.as_ptr(), p.fine.as_ptr());
        let r16 = |t: usize| splat(p.roots16[t % 16]);
        for c in 0..m / 16 {
            let slots: [usize; 16] = std::array::from_fn(|r| p.perm[16 * c + r] as usize);
            let mut re = [_mm512_setzero_ps(); 16];
            let mut im = [_mm512_setzero_ps(); 16];
            let wc = load(coarse, c);
            for r in 0..16 {
                let v = mul(load(w, slots[r]), mul(wc, load(fine, r)));
                re[r] = v.re;
                im[r] = v.im;
            }
            transpose(&mut re);
            transpose(&mut im);
            let a: [C; 16] = std::array::from_fn(|b| C {
                re: re[b],
                im: im[b],
            });
            // 16 points over b: two radix-4 passes; position 4q + k holds X[4k + q].
            let mut y = [a[0]; 16];
            for j in 0..4 {
                let z = radix4([a[j], a[j + 4], a[j + 8], a[j + 12]]);
                y[j] = z[0];
                for s in 1..4 {
                    y[j + 4 * s] = if j == 0 { z[s] } else { mul(z[s], r16(s * j)) };
                }
            }
            for g in 0..4 {
                let z = radix4([y[4 * g], y[4 * g + 1], y[4 * g + 2], y[4 * g + 3]]);
                for (k, v) in z.into_iter().enumerate() {
                    sink(c, 4 * k + g, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{Backend, SimdLevel};

    fn dft(x: &[Complex32]) -> Vec<[f64; 2]> {
        let n = x.len();
        (0..n)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, v) in x.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                    let (s, c) = a.sin_cos();
                    re += v.re as f64 * c - v.im as f64 * s;
                    im += v.re as f64 * s + v.im as f64 * c;
                }
                [re, im]
            })
            .collect()
    }

    #[test]
    fn sizes_outside_the_plan_are_refused() {
        for n in [0, 16, 128, 240, 1000, 3 * 1024] {
            assert!(Plan::new(n).is_none(), "{n}");
        }
        for n in [256, 512, 1024, 4096, 1 << 16] {
            assert_eq!(Plan::new(n).map(|p| p.n), Some(n));
        }
    }

    /// Every size from 256 to 8192 against an f64 DFT: relative L2 error within a few
    /// f32 epsilons times log2 N (the error of any radix-2^k transform), and each output
    /// where it belongs (a wrong index or sign fails by far).
    #[test]
    fn the_transform_matches_an_f64_dft() {
        let Ok(b) = Backend::new(Some(SimdLevel::Avx512)) else {
            eprintln!("no AVX-512 here: the transform is not used, nothing to test");
            return;
        };
        let mut s = 1u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for log2 in 8..=13 {
            let n = 1usize << log2;
            let p = Plan::new(n).unwrap();
            let x: Vec<Complex32> = (0..n).map(|_| Complex32::new(rnd(), rnd())).collect();
            let mut row = vec![Lane16::default(); n / 8];
            let row = as_complex(&mut row);
            row.copy_from_slice(&x);
            p.forward(b, row);
            let mut out = vec![Complex32::new(f32::NAN, f32::NAN); n];
            p.copy_out(row, &mut out);
            let want = dft(&x);
            let (mut err, mut norm) = (0.0f64, 0.0f64);
            for (g, w) in out.iter().zip(&want) {
                err += (g.re as f64 - w[0]).powi(2) + (g.im as f64 - w[1]).powi(2);
                norm += w[0] * w[0] + w[1] * w[1];
            }
            let rel = (err / norm).sqrt();
            let bound = 2.0 * f32::EPSILON as f64 * log2 as f64;
            assert!(
                rel < bound,
                "N = {n}: relative L2 error {rel:.2e} > {bound:.2e}"
            );
        }
    }

    /// The transform stored straight to its output, at every 8-byte offset of a line
    /// (where the output's lines are put together from two chunks) and at every size,
    /// gives the bits of the transform and copy-out, and leaves the values beside the
    /// output alone.
    #[test]
    fn the_transform_into_its_output_matches_the_copy_out_at_any_offset() {
        let Ok(b) = Backend::new(Some(SimdLevel::Avx512)) else {
            eprintln!("no AVX-512 here: the transform is not used, nothing to test");
            return;
        };
        for log2 in 8..=12 {
            let n = 1usize << log2;
            let p = Plan::new(n).unwrap();
            let x: Vec<Complex32> = (0..n)
                .map(|i| Complex32::new((i % 7) as f32 - 3.0, (i % 11) as f32 * 0.5))
                .collect();
            let mut row = vec![Lane16::default(); n / 8];
            as_complex(&mut row).copy_from_slice(&x);
            p.forward(b, as_complex(&mut row));
            let mut want = vec![Complex32::default(); n];
            p.copy_out(as_complex(&mut row), &mut want);
            // A 64-byte aligned buffer with room for the offsets and a guard either side.
            let mut lines = vec![Lane16::default(); n / 8 + 4];
            let buf = as_complex(&mut lines);
            for off in 0..=8 {
                let guard = Complex32::new(-7.0, 7.0);
                buf.fill(guard);
                as_complex(&mut row).copy_from_slice(&x);
                let at = 8 + off;
                p.forward_into(b, as_complex(&mut row), &mut buf[at..at + n]);
                store_fence();
                assert!(
                    buf[at..at + n]
                        .iter()
                        .zip(&want)
                        .all(|(g, w)| g.re.to_bits() == w.re.to_bits()
                            && g.im.to_bits() == w.im.to_bits()),
                    "N = {n}, offset {off}: outputs differ"
                );
                assert!(
                    buf[..at].iter().chain(&buf[at + n..]).all(|&v| v == guard),
                    "N = {n}, offset {off}: a value beside the output changed"
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_transpose_transposes() {
        if !SimdLevel::Avx512.is_supported() {
            return;
        }
        use std::arch::x86_64::*;
        #[target_feature(enable = "avx512f")]
        unsafe fn run() -> [[f32; 16]; 16] {
            let mut r: [__m512; 16] = std::array::from_fn(|i| {
                let row: [f32; 16] = std::array::from_fn(|j| (16 * i + j) as f32);
                unsafe { _mm512_loadu_ps(row.as_ptr()) }
            });
            unsafe { avx512::transpose(&mut r) };
            std::array::from_fn(|i| {
                let mut row = [0.0f32; 16];
                unsafe { _mm512_storeu_ps(row.as_mut_ptr(), r[i]) };
                row
            })
        }
        // SAFETY: AVX-512 F is present (checked above).
        let t = unsafe { run() };
        for (i, row) in t.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(v, (16 * j + i) as f32, "row {i} lane {j}");
            }
        }
    }
}
