//! The FX chain on simulated voltages, in memory and streaming: voltage simulator →
//! polyphase filterbank per input → correlator → visibilities in Jy.

use num_complex::Complex32;
use rayon::prelude::*;
use thiserror::Error;

use crate::channelise::{ChannelError, Pfb, PfbConfig, PfbState, Sampling};
use crate::correlate::{CorrelateError, Correlator, CorrelatorConfig, StreamGeometry};
use crate::sky::{SkyError, VoltageSimulator};
use crate::telescope::SECONDS_PER_DAY;
use crate::{VisUnits, Visibilities};

/// What can go wrong running the chain.
#[derive(Debug, Error)]
pub enum FxError {
    /// Simulator.
    #[error(transparent)]
    Sky(#[from] SkyError),
    /// Filterbank.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// Correlator.
    #[error(transparent)]
    Correlate(#[from] CorrelateError),
}

/// Samples simulated per step (bounded memory).
const STEP_SAMPLES: usize = 1 << 15;

/// Run `n_int` integrations of `int_spectra` spectra through the whole chain: simulate
/// the voltages of `sim`, channelise every input with `pfb` (complex sampling), correlate
/// with f32 accumulation, and scale by `1 / (n · Σh²)` so the result is in Jy
/// ([`crate::correlate`], "Scale"). Channel `k` is at sky frequency
/// `centre + (k − N/2)·f_s/N`; times are integration centres.
pub fn simulate_fx(
    sim: &VoltageSimulator,
    pfb_cfg: &PfbConfig,
    int_spectra: usize,
    n_int: usize,
) -> Result<Visibilities, FxError> {
    let mut cfg = pfb_cfg.clone();
    cfg.sampling = Sampling::Complex;
    let pfb = Pfb::new(&cfg)?;
    let layout = sim.layout();
    let n_ant = layout.n_ant();
    let n_in = 2 * n_ant;
    let n_chan = pfb.n_chan();
    let noise_gain: f64 = pfb.coeffs().iter().map(|h| h * h).sum();
    let corr = Correlator::new(&CorrelatorConfig {
        n_ant,
        n_chan,
        int_spectra,
        f64_accumulation: false,
        scale: 1.0 / (int_spectra as f64 * noise_gain),
        flagged_inputs: vec![],
        simd: None,
    })?;
    let n_spectra = int_spectra * n_int;
    let mut states: Vec<PfbState> = (0..n_in).map(|_| pfb.new_state()).collect();
    let mut cstate = corr.new_state();
    let mut stream = sim.stream();
    let mut block = vec![Complex32::default(); STEP_SAMPLES * n_in];
    let mut per_input: Vec<Vec<Complex32>> = vec![Vec::with_capacity(STEP_SAMPLES); n_in];
    let mut outs: Vec<Vec<Complex32>> = vec![Vec::new(); n_in];
    let mut spectra: Vec<Complex32> = Vec::new();
    let mut made = 0;
    let mut integrations = Vec::new();
    while made < n_spectra {
        stream.fill(&mut block)?;
        per_input.par_iter_mut().enumerate().for_each(|(i, v)| {
            v.clear();
            v.extend(block.iter().skip(i).step_by(n_in));
        });
        let counts: Vec<usize> = states
            .par_iter_mut()
            .zip(per_input.par_iter())
            .zip(outs.par_iter_mut())
            .map(|((st, x), o)| {
                o.clear();
                pfb.process(st, x, o).map_err(FxError::from)
            })
            .collect::<Result<_, _>>()?;
        let k = counts[0].min(n_spectra - made);
        spectra.resize(k * n_chan * n_in, Complex32::default());
        spectra
            .par_chunks_mut(n_in)
            .enumerate()
            .for_each(|(sc, dst)| {
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = outs[i][sc];
                }
            });
        integrations.extend(corr.push(&mut cstate, &spectra)?);
        made += k;
    }
    let c = sim.config();
    let fs = c.sample_rate_hz;
    let geo = StreamGeometry {
        layout: layout.clone(),
        phase_centre: c.phase_centre,
        first_spectrum_jd_utc: c.start_jd_utc
            + (pfb.window_len() as f64 - 1.0) / 2.0 / fs / SECONDS_PER_DAY,
        spectrum_rate_hz: fs / pfb.hop() as f64,
        freq_start_hz: c.centre_freq_hz + pfb.channel_bin(0) as f64 * fs / n_chan as f64,
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
