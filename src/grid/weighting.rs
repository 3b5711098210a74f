//! Imaging weights: natural, uniform and Briggs robust, computed on a uv grid whose cell
//! matches the image (`Δu = 1 / (npix_x · cell_x)`), counting each sample at `(u, v)` and
//! at its Hermitian twin `(−u, −v)`.

use std::str::FromStr;

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

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
    let mut out = data_weights(uvw_m.nrows(), freq_hz.len(), weight, flags);
    if scheme == Weighting::Natural {
        return Ok(out);
    }
    let mut density = UvDensity::new(cfg);
    density.add(uvw_m, freq_hz, out.view());
    density.reweight(scheme, uvw_m, freq_hz, out.view_mut());
    Ok(out)
}

/// Data weights with flagged samples set to 0 (`None`: all 1).
pub fn data_weights(
    nrow: usize,
    nchan: usize,
    weight: Option<ArrayView2<'_, f32>>,
    flags: Option<ArrayView2<'_, bool>>,
) -> Array2<f32> {
    Array2::from_shape_fn((nrow, nchan), |(r, c)| {
        if flags.is_some_and(|f| f[[r, c]]) {
            0.0
        } else {
            weight.map_or(1.0, |w| w[[r, c]])
        }
    })
}

/// The density of data weight on the uv grid of an image (cells of `1 / field`), each
/// sample counted at `(u, v)` and `(−u, −v)`: what uniform and Briggs weighting divide
/// by. Accumulated over any number of blocks of samples, so that weights of data streamed
/// from a file are those of the whole data set.
#[derive(Debug, Clone)]
pub struct UvDensity {
    nx: usize,
    ny: usize,
    du: f64,
    dv: f64,
    density: Vec<f64>,
    sum_w: f64,
}

impl UvDensity {
    /// An empty density for the image of `cfg`.
    pub fn new(cfg: &GridConfig) -> Self {
        let (nx, ny) = (cfg.npix_x, cfg.npix_y);
        Self {
            nx,
            ny,
            du: 1.0 / (nx as f64 * cfg.cell_x_rad),
            dv: 1.0 / (ny as f64 * cfg.cell_y_rad),
            density: vec![0.0; nx * ny],
            sum_w: 0.0,
        }
    }

    fn cell(&self, u_m: f64, v_m: f64, freq_hz: f64, sign: f64) -> usize {
        let s = sign * freq_hz / SPEED_OF_LIGHT_M_S;
        let iu = (u_m * s / self.du).round() as i64;
        let iv = (v_m * s / self.dv).round() as i64;
        iv.rem_euclid(self.ny as i64) as usize * self.nx + iu.rem_euclid(self.nx as i64) as usize
    }

    /// Adds the samples `weight[row, chan]` (0 for flagged ones) at `uvw_m[row]`,
    /// `freq_hz[chan]`.
    pub fn add(
        &mut self,
        uvw_m: ArrayView2<'_, f64>,
        freq_hz: &[f64],
        weight: ArrayView2<'_, f32>,
    ) {
        for ((r, c), &w) in weight.indexed_iter() {
            if w > 0.0 {
                let (u, v, f) = (uvw_m[[r, 0]], uvw_m[[r, 1]], freq_hz[c]);
                let a = self.cell(u, v, f, 1.0);
                let b = self.cell(u, v, f, -1.0);
                self.density[a] += w as f64;
                self.density[b] += w as f64;
                self.sum_w += 2.0 * w as f64;
            }
        }
    }

    /// Turns data weights (0 for flagged samples) into imaging weights of `scheme`, in
    /// place, with the density accumulated so far.
    pub fn reweight(
        &self,
        scheme: Weighting,
        uvw_m: ArrayView2<'_, f64>,
        freq_hz: &[f64],
        mut weight: ArrayViewMut2<'_, f32>,
    ) {
        let f2 = match scheme {
            Weighting::Natural => return,
            Weighting::Briggs(robust) => {
                let sum_d2: f64 = self.density.iter().map(|d| d * d).sum();
                (5.0 * 10f64.powf(-robust)).powi(2) / (sum_d2 / self.sum_w)
            }
            Weighting::Uniform => 0.0,
        };
        for ((r, c), w) in weight.indexed_iter_mut() {
            if *w > 0.0 {
                let d = self.density[self.cell(uvw_m[[r, 0]], uvw_m[[r, 1]], freq_hz[c], 1.0)];
                *w = match scheme {
                    Weighting::Uniform => (*w as f64 / d) as f32,
                    _ => (*w as f64 / (1.0 + d * f2)) as f32,
                };
            }
        }
    }
}
