//! PNG previews of images for people: north up, east left, a perceptual colour map, a
//! colour bar, and axes in offset degrees or arcminutes from the phase centre.

use std::path::Path;

use plotters::prelude::*;

use crate::image::Image;
use crate::io::IoError;

/// Largest side of the drawn image in screen pixels; larger images are resampled.
const MAX_SIDE: usize = 640;

/// Anchor colours of the map (dark blue → teal → green → yellow), interpolated linearly.
const MAP: [(f64, [u8; 3]); 5] = [
    (0.0, [68, 1, 84]),
    (0.25, [59, 82, 139]),
    (0.5, [33, 145, 140]),
    (0.75, [94, 201, 98]),
    (1.0, [253, 231, 37]),
];

/// Colour of `t ∈ [0, 1]`.
pub fn colour_map(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    for w in MAP.windows(2) {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
            return RGBColor(mix(c0[0], c1[0]), mix(c0[1], c1[1]), mix(c0[2], c1[2]));
        }
    }
    let c = MAP[MAP.len() - 1].1;
    RGBColor(c[0], c[1], c[2])
}

fn err(path: &Path, e: impl std::fmt::Display) -> IoError {
    IoError::Format {
        path: path.display().to_string(),
        reason: format!("drawing the preview: {e}"),
    }
}

/// Writes plane `plane` of `image` as a PNG preview at `path` (atomically).
pub fn write_preview(path: &Path, image: &Image, plane: usize, title: &str) -> Result<(), IoError> {
    super::register_fonts();
    let g = &image.geometry;
    let (ny, nx) = (image.data.shape()[1], image.data.shape()[2]);
    if plane >= image.data.shape()[0] {
        return Err(err(
            path,
            format!("plane {plane} of {}", image.data.shape()[0]),
        ));
    }
    let step = nx.max(ny).div_ceil(MAX_SIDE).max(1);
    let (sx, sy) = (nx.div_ceil(step), ny.div_ceil(step));
    // Resampled plane: the largest value of each step × step block (keeps point sources).
    let mut small = vec![f32::NEG_INFINITY; sx * sy];
    for r in 0..ny {
        for c in 0..nx {
            let v = image.data[[plane, r, c]];
            let s = &mut small[(r / step) * sx + c / step];
            if v.is_finite() && v > *s {
                *s = v;
            }
        }
    }
    let finite = small.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo < hi {
        (lo as f64, hi as f64)
    } else {
        (lo as f64 - 1.0, lo as f64 + 1.0)
    };
    // Axis extent in offset degrees (l towards east is on the left).
    let half_x = (nx as f64 / 2.0) * g.cell_x_rad.to_degrees();
    let half_y = (ny as f64 / 2.0) * g.cell_y_rad.to_degrees();
    let (scale, unit) = if half_x.max(half_y) < 1.0 {
        (60.0, "arcmin")
    } else {
        (1.0, "deg")
    };
    let (w, h) = (sx as u32 + 260, sy as u32 + 130);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(path, e))?;
        let (left, right) = root.split_horizontally(sx as u32 + 150);
        let x0 = g.pixel_to_lm(0.0, -0.5).0.to_degrees() * scale;
        let x1 = g.pixel_to_lm(0.0, nx as f64 - 0.5).0.to_degrees() * scale;
        let y0 = g.pixel_to_lm(-0.5, 0.0).1.to_degrees() * scale;
        let y1 = g.pixel_to_lm(ny as f64 - 0.5, 0.0).1.to_degrees() * scale;
        let mut chart = ChartBuilder::on(&left)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("east offset ({unit})"))
            .y_desc(format!("north offset ({unit})"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| err(path, e))?;
        let dx = (x1 - x0) / sx as f64;
        let dy = (y1 - y0) / sy as f64;
        chart
            .draw_series((0..sy).flat_map(|r| {
                let small = &small;
                (0..sx).map(move |c| {
                    let v = small[r * sx + c] as f64;
                    let colour = colour_map((v - lo) / (hi - lo));
                    let (xa, ya) = (x0 + c as f64 * dx, y0 + r as f64 * dy);
                    Rectangle::new([(xa, ya), (xa + dx, ya + dy)], colour.filled())
                })
            }))
            .map_err(|e| err(path, e))?;
        // Colour bar.
        let mut bar = ChartBuilder::on(&right)
            .margin_top(40)
            .margin_bottom(50)
            .margin_right(10)
            .y_label_area_size(70)
            .caption(image.unit.as_str(), ("sans-serif", 14))
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(|e| err(path, e))?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(path, e))?;
        const STEPS: usize = 200;
        bar.draw_series((0..STEPS).map(|i| {
            let a = lo + (hi - lo) * i as f64 / STEPS as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / STEPS as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                colour_map((i as f64 + 0.5) / STEPS as f64).filled(),
            )
        }))
        .map_err(|e| err(path, e))?;
        root.present().map_err(|e| err(path, e))?;
    }
    super::write_png_rgb(path, w, h, &rgb)
}
