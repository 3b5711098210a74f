//! The main example: an SKA-Low-like observation from sky model to UVH5.
//!
//! Simulates 512 stations observing a handful of point sources around a phase centre at
//! RA 60°, Dec −30° for 4 × 10 s and 8 channels from 150 MHz, predicts the visibilities by
//! direct Fourier transform, writes them as UVH5 (readable by pyuvdata), reads the file
//! back and prints a summary.
//!
//! ```text
//! cargo run --release --example ska_low_pipeline [-- OUT.uvh5]
//! ```
//! Later releases extend it through channelisation, correlation and imaging.

use std::path::PathBuf;
use std::time::Instant;

use fxgrid::io::uvh5::{read_uvh5, write_uvh5};
use fxgrid::sky::{Component, PredictConfig, SkyModel};
use fxgrid::telescope::{
    default_day_jd_utc, ska_low_like, transit_centred_start, Observation, RaDec,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ska_low_pipeline.uvh5"));
    let t0 = Instant::now();
    let layout = ska_low_like(512, 1)?;
    let centre = RaDec::from_degrees(60.0, -30.0);
    let (n_times, int_time_s) = (4, 10.0);
    let obs = Observation {
        phase_centre: centre,
        start_jd_utc: transit_centred_start(
            &layout,
            centre,
            default_day_jd_utc(),
            n_times as f64 * int_time_s,
        )?,
        n_times,
        int_time_s,
        freq_start_hz: 150e6,
        chan_width_hz: 1e5,
        n_chan: 8,
    };
    let source = |ra: f64, dec: f64, flux: f64, alpha: f64| Component {
        spectral_index: alpha,
        ..Component::point(RaDec::from_degrees(ra, dec), flux)
    };
    let sky = SkyModel::new(vec![
        source(60.0, -30.0, 5.0, -0.7),
        source(61.2, -29.4, 2.0, -0.8),
        source(58.9, -30.8, 1.5, -0.5),
        source(60.4, -31.5, 1.0, -0.9),
        source(59.2, -28.9, 0.7, -0.7),
    ])?;
    println!(
        "array: {} ({} stations, longest baseline {:.1} km) at lat {:.2}°, lon {:.2}°",
        layout.telescope_name,
        layout.n_ant(),
        layout.max_baseline_m() / 1e3,
        layout.site.lat_rad.to_degrees(),
        layout.site.lon_rad.to_degrees()
    );
    println!(
        "observation: {} × {} s from JD {:.5}, {} channels from {:.1} MHz, phase centre RA 60°, Dec −30°",
        obs.n_times,
        obs.int_time_s,
        obs.start_jd_utc,
        obs.n_chan,
        obs.freq_start_hz / 1e6
    );
    let cfg = PredictConfig {
        noise_jy: 0.01,
        seed: 1,
        history_note: "examples/ska_low_pipeline.rs".into(),
        ..Default::default()
    };
    let t1 = Instant::now();
    let vis = fxgrid::sky::predict(&layout, &obs, &sky, &cfg)?;
    let t2 = Instant::now();
    write_uvh5(&out, &vis)?;
    let t3 = Instant::now();
    let back = read_uvh5(&out)?;
    assert_eq!(
        back.data(),
        vis.data(),
        "the file must hold what was written"
    );
    let terms = vis.n_times() * vis.n_baselines() * vis.n_chan() * sky.len();
    println!(
        "predicted {} baselines × {} times × {} channels × 4 pols from {} sources in {:.2} s ({:.0} M terms/s)",
        vis.n_baselines(),
        vis.n_times(),
        vis.n_chan(),
        sky.len(),
        (t2 - t1).as_secs_f64(),
        terms as f64 / (t2 - t1).as_secs_f64() / 1e6
    );
    let total_flux: f64 = sky
        .components
        .iter()
        .map(|c| c.flux_at(obs.freq_start_hz))
        .sum();
    let auto = vis.data()[[0, 0, 0, 0]];
    println!(
        "autocorrelation XX of station 0, channel 0: {:.3} Jy (sky total {total_flux:.3} Jy)",
        auto.re
    );
    println!(
        "wrote {} ({:.1} MB) in {:.2} s; read back and verified; total {:.2} s",
        out.display(),
        std::fs::metadata(&out)?.len() as f64 / 1e6,
        (t3 - t2).as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "check it with pyuvdata: python ../shared/anchors/check_uvh5.py {}",
        out.display()
    );
    Ok(())
}
