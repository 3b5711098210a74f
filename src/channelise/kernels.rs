//! Hot loops of the filterbank: the polyphase FIR (fold) step. No allocation, no checks
//! beyond debug assertions; the caller guarantees lengths.
//!
//! The fold is `z[i] = Σ_t taps[t·W + i] · x[t·W + i]` (W = 2N interleaved re/im values
//! for complex input, N for real), computed for a range of columns `i` at a time so the
//! filterbank can write each block straight to its rotated place. It reads int8, int16 or
//! float32 samples and converts in registers. It is compiled three times — for AVX-512, for
//! AVX2+FMA, and for the baseline target — and the best one the CPU supports is chosen once,
//! when the plan is built.

use crate::simd::{Backend, SimdLevel};

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
pub(crate) struct Strides {
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
        // Indexed, not zipped: moving `acc` by value made LLVM spill it to the stack and
        // reload it at another width (a failed store forwarding on every block).
        let o = &mut out[i..i + B];
        for j in 0..B {
            o[j] = acc[j] * sign;
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
/// with the kernel of `simd`'s level.
#[inline]
pub(crate) fn fold<T: FoldScalar>(
    simd: Backend,
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
    match simd.level() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx512 exists only where the CPU has AVX-512 F and BW.
        SimdLevel::Avx512 => unsafe { fold_avx512(taps, x, out, st, n_taps, sign) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a Backend of level Avx2 or above exists only where the CPU has AVX2 and FMA.
        SimdLevel::Avx2 => unsafe { fold_avx2(taps, x, out, st, n_taps, sign) },
        _ => fold_generic::<T, false, 32>(taps, x, out, st, n_taps, sign),
    }
}

/// Row strides of [`fold_group`], in f32 values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroupStrides {
    /// Distance between the taps of consecutive rows.
    pub taps: usize,
    /// Distance between consecutive staged input rows.
    pub stage: usize,
    /// Distance between the output rows of consecutive spectra.
    pub out: usize,
}

/// The fold of `g` consecutive critically sampled spectra over one block of `len` columns:
/// `out[j·S_out + i] = Σ_{t<n_taps} taps[t·S_taps + i] · stage[(j + t)·S_stage + i]` for
/// `j < g`, `i < len` (spectrum `j` starts at staged row `j`, as the group's spectra start
/// one row apart). Same sums in the same order as [`fold`] with sign 1, so the results are
/// bit-identical to folding each spectrum alone.
///
/// Returns `false`, doing nothing, when [`has_group_kernel`] is false: the caller then
/// folds each spectrum with [`fold`]. The AVX-512 kernel keeps the block's taps in
/// registers and folds eight spectra at a time, so every FMA reads one value from memory
/// instead of two.
#[inline]
pub(crate) fn fold_group(
    simd: Backend,
    taps: &[f32],
    stage: &[f32],
    out: &mut [f32],
    st: GroupStrides,
    (n_taps, g, len): (usize, usize, usize),
) -> bool {
    if !has_group_kernel(simd, n_taps) {
        return false;
    }
    if g == 0 || len == 0 {
        return true;
    }
    assert!(taps.len() >= (n_taps - 1) * st.taps + len);
    assert!(stage.len() >= (g + n_taps - 2) * st.stage + len);
    assert!(out.len() >= (g - 1) * st.out + len);
    #[cfg(target_arch = "x86_64")]
    if simd.level() == SimdLevel::Avx512 {
        macro_rules! dispatch {
            ($($t:literal)*) => {
                match n_taps {
                    // SAFETY: a Backend of level Avx512 exists only where the CPU has it;
                    // the bounds were asserted above.
                    $($t => unsafe { group_avx512::<$t>(taps, stage, out, st, g, len) },)*
                    _ => return false,
                }
            };
        }
        dispatch!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        return true;
    }
    let _ = (taps, stage, out, st);
    false
}

/// Whether [`fold_group`] has a kernel for `simd` and `n_taps` (AVX-512, 2–16 taps).
pub(crate) fn has_group_kernel(simd: Backend, n_taps: usize) -> bool {
    cfg!(target_arch = "x86_64") && simd.level() == SimdLevel::Avx512 && (2..=16).contains(&n_taps)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn group_avx512<const T: usize>(
    taps: &[f32],
    stage: &[f32],
    out: &mut [f32],
    st: GroupStrides,
    g: usize,
    len: usize,
) {
    use std::arch::x86_64::*;
    let (tp, sp, op) = (taps.as_ptr(), stage.as_ptr(), out.as_mut_ptr());
    let mut c = 0;
    while c < len {
        let k: __mmask16 = if len - c >= 16 {
            0xffff
        } else {
            ((1u32 << (len - c)) - 1) as u16
        };
        // SAFETY (all pointer arithmetic below): column c + 15 < len under mask `k`, row
        // indices stay below T (taps), g + T − 1 (stage) and g (out), as `fold_group`
        // asserted.
        let h: [__m512; T] =
            std::array::from_fn(|t| unsafe { _mm512_maskz_loadu_ps(k, tp.add(t * st.taps + c)) });
        let mut j = 0;
        while j + 8 <= g {
            let mut acc = [_mm512_setzero_ps(); 8];
            for (t, &ht) in h.iter().enumerate() {
                for (s, a) in acc.iter_mut().enumerate() {
                    let x = unsafe { _mm512_maskz_loadu_ps(k, sp.add((j + s + t) * st.stage + c)) };
                    *a = _mm512_fmadd_ps(ht, x, *a);
                }
            }
            for (s, a) in acc.iter().enumerate() {
                unsafe { _mm512_mask_storeu_ps(op.add((j + s) * st.out + c), k, *a) };
            }
            j += 8;
        }
        for j in j..g {
            let mut a = _mm512_setzero_ps();
            for (t, &ht) in h.iter().enumerate() {
                let x = unsafe { _mm512_maskz_loadu_ps(k, sp.add((j + t) * st.stage + c)) };
                a = _mm512_fmadd_ps(ht, x, a);
            }
            unsafe { _mm512_mask_storeu_ps(op.add(j * st.out + c), k, a) };
        }
        c += 16;
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The group kernel (critically sampled spectra folded eight at a time, taps held in
    /// registers) gives the same bits as folding each spectrum alone, for every tap count
    /// (those without a group kernel fall back), group sizes with a remainder and blocks
    /// whose width is not a multiple of the vector width.
    #[test]
    fn the_group_fold_equals_the_per_spectrum_fold_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let levels = SimdLevel::ALL.into_iter().filter(|l| l.is_supported());
        for backend in levels.map(|l| Backend::new(Some(l)).unwrap()) {
            for n_taps in 1..=18 {
                for (g, len) in [(1, 16), (8, 256), (13, 251), (21, 7)] {
                    let (st_taps, st_stage, st_out) = (len + 5, len + 16, len + 40);
                    let taps: Vec<f32> = (0..n_taps * st_taps).map(|_| rng.random()).collect();
                    let stage: Vec<f32> = (0..(g + n_taps) * st_stage)
                        .map(|_| rng.random::<f32>() - 0.5)
                        .collect();
                    let mut want = vec![f32::NAN; g * st_out];
                    for j in 0..g {
                        fold(
                            backend,
                            &taps,
                            &stage[j * st_stage..],
                            &mut want[j * st_out..j * st_out + len],
                            Strides {
                                taps: st_taps,
                                x: st_stage,
                            },
                            n_taps,
                            1.0,
                        );
                    }
                    let mut got = vec![f32::NAN; g * st_out];
                    let st = GroupStrides {
                        taps: st_taps,
                        stage: st_stage,
                        out: st_out,
                    };
                    if !fold_group(backend, &taps, &stage, &mut got, st, (n_taps, g, len)) {
                        continue;
                    }
                    assert!(
                        backend.level() == SimdLevel::Avx512 && (2..=16).contains(&n_taps),
                        "{backend:?} has no group kernel for {n_taps} taps"
                    );
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{backend:?}, {n_taps} taps, g {g}, len {len}"
                    );
                }
            }
        }
    }
}
