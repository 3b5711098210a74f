//! Sky models and the direct-DFT visibility predictor (the oracle of later stages).
//!
//! # Text format
//! One component per line, whitespace separated, `#` starts a comment:
//!
//! ```text
//! # kind      ra_deg    dec_deg   flux_jy  ref_freq_hz  spectral_index  [major_arcsec minor_arcsec pa_deg]
//! point       60.0      -30.0     1.5      150e6        -0.7
//! gaussian    60.8      -29.5     2.0      150e6        -0.8            120  60  30
//! ```
//!
//! Fluxes are total flux densities (Jy) of Stokes I at the reference frequency; the flux at
//! `f` is `S (f / f_ref)^α`. Gaussian sizes are full widths at half maximum, the position
//! angle runs from north through east. Positions are ICRS.

mod error;
pub mod predict;
pub mod reference;
pub mod voltages;

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

pub use error::SkyError;
pub use predict::{predict, predict_times, PredictConfig};
pub use voltages::{VoltageConfig, VoltageSimulator};

use crate::telescope::{limits, Lmn, RaDec};

/// Shape of a component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Unresolved.
    Point,
    /// Elliptical Gaussian.
    Gaussian {
        /// Major-axis FWHM (rad).
        major_rad: f64,
        /// Minor-axis FWHM (rad).
        minor_rad: f64,
        /// Position angle of the major axis, north through east (rad).
        pa_rad: f64,
    },
}

/// One sky component (Stokes I only: unpolarised).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Position (ICRS).
    pub radec: RaDec,
    /// Total flux density at `ref_freq_hz` (Jy).
    pub flux_jy: f64,
    /// Reference frequency (Hz).
    pub ref_freq_hz: f64,
    /// Spectral index α, `S ∝ f^α`.
    pub spectral_index: f64,
    /// Shape.
    pub shape: Shape,
}

impl Component {
    /// A point source with a flat spectrum.
    pub fn point(radec: RaDec, flux_jy: f64) -> Self {
        Self {
            radec,
            flux_jy,
            ref_freq_hz: 150e6,
            spectral_index: 0.0,
            shape: Shape::Point,
        }
    }

    /// Flux density at `freq_hz` (Jy).
    pub fn flux_at(&self, freq_hz: f64) -> f64 {
        if self.spectral_index == 0.0 {
            self.flux_jy
        } else {
            self.flux_jy * (freq_hz / self.ref_freq_hz).powf(self.spectral_index)
        }
    }

    fn validate(&self, index: usize) -> Result<(), SkyError> {
        let bad = |reason: String| Err(SkyError::InvalidComponent { index, reason });
        if !self.radec.is_valid() {
            return bad(format!("position {:?} is not a sky direction", self.radec));
        }
        let max = limits::MAX_FLUX_JY;
        if !limits::within(self.flux_jy, -max, max) {
            return bad(format!(
                "flux {} Jy: expected a finite flux within ±{max:e} Jy",
                self.flux_jy
            ));
        }
        if !(self.ref_freq_hz > 0.0 && self.ref_freq_hz <= limits::MAX_FREQ_HZ) {
            return bad(format!(
                "reference frequency {} Hz must be positive",
                self.ref_freq_hz
            ));
        }
        if !self.spectral_index.is_finite() {
            return bad("spectral index is not finite".into());
        }
        if let Shape::Gaussian {
            major_rad,
            minor_rad,
            pa_rad,
        } = self.shape
        {
            let finite = major_rad.is_finite() && minor_rad.is_finite() && pa_rad.is_finite();
            if !(finite && major_rad >= 0.0 && minor_rad >= 0.0) {
                return bad("Gaussian sizes must be finite and non-negative".into());
            }
        }
        Ok(())
    }
}

/// A list of components.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkyModel {
    /// The components.
    pub components: Vec<Component>,
}

impl SkyModel {
    /// A checked model.
    pub fn new(components: Vec<Component>) -> Result<Self, SkyError> {
        for (i, c) in components.iter().enumerate() {
            c.validate(i)?;
        }
        Ok(Self { components })
    }

    /// Number of components.
    pub fn len(&self) -> usize {
        self.components.len()
    }

    /// Whether there are no components.
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }

    /// Parse the text format (module docs); `origin` names the text in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SkyError> {
        let mut comps = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: String| SkyError::Parse {
                origin: origin.to_string(),
                line: i + 1,
                reason,
            };
            let f: Vec<&str> = line.split_whitespace().collect();
            let kind = f[0].to_ascii_lowercase();
            let expected = match kind.as_str() {
                "point" => 6,
                "gaussian" => 9,
                other => {
                    return Err(err(format!(
                        "unknown component kind {other:?} (point or gaussian)"
                    )))
                }
            };
            if f.len() != expected {
                return Err(err(format!(
                    "a {kind} line has {expected} fields, found {}",
                    f.len()
                )));
            }
            let v: Vec<f64> = f[1..]
                .iter()
                .map(|s| s.parse::<f64>().map_err(|e| err(format!("{s:?}: {e}"))))
                .collect::<Result<_, _>>()?;
            let shape = if kind == "point" {
                Shape::Point
            } else {
                let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
                Shape::Gaussian {
                    major_rad: v[5] * arcsec,
                    minor_rad: v[6] * arcsec,
                    pa_rad: v[7].to_radians(),
                }
            };
            let c = Component {
                radec: RaDec::from_degrees(v[0], v[1]),
                flux_jy: v[2],
                ref_freq_hz: v[3],
                spectral_index: v[4],
                shape,
            };
            c.validate(comps.len()).map_err(|e| err(e.to_string()))?;
            comps.push(c);
        }
        Ok(Self { components: comps })
    }

    /// Read a model file.
    pub fn read(path: &Path) -> Result<Self, SkyError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SkyError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// The text format; round-trips through [`SkyModel::parse`] to full f64 precision.
    pub fn to_text(&self) -> String {
        let mut s = String::from(
            "# kind ra_deg dec_deg flux_jy ref_freq_hz spectral_index [major_arcsec minor_arcsec pa_deg]\n",
        );
        for c in &self.components {
            let head = format!(
                "{:?} {:?} {:?} {:?} {:?}",
                c.radec.ra_rad.to_degrees(),
                c.radec.dec_rad.to_degrees(),
                c.flux_jy,
                c.ref_freq_hz,
                c.spectral_index
            );
            match c.shape {
                Shape::Point => s.push_str(&format!("point {head}\n")),
                Shape::Gaussian {
                    major_rad,
                    minor_rad,
                    pa_rad,
                } => {
                    let arcsec = 180.0 * 3600.0 / std::f64::consts::PI;
                    s.push_str(&format!(
                        "gaussian {head} {:?} {:?} {:?}\n",
                        major_rad * arcsec,
                        minor_rad * arcsec,
                        pa_rad.to_degrees()
                    ));
                }
            }
        }
        s
    }
}

/// Parameters of a random point-source field.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomFieldConfig {
    /// Number of sources.
    pub n_sources: usize,
    /// Field centre (ICRS).
    pub centre: RaDec,
    /// Sources are uniform in solid angle within this radius of the centre (rad).
    pub radius_rad: f64,
    /// Faintest flux (Jy).
    pub flux_min_jy: f64,
    /// Brightest flux (Jy).
    pub flux_max_jy: f64,
    /// Differential source-count slope: `dN/dS ∝ S^−slope` (slope > 1).
    pub count_slope: f64,
    /// Reference frequency of the fluxes (Hz).
    pub ref_freq_hz: f64,
    /// Mean and standard deviation of the spectral indices.
    pub spectral_index: (f64, f64),
    /// Random seed.
    pub seed: u64,
}

impl Default for RandomFieldConfig {
    fn default() -> Self {
        Self {
            n_sources: 20,
            centre: RaDec::from_degrees(0.0, -30.0),
            radius_rad: 2f64.to_radians(),
            flux_min_jy: 0.1,
            flux_max_jy: 10.0,
            count_slope: 1.8,
            ref_freq_hz: 150e6,
            spectral_index: (-0.7, 0.2),
            seed: 1,
        }
    }
}

/// A seeded random field of point sources (power-law flux distribution).
pub fn random_field(cfg: &RandomFieldConfig) -> Result<SkyModel, SkyError> {
    let bad = |field, value: String, expected| {
        Err(SkyError::InvalidConfig {
            field,
            value,
            expected,
        })
    };
    if !(cfg.radius_rad > 0.0 && cfg.radius_rad < std::f64::consts::FRAC_PI_2) {
        return bad("radius_rad", cfg.radius_rad.to_string(), "0 < radius < π/2");
    }
    if !(cfg.flux_min_jy > 0.0 && cfg.flux_max_jy >= cfg.flux_min_jy && cfg.flux_max_jy.is_finite())
    {
        return bad(
            "flux range",
            format!("{}..{}", cfg.flux_min_jy, cfg.flux_max_jy),
            "0 < min <= max",
        );
    }
    if !(cfg.count_slope > 1.0 && cfg.count_slope.is_finite()) {
        return bad("count_slope", cfg.count_slope.to_string(), "a slope > 1");
    }
    let normal = Normal::new(cfg.spectral_index.0, cfg.spectral_index.1.max(0.0)).map_err(|e| {
        SkyError::InvalidConfig {
            field: "spectral_index",
            value: e.to_string(),
            expected: "finite",
        }
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let g = 1.0 - cfg.count_slope;
    let (a, b) = (cfg.flux_min_jy.powf(g), cfg.flux_max_jy.powf(g));
    let cos_r = cfg.radius_rad.cos();
    let comps = (0..cfg.n_sources)
        .map(|_| {
            // Uniform on the spherical cap: cos θ uniform in [cos r, 1].
            let cos_t = 1.0 - rng.random::<f64>() * (1.0 - cos_r);
            let sin_t = (1.0 - cos_t * cos_t).sqrt();
            let phi = rng.random::<f64>() * std::f64::consts::TAU;
            let lmn = Lmn {
                l: sin_t * phi.sin(),
                m: sin_t * phi.cos(),
                n: cos_t,
            };
            let flux = (a + rng.random::<f64>() * (b - a)).powf(1.0 / g);
            Component {
                radec: lmn.to_radec(cfg.centre),
                flux_jy: flux,
                ref_freq_hz: cfg.ref_freq_hz,
                spectral_index: normal.sample(&mut rng),
                shape: Shape::Point,
            }
        })
        .collect();
    SkyModel::new(comps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_round_trips_exactly() {
        let mut sky = random_field(&RandomFieldConfig {
            n_sources: 7,
            ..Default::default()
        })
        .unwrap();
        sky.components.push(Component {
            radec: RaDec::from_degrees(10.0, -45.0),
            flux_jy: 2.5,
            ref_freq_hz: 1e8,
            spectral_index: -0.8,
            shape: Shape::Gaussian {
                major_rad: 1e-3,
                minor_rad: 5e-4,
                pa_rad: 0.3,
            },
        });
        let back = SkyModel::parse(&sky.to_text(), "mem").unwrap();
        assert_eq!(back.len(), sky.len());
        for (a, b) in back.components.iter().zip(&sky.components) {
            assert!((a.radec.ra_rad - b.radec.ra_rad).abs() < 1e-15);
            assert!((a.radec.dec_rad - b.radec.dec_rad).abs() < 1e-15);
            assert_eq!(a.flux_jy, b.flux_jy);
            assert_eq!(a.spectral_index, b.spectral_index);
        }
    }

    #[test]
    fn bad_lines_name_the_line_and_the_problem() {
        let e = SkyModel::parse("point 1 2 3 4\n", "s.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.txt, line 1") && e.contains("6 fields"), "{e}");
        let e = SkyModel::parse("# c\nblob 1 2 3 4 5\n", "s.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("blob"), "{e}");
        let e = SkyModel::parse("point 1 95 3 1e8 0\n", "s.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sky direction"), "{e}");
        let e = SkyModel::parse("point 1 2 x 1e8 0\n", "s.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"x\""), "{e}");
    }

    #[test]
    fn random_field_stays_in_its_radius_and_flux_range() {
        let cfg = RandomFieldConfig {
            n_sources: 500,
            seed: 9,
            ..Default::default()
        };
        let sky = random_field(&cfg).unwrap();
        for c in &sky.components {
            assert!(c.radec.separation_rad(cfg.centre) <= cfg.radius_rad * (1.0 + 1e-12));
            assert!(
                c.flux_jy >= cfg.flux_min_jy * (1.0 - 1e-12)
                    && c.flux_jy <= cfg.flux_max_jy * (1.0 + 1e-12)
            );
        }
        assert_eq!(sky, random_field(&cfg).unwrap());
    }
}
