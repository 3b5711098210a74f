//! Print the response metrics of a polyphase-filterbank prototype and plot its channel
//! response (dB against frequency in channel widths, neighbouring channels overlaid).
//!
//! ```text
//! cargo run --release --example pfb_response -- [N] [T] [WINDOW] [OUT.png]
//! ```
//! Defaults: the SKA-Low-like filter, 4096 channels × 12 taps, Kaiser β = 9, written to
//! `pfb_response.png`.

use std::path::PathBuf;

use fxgrid::channelise::{prototype, response, Window};
use fxgrid::plot::{write_line_plot, LinePlot, Series};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map(|s| s.parse()).transpose()?.unwrap_or(4096);
    let t: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(12);
    let window = match args.get(2) {
        Some(w) => Window::parse(w)?,
        None => Window::DEFAULT,
    };
    let out = PathBuf::from(args.get(3).map_or("pfb_response.png", String::as_str));

    let h = prototype(n, t, window)?;
    let m = response::metrics(&h, n);
    println!("prototype: {n} channels × {t} taps, window {window}");
    println!("  centre gain                 {:.6}", m.centre_gain);
    println!(
        "  passband ripple (|ν|≤0.25)  {:.5} dB",
        m.passband_ripple_db
    );
    println!(
        "  scalloping loss (ν = 0.5)   {:.3} dB",
        m.scalloping_loss_db
    );
    println!("  −3 dB width                 {:.4} channels", m.width_3db);
    println!("  −6 dB width                 {:.4} channels", m.width_6db);
    println!(
        "  stopband (|ν| ≥ 1.5)        {:.1} dB",
        m.stopband_attenuation_db
    );
    println!(
        "  leakage at the next centre  {:.1} dB",
        m.neighbour_leakage_db
    );

    // |H| on a fine grid (FFT of the zero-padded prototype, periodic in N channels);
    // channel k's response at offset x from channel 0's centre is H(x − k).
    let half = 4.0;
    let (step, grid) = response::response_grid(&h, n);
    let at = |nu: f64| {
        let i = (nu / step).round() as i64;
        grid[i.rem_euclid(grid.len() as i64) as usize]
    };
    let db = |v: f64| (20.0 * (v / m.centre_gain).log10()).max(-160.0);
    let steps = (2.0 * half / step).round() as i64;
    let series: Vec<Series> = (-2i32..=2)
        .map(|k| Series {
            label: format!("channel {k:+}"),
            points: (0..=steps)
                .map(|i| {
                    let x = -half + i as f64 * step;
                    (x, db(at(x - k as f64)))
                })
                .collect(),
        })
        .collect();
    let plot = LinePlot {
        title: format!("PFB channel response: {n} ch × {t} taps, {window}"),
        x_label: "frequency offset (channel widths)".into(),
        y_label: "response (dB)".into(),
        x_range: (-half, half),
        y_range: (-160.0, 5.0),
        size: (1000, 600),
    };
    write_line_plot(&out, &plot, &series)?;
    println!("wrote {}", out.display());
    Ok(())
}
