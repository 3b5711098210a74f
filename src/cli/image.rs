//! `fxgrid image`: the dirty image (and PSF, PNG preview, report) of a UVH5 file's
//! Stokes I data, streamed in blocks.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::args::{parse_channels, parse_precision, parse_range, radec};
use super::budget;
use super::outputs::Files;
use super::{report, CliError, Context};
use fxgrid::deconvolve::{BeamFit, CleanConfig, MultiscaleConfig};
use fxgrid::grid::weighting::{RankFilter, Weighting};
use fxgrid::image::{Image, ImagingConfig};
use fxgrid::imaging::{clean_uvh5, image_file, CleanFileReport, FileReport, FileSelection};
use fxgrid::io::fits::write_fits;
use fxgrid::plot::preview::write_preview;

/// Arguments of `image`.
#[derive(Args, Debug)]
pub struct ImageArgs {
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
    /// Uniform and Briggs weighting: cap each uv cell's weight at this many times the mean
    /// of the occupied cells around it (WSClean's -weighting-rank-filter; 0 turns it off).
    #[arg(long, default_value_t = 3.0)]
    weight_rank_filter: f64,
    /// The box of --weight-rank-filter, in cells of the weighting grid.
    #[arg(long, default_value_t = 16)]
    weight_rank_filter_size: usize,
    /// Gridding accuracy (relative L2 error against the direct Fourier sum; default 1e-6
    /// in f64, 1e-5 in f32).
    #[arg(long)]
    epsilon: Option<f64>,
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
    /// Measurement Sets: the visibility column, DATA, CORRECTED_DATA or MODEL_DATA
    /// [default: DATA].
    #[arg(long)]
    data_column: Option<String>,
    /// Most memory (GB) for visibilities held at once. CLEAN holds them all within it, or
    /// else reads the file again in every major cycle (default: half the memory
    /// available); a dirty image grids blocks together up to it, one gridder call each
    /// (default: 0.27 GB).
    #[arg(long)]
    vis_mem_gb: Option<f64>,
    /// Also write the point spread function to this FITS file.
    #[arg(long)]
    psf: Option<PathBuf>,
    /// CLEAN: most minor iterations (0: the dirty image only).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    niter: usize,
    /// CLEAN loop gain, in (0, 1].
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    gain: f64,
    /// CLEAN major-cycle gain: a minor cycle stops when the peak residual has fallen by
    /// this fraction, in (0, 1].
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    mgain: f64,
    /// CLEAN down to this peak residual (Jy/beam).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    threshold_jy: f64,
    /// CLEAN down to this many σ of the residual's noise (median absolute deviation,
    /// estimated again at every major cycle).
    #[arg(long, allow_negative_numbers = true)]
    auto_threshold: Option<f64>,
    /// CLEAN everywhere down to this many σ, then only where components were found down
    /// to the threshold.
    #[arg(long, allow_negative_numbers = true)]
    auto_mask: Option<f64>,
    /// Most major cycles.
    #[arg(long, default_value_t = 20)]
    max_major: usize,
    /// Multi-scale CLEAN: components are Gaussians of several sizes (and points).
    #[arg(long)]
    multiscale: bool,
    /// Multi-scale sizes in pixels, ascending, starting with 0 (default: 0, then twice the
    /// beam, doubling: four scales at most, none beyond a quarter of the image).
    #[arg(long, requires = "multiscale", allow_hyphen_values = true)]
    scales: Option<String>,
    /// Multi-scale bias per doubling of the scale, in (0, 1].
    #[arg(
        long,
        default_value_t = 0.6,
        requires = "multiscale",
        allow_negative_numbers = true
    )]
    multiscale_bias: f64,
    /// Multi-scale loop gain, in (0, 1].
    #[arg(
        long,
        default_value_t = 0.2,
        requires = "multiscale",
        allow_negative_numbers = true
    )]
    multiscale_gain: f64,
    /// Which PSF pixels the restoring beam is fitted to: `wsclean` (WSClean 3.1's fit,
    /// one quadrant of the box from the peak, so beams and restored fluxes compare with
    /// WSClean's) or `full` (the whole box, unchanged when the image is mirrored).
    #[arg(long, default_value_t = BeamFit::Wsclean)]
    beam_fit: BeamFit,
    /// With --niter > 0: write the residual image to this FITS file.
    #[arg(long)]
    residual: Option<PathBuf>,
    /// With --niter > 0: write the model (Jy/pixel) to this FITS file.
    #[arg(long)]
    model: Option<PathBuf>,
    /// With --niter > 0: write the model's components to this sky-model file.
    #[arg(long)]
    components: Option<PathBuf>,
    /// Also write a PNG preview (first plane).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Write a JSON report (parameters and the wall time of each stage).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Output FITS image: the dirty image, or with --niter > 0 the restored image.
    #[arg(long)]
    out: PathBuf,
}

impl ImageArgs {
    /// The weighting rank filter the arguments give (`None`: off).
    fn rank_filter(&self) -> Result<Option<RankFilter>, CliError> {
        let level = self.weight_rank_filter;
        if !(level >= 0.0 && level.is_finite()) {
            return Err(CliError::arg(
                "--weight-rank-filter",
                level,
                "a level ≥ 0 (0: off)",
            ));
        }
        if self.weight_rank_filter_size == 0 {
            return Err(CliError::arg(
                "--weight-rank-filter-size",
                0,
                "a box of at least one cell",
            ));
        }
        Ok((level > 0.0).then_some(RankFilter {
            level,
            size: self.weight_rank_filter_size,
        }))
    }

    /// The pixel size the arguments give (`None`: chosen from the data).
    fn cell_rad(&self) -> Result<Option<f64>, CliError> {
        let cell = match (self.cell_arcsec, self.fov_deg) {
            (Some(c), _) if !(c > 0.0 && c.is_finite()) => {
                return Err(CliError::arg("--cell-arcsec", c, "a positive size"))
            }
            (Some(c), _) => Some((c / 3600.0).to_radians()),
            (None, Some(f)) if !(f > 0.0 && f < 180.0) => {
                return Err(CliError::arg("--fov-deg", f, "0 < fov < 180"))
            }
            (None, Some(f)) => Some(f.to_radians() / self.npix as f64),
            (None, None) => None,
        };
        if let Some(c) = cell {
            if c * self.npix as f64 >= 2.0 {
                return Err(CliError::arg(
                    "--npix",
                    self.npix,
                    format!(
                        "a field ({} pixels of {:.2} arcsec) that fits in the sky hemisphere",
                        self.npix,
                        c.to_degrees() * 3600.0
                    ),
                ));
            }
        }
        Ok(cell)
    }

    /// The clean parameters (checked).
    fn clean_config(&self) -> Result<CleanConfig, CliError> {
        let c = CleanConfig {
            niter: self.niter,
            gain: self.gain,
            mgain: self.mgain,
            threshold_jy: self.threshold_jy,
            auto_threshold: self.auto_threshold,
            auto_mask: self.auto_mask,
            max_major: self.max_major,
            psf_patch: None,
            beam_fit: self.beam_fit,
            multiscale: if self.multiscale {
                Some(MultiscaleConfig {
                    scales: self.scales.as_deref().map(parse_scales).transpose()?,
                    bias: self.multiscale_bias,
                    gain: self.multiscale_gain,
                })
            } else {
                None
            },
        };
        c.validate()?;
        if self.niter == 0 {
            for (flag, given) in [
                ("--residual", self.residual.is_some()),
                ("--model", self.model.is_some()),
                ("--components", self.components.is_some()),
            ] {
                if given {
                    return Err(CliError::arg(
                        flag,
                        "given",
                        "--niter > 0 (there is no clean without iterations)",
                    ));
                }
            }
        }
        Ok(c)
    }

    /// Arguments → imaging parameters and the selection.
    fn params(&self) -> Result<(ImagingConfig, FileSelection), CliError> {
        if self.npix < 2 {
            return Err(CliError::arg("--npix", self.npix, "at least 2"));
        }
        if self.block_samples == 0 {
            return Err(CliError::arg("--block-samples", 0, "at least 1"));
        }
        let weighting: Weighting = self.weight.parse()?;
        let phase_centre = match &self.phase_centre {
            None => None,
            Some(s) => {
                let bad = || CliError::arg("--phase-centre", s, "RA_DEG,DEC_DEG");
                let (r, d) = s.split_once(',').ok_or_else(bad)?;
                let r: f64 = r.trim().parse().map_err(|_| bad())?;
                let d: f64 = d.trim().parse().map_err(|_| bad())?;
                Some(radec(r, d, "--phase-centre")?)
            }
        };
        let selection = FileSelection {
            phase_centre,
            baseline_m: self
                .baseline_m
                .as_deref()
                .map(|s| parse_range(s, "--baseline-m"))
                .transpose()?,
            time_jd: self
                .time_jd
                .as_deref()
                .map(|s| parse_range(s, "--time-jd"))
                .transpose()?,
            block_samples: self.block_samples,
            data_column: self.data_column.clone(),
            vis_memory_bytes: match self.vis_mem_gb {
                None => None,
                Some(g) if g > 0.0 && g.is_finite() => Some((g * 1e9) as usize),
                Some(g) => return Err(CliError::arg("--vis-mem-gb", g, "a positive size in GB")),
            },
        };
        let precision = parse_precision(&self.precision)?;
        let cfg = ImagingConfig {
            npix_x: self.npix,
            npix_y: self.npix,
            cell_rad: self.cell_rad()?,
            weighting,
            weight_rank_filter: self.rank_filter()?,
            epsilon: super::args::epsilon(self.epsilon, precision)?,
            precision,
            wstacking: match (self.wstack, self.no_wstack) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            channels: self.channels.as_deref().map(parse_channels).transpose()?,
            per_channel: self.per_channel,
        };
        Ok((cfg, selection))
    }
}

/// `--scales 0,4,8,16`.
fn parse_scales(s: &str) -> Result<Vec<f64>, CliError> {
    s.split(',')
        .map(|v| {
            v.trim().parse::<f64>().map_err(|_| {
                CliError::arg(
                    "--scales",
                    s,
                    "comma-separated sizes in pixels, e.g. 0,4,8,16",
                )
            })
        })
        .collect()
}

/// What every `--report` of `image` starts with: the command's files and parameters and
/// what was read.
#[derive(Serialize)]
struct FileSummary {
    fxgrid: &'static str,
    input: String,
    output: String,
    npix: usize,
    cell_arcsec: f64,
    weighting: String,
    epsilon: f64,
    precision: &'static str,
    wstacking: bool,
    blocks: usize,
    batches: usize,
    n_blts: usize,
    rows_selected: usize,
    nonfinite_flagged: usize,
    phase_centre_deg: [f64; 2],
    rephased: bool,
}

impl FileSummary {
    fn new(a: &ImageArgs, cfg: &ImagingConfig, f: &FileReport, wstacking: bool) -> Self {
        FileSummary {
            fxgrid: fxgrid::VERSION,
            input: a.input.display().to_string(),
            output: a.out.display().to_string(),
            npix: a.npix,
            cell_arcsec: f.cell_rad.to_degrees() * 3600.0,
            weighting: cfg.weighting_description(),
            epsilon: cfg.epsilon,
            precision: cfg.precision.name(),
            wstacking,
            blocks: f.blocks,
            batches: f.batches,
            n_blts: f.n_blts,
            rows_selected: f.n_rows_selected,
            nonfinite_flagged: f.n_nonfinite,
            phase_centre_deg: [
                f.phase_centre.ra_rad.to_degrees(),
                f.phase_centre.dec_rad.to_degrees(),
            ],
            rephased: f.rephased,
        }
    }
}

/// The `--report` of `image`.
#[derive(Serialize)]
struct ImageReport {
    #[serde(flatten)]
    file: FileSummary,
    planes: usize,
    n_vis: usize,
    weight_sum: f64,
    kernel: KernelReport,
    seconds: Seconds,
    peak: Peak,
    /// The process's peak resident memory (Linux), bytes.
    peak_rss_bytes: Option<u64>,
}

/// The gridder's choices (first plane).
#[derive(Serialize)]
struct KernelReport {
    support: usize,
    beta: f64,
    oversampling: f64,
    grid: [usize; 2],
    w_planes: usize,
    w_spacing_lambda: f64,
    polynomial_degree: usize,
    estimated_error: f64,
}

/// Wall time of each stage.
#[derive(Serialize)]
struct Seconds {
    scan: f64,
    read: f64,
    bucket: f64,
    grid: f64,
    fft: f64,
    correction: f64,
    select_and_grid: f64,
    write: f64,
    total: f64,
}

/// The brightest pixel of plane 0.
#[derive(Serialize)]
struct Peak {
    row: usize,
    col: usize,
    value: f32,
}

impl ImageReport {
    fn new(
        a: &ImageArgs,
        cfg: &ImagingConfig,
        dirty: &Image,
        f: &FileReport,
        times: (f64, f64),
    ) -> Self {
        let rep = &f.imaging;
        let g = &rep.grid[0];
        let sum = |t: fn(&fxgrid::grid::StageTimes) -> f64| -> f64 {
            rep.grid.iter().map(|g| t(&g.times)).sum()
        };
        let (row, col, value) = dirty.peak(0);
        ImageReport {
            file: FileSummary::new(a, cfg, f, rep.wstacking),
            planes: dirty.data.dim().0,
            n_vis: rep.n_vis,
            weight_sum: rep.weight_sum,
            kernel: KernelReport {
                support: g.params.support,
                beta: g.params.beta,
                oversampling: g.params.sigma,
                grid: [g.params.nu, g.params.nv],
                w_planes: g.params.n_planes,
                w_spacing_lambda: g.params.dw,
                polynomial_degree: g.kernel_degree,
                estimated_error: g.params.estimated_error,
            },
            seconds: Seconds {
                scan: f.scan_s,
                read: f.read_s,
                bucket: sum(|t| t.bucket_s),
                grid: sum(|t| t.grid_s),
                fft: sum(|t| t.fft_s),
                correction: sum(|t| t.correct_s),
                select_and_grid: f.grid_s,
                write: times.0,
                total: times.1,
            },
            peak: Peak { row, col, value },
            peak_rss_bytes: peak_rss_bytes(),
        }
    }
}

impl ImageArgs {
    /// Declares the input and claims every output asked for.
    fn files(&self) -> Result<Files, CliError> {
        let mut f = Files::new();
        f.input("INPUT", &self.input)?;
        f.output("--out", &self.out)?;
        f.output_opt("--psf", self.psf.as_ref())?;
        f.output_opt("--png", self.png.as_ref())?;
        f.output_opt("--residual", self.residual.as_ref())?;
        f.output_opt("--model", self.model.as_ref())?;
        f.output_opt("--components", self.components.as_ref())?;
        f.output_opt("--report", self.report.as_ref())?;
        Ok(f)
    }
}

/// Images the file and writes the outputs.
pub fn run(a: &ImageArgs, ctx: &Context) -> Result<(), CliError> {
    let t0 = Instant::now();
    let (cfg, selection) = a.params()?;
    let clean_cfg = a.clean_config()?;
    let files = a.files()?;
    // The padded grids (σ ≤ 2, complex, for the image and the PSF) and the image planes
    // (dirty, PSF, and with CLEAN residual, model, restored); the data come in blocks.
    let npix2 = (a.npix as f64).powi(2);
    let complex = match cfg.precision {
        fxgrid::grid::Precision::F32 => 8.0,
        fxgrid::grid::Precision::F64 => 16.0,
    };
    let planes = if clean_cfg.niter > 0 { 8.0 } else { 3.0 };
    budget::check_memory(
        "image",
        npix2 * (2.0 * 4.0 * complex + planes * 8.0) + 128e6,
        "ask for fewer pixels (--npix)",
    )?;
    if clean_cfg.niter > 0 {
        return run_clean(a, ctx, &cfg, &selection, &clean_cfg, t0, files);
    }
    // The PSF is made only when it is written.
    let (mut dirty, psf, file_rep) = image_file(
        &a.input,
        &cfg,
        &selection,
        a.psf.is_some(),
        &ctx.progress("image"),
    )?;
    dirty.history.push(ctx.history());
    let t_write = Instant::now();
    write_fits(&a.out, &dirty)?;
    if let (Some(p), Some(mut psf)) = (&a.psf, psf) {
        psf.history.push(ctx.history());
        write_fits(p, &psf)?;
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
        write_preview(p, &dirty, 0, &title)?;
    }
    let times = (t_write.elapsed().as_secs_f64(), t0.elapsed().as_secs_f64());
    if let Some(path) = &a.report {
        report::write(path, &ImageReport::new(a, &cfg, &dirty, &file_rep, times))?;
    }
    {
        let rep = &file_rep.imaging;
        let (pk_r, pk_c, pk_v) = dirty.peak(0);
        let peak = dirty.geometry.pixel_to_radec(pk_r as f64, pk_c as f64);
        ctx.say(&format!(
            "wrote {}: {}x{} pixels of {:.3} arcsec, {} plane(s), {} samples in {} block(s){}, w-stacking {}; peak {:.4} Jy/beam at pixel ({pk_c}, {pk_r}){}; {:.2} s",
            a.out.display(),
            a.npix,
            a.npix,
            file_rep.cell_rad.to_degrees() * 3600.0,
            dirty.data.dim().0,
            rep.n_vis,
            file_rep.blocks,
            if file_rep.n_nonfinite > 0 { format!(" ({} non-finite flagged)", file_rep.n_nonfinite) } else { String::new() },
            if rep.wstacking { "on" } else { "off" },
            pk_v,
            peak.map(|p| format!(" = RA {:.5}° Dec {:.5}°", p.ra_rad.to_degrees(), p.dec_rad.to_degrees())).unwrap_or_default(),
            t0.elapsed().as_secs_f64()
        ))?;
    }
    files.commit()
}

/// The `--report` of a cleaned `image`.
#[derive(Serialize)]
struct CleanImageReport {
    #[serde(flatten)]
    file: FileSummary,
    clean: CleanParams,
    planes: Vec<PlaneSummary>,
    seconds: CleanSeconds,
    memory: Memory,
}

/// The clean parameters.
#[derive(Serialize)]
struct CleanParams {
    niter: usize,
    gain: f64,
    mgain: f64,
    threshold_jy: f64,
    auto_threshold: Option<f64>,
    auto_mask: Option<f64>,
    max_major: usize,
    multiscale: Option<MultiscaleReport>,
    beam_fit: String,
}

/// The multi-scale settings.
#[derive(Serialize)]
struct MultiscaleReport {
    scales: Option<Vec<f64>>,
    bias: f64,
    gain: f64,
}

/// One plane's clean.
#[derive(Serialize)]
struct PlaneSummary {
    frequency_hz: f64,
    n_vis: usize,
    weight_sum: f64,
    iterations: usize,
    major_cycles: Vec<CycleSummary>,
    stop: &'static str,
    threshold_jy: f64,
    sigma_jy: f64,
    peak_residual_jy: f64,
    model_flux_jy: f64,
    components: usize,
    beam_arcsec_deg: [f64; 3],
    /// σ of the image per unit σ (per real part) of the Stokes I samples: sqrt(Σw²)/Σw.
    thermal_noise_per_vis_sigma: f64,
    grid_calls: usize,
    dirty_and_psf_s: f64,
}

/// One major cycle.
#[derive(Serialize)]
struct CycleSummary {
    peak_start_jy: f64,
    minor_stop_jy: f64,
    peak_after_jy: f64,
    sigma_after_jy: f64,
    iterations: usize,
    masked: bool,
    minor_s: f64,
    major_s: f64,
}

/// Wall time of each stage.
#[derive(Serialize)]
struct CleanSeconds {
    scan: f64,
    read: f64,
    load: f64,
    clean: f64,
    grid: f64,
    degrid_and_grid_total: f64,
    minor: f64,
    write: f64,
    total: f64,
}

/// Memory.
#[derive(Serialize)]
struct Memory {
    visibilities_bytes: usize,
    /// Whether the file was read again in every major cycle instead of held.
    streamed: bool,
    peak_rss_bytes: Option<u64>,
}

/// The process's peak resident memory (Linux: `VmHWM` of /proc/self/status).
fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn clean_report(
    a: &ImageArgs,
    cfg: &ImagingConfig,
    c: &CleanConfig,
    restored: &Image,
    r: &CleanFileReport,
    times: (f64, f64),
) -> CleanImageReport {
    let f = &r.file;
    CleanImageReport {
        file: FileSummary::new(a, cfg, f, r.wstacking),
        clean: CleanParams {
            niter: c.niter,
            gain: c.gain,
            mgain: c.mgain,
            threshold_jy: c.threshold_jy,
            auto_threshold: c.auto_threshold,
            auto_mask: c.auto_mask,
            max_major: c.max_major,
            multiscale: c.multiscale.as_ref().map(|m| MultiscaleReport {
                scales: m.scales.clone(),
                bias: m.bias,
                gain: m.gain,
            }),
            beam_fit: c.beam_fit.to_string(),
        },
        planes: r
            .planes
            .iter()
            .enumerate()
            .map(|(i, p)| PlaneSummary {
                frequency_hz: restored.geometry.freqs_hz[i],
                n_vis: p.n_vis,
                weight_sum: p.weight_sum,
                iterations: p.clean.iterations,
                major_cycles: p
                    .clean
                    .cycles
                    .iter()
                    .map(|m| CycleSummary {
                        peak_start_jy: m.peak_start,
                        minor_stop_jy: m.minor_stop,
                        peak_after_jy: m.peak_after,
                        sigma_after_jy: m.sigma_after,
                        iterations: m.iterations,
                        masked: m.masked,
                        minor_s: m.minor_s,
                        major_s: m.major_s,
                    })
                    .collect(),
                stop: p.clean.stop.describe(),
                threshold_jy: p.clean.threshold_jy,
                sigma_jy: p.clean.sigma,
                peak_residual_jy: p.clean.peak,
                model_flux_jy: p.clean.model_flux_jy,
                components: p.clean.components,
                beam_arcsec_deg: [
                    p.beam.major_rad.to_degrees() * 3600.0,
                    p.beam.minor_rad.to_degrees() * 3600.0,
                    p.beam.pa_rad.to_degrees(),
                ],
                thermal_noise_per_vis_sigma: p.noise_per_vis_sigma,
                grid_calls: p.grid_calls,
                dirty_and_psf_s: p.dirty_psf_s,
            })
            .collect(),
        seconds: CleanSeconds {
            scan: f.scan_s,
            read: f.read_s,
            load: r.load_s,
            clean: r.clean_s,
            grid: r.planes.iter().map(|p| p.grid_times.grid_s).sum(),
            degrid_and_grid_total: r.planes.iter().map(|p| p.grid_times.total_s).sum(),
            minor: r
                .planes
                .iter()
                .flat_map(|p| &p.clean.cycles)
                .map(|m| m.minor_s)
                .sum(),
            write: times.0,
            total: times.1,
        },
        memory: Memory {
            visibilities_bytes: r.vis_bytes,
            streamed: r.streamed,
            peak_rss_bytes: peak_rss_bytes(),
        },
    }
}

/// Images and cleans the file, and writes the restored image and the outputs asked for.
fn run_clean(
    a: &ImageArgs,
    ctx: &Context,
    cfg: &ImagingConfig,
    selection: &FileSelection,
    clean_cfg: &CleanConfig,
    t0: Instant,
    files: Files,
) -> Result<(), CliError> {
    let (mut images, rep) = clean_uvh5(
        &a.input,
        cfg,
        selection,
        clean_cfg,
        &ctx.progress("read"),
        &ctx.progress("clean"),
    )?;
    for img in [
        &mut images.restored,
        &mut images.residual,
        &mut images.model,
        &mut images.psf,
    ] {
        img.history.push(ctx.history());
    }
    let t_write = Instant::now();
    write_fits(&a.out, &images.restored)?;
    if let Some(p) = &a.residual {
        write_fits(p, &images.residual)?;
    }
    if let Some(p) = &a.model {
        write_fits(p, &images.model)?;
    }
    if let Some(p) = &a.psf {
        write_fits(p, &images.psf)?;
    }
    if let Some(p) = &a.components {
        fxgrid::io::write_bytes_atomically(p, images.components()?.to_text().as_bytes())?;
    }
    if let Some(p) = &a.png {
        let title = format!(
            "{} — restored image, {:.3} MHz",
            a.input
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            images.restored.geometry.freqs_hz[0] / 1e6
        );
        write_preview(p, &images.restored, 0, &title)?;
    }
    let times = (t_write.elapsed().as_secs_f64(), t0.elapsed().as_secs_f64());
    if let Some(path) = &a.report {
        report::write(
            path,
            &clean_report(a, cfg, clean_cfg, &images.restored, &rep, times),
        )?;
    }
    {
        for (i, p) in rep.planes.iter().enumerate() {
            let c = &p.clean;
            ctx.say(&format!(
                "plane {i}: {} iterations in {} major cycles ({}); residual peak {:.4e}, sigma {:.4e} Jy/beam; model {:.4} Jy in {} components; beam {:.2}\" x {:.2}\" PA {:.1}°",
                c.iterations,
                c.cycles.len(),
                c.stop.describe(),
                c.peak,
                c.sigma,
                c.model_flux_jy,
                c.components,
                p.beam.major_rad.to_degrees() * 3600.0,
                p.beam.minor_rad.to_degrees() * 3600.0,
                p.beam.pa_rad.to_degrees()
            ))?;
        }
        ctx.say(&format!(
            "wrote {}: restored {}x{} pixels of {:.3} arcsec, w-stacking {}; {:.2} s",
            a.out.display(),
            a.npix,
            a.npix,
            rep.file.cell_rad.to_degrees() * 3600.0,
            if rep.wstacking { "on" } else { "off" },
            t0.elapsed().as_secs_f64()
        ))?;
    }
    files.commit()
}
