//! Imaging weights: natural, uniform and Briggs robust, computed on a uv grid whose cell
//! matches the image (`Δu = 1 / (npix_x · cell_x)`), counting each sample at `(u, v)` and
//! at its Hermitian twin `(−u, −v)`.

use std::str::FromStr;

use ndarray::{Array2, ArrayView2};

use super::{GridConfig, GridError};
use crate::telescope::SPEED_OF_LIGHT_M_S;

/// How visibilities are weighted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weighting {
    /// The data weights as they are.
    Natural,
    /// Data weight divided by the summed weight of its uv cell.
    Uniform,
    /// Briggs robust weighting with robustness R ∈ [−2, 2] (−2 ≈ uniform, 2 ≈ natural).
    Briggs(f64),
}

impl Weighting {
    /// Checks the robustness range.
    pub fn validate(&self) -> Result<(), GridError> {
        if let Weighting::Briggs(r) = *self {
            if !(-2.0..=2.0).contains(&r) {
                return Err(GridError::InvalidConfig {
                    field: "briggs robustness",
                    value: r.to_string(),
                    expected: "a value in [-2, 2]".into(),
                });
            }
        }
        Ok(())
    }

    /// Name as written in reports and FITS history.
    pub fn describe(&self) -> String {
        match self {
            Weighting::Natural => "natural".into(),
            Weighting::Uniform => "uniform".into(),
            Weighting::Briggs(r) => format!("briggs:{r}"),
        }
    }
}

impl FromStr for Weighting {
    type Err = GridError;
    /// `natural`, `uniform` or `briggs:R`.
    fn from_str(s: &str) -> Result<Self, GridError> {
        let w = match s.trim().to_ascii_lowercase().as_str() {
            "natural" => Weighting::Natural,
            "uniform" => Weighting::Uniform,
            other => match other.strip_prefix("briggs:") {
                Some(r) => {
                    Weighting::Briggs(r.trim().parse().map_err(|_| GridError::InvalidConfig {
                        field: "weighting",
                        value: s.into(),
                        expected: "briggs:R with a number R".into(),
                    })?)
                }
                None => {
                    return Err(GridError::InvalidConfig {
                        field: "weighting",
                        value: s.into(),
                        expected: "natural, uniform or briggs:R".into(),
                    })
                }
            },
        };
        w.validate()?;
        Ok(w)
    }
}

/// Imaging weights `[row, chan]` from data weights (`None`: all 1) for the image of `cfg`;
/// flagged samples get 0.
pub fn imaging_weights(
    scheme: Weighting,
    cfg: &GridConfig,
    uvw_m: ArrayView2<'_, f64>,
    freq_hz: &[f64],
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Result<Array2<f32>, GridError> {
    scheme.validate()?;
    let (nrow, nchan) = (uvw_m.nrows(), freq_hz.len());
    let mut out = Array2::from_shape_fn((nrow, nchan), |(r, c)| {
        if flags.is_some_and(|f| f[[r, c]]) {
            0.0
        } else {
            weight.map_or(1.0, |w| w[[r, c]])
        }
    });
    if scheme == Weighting::Natural {
        return Ok(out);
    }
    let (nx, ny) = (cfg.npix_x, cfg.npix_y);
    let du = 1.0 / (nx as f64 * cfg.cell_x_rad);
    let dv = 1.0 / (ny as f64 * cfg.cell_y_rad);
    let cell = |row: usize, chan: usize, sign: f64| {
        let s = sign * freq_hz[chan] / SPEED_OF_LIGHT_M_S;
        let iu = (uvw_m[[row, 0]] * s / du).round() as i64;
        let iv = (uvw_m[[row, 1]] * s / dv).round() as i64;
        iv.rem_euclid(ny as i64) as usize * nx + iu.rem_euclid(nx as i64) as usize
    };
    let mut density = vec![0.0f64; nx * ny];
    for ((r, c), &w) in out.indexed_iter() {
        if w > 0.0 {
            density[cell(r, c, 1.0)] += w as f64;
            density[cell(r, c, -1.0)] += w as f64;
        }
    }
    let f2 = match scheme {
        Weighting::Briggs(robust) => {
            let sum_w: f64 = 2.0 * out.iter().map(|&w| w as f64).sum::<f64>();
            let sum_d2: f64 = density.iter().map(|d| d * d).sum();
            (5.0 * 10f64.powf(-robust)).powi(2) / (sum_d2 / sum_w)
        }
        _ => 0.0,
    };
    for ((r, c), w) in out.indexed_iter_mut() {
        if *w > 0.0 {
            let d = density[cell(r, c, 1.0)];
            *w = match scheme {
                Weighting::Uniform => (*w as f64 / d) as f32,
                _ => (*w as f64 / (1.0 + d * f2)) as f32,
            };
        }
    }
    Ok(out)
}
