//! `fxgrid predict`: visibilities of a FITS model image on the samples of a UVH5 file.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::parse_precision;
use super::outputs::Files;
use super::{CliError, Context};

/// Arguments of `predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Model image (FITS, Jy per pixel, Stokes I, phase centre at the reference pixel).
    model: PathBuf,
    /// UVH5 file whose samples (uvw, times, frequencies) are predicted.
    vis: PathBuf,
    /// Gridding accuracy (default 1e-6 in f64, 1e-5 in f32).
    #[arg(long)]
    epsilon: Option<f64>,
    /// Gridding precision, f32 or f64.
    #[arg(long, default_value = "f64")]
    precision: String,
    /// Output UVH5 file (the input with the data replaced by the model).
    #[arg(long)]
    out: PathBuf,
}

/// Predicts and writes.
pub fn run(a: &PredictArgs, ctx: &Context) -> Result<(), CliError> {
    let t0 = Instant::now();
    let mut files = Files::new();
    files.input("MODEL", &a.model)?.input("VIS", &a.vis)?;
    files.output("--out", &a.out)?;
    let precision = parse_precision(&a.precision)?;
    let epsilon = super::args::epsilon(a.epsilon, precision)?;
    let model = fxgrid::io::fits::read_fits(&a.model)?;
    let mut vis = fxgrid::io::read_visibilities(&a.vis)?;
    let rep = fxgrid::image::predict_into(&model, &mut vis, epsilon, precision, None)?;
    let meta = vis.meta_mut();
    meta.units = fxgrid::VisUnits::Jy;
    meta.history = format!(
        "{}\nfxgrid {} predict from {} (epsilon {:e}). {}",
        meta.history,
        fxgrid::VERSION,
        a.model.display(),
        epsilon,
        ctx.history()
    );
    fxgrid::io::write_visibilities(&a.out, &vis)?;
    ctx.say(&format!(
        "wrote {}: {} samples predicted from {} ({}x{} pixels, W={}, {} w-planes), {:.2} s",
        a.out.display(),
        rep.n_vis,
        a.model.display(),
        model.geometry.npix_x,
        model.geometry.npix_y,
        rep.params.support,
        rep.params.n_planes,
        t0.elapsed().as_secs_f64()
    ))?;
    files.commit()
}
