//! `fxgrid simulate vis` (direct-Fourier prediction of a sky model, written as UVH5) and
//! `fxgrid simulate voltages` (antenna voltages, written as an fxgrid voltage file).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};

use super::args::{LayoutArgs, PointingArgs};
use super::{CliError, Context};
use fxgrid::fx::files::{simulate_voltages_file, VoltageFileOptions};
use fxgrid::sky::{
    predict, random_field, PredictConfig, RandomFieldConfig, SkyModel, VoltageConfig,
    VoltageSimulator,
};
use fxgrid::telescope::Observation;
use fxgrid::Precision;

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
    let layout = a.layout.layout()?;
    let centre = a.pointing.centre()?;
    let precision = Precision::from_name(&a.precision)
        .ok_or_else(|| CliError::arg("--precision", &a.precision, "f32 or f64"))?;
    let mut comps = a.pointing.components()?;
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
    let cfg = PredictConfig {
        noise_jy: a.noise_jy,
        seed: a.seed,
        precision,
        include_autos: !a.no_autos,
        history_note: ctx.history(),
    };
    // Run.
    let t1 = Instant::now();
    let vis = predict(&layout, &obs, &sky, &cfg)?;
    let t2 = Instant::now();
    fxgrid::io::write_visibilities(&a.out, &vis)?;
    if let Some(p) = &a.sky_out {
        fxgrid::io::write_bytes_atomically(p, sky.to_text().as_bytes())?;
    }
    let t3 = Instant::now();
    if !ctx.quiet {
        println!(
            "wrote {}: {} antennas, {} baselines, {} times, {} channels, {} pols, {} components{}",
            a.out.display(),
            layout.n_ant(),
            vis.n_baselines(),
            vis.n_times(),
            vis.n_chan(),
            vis.n_pols(),
            sky.len(),
            a.sky_out
                .as_ref()
                .map(|p| format!(" (listed in {})", p.display()))
                .unwrap_or_default()
        );
    }
    if ctx.verbose {
        eprintln!(
            "timings: setup {:.3} s, predict {:.3} s, write {:.3} s",
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64()
        );
    }
    Ok(())
}

/// Simulates and writes the voltages.
pub fn run_voltages(a: &SimVoltArgs, ctx: &Context) -> Result<(), CliError> {
    // Arguments → parameters.
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
    if !ctx.quiet {
        println!(
            "wrote {}: {} samples × {} antennas × 2 pols, {}-bit, scale {:.4e} sqrt(Jy)/unit, {} clipped parts, {:.2} s",
            a.out.display(),
            a.nsamples,
            layout.n_ant(),
            a.bits,
            sum.voltage_scale,
            sum.clipped,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
