//! Pictures for people: image previews ([`preview`]) and line plots (the filterbank's
//! responses), written as PNG (plotters on an in-memory RGB buffer with an embedded font, so
//! no system fonts or C libraries are needed; encoded with the `png` crate and written
//! atomically).

pub mod preview;

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::io::{write_atomically, IoError};

/// One curve of a line plot.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
}

/// Axes and size of a line plot.
#[derive(Debug, Clone)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// x range.
    pub x_range: (f64, f64),
    /// y range.
    pub y_range: (f64, f64),
    /// Width and height in pixels.
    pub size: (u32, u32),
}

pub(crate) fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded DejaVu Sans is a valid TrueType font; a failure would only mean
        // labels are not drawn, which plotters reports when drawing.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> IoError {
    IoError::Format {
        path: path.display().to_string(),
        reason: format!("drawing the plot: {e}"),
    }
}

/// Draw `series` on `plot`'s axes and write a PNG to `path`.
pub fn write_line_plot(path: &Path, plot: &LinePlot, series: &[Series]) -> Result<(), IoError> {
    register_fonts();
    let (w, h) = plot.size;
    if !(64..=8192).contains(&w) || !(64..=8192).contains(&h) {
        return Err(plot_err(
            path,
            format!("size {w}×{h} outside 64..=8192 pixels"),
        ));
    }
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&plot.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(
                plot.x_range.0..plot.x_range.1,
                plot.y_range.0..plot.y_range.1,
            )
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc(&plot.x_label)
            .y_desc(&plot.y_label)
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|e| plot_err(path, e))?;
        for (i, s) in series.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| plot_err(path, e))?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| plot_err(path, e))?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    write_png_rgb(path, w, h, &rgb)
}

/// Encode an 8-bit RGB buffer as PNG at `path`, atomically.
pub fn write_png_rgb(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<(), IoError> {
    write_atomically(path, |tmp| {
        let os = |source| IoError::Os {
            path: path.display().to_string(),
            source,
        };
        let f = std::fs::File::create(tmp).map_err(os)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let enc_err = |e: png::EncodingError| IoError::Format {
            path: path.display().to_string(),
            reason: format!("encoding PNG: {e}"),
        };
        let mut wr = enc.write_header().map_err(enc_err)?;
        wr.write_image_data(rgb).map_err(enc_err)?;
        wr.finish().map_err(enc_err)
    })
}
