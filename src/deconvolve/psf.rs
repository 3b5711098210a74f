//! The point spread function as the minor cycle uses it: a patch around the peak, the
//! main lobe, and the sidelobe levels that bound how deep a minor cycle may go.

use ndarray::{s, Array2, ArrayView2};

use super::DeconvolveError;

/// A PSF with its peak (1) at pixel `(ny/2, nx/2)`, restricted to a square patch of
/// half-width `half` pixels around the peak for subtraction in the minor cycle (outside it
/// the minor cycle takes the PSF as zero; the major cycle puts the rest right).
#[derive(Debug, Clone)]
pub struct Psf {
    /// The patch, `(2 half + 1)²` pixels, peak at `(half, half)`.
    patch: Array2<f32>,
    half: usize,
    /// Largest `|psf|` inside the patch but outside the main lobe.
    sidelobe: f32,
    /// Largest `|psf|` outside the patch.
    far_sidelobe: f32,
    /// Pixels of the main lobe: downhill from the peak, above zero.
    main_lobe: Vec<(isize, isize)>,
    /// Diameter of the disc with the area of the main lobe above half the peak (pixels).
    fwhm_px: f64,
}

impl Psf {
    /// The PSF `psf[row, col]` (peak at `(ny/2, nx/2)`, normalised to 1 there) with a patch
    /// of half-width `half` (`None`: [`Psf::default_half`]).
    pub fn new(psf: ArrayView2<'_, f32>, half: Option<usize>) -> Result<Self, DeconvolveError> {
        let (ny, nx) = psf.dim();
        if ny < 3 || nx < 3 {
            return Err(DeconvolveError::Psf(format!(
                "a PSF of {ny}x{nx} pixels is too small"
            )));
        }
        if let Some(i) = psf.iter().position(|v| !v.is_finite()) {
            return Err(DeconvolveError::Psf(format!(
                "pixel ({}, {}) is not finite",
                i / nx,
                i % nx
            )));
        }
        let (cy, cx) = (ny / 2, nx / 2);
        let peak = psf[[cy, cx]];
        let max_abs = psf.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        if peak <= 0.0 || (peak - max_abs).abs() > 1e-3 * max_abs {
            return Err(DeconvolveError::Psf(format!(
                "the PSF must peak at its centre pixel ({cy}, {cx}); it is {peak} there and the largest |value| is {max_abs}"
            )));
        }
        let max_half = cy.min(ny - 1 - cy).min(cx).min(nx - 1 - cx);
        let main_lobe = main_lobe(psf, cy, cx);
        let lobe_radius = main_lobe
            .iter()
            .map(|&(y, x)| y.unsigned_abs().max(x.unsigned_abs()))
            .max()
            .unwrap_or(0);
        if lobe_radius >= max_half {
            return Err(DeconvolveError::Psf(format!(
                "the main lobe ({lobe_radius} pixels from the peak) reaches the edge of the PSF ({max_half} pixels): the image is too small for this resolution or the cell too fine"
            )));
        }
        let half = half
            .unwrap_or_else(|| Self::default_half(lobe_radius))
            .clamp(lobe_radius + 1, max_half);
        let scale = 1.0 / peak;
        let patch = psf
            .slice(s![cy - half..=cy + half, cx - half..=cx + half])
            .mapv(|v| v * scale);
        let mut inside = Array2::from_elem(patch.dim(), false);
        for &(y, x) in &main_lobe {
            inside[[(y + half as isize) as usize, (x + half as isize) as usize]] = true;
        }
        let sidelobe = patch
            .iter()
            .zip(inside.iter())
            .filter(|(_, &m)| !m)
            .fold(0.0f32, |a, (v, _)| a.max(v.abs()));
        let mut far_sidelobe = 0.0f32;
        for ((y, x), v) in psf.indexed_iter() {
            if y.abs_diff(cy) > half || x.abs_diff(cx) > half {
                far_sidelobe = far_sidelobe.max((v * scale).abs());
            }
        }
        let above_half = main_lobe
            .iter()
            .filter(|&&(y, x)| {
                psf[[(cy as isize + y) as usize, (cx as isize + x) as usize]] >= 0.5 * peak
            })
            .count();
        let fwhm_px = 2.0 * (above_half as f64 / std::f64::consts::PI).sqrt();
        Ok(Psf {
            patch,
            half,
            fwhm_px,
            sidelobe,
            far_sidelobe,
            main_lobe,
        })
    }

    /// The patch half-width chosen when none is given: 16 main-lobe radii, at least 32
    /// pixels (and at most what the PSF image holds).
    pub fn default_half(lobe_radius: usize) -> usize {
        (16 * lobe_radius).max(32)
    }

    /// The PSF at offset `(dy, dx)` from the peak, zero outside the patch.
    #[inline]
    pub fn at(&self, dy: isize, dx: isize) -> f32 {
        let h = self.half as isize;
        if dy.abs() > h || dx.abs() > h {
            0.0
        } else {
            self.patch[[(dy + h) as usize, (dx + h) as usize]]
        }
    }

    /// The patch (peak 1 at `(half, half)`).
    pub fn patch(&self) -> ArrayView2<'_, f32> {
        self.patch.view()
    }

    /// Half-width of the patch (pixels).
    pub fn half(&self) -> usize {
        self.half
    }

    /// Largest `|psf|` in the patch outside the main lobe.
    pub fn sidelobe(&self) -> f32 {
        self.sidelobe
    }

    /// Largest `|psf|` outside the patch (what the minor cycle leaves to the major cycle).
    pub fn far_sidelobe(&self) -> f32 {
        self.far_sidelobe
    }

    /// The width of the main lobe at half the peak (pixels; the diameter of a disc of the
    /// same area).
    pub fn fwhm_px(&self) -> f64 {
        self.fwhm_px
    }

    /// Offsets `(dy, dx)` of the main lobe's pixels (downhill from the peak, above zero).
    pub fn main_lobe(&self) -> &[(isize, isize)] {
        &self.main_lobe
    }
}

/// The pixels reached from the peak at `(cy, cx)` going downhill (8-neighbours, never to a
/// larger value) while the PSF is above zero, as offsets from the peak: the main lobe down
/// to its first null or minimum.
fn main_lobe(psf: ArrayView2<'_, f32>, cy: usize, cx: usize) -> Vec<(isize, isize)> {
    let offsets: &[(isize, isize)] = &[
        (-1, -1),
        (-1, 0),
        (-1, 1),
        (0, -1),
        (0, 1),
        (1, -1),
        (1, 0),
        (1, 1),
    ];
    flood(psf, (cy, cx), offsets, |from, to| to > 0.0 && to <= from)
        .into_iter()
        .map(|(y, x)| (y as isize - cy as isize, x as isize - cx as isize))
        .collect()
}

/// The pixels reached from `start` by steps of `offsets` where `step(value here, value
/// there)` allows, `start` included.
pub(super) fn flood(
    img: ArrayView2<'_, f32>,
    start: (usize, usize),
    offsets: &[(isize, isize)],
    step: impl Fn(f32, f32) -> bool,
) -> Vec<(usize, usize)> {
    let (ny, nx) = img.dim();
    let mut seen = std::collections::HashSet::from([start]);
    let mut stack = vec![start];
    let mut out = Vec::new();
    while let Some((y, x)) = stack.pop() {
        out.push((y, x));
        for &(dy, dx) in offsets {
            let (yy, xx) = (y as isize + dy, x as isize + dx);
            if yy < 0 || xx < 0 || yy >= ny as isize || xx >= nx as isize {
                continue;
            }
            let p = (yy as usize, xx as usize);
            if step(img[[y, x]], img[p]) && seen.insert(p) {
                stack.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian_psf(n: usize, sigma: f32) -> Array2<f32> {
        let c = (n / 2) as f32;
        Array2::from_shape_fn((n, n), |(y, x)| {
            let r2 = (y as f32 - c).powi(2) + (x as f32 - c).powi(2);
            let g = (-0.5 * r2 / (sigma * sigma)).exp();
            // A ring of negative sidelobe at radius 4 sigma.
            let ring = -0.1 * (-0.5 * (r2.sqrt() - 4.0 * sigma).powi(2)).exp();
            if r2.sqrt() > 2.5 * sigma {
                ring
            } else {
                g
            }
        })
    }

    #[test]
    fn lobe_patch_and_sidelobes() {
        let psf = gaussian_psf(64, 2.0);
        let p = Psf::new(psf.view(), Some(12)).unwrap();
        assert_eq!(p.half(), 12);
        assert_eq!(p.at(0, 0), 1.0);
        assert_eq!(p.at(13, 0), 0.0);
        // The main lobe is the positive disc of radius 2.5 sigma = 5 pixels.
        assert!(p.main_lobe().iter().all(|&(y, x)| y * y + x * x <= 25));
        assert!(p.main_lobe().contains(&(5, 0)));
        assert!((p.sidelobe() - 0.1).abs() < 1e-3, "{}", p.sidelobe());
        assert!(p.far_sidelobe() < 0.1 && p.far_sidelobe() >= 0.0);
    }

    #[test]
    fn refuses_a_psf_that_does_not_peak_at_the_centre() {
        let mut psf = gaussian_psf(32, 1.5);
        psf[[3, 3]] = 2.0;
        assert!(matches!(
            Psf::new(psf.view(), None),
            Err(DeconvolveError::Psf(_))
        ));
        let wide = gaussian_psf(16, 6.0);
        assert!(Psf::new(wide.view(), None).is_err());
    }
}
