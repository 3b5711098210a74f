//! The `fxgrid` command-line tool. Raw arguments are parsed by clap, validated into library
//! parameters, then passed to library calls; errors print one line and exit non-zero.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use fxgrid::sky::{
    predict, random_field, Component, PredictConfig, PredictPrecision, RandomFieldConfig, SkyModel,
};
use fxgrid::telescope::{
    default_day_jd_utc, ska_low_like, ska_mid_like, transit_centred_start, ArrayLayout,
    LatLonHeight, Observation, RaDec, SKA_LOW_SITE,
};

#[derive(Parser, Debug)]
#[command(
    name = "fxgrid",
    version,
    about = "SKA-style FX correlation and imaging"
)]
struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// More output (timings of each stage).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// No output except errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Simulate data.
    #[command(subcommand)]
    Simulate(Box<Simulate>),
    /// Print a human-readable summary of an fxgrid or UVH5 file.
    Info {
        /// The file.
        file: PathBuf,
    },
    /// Channelise an fxgrid voltage file with a polyphase filterbank, streaming.
    Channelise(ChanneliseArgs),
    /// Correlate an fxgrid spectra file into visibilities (UVH5), streaming the spectra.
    Correlate(CorrelateArgs),
    /// Make a dirty image (and optionally the PSF) of the Stokes I data of a UVH5 file.
    Image(Box<ImageArgs>),
    /// Predict visibilities of a FITS model image on the samples of a UVH5 file.
    Predict(PredictArgs),
}

#[derive(Args, Debug)]
struct ImageArgs {
    /// Input UVH5 visibilities.
    input: PathBuf,
    /// Image size in pixels (square).
    #[arg(long)]
    npix: usize,
    /// Pixel size in arcseconds (default: a third of the finest fringe at the top frequency).
    #[arg(long, conflicts_with = "fov_deg")]
    cell_arcsec: Option<f64>,
    /// Field of view in degrees (sets the pixel size to fov / npix).
    #[arg(long)]
    fov_deg: Option<f64>,
    /// Weighting: natural, uniform or briggs:R (R in [-2, 2]).
    #[arg(long, default_value = "natural")]
    weight: String,
    /// Gridding accuracy (relative L2 error against the direct Fourier sum).
    #[arg(long, default_value_t = 1e-6)]
    epsilon: f64,
    /// Gridding precision, f32 or f64.
    #[arg(long, default_value = "f64")]
    precision: String,
    /// Apply the w-term by w-stacking (default: when it exceeds 0.05 turn in the field).
    #[arg(long, conflicts_with = "no_wstack")]
    wstack: bool,
    /// Ignore the w-term.
    #[arg(long)]
    no_wstack: bool,
    /// Channels A:B (0-based, B exclusive; default all).
    #[arg(long)]
    channels: Option<String>,
    /// One image plane per channel instead of one multi-frequency plane.
    #[arg(long)]
    per_channel: bool,
    /// Phase centre of the image, RA_DEG,DEC_DEG (ICRS; default: the file's phase centre,
    /// or the zenith at the middle of the observation for drift-scan data).
    #[arg(long, allow_hyphen_values = true)]
    phase_centre: Option<String>,
    /// Keep baselines with lengths MIN:MAX metres (MAX exclusive; either may be empty).
    #[arg(long)]
    baseline_m: Option<String>,
    /// Keep times A:B (Julian Date UTC, B exclusive; either may be empty).
    #[arg(long)]
    time_jd: Option<String>,
    /// Samples (baseline-time × channel × polarisation) read per block: memory use is the
    /// grids plus about 40 bytes per sample of one block.
    #[arg(long, default_value_t = 1 << 23)]
    block_samples: usize,
    /// Also write the point spread function to this FITS file.
    #[arg(long)]
    psf: Option<PathBuf>,
    /// Also write a PNG preview (first plane).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Write a JSON report (parameters and the wall time of each stage).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Output FITS dirty image.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// Model image (FITS, Jy per pixel, Stokes I, phase centre at the reference pixel).
    model: PathBuf,
    /// UVH5 file whose samples (uvw, times, frequencies) are predicted.
    vis: PathBuf,
    /// Gridding accuracy.
    #[arg(long, default_value_t = 1e-6)]
    epsilon: f64,
    /// Gridding precision, f32 or f64.
    #[arg(long, default_value = "f64")]
    precision: String,
    /// Output UVH5 file (the input with the data replaced by the model).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct CorrelateArgs {
    /// Input spectra file.
    input: PathBuf,
    /// Spectra per integration.
    #[arg(long)]
    int_spectra: usize,
    /// Accumulate integrations in f64 (for long integrations).
    #[arg(long)]
    f64: bool,
    /// Output UVH5 file.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand, Debug)]
enum Simulate {
    /// Predict visibilities of a sky model by direct Fourier transform and write UVH5.
    Vis(SimVisArgs),
    /// Simulate antenna voltages of point sources plus receiver noise and write an fxgrid
    /// voltage file (HDF5), streaming.
    Voltages(SimVoltArgs),
}

#[derive(Args, Debug)]
struct LayoutArgs {
    /// Array: `ska-low[:N]` (N stations, default 512), `ska-mid`, or a CSV file
    /// `name,east_m,north_m,up_m`.
    #[arg(long, default_value = "ska-low")]
    layout: String,
    /// Site of a CSV layout: `LAT_DEG,LON_DEG,HEIGHT_M` (default: the SKA-Low site).
    #[arg(long, value_name = "LAT,LON,H")]
    site: Option<String>,
    /// Seed of the synthetic layouts.
    #[arg(long, default_value_t = 1)]
    layout_seed: u64,
}

/// Where the array points and what it sees: shared by the simulators.
#[derive(Args, Debug)]
struct PointingArgs {
    /// Sky-model file (fxgrid text format; `simulate voltages` takes point components only).
    #[arg(long)]
    sky: Option<PathBuf>,
    /// A point source `RA_DEG,DEC_DEG,FLUX_JY` (flat spectrum); may be repeated.
    #[arg(long, value_name = "RA,DEC,FLUX", allow_hyphen_values = true)]
    source: Vec<String>,
    /// Phase-centre right ascension (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    ra_deg: f64,
    /// Phase-centre declination (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    dec_deg: f64,
    /// Julian Date (UTC) of the start of the data (default: centred on the phase centre's
    /// transit on 2025-06-01).
    #[arg(long)]
    start_jd: Option<f64>,
}

#[derive(Args, Debug)]
struct SimVoltArgs {
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

#[derive(Args, Debug)]
struct ChanneliseArgs {
    /// Input voltage file.
    input: PathBuf,
    /// Number of channels N.
    #[arg(long, default_value_t = 4096)]
    nchan: usize,
    /// Taps per channel T.
    #[arg(long, default_value_t = 12)]
    taps: usize,
    /// Window of the prototype: kaiser:BETA, hann, hamming or blackman-harris.
    #[arg(long, default_value = "kaiser:9")]
    window: String,
    /// Oversampling P/Q (1 = critically sampled; SKA-Low uses 32/27).
    #[arg(long, default_value = "1")]
    oversample: String,
    /// Output spectra file.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct SimVisArgs {
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

type CliResult<T> = Result<T, String>;

fn parse_triplet(s: &str, what: &str) -> CliResult<[f64; 3]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what} {s:?}: {e}"))?;
    v.try_into().map_err(|v: Vec<f64>| {
        format!(
            "{what} {s:?}: expected 3 comma-separated numbers, found {}",
            v.len()
        )
    })
}

fn layout_from_arg(a: &LayoutArgs) -> CliResult<ArrayLayout> {
    let spec = a.layout.as_str();
    if let Some(rest) = spec.strip_prefix("ska-low") {
        let n = match rest.strip_prefix(':') {
            Some(n) => n
                .parse::<usize>()
                .map_err(|e| format!("--layout {spec:?}: station count: {e}"))?,
            None if rest.is_empty() => 512,
            None => return Err(format!("--layout {spec:?}: expected ska-low or ska-low:N")),
        };
        return ska_low_like(n, a.layout_seed).map_err(|e| e.to_string());
    }
    if spec == "ska-mid" {
        return ska_mid_like(a.layout_seed).map_err(|e| e.to_string());
    }
    let site = match &a.site {
        Some(s) => {
            let [lat, lon, h] = parse_triplet(s, "--site")?;
            LatLonHeight::from_degrees(lat, lon, h)
        }
        None => SKA_LOW_SITE,
    };
    let path = PathBuf::from(spec);
    if !path.exists() {
        return Err(format!(
            "--layout {spec:?}: not ska-low[:N], ska-mid, or an existing CSV file"
        ));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    ArrayLayout::from_csv(&path, &name, site).map_err(|e| e.to_string())
}

fn simulate_vis(a: &SimVisArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    let t0 = Instant::now();
    let layout = layout_from_arg(&a.layout)?;
    let centre = phase_centre(a.pointing.ra_deg, a.pointing.dec_deg)?;
    let mut comps = sky_from_args(&a.pointing.sky, &a.pointing.source)?;
    if a.random_sources > 0 {
        let rf = random_field(&RandomFieldConfig {
            n_sources: a.random_sources,
            centre,
            radius_rad: a.field_radius_deg.to_radians(),
            ref_freq_hz: a.freq_start_hz,
            seed: a.seed,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        comps.extend(rf.components);
    }
    let sky = SkyModel::new(comps).map_err(|e| e.to_string())?;
    let start_jd_utc = start_time(
        a.pointing.start_jd,
        &layout,
        centre,
        a.ntimes as f64 * a.int_time_s,
    )?;
    let obs = Observation {
        phase_centre: centre,
        start_jd_utc,
        n_times: a.ntimes,
        int_time_s: a.int_time_s,
        freq_start_hz: a.freq_start_hz,
        chan_width_hz: a.chan_width_hz,
        n_chan: a.nchan,
    };
    let precision = match a.precision.as_str() {
        "f32" => PredictPrecision::F32,
        "f64" => PredictPrecision::F64,
        other => return Err(format!("--precision {other:?}: expected f32 or f64")),
    };
    let cfg = PredictConfig {
        noise_jy: a.noise_jy,
        seed: a.seed,
        precision,
        include_autos: !a.no_autos,
        history_note: format!("Command: {command_line}"),
    };
    let t1 = Instant::now();
    let vis = predict(&layout, &obs, &sky, &cfg).map_err(|e| e.to_string())?;
    let t2 = Instant::now();
    write_vis(&a.out, &vis)?;
    let t3 = Instant::now();
    if !cli.quiet {
        println!(
            "wrote {}: {} antennas, {} baselines, {} times, {} channels, {} pols, {} components",
            a.out.display(),
            layout.n_ant(),
            vis.n_baselines(),
            vis.n_times(),
            vis.n_chan(),
            vis.n_pols(),
            sky.len()
        );
    }
    if cli.verbose {
        eprintln!(
            "timings: setup {:.3} s, predict {:.3} s, write {:.3} s",
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64()
        );
    }
    Ok(())
}

fn sky_from_args(sky: &Option<PathBuf>, sources: &[String]) -> CliResult<Vec<Component>> {
    let mut comps = Vec::new();
    if let Some(p) = sky {
        comps.extend(SkyModel::read(p).map_err(|e| e.to_string())?.components);
    }
    for s in sources {
        let [ra, dec, flux] = parse_triplet(s, "--source")?;
        comps.push(Component::point(RaDec::from_degrees(ra, dec), flux));
    }
    Ok(comps)
}

/// `--start-jd`, or by default the start that centres `duration_s` on the transit of
/// `centre` on the default observing day.
fn start_time(
    start_jd: Option<f64>,
    layout: &ArrayLayout,
    centre: RaDec,
    duration_s: f64,
) -> CliResult<f64> {
    match start_jd {
        Some(j) => Ok(j),
        None => transit_centred_start(layout, centre, default_day_jd_utc(), duration_s)
            .map_err(|e| e.to_string()),
    }
}

fn phase_centre(ra_deg: f64, dec_deg: f64) -> CliResult<RaDec> {
    let centre = RaDec::from_degrees(ra_deg, dec_deg);
    if centre.is_valid() {
        Ok(centre)
    } else {
        Err(format!(
            "--ra-deg {ra_deg} --dec-deg {dec_deg}: not a sky direction (|Dec| <= 90)"
        ))
    }
}

#[cfg(feature = "hdf5")]
fn simulate_voltages(a: &SimVoltArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    use fxgrid::io::voltages::{simulate_voltages_file, VoltageFileOptions};
    use fxgrid::sky::{VoltageConfig, VoltageSimulator};
    let layout = layout_from_arg(&a.layout)?;
    let centre = phase_centre(a.pointing.ra_deg, a.pointing.dec_deg)?;
    let sky = SkyModel::new(sky_from_args(&a.pointing.sky, &a.pointing.source)?)
        .map_err(|e| e.to_string())?;
    if a.nsamples == 0 {
        return Err("--nsamples 0: expected at least one sample".into());
    }
    if !(a.sample_rate_hz > 0.0 && a.sample_rate_hz.is_finite()) {
        return Err(format!(
            "--sample-rate-hz {}: expected a positive rate",
            a.sample_rate_hz
        ));
    }
    let start_jd_utc = start_time(
        a.pointing.start_jd,
        &layout,
        centre,
        a.nsamples as f64 / a.sample_rate_hz,
    )?;
    let cfg = VoltageConfig {
        phase_centre: centre,
        start_jd_utc,
        centre_freq_hz: a.centre_freq_hz,
        sample_rate_hz: a.sample_rate_hz,
        system_noise_jy: a.system_noise_jy,
        seed: a.seed,
        block_len: None,
    };
    let sim = VoltageSimulator::new(&layout, &sky, &cfg).map_err(|e| e.to_string())?;
    let opts = VoltageFileOptions {
        bits: a.bits,
        scale: a.scale,
    };
    let t0 = Instant::now();
    let sum = simulate_voltages_file(
        &a.out,
        &sim,
        &layout,
        a.nsamples,
        opts,
        &format!("Command: {command_line}"),
    )
    .map_err(|e| e.to_string())?;
    if !cli.quiet {
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

#[cfg(feature = "hdf5")]
fn parse_oversampling(s: &str) -> CliResult<(usize, usize)> {
    let bad = || format!("--oversample {s:?}: expected P/Q with integers P >= Q >= 1, or 1");
    let (p, q) = match s.split_once('/') {
        Some((p, q)) => (
            p.trim().parse().map_err(|_| bad())?,
            q.trim().parse().map_err(|_| bad())?,
        ),
        None => (s.trim().parse().map_err(|_| bad())?, 1),
    };
    if q == 0 || p < q {
        return Err(bad());
    }
    Ok((p, q))
}

#[cfg(feature = "hdf5")]
fn channelise(a: &ChanneliseArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    use fxgrid::channelise::{PfbConfig, Window};
    let cfg = PfbConfig {
        n_chan: a.nchan,
        n_taps: a.taps,
        window: Window::parse(&a.window).map_err(|e| e.to_string())?,
        oversampling: parse_oversampling(&a.oversample)?,
        ..Default::default()
    };
    let t0 = Instant::now();
    let sum = fxgrid::io::voltages::channelise_file(
        &a.input,
        &a.out,
        &cfg,
        &format!("Command: {command_line}"),
    )
    .map_err(|e| e.to_string())?;
    if !cli.quiet {
        println!(
            "wrote {}: {} spectra, {:.2} s",
            a.out.display(),
            sum.n_written,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn correlate(a: &CorrelateArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    let t0 = Instant::now();
    let sum = fxgrid::io::voltages::correlate_file(
        &a.input,
        &a.out,
        a.int_spectra,
        a.f64,
        &format!("Command: {command_line}"),
    )
    .map_err(|e| e.to_string())?;
    if !cli.quiet {
        println!(
            "wrote {}: {} integrations of {} spectra{}{}, {:.2} s",
            a.out.display(),
            sum.n_integrations,
            a.int_spectra,
            if sum.in_jy {
                ", in Jy"
            } else {
                ", uncalibrated"
            },
            if sum.dropped_spectra > 0 {
                format!(" ({} trailing spectra dropped)", sum.dropped_spectra)
            } else {
                String::new()
            },
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn parse_precision(s: &str) -> CliResult<fxgrid::grid::Precision> {
    match s {
        "f32" => Ok(fxgrid::grid::Precision::F32),
        "f64" => Ok(fxgrid::grid::Precision::F64),
        other => Err(format!("--precision {other}: expected f32 or f64")),
    }
}

fn parse_channels(s: &str) -> CliResult<std::ops::Range<usize>> {
    let bad = || format!("--channels {s}: expected A:B with 0 <= A < B");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    if a >= b {
        return Err(format!("--channels {s}: the range is empty"));
    }
    Ok(a..b)
}

fn parse_range(s: &str, what: &str) -> CliResult<std::ops::Range<f64>> {
    let bad = || format!("{what} {s}: expected MIN:MAX with MIN < MAX (either may be empty)");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let num = |x: &str, d: f64| -> CliResult<f64> {
        let x = x.trim();
        if x.is_empty() {
            Ok(d)
        } else {
            x.parse::<f64>()
                .ok()
                .filter(|v| !v.is_nan())
                .ok_or_else(bad)
        }
    };
    let (lo, hi) = (num(a, f64::NEG_INFINITY)?, num(b, f64::INFINITY)?);
    if lo >= hi {
        return Err(format!("{what} {s}: the range is empty"));
    }
    Ok(lo..hi)
}

#[cfg(feature = "hdf5")]
fn image(a: &ImageArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    use fxgrid::image::from_file::{image_uvh5, FileSelection};
    use fxgrid::image::{preview::write_preview, ImagingConfig};
    use fxgrid::io::fits::write_fits;
    let t0 = Instant::now();
    if a.npix < 2 {
        return Err(format!("--npix {}: expected at least 2", a.npix));
    }
    let weighting: fxgrid::grid::weighting::Weighting = a
        .weight
        .parse()
        .map_err(|e: fxgrid::grid::GridError| e.to_string())?;
    let precision = parse_precision(&a.precision)?;
    let channels = a.channels.as_deref().map(parse_channels).transpose()?;
    if !(a.epsilon > 0.0 && a.epsilon < 1.0) {
        return Err(format!("--epsilon {}: expected 0 < epsilon < 1", a.epsilon));
    }
    let phase_centre = match &a.phase_centre {
        None => None,
        Some(s) => {
            let bad = || format!("--phase-centre {s}: expected RA_DEG,DEC_DEG");
            let (r, d) = s.split_once(',').ok_or_else(bad)?;
            let r: f64 = r.trim().parse().map_err(|_| bad())?;
            let d: f64 = d.trim().parse().map_err(|_| bad())?;
            Some(phase_centre(r, d)?)
        }
    };
    if a.block_samples == 0 {
        return Err("--block-samples 0: expected at least 1".into());
    }
    let selection = FileSelection {
        phase_centre,
        baseline_m: a
            .baseline_m
            .as_deref()
            .map(|s| parse_range(s, "--baseline-m"))
            .transpose()?,
        time_jd: a
            .time_jd
            .as_deref()
            .map(|s| parse_range(s, "--time-jd"))
            .transpose()?,
        block_samples: a.block_samples,
    };
    let cell_rad = match (a.cell_arcsec, a.fov_deg) {
        (Some(c), _) => {
            if !(c > 0.0 && c.is_finite()) {
                return Err(format!("--cell-arcsec {c}: expected a positive size"));
            }
            (c / 3600.0).to_radians()
        }
        (None, Some(f)) => {
            if !(f > 0.0 && f < 180.0) {
                return Err(format!("--fov-deg {f}: expected 0 < fov < 180"));
            }
            f.to_radians() / a.npix as f64
        }
        (None, None) => 0.0,
    };
    let field = cell_rad * a.npix as f64;
    if field >= 2.0 {
        return Err(format!(
            "the field ({:.2} deg = {} pixels of {:.2} arcsec) does not fit in the sky hemisphere",
            field.to_degrees(),
            a.npix,
            cell_rad.to_degrees() * 3600.0
        ));
    }
    let cfg = ImagingConfig {
        npix_x: a.npix,
        npix_y: a.npix,
        cell_rad,
        weighting,
        epsilon: a.epsilon,
        precision,
        wstacking: if a.wstack {
            Some(true)
        } else if a.no_wstack {
            Some(false)
        } else {
            None
        },
        channels,
        per_channel: a.per_channel,
    };
    let (mut dirty, mut psf, file_rep) =
        image_uvh5(&a.input, &cfg, &selection).map_err(|e| e.to_string())?;
    let rep = &file_rep.imaging;
    let cell_rad = file_rep.cell_rad;
    dirty.history.push(format!("Command: {command_line}"));
    psf.history.push(format!("Command: {command_line}"));
    let t2 = Instant::now();
    write_fits(&a.out, &dirty).map_err(|e| e.to_string())?;
    if let Some(p) = &a.psf {
        write_fits(p, &psf).map_err(|e| e.to_string())?;
    }
    if let Some(p) = &a.png {
        let title = format!(
            "{} — dirty image, {:.3} MHz",
            a.input
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            dirty.geometry.freqs_hz[0] / 1e6
        );
        write_preview(p, &dirty, 0, &title).map_err(|e| e.to_string())?;
    }
    let t_write = t2.elapsed().as_secs_f64();
    let (pk_r, pk_c, pk_v) = dirty.peak(0);
    if let Some(path) = &a.report {
        let g = &rep.grid[0];
        let sum = |f: fn(&fxgrid::grid::StageTimes) -> f64| {
            rep.grid.iter().map(|g| f(&g.times)).sum::<f64>()
        };
        let json = serde_json::json!({
            "fxgrid": fxgrid::VERSION,
            "input": a.input.display().to_string(),
            "output": a.out.display().to_string(),
            "npix": a.npix,
            "cell_arcsec": cell_rad.to_degrees() * 3600.0,
            "weighting": weighting.describe(),
            "epsilon": a.epsilon,
            "precision": a.precision,
            "wstacking": rep.wstacking,
            "planes": dirty.data.dim().0,
            "blocks": file_rep.blocks,
            "n_blts": file_rep.n_blts,
            "rows_selected": file_rep.n_rows_selected,
            "nonfinite_flagged": file_rep.n_nonfinite,
            "phase_centre_deg": [file_rep.phase_centre.ra_rad.to_degrees(), file_rep.phase_centre.dec_rad.to_degrees()],
            "rephased": file_rep.rephased,
            "n_vis": rep.n_vis,
            "weight_sum": rep.weight_sum,
            "kernel": {
                "support": g.params.support, "beta": g.params.beta,
                "oversampling": g.params.sigma, "grid": [g.params.nu, g.params.nv],
                "w_planes": g.params.n_planes, "w_spacing_lambda": g.params.dw,
                "polynomial_degree": g.kernel_degree,
                "estimated_error": g.params.estimated_error,
            },
            "seconds": {
                "scan": file_rep.scan_s,
                "read": file_rep.read_s,
                "bucket": sum(|t| t.bucket_s),
                "grid": sum(|t| t.grid_s),
                "fft": sum(|t| t.fft_s),
                "correction": sum(|t| t.correct_s),
                "select_and_grid": file_rep.grid_s,
                "write": t_write,
                "total": t0.elapsed().as_secs_f64(),
            },
            "peak": {"row": pk_r, "col": pk_c, "value": pk_v},
        });
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        fxgrid::io::write_atomically(path, |tmp| {
            std::fs::write(tmp, text.as_bytes()).map_err(|source| fxgrid::io::IoError::Os {
                path: path.display().to_string(),
                source,
            })
        })
        .map_err(|e| e.to_string())?;
    }
    if !cli.quiet {
        let peak = dirty.geometry.pixel_to_radec(pk_r as f64, pk_c as f64);
        println!(
            "wrote {}: {}x{} pixels of {:.3} arcsec, {} plane(s), {} samples in {} block(s){}, w-stacking {}; peak {:.4} Jy/beam at pixel ({pk_c}, {pk_r}){}; {:.2} s",
            a.out.display(),
            a.npix,
            a.npix,
            cell_rad.to_degrees() * 3600.0,
            dirty.data.dim().0,
            rep.n_vis,
            file_rep.blocks,
            if file_rep.n_nonfinite > 0 { format!(" ({} non-finite flagged)", file_rep.n_nonfinite) } else { String::new() },
            if rep.wstacking { "on" } else { "off" },
            pk_v,
            peak.map(|p| format!(" = RA {:.5}° Dec {:.5}°", p.ra_rad.to_degrees(), p.dec_rad.to_degrees())).unwrap_or_default(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn predict_model(a: &PredictArgs, cli: &Cli, command_line: &str) -> CliResult<()> {
    let t0 = Instant::now();
    let precision = parse_precision(&a.precision)?;
    let model = fxgrid::io::fits::read_fits(&a.model).map_err(|e| e.to_string())?;
    let mut vis = fxgrid::io::uvh5::read_uvh5(&a.vis).map_err(|e| e.to_string())?;
    let rep = fxgrid::image::predict_into(&model, &mut vis, a.epsilon, precision, None)
        .map_err(|e| e.to_string())?;
    let meta = vis.meta_mut();
    meta.units = fxgrid::VisUnits::Jy;
    meta.history = format!(
        "{}\nfxgrid {} predict from {} (epsilon {:e}). Command: {command_line}",
        meta.history,
        fxgrid::VERSION,
        a.model.display(),
        a.epsilon
    );
    write_vis(&a.out, &vis)?;
    if !cli.quiet {
        println!(
            "wrote {}: {} samples predicted from {} ({}x{} pixels, W={}, {} w-planes), {:.2} s",
            a.out.display(),
            rep.n_vis,
            a.model.display(),
            model.geometry.npix_x,
            model.geometry.npix_y,
            rep.params.support,
            rep.params.n_planes,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(not(feature = "hdf5"))]
fn image(_: &ImageArgs, _: &Cli, _: &str) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(not(feature = "hdf5"))]
fn predict_model(_: &PredictArgs, _: &Cli, _: &str) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(not(feature = "hdf5"))]
fn correlate(_: &CorrelateArgs, _: &Cli, _: &str) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(not(feature = "hdf5"))]
fn simulate_voltages(_: &SimVoltArgs, _: &Cli, _: &str) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(not(feature = "hdf5"))]
fn channelise(_: &ChanneliseArgs, _: &Cli, _: &str) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(feature = "hdf5")]
fn write_vis(path: &std::path::Path, vis: &fxgrid::Visibilities) -> CliResult<()> {
    fxgrid::io::uvh5::write_uvh5(path, vis).map_err(|e| e.to_string())
}

#[cfg(feature = "hdf5")]
fn summarise(path: &std::path::Path) -> CliResult<String> {
    fxgrid::io::uvh5::summarise(path).map_err(|e| e.to_string())
}

#[cfg(not(feature = "hdf5"))]
const NO_HDF5: &str =
    "this fxgrid was built without the `hdf5` feature: HDF5 files cannot be read or written";

#[cfg(not(feature = "hdf5"))]
fn write_vis(_: &std::path::Path, _: &fxgrid::Visibilities) -> CliResult<()> {
    Err(NO_HDF5.into())
}

#[cfg(not(feature = "hdf5"))]
fn summarise(_: &std::path::Path) -> CliResult<String> {
    Err(NO_HDF5.into())
}

fn run(cli: &Cli) -> CliResult<()> {
    if let Some(n) = cli.threads {
        if n == 0 {
            return Err("--threads 0: expected at least 1".into());
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    let command_line: Vec<String> = std::env::args().collect();
    match &cli.command {
        Command::Simulate(sim) => match sim.as_ref() {
            Simulate::Vis(a) => simulate_vis(a, cli, &command_line.join(" ")),
            Simulate::Voltages(a) => simulate_voltages(a, cli, &command_line.join(" ")),
        },
        Command::Channelise(a) => channelise(a, cli, &command_line.join(" ")),
        Command::Correlate(a) => correlate(a, cli, &command_line.join(" ")),
        Command::Image(a) => image(a, cli, &command_line.join(" ")),
        Command::Predict(a) => predict_model(a, cli, &command_line.join(" ")),
        Command::Info { file } => {
            let s = summarise(file)?;
            if !cli.quiet {
                print!("{s}");
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
