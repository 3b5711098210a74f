//! `fxgrid correlate`: a spectra file into visibilities (UVH5).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::budget;
use super::outputs::Files;
use super::{CliError, Context};

/// Arguments of `correlate`.
#[derive(Args, Debug)]
pub struct CorrelateArgs {
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

/// Correlates the file.
pub fn run(a: &CorrelateArgs, ctx: &Context) -> Result<(), CliError> {
    if a.int_spectra == 0 {
        return Err(CliError::arg("--int-spectra", 0, "at least 1"));
    }
    let mut files = Files::new();
    files.input("INPUT", &a.input)?;
    files.output("--out", &a.out)?;
    // The visibilities on disk: every antenna pair, 4 polarisations, 13 bytes a sample.
    if let Ok(r) = fxgrid::io::voltages::SpectraReader::open(&a.input) {
        let n_ant = r.header.layout.n_ant() as f64;
        let n_int = (r.n_spectra / a.int_spectra) as f64;
        budget::check_disk(
            &a.out,
            n_int * n_ant * (n_ant + 1.0) / 2.0 * (r.info.freqs_hz.len() as f64 * 52.0 + 100.0),
            "integrate longer (--int-spectra) or write elsewhere",
        )?;
    }
    let t0 = Instant::now();
    let sum = fxgrid::fx::files::correlate_file(
        &a.input,
        &a.out,
        a.int_spectra,
        a.f64,
        &ctx.history(),
        &ctx.progress("correlate"),
    )?;
    ctx.say(&format!(
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
    ))?;
    files.commit()
}
