//! The restoring beam: an elliptical Gaussian fitted to the PSF's main lobe, and the
//! restored image, `model ⊗ beam + residual`.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::hogbom::subtract_kernel;
use super::DeconvolveError;
use crate::image::Beam;

/// PSF pixels at or above this fraction of the peak, connected to it, are fitted.
pub const FIT_LEVEL: f32 = 0.35;

/// `Q(x, y) = a x² + b x y + c y²` in pixels (`x` along columns, `y` along rows): the
/// Gaussian is `exp(−Q)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Quadratic {
    a: f64,
    b: f64,
    c: f64,
}

impl Quadratic {
    fn at(&self, x: f64, y: f64) -> f64 {
        self.a * x * x + self.b * x * y + self.c * y * y
    }

    /// The major-axis FWHM in pixels.
    fn major_px(&self) -> f64 {
        let mean = 0.5 * (self.a + self.c);
        let diff = (0.25 * (self.a - self.c).powi(2) + 0.25 * self.b * self.b).sqrt();
        2.0 * (std::f64::consts::LN_2 / (mean - diff)).sqrt()
    }

    fn is_elliptic(&self) -> bool {
        self.a > 0.0 && self.c > 0.0 && 4.0 * self.a * self.c > self.b * self.b
    }
}

/// Which pixels of the box around the PSF's peak the restoring beam is fitted to.
///
/// The two agree when the PSF is a Gaussian; they differ by how they weigh a main lobe
/// that is not one. Measured on three Briggs 0 PSFs of an SKA-Low-like field (3″, 8″ and
/// 1.5″ pixels), WSClean 3.1's fitted beams are those of [`BeamFit::Wsclean`] to 0.01″
/// and 0.2°; those of [`BeamFit::Full`] differ from them by 1–17 % in the minor axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BeamFit {
    /// WSClean's fit (the default, so that restored images and fluxes compare with
    /// WSClean's): the box's quadrant that starts at the peak and grows with the column
    /// and row indices (west and north). The PSF is point-symmetric, so this is also the
    /// south-east quadrant; the two other quadrants are not seen.
    #[default]
    Wsclean,
    /// Every pixel of the box, so that the beam does not change when the image is
    /// mirrored.
    Full,
}

impl std::str::FromStr for BeamFit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wsclean" => Ok(BeamFit::Wsclean),
            "full" => Ok(BeamFit::Full),
            _ => Err(format!("expected wsclean or full, found {s:?}")),
        }
    }
}

impl std::fmt::Display for BeamFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BeamFit::Wsclean => "wsclean",
            BeamFit::Full => "full",
        })
    }
}

/// Fits an elliptical Gaussian of peak 1 to the PSF (`psf[row, col]`, peak 1 at
/// `(ny/2, nx/2)`, pixels of `cell_x_rad × cell_y_rad` with the column index growing as `l`
/// decreases and the row index as `m` grows): a first estimate of the width (the
/// least-squares fit of the main lobe's pixels at or above [`FIT_LEVEL`]), then a
/// least-squares fit of the pixels `fit` chooses in a box of [`FIT_BOX`] times that width,
/// which includes the near sidelobes and any shoulder of the PSF; the box is made again
/// from the fitted width and the fit repeated while the width changes by more than 1 %.
pub fn fit_beam(
    psf: ArrayView2<'_, f32>,
    cell_x_rad: f64,
    cell_y_rad: f64,
    fit: BeamFit,
) -> Result<Beam, DeconvolveError> {
    let (ny, nx) = psf.dim();
    let (cy, cx) = (ny / 2, nx / 2);
    let pts = lobe_points(psf, cy, cx);
    if pts.len() < 5 {
        return Err(DeconvolveError::Psf(format!(
            "the PSF's main lobe has {} pixels above {FIT_LEVEL} of the peak: the pixels are too large to fit a beam (at least 5 needed)",
            pts.len()
        )));
    }
    // A lobe of a few pixels (pixels near the Nyquist size) may not give an ellipse from
    // the logarithms; then a circle of the lobe's area starts the fit.
    let circle = || {
        let a = std::f64::consts::PI * (1.0 / FIT_LEVEL as f64).ln() / pts.len() as f64;
        Quadratic { a, b: 0.0, c: a }
    };
    // Both starts are elliptic and the least-squares steps keep the form elliptic.
    let mut q = least_squares(&pts, log_fit(&pts).unwrap_or_else(circle));
    let max_half = cy.min(ny - 1 - cy).min(cx).min(nx - 1 - cx);
    let mut width = q.major_px();
    for _ in 0..5 {
        let half = ((0.5 * FIT_BOX * width).ceil() as usize).clamp(2, max_half);
        // The quadrant has the side of the whole box.
        let (rows, cols) = match fit {
            BeamFit::Full => (cy - half..=cy + half, cx - half..=cx + half),
            BeamFit::Wsclean => (
                cy..=(cy + 2 * half).min(ny - 1),
                cx..=(cx + 2 * half).min(nx - 1),
            ),
        };
        let mut box_pts = Vec::with_capacity(rows.clone().count() * cols.clone().count());
        for y in rows {
            for x in cols.clone() {
                box_pts.push((
                    x as f64 - cx as f64,
                    y as f64 - cy as f64,
                    psf[[y, x]] as f64,
                ));
            }
        }
        q = least_squares(&box_pts, q);
        let w = q.major_px();
        let settled = (w / width - 1.0).abs() < 0.01;
        width = w;
        if settled {
            break;
        }
    }
    beam_of(q, cell_x_rad, cell_y_rad)
}

/// The side of the fitting box in units of the beam's major FWHM (WSClean's default).
pub const FIT_BOX: f64 = 10.0;

/// Gauss–Newton from `q` on `Σ (exp(−Q) − p)²` over `pts` (kept elliptic).
fn least_squares(pts: &[(f64, f64, f64)], mut q: Quadratic) -> Quadratic {
    for _ in 0..100 {
        let mut jtj = [[0.0f64; 3]; 3];
        let mut jtr = [0.0f64; 3];
        for &(x, y, p) in pts {
            let g = (-q.at(x, y)).exp();
            let r = p - g;
            let j = [-g * x * x, -g * x * y, -g * y * y];
            for i in 0..3 {
                jtr[i] += j[i] * r;
                for k in 0..3 {
                    jtj[i][k] += j[i] * j[k];
                }
            }
        }
        let Some(step) = solve3(jtj, jtr) else { break };
        // Halve the step until the form stays elliptic.
        let mut t = 1.0;
        let next = loop {
            let n = Quadratic {
                a: q.a + t * step[0],
                b: q.b + t * step[1],
                c: q.c + t * step[2],
            };
            if n.is_elliptic() || t < 1e-3 {
                break n;
            }
            t *= 0.5;
        };
        if !next.is_elliptic() {
            break;
        }
        let done = step
            .iter()
            .zip([q.a, q.b, q.c])
            .all(|(s, v)| (t * s).abs() <= 1e-10 * v.abs().max(1e-12));
        q = next;
        if done {
            break;
        }
    }
    q
}

/// The main lobe's pixels at or above [`FIT_LEVEL`]: `(x, y, value)` offsets from the peak.
fn lobe_points(psf: ArrayView2<'_, f32>, cy: usize, cx: usize) -> Vec<(f64, f64, f64)> {
    super::psf::flood(
        psf,
        (cy, cx),
        &[(-1, 0), (1, 0), (0, -1), (0, 1)],
        |_, to| to >= FIT_LEVEL,
    )
    .into_iter()
    .map(|(y, x)| {
        (
            x as f64 - cx as f64,
            y as f64 - cy as f64,
            psf[[y, x]] as f64,
        )
    })
    .collect()
}

fn log_fit(pts: &[(f64, f64, f64)]) -> Option<Quadratic> {
    let mut m = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    for &(x, y, p) in pts {
        if x == 0.0 && y == 0.0 {
            continue;
        }
        let w = p * p;
        let f = [x * x, x * y, y * y];
        let t = -p.ln();
        for i in 0..3 {
            r[i] += w * f[i] * t;
            for k in 0..3 {
                m[i][k] += w * f[i] * f[k];
            }
        }
    }
    let s = solve3(m, r)?;
    let q = Quadratic {
        a: s[0],
        b: s[1],
        c: s[2],
    };
    q.is_elliptic().then_some(q)
}

fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d == 0.0 || !d.is_finite() {
        return None;
    }
    let mut out = [0.0; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let mut mi = m;
        for k in 0..3 {
            mi[k][i] = r[k];
        }
        *o = det(&mi) / d;
    }
    Some(out)
}

/// The beam of `exp(−Q)` on the sky: `l = −x · cell_x`, `m = y · cell_y`.
fn beam_of(q: Quadratic, cell_x: f64, cell_y: f64) -> Result<Beam, DeconvolveError> {
    // Q in (l, m): [[a/cx², −b/(2 cx cy)], [−b/(2 cx cy), c/cy²]].
    let (p, r, s) = (
        q.a / (cell_x * cell_x),
        -q.b / (2.0 * cell_x * cell_y),
        q.c / (cell_y * cell_y),
    );
    let mean = 0.5 * (p + s);
    let diff = (0.25 * (p - s) * (p - s) + r * r).sqrt();
    let (lmin, lmax) = (mean - diff, mean + diff);
    if !(lmin > 0.0 && lmax.is_finite()) {
        return Err(DeconvolveError::Psf(
            "the fitted beam is not a closed ellipse".into(),
        ));
    }
    let fwhm = |lambda: f64| 2.0 * (std::f64::consts::LN_2 / lambda).sqrt();
    // The major axis is the eigenvector of the smaller eigenvalue: (l, m) ∝ (r, lmin − p).
    // Of the two forms of that eigenvector, the one that is not degenerate.
    let (v1, v2) = ((r, lmin - p), (lmin - s, r));
    let norm = |v: (f64, f64)| v.0.hypot(v.1);
    let (l, m) = if norm(v1).max(norm(v2)) == 0.0 {
        (1.0, 0.0) // a circle: any angle
    } else if norm(v1) >= norm(v2) {
        v1
    } else {
        v2
    };
    let mut pa = l.atan2(m); // from north (m) through east (l)
    let half_pi = std::f64::consts::FRAC_PI_2;
    if pa <= -half_pi {
        pa += std::f64::consts::PI;
    } else if pa > half_pi {
        pa -= std::f64::consts::PI;
    }
    Ok(Beam {
        major_rad: fwhm(lmin),
        minor_rad: fwhm(lmax),
        pa_rad: pa,
    })
}

/// The beam as an image kernel of peak 1 (a square of odd size reaching 2.5 major FWHM).
pub fn beam_kernel(beam: &Beam, cell_x_rad: f64, cell_y_rad: f64) -> Array2<f32> {
    let half = (2.5 * beam.major_rad / cell_x_rad.min(cell_y_rad)).ceil() as usize + 1;
    let (sp, cp) = beam.pa_rad.sin_cos();
    let k = 4.0 * std::f64::consts::LN_2;
    Array2::from_shape_fn((2 * half + 1, 2 * half + 1), |(y, x)| {
        let l = -(x as f64 - half as f64) * cell_x_rad;
        let m = (y as f64 - half as f64) * cell_y_rad;
        // Along the major axis (direction pa from north through east) and across it.
        let u = l * sp + m * cp;
        let v = l * cp - m * sp;
        (-k * ((u / beam.major_rad).powi(2) + (v / beam.minor_rad).powi(2))).exp() as f32
    })
}

/// `residual + model ⊗ beam` (model in Jy/pixel, result in Jy/beam), in place in `residual`.
pub fn restore(
    mut residual: ArrayViewMut2<'_, f32>,
    model: ArrayView2<'_, f32>,
    beam: &Beam,
    cell_x_rad: f64,
    cell_y_rad: f64,
) {
    let kernel = beam_kernel(beam, cell_x_rad, cell_y_rad);
    let comps: Vec<(usize, usize, f32)> = model
        .indexed_iter()
        .filter(|(_, &v)| v != 0.0)
        .map(|((y, x), &v)| (y, x, v))
        .collect();
    subtract_kernel(residual.view_mut(), &comps, kernel.view(), -1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_of(beam: &Beam, n: usize, cell: f64) -> Array2<f32> {
        let k = beam_kernel(beam, cell, cell);
        let mut img = Array2::zeros((n, n));
        subtract_kernel(img.view_mut(), &[(n / 2, n / 2, 1.0)], k.view(), -1.0);
        img
    }

    #[test]
    fn fits_the_gaussian_it_is_given() {
        let cell = (3.0f64 / 3600.0).to_radians();
        for pa_deg in [-80.0f64, -30.0, 0.0, 25.0, 60.0, 90.0] {
            let b = Beam {
                major_rad: (16.7f64 / 3600.0).to_radians(),
                minor_rad: (11.2f64 / 3600.0).to_radians(),
                pa_rad: pa_deg.to_radians(),
            };
            let img = image_of(&b, 64, cell);
            // East is left: a source's image must be elongated as the sky is.
            for fit in [BeamFit::Wsclean, BeamFit::Full] {
                let f = fit_beam(img.view(), cell, cell, fit).unwrap();
                assert!(
                    (f.major_rad / b.major_rad - 1.0).abs() < 1e-4,
                    "{pa_deg} {fit}: {f:?}"
                );
                assert!(
                    (f.minor_rad / b.minor_rad - 1.0).abs() < 1e-4,
                    "{pa_deg} {fit}: {f:?}"
                );
                let dpa = (f.pa_rad - b.pa_rad).to_degrees();
                let dpa = (dpa + 90.0).rem_euclid(180.0) - 90.0;
                assert!(dpa.abs() < 0.05, "{pa_deg} {fit}: {f:?}");
            }
        }
    }

    #[test]
    fn fits_a_beam_of_two_pixels() {
        // The lobe above FIT_LEVEL is the peak and its four neighbours: their logarithms
        // say nothing of the cross term, so the fit starts from a circle.
        let cell = 1e-5;
        let b = Beam {
            major_rad: 1.9 * cell,
            minor_rad: 1.8 * cell,
            pa_rad: 0.4,
        };
        let img = image_of(&b, 32, cell);
        assert_eq!(lobe_points(img.view(), 16, 16).len(), 5);
        for fit in [BeamFit::Wsclean, BeamFit::Full] {
            let f = fit_beam(img.view(), cell, cell, fit).unwrap();
            assert!(
                (f.major_rad / b.major_rad - 1.0).abs() < 1e-4,
                "{fit}: {f:?}"
            );
            assert!(
                (f.minor_rad / b.minor_rad - 1.0).abs() < 1e-4,
                "{fit}: {f:?}"
            );
            assert!((f.pa_rad - b.pa_rad).abs() < 1e-2, "{fit}: {f:?}");
        }
    }

    #[test]
    fn wscleans_fit_does_not_see_sidelobes_to_the_north_east_and_south_west() {
        // A round core and a point-symmetric pair of sidelobes: row −d, column +d is
        // south-west of the peak (columns grow westwards, rows northwards), row +d,
        // column −d north-east.
        let cell = (3.0f64 / 3600.0).to_radians();
        let core = Beam {
            major_rad: 5.0 * cell,
            minor_rad: 5.0 * cell,
            pa_rad: 0.0,
        };
        let n = 64;
        let c = n / 2;
        let mut psf = image_of(&core, n, cell);
        let lobe = beam_kernel(
            &Beam {
                major_rad: 3.0 * cell,
                minor_rad: 3.0 * cell,
                pa_rad: 0.0,
            },
            cell,
            cell,
        );
        let d = 5;
        subtract_kernel(
            psf.view_mut(),
            &[(c - d, c + d, 0.5), (c + d, c - d, 0.5)],
            lobe.view(),
            -1.0,
        );
        let w = fit_beam(psf.view(), cell, cell, BeamFit::Wsclean).unwrap();
        let f = fit_beam(psf.view(), cell, cell, BeamFit::Full).unwrap();
        // The quadrant of growing rows and columns (north-west) has neither lobe: the core.
        assert!((w.major_rad / core.major_rad - 1.0).abs() < 2e-3, "{w:?}");
        assert!((w.minor_rad / core.minor_rad - 1.0).abs() < 2e-3, "{w:?}");
        // The whole box has both: the beam is longer along their diagonal, PA 45°.
        assert!(f.major_rad > 1.1 * core.major_rad, "{f:?}");
        assert!((f.pa_rad.to_degrees() - 45.0).abs() < 1.0, "{f:?}");
    }

    #[test]
    fn the_kernel_points_east_of_north() {
        // PA 90° (east–west): along the row through the centre the beam is wide.
        let cell = 1.0f64.to_radians() / 60.0;
        let b = Beam {
            major_rad: 10.0 * cell,
            minor_rad: 4.0 * cell,
            pa_rad: 90f64.to_radians(),
        };
        let k = beam_kernel(&b, cell, cell);
        let h = k.nrows() / 2;
        assert!((k[[h, h + 5]] - 0.5).abs() < 1e-3);
        assert!((k[[h + 2, h]] - 0.5).abs() < 1e-3);
        // PA 45°: north-east is up and to the left.
        let b = Beam {
            pa_rad: 45f64.to_radians(),
            ..b
        };
        let k = beam_kernel(&b, cell, cell);
        assert!(k[[h + 3, h - 3]] > k[[h + 3, h + 3]]);
    }

    #[test]
    fn restore_puts_the_flux_in_a_beam() {
        let cell = 1e-4;
        let b = Beam {
            major_rad: 5e-4,
            minor_rad: 3e-4,
            pa_rad: 0.3,
        };
        let mut model = Array2::zeros((40, 40));
        model[[20, 18]] = 2.5;
        let mut res = Array2::from_elem((40, 40), 0.01f32);
        restore(res.view_mut(), model.view(), &b, cell, cell);
        assert!((res[[20, 18]] - 2.51).abs() < 1e-5);
        assert!(res[[20, 30]] < 0.011);
    }

    #[test]
    fn refuses_a_lobe_of_a_pixel() {
        let mut psf = Array2::zeros((16, 16));
        psf[[8, 8]] = 1.0f32;
        assert!(fit_beam(psf.view(), 1e-4, 1e-4, BeamFit::Wsclean).is_err());
        assert!(fit_beam(psf.view(), 1e-4, 1e-4, BeamFit::Full).is_err());
    }
}
