//! Voltage simulator: antenna voltage streams of a sky of point sources, for the F-engine.
//!
//! # Model
//! Each component `c` is an independent, stationary, complex Gaussian noise process per
//! polarisation (X and Y independent and equal: an unpolarised sky) whose power spectral
//! density follows the component's spectrum: at baseband frequency `f` (sky frequency
//! `f₀ + f`) its power per sample is `S_c(f₀ + f)` Jy. Antenna `a` sees it delayed by the
//! geometric delay relative to the delay-tracked phase centre, `τ_ac = r_a·(ŝ_c − ŝ₀)/c`
//! (docs/CONVENTIONS.md, "Visibilities and uvw"), applied exactly as a phase at the sky frequency, carrier
//! included: `X_a(f) = Σ_c S_c(f) · exp(+2πi (f₀ + f) τ_ac)`. With the conjugation of
//! docs/CONVENTIONS.md the cross-power of antennas p and q in a channel at sky frequency ν is then
//! `S · exp(+2πi ν (τ_q − τ_p)) = S · exp(+2πi (u l + v m + w (n − 1)))`: the measurement
//! equation, which is what [`super::predict()`] computes.
//!
//! Each input also gets independent receiver noise of power `system_noise_jy` per sample
//! (white). Voltages are therefore in √Jy: `E|x|²` = Σ flux + system noise.
//!
//! # Implementation
//! Samples are made in blocks of `L` ([`VoltageSimulator::block_len`]). In block `b` each
//! component's spectrum is drawn in the frequency domain (L bins, seeded by
//! `(seed, b, component, pol)`), every antenna sums the components with its delay phases
//! `exp(2πi (f₀ + f_k) τ_ac)` and one inverse FFT gives its L samples; receiver noise is
//! seeded by `(seed, b, antenna, pol)`. Output does not depend on how the stream is read
//! or on the number of threads. Within a block the geometry is that of the block's
//! centre; `L` is chosen so that the fringe phase of the farthest antenna moves by at most
//! 0.1 rad per block and the block of all antennas takes at most 64 MiB. Memory is bounded
//! by one block whatever the length of the stream.
//!
//! Gaussian components are refused: an extended source is not one noise process.
//!
//! # Quantisation
//! [`quantise`] maps √Jy to integers as `round(x / scale)` per real part, clipped to
//! ±127 (8 bits) or ±32767 (16 bits); [`default_scale`] puts the expected r.m.s. of one real
//! part at [`RMS_LEVELS_8`] or [`RMS_LEVELS_16`] levels (8 bits: clipping at 5.3σ, so
//! ~1e-7 of samples clip; quantisation noise is 1/12 level², 1.4e-4 of the signal power).
//! Files store the scale as `voltage_scale` so readers recover √Jy.

use std::sync::Arc;

use num_complex::{Complex, Complex32, Complex64};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

use super::{Shape, SkyError, SkyModel};
use crate::telescope::{
    limits, ArrayLayout, EarthOrientation, Ecef, ObserverFrame, RaDec, UvwFrame, SPEED_OF_LIGHT_M_S,
};

/// Earth's rotation rate (rad/s), for the choice of block length.
const EARTH_RATE_RAD_S: f64 = 7.292_115e-5;
/// Largest fringe-phase change of any antenna within one block (rad).
const MAX_BLOCK_PHASE_RAD: f64 = 0.1;
/// Largest block of all antennas' f32 samples (bytes).
const MAX_BLOCK_BYTES: usize = 64 << 20;
/// Component spectra drawn at a time (bytes): bounds the memory of large sky models.
const COMPONENT_BATCH_BYTES: usize = 32 << 20;

/// Expected r.m.s. of one real part, in levels, for 8-bit samples.
pub const RMS_LEVELS_8: f64 = 24.0;
/// Expected r.m.s. of one real part, in levels, for 16-bit samples.
pub const RMS_LEVELS_16: f64 = 2048.0;

/// What to simulate besides the layout and the sky.
#[derive(Debug, Clone, PartialEq)]
pub struct VoltageConfig {
    /// Direction the data are delay-tracked to (ICRS).
    pub phase_centre: RaDec,
    /// Julian Date (UTC) of sample 0.
    pub start_jd_utc: f64,
    /// Sky frequency of baseband 0 Hz (Hz).
    pub centre_freq_hz: f64,
    /// Complex sample rate (Hz); the band is `centre ± rate/2`.
    pub sample_rate_hz: f64,
    /// Receiver noise power per sample per input (Jy); 0 for none.
    pub system_noise_jy: f64,
    /// Seed of every random number.
    pub seed: u64,
    /// Samples per generation block; `None` chooses (module docs).
    pub block_len: Option<usize>,
}

/// A simulator plan: validated inputs (component spectra are made block by block).
pub struct VoltageSimulator {
    cfg: VoltageConfig,
    layout: ArrayLayout,
    sky: SkyModel,
    ecef: Vec<Ecef>,
    block_len: usize,
    ifft: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for VoltageSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoltageSimulator")
            .field("cfg", &self.cfg)
            .field("n_ant", &self.layout.n_ant())
            .field("n_components", &self.sky.len())
            .field("block_len", &self.block_len)
            .finish()
    }
}

fn invalid(field: &'static str, value: impl ToString, expected: &'static str) -> SkyError {
    SkyError::InvalidConfig {
        field,
        value: value.to_string(),
        expected,
    }
}

/// Mix seeds into one (SplitMix64 finaliser over the words).
fn mix(words: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &w in words {
        h ^= w.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// A standard complex normal (E|z|² = 1).
fn cnormal(rng: &mut ChaCha8Rng) -> Complex64 {
    let re: f64 = StandardNormal.sample(rng);
    let im: f64 = StandardNormal.sample(rng);
    Complex64::new(re, im) * std::f64::consts::FRAC_1_SQRT_2
}

impl VoltageSimulator {
    /// Validate and plan.
    pub fn new(
        layout: &ArrayLayout,
        sky: &SkyModel,
        cfg: &VoltageConfig,
    ) -> Result<Self, SkyError> {
        let sky = SkyModel::new(sky.components.clone())?;
        if !cfg.phase_centre.is_valid() {
            return Err(invalid(
                "phase_centre",
                format!("{:?}", cfg.phase_centre),
                "a valid sky direction",
            ));
        }
        let fs = cfg.sample_rate_hz;
        let fmax = limits::MAX_FREQ_HZ;
        if !(fs > 0.0 && fs <= fmax) {
            return Err(invalid(
                "sample_rate_hz",
                fs,
                "a positive rate up to 1e13 Hz",
            ));
        }
        let f0 = cfg.centre_freq_hz;
        if !(f0 <= fmax && f0 - fs / 2.0 > 0.0) {
            return Err(invalid(
                "centre_freq_hz",
                f0,
                "a sky frequency up to 1e13 Hz and above half the sample rate, so the whole band is at positive frequencies",
            ));
        }
        if !limits::within(cfg.system_noise_jy, 0.0, limits::MAX_FLUX_JY) {
            return Err(invalid(
                "system_noise_jy",
                cfg.system_noise_jy,
                "a noise power from 0 to 1e10 Jy",
            ));
        }
        if !cfg.start_jd_utc.is_finite() {
            return Err(invalid("start_jd_utc", cfg.start_jd_utc, "a Julian Date"));
        }
        EarthOrientation::new(cfg.start_jd_utc)?;
        for (index, c) in sky.components.iter().enumerate() {
            if !matches!(c.shape, Shape::Point) {
                return Err(SkyError::InvalidComponent {
                    index,
                    reason: "the voltage simulator takes point sources only (an extended source is not one noise process)".into(),
                });
            }
            for f in [f0 - fs / 2.0, f0 + fs / 2.0] {
                if c.flux_at(f) < 0.0 {
                    return Err(SkyError::InvalidComponent {
                        index,
                        reason: format!(
                            "negative flux {} Jy at {f} Hz cannot be a noise power",
                            c.flux_at(f)
                        ),
                    });
                }
            }
        }
        let ecef = layout.ecef_offsets();
        let r_max = ecef
            .iter()
            .map(|r| r.to_array().iter().map(|v| v * v).sum::<f64>().sqrt())
            .fold(0.0, f64::max);
        let block_len = match cfg.block_len {
            Some(l) if (16..=1 << 24).contains(&l) => l,
            Some(l) => return Err(invalid("block_len", l, "16 to 2^24 samples")),
            None => {
                let by_mem =
                    MAX_BLOCK_BYTES / (layout.n_ant() * 2 * std::mem::size_of::<Complex32>());
                let rate = 2.0 * std::f64::consts::PI * (f0 + fs / 2.0) * EARTH_RATE_RAD_S * r_max
                    / SPEED_OF_LIGHT_M_S;
                let by_fringe = if rate > 0.0 {
                    (MAX_BLOCK_PHASE_RAD / rate * fs).min(1e9) as usize
                } else {
                    usize::MAX
                };
                let l = by_mem.min(by_fringe).clamp(256, 1 << 16);
                1usize << (usize::BITS - 1 - l.leading_zeros())
            }
        };
        Ok(Self {
            cfg: cfg.clone(),
            layout: layout.clone(),
            sky,
            ecef,
            block_len,
            ifft: FftPlanner::new().plan_fft_inverse(block_len),
        })
    }

    /// Samples per generation block.
    pub fn block_len(&self) -> usize {
        self.block_len
    }

    /// Number of antennas.
    pub fn n_ant(&self) -> usize {
        self.layout.n_ant()
    }

    /// The configuration.
    pub fn config(&self) -> &VoltageConfig {
        &self.cfg
    }

    /// The array.
    pub fn layout(&self) -> &ArrayLayout {
        &self.layout
    }

    /// Expected power per sample of one input at the centre frequency (Jy): the sum of the
    /// component fluxes plus the system noise.
    pub fn expected_power_jy(&self) -> f64 {
        self.sky
            .components
            .iter()
            .map(|c| c.flux_at(self.cfg.centre_freq_hz))
            .sum::<f64>()
            + self.cfg.system_noise_jy
    }

    /// Geometric delays `τ[a][c]` (s) of every antenna and component at `jd_utc`,
    /// relative to the phase centre (module docs).
    pub fn delays_s(&self, jd_utc: f64) -> Result<Vec<Vec<f64>>, SkyError> {
        let observer = ObserverFrame::new(EarthOrientation::new(jd_utc)?, self.layout.site);
        let frame = UvwFrame::new(&observer, self.cfg.phase_centre);
        let lmn1: Vec<[f64; 3]> = self
            .sky
            .components
            .iter()
            .map(|c| {
                let s = observer.observed(c.radec).to_ecef_unit(self.layout.site);
                let [l, m, n] = frame.direction_cosines(s);
                [l, m, -(l * l + m * m) / (1.0 + n)]
            })
            .collect();
        Ok(self
            .ecef
            .iter()
            .map(|&r| {
                let uvw = frame.project(r);
                lmn1.iter()
                    .map(|d| {
                        (uvw.u_m * d[0] + uvw.v_m * d[1] + uvw.w_m * d[2]) / SPEED_OF_LIGHT_M_S
                    })
                    .collect()
            })
            .collect())
    }

    /// Julian Date (UTC) of sample `n` (sample 0 at `start_jd_utc`).
    pub fn sample_jd(&self, n: f64) -> f64 {
        self.cfg.start_jd_utc + n / self.cfg.sample_rate_hz / crate::telescope::SECONDS_PER_DAY
    }

    /// Samples `b·L .. (b+1)·L` of every antenna and polarisation, written to `out` as
    /// `[sample][antenna][pol]` (`out.len() = L · n_ant · 2`).
    pub fn block(&self, b: u64, out: &mut [Complex32]) -> Result<(), SkyError> {
        let l = self.block_len;
        let n_ant = self.n_ant();
        if out.len() != l * n_ant * 2 {
            return Err(invalid(
                "output length",
                out.len(),
                "block_len × n_ant × 2 samples",
            ));
        }
        let centre = b as f64 * l as f64 + l as f64 / 2.0;
        let tau = self.delays_s(self.sample_jd(centre))?;
        let seed = self.cfg.seed;
        let fs = self.cfg.sample_rate_hz;
        let f0 = self.cfg.centre_freq_hz;
        let sys = (self.cfg.system_noise_jy).sqrt();
        // Every antenna's two spectra, summed over the components a batch at a time (in
        // component order, so the sums do not depend on the batch size): memory is the
        // accumulators plus one batch of component spectra, whatever the number of sources.
        let mut acc: Vec<[Vec<Complex64>; 2]> = (0..n_ant)
            .map(|_| [vec![Complex64::default(); l], vec![Complex64::default(); l]])
            .collect();
        let per_comp = 2 * l * std::mem::size_of::<Complex64>();
        let batch = (COMPONENT_BATCH_BYTES / per_comp).max(1);
        for first in (0..self.sky.len()).step_by(batch) {
            let comps = first..(first + batch).min(self.sky.len());
            // Component spectra, per polarisation.
            let comp: Vec<[Vec<Complex64>; 2]> = comps
                .clone()
                .into_par_iter()
                .map(|c| {
                    // Per FFT bin: √(S(f₀ + f_k) / L).
                    let amp: Vec<f64> = (0..l)
                        .map(|k| {
                            (self.sky.components[c].flux_at(f0 + bin_freq(k, l, fs)) / l as f64)
                                .sqrt()
                        })
                        .collect();
                    [0u64, 1].map(|pol| {
                        let mut rng = ChaCha8Rng::seed_from_u64(mix(&[seed, 1, b, c as u64, pol]));
                        amp.iter().map(|&a| cnormal(&mut rng) * a).collect()
                    })
                })
                .collect();
            acc.par_iter_mut().enumerate().for_each(|(a, acc)| {
                for (spec, c) in comp.iter().zip(comps.clone()) {
                    let t = tau[a][c];
                    let carrier = (f0 * t).fract();
                    let step = fs / l as f64 * t;
                    // exp(2πi (f₀ + f_k) τ), exact every 64 bins and by recurrence between.
                    let mut k = 0;
                    while k < l {
                        let end = (k + 64).min(l);
                        let cycles = |kk: usize| {
                            let signed = if kk < l.div_ceil(2) {
                                kk as f64
                            } else {
                                kk as f64 - l as f64
                            };
                            carrier + (signed * step).fract()
                        };
                        let mut ph =
                            Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * cycles(k));
                        let rot = Complex64::from_polar(1.0, 2.0 * std::f64::consts::PI * step);
                        for kk in k..end {
                            if kk == l.div_ceil(2) && kk != k {
                                ph = Complex64::from_polar(
                                    1.0,
                                    2.0 * std::f64::consts::PI * cycles(kk),
                                );
                            }
                            acc[0][kk] += spec[0][kk] * ph;
                            acc[1][kk] += spec[1][kk] * ph;
                            ph *= rot;
                        }
                        k = end;
                    }
                }
            });
        }
        let per_ant: Vec<[Vec<Complex32>; 2]> = acc
            .into_par_iter()
            .enumerate()
            .map(|(a, mut acc)| {
                let mut scratch = vec![Complex64::default(); self.ifft.get_inplace_scratch_len()];
                [0usize, 1].map(|pol| {
                    let x = &mut acc[pol];
                    self.ifft.process_with_scratch(x, &mut scratch);
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(mix(&[seed, 2, b, a as u64, pol as u64]));
                    x.iter()
                        .map(|&v| {
                            let v = if sys > 0.0 {
                                v + cnormal(&mut rng) * sys
                            } else {
                                v
                            };
                            Complex32::new(v.re as f32, v.im as f32)
                        })
                        .collect()
                })
            })
            .collect();
        out.par_chunks_mut(n_ant * 2)
            .enumerate()
            .for_each(|(i, row)| {
                for (a, pols) in per_ant.iter().enumerate() {
                    row[2 * a] = pols[0][i];
                    row[2 * a + 1] = pols[1][i];
                }
            });
        Ok(())
    }

    /// A reader of the stream from sample 0.
    pub fn stream(&self) -> VoltageStream<'_> {
        VoltageStream {
            sim: self,
            block: vec![Complex32::default(); self.block_len * self.n_ant() * 2],
            next_block: 0,
            pos: self.block_len,
        }
    }
}

/// Baseband frequency of FFT bin `k` of `l` at sample rate `fs` (negative in the upper half).
fn bin_freq(k: usize, l: usize, fs: f64) -> f64 {
    let signed = if k < l.div_ceil(2) {
        k as f64
    } else {
        k as f64 - l as f64
    };
    signed * fs / l as f64
}

/// Sequential reader of a simulated stream in pieces of any length (memory: one block).
pub struct VoltageStream<'a> {
    sim: &'a VoltageSimulator,
    block: Vec<Complex32>,
    next_block: u64,
    pos: usize,
}

impl VoltageStream<'_> {
    /// Fill `out` (`[sample][antenna][pol]`, a whole number of samples) with the next samples.
    pub fn fill(&mut self, out: &mut [Complex32]) -> Result<(), SkyError> {
        let row = self.sim.n_ant() * 2;
        if !out.len().is_multiple_of(row) {
            return Err(invalid(
                "output length",
                out.len(),
                "a multiple of n_ant × 2",
            ));
        }
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.sim.block_len {
                self.sim.block(self.next_block, &mut self.block)?;
                self.next_block += 1;
                self.pos = 0;
            }
            let take = ((out.len() - done) / row).min(self.sim.block_len - self.pos);
            out[done..done + take * row]
                .copy_from_slice(&self.block[self.pos * row..(self.pos + take) * row]);
            self.pos += take;
            done += take * row;
        }
        Ok(())
    }
}

/// An integer sample type for [`quantise`].
pub trait QuantTarget: Copy + Default + Send + Sync {
    /// Largest magnitude used (symmetric range).
    const MAX: f32;
    /// Number of bits.
    const BITS: u32;
    /// From a rounded, clipped value.
    fn from_f32(v: f32) -> Self;
}

impl QuantTarget for i8 {
    const MAX: f32 = 127.0;
    const BITS: u32 = 8;
    fn from_f32(v: f32) -> Self {
        v as i8
    }
}

impl QuantTarget for i16 {
    const MAX: f32 = 32767.0;
    const BITS: u32 = 16;
    fn from_f32(v: f32) -> Self {
        v as i16
    }
}

/// The scale (√Jy per level) that puts the expected r.m.s. of one real part of a signal of
/// power `power_jy` at [`RMS_LEVELS_8`] or [`RMS_LEVELS_16`] levels (module docs).
pub fn default_scale(bits: u32, power_jy: f64) -> Result<f64, SkyError> {
    let levels = match bits {
        8 => RMS_LEVELS_8,
        16 => RMS_LEVELS_16,
        _ => return Err(invalid("bits", bits, "8 or 16 for integer samples")),
    };
    if !(power_jy > 0.0 && power_jy.is_finite()) {
        return Err(invalid(
            "signal power",
            power_jy,
            "a positive power to scale integer samples to",
        ));
    }
    Ok((power_jy / 2.0).sqrt() / levels)
}

/// `out = round(x / scale)` per real part, clipped to ±`T::MAX`; returns the number of
/// clipped parts.
pub fn quantise<T: QuantTarget>(x: &[Complex32], scale: f64, out: &mut [Complex<T>]) -> usize {
    let inv = (1.0 / scale) as f32;
    let mut clipped = 0;
    for (o, v) in out.iter_mut().zip(x) {
        let mut q = |p: f32| {
            let r = (p * inv).round();
            if r.abs() > T::MAX {
                clipped += 1;
            }
            T::from_f32(r.clamp(-T::MAX, T::MAX))
        };
        *o = Complex::new(q(v.re), q(v.im));
    }
    clipped
}
