//! The FX chain from file to file, each stage streamed in bounded memory: simulated
//! voltages → voltage file ([`simulate_voltages_file`]) → spectra file
//! ([`channelise_file`]) → UVH5 ([`correlate_file`]). The file layouts are
//! [`crate::io::voltages`]'s; the stages are those of [`super`].

use std::path::Path;

use num_complex::{Complex, Complex32};

use super::{channel_freqs_hz, correlator, first_spectrum_jd, noise_gain, FxError, PfbBank};
use crate::channelise::{Pfb, PfbConfig, Sampling};
use crate::correlate::StreamGeometry;
use crate::io::voltages::{
    window_name, FileSample, SampleKind, SpectraInfo, SpectraReader, SpectraWriter, StreamHeader,
    VoltageReader, VoltageWriter, BLOCK_BYTES,
};
use crate::progress::Progress;
use crate::sky::voltages::{default_scale, quantise, QuantTarget, VoltageSimulator};
use crate::telescope::ArrayLayout;
use crate::VisUnits;

/// How [`simulate_voltages_file`] stores samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoltageFileOptions {
    /// 8, 16 or 32 (float).
    pub bits: u32,
    /// √Jy per level for integers; `None` for [`default_scale`] of the expected power.
    pub scale: Option<f64>,
}

/// What a streamed write did.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSummary {
    /// Samples (voltages) or spectra written.
    pub n_written: usize,
    /// Integer parts clipped by quantisation.
    pub clipped: usize,
    /// √Jy per stored unit.
    pub voltage_scale: f64,
}

fn invalid(field: &'static str, value: impl ToString, expected: impl Into<String>) -> FxError {
    FxError::InvalidParameter {
        field,
        value: value.to_string(),
        expected: expected.into(),
    }
}

/// Simulates `n_samples` samples with `sim` and writes them to `path`, block by block.
pub fn simulate_voltages_file(
    path: &Path,
    sim: &VoltageSimulator,
    layout: &ArrayLayout,
    n_samples: usize,
    opts: VoltageFileOptions,
    history: &str,
    progress: &dyn Progress,
) -> Result<StreamSummary, FxError> {
    let kind = SampleKind::from_bits(opts.bits)
        .ok_or_else(|| invalid("bits", opts.bits, "8, 16 or 32"))?;
    if n_samples == 0 {
        return Err(invalid("n_samples", 0, "at least one sample"));
    }
    // √Jy per level: beyond MAX_FLUX_JY the levels mean nothing (and readers refuse it).
    let max = crate::telescope::limits::MAX_FLUX_JY;
    let scale = match (kind, opts.scale) {
        (SampleKind::Float32, _) => 1.0,
        (_, Some(s)) if s > 0.0 && s <= max => s,
        (_, Some(s)) => return Err(invalid("voltage scale", s, "a positive number up to 1e10")),
        (_, None) => default_scale(opts.bits, sim.expected_power_jy())?,
    };
    if !(scale > 0.0 && scale <= max) {
        return Err(invalid(
            "voltage scale",
            scale,
            "a positive number up to 1e10 (the sky and noise powers give more)",
        ));
    }
    let cfg = sim.config();
    let header = StreamHeader {
        layout: layout.clone(),
        phase_centre: cfg.phase_centre,
        start_jd_utc: cfg.start_jd_utc,
        sample_rate_hz: cfg.sample_rate_hz,
        centre_freq_hz: cfg.centre_freq_hz,
        sampling: Sampling::Complex,
        voltage_scale: scale,
        history: format!(
            "fxgrid {} voltage simulator: {cfg:?}, bits {}, scale {scale} sqrt(Jy)/level. {history}",
            env!("CARGO_PKG_VERSION"),
            opts.bits
        ),
    };
    let row = layout.n_ant() * 2;
    let block = (BLOCK_BYTES / (row * 8)).max(1);
    fn run<T: QuantTarget>(
        w: &mut VoltageWriter,
        x: &[Complex32],
        q: &mut Vec<Complex<T>>,
        scale: f64,
    ) -> Result<usize, FxError>
    where
        Complex<T>: FileSample,
    {
        q.resize(x.len(), Complex::default());
        let c = quantise(x, scale, q);
        w.write(q.as_slice())?;
        Ok(c)
    }
    let mut stream = sim.stream();
    let mut buf = vec![Complex32::default(); block * row];
    let mut clipped = 0;
    let mut done = 0;
    progress.start(n_samples as u64, "samples");
    macro_rules! drive {
        ($t:ty, $body:expr) => {{
            let mut w = VoltageWriter::create::<$t>(path, &header, n_samples)?;
            while done < n_samples {
                let n = block.min(n_samples - done);
                stream.fill(&mut buf[..n * row])?;
                #[allow(clippy::redundant_closure_call)]
                {
                    clipped += ($body)(&mut w, &buf[..n * row])?;
                }
                done += n;
                progress.advance(n as u64);
            }
            w.finish()?;
        }};
    }
    match kind {
        SampleKind::Float32 => drive!(Complex32, |w: &mut VoltageWriter, x: &[Complex32]| {
            w.write(x).map(|_| 0usize)
        }),
        SampleKind::Int8 => {
            let mut q: Vec<Complex<i8>> = Vec::new();
            drive!(Complex<i8>, |w: &mut VoltageWriter, x: &[Complex32]| run(
                w, x, &mut q, scale
            ))
        }
        SampleKind::Int16 => {
            let mut q: Vec<Complex<i16>> = Vec::new();
            drive!(Complex<i16>, |w: &mut VoltageWriter, x: &[Complex32]| run(
                w, x, &mut q, scale
            ))
        }
    }
    progress.finish();
    Ok(StreamSummary {
        n_written: n_samples,
        clipped,
        voltage_scale: scale,
    })
}

/// Channelises every input of the voltage file `input` with the filterbank `cfg` and
/// writes the spectra to `output`, streaming: memory is a few blocks of 32 MiB plus the
/// filterbank states, whatever the file length. The sampling of `cfg` is taken from the
/// file.
pub fn channelise_file(
    input: &Path,
    output: &Path,
    cfg: &PfbConfig,
    history: &str,
    progress: &dyn Progress,
) -> Result<StreamSummary, FxError> {
    let r = VoltageReader::open(input)?;
    let mut cfg = cfg.clone();
    cfg.sampling = r.header.sampling;
    let pfb = Pfb::new(&cfg)?;
    let args = (&r, pfb, output, history, progress);
    match (r.kind, r.header.sampling) {
        (SampleKind::Int8, Sampling::Complex) => channelise_typed::<Complex<i8>>(args),
        (SampleKind::Int16, Sampling::Complex) => channelise_typed::<Complex<i16>>(args),
        (SampleKind::Float32, Sampling::Complex) => channelise_typed::<Complex32>(args),
        (SampleKind::Int8, Sampling::Real) => channelise_typed::<i8>(args),
        (SampleKind::Int16, Sampling::Real) => channelise_typed::<i16>(args),
        (SampleKind::Float32, Sampling::Real) => channelise_typed::<f32>(args),
    }
}

fn channelise_typed<S: FileSample>(
    (r, pfb, output, history, progress): (&VoltageReader, Pfb, &Path, &str, &dyn Progress),
) -> Result<StreamSummary, FxError> {
    let h = &r.header;
    let n_in = 2 * h.layout.n_ant();
    let mut bank = PfbBank::<S>::new(pfb, n_in);
    let n_spectra = bank.spectra_ready(r.n_samples);
    let pfb = bank.pfb();
    if n_spectra == 0 {
        return Err(invalid(
            "n_samples",
            r.n_samples,
            format!(
                "at least one filter window of {} samples (N × T) in {}",
                pfb.window_len(),
                r.path
            ),
        ));
    }
    let fs = h.sample_rate_hz;
    let info = SpectraInfo {
        freqs_hz: channel_freqs_hz(pfb, h.centre_freq_hz, fs),
        channel_width_hz: fs / pfb.n_chan() as f64,
        spectrum_rate_hz: fs / pfb.hop() as f64,
        n_taps: pfb.n_taps(),
        window: window_name(pfb.window()),
        oversampling: pfb.oversampling(),
        noise_gain: Some(noise_gain(pfb)),
    };
    let out_header = StreamHeader {
        start_jd_utc: first_spectrum_jd(h.start_jd_utc, pfb, fs),
        history: format!(
            "{}\nfxgrid {} channelise: {} channels, {} taps, window {}, oversampling {}/{}, {}-point FFT. {history}",
            h.history,
            env!("CARGO_PKG_VERSION"),
            pfb.n_out(),
            pfb.n_taps(),
            info.window,
            info.oversampling.0,
            info.oversampling.1,
            pfb.n_chan()
        ),
        ..h.clone()
    };
    let mut w = SpectraWriter::create(output, &out_header, &info, n_spectra)?;
    let row_bytes = n_in * std::mem::size_of::<S>();
    let block = (BLOCK_BYTES / row_bytes).max(pfb.hop()).min(r.n_samples);
    // Spectra in √Jy.
    let scale = h.voltage_scale as f32;
    let mut spectra: Vec<Complex32> = Vec::new();
    let mut start = 0;
    let mut written = 0;
    progress.start(r.n_samples as u64, "samples");
    while start < r.n_samples {
        let count = block.min(r.n_samples - start);
        let raw: Vec<S> = r.read(start, count)?;
        let k = bank.push(&raw, scale, &mut spectra)?;
        drop(raw);
        w.write(&spectra)?;
        written += k;
        start += count;
        progress.advance(count as u64);
    }
    w.finish()?;
    progress.finish();
    Ok(StreamSummary {
        n_written: written,
        clipped: 0,
        voltage_scale: h.voltage_scale,
    })
}

/// What [`correlate_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelateSummary {
    /// Integrations written.
    pub n_integrations: usize,
    /// Spectra at the end that did not fill an integration (not written).
    pub dropped_spectra: usize,
    /// Whether the output is in Jy (the spectra file recorded `pfb_noise_gain`).
    pub in_jy: bool,
}

/// Correlates every antenna pair of the spectra file `input` in integrations of
/// `int_spectra` spectra and writes UVH5 to `output` (or a Measurement Set, by its `.ms`
/// extension). Spectra are read in blocks and integrations written as they are made, so
/// memory does not grow with the length of the file.
pub fn correlate_file(
    input: &Path,
    output: &Path,
    int_spectra: usize,
    f64_accumulation: bool,
    history: &str,
    progress: &dyn Progress,
) -> Result<CorrelateSummary, FxError> {
    let r = SpectraReader::open(input)?;
    let h = &r.header;
    let n_chan = r.info.freqs_hz.len();
    if int_spectra == 0 || int_spectra > r.n_spectra {
        return Err(invalid(
            "int_spectra",
            int_spectra,
            format!("1 to the {} spectra in {}", r.n_spectra, r.path),
        ));
    }
    let in_jy = r.info.noise_gain.is_some();
    let gain = r.info.noise_gain.unwrap_or(1.0);
    let corr = correlator(
        h.layout.n_ant(),
        n_chan,
        int_spectra,
        gain,
        f64_accumulation,
    )?;
    let scale = corr.config().scale;
    let mut state = corr.new_state();
    // Spectra per block: BLOCK_BYTES of spectra, and no more integrations than fit in
    // BLOCK_BYTES (their products and visibilities, ~16 bytes per antenna pair, polarisation
    // pair and channel), so memory depends on neither the file's length nor --int-spectra.
    let row = n_chan * corr.n_inputs() * 8;
    let n_ant = h.layout.n_ant();
    let integration_bytes = n_chan * n_ant * (n_ant + 1) / 2 * 4 * 16;
    let ints_per_block = (BLOCK_BYTES / integration_bytes.max(1)).max(1);
    let block = (BLOCK_BYTES / row)
        .min(ints_per_block.saturating_mul(int_spectra))
        .clamp(1, r.n_spectra);
    let n_int = r.n_spectra / int_spectra;
    let geo = StreamGeometry {
        layout: h.layout.clone(),
        phase_centre: h.phase_centre,
        first_spectrum_jd_utc: h.start_jd_utc,
        spectrum_rate_hz: r.info.spectrum_rate_hz,
        freq_start_hz: r.info.freqs_hz[0],
        chan_width_hz: r.info.channel_width_hz,
        units: if in_jy { VisUnits::Jy } else { VisUnits::Uncalib },
        history: format!(
            "{}\nfxgrid {} correlate: {int_spectra} spectra per integration, {} accumulation, scale {scale:e}. {history}",
            h.history,
            env!("CARGO_PKG_VERSION"),
            if f64_accumulation { "f64" } else { "f32" }
        ),
    };
    // Integrations are written as they are made: memory is one block of spectra and its
    // integrations, whatever the length of the file.
    let mut out = crate::io::VisWriter::create(output, n_int)?;
    let mut start = 0;
    progress.start(r.n_spectra as u64, "spectra");
    while start < r.n_spectra {
        let k = block.min(r.n_spectra - start);
        let x = r.read(start, k)?;
        let integrations = corr.push(&mut state, &x)?;
        if !integrations.is_empty() {
            out.write(&corr.visibilities(&geo, &integrations)?)?;
        }
        for it in integrations {
            corr.recycle(&mut state, it);
        }
        start += k;
        progress.advance(k as u64);
    }
    out.finish()?;
    progress.finish();
    Ok(CorrelateSummary {
        n_integrations: n_int,
        dropped_spectra: r.n_spectra - n_int * int_spectra,
        in_jy,
    })
}
