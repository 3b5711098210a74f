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
