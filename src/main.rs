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
}

#[derive(Subcommand, Debug)]
enum Simulate {
    /// Predict visibilities of a sky model by direct Fourier transform and write UVH5.
    Vis(SimVisArgs),
}

#[derive(Args, Debug)]
struct SimVisArgs {
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
    /// Sky-model file (fxgrid text format).
    #[arg(long)]
    sky: Option<PathBuf>,
    /// A point source `RA_DEG,DEC_DEG,FLUX_JY` (flat spectrum); may be repeated.
    #[arg(long, value_name = "RA,DEC,FLUX", allow_hyphen_values = true)]
    source: Vec<String>,
    /// Add N random point sources around the phase centre.
    #[arg(long, default_value_t = 0)]
    random_sources: usize,
    /// Radius of the random field (deg).
    #[arg(long, default_value_t = 2.0)]
    field_radius_deg: f64,
    /// Phase-centre right ascension (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    ra_deg: f64,
    /// Phase-centre declination (deg, ICRS).
    #[arg(long, allow_hyphen_values = true)]
    dec_deg: f64,
    /// Start of the first integration, Julian Date UTC (default: centred on the phase
    /// centre's transit on 2025-06-01).
    #[arg(long)]
    start_jd: Option<f64>,
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

fn layout_from_arg(a: &SimVisArgs) -> CliResult<ArrayLayout> {
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
    let layout = layout_from_arg(a)?;
    let centre = RaDec::from_degrees(a.ra_deg, a.dec_deg);
    if !centre.is_valid() {
        return Err(format!(
            "--ra-deg {} --dec-deg {}: not a sky direction (|Dec| <= 90)",
            a.ra_deg, a.dec_deg
        ));
    }
    let mut comps = Vec::new();
    if let Some(p) = &a.sky {
        comps.extend(SkyModel::read(p).map_err(|e| e.to_string())?.components);
    }
    for s in &a.source {
        let [ra, dec, flux] = parse_triplet(s, "--source")?;
        comps.push(Component::point(RaDec::from_degrees(ra, dec), flux));
    }
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
    let duration_s = a.ntimes as f64 * a.int_time_s;
    let start_jd_utc = match a.start_jd {
        Some(j) => j,
        None => transit_centred_start(&layout, centre, default_day_jd_utc(), duration_s)
            .map_err(|e| e.to_string())?,
    };
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
        },
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
