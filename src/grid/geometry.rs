//! Where a visibility lands on the grid: its u, v, w in wavelengths (folded to w ≥ 0
//! with w-stacking), its first cell and fractional offset on each axis, and its first
//! w-plane.

use ndarray::{CowArray, Ix2};

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
#[derive(Clone, Copy)]
pub(super) struct Loc {
    pub(super) ax: usize,
    pub(super) dx: f64,
    pub(super) ay: usize,
    pub(super) dy: f64,
    pub(super) plane: usize,
    pub(super) dz: f64,
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
        if let Some(p) = self.uvw.get([row, 0]) {
            prefetch(p);
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

    #[inline(always)]
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
