//! Small crate-private helpers shared by the compute modules: a raw pointer for tasks
//! that write disjoint parts of one buffer, a cache prefetch hint, non-temporal stores and
//! a blocked transposition.

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

/// `dst = src` with non-temporal stores where the CPU has them (the destination lines go
/// to memory without being read first); call [`stream_fence`] after the last one before
/// the data is handed on. Falls back to a plain copy where `dst` is not 8-byte aligned.
#[inline]
pub(crate) fn stream_store(src: &[num_complex::Complex32], dst: &mut [num_complex::Complex32]) {
    assert_eq!(src.len(), dst.len());
    #[cfg(target_arch = "x86_64")]
    if (dst.as_ptr() as usize).is_multiple_of(8) {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
        // One complex value before the first 16-byte boundary of `dst`, stored normally.
        let head = usize::from(!(dst.as_ptr() as usize).is_multiple_of(16)).min(dst.len());
        dst[..head].copy_from_slice(&src[..head]);
        let body = (dst.len() - head) / 2 * 2;
        let s = src[head..].as_ptr().cast::<f32>();
        let d = dst[head..].as_mut_ptr().cast::<f32>();
        // SAFETY: `body` complex values (2·body f32) are in bounds of both slices after
        // `head`; `d` is 16-byte aligned, as `_mm_stream_ps` requires.
        unsafe {
            for i in (0..2 * body).step_by(4) {
                _mm_stream_ps(d.add(i), _mm_loadu_ps(s.add(i)));
            }
        }
        dst[head + body..].copy_from_slice(&src[head + body..]);
        return;
    }
    dst.copy_from_slice(src);
}

/// Orders the non-temporal stores of [`stream_store`] before later stores.
#[inline]
pub(crate) fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a store fence has no preconditions.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
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
