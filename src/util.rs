//! Small crate-private helpers shared by the compute modules: a raw pointer for tasks
//! that write disjoint parts of one buffer, a cache prefetch hint and a blocked
//! transposition.

use rayon::prelude::*;

/// A raw pointer shared by tasks that write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T>(pub *mut T);
// SAFETY: only used where each task writes indices no other task touches.
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// Asks for the cache line holding `p` (a hint: never faults, any address is allowed).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no architectural effect.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for the cache lines of `bytes` bytes from `p` into the outer caches, for writing
/// soon if `WRITE` (a hint, as [`prefetch`]).
#[inline(always)]
pub(crate) fn prefetch_span<const WRITE: bool, T>(p: *const T, bytes: usize) {
    let p = p as *const i8;
    for off in (0..bytes).step_by(64) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch has no architectural effect, whatever the address.
        unsafe {
            use core::arch::x86_64::{_mm_prefetch, _MM_HINT_ET1, _MM_HINT_T1};
            if WRITE {
                _mm_prefetch::<_MM_HINT_ET1>(p.wrapping_add(off));
            } else {
                _mm_prefetch::<_MM_HINT_T1>(p.wrapping_add(off));
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = off;
    }
}

/// Asks for the cache lines of `bytes` bytes from `p` for writing (`prefetchw`: the lines
/// come in owned, so that the stores that follow need not fetch them; a hint that never
/// faults, executed as a no-op by x86-64 processors without the instruction).
#[inline(always)]
pub(crate) fn prefetch_write<T>(p: *const T, bytes: usize) {
    let p = p as *const u8;
    for off in (0..bytes).step_by(64) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch has no architectural effect, whatever the address; it reads
        // and writes no register but its address operand.
        unsafe {
            core::arch::asm!(
                "prefetchw [{0}]",
                in(reg) p.wrapping_add(off),
                options(nostack, preserves_flags, readonly)
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = off;
    }
}

impl<T> SharedMut<T> {
    /// The pointer (a method, so closures capture the whole wrapper).
    #[inline(always)]
    pub(crate) fn ptr(self) -> *mut T {
        self.0
    }
}

/// `dst[c * rows + r] = get(r, c)` for `r < rows`, `c < cols`: a transposition (with a
/// map) by strips of `STRIP` columns, so `get` reads a cache line of each source row and
/// `dst` is written as `STRIP` sequential streams.
pub(crate) fn transpose_map<U: Copy + Send>(
    rows: usize,
    cols: usize,
    get: impl Fn(usize, usize) -> U + Sync,
    dst: &mut [U],
) {
    const STRIP: usize = 16;
    assert_eq!(dst.len(), rows * cols);
    if rows == 0 {
        return;
    }
    dst.par_chunks_mut(rows * STRIP)
        .enumerate()
        .for_each(|(j, strip)| {
            let c0 = j * STRIP;
            let nc = strip.len() / rows;
            for r in 0..rows {
                for dc in 0..nc {
                    strip[dc * rows + r] = get(r, c0 + dc);
                }
            }
        });
}

/// Runs `f`, adding its wall time in seconds to `*acc`: the one way stages are timed.
#[inline]
pub(crate) fn timed<R>(acc: &mut f64, f: impl FnOnce() -> R) -> R {
    let t0 = std::time::Instant::now();
    let r = f();
    *acc += t0.elapsed().as_secs_f64();
    r
}

/// `(sin 2πt, cos 2πt)` for an angle of `t` turns, to within a few units of f64 roundoff
/// for `|t| < 2⁵¹` (the error of `t` itself aside): the whole turns are removed exactly, the
/// rest is split into a multiple of a quarter turn and an angle of at most π/4, whose sine
/// and cosine are their Taylor series to the first term below 2⁻⁵⁴. No library calls (nor
/// `mul_add`, a library call where the build lacks FMA); several times faster than
/// [`f64::sin_cos`] on an angle in radians, which also spends its accuracy on reducing
/// a large argument.
#[inline(always)]
pub(crate) fn sincos_turns(t: f64) -> (f64, f64) {
    // Round to nearest by the 1.5·2⁵² shift: exact for |t| < 2⁵¹.
    const SHIFT: f64 = 6755399441055744.0;
    let r = t - ((t + SHIFT) - SHIFT); // |r| ≤ 1/2, exact
    let q = (4.0 * r + SHIFT) - SHIFT; // quarter turns, −2 ..= 2
    let x = (r - 0.25 * q) * std::f64::consts::TAU; // |x| ≤ π/4
    let x2 = x * x;
    // sin x = x Σ (−x²)^k / (2k+1)!, k ≤ 7; cos x = Σ (−x²)^k / (2k)!, k ≤ 8.
    const S: [f64; 8] = [
        1.0,
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5040.0,
        1.0 / 362880.0,
        -1.0 / 39916800.0,
        1.0 / 6227020800.0,
        -1.0 / 1307674368000.0,
    ];
    const C: [f64; 9] = [
        1.0,
        -1.0 / 2.0,
        1.0 / 24.0,
        -1.0 / 720.0,
        1.0 / 40320.0,
        -1.0 / 3628800.0,
        1.0 / 479001600.0,
        -1.0 / 87178291200.0,
        1.0 / 20922789888000.0,
    ];
    let mut s = S[7];
    for &c in S[..7].iter().rev() {
        s = s * x2 + c;
    }
    let mut c = C[8];
    for &k in C[..8].iter().rev() {
        c = c * x2 + k;
    }
    let s = s * x;
    // Rotate by q quarter turns: q mod 4 = 1 gives (cos, −sin), 2 gives (−sin, −cos),
    // 3 gives (−cos, sin).
    let qi = q as i64 & 3;
    let (s1, c1) = if qi & 1 == 1 { (c, -s) } else { (s, c) };
    if qi & 2 == 2 {
        (-s1, -c1)
    } else {
        (s1, c1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sincos_turns_matches_the_library_sine_and_cosine() {
        let mut worst = 0.0f64;
        // Small and large angles, exact quarter turns and their neighbours.
        let mut ts: Vec<f64> = (-4000..=4000).map(|i| i as f64 * 0.000_317_3).collect();
        ts.extend((-40..=40).map(|i| i as f64 * 0.25));
        ts.extend((-40..=40).map(|i| i as f64 * 0.125 + 1e-9));
        ts.extend([1e5 + 0.3, -7.3e6 - 0.71, 123_456.125]);
        for &t in &ts {
            let (s, c) = sincos_turns(t);
            // The reference on the exactly reduced angle, so its own reduction of a large
            // argument does not count.
            let r = t - t.round();
            let (rs, rc) = (r * std::f64::consts::TAU).sin_cos();
            worst = worst.max((s - rs).abs()).max((c - rc).abs());
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst deviation {worst:e}");
        assert_eq!(sincos_turns(0.25), (1.0, 0.0));
        assert_eq!(sincos_turns(-0.5).1, -1.0);
    }
}
