//! Fast direct-DFT visibility prediction.
//!
//! For every integration the measurement equation (docs/CONVENTIONS.md)
//! `V_pq(f) = Σ_c S_c(f) · G_c(u, v, f) · exp(+2πi f/c (u l_c + v m_c + w (n_c − 1)))` is
//! evaluated for all baselines, channels and components, with `(u, v, w) = uvw_q − uvw_p`
//! and `(l, m, n)` the component's direction cosines in the uvw frame at that instant
//! (apparent place, observed frame). `G_c` is the Fourier transform of a Gaussian's shape
//! (1 for a point source).
//!
//! The phase factorises over antennas, `exp(iφ_pq) = conj(A_p) · A_q` with
//! `A_a = exp(+2πi f/c · uvw_a · (l, m, n − 1))`, so the per-antenna phasors are computed once
//! per integration (n_ant × n_comp × n_chan complex exponentials in f64) and the baseline
//! sum is a complex multiply-accumulate per term, in f32 or f64 ([`Precision`]).
//! Memory beyond the output: the phasor tables of one block of components (≤ 32 MiB) and
//! one `n_baselines × n_chan` accumulator.

use crate::Precision;
use ndarray::{Array4, Axis};
use num_complex::{Complex, Complex32};
use num_traits::Float;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use super::{Component, Shape, SkyError, SkyModel};
use crate::telescope::{
    all_baselines, antenna_uvw, time_geometry_range, ArrayLayout, Observation, TimeGeometry,
    SPEED_OF_LIGHT_M_S,
};
use crate::vis::{VisMeta, VisUnits, Visibilities};

/// How to predict.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictConfig {
    /// Standard deviation of the Gaussian noise added to the real and to the imaginary part
    /// of every visibility (Jy); 0 for none. On autocorrelations XX and YY get real noise
    /// only and YX is the conjugate of XY, so they stay physical.
    pub noise_jy: f64,
    /// Seed of the noise (results do not depend on the number of threads).
    pub seed: u64,
    /// Arithmetic of the baseline sum.
    pub precision: Precision,
    /// Include autocorrelations (p = q).
    pub include_autos: bool,
    /// Free text added to the provenance (`history`), e.g. the command line.
    pub history_note: String,
}

impl Default for PredictConfig {
    fn default() -> Self {
        Self {
            noise_jy: 0.0,
            seed: 0,
            precision: Precision::F32,
            include_autos: true,
            history_note: String::new(),
        }
    }
}

/// Largest size of one block of phasor tables (bytes).
const TABLE_BYTES: usize = 32 << 20;

/// Direction cosines `[l, m, n − 1]` of every component in the uvw frame of `g`.
pub fn component_lmn1(g: &TimeGeometry, sky: &SkyModel, layout: &ArrayLayout) -> Vec<[f64; 3]> {
    sky.components
        .iter()
        .map(|c| {
            let s = g.observer.observed(c.radec).to_ecef_unit(layout.site);
            let [l, m, n] = g.frame.direction_cosines(s);
            // n − 1 without cancellation: −(l² + m²)/(1 + n).
            [l, m, -(l * l + m * m) / (1.0 + n)]
        })
        .collect()
}

/// Coefficients of a Gaussian's visibility taper: `[k a², k b², sin pa, cos pa]` with
/// FWHMs `a`, `b` and `k = π² / (4 ln 2) / c²`, so that the taper at baseline `(u, v)` (m)
/// and frequency `f` is `exp(−gauss_exponent · f²)`. `None` for a point source.
pub(crate) fn gauss_coeffs(c: &Component) -> Option<[f64; 4]> {
    match c.shape {
        Shape::Point => None,
        Shape::Gaussian {
            major_rad,
            minor_rad,
            pa_rad,
        } => {
            let k = std::f64::consts::PI.powi(2)
                / (4.0 * std::f64::consts::LN_2)
                / (SPEED_OF_LIGHT_M_S * SPEED_OF_LIGHT_M_S);
            let (sp, cp) = pa_rad.sin_cos();
            Some([k * major_rad * major_rad, k * minor_rad * minor_rad, sp, cp])
        }
    }
}

/// The exponent per Hz² of a Gaussian's visibility taper at baseline `(u, v)` (m):
/// `G = exp(−x f²)` with the major axis along position angle `pa` (north through east).
pub(crate) fn gauss_exponent(g: &[f64; 4], u_m: f64, v_m: f64) -> f64 {
    let u_maj = u_m * g[2] + v_m * g[3];
    let u_min = u_m * g[3] - v_m * g[2];
    g[0] * u_maj * u_maj + g[1] * u_min * u_min
}

/// Predict visibilities of `sky` for `layout` observing `obs` (module docs).
pub fn predict(
    layout: &ArrayLayout,
    obs: &Observation,
    sky: &SkyModel,
    cfg: &PredictConfig,
) -> Result<Visibilities, SkyError> {
    predict_times(layout, obs, sky, cfg, 0..obs.n_times)
}

/// [`predict`] of the integrations `times` of `obs` only: the same values bit for bit
/// (noise included), so an observation can be predicted and written a few integrations at
/// a time in bounded memory.
pub fn predict_times(
    layout: &ArrayLayout,
    obs: &Observation,
    sky: &SkyModel,
    cfg: &PredictConfig,
    times: std::ops::Range<usize>,
) -> Result<Visibilities, SkyError> {
    if !crate::telescope::limits::within(cfg.noise_jy, 0.0, crate::telescope::limits::MAX_FLUX_JY) {
        return Err(SkyError::InvalidConfig {
            field: "noise_jy",
            value: cfg.noise_jy.to_string(),
            expected: "a finite σ from 0 to 1e10 Jy",
        });
    }
    let sky = SkyModel::new(sky.components.clone())?;
    let t_first = times.start;
    let geom = time_geometry_range(layout, obs, times.clone())?;
    let baselines: Vec<(usize, usize)> = all_baselines(layout.n_ant())
        .into_iter()
        .filter(|&(p, q)| cfg.include_autos || p != q)
        .collect();
    if baselines.is_empty() {
        return Err(SkyError::InvalidConfig {
            field: "include_autos",
            value: "false".into(),
            expected: "at least two antennas when autocorrelations are excluded",
        });
    }
    let freqs = obs.freqs_hz();
    let (meta, uvw) = VisMeta::for_observation_times(
        layout,
        obs,
        times,
        baselines.clone(),
        VisUnits::Jy,
        provenance(obs, &sky, cfg, &geom),
    )?;
    let (nt, nb, nf) = (geom.len(), baselines.len(), freqs.len());
    let mut data = Array4::<Complex32>::zeros((nt, nb, nf, 4));
    for (t, g) in geom.iter().enumerate() {
        let ant = antenna_uvw(layout, &g.frame);
        let lmn1 = component_lmn1(g, &sky, layout);
        let ant_uvw: Vec<[f64; 3]> = ant.iter().map(|a| a.to_array()).collect();
        let mut slice = data.index_axis_mut(Axis(0), t);
        let uvw_t = uvw.index_axis(Axis(0), t);
        let job = TimeJob {
            ant_uvw: &ant_uvw,
            lmn1: &lmn1,
            sky: &sky,
            freqs: &freqs,
            baselines: &baselines,
        };
        match cfg.precision {
            Precision::F32 => job.run::<f32>(&mut slice, uvw_t),
            Precision::F64 => job.run::<f64>(&mut slice, uvw_t),
        }
    }
    if cfg.noise_jy > 0.0 {
        add_noise(&mut data, t_first, &baselines, cfg.noise_jy, cfg.seed);
    }
    let shape = data.raw_dim();
    Ok(Visibilities::new(
        meta,
        data,
        Array4::from_elem(shape, 1.0f32),
        Array4::from_elem(shape, false),
        uvw,
    )?)
}

fn provenance(
    obs: &Observation,
    sky: &SkyModel,
    cfg: &PredictConfig,
    geom: &[TimeGeometry],
) -> String {
    let eop = geom.first().map(|g| g.observer.earth.eop);
    format!(
        "Simulated by fxgrid {} (direct-DFT prediction). Observation: {:?}. Sky: {} components. \
         Prediction: noise_jy={}, seed={}, precision={:?}, include_autos={}. \
         Earth orientation at start: {:?}. {}",
        env!("CARGO_PKG_VERSION"),
        obs,
        sky.len(),
        cfg.noise_jy,
        cfg.seed,
        cfg.precision,
        cfg.include_autos,
        eop,
        cfg.history_note
    )
}

/// The sky-dependent inputs of one integration.
struct TimeJob<'a> {
    ant_uvw: &'a [[f64; 3]],
    lmn1: &'a [[f64; 3]],
    sky: &'a SkyModel,
    freqs: &'a [f64],
    baselines: &'a [(usize, usize)],
}

/// Conversions the kernel needs from its float type.
trait Real: Float + Send + Sync + Default + std::iter::Sum {
    fn of(x: f64) -> Self;
    fn to32(self) -> f32;
}
impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn to32(self) -> f32 {
        self
    }
}
impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn to32(self) -> f32 {
        self as f32
    }
}

impl TimeJob<'_> {
    /// Sum all components into `out` `[baseline, channel, pol]` (overwritten: XX = YY = the
    /// sum, XY = YX = 0).
    fn run<T: Real>(
        &self,
        out: &mut ndarray::ArrayViewMut3<'_, Complex32>,
        uvw: ndarray::ArrayView2<'_, f64>,
    ) {
        let (na, nc, nf, nb) = (
            self.ant_uvw.len(),
            self.lmn1.len(),
            self.freqs.len(),
            self.baselines.len(),
        );
        let mut acc = vec![Complex::<T>::default(); nb * nf];
        if nc > 0 {
            let per_comp = na * nf * 2 * std::mem::size_of::<Complex<T>>();
            let block = (TABLE_BYTES / per_comp.max(1)).clamp(1, nc);
            let mut a_tab = vec![Complex::<T>::default(); na * block * nf];
            let mut sa_tab = vec![Complex::<T>::default(); na * block * nf];
            for c0 in (0..nc).step_by(block) {
                let cb = block.min(nc - c0);
                self.fill_tables(c0, cb, &mut a_tab, &mut sa_tab);
                let gauss: Vec<Option<[f64; 4]>> = self.sky.components[c0..c0 + cb]
                    .iter()
                    .map(gauss_coeffs)
                    .collect();
                let stride = cb * nf;
                let (a_tab, sa_tab) = (&a_tab[..na * stride], &sa_tab[..na * stride]);
                acc.par_chunks_mut(nf).enumerate().for_each(|(b, acc_b)| {
                    let (p, q) = self.baselines[b];
                    let ap = &a_tab[p * stride..(p + 1) * stride];
                    let sq = &sa_tab[q * stride..(q + 1) * stride];
                    for (c, g) in gauss.iter().enumerate() {
                        let apc = &ap[c * nf..(c + 1) * nf];
                        let sqc = &sq[c * nf..(c + 1) * nf];
                        match g {
                            None => {
                                for ((a, x), y) in acc_b.iter_mut().zip(apc).zip(sqc) {
                                    // conj(x) · y
                                    a.re = a.re + x.re * y.re + x.im * y.im;
                                    a.im = a.im + x.re * y.im - x.im * y.re;
                                }
                            }
                            Some(g) => {
                                let e = gauss_exponent(g, uvw[[b, 0]], uvw[[b, 1]]);
                                for (((a, x), y), f) in
                                    acc_b.iter_mut().zip(apc).zip(sqc).zip(self.freqs)
                                {
                                    let taper = T::of((-e * f * f).exp());
                                    a.re = a.re + taper * (x.re * y.re + x.im * y.im);
                                    a.im = a.im + taper * (x.re * y.im - x.im * y.re);
                                }
                            }
                        }
                    }
                });
            }
        }
        let baselines = self.baselines;
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .zip(acc.par_chunks(nf))
            .enumerate()
            .for_each(|(b, (mut row, a))| {
                let auto = baselines[b].0 == baselines[b].1;
                for (k, v) in a.iter().enumerate() {
                    // An autocorrelation of an unpolarised sky is real: drop the rounding residue.
                    let im = if auto { 0.0 } else { v.im.to32() };
                    let v = Complex32::new(v.re.to32(), im);
                    row[[k, 0]] = v;
                    row[[k, 1]] = Complex32::default();
                    row[[k, 2]] = Complex32::default();
                    row[[k, 3]] = v;
                }
            });
    }

    /// Per-antenna phasors `A[a][c][k]` and flux-scaled `S_c(f_k) · A[a][c][k]` for
    /// components `c0..c0+cb`.
    fn fill_tables<T: Real>(
        &self,
        c0: usize,
        cb: usize,
        a_tab: &mut [Complex<T>],
        sa_tab: &mut [Complex<T>],
    ) {
        let nf = self.freqs.len();
        let stride = cb * nf;
        let comps = &self.sky.components[c0..c0 + cb];
        let lmn1 = &self.lmn1[c0..c0 + cb];
        let flux: Vec<f64> = comps
            .iter()
            .flat_map(|c| self.freqs.iter().map(move |&f| c.flux_at(f)))
            .collect();
        a_tab[..self.ant_uvw.len() * stride]
            .par_chunks_mut(stride)
            .zip(sa_tab[..self.ant_uvw.len() * stride].par_chunks_mut(stride))
            .zip(self.ant_uvw.par_iter())
            .for_each(|((a_row, sa_row), r)| {
                for (c, d) in lmn1.iter().enumerate() {
                    let delay_m = r[0] * d[0] + r[1] * d[1] + r[2] * d[2];
                    let turns_per_hz = delay_m / SPEED_OF_LIGHT_M_S;
                    for (k, &f) in self.freqs.iter().enumerate() {
                        // Reduce the phase in turns before the exponential, in f64.
                        let turns = turns_per_hz * f;
                        let (s, co) = (std::f64::consts::TAU * (turns - turns.round())).sin_cos();
                        let i = c * nf + k;
                        a_row[i] = Complex::new(T::of(co), T::of(s));
                        let sf = flux[i];
                        sa_row[i] = Complex::new(T::of(co * sf), T::of(s * sf));
                    }
                }
            });
    }
}

/// Deterministic per-(time, baseline) noise (module docs of [`PredictConfig::noise_jy`]);
/// `data`'s first time is integration `t_first` of the observation.
fn add_noise(
    data: &mut Array4<Complex32>,
    t_first: usize,
    baselines: &[(usize, usize)],
    sigma: f64,
    seed: u64,
) {
    let nb = baselines.len();
    let normal = Normal::new(0.0, sigma).expect("σ checked finite and >= 0");
    data.outer_iter_mut()
        .enumerate()
        .for_each(|(t, mut slice)| {
            slice
                .axis_iter_mut(Axis(0))
                .into_par_iter()
                .enumerate()
                .for_each(|(b, mut row)| {
                    let key = seed
                        ^ (((t_first + t) * nb + b) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let mut rng = ChaCha8Rng::seed_from_u64(key);
                    let (p, q) = baselines[b];
                    let mut n = || normal.sample(&mut rng) as f32;
                    for mut v in row.outer_iter_mut() {
                        if p == q {
                            v[0].re += n();
                            v[3].re += n();
                            let xy = Complex32::new(n(), n());
                            v[1] += xy;
                            v[2] = v[1].conj();
                        } else {
                            for x in v.iter_mut() {
                                *x += Complex32::new(n(), n());
                            }
                        }
                    }
                });
        });
}
