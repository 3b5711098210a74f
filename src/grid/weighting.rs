//! Imaging weights: natural, uniform and Briggs robust.
//!
//! Uniform and Briggs weights divide by the density of data weight on a uv grid, built as
//! WSClean 3.1 builds it, so that the same data and image give the same weights (checked
//! against its `IMAGING_WEIGHT_SPECTRUM` to 1e-7):
//!
//! - the grid has the cells of the image padded by [`WEIGHT_GRID_PADDING`] (WSClean's
//!   default `-padding`): `n_w` = `npix · 1.2` rounded up to a multiple of 4 along each
//!   axis, `Δu = 1 / (n_w · cell)`;
//! - a sample at `(u, v)` (wavelengths) is first folded onto `v ≥ 0` (`(−u, −v)` when
//!   `v < 0`: a visibility and its Hermitian twin are one measurement), then falls in
//!   cell `(⌊u / Δu⌋, ⌊v / Δv⌋)`;
//! - samples beyond the grid (`|u| ≥ n_w Δu / 2`, finer than the image samples) get
//!   weight 0;
//! - each cell gets a factor, Briggs `1 / (1 + d f²)` with
//!   `f² = (5 · 10^−R)² / (Σ d² / Σ w)` (the sums over the cells and the samples), uniform
//!   `1 / d`;
//! - the rank filter ([`RankFilter`], WSClean's `-weighting-rank-filter 3` and
//!   `-weighting-rank-filter-size 16`, on by default there and here) caps each factor at
//!   `level` times the mean of the non-zero factors in the `size × size` box of cells from
//!   `⌊size / 2⌋` before it to `size − ⌊size / 2⌋ − 1` after, along both axes, within the
//!   grid; an empty cell's Briggs factor is 1 and counts, its uniform factor is 0 and does
//!   not;
//! - a sample's imaging weight is its data weight times its cell's factor.

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

/// The rank filter of uniform and Briggs weighting (module docs): no cell's factor exceeds
/// `level` times the mean of the non-zero factors in a `size × size` box around it, which
/// keeps isolated samples from dominating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankFilter {
    /// The cap, in local means (> 0).
    pub level: f64,
    /// The box, in weighting-grid cells (≥ 1).
    pub size: usize,
}

impl Default for RankFilter {
    /// WSClean 3.1's: level 3, 16 cells.
    fn default() -> Self {
        RankFilter {
            level: 3.0,
            size: 16,
        }
    }
}

impl RankFilter {
    /// Checks the level and size.
    pub fn validate(&self) -> Result<(), GridError> {
        if !(self.level > 0.0 && self.level.is_finite()) || self.size == 0 {
            return Err(GridError::InvalidConfig {
                field: "weighting rank filter",
                value: format!("level {}, size {}", self.level, self.size),
                expected: "a finite level > 0 and a size of at least one cell".into(),
            });
        }
        Ok(())
    }
}

/// Imaging weights `[row, chan]` from data weights (`None`: all 1) for the image of `cfg`;
/// flagged samples get 0. `filter` applies to uniform and Briggs weighting.
pub fn imaging_weights(
    scheme: Weighting,
    filter: Option<RankFilter>,
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
    density
        .into_weights(scheme, filter)?
        .reweight(uvw_m, freq_hz, out.view_mut());
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

/// Padding of the image that sets the uniform and Briggs weighting grid (module docs).
pub const WEIGHT_GRID_PADDING: f64 = 1.2;

/// Cells of the weighting grid along an axis of `npix` pixels: `npix ·` [`WEIGHT_GRID_PADDING`]
/// rounded up to a multiple of 4.
pub fn weight_grid_cells(npix: usize) -> usize {
    ((npix as f64 * WEIGHT_GRID_PADDING / 4.0).ceil() as usize * 4).max(4)
}

/// The density of data weight on the uv grid of uniform and Briggs weighting (module
/// docs): what they divide by. Accumulated over any number of blocks of samples, so that
/// weights of data streamed from a file are those of the whole data set. Only the `v ≥ 0`
/// half is held.
#[derive(Debug, Clone)]
pub struct UvDensity {
    cells: UvCells,
    density: Vec<f64>,
    sum_w: f64,
}

impl UvDensity {
    /// An empty density for the image of `cfg`.
    pub fn new(cfg: &GridConfig) -> Self {
        let (nu, nv) = (weight_grid_cells(cfg.npix_x), weight_grid_cells(cfg.npix_y));
        Self {
            cells: UvCells {
                nu,
                nv,
                du: 1.0 / (nu as f64 * cfg.cell_x_rad),
                dv: 1.0 / (nv as f64 * cfg.cell_y_rad),
            },
            density: vec![0.0; nu * (nv / 2)],
            sum_w: 0.0,
        }
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
                if let Some(k) = self.cells.cell(uvw_m[[r, 0]], uvw_m[[r, 1]], freq_hz[c]) {
                    self.density[k] += w as f64;
                    self.sum_w += w as f64;
                }
            }
        }
    }

    /// The factors of `scheme` per cell (module docs), after `filter`; an error for
    /// natural weighting, which needs none, or a bad filter.
    pub fn into_weights(
        self,
        scheme: Weighting,
        filter: Option<RankFilter>,
    ) -> Result<UvWeights, GridError> {
        scheme.validate()?;
        let mut factor = self.density;
        let f2 = match scheme {
            Weighting::Natural => {
                return Err(GridError::InvalidConfig {
                    field: "weighting",
                    value: "natural".into(),
                    expected: "uniform or Briggs for a weighting grid".into(),
                })
            }
            Weighting::Briggs(robust) => {
                let sum_d2: f64 = factor.iter().map(|d| d * d).sum();
                (5.0 * 10f64.powf(-robust)).powi(2) / (sum_d2 / self.sum_w)
            }
            Weighting::Uniform => 0.0,
        };
        // Every cell has a Briggs factor (1 where empty), only occupied ones a uniform one
        // (0 marks the others): the rank filter averages the non-zero factors.
        for d in factor.iter_mut() {
            *d = match scheme {
                Weighting::Uniform if *d > 0.0 => 1.0 / *d,
                Weighting::Uniform => 0.0,
                _ => 1.0 / (1.0 + *d * f2),
            };
        }
        if let Some(f) = filter {
            f.validate()?;
            rank_filter(&mut factor, self.cells.nu, f);
        }
        Ok(UvWeights {
            cells: self.cells,
            factor,
        })
    }
}

/// Caps each non-zero factor of `grid` (rows of `nu` cells) at `filter.level` times the
/// mean of the non-zero factors in its box: box sums along rows first, then a running sum
/// of them down the rows.
fn rank_filter(grid: &mut [f64], nu: usize, filter: RankFilter) {
    let nrows = grid.len() / nu;
    // ⌊size / 2⌋ cells before a cell, `after` after it.
    let after = filter.size - filter.size / 2 - 1;
    // Box sums of each row (values and occupied counts).
    let mut hs = vec![0.0f64; grid.len()];
    let mut hn = vec![0u32; grid.len()];
    for (r, row) in grid.chunks_exact(nu).enumerate() {
        let (hs, hn) = (&mut hs[r * nu..(r + 1) * nu], &mut hn[r * nu..(r + 1) * nu]);
        let (mut s, mut n) = (0.0, 0u32);
        // The window of column j is [j + after + 1 − size, j + after].
        for j in 0..nu + after {
            if j < nu && row[j] > 0.0 {
                s += row[j];
                n += 1;
            }
            if j >= filter.size {
                let out = row[j - filter.size];
                if out > 0.0 {
                    s -= out;
                    n -= 1;
                }
            }
            if j >= after {
                hs[j - after] = s;
                hn[j - after] = n;
            }
        }
    }
    // Down the rows: the window of row i is [i + after + 1 − size, i + after].
    let mut vs = vec![0.0f64; nu];
    let mut vn = vec![0u32; nu];
    for i in 0..nrows + after {
        if i < nrows {
            for j in 0..nu {
                vs[j] += hs[i * nu + j];
                vn[j] += hn[i * nu + j];
            }
        }
        if i >= filter.size {
            let o = (i - filter.size) * nu;
            for j in 0..nu {
                vs[j] -= hs[o + j];
                vn[j] -= hn[o + j];
            }
        }
        if i >= after {
            let row = &mut grid[(i - after) * nu..(i - after + 1) * nu];
            for j in 0..nu {
                if row[j] > 0.0 {
                    row[j] = row[j].min(filter.level * vs[j] / vn[j] as f64);
                }
            }
        }
    }
}

/// The cells of a weighting grid (module docs).
#[derive(Debug, Clone)]
struct UvCells {
    nu: usize,
    nv: usize,
    du: f64,
    dv: f64,
}

impl UvCells {
    /// The cell of a sample at `(u_m, v_m)` metres and `freq_hz`, folded onto `v ≥ 0`;
    /// `None` beyond the grid.
    fn cell(&self, u_m: f64, v_m: f64, freq_hz: f64) -> Option<usize> {
        let s = freq_hz / SPEED_OF_LIGHT_M_S * if v_m < 0.0 { -1.0 } else { 1.0 };
        let iu = (u_m * s / self.du).floor() + (self.nu / 2) as f64;
        let iv = (v_m * s / self.dv).floor();
        let inside =
            (0.0..self.nu as f64).contains(&iu) && (0.0..(self.nv / 2) as f64).contains(&iv);
        inside.then(|| iv as usize * self.nu + iu as usize)
    }
}

/// Uniform or Briggs factors per cell of a weighting grid, from a [`UvDensity`]: what
/// turns data weights into imaging weights.
#[derive(Debug, Clone)]
pub struct UvWeights {
    cells: UvCells,
    factor: Vec<f64>,
}

impl UvWeights {
    /// Turns data weights (0 for flagged samples) at `uvw_m[row]`, `freq_hz[chan]` into
    /// imaging weights, in place: a sample beyond the grid, or in a cell the density
    /// never saw, gets 0.
    pub fn reweight(
        &self,
        uvw_m: ArrayView2<'_, f64>,
        freq_hz: &[f64],
        mut weight: ArrayViewMut2<'_, f32>,
    ) {
        for ((r, c), w) in weight.indexed_iter_mut() {
            if *w > 0.0 {
                let k = self.cells.cell(uvw_m[[r, 0]], uvw_m[[r, 1]], freq_hz[c]);
                *w = k.map_or(0.0, |k| (*w as f64 * self.factor[k]) as f32);
            }
        }
    }
}
