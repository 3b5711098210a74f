//! Where a visibility lands on the grid: its u, v, w in wavelengths (folded to w ≥ 0
//! with w-stacking), its first cell and fractional offset on each axis, and its first
//! w-plane.

use ndarray::{CowArray, Ix2};

use crate::simd::{Backend, SimdLevel};
use crate::util::prefetch;

/// `floor(x)` without a libm call (the crate is built for baseline x86-64, where `f64::floor`
/// is a function call); exact for |x| < 2⁶³.
#[inline(always)]
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Direction-cosine offset `n − 1` of `(l, m)`, computed without cancellation.
#[inline]
pub fn n_minus_1(l: f64, m: f64) -> f64 {
    let r2 = l * l + m * m;
    -r2 / ((1.0 - r2).sqrt() + 1.0)
}

/// Where a visibility lands: first cell and fractional offset on each axis, first plane
/// and its offset, and whether it was replaced by its Hermitian twin.
#[derive(Clone, Copy, Default)]
pub(super) struct Loc {
    pub(super) ax: usize,
    pub(super) dx: f64,
    pub(super) ay: usize,
    pub(super) dy: f64,
    pub(super) plane: usize,
    pub(super) dz: f64,
}

/// The locations of a run of up to [`LOCS`] channels, field by field (the vector path
/// stores whole vectors of each field, with no per-channel repacking).
#[derive(Clone)]
pub(super) struct Locs {
    ax: [u32; LOCS],
    ay: [u32; LOCS],
    plane: [u32; LOCS],
    dx: [f64; LOCS],
    dy: [f64; LOCS],
    dz: [f64; LOCS],
}

/// Channels a [`Locs`] holds.
pub(super) const LOCS: usize = 64;

impl Default for Locs {
    fn default() -> Self {
        Locs {
            ax: [0; LOCS],
            ay: [0; LOCS],
            plane: [0; LOCS],
            dx: [0.0; LOCS],
            dy: [0.0; LOCS],
            dz: [0.0; LOCS],
        }
    }
}

impl Locs {
    /// Location `i`.
    #[inline(always)]
    pub(super) fn get(&self, i: usize) -> Loc {
        Loc {
            ax: self.ax[i] as usize,
            dx: self.dx[i],
            ay: self.ay[i] as usize,
            dy: self.dy[i],
            plane: self.plane[i] as usize,
            dz: self.dz[i],
        }
    }

    #[inline(always)]
    fn set(&mut self, i: usize, l: Loc) {
        // Cells are below the grid's size, and planes below the plan's count.
        (self.ax[i], self.ay[i], self.plane[i]) = (l.ax as u32, l.ay as u32, l.plane as u32);
        (self.dx[i], self.dy[i], self.dz[i]) = (l.dx, l.dy, l.dz);
    }
}

/// Everything that maps a (row, channel) to its grid position.
pub(super) struct Geometry<'a> {
    pub(super) uvw: CowArray<'a, f64, Ix2>,
    pub(super) scale: Vec<f64>,
    pub(super) su: f64,
    pub(super) sv: f64,
    pub(super) nu: usize,
    pub(super) nv: usize,
    pub(super) half: f64,
    pub(super) wstack: bool,
    pub(super) w0: f64,
    pub(super) inv_dw: f64,
}

impl Geometry<'_> {
    /// Hints the cache to fetch the uvw of `row` (the bucketed order visits rows far apart,
    /// and each visit would otherwise wait for memory).
    #[inline(always)]
    pub(super) fn prefetch(&self, row: usize) {
        // Both ends: a row of three f64 straddles two lines a quarter of the time.
        if let (Some(a), Some(b)) = (self.uvw.get([row, 0]), self.uvw.get([row, 2])) {
            prefetch(a);
            prefetch(b);
        }
    }

    /// The row's u, v, w in metres.
    #[inline(always)]
    pub(super) fn row_uvw(&self, row: usize) -> (f64, f64, f64) {
        assert!(row < self.uvw.nrows());
        let (rs, cs) = (self.uvw.strides()[0], self.uvw.strides()[1]);
        // SAFETY: row is in bounds (asserted) and the array has 3 columns (checked when
        // the plan was made).
        unsafe {
            let p = self.uvw.as_ptr().offset(row as isize * rs);
            (*p, *p.offset(cs), *p.offset(2 * cs))
        }
    }

    /// u, v, w in wavelengths (folded to w ≥ 0 with w-stacking).
    #[inline(always)]
    pub(super) fn uvw_lambda(&self, row: usize, chan: usize) -> (f64, f64, f64, bool) {
        let (u, v, w) = self.row_uvw(row);
        self.axes().lambda(u, v, w, self.scale[chan])
    }

    /// The grid's scalars, by value (for loops over a row's channels).
    #[inline(always)]
    pub(super) fn axes(&self) -> Axes {
        Axes {
            su: self.su,
            sv: self.sv,
            nu: self.nu as i64,
            nv: self.nv as i64,
            half: self.half,
            wstack: self.wstack,
            w0: self.w0,
            inv_dw: self.inv_dw,
        }
    }

    /// Where sample `(row, chan)` lands (the gridder takes whole runs, with
    /// [`Geometry::locate_run`]; this is their reference in tests).
    #[cfg(test)]
    pub(super) fn locate(&self, row: usize, chan: usize) -> Loc {
        let (u, v, w) = self.row_uvw(row);
        self.axes().locate(u, v, w, self.scale[chan])
    }
}

/// The scalars of [`Geometry`] that place a sample on the grid.
#[derive(Clone, Copy)]
pub(super) struct Axes {
    pub(super) su: f64,
    pub(super) sv: f64,
    pub(super) nu: i64,
    pub(super) nv: i64,
    pub(super) half: f64,
    pub(super) wstack: bool,
    pub(super) w0: f64,
    pub(super) inv_dw: f64,
}

impl Axes {
    /// u, v, w (metres) scaled by `s` (wavelengths per metre), folded to w ≥ 0 with
    /// w-stacking; the flag says whether the sample was folded.
    #[inline(always)]
    pub(super) fn lambda(&self, u: f64, v: f64, w: f64, s: f64) -> (f64, f64, f64, bool) {
        let (u, v, w) = (u * s, v * s, w * s);
        if self.wstack && w < 0.0 {
            (-u, -v, -w, true)
        } else {
            (u, v, w, false)
        }
    }

    #[inline(always)]
    pub(super) fn axis(&self, x: f64, n: i64) -> (usize, f64) {
        let fl = floor(x - self.half);
        let delta = x - self.half - fl;
        // The first cell, wrapped onto the grid: one step either way, without branches
        // (the sign of u changes at random from sample to sample); samples far beyond the
        // grid (aliased, exactly as the DFT does) take the modulo.
        let mut a0 = fl as i64 + 1;
        a0 += n & (a0 >> 63);
        a0 -= n & ((n - 1 - a0) >> 63);
        if a0 as u64 >= n as u64 {
            a0 = a0.rem_euclid(n);
        }
        (a0 as usize, delta)
    }

    /// Where the sample at u, v, w (metres) scaled by `s` falls.
    #[inline(always)]
    pub(super) fn locate(&self, u: f64, v: f64, w: f64, s: f64) -> Loc {
        let (u, v, w, _) = self.lambda(u, v, w, s);
        let (ax, dx) = self.axis(u * self.su, self.nu);
        let (ay, dy) = self.axis(v * self.sv, self.nv);
        let (plane, dz) = if self.wstack {
            let z = (w - self.w0) * self.inv_dw;
            let fl = floor(z - self.half);
            ((fl as i64 + 1).max(0) as usize, z - self.half - fl)
        } else {
            (0, 0.0)
        };
        Loc {
            ax,
            dx,
            ay,
            dy,
            plane,
            dz,
        }
    }
}

impl Geometry<'_> {
    /// [`Axes::locate`] of channels `c0 .. c0 + len` of `row` (`len ≤ LOCS`) into
    /// `out[..len]`, eight channels at a time with AVX-512 where `simd` has it: the same
    /// locations, bit for bit.
    #[inline(always)]
    pub(super) fn locate_run(
        &self,
        simd: Backend,
        row: usize,
        c0: usize,
        len: usize,
        out: &mut Locs,
    ) {
        let (axes, (u, v, w)) = (self.axes(), self.row_uvw(row));
        let scale = &self.scale[c0..c0 + len];
        assert!(len <= LOCS);
        #[cfg(target_arch = "x86_64")]
        if simd.level() == SimdLevel::Avx512 {
            // SAFETY: a Backend of level Avx512 exists only where the CPU has AVX-512 F.
            unsafe { locate_avx512(&axes, (u, v, w), scale, out) };
            return;
        }
        let _ = simd;
        for (i, &s) in scale.iter().enumerate() {
            out.set(i, axes.locate(u, v, w, s));
        }
    }

    /// The geometry with its uvw owned.
    pub(super) fn into_owned(self) -> Geometry<'static> {
        Geometry {
            uvw: CowArray::from(self.uvw.into_owned()),
            scale: self.scale,
            su: self.su,
            sv: self.sv,
            nu: self.nu,
            nv: self.nv,
            half: self.half,
            wstack: self.wstack,
            w0: self.w0,
            inv_dw: self.inv_dw,
        }
    }
}

/// [`Geometry::locate_run`] with AVX-512, eight channels a vector. Every step is
/// [`Axes::locate`]'s, in f64 and in the same order: the products `(u·s)·su`, the floor
/// (exact; the scalar one is exact below 2⁶³, and the vector path takes values below 2³¹
/// only), the offsets `(x − half) − floor`, the wrap by one grid length (integers below
/// 2⁵³ are exact in f64). A vector with a sample beyond one wrap of the grid, or with a
/// plane beyond 2³¹, is done one channel at a time. Returns the number of vectors done as
/// vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn locate_avx512(
    axes: &Axes,
    (u, v, w): (f64, f64, f64),
    scale: &[f64],
    out: &mut Locs,
) -> usize {
    use std::arch::x86_64::*;
    const FLOOR: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
    let floor = |x: __m512d| _mm512_roundscale_pd::<FLOOR>(x);
    let set = _mm512_set1_pd;
    let (half, zero, one, big) = (set(axes.half), set(0.0), set(1.0), set((1u64 << 31) as f64));
    // First cell and offset on one axis, the cell wrapped by one grid length, and the
    // lanes the vector path covers.
    let axis = |x: __m512d, n: i64| {
        let t = _mm512_sub_pd(x, half);
        let ok = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(t), big);
        let fl = floor(t);
        let a = _mm512_add_pd(fl, one);
        let nf = set(n as f64);
        let a = _mm512_mask_add_pd(a, _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, zero), a, nf);
        let over = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(a, set(n as f64 - 1.0));
        let a = _mm512_mask_sub_pd(a, over, a, nf);
        let inside =
            _mm512_cmp_pd_mask::<_CMP_GE_OQ>(a, zero) & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, nf);
        (a, _mm512_sub_pd(t, fl), ok & inside)
    };
    debug_assert!(scale.len() <= LOCS);
    let mut vectors = 0;
    for i0 in (0..scale.len()).step_by(8) {
        let k: __mmask8 = (0xffu32 >> (8 - (scale.len() - i0).min(8))) as u8;
        // SAFETY: lanes under `k` are within `scale`.
        let s = unsafe { _mm512_maskz_loadu_pd(k, scale.as_ptr().add(i0)) };
        let (mut us, mut vs, mut ws) = (
            _mm512_mul_pd(set(u), s),
            _mm512_mul_pd(set(v), s),
            _mm512_mul_pd(set(w), s),
        );
        if axes.wstack {
            let flip = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(ws, zero);
            us = _mm512_mask_sub_pd(us, flip, zero, us);
            vs = _mm512_mask_sub_pd(vs, flip, zero, vs);
            ws = _mm512_mask_sub_pd(ws, flip, zero, ws);
        }
        let (ax, dx, ok_x) = axis(_mm512_mul_pd(us, set(axes.su)), axes.nu);
        let (ay, dy, ok_y) = axis(_mm512_mul_pd(vs, set(axes.sv)), axes.nv);
        let (plane, dz, ok_z) = if axes.wstack {
            let t = _mm512_sub_pd(
                _mm512_mul_pd(_mm512_sub_pd(ws, set(axes.w0)), set(axes.inv_dw)),
                half,
            );
            let ok = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(t), big);
            let fl = floor(t);
            (
                _mm512_max_pd(_mm512_add_pd(fl, one), zero),
                _mm512_sub_pd(t, fl),
                ok,
            )
        } else {
            (zero, zero, 0xff)
        };
        if ok_x & ok_y & ok_z & k != k {
            for (i, &s) in scale.iter().enumerate().skip(i0).take(8) {
                out.set(i, axes.locate(u, v, w, s));
            }
            continue;
        }
        // Whole vectors: lanes past the run's end are written too, with values never read
        // (`i0 + 8 ≤ LOCS`, as LOCS is a multiple of 8).
        let fields = [
            (&mut out.ax, &mut out.dx, ax, dx),
            (&mut out.ay, &mut out.dy, ay, dy),
            (&mut out.plane, &mut out.dz, plane, dz),
        ];
        for (cells, offsets, c, d) in fields {
            // SAFETY: eight u32 and eight f64 from `i0` fit the arrays (above); the cells
            // are non-negative below 2³¹, so their i32 bits are the u32 values.
            unsafe {
                _mm256_storeu_si256(cells.as_mut_ptr().add(i0).cast(), _mm512_cvttpd_epi32(c));
                _mm512_storeu_pd(offsets.as_mut_ptr().add(i0), d);
            }
        }
        vectors += 1;
    }
    vectors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector locations are the scalar ones, bit for bit: with and without w-stacking,
    /// samples wrapped once or many times around the grid (those take the scalar path),
    /// cells on tile edges, folded samples and w beyond the planes; every run length.
    #[test]
    fn the_vector_locations_are_the_scalar_ones() {
        let mut s = 7u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let bits = |l: &Loc| {
            (
                l.ax,
                l.ay,
                l.plane,
                l.dx.to_bits(),
                l.dy.to_bits(),
                l.dz.to_bits(),
            )
        };
        let levels = SimdLevel::ALL.into_iter().filter(|l| l.is_supported());
        let backends: Vec<Backend> = levels.map(|l| Backend::new(Some(l)).unwrap()).collect();
        for wstack in [false, true] {
            for trial in 0..4000 {
                // Mostly on the grid; some a few grids away; some integral (cell edges).
                let reach = [40.0, 40.0, 200.0, 1e4][trial % 4];
                let mut uvw = [0.0; 3];
                for x in &mut uvw {
                    *x = (rnd() - 0.5) * reach;
                    if trial % 7 == 0 {
                        *x = x.round();
                    }
                }
                let m = 1 + trial % 64;
                let geom = Geometry {
                    uvw: CowArray::from(
                        ndarray::Array2::from_shape_vec((1, 3), uvw.to_vec()).unwrap(),
                    ),
                    scale: (0..m).map(|_| 0.5 + rnd()).collect(),
                    su: -0.7,
                    sv: 1.3,
                    nu: 96,
                    nv: 80,
                    half: 3.5,
                    wstack,
                    w0: -2.0,
                    inv_dw: 0.8,
                };
                let want: Vec<_> = (0..m).map(|c| bits(&geom.locate(0, c))).collect();
                #[cfg(target_arch = "x86_64")]
                if SimdLevel::Avx512.is_supported() && reach < 100.0 {
                    // Within one wrap of the grid: the vector path itself takes them.
                    let mut got = Locs::default();
                    let (g, u) = (&geom, uvw);
                    // SAFETY: the CPU has AVX-512 F (checked above).
                    let vectors =
                        unsafe { locate_avx512(&g.axes(), (u[0], u[1], u[2]), &g.scale, &mut got) };
                    assert_eq!(vectors, m.div_ceil(8), "uvw {uvw:?}");
                }
                for &simd in &backends {
                    let mut got = Locs::default();
                    geom.locate_run(simd, 0, 0, m, &mut got);
                    let got: Vec<_> = (0..m).map(|i| bits(&got.get(i))).collect();
                    assert_eq!(got, want, "{simd:?}, w-stacking {wstack}, uvw {uvw:?}");
                }
            }
        }
    }
}
