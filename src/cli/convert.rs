//! `fxgrid convert`: UVH5 ⇄ Measurement Set.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

#[cfg(feature = "ms")]
use super::outputs::Files;
use super::{CliError, Context};

/// Arguments of `convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input: a UVH5 file or a Measurement Set (a directory, or a name ending in .ms).
    input: PathBuf,
    /// Output: a Measurement Set (name ending in .ms) for UVH5 input, UVH5 for MS input.
    output: PathBuf,
    /// Samples (rows × channels × polarisations) per block read from UVH5; memory is about
    /// 60 bytes per sample.
    #[arg(long, default_value_t = 4 << 20)]
    block_samples: usize,
    /// Measurement Set input: the visibility column, DATA, CORRECTED_DATA or MODEL_DATA.
    #[arg(long, default_value = "DATA")]
    data_column: String,
}

/// Converts.
pub fn run(a: &ConvertArgs, ctx: &Context) -> Result<(), CliError> {
    if a.block_samples == 0 {
        return Err(CliError::arg("--block-samples", 0, "at least 1"));
    }
    let t0 = Instant::now();
    #[cfg(feature = "ms")]
    {
        let mut files = Files::new();
        files.input("INPUT", &a.input)?;
        files.output("OUTPUT", &a.output)?;
        let column = fxgrid::io::ms::DataColumn::from_name(&a.data_column).ok_or_else(|| {
            CliError::arg(
                "--data-column",
                &a.data_column,
                "DATA, CORRECTED_DATA or MODEL_DATA",
            )
        })?;
        let rep = fxgrid::io::ms::convert(
            &a.input,
            &a.output,
            a.block_samples,
            column,
            &ctx.progress("convert"),
        )?;
        ctx.say(&format!(
            "wrote {}: {} rows, {} samples, {} block{}, {:.2} s",
            a.output.display(),
            rep.rows,
            rep.samples,
            rep.blocks,
            if rep.blocks == 1 { "" } else { "s" },
            t0.elapsed().as_secs_f64()
        ))?;
        files.commit()
    }
    #[cfg(not(feature = "ms"))]
    {
        let _ = (ctx, t0);
        Err(CliError::NoMs)
    }
}
