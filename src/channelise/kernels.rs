//! Hot loops of the filterbank: the polyphase FIR (fold) step. No allocation, no checks
//! beyond debug assertions; the caller guarantees lengths.
//!
//! The fold is `z[i] = Σ_t taps[t·W + i] · x[t·W + i]` (W = 2N interleaved re/im values
//! for complex input, N for real), computed for a range of columns `i` at a time so the
//! filterbank can write each block straight to its rotated place. It reads int8, int16 or
//! float32 samples and converts in registers. It is compiled three times — for AVX-512, for
//! AVX2+FMA, and for the baseline target — and the best one the CPU supports is chosen once,
//! when the plan is built. Critically sampled spectra have a kernel of their own on AVX-512
//! ([`fold_slide`]): a FIR in time down each column, folding a group of spectra straight
//! from the input.

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

/// Row strides of [`fold_slide`], in values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlideStrides {
    /// Distance between the taps of consecutive rows (f32).
    pub taps: usize,
    /// Distance between consecutive input rows (scalars).
    pub x: usize,
    /// Distance between the output rows of consecutive spectra (f32).
    pub out: usize,
    /// Distance between the carried partial sums of consecutive spectra (f32).
    pub carry: usize,
}

/// The fold of `g` consecutive critically sampled spectra over one block of `len` columns,
/// read straight from the input rows (`x`, scalars of any [`FoldScalar`] type, rows `S_x`
/// apart, row 0 the first row of spectrum 0's window):
/// `out[j·S_out + i] = Σ_{t<n_taps} taps[t·S_taps + i] · x[(j + t)·S_x + i]` for `j < g`,
/// `i < len`. Same sums in the same order as [`fold`] with sign 1, so the results are
/// bit-identical to folding each spectrum alone.
///
/// Each column vector of the block runs down the input rows as a FIR in time: every input
/// vector is loaded once and feeds the `T` spectra whose windows hold it, with the taps and
/// the `T` running sums in registers. The sums of the `T − 1` spectra after the group,
/// which the group's last rows begin, are left in `carry` (`T − 1` rows `S_carry` apart);
/// the next group (`fresh` false) starts from them and reads only its `g` new rows, from
/// row `T − 1` on. A `fresh` group starts from zero at row 0. So every input row is read
/// once, from the caller's samples: no staged copy, and rows a power of two apart cost
/// nothing, as each line is read whole and not needed again.
///
/// The columns after the last whole 16 (at a row's end) are folded spectrum by spectrum
/// with [`fold`], from the input, with the same sums.
///
/// Returns `false`, doing nothing, when there is no kernel for `simd`, `n_taps` and `T`
/// ([`has_slide_kernel`]).
#[inline]
pub(crate) fn fold_slide<T: FoldScalar>(
    simd: Backend,
    taps: &[f32],
    x: &[T],
    out: &mut [f32],
    carry: &mut [f32],
    st: SlideStrides,
    (n_taps, g, len, fresh): (usize, usize, usize, bool),
) -> bool {
    if !has_slide_kernel::<T>(simd, n_taps) {
        return false;
    }
    if g == 0 || len == 0 {
        return true;
    }
    assert!(taps.len() >= (n_taps - 1) * st.taps + len);
    assert!(x.len() >= (g + n_taps - 2) * st.x + len);
    assert!(out.len() >= (g - 1) * st.out + len);
    assert!(carry.len() >= (n_taps - 2) * st.carry + len);
    let done = len / 16 * 16;
    if done < len {
        let strides = Strides {
            taps: st.taps,
            x: st.x,
        };
        for j in 0..g {
            let o = &mut out[j * st.out + done..j * st.out + len];
            fold(
                simd,
                &taps[done..],
                &x[j * st.x + done..],
                o,
                strides,
                n_taps,
                1.0,
            );
        }
    }
    if done == 0 {
        return true;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        /// `x` as a slice of `U` (which `T` is).
        fn cast<T: 'static, U: 'static>(x: &[T]) -> &[U] {
            assert_eq!(TypeId::of::<T>(), TypeId::of::<U>());
            // SAFETY: T and U are the same type.
            unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<U>(), x.len()) }
        }
        let job = Slide {
            g,
            len: done,
            fresh,
            st,
        };
        macro_rules! dispatch {
            ($u:ty, $($t:literal)*) => {
                match n_taps {
                    // SAFETY: a Backend of level Avx512 exists only where the CPU has it
                    // (`has_slide_kernel`); the bounds were asserted above.
                    $($t => unsafe {
                        slide_avx512::<$u, $t>(taps, cast::<T, $u>(x), out, carry, job)
                    },)*
                    _ => unreachable!("has_slide_kernel admits 2–16 taps"),
                }
            };
        }
        let t = TypeId::of::<T>();
        if t == TypeId::of::<f32>() {
            dispatch!(f32, 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        } else if t == TypeId::of::<i16>() {
            dispatch!(i16, 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        } else {
            dispatch!(i8, 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (carry, fresh);
        unreachable!("has_slide_kernel is false off x86_64")
    }
}

/// Whether [`fold_slide`] has a kernel for `simd`, `n_taps` and the scalar type `T`
/// (AVX-512; 2–16 taps; int8, int16 or float32).
pub(crate) fn has_slide_kernel<T: FoldScalar>(simd: Backend, n_taps: usize) -> bool {
    use std::any::TypeId;
    let t = TypeId::of::<T>();
    cfg!(target_arch = "x86_64")
        && simd.level() == SimdLevel::Avx512
        && (2..=16).contains(&n_taps)
        && (t == TypeId::of::<f32>() || t == TypeId::of::<i16>() || t == TypeId::of::<i8>())
}

/// The shape of one [`fold_slide`] call.
#[derive(Clone, Copy)]
struct Slide {
    g: usize,
    /// Columns, a multiple of 16.
    len: usize,
    fresh: bool,
    st: SlideStrides,
}

/// Sixteen scalars from memory as sixteen f32 lanes (AVX-512).
#[cfg(target_arch = "x86_64")]
trait Load16: Copy {
    /// # Safety
    /// `p .. p + 16` must be readable, and the CPU must have AVX-512 F.
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512;
}

#[cfg(target_arch = "x86_64")]
impl Load16 for f32 {
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> std::arch::x86_64::__m512 {
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Load16 for i16 {
    #[inline(always)]
    unsafe fn load16(p: *const i16) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256(p.cast()))) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Load16 for i8 {
    #[inline(always)]
    unsafe fn load16(p: *const i8) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        unsafe { _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast()))) }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn slide_avx512<U: Load16, const T: usize>(
    taps: &[f32],
    x: &[U],
    out: &mut [f32],
    carry: &mut [f32],
    job: Slide,
) {
    use std::arch::x86_64::*;
    let (tp, xp, op, cp) = (
        taps.as_ptr(),
        x.as_ptr(),
        out.as_mut_ptr(),
        carry.as_mut_ptr(),
    );
    let (g, st) = (job.g, job.st);
    for c in (0..job.len).step_by(16) {
        // SAFETY (all pointer arithmetic below): column c + 15 < len; rows stay below T
        // (taps), g + T − 1 (x), g (out) and T − 1 (carry), as `fold_slide` asserted.
        let h: [__m512; T] =
            std::array::from_fn(|t| unsafe { _mm512_loadu_ps(tp.add(t * st.taps + c)) });
        // Spectrum j's sum lives in slot j mod T from row j (tap 0) to row j + T − 1
        // (tap T − 1), where it is stored and the slot cleared for spectrum j + T.
        let mut acc = [_mm512_setzero_ps(); T];
        // Both loops over rows are unrolled by hand (`$u` a literal, `$u < T` a constant):
        // at 11 taps and more LLVM kept them rolled, with `acc` on the stack.
        if job.fresh {
            // Rows 0 .. T − 1 begin spectra 0 .. T − 1 (spectrum j from tap 0 at row j).
            macro_rules! begin {
                ($($u:literal)*) => {$(
                    if $u + 1 < T {
                        let v = unsafe { U::load16(xp.add($u * st.x + c)) };
                        for (t, &ht) in h.iter().enumerate().take($u + 1) {
                            acc[$u - t] = _mm512_fmadd_ps(ht, v, acc[$u - t]);
                        }
                    }
                )*};
            }
            begin!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14);
        } else {
            for (j, a) in acc.iter_mut().enumerate().take(T - 1) {
                *a = unsafe { _mm512_loadu_ps(cp.add(j * st.carry + c)) };
            }
        }
        // Row T − 1 + k completes spectrum k; k goes T at a time so that slot indices are
        // constants.
        let mut kb = 0;
        'rows: while kb < g {
            macro_rules! row {
                ($($u:literal)*) => {$(
                    if $u < T {
                        let k = kb + $u;
                        if k >= g {
                            break 'rows;
                        }
                        let v = unsafe { U::load16(xp.add((T - 1 + k) * st.x + c)) };
                        for (t, &ht) in h.iter().enumerate() {
                            let s = (T - 1 + $u - t) % T;
                            acc[s] = _mm512_fmadd_ps(ht, v, acc[s]);
                        }
                        unsafe { _mm512_storeu_ps(op.add(k * st.out + c), acc[$u]) };
                        acc[$u] = _mm512_setzero_ps();
                    }
                )*};
            }
            row!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
            kb += T;
        }
        // Spectra g .. g + T − 1, begun, for the next group (through a copy, so that `acc`
        // is only ever indexed by constants and stays in registers).
        let mut left = [_mm512_setzero_ps(); T];
        left.copy_from_slice(&acc);
        for j in 0..T - 1 {
            unsafe { _mm512_storeu_ps(cp.add(j * st.carry + c), left[(g + j) % T]) };
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// `g` spectra folded a row at a time from `x` (rows `S_x` apart), as [`fold`] does
    /// each spectrum alone, with sign 1: what [`fold_slide`] must reproduce bit for bit.
    fn per_spectrum<T: FoldScalar>(
        backend: Backend,
        taps: &[f32],
        x: &[T],
        st: SlideStrides,
        (n_taps, g, len): (usize, usize, usize),
    ) -> Vec<f32> {
        let mut want = vec![f32::NAN; g * st.out];
        for j in 0..g {
            let strides = Strides {
                taps: st.taps,
                x: st.x,
            };
            let o = &mut want[j * st.out..j * st.out + len];
            fold(backend, taps, &x[j * st.x..], o, strides, n_taps, 1.0);
        }
        want
    }

    /// The sliding fold (a column's spectra folded as a FIR down the input rows, the sums
    /// of the spectra a group begins carried to the next group) gives the same bits as
    /// folding each spectrum alone: every tap count with and without a kernel, every input
    /// type, groups smaller and larger than the taps, a run of groups chained through the
    /// carry, and blocks whose width is not a multiple of the vector width.
    fn slide_matches<T: FoldScalar>(make: impl Fn(&mut ChaCha8Rng) -> T) {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let levels = SimdLevel::ALL.into_iter().filter(|l| l.is_supported());
        for backend in levels.map(|l| Backend::new(Some(l)).unwrap()) {
            for n_taps in 1..=18 {
                for (groups, g, len) in [(1, 1, 16), (3, 8, 256), (4, 13, 251), (2, 21, 7)] {
                    let st = SlideStrides {
                        taps: len + 5,
                        x: len + 16,
                        out: len + 40,
                        carry: len + 3,
                    };
                    let taps: Vec<f32> = (0..n_taps * st.taps).map(|_| rng.random()).collect();
                    let n_spec = groups * g;
                    let x: Vec<T> = (0..(n_spec + n_taps) * st.x)
                        .map(|_| make(&mut rng))
                        .collect();
                    let want = per_spectrum(backend, &taps, &x, st, (n_taps, n_spec, len));
                    let mut got = vec![f32::NAN; n_spec * st.out];
                    let mut carry = vec![f32::NAN; n_taps * st.carry];
                    if !has_slide_kernel::<T>(backend, n_taps) {
                        let shape = (n_taps, g, len, true);
                        let ran = fold_slide(backend, &taps, &x, &mut got, &mut carry, st, shape);
                        assert!(!ran, "{backend:?} has no kernel for {n_taps} taps");
                        continue;
                    }
                    assert!(backend.level() == SimdLevel::Avx512 && (2..=16).contains(&n_taps));
                    for k in 0..groups {
                        let ran = fold_slide(
                            backend,
                            &taps,
                            &x[k * g * st.x..],
                            &mut got[k * g * st.out..],
                            &mut carry,
                            st,
                            (n_taps, g, len, k == 0),
                        );
                        assert!(ran);
                    }
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{backend:?}, {n_taps} taps, {groups} groups of {g}, len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_sliding_fold_equals_the_per_spectrum_fold_bit_for_bit() {
        slide_matches(|r| r.random::<f32>() - 0.5);
        slide_matches(|r| r.random::<i16>());
        slide_matches(|r| r.random::<i8>());
    }
}
