//! `fxgrid simulate vis` (direct-Fourier prediction of a sky model, written as UVH5) and
//! `fxgrid simulate voltages` (antenna voltages, written as an fxgrid voltage file).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::args::{LayoutArgs, PointingArgs};
use super::budget;
use super::outputs::Files;
use super::{CliError, Context};
use fxgrid::fx::files::{simulate_voltages_file, VoltageFileOptions};
use fxgrid::progress::Progress;
use fxgrid::sky::{
    predict_times, random_field, PredictConfig, RandomFieldConfig, SkyModel, VoltageConfig,
    VoltageSimulator,
};
use fxgrid::telescope::Observation;
use fxgrid::Precision;

/// Bytes of one visibility sample in memory: data, weight, flag, and their copies while
/// they are written.
const VIS_BYTES: usize = 32;
/// Bytes of one visibility sample in a file: data, flag and weight.
const FILE_BYTES: f64 = 13.0;
/// Bytes of one sky component in memory, with margin.
const COMPONENT_BYTES: f64 = 256.0;
/// Integrations are predicted and written in batches of about this many bytes.
const BATCH_BYTES: usize = 32 << 20;

/// What to simulate.
#[derive(Subcommand, Debug)]
pub enum Simulate {
    /// Predict visibilities of a sky model by direct Fourier transform and write UVH5.
    Vis(SimVisArgs),
    /// Simulate antenna voltages of point sources plus receiver noise and write an fxgrid
    /// voltage file (HDF5), streaming.
    Voltages(SimVoltArgs),
}

/// Arguments of `simulate vis`.
#[derive(Args, Debug)]
pub struct SimVisArgs {
    #[command(flatten)]
    layout: LayoutArgs,
    #[command(flatten)]
    pointing: PointingArgs,
    /// Add N random point sources around the phase centre.
    #[arg(long, default_value_t = 0)]
    random_sources: usize,
    /// Radius of the random field (deg).
    #[arg(long, default_value_t = 2.0)]
    field_radius_deg: f64,
    /// Write every component simulated (given and drawn) to this sky-model file.
    #[arg(long)]
    sky_out: Option<PathBuf>,
    /// Number of integrations.
    #[arg(long, default_value_t = 1)]
    ntimes: usize,
    /// Integration time (s).
    #[arg(long, default_value_t = 10.0)]
    int_time_s: f64,
    /// Number of channels.
    #[arg(long, default_value_t = 1)]
    nchan: usize,
    /// Centre frequency of the first channel (Hz).
    #[arg(long, default_value_t = 150e6)]
    freq_start_hz: f64,
    /// Channel width (Hz).
    #[arg(long, default_value_t = 1e5)]
    chan_width_hz: f64,
    /// Gaussian noise σ per real and imaginary part of each visibility (Jy).
    #[arg(long, default_value_t = 0.0)]
    noise_jy: f64,
    /// Seed of the random sources and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Arithmetic of the prediction: f32 (fast) or f64 (exact).
    #[arg(long, default_value = "f32")]
    precision: String,
    /// Leave out autocorrelations.
    #[arg(long)]
    no_autos: bool,
    /// Output UVH5 file.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `simulate voltages`.
#[derive(Args, Debug)]
pub struct SimVoltArgs {
    #[command(flatten)]
    layout: LayoutArgs,
    #[command(flatten)]
    pointing: PointingArgs,
    /// Sky frequency of baseband 0 Hz (Hz).
    #[arg(long)]
    centre_freq_hz: f64,
    /// Complex sample rate (Hz).
    #[arg(long)]
    sample_rate_hz: f64,
    /// Number of samples per input.
    #[arg(long)]
    nsamples: usize,
    /// Sample type: 8- or 16-bit integers (scaled, see --scale) or 32 (float).
    #[arg(long, default_value_t = 8)]
    bits: u32,
    /// √Jy per integer level (default: the expected r.m.s. of one real part at 24 levels for
    /// 8 bits, 2048 for 16 bits).
    #[arg(long)]
    scale: Option<f64>,
    /// Receiver noise power per sample per input (Jy).
    #[arg(long, default_value_t = 0.0)]
    system_noise_jy: f64,
    /// Seed of all random numbers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output voltage file.
    #[arg(long)]
    out: PathBuf,
}

/// Predicts and writes the visibilities (and the sky model with `--sky-out`).
pub fn run_vis(a: &SimVisArgs, ctx: &Context) -> Result<(), CliError> {
    // Arguments → parameters.
    let t0 = Instant::now();
    let mut files = Files::new();
    a.layout.declare(&mut files)?;
    a.pointing.declare(&mut files)?;
    files.output("--out", &a.out)?;
    files.output_opt("--sky-out", a.sky_out.as_ref())?;
    let layout = a.layout.layout()?;
    let centre = a.pointing.centre()?;
    let precision = Precision::from_name(&a.precision)
        .ok_or_else(|| CliError::arg("--precision", &a.precision, "f32 or f64"))?;
    let mut comps = a.pointing.components()?;
    // What it needs: a batch of integrations in memory (and the sky), the whole file on disk.
    let n_bl = (layout.n_ant() * (layout.n_ant() + 1) / 2) as f64;
    let per_time = n_bl * a.nchan as f64 * 4.0 * VIS_BYTES as f64;
    let sky_bytes = (comps.len() as f64 + a.random_sources as f64) * COMPONENT_BYTES;
    budget::check_memory(
        "simulate vis",
        per_time.max(BATCH_BYTES as f64) + sky_bytes,
        "ask for fewer channels (--nchan), stations (--layout) or sources (--random-sources)",
    )?;
    budget::check_disk(
        &a.out,
        n_bl * a.ntimes as f64 * (a.nchan as f64 * 4.0 * FILE_BYTES + 100.0),
        "ask for fewer times (--ntimes), channels (--nchan) or stations, or write elsewhere",
    )?;
    if a.random_sources > 0 {
        let rf = random_field(&RandomFieldConfig {
            n_sources: a.random_sources,
            centre,
            radius_rad: a.field_radius_deg.to_radians(),
            ref_freq_hz: a.freq_start_hz,
            seed: a.seed,
            ..Default::default()
        })?;
        comps.extend(rf.components);
    }
    let sky = SkyModel::new(comps)?;
    let obs = Observation {
        phase_centre: centre,
        start_jd_utc: a
            .pointing
            .start_jd(&layout, a.ntimes as f64 * a.int_time_s)?,
        n_times: a.ntimes,
        int_time_s: a.int_time_s,
        freq_start_hz: a.freq_start_hz,
        chan_width_hz: a.chan_width_hz,
        n_chan: a.nchan,
    };
    obs.validate()?;
    let cfg = PredictConfig {
        noise_jy: a.noise_jy,
        seed: a.seed,
        precision,
        include_autos: !a.no_autos,
        history_note: ctx.history(),
    };
    // Run.
    // Predicted and written a batch of integrations at a time: memory does not grow with
    // the number of times.
    let t1 = Instant::now();
    let n_bl = layout.n_ant() * (layout.n_ant() + 1) / 2;
    let per_time = n_bl.saturating_mul(a.nchan).saturating_mul(4 * VIS_BYTES);
    let batch = (BATCH_BYTES / per_time.max(1)).clamp(1, a.ntimes.max(1));
    let mut writer = fxgrid::io::VisWriter::create(&a.out, a.ntimes)?;
    let progress = ctx.progress("simulate");
    progress.start(a.ntimes as u64, "integrations");
    let mut predict_s = 0.0;
    let mut shape = (0, 0, 0);
    for first in (0..a.ntimes).step_by(batch) {
        let times = first..(first + batch).min(a.ntimes);
        let tp = Instant::now();
        let vis = predict_times(&layout, &obs, &sky, &cfg, times.clone())?;
        predict_s += tp.elapsed().as_secs_f64();
        writer.write(&vis)?;
        shape = (vis.n_baselines(), vis.n_chan(), vis.n_pols());
        progress.advance(times.len() as u64);
    }
    writer.finish()?;
    progress.finish();
    if let Some(p) = &a.sky_out {
        fxgrid::io::write_bytes_atomically(p, sky.to_text().as_bytes())?;
    }
    let t3 = Instant::now();
    ctx.say(&format!(
        "wrote {}: {} antennas, {} baselines, {} times, {} channels, {} pols, {} components{}",
        a.out.display(),
        layout.n_ant(),
        shape.0,
        a.ntimes,
        shape.1,
        shape.2,
        sky.len(),
        a.sky_out
            .as_ref()
            .map(|p| format!(" (listed in {})", p.display()))
            .unwrap_or_default()
    ))?;
    files.commit()?;
    if ctx.verbose {
        eprintln!(
            "timings: setup {:.3} s, predict {:.3} s, write {:.3} s",
            (t1 - t0).as_secs_f64(),
            predict_s,
            (t3 - t1).as_secs_f64() - predict_s
        );
    }
    Ok(())
}

/// Simulates and writes the voltages.
pub fn run_voltages(a: &SimVoltArgs, ctx: &Context) -> Result<(), CliError> {
    // Arguments → parameters.
    let mut files = Files::new();
    a.layout.declare(&mut files)?;
    a.pointing.declare(&mut files)?;
    files.output("--out", &a.out)?;
    let layout = a.layout.layout()?;
    let sky = SkyModel::new(a.pointing.components()?)?;
    if a.nsamples == 0 {
        return Err(CliError::arg("--nsamples", 0, "at least one sample"));
    }
    if !(a.sample_rate_hz > 0.0 && a.sample_rate_hz.is_finite()) {
        return Err(CliError::arg(
            "--sample-rate-hz",
            a.sample_rate_hz,
            "a positive rate",
        ));
    }
    let bytes_per_sample = match a.bits {
        8 => 2.0,
        16 => 4.0,
        _ => 8.0,
    };
    budget::check_disk(
        &a.out,
        a.nsamples as f64 * layout.n_ant() as f64 * 2.0 * bytes_per_sample,
        "ask for fewer samples (--nsamples) or stations (--layout), or write elsewhere",
    )?;
    // Blocks of samples (bounded by the simulator), the delays of every source at every
    // antenna, the sky.
    budget::check_memory(
        "simulate voltages",
        512e6 + sky.len() as f64 * (COMPONENT_BYTES + 16.0 * layout.n_ant() as f64),
        "give fewer sources (--sky, --source) or stations (--layout)",
    )?;
    let cfg = VoltageConfig {
        phase_centre: a.pointing.centre()?,
        start_jd_utc: a
            .pointing
            .start_jd(&layout, a.nsamples as f64 / a.sample_rate_hz)?,
        centre_freq_hz: a.centre_freq_hz,
        sample_rate_hz: a.sample_rate_hz,
        system_noise_jy: a.system_noise_jy,
        seed: a.seed,
        block_len: None,
    };
    let sim = VoltageSimulator::new(&layout, &sky, &cfg)?;
    let opts = VoltageFileOptions {
        bits: a.bits,
        scale: a.scale,
    };
    // Run.
    let t0 = Instant::now();
    let sum = simulate_voltages_file(
        &a.out,
        &sim,
        &layout,
        a.nsamples,
        opts,
        &ctx.history(),
        &ctx.progress("simulate"),
    )?;
    ctx.say(&format!(
        "wrote {}: {} samples × {} antennas × 2 pols, {}-bit, scale {:.4e} sqrt(Jy)/unit, {} clipped parts, {:.2} s",
        a.out.display(),
        a.nsamples,
        layout.n_ant(),
        a.bits,
        sum.voltage_scale,
        sum.clipped,
        t0.elapsed().as_secs_f64()
    ))?;
    files.commit()
}
