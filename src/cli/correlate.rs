//! `fxgrid correlate`: a spectra file into visibilities (UVH5).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

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
    let t0 = Instant::now();
    let sum = fxgrid::fx::files::correlate_file(
        &a.input,
        &a.out,
        a.int_spectra,
        a.f64,
        &ctx.history(),
        &ctx.progress("correlate"),
    )?;
    if !ctx.quiet {
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
