//! Hot loops of the filterbank: the polyphase FIR (fold) step. No allocation, no checks
//! beyond debug assertions; the caller guarantees lengths.
//!
//! The fold is `z[i] = Σ_t taps[t·W + i] · x[t·W + i]` for `i < W` (W = 2N interleaved
//! re/im values for complex input, N for real). It is compiled three times — for AVX-512,
//! for AVX2+FMA, and for the baseline target — and the best one the CPU supports is chosen
//! once, when the plan is built.

/// Signature of a fold kernel: `(taps, x, out, width, n_taps)`.
pub type FoldFn = fn(&[f32], &[f32], &mut [f32], usize, usize);

/// Accumulate in blocks of this many lanes, in registers, over all taps.
const BLOCK: usize = 32;

#[inline(always)]
fn fold_generic<const FMA: bool>(
    taps: &[f32],
    x: &[f32],
    out: &mut [f32],
    width: usize,
    n_taps: usize,
) {
    debug_assert!(taps.len() >= width * n_taps && x.len() >= width * n_taps && out.len() >= width);
    let full = width / BLOCK * BLOCK;
    let mut i = 0;
    while i < full {
        let mut acc = [0.0f32; BLOCK];
        for t in 0..n_taps {
            let base = t * width + i;
            let h = &taps[base..base + BLOCK];
            let v = &x[base..base + BLOCK];
            for j in 0..BLOCK {
                acc[j] = if FMA {
                    h[j].mul_add(v[j], acc[j])
                } else {
                    acc[j] + h[j] * v[j]
                };
            }
        }
        out[i..i + BLOCK].copy_from_slice(&acc);
        i += BLOCK;
    }
    for (i, o) in out.iter_mut().enumerate().take(width).skip(full) {
        let mut acc = 0.0f32;
        for t in 0..n_taps {
            let k = t * width + i;
            acc = if FMA {
                taps[k].mul_add(x[k], acc)
            } else {
                acc + taps[k] * x[k]
            };
        }
        *o = acc;
    }
}

fn fold_portable(taps: &[f32], x: &[f32], out: &mut [f32], width: usize, n_taps: usize) {
    fold_generic::<false>(taps, x, out, width, n_taps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_avx2_inner(taps: &[f32], x: &[f32], out: &mut [f32], width: usize, n_taps: usize) {
    fold_generic::<true>(taps, x, out, width, n_taps)
}

#[cfg(target_arch = "x86_64")]
fn fold_avx2(taps: &[f32], x: &[f32], out: &mut [f32], width: usize, n_taps: usize) {
    // SAFETY: only selected by `select_fold` after runtime detection of AVX2 and FMA.
    unsafe { fold_avx2_inner(taps, x, out, width, n_taps) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn fold_avx512_inner(taps: &[f32], x: &[f32], out: &mut [f32], width: usize, n_taps: usize) {
    fold_generic::<true>(taps, x, out, width, n_taps)
}

#[cfg(target_arch = "x86_64")]
fn fold_avx512(taps: &[f32], x: &[f32], out: &mut [f32], width: usize, n_taps: usize) {
    // SAFETY: only selected by `select_fold` after runtime detection of AVX-512F.
    unsafe { fold_avx512_inner(taps, x, out, width, n_taps) }
}

/// Which fold implementation a plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldBackend {
    /// Baseline target (SSE2 on x86-64), no FMA.
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512F.
    Avx512,
}

/// The best backend this CPU supports, unless `FXGRID_SIMD=portable|avx2` restricts it.
pub fn best_backend() -> FoldBackend {
    let limit = std::env::var("FXGRID_SIMD").unwrap_or_default();
    #[cfg(target_arch = "x86_64")]
    {
        if limit != "portable" && limit != "avx2" && std::is_x86_feature_detected!("avx512f") {
            return FoldBackend::Avx512;
        }
        if limit != "portable"
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
        {
            return FoldBackend::Avx2;
        }
    }
    let _ = limit;
    FoldBackend::Portable
}

/// The kernel of a backend. A backend the CPU lacks falls back to the portable one.
pub fn fold_fn(backend: FoldBackend) -> FoldFn {
    #[cfg(target_arch = "x86_64")]
    {
        match backend {
            FoldBackend::Avx512 if std::is_x86_feature_detected!("avx512f") => return fold_avx512,
            FoldBackend::Avx2
                if std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma") =>
            {
                return fold_avx2
            }
            _ => {}
        }
    }
    let _ = backend;
    fold_portable
}
