//! Hot loops of the filterbank: the polyphase FIR (fold) step. No allocation, no checks
//! beyond debug assertions; the caller guarantees lengths.
//!
//! The fold is `z[i] = Σ_t taps[t·W + i] · x[t·W + i]` (W = 2N interleaved re/im values
//! for complex input, N for real), computed for a range of columns `i` at a time so the
//! filterbank can write each block straight to its rotated place. It reads int8, int16 or
//! float32 samples and converts in registers. It is compiled three times — for AVX-512, for
//! AVX2+FMA, and for the baseline target — and the best one the CPU supports is chosen once,
//! when the plan is built.

/// A scalar the fold reads directly from the caller's samples (converted to f32 in
/// registers, so int8 and int16 input needs no intermediate copy).
pub trait FoldScalar: Copy + Send + Sync + 'static {
    /// The value as f32 (exact for int8 and int16).
    fn to_f32(self) -> f32;
}

impl FoldScalar for i8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
}
impl FoldScalar for i16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
}
impl FoldScalar for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

/// Row strides of the fold: `taps` rows are `S_taps` apart, `x` rows `S_x` apart.
#[derive(Debug, Clone, Copy)]
pub struct Strides {
    /// Distance between the taps of consecutive rows (f32 values).
    pub taps: usize,
    /// Distance between consecutive rows of the input (scalars).
    pub x: usize,
}

/// `out[i] = sign · Σ_{t<n_taps} taps[t·S_taps + i] · x[t·S_x + i]` for `i < out.len()`.
///
/// Columns go in blocks of `B` accumulators kept in registers over all taps: `B` must
/// cover the FMA latency times the FMA ports (8 vector registers: 128 lanes for AVX-512,
/// 64 for AVX2), or the loop waits on its own dependency chain. Leftovers go 16 at a
/// time, then one by one.
#[inline(always)]
fn fold_generic<T: FoldScalar, const FMA: bool, const B: usize>(
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    st: Strides,
    n_taps: usize,
    sign: f32,
) {
    let width = out.len();
    debug_assert!(n_taps >= 1);
    debug_assert!(taps.len() >= (n_taps - 1) * st.taps + width);
    debug_assert!(x.len() >= (n_taps - 1) * st.x + width);
    let i = fold_blocks::<T, FMA, B>(taps, x, out, st, n_taps, sign, 0);
    let i = fold_blocks::<T, FMA, 16>(taps, x, out, st, n_taps, sign, i);
    for (i, o) in out.iter_mut().enumerate().skip(i) {
        let mut acc = 0.0f32;
        for t in 0..n_taps {
            let (h, v) = (taps[t * st.taps + i], x[t * st.x + i].to_f32());
            acc = if FMA { h.mul_add(v, acc) } else { acc + h * v };
        }
        *o = acc * sign;
    }
}

/// The columns from `i` on in whole blocks of `B`; returns the first column not done.
#[inline(always)]
fn fold_blocks<T: FoldScalar, const FMA: bool, const B: usize>(
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    st: Strides,
    n_taps: usize,
    sign: f32,
    mut i: usize,
) -> usize {
    while i + B <= out.len() {
        let mut acc = [0.0f32; B];
        for t in 0..n_taps {
            let h = &taps[t * st.taps + i..t * st.taps + i + B];
            let v = &x[t * st.x + i..t * st.x + i + B];
            for j in 0..B {
                let xv = v[j].to_f32();
                acc[j] = if FMA {
                    h[j].mul_add(xv, acc[j])
                } else {
                    acc[j] + h[j] * xv
                };
            }
        }
        for (o, a) in out[i..i + B].iter_mut().zip(acc) {
            *o = a * sign;
        }
        i += B;
    }
    i
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fold_avx2<T: FoldScalar>(
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    st: Strides,
    n_taps: usize,
    sign: f32,
) {
    fold_generic::<T, true, 64>(taps, x, out, st, n_taps, sign)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
unsafe fn fold_avx512<T: FoldScalar>(
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    st: Strides,
    n_taps: usize,
    sign: f32,
) {
    fold_generic::<T, true, 128>(taps, x, out, st, n_taps, sign)
}

/// The fold `out[i] = sign · Σ_t taps[t·S_taps + i] · x[t·S_x + i]` (`i < out.len()`)
/// with the kernel of `backend`. A backend the CPU lacks is never passed here: plans store
/// the result of [`checked_backend`].
#[inline]
pub fn fold<T: FoldScalar>(
    backend: FoldBackend,
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    st: Strides,
    n_taps: usize,
    sign: f32,
) {
    let width = out.len();
    if width == 0 {
        return;
    }
    assert!(n_taps >= 1 && taps.len() >= (n_taps - 1) * st.taps + width);
    assert!(x.len() >= (n_taps - 1) * st.x + width);
    match backend {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked_backend` only returns Avx512 after runtime detection.
        FoldBackend::Avx512 => unsafe { fold_avx512(taps, x, out, st, n_taps, sign) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `checked_backend` only returns Avx2 after runtime detection of AVX2 and FMA.
        FoldBackend::Avx2 => unsafe { fold_avx2(taps, x, out, st, n_taps, sign) },
        _ => fold_generic::<T, false, 32>(taps, x, out, st, n_taps, sign),
    }
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
        if limit != "portable"
            && limit != "avx2"
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
        {
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

/// `backend` if the CPU supports it, otherwise the portable one.
pub fn checked_backend(backend: FoldBackend) -> FoldBackend {
    #[cfg(target_arch = "x86_64")]
    {
        let ok = match backend {
            FoldBackend::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
            }
            FoldBackend::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            FoldBackend::Portable => true,
        };
        if ok {
            return backend;
        }
    }
    FoldBackend::Portable
}
