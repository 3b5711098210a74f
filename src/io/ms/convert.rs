//! `fxgrid convert`: UVH5 ⇄ Measurement Set.

use std::path::Path;

use ndarray::{s, Array2, Array3};
use num_complex::Complex32;

use super::{DataColumn, MsRows, MsWriter};
use crate::io::uvh5::{layout_of, linear_pols, Uvh5Reader};
use crate::io::IoError;
use crate::progress::Progress;
use crate::vis::{VisMeta, VisUnits};

/// What a conversion did.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// Rows (baseline-times) written.
    pub rows: usize,
    /// Samples (rows × channels × polarisations) written.
    pub samples: usize,
    /// Row blocks the input was read in (1 when it was read whole).
    pub blocks: usize,
}

/// Convert `input` to `output`, each a UVH5 file or a Measurement Set by
/// [`crate::io::is_ms_path`] (`column`: the Measurement Set's column read), streaming blocks of at most `block_samples` samples both
/// ways (memory: one block). MS → UVH5 reads through [`super::MsSource`] (every spectral
/// window, merged rows) and writes with [`crate::io::uvh5::write_uvh5_from`].
pub fn convert(
    input: &Path,
    output: &Path,
    block_samples: usize,
    column: DataColumn,
    progress: &dyn Progress,
) -> Result<ConvertReport, IoError> {
    let (from_ms, to_ms) = (crate::io::is_ms_path(input), crate::io::is_ms_path(output));
    match (from_ms, to_ms) {
        (false, true) => uvh5_to_ms(input, output, block_samples, progress),
        (true, false) => {
            let src = super::MsSource::open(input, column)?;
            let blocks = crate::io::VisSource::blocks(
                &src,
                crate::io::VisSource::header(&src).n_freqs(),
                block_samples.max(1),
            )
            .len();
            let h = crate::io::VisSource::header(&src);
            let samples = h.n_blts * h.n_freqs() * h.n_pols();
            let rows = crate::io::uvh5::write_uvh5_from(output, &src, block_samples, progress)?;
            Ok(ConvertReport {
                rows,
                samples,
                blocks,
            })
        }
        _ => Err(IoError::Format {
            path: output.display().to_string(),
            reason: format!(
                "convert goes between UVH5 and a Measurement Set (*.ms): {} and {} are both {}",
                input.display(),
                output.display(),
                if from_ms { "Measurement Sets" } else { "UVH5" }
            ),
        }),
    }
}

fn uvh5_to_ms(
    input: &Path,
    output: &Path,
    block_samples: usize,
    progress: &dyn Progress,
) -> Result<ConvertReport, IoError> {
    let rd = Uvh5Reader::open(input)?;
    rd.check_counts()?;
    let h = rd.header();
    let bad = |reason: String| IoError::Format {
        path: rd.path().to_string(),
        reason,
    };
    if h.spw_array.len() != 1 {
        return Err(bad(format!(
            "{} spectral windows: the Measurement Set writer takes one",
            h.spw_array.len()
        )));
    }
    let widths = &h.channel_width_hz;
    if widths.iter().any(|&w| w != widths[0]) {
        return Err(bad(
            "channel widths differ: the Measurement Set writer takes one width".into(),
        ));
    }
    let pols = linear_pols(&h.pols).map_err(|p| {
        bad(format!(
            "polarisation {}: the Measurement Set writer takes linear products",
            p.name()
        ))
    })?;
    let centre = match h.phase_centres.as_slice() {
        [c] => c.radec().ok_or_else(|| {
            bad(format!(
                "phase centre '{}' is not sidereal: a Measurement Set needs a fixed RA/Dec",
                c.name
            ))
        })?,
        cs => {
            return Err(bad(format!(
                "{} phase centres: the Measurement Set writer takes one",
                cs.len()
            )))
        }
    };
    let layout = layout_of(h).map_err(|e| bad(format!("antenna table: {e}")))?;
    let nf = h.n_freqs();
    let blocks = rd.blocks(nf, block_samples.max(1));
    // The time range, for OBSERVATION and FIELD, from the times alone.
    let (mut t0, mut t1) = (f64::INFINITY, f64::NEG_INFINITY);
    for b in &blocks {
        for t in rd.read_times(b.clone())? {
            t0 = t0.min(t);
            t1 = t1.max(t);
        }
    }
    let first = rd.read_meta(0..1)?;
    let meta = VisMeta {
        layout,
        phase_centre: centre,
        phase_centre_name: h.phase_centres[0].name.clone(),
        times_jd_utc: vec![t0, t1],
        lst_rad: Vec::new(),
        app_ra_rad: Vec::new(),
        app_dec_rad: Vec::new(),
        frame_pa_rad: Vec::new(),
        int_time_s: first.integration_time_s[0],
        freqs_hz: h.freqs_hz.clone(),
        chan_width_hz: widths[0],
        baselines: Vec::new(),
        pols,
        units: VisUnits::from_name(&h.vis_units),
        history: h.history.clone(),
    };
    let mut w = MsWriter::create(output, &meta)?;
    progress.start(h.n_blts as u64, "rows");
    let (mut rows, mut samples) = (0, 0);
    for b in &blocks {
        let blk = rd.read_block(b.clone(), 0..nf, true)?;
        let m = &blk.meta;
        let index = |num: i64| {
            h.antenna_index(num)
                .ok_or_else(|| bad(format!("antenna number {num} not in antenna_numbers")))
        };
        let baselines = m
            .ant_1
            .iter()
            .zip(&m.ant_2)
            .map(|(&a, &b)| Ok((index(a)?, index(b)?)))
            .collect::<Result<Vec<_>, IoError>>()?;
        let vis: Array3<Complex32> = blk
            .vis
            .as_ref()
            .ok_or_else(|| bad("visibilities were not read".into()))?
            .mapv(|c| Complex32::new(c.re as f32, c.im as f32));
        let uvw: Array2<f64> = m.uvw_m.slice(s![.., ..]).to_owned();
        w.append(&MsRows {
            baselines: &baselines,
            time_jd: &m.time_jd,
            int_time_s: &m.integration_time_s,
            uvw_m: uvw.view(),
            vis: vis.view(),
            flags: blk.flags.view(),
            nsamples: blk.nsamples.view(),
        })?;
        rows += baselines.len();
        samples += vis.len();
        progress.advance(baselines.len() as u64);
    }
    w.finish()?;
    progress.finish();
    Ok(ConvertReport {
        rows,
        samples,
        blocks: blocks.len(),
    })
}
