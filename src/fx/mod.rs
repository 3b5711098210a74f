//! The FX chain, one implementation for data in memory and in files: voltages → a
//! filterbank per input ([`PfbBank`], with the corner turns on either side) → the
//! correlator → visibilities, in Jy when the filterbank's noise gain is known.
//!
//! [`simulate_fx`] runs it on simulated voltages in memory; with the `hdf5` feature,
//! [`files`] runs each stage from file to file (voltages → spectra → UVH5) in bounded
//! memory. Both use the same bank, time stamps and scaling, so the two paths give the
//! same visibilities.

#[cfg(feature = "hdf5")]
pub mod files;

use num_complex::Complex32;
use rayon::prelude::*;
use thiserror::Error;

use crate::channelise::{ChannelError, Pfb, PfbConfig, PfbState, Sample, Sampling};
use crate::correlate::{CorrelateError, Correlator, CorrelatorConfig};
use crate::progress::Progress;
use crate::sky::{SkyError, VoltageSimulator};
use crate::telescope::SECONDS_PER_DAY;
use crate::{VisUnits, Visibilities};

/// What can go wrong running the chain.
#[derive(Debug, Error)]
pub enum FxError {
    /// The voltage simulator.
    #[error(transparent)]
    Sky(#[from] SkyError),
    /// The filterbank.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The correlator.
    #[error(transparent)]
    Correlate(#[from] CorrelateError),
    /// Reading or writing a file.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// A parameter that cannot be used.
    #[error("invalid parameter {field} = {value}: expected {expected}")]
    InvalidParameter {
        /// Parameter name.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: String,
    },
}

/// The F stage over every input of an array: one filterbank state per input. Blocks of
/// samples arrive sample-major (`[sample][input]`, as voltages are stored and simulated)
/// and leave as spectra `[spectrum][channel][input]`, what the correlator takes.
pub struct PfbBank<S: Sample> {
    pfb: Pfb,
    states: Vec<PfbState>,
    per_input: Vec<Vec<S>>,
    outs: Vec<Vec<Complex32>>,
}

impl<S: Sample> PfbBank<S> {
    /// A bank of `n_in` filterbanks `pfb`, each at the start of its stream.
    pub fn new(pfb: Pfb, n_in: usize) -> Self {
        PfbBank {
            states: (0..n_in).map(|_| pfb.new_state()).collect(),
            pfb,
            per_input: vec![Vec::new(); n_in],
            outs: vec![Vec::new(); n_in],
        }
    }

    /// The filterbank.
    pub fn pfb(&self) -> &Pfb {
        &self.pfb
    }

    /// Number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.states.len()
    }

    /// Spectra per input that `n_samples` more samples complete.
    pub fn spectra_ready(&self, n_samples: usize) -> usize {
        self.pfb.spectra_ready(&self.states[0], n_samples)
    }

    /// Channelises the block `x` (`[sample][input]`, a whole number of samples) and
    /// writes the spectra it completes to `out` as `[spectrum][channel][input]`, times
    /// `scale`; returns their number.
    pub fn push(
        &mut self,
        x: &[S],
        scale: f32,
        out: &mut Vec<Complex32>,
    ) -> Result<usize, FxError> {
        let n_in = self.n_inputs();
        if !x.len().is_multiple_of(n_in) {
            return Err(FxError::InvalidParameter {
                field: "block length",
                value: x.len().to_string(),
                expected: format!("a multiple of the {n_in} inputs"),
            });
        }
        // Corner turn [sample][input] → [input][sample].
        self.per_input
            .par_iter_mut()
            .enumerate()
            .for_each(|(i, v)| {
                v.clear();
                v.extend(x.iter().skip(i).step_by(n_in).copied());
            });
        let (pfb, n_out) = (&self.pfb, self.pfb.n_out());
        let made: Vec<usize> = self
            .states
            .par_iter_mut()
            .zip(self.per_input.par_iter())
            .zip(self.outs.par_iter_mut())
            .map(|((st, x), o)| {
                let k = pfb.spectra_ready(st, x.len());
                o.resize(k * n_out, Complex32::default());
                pfb.process_into(st, x, o)
            })
            .collect();
        let k = made[0];
        debug_assert!(made.iter().all(|&m| m == k), "inputs in step");
        // [input][spectrum][channel] → [spectrum][channel][input].
        out.resize(k * n_out * n_in, Complex32::default());
        let outs = &self.outs;
        out.par_chunks_mut(n_in).enumerate().for_each(|(sc, dst)| {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = outs[i][sc] * scale;
            }
        });
        Ok(k)
    }
}

/// Julian Date (UTC) of the first spectrum of a stream starting at `start_jd_utc`: the
/// centre of its filter window, sample `(N·T − 1)/2`.
pub fn first_spectrum_jd(start_jd_utc: f64, pfb: &Pfb, sample_rate_hz: f64) -> f64 {
    start_jd_utc + (pfb.window_len() as f64 - 1.0) / 2.0 / sample_rate_hz / SECONDS_PER_DAY
}

/// Sky frequency of each output channel of `pfb` (Hz) for a stream centred on
/// `centre_freq_hz` (the sky frequency of baseband 0 Hz).
pub fn channel_freqs_hz(pfb: &Pfb, centre_freq_hz: f64, sample_rate_hz: f64) -> Vec<f64> {
    let dnu = sample_rate_hz / pfb.n_chan() as f64;
    (0..pfb.n_out())
        .map(|k| centre_freq_hz + pfb.channel_bin(k) as f64 * dnu)
        .collect()
}

/// The noise gain `Σ h²` of the filterbank: a channel's power gain for white noise.
pub fn noise_gain(pfb: &Pfb) -> f64 {
    pfb.coeffs().iter().map(|h| h * h).sum()
}

/// The correlator of the chain: `n_ant` antennas, `n_chan` channels, integrations of
/// `int_spectra` spectra scaled by `1 / (int_spectra · noise_gain)` (Jy from √Jy spectra;
/// [`crate::correlate`], "Scale").
pub fn correlator(
    n_ant: usize,
    n_chan: usize,
    int_spectra: usize,
    noise_gain: f64,
    f64_accumulation: bool,
) -> Result<Correlator, FxError> {
    Ok(Correlator::new(&CorrelatorConfig {
        n_ant,
        n_chan,
        int_spectra,
        f64_accumulation,
        scale: 1.0 / (int_spectra as f64 * noise_gain),
        flagged_inputs: vec![],
        simd: None,
    })?)
}

/// Samples simulated per step (bounded memory).
const STEP_SAMPLES: usize = 1 << 15;

/// Runs `n_int` integrations of `int_spectra` spectra through the whole chain: simulate
/// the voltages of `sim`, channelise every input with `pfb_cfg` (complex sampling),
/// correlate with f32 accumulation, and scale so the result is in Jy. Channel `k` is at
/// sky frequency `centre + (k − N/2)·f_s/N`; times are integration centres. `progress`
/// hears of every spectrum made.
pub fn simulate_fx(
    sim: &VoltageSimulator,
    pfb_cfg: &PfbConfig,
    int_spectra: usize,
    n_int: usize,
    progress: &dyn Progress,
) -> Result<Visibilities, FxError> {
    let mut cfg = pfb_cfg.clone();
    cfg.sampling = Sampling::Complex;
    let pfb = Pfb::new(&cfg)?;
    let layout = sim.layout();
    let n_in = 2 * layout.n_ant();
    let n_chan = pfb.n_chan();
    let corr = correlator(layout.n_ant(), n_chan, int_spectra, noise_gain(&pfb), false)?;
    let mut bank = PfbBank::<Complex32>::new(pfb, n_in);
    let n_spectra = int_spectra * n_int;
    let mut cstate = corr.new_state();
    let mut stream = sim.stream();
    let mut block = vec![Complex32::default(); STEP_SAMPLES * n_in];
    let mut spectra: Vec<Complex32> = Vec::new();
    let mut made = 0;
    let mut integrations = Vec::new();
    progress.start(n_spectra as u64, "spectra");
    while made < n_spectra {
        stream.fill(&mut block)?;
        let k = bank.push(&block, 1.0, &mut spectra)?.min(n_spectra - made);
        integrations.extend(corr.push(&mut cstate, &spectra[..k * n_chan * n_in])?);
        made += k;
        progress.advance(k as u64);
    }
    progress.finish();
    let c = sim.config();
    let fs = c.sample_rate_hz;
    let pfb = bank.pfb();
    let geo = crate::correlate::StreamGeometry {
        layout: layout.clone(),
        phase_centre: c.phase_centre,
        first_spectrum_jd_utc: first_spectrum_jd(c.start_jd_utc, pfb, fs),
        spectrum_rate_hz: fs / pfb.hop() as f64,
        freq_start_hz: channel_freqs_hz(pfb, c.centre_freq_hz, fs)[0],
        chan_width_hz: fs / n_chan as f64,
        units: VisUnits::Jy,
        history: format!(
            "fxgrid {} FX chain on simulated voltages: {:?}; filterbank {:?}; {int_spectra} spectra per integration",
            env!("CARGO_PKG_VERSION"),
            c,
            pfb
        ),
    };
    Ok(corr.visibilities(&geo, &integrations)?)
}
