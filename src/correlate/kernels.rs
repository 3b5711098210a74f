//! Hot loops of the X-engine: register-tiled Hermitian products over a chunk of spectra.
//!
//! # Layout
//! The data of one channel and one chunk are stored in *panels* of [`Q`] inputs: panel `j`
//! holds inputs `j·Q .. (j+1)·Q` for every time step, time-major, so a time step of a panel
//! is [`Q`] consecutive values and the whole panel of a chunk is contiguous. (A plain
//! time-major layout puts the time steps of one input `S` values apart; at 512 or 1024
//! inputs that stride is a multiple of 4 KiB, every step of a tile falls in the same L1
//! set and the tile's operands thrash. The panels cured a 1.6× loss at 1024 inputs.)
//! A tile is [`P`] rows `p` × [`Q`] columns `q`; rows `p0 .. p0 + P` lie in one panel, so a
//! [`Tile`] is two offsets (its row group and its column panel at step 0) and a number of
//! steps, each step [`Q`] values further on.
//!
//! # Float kernel
//! Over time a tile accumulates `V[p][q] = Σ conj(x_p) · x_q` in registers. The AVX-512
//! kernel uses three real products per complex product instead of four (Gauss's trick):
//! with `d_p = re_p − im_p` stored for rows and `s_q = re_q + im_q` for columns,
//!
//! ```text
//! T1 = Σ pr·qr,   T2 = Σ pi·qi,   T3 = Σ d_p·s_q,
//! Re V = T1 + T2,   Im V = T3 − T1 + T2,
//! ```
//!
//! which is exact algebra and costs 3 FMAs per complex multiply-accumulate instead of 4:
//! the X-engine is compute-bound, so this is a 4/3 gain on top of the FMA peak. The error
//! stays of the order of `K · ε · |x_p| |x_q|` per chunk of `K` steps (T3's terms are at
//! most twice the others), within the accuracy contract (relative L2 ≤ 1e-6 against the
//! f64 reference, tests/it/correlate.rs). The AVX2 and portable kernels use the plain four
//! products. The AVX-512 kernel's tile is [`RF`] rows × 16 columns, its 30 sums in
//! registers: a task's rows are packed per group of `RF` rows and step (`re`, `im`,
//! `re − im`, [`RowPanel`]) so that each row value is an FMA's broadcast operand, and the
//! tiles run in passes of [`KC`] steps, every row group of the task against the column
//! panel's block of `KC` steps while it stays in L1, the next block fetched into L2
//! meanwhile ([`tiles_f32`]).
//!
//! # Integer kernels
//! - 16-bit samples: each sample is the i32 word `(re, im)` plus the partner `(im, −re)`;
//!   one `vpdpwssd` lane gives `pr·qr + pi·qi` (real part) and another against the partner
//!   `pr·qi − pi·qr` (imaginary part); `vpmaddwd` on AVX2.
//! - 8-bit samples on AVX-512 VNNI: one i32 word holds two time steps, `(re_t, im_t,
//!   re_t+1, im_t+1)` as bytes, so one `vpdpbusd` lane sums four byte products, the real
//!   (or imaginary) part of a product over two steps: 16 complex multiply-accumulates per
//!   instruction, four times the float rate. `vpdpbusd` multiplies unsigned by signed
//!   bytes: rows are stored offset, `(pr + 128, pi + 128)` against columns `(qr, qi)` for
//!   the real part and `(pr + 128, 127 − pi)` against `(qi, qr)` for the imaginary part,
//!   which adds `128·Σ(qr + qi)` and `Σ(128·qi + 127·qr)` per column; those column sums
//!   are subtracted afterwards. Every sample, −128 included, is exact. A lane gains at most
//!   4 · 255 · 128 per pair of steps, so 2^31 is not reached before 32,896 steps.
//!
//! Only tiles that touch the upper triangle `p <= q` are computed.
//!
//! # Why our own kernel
//! It reads the corner-turned chunk as it is written (only the task's rows are packed
//! again, 2–5 % of the time at 1024 and 512 inputs), shares its tiling with the integer
//! kernels, which no float GEMM offers, and hands the chunk sums straight to the streaming
//! accumulators. Against OpenBLAS `cherk` and faer 0.22's triangular product (both with
//! four products per complex product) it measured 1.1–1.3× and 0.94–1.13× at 1 thread on
//! an AMD EPYC, and 1.14–1.35× `cherk` at 1 thread on an Intel Xeon with two 512-bit FMA
//! units, 1.33–1.54× at 2 (docs/PERFORMANCE.md, 2026-12-02 to 2026-12-04).

/// Rows of a tile.
pub const P: usize = 4;
/// Columns of a tile (the inputs of a panel, and the padding of the input count).
pub const Q: usize = 32;

use super::XSample;
use crate::simd::{Backend, SimdLevel};
use num_complex::Complex32;

/// One call: `k` steps of the row group at `row` and the column panel at `col` (offsets in
/// values, or in words for the integer kernels, at step 0; each step is [`Q`] further).
#[derive(Debug, Clone, Copy)]
pub struct Tile {
    /// Steps (time steps, or pairs of them for the 8-bit kernel).
    pub k: usize,
    /// Offset of the first row's value at step 0.
    pub row: usize,
    /// Offset of the column panel at step 0 (its first of [`Q`] values).
    pub col: usize,
}

impl Tile {
    /// Whether every value the tile reads lies within `len`.
    fn fits(&self, len: usize) -> bool {
        let last = self.k.saturating_sub(1) * Q;
        self.k > 0 && self.row + last + P <= len && self.col + last + Q <= len
    }
}

/// The planes of a float chunk in the panel layout: real and imaginary parts and `re + im`
/// (for the AVX-512 kernel's columns).
#[derive(Clone, Copy)]
pub(crate) struct FloatPlanes<'a> {
    pub re: &'a [f32],
    pub im: &'a [f32],
    pub s: &'a [f32],
}

impl FloatPlanes<'_> {
    /// Panics unless `k` steps of the panel at `o` (its offset at step 0) lie within every
    /// plane.
    fn check_panel(&self, o: usize, k: usize) {
        let len = self.re.len().min(self.im.len()).min(self.s.len());
        assert!(
            o + k * Q <= len,
            "panel at {o} × {k} steps outside {len} values"
        );
    }
}

#[inline(always)]
fn tile_f32_generic(x: FloatPlanes<'_>, t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    let (re, im) = (x.re, x.im);
    let mut ar = [[0.0f32; Q]; P];
    let mut ai = [[0.0f32; Q]; P];
    for step in 0..t.k {
        let (r, c) = (t.row + step * Q, t.col + step * Q);
        let qr: &[f32; Q] = re[c..c + Q].try_into().expect("tile");
        let qi: &[f32; Q] = im[c..c + Q].try_into().expect("tile");
        for a in 0..P {
            let pr = re[r + a];
            let pi = im[r + a];
            for j in 0..Q {
                ar[a][j] = pr.mul_add(qr[j], ar[a][j]);
                ar[a][j] = pi.mul_add(qi[j], ar[a][j]);
                ai[a][j] = pr.mul_add(qi[j], ai[a][j]);
                ai[a][j] = (-pi).mul_add(qr[j], ai[a][j]);
            }
        }
    }
    for a in 0..P {
        out_re[a * Q..(a + 1) * Q].copy_from_slice(&ar[a]);
        out_im[a * Q..(a + 1) * Q].copy_from_slice(&ai[a]);
    }
}

/// Rows of the AVX-512 float tile: each row's sums are one 16-lane vector per plane, so a
/// tile of `RF` rows × 16 columns keeps 3 × `RF` = 30 running sums in registers (with the
/// column vector in use, 31 of the 32).
const RF: usize = 10;

/// Rows of a float task on AVX-512 (groups of [`RF`]); other kernels take [`Q`] rows, one
/// panel.
pub(crate) const ROWS_F: usize = 4 * RF;

/// Steps of one pass of the AVX-512 float kernel: a block of a column panel (3 planes ×
/// `KC` steps × [`Q`] values, 24 KiB) stays in L1 while every row group of the task runs
/// against it.
const KC: usize = 64;

/// Where a chunk's planes hold row `p` (or column `p`) of one channel: the offset of its
/// value (or word) at step 0, with `base` the channel's first and `panel` those of a
/// panel (steps of the chunk × [`Q`]).
#[inline]
pub(crate) fn panel_offset(base: usize, panel: usize, p: usize) -> usize {
    base + (p / Q) * panel + p % Q
}

/// The rows of one task for [`tiles_f32`]: rows `r0 .. r0 + n` of the channel whose values
/// start at `base`, over `k` steps. The AVX-512 kernel takes them packed, per group of
/// [`RF`] rows and step, as their re, im and re − im (3 × `RF` consecutive values; rows
/// past `n` are zero), so that each row value is an FMA's broadcast operand and a group's
/// block of [`KC`] steps (7.5 KiB) is read in order; the other kernels read the row panel
/// at `at` ([`Tile::row`]), in groups of [`P`] rows.
pub(crate) struct RowPanel {
    at: usize,
    r0: usize,
    n: usize,
    k: usize,
    packed: Vec<f32>,
}

impl RowPanel {
    /// Take rows `r0 .. r0 + n` (`n` ≤ [`ROWS_F`] on AVX-512, else `r0` a multiple of [`Q`]
    /// and `n` ≤ [`Q`]) of the channel at `base` for `k` steps, packing them into `packed`
    /// (a buffer to reuse: [`RowPanel::into_buffer`]; every value read is written first,
    /// so it needs no clearing). Panics if the rows do not fit the planes.
    pub(crate) fn new(
        simd: Backend,
        x: FloatPlanes<'_>,
        (base, panel): (usize, usize),
        (r0, n): (usize, usize),
        k: usize,
        mut packed: Vec<f32>,
    ) -> Self {
        assert!(n > 0 && k > 0 && k * Q <= panel);
        if simd.level() == SimdLevel::Avx512 {
            assert!(n <= ROWS_F);
            let len = n.div_ceil(RF) * k * 3 * RF;
            if packed.len() < len {
                packed.resize(len, 0.0);
            }
            for (g, dst) in packed[..len].chunks_exact_mut(k * 3 * RF).enumerate() {
                // The group's rows lie in one panel or straddle two: runs of m0 and m1 rows.
                let (p, m) = (r0 + g * RF, RF.min(n - g * RF));
                let m0 = m.min(Q - p % Q);
                let runs = [
                    (panel_offset(base, panel, p), m0),
                    (panel_offset(base, panel, p + m0), m - m0),
                ];
                for &(o, len) in &runs {
                    if len > 0 {
                        x.check_panel(o - o % Q, k);
                        assert!(o % Q + len <= Q);
                    }
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the level is Avx512 (the CPU has AVX-512 F); both runs lie within
                // one step of a panel for k steps of the planes (checked above) and `dst`
                // holds k steps of 3 × RF values.
                unsafe {
                    pack_rows_avx512(x, runs, k, dst)
                };
            }
        } else {
            // One panel, read in place by the tiles.
            assert!(r0.is_multiple_of(Q) && n <= Q);
            x.check_panel(panel_offset(base, panel, r0), k);
        }
        RowPanel {
            at: panel_offset(base, panel, r0),
            r0,
            n,
            k,
            packed,
        }
    }

    /// Rows in the task.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The packing buffer, for the next task.
    pub(crate) fn into_buffer(self) -> Vec<f32> {
        self.packed
    }
}

/// One group of [`RF`] rows for the AVX-512 float kernel: `runs` are the offsets (at step
/// 0) and lengths of its rows in one or two panels (`m0 + m1 ≤ RF`); each of `k` steps
/// of `dst` gets the rows' re, im and re − im, [`RF`] values each (zero past `m0 + m1`).
///
/// # Safety
/// AVX-512 F; each run of `len > 0` rows holds `len` values at each of `k` steps [`Q`]
/// apart in `x.re` and `x.im`; `dst` holds `k × 3 × RF` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pack_rows_avx512(
    x: FloatPlanes<'_>,
    [(o0, m0), (o1, m1)]: [(usize, usize); 2],
    k: usize,
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let (lo, hi) = ((1u16 << m0) - 1, ((1u16 << m1) - 1) << m0);
    let all = (1u16 << RF) - 1;
    let (re, im, d) = (x.re.as_ptr(), x.im.as_ptr(), dst.as_mut_ptr());
    for step in 0..k {
        let t = step * Q;
        // The first run in lanes 0 .. m0, the second expanded into lanes m0 .. m0 + m1.
        let mut vr = _mm512_maskz_loadu_ps(lo, re.add(o0 + t));
        let mut vi = _mm512_maskz_loadu_ps(lo, im.add(o0 + t));
        if m1 > 0 {
            vr = _mm512_mask_expandloadu_ps(vr, hi, re.add(o1 + t));
            vi = _mm512_mask_expandloadu_ps(vi, hi, im.add(o1 + t));
        }
        let out = d.add(step * 3 * RF);
        _mm512_mask_storeu_ps(out, all, vr);
        _mm512_mask_storeu_ps(out.add(RF), all, vi);
        _mm512_mask_storeu_ps(out.add(2 * RF), all, _mm512_sub_ps(vr, vi));
    }
}

/// Sixteen columns (one half of a column panel) against one group of [`RF`] packed rows
/// over `k` steps, all sums in registers; the tile's `RF` × 16 sums are written (or, with
/// `add`, added) to `out_re`, `out_im` at row stride [`Q`].
///
/// # Safety
/// AVX-512 F; `rows` holds `k × 3 × RF` values; `cols` (re, im, re + im) hold 16 values
/// at each of `k` steps [`Q`] apart; the outputs take `RF` rows of [`Q`] values. The
/// lines from `fetch` on (one a step, unless null) are fetched into L2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tile_f32_avx512(
    rows: *const f32,
    [qr, qi, qs]: [*const f32; 3],
    k: usize,
    add: bool,
    fetch: *const f32,
    out_re: *mut f32,
    out_im: *mut f32,
) {
    use std::arch::x86_64::*;
    let z = _mm512_setzero_ps();
    let (mut t1, mut t2, mut t3) = ([z; RF], [z; RF], [z; RF]);
    for step in 0..k {
        let (c, r) = (step * Q, rows.add(step * 3 * RF));
        if !fetch.is_null() {
            _mm_prefetch::<_MM_HINT_T1>(fetch.wrapping_add(step * 16).cast());
        }
        // One column vector at a time: 30 sums and the vector in use fill 31 registers.
        for (plane, (t, q)) in [(&mut t1, qr), (&mut t2, qi), (&mut t3, qs)]
            .into_iter()
            .enumerate()
        {
            let v = _mm512_loadu_ps(q.add(c));
            for (a, t) in t.iter_mut().enumerate() {
                *t = _mm512_fmadd_ps(_mm512_set1_ps(*r.add(plane * RF + a)), v, *t);
            }
        }
    }
    for a in 0..RF {
        let mut vr = _mm512_add_ps(t1[a], t2[a]);
        let mut vi = _mm512_add_ps(_mm512_sub_ps(t3[a], t1[a]), t2[a]);
        if add {
            vr = _mm512_add_ps(vr, _mm512_loadu_ps(out_re.add(a * Q)));
            vi = _mm512_add_ps(vi, _mm512_loadu_ps(out_im.add(a * Q)));
        }
        _mm512_storeu_ps(out_re.add(a * Q), vr);
        _mm512_storeu_ps(out_im.add(a * Q), vi);
    }
}

/// The float tiles of a task's rows ([`RowPanel`]) against the column panel of columns
/// `q0 .. q0 + Q` at `col` (its offset at step 0): row `r0 + i` of the task gets its [`Q`]
/// sums written (not added) to `out_re`, `out_im` from `i·Q` on (the buffers take the
/// task's rows rounded up to whole groups).
///
/// On AVX-512 each tile is [`RF`] rows × 16 columns with its sums in registers, in passes
/// of [`KC`] steps: a pass runs every row group against the panel's block of `KC` steps,
/// which stays in L1, and adds its sums to the output. Tiles wholly below the diagonal are
/// not computed and read zero. With 8-row tiles over all 256 steps of a chunk, the columns
/// streamed from L2 and the kernel ran at 0.67 of the FMA peak, against 0.83 for these
/// (docs/PERFORMANCE.md, 2026-12-04).
pub(crate) fn tiles_f32(
    simd: Backend,
    x: FloatPlanes<'_>,
    rows: &RowPanel,
    (col, q0): (usize, usize),
    next: Option<usize>,
    out_re: &mut [f32],
    out_im: &mut [f32],
) {
    let RowPanel {
        at,
        r0,
        n,
        k,
        ref packed,
    } = *rows;
    x.check_panel(col, k);
    #[cfg(target_arch = "x86_64")]
    if simd.level() == SimdLevel::Avx512 {
        let groups = n.div_ceil(RF);
        assert!(out_re.len() >= groups * RF * Q && out_im.len() >= groups * RF * Q);
        // Tiles (group g, half h) whose columns all lie before the group's first row.
        let below = |g: usize, h: usize| q0 + h + 16 <= r0 + g * RF;
        for g in 0..groups {
            for h in [0, 16] {
                if below(g, h) {
                    for a in g * RF..(g + 1) * RF {
                        out_re[a * Q + h..a * Q + h + 16].fill(0.0);
                        out_im[a * Q + h..a * Q + h + 16].fill(0.0);
                    }
                }
            }
        }
        for t0 in (0..k).step_by(KC) {
            let kk = KC.min(k - t0);
            // The next block of steps (of this panel, or the first of the next panel) is
            // fetched into L2 while this one runs, a line a step, plane after plane.
            let ahead = match t0 + KC < k {
                true => Some((col + (t0 + KC) * Q, KC.min(k - t0 - KC))),
                false => next.map(|n| (n, KC.min(k))),
            };
            let mut fetched = 0;
            for g in 0..groups {
                let rows = &packed[(g * k + t0) * 3 * RF..(g * k + t0 + kk) * 3 * RF];
                for h in [0, 16] {
                    if below(g, h) {
                        continue;
                    }
                    let cols = [x.re, x.im, x.s].map(|p| p[col + t0 * Q + h..].as_ptr());
                    let o = g * RF * Q + h..(g + 1) * RF * Q;
                    // Lines of the block ahead: 2 a step in each of the 3 planes.
                    let fetch = match ahead {
                        Some((at, steps)) if fetched < 3 * 2 * steps => {
                            let (plane, line) = (fetched / (2 * steps), fetched % (2 * steps));
                            fetched += kk;
                            [x.re, x.im, x.s][plane][at + line * 16..].as_ptr()
                        }
                        _ => std::ptr::null(),
                    };
                    // SAFETY: a Backend of level Avx512 exists only where the CPU has
                    // AVX-512 F; the packed block holds kk steps and the column panel k
                    // steps from col (checked above); the outputs hold RF rows of Q from
                    // g·RF·Q + h on.
                    unsafe {
                        tile_f32_avx512(
                            rows.as_ptr(),
                            cols,
                            kk,
                            t0 > 0,
                            fetch,
                            out_re[o.clone()].as_mut_ptr(),
                            out_im[o].as_mut_ptr(),
                        )
                    };
                }
            }
        }
        return;
    }
    let rounded = n.div_ceil(P) * P * Q;
    assert!(out_re.len() >= rounded && out_im.len() >= rounded);
    for g in 0..n.div_ceil(P) {
        let o = g * P * Q..(g + 1) * P * Q;
        let (o_re, o_im) = (&mut out_re[o.clone()], &mut out_im[o]);
        let t = Tile {
            k,
            row: at + g * P,
            col,
        };
        match simd.level() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a Backend of level Avx2 or above exists only where the CPU has AVX2
            // and FMA.
            SimdLevel::Avx2 | SimdLevel::Avx512 => unsafe { tile_f32_avx2(x, t, o_re, o_im) },
            _ => tile_f32_portable(x, t, o_re, o_im),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_f32_avx2(x: FloatPlanes<'_>, t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    tile_f32_generic(x, t, out_re, out_im)
}

fn tile_f32_portable(x: FloatPlanes<'_>, t: Tile, out_re: &mut [f32], out_im: &mut [f32]) {
    // Without FMA hardware `mul_add` is a slow library call: plain multiply-adds instead.
    let (re, im) = (x.re, x.im);
    let mut ar = [[0.0f32; Q]; P];
    let mut ai = [[0.0f32; Q]; P];
    for step in 0..t.k {
        let (r, c) = (t.row + step * Q, t.col + step * Q);
        let qr = &re[c..c + Q];
        let qi = &im[c..c + Q];
        for a in 0..P {
            let (pr, pi) = (re[r + a], im[r + a]);
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

/// Pack a complex integer sample as the i32 word `(re, im)` (little-endian: re in the low
/// half) and its partner `(im, −re)`. −32768 is taken as −32767 so that −re fits.
#[inline]
pub fn pack_pair(re: i16, im: i16) -> (i32, i32) {
    let re = re.max(-32767);
    let im = im.max(-32767);
    let w = |lo: i16, hi: i16| (lo as u16 as u32 | ((hi as u16 as u32) << 16)) as i32;
    (w(re, im), w(im, -re))
}

/// The four bytes of an 8-bit sample in the VNNI kernel's planes, for time step parity
/// `t % 2` of its word: row real `(pr + 128, pi + 128)`, row imaginary `(pr + 128,
/// 127 − pi)`, column real `(qr, qi)`, column imaginary `(qi, qr)`, each as the 16-bit
/// half of the word it occupies (low half for even steps).
#[inline]
pub fn pack_bytes(re: i8, im: i8) -> [u16; 4] {
    let b = |lo: u8, hi: u8| lo as u16 | ((hi as u16) << 8);
    let off = |v: i8| (v as i16 + 128) as u8;
    [
        b(off(re), off(im)),
        b(off(re), (127 - im as i16) as u8),
        b(re as u8, im as u8),
        b(im as u8, re as u8),
    ]
}

fn tile_i16_portable(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    let split = |w: i32| (w as i16 as i32, (w >> 16) as i16 as i32);
    let mut ar = [[0i32; Q]; P];
    let mut ai = [[0i32; Q]; P];
    for step in 0..t.k {
        let (r, c) = (t.row + step * Q, t.col + step * Q);
        for a in 0..P {
            let (pr, pi) = split(x[r + a]);
            for j in 0..Q {
                let (qr, qi) = split(x[c + j]);
                let (sr, si) = split(xs[c + j]);
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

/// Two integer dot-product kernels share this body: `dp(acc, row word, column words)`
/// is `vpdpwssd` (16-bit pairs) or `vpdpbusd` (unsigned by signed byte quadruples).
/// `rows` and `cols` are the row and column planes of the real part, then of the
/// imaginary part.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile_dp_avx512(
    rows: [*const i32; 2],
    cols: [*const i32; 2],
    t: Tile,
    out_re: &mut [i32],
    out_im: &mut [i32],
    dp: impl Fn(
        std::arch::x86_64::__m512i,
        std::arch::x86_64::__m512i,
        std::arch::x86_64::__m512i,
    ) -> std::arch::x86_64::__m512i,
) {
    use std::arch::x86_64::*;
    let mut ar = [[_mm512_setzero_si512(); 2]; P];
    let mut ai = [[_mm512_setzero_si512(); 2]; P];
    for step in 0..t.k {
        let (r, c) = (t.row + step * Q, t.col + step * Q);
        // SAFETY (loads): the caller checked `t.fits` for every plane's length.
        let cr = [
            _mm512_loadu_si512(cols[0].add(c).cast()),
            _mm512_loadu_si512(cols[0].add(c + 16).cast()),
        ];
        let ci = [
            _mm512_loadu_si512(cols[1].add(c).cast()),
            _mm512_loadu_si512(cols[1].add(c + 16).cast()),
        ];
        for a in 0..P {
            let pr = _mm512_set1_epi32(*rows[0].add(r + a));
            let pi = _mm512_set1_epi32(*rows[1].add(r + a));
            for v in 0..2 {
                ar[a][v] = dp(ar[a][v], pr, cr[v]);
                ai[a][v] = dp(ai[a][v], pi, ci[v]);
            }
        }
    }
    for a in 0..P {
        for v in 0..2 {
            // SAFETY: the caller checked out_re, out_im hold P × Q values.
            _mm512_storeu_si512(out_re.as_mut_ptr().add(a * Q + 16 * v).cast(), ar[a][v]);
            _mm512_storeu_si512(out_im.as_mut_ptr().add(a * Q + 16 * v).cast(), ai[a][v]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_i16_vnni(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    use std::arch::x86_64::*;
    let (x, xs) = (x.as_ptr(), xs.as_ptr());
    // The row word is the sample itself for both parts; the columns are the sample and
    // its partner.
    tile_dp_avx512([x, x], [x, xs], t, out_re, out_im, |acc, a, b| {
        _mm512_dpwssd_epi32(acc, a, b)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tile_i16_avx2(x: &[i32], xs: &[i32], t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    use std::arch::x86_64::*;
    // Two passes of 16 columns keep 16 accumulators in the 16 ymm registers' budget.
    for half in 0..2 {
        let mut ar = [[_mm256_setzero_si256(); 2]; P];
        let mut ai = [[_mm256_setzero_si256(); 2]; P];
        for step in 0..t.k {
            let (r, c) = (t.row + step * Q, t.col + step * Q + 16 * half);
            // SAFETY: as in the VNNI kernel.
            let q = x.as_ptr().add(c);
            let qs = xs.as_ptr().add(c);
            let qv = [
                _mm256_loadu_si256(q.cast()),
                _mm256_loadu_si256(q.add(8).cast()),
            ];
            let sv = [
                _mm256_loadu_si256(qs.cast()),
                _mm256_loadu_si256(qs.add(8).cast()),
            ];
            for a in 0..P {
                let p = _mm256_set1_epi32(*x.get_unchecked(r + a));
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

/// The 16-bit integer tile over packed pairs `x` and partners `xs` ([`pack_pair`]): sums
/// over `t.k` steps written to `out_re`, `out_im` (`P × Q`). The caller keeps `k` small
/// enough that no sum exceeds `i32` (module docs of [`super`]).
pub(crate) fn tile_i16(
    simd: Backend,
    x: &[i32],
    xs: &[i32],
    t: Tile,
    out_re: &mut [i32],
    out_im: &mut [i32],
) {
    let len = x.len().min(xs.len());
    assert!(t.fits(len), "tile {t:?} outside planes of {len} words");
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

/// The planes of an 8-bit chunk ([`pack_bytes`]), two time steps per word.
#[derive(Clone, Copy)]
pub(crate) struct BytePlanes<'a> {
    pub row_re: &'a [u32],
    pub row_im: &'a [u32],
    pub col_re: &'a [u32],
    pub col_im: &'a [u32],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn tile_i8_vnni(x: BytePlanes<'_>, t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    use std::arch::x86_64::*;
    let p = |v: &[u32]| v.as_ptr().cast::<i32>();
    tile_dp_avx512(
        [p(x.row_re), p(x.row_im)],
        [p(x.col_re), p(x.col_im)],
        t,
        out_re,
        out_im,
        |acc, a, b| _mm512_dpbusd_epi32(acc, a, b),
    )
}

fn tile_i8_portable(x: BytePlanes<'_>, t: Tile, out_re: &mut [i32], out_im: &mut [i32]) {
    // What `vpdpbusd` does, lane by lane: four unsigned × signed byte products.
    let dp = |a: u32, b: u32| -> i32 {
        let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
        (0..4).map(|i| a[i] as i32 * b[i] as i8 as i32).sum()
    };
    for a in 0..P {
        for j in 0..Q {
            let (mut sr, mut si) = (0i32, 0i32);
            for step in 0..t.k {
                let (r, c) = (t.row + step * Q + a, t.col + step * Q + j);
                sr += dp(x.row_re[r], x.col_re[c]);
                si += dp(x.row_im[r], x.col_im[c]);
            }
            out_re[a * Q + j] = sr;
            out_im[a * Q + j] = si;
        }
    }
}

/// The 8-bit tile on byte planes ([`pack_bytes`]): the offset sums of `t.k` pairs of time
/// steps (the caller subtracts the column sums) written to `out_re`, `out_im` (`P × Q`).
/// Only a Backend with AVX-512 VNNI runs it at speed; others get a scalar loop (tests).
pub(crate) fn tile_i8(
    simd: Backend,
    x: BytePlanes<'_>,
    t: Tile,
    out_re: &mut [i32],
    out_im: &mut [i32],
) {
    let len = x
        .row_re
        .len()
        .min(x.row_im.len())
        .min(x.col_re.len())
        .min(x.col_im.len());
    assert!(t.fits(len), "tile {t:?} outside planes of {len} words");
    assert!(out_re.len() >= P * Q && out_im.len() >= P * Q);
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `vnni()` is true only where the CPU has AVX-512 F and VNNI; the bounds
        // the unchecked loads rely on were asserted above.
        SimdLevel::Avx512 if simd.vnni() => unsafe { tile_i8_vnni(x, t, out_re, out_im) },
        _ => tile_i8_portable(x, t, out_re, out_im),
    }
}

/// Plain loops the compiler vectorises, compiled once per SIMD level and called through
/// the backend: `per_level! { fn name<A: Bound>(args) => generic_body }`.
macro_rules! per_level {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$A:ident: $B:ident>($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$m])*
        $vis fn $name<$A: $B>(simd: Backend, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512<$A: $B>($($arg: $ty),*) {
                $body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$A: $B>($($arg: $ty),*) {
                $body($($arg),*)
            }
            match simd.level() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a Backend of level Avx512 exists only where the CPU has AVX-512 F.
                SimdLevel::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: a Backend of level Avx2 exists only where the CPU has AVX2 and FMA.
                SimdLevel::Avx2 => unsafe { avx2($($arg),*) },
                _ => $body($($arg),*),
            }
        }
    };
}

/// A running-sum type the tile sums are added to.
pub(crate) trait Sum: Copy + Send + From<f32> + std::ops::AddAssign {}
impl Sum for f32 {}
impl Sum for f64 {}

#[inline(always)]
fn add_rows_generic<A: Sum>(dst: &mut [A], src: &[f32], overwrite: bool) {
    if overwrite {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = A::from(v);
        }
    } else {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d += A::from(v);
        }
    }
}

per_level! {
    /// `dst = src` (`overwrite`) or `dst += src`, elementwise, vectorised for the backend.
    pub(crate) fn add_rows<A: Sum>(dst: &mut [A], src: &[f32], overwrite: bool) => add_rows_generic
}

/// A running sum as f64 (to scale it).
pub(crate) trait Widen: Sum {
    fn widen(self) -> f64;
}
impl Widen for f32 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
}
impl Widen for f64 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
}

/// Running sums of a row (real, imaginary), if the chunk adds to any.
pub(crate) type RowSums<'a, A> = Option<(&'a [A], &'a [A])>;

#[inline(always)]
fn finish_row_generic<A: Widen>(
    sums: RowSums<'_, A>,
    re: &[f32],
    im: &[f32],
    scale: f64,
    out: &mut [Complex32],
) {
    let total = |acc: Option<A>, v: f32| -> f64 {
        match acc {
            Some(mut a) => {
                a += A::from(v);
                a.widen()
            }
            None => A::from(v).widen(),
        }
    };
    match sums {
        Some((sr, si)) => {
            for (((o, &r), &i), (&ar, &ai)) in out.iter_mut().zip(re).zip(im).zip(sr.iter().zip(si))
            {
                *o = Complex32::new(
                    (total(Some(ar), r) * scale) as f32,
                    (total(Some(ai), i) * scale) as f32,
                );
            }
        }
        None => {
            for ((o, &r), &i) in out.iter_mut().zip(re).zip(im) {
                *o = Complex32::new(
                    (total(None, r) * scale) as f32,
                    (total(None, i) * scale) as f32,
                );
            }
        }
    }
}

per_level! {
    /// The last chunk's tile row into the output: `out[j] = (sums[j] + tile[j]) · scale`
    /// (without `sums` when the chunk is the whole integration), added in the sums' type,
    /// scaled in f64 and rounded to f32.
    pub(crate) fn finish_row<A: Widen>(
        sums: RowSums<'_, A>,
        re: &[f32],
        im: &[f32],
        scale: f64,
        out: &mut [Complex32]
    ) => finish_row_generic
}

#[inline(always)]
fn split_one<S: XSample>(src: &[S], re: &mut [f32], im: &mut [f32], s: &mut [f32]) {
    let dst = re.iter_mut().zip(im.iter_mut()).zip(s.iter_mut());
    for (v, ((r, i), s)) in src.iter().zip(dst) {
        let z = v.to_c32();
        (*r, *i, *s) = (z.re, z.im, z.re + z.im);
    }
}

#[inline(always)]
fn split_generic<S: XSample>(
    src: &[S],
    panel: usize,
    re: &mut [f32],
    im: &mut [f32],
    s: &mut [f32],
) {
    let panels = src.chunks(Q).enumerate();
    for (j, v) in panels {
        let o = j * panel..j * panel + v.len();
        let (re, im, s) = (&mut re[o.clone()], &mut im[o.clone()], &mut s[o]);
        match <&[S; Q]>::try_from(v) {
            // Whole panels as fixed-size loops, which the compiler unrolls and vectorises.
            Ok(v) => split_one(v, &mut re[..Q], &mut im[..Q], &mut s[..Q]),
            Err(_) => split_one(v, re, im, s),
        }
    }
}

per_level! {
    /// The float corner turn of one spectrum of one channel: input `i` goes to offset
    /// `(i / Q)·panel + i % Q` of the real and imaginary planes and of `re + im`
    /// ([`FloatPlanes`]).
    pub(crate) fn split<S: XSample>(
        src: &[S],
        panel: usize,
        re: &mut [f32],
        im: &mut [f32],
        s: &mut [f32]
    ) => split_generic
}

/// What the offset rows add, per time step, to the real and imaginary sums of the column
/// of sample `(re, im)`: `128·(re + im)` and `128·im + 127·re` ([`pack_bytes`]).
#[inline(always)]
pub fn offset_sums(re: i8, im: i8) -> (i32, i32) {
    let (re, im) = (re as i32, im as i32);
    (128 * (re + im), 128 * im + 127 * re)
}

/// The word whose halves, in memory order, are `even` and `odd` (as [`halves`] sees it).
#[inline(always)]
pub(crate) fn word(even: u16, odd: u16) -> u32 {
    let (e, o) = (even.to_ne_bytes(), odd.to_ne_bytes());
    u32::from_ne_bytes([e[0], e[1], o[0], o[1]])
}

/// A plane of 8-bit words as its 16-bit halves (word `w` is halves `2w`, low, and
/// `2w + 1`, high, on a little-endian machine: even and odd time steps; on a big-endian
/// one the halves swap, in rows and columns alike, which leaves every dot product as is).
pub(crate) fn halves(words: &mut [u32]) -> &mut [u16] {
    // SAFETY: u16 has no invalid bit patterns and an alignment that divides u32's; the
    // length covers the same bytes, and the borrow of `words` is carried over.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u16>(), words.len() * 2) }
}
