//! The main example: an SKA-Low-like observation from sky model to image.
//!
//! Simulates 512 stations observing a handful of point sources around a phase centre at
//! RA 60°, Dec −30° for 4 × 10 s and 8 channels from 150 MHz, predicts the visibilities by
//! direct Fourier transform, writes them as UVH5 (readable by pyuvdata), reads the file
//! back, images it (dirty image and PSF, natural weighting, w-stacking, FITS and a PNG
//! preview) and prints, for each true source, where and how bright it came out.
//!
//! ```text
//! cargo run --release --example ska_low_pipeline [-- OUT.uvh5]
//! ```
//! Writes `OUT.uvh5`, `OUT-dirty.fits`, `OUT-psf.fits` and `OUT-dirty.png`.

use std::path::PathBuf;
use std::time::Instant;

use fxgrid::grid::weighting::{RankFilter, Weighting};
use fxgrid::grid::Precision;
use fxgrid::image::{dirty_image_and_psf, Image, ImagingConfig};
use fxgrid::io::fits::write_fits;
use fxgrid::io::uvh5::{read_uvh5, write_uvh5};
use fxgrid::plot::preview::write_preview;
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
        source(60.45, -29.75, 2.0, -0.8),
        source(59.6, -30.35, 1.5, -0.5),
        source(60.2, -30.5, 1.0, -0.9),
        source(59.7, -29.6, 0.7, -0.7),
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
        "check it with pyuvdata: python tests/interop/check_uvh5.py {}",
        out.display()
    );

    // Image: 2048² pixels of 2.4″ (a third of the finest fringe), natural weighting.
    let cfg = ImagingConfig {
        npix_x: 2048,
        npix_y: 2048,
        cell_rad: Some((2.4f64 / 3600.0).to_radians()),
        weighting: Weighting::Natural,
        weight_rank_filter: Some(RankFilter::default()),
        epsilon: 1e-5,
        precision: Precision::F32,
        wstacking: None,
        channels: None,
        per_channel: false,
    };
    let t4 = Instant::now();
    let (dirty, psf, rep) = dirty_image_and_psf(&back, &cfg)?;
    let p = &rep.grid[0].params;
    println!(
        "imaged {} samples onto 2048² × 2.4″ in {:.2} s (kernel W={}, grid {}², {} w-planes, ε 1e-5 f32)",
        rep.n_vis,
        t4.elapsed().as_secs_f64(),
        p.support,
        p.nu,
        p.n_planes
    );
    let stem = out.with_extension("");
    let name = |suffix: &str| PathBuf::from(format!("{}-{suffix}", stem.display()));
    write_fits(&name("dirty.fits"), &dirty)?;
    write_fits(&name("psf.fits"), &psf)?;
    write_preview(
        &name("dirty.png"),
        &dirty,
        0,
        "SKA-Low-like dirty image, 150.35 MHz",
    )?;
    println!(
        "wrote {}, {} and {}",
        name("dirty.fits").display(),
        name("psf.fits").display(),
        name("dirty.png").display()
    );
    let f_mfs = dirty.geometry.freqs_hz[0];
    println!("source (RA, Dec)          true flux   recovered   offset");
    for c in &sky.components {
        let (ra, dec) = (c.radec.ra_rad.to_degrees(), c.radec.dec_rad.to_degrees());
        match recovered(&dirty, c.radec) {
            Some((flux, offset_arcsec)) => println!(
                "({ra:7.3}°, {dec:7.3}°)   {:6.3} Jy   {flux:6.3} Jy/beam   {offset_arcsec:5.2}″",
                c.flux_at(f_mfs)
            ),
            None => println!("({ra:7.3}°, {dec:7.3}°)   outside the image"),
        }
    }
    println!("total {:.2} s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// Peak near a source's true position (within 3 pixels), refined to sub-pixel precision by a
/// parabola through the peak and its neighbours on each axis: its value and its distance
/// from the true position (arcsec).
fn recovered(img: &Image, pos: RaDec) -> Option<(f64, f64)> {
    let g = &img.geometry;
    let (r0, c0) = g.radec_to_pixel(pos)?;
    let (r0, c0) = (r0.round() as i64, c0.round() as i64);
    let at = |r: i64, c: i64| -> Option<f64> {
        (r >= 0 && c >= 0 && (r as usize) < g.npix_y && (c as usize) < g.npix_x)
            .then(|| img.data[[0, r as usize, c as usize]] as f64)
    };
    let mut best = (r0, c0, at(r0, c0)?);
    for r in r0 - 3..=r0 + 3 {
        for c in c0 - 3..=c0 + 3 {
            if let Some(v) = at(r, c) {
                if v > best.2 {
                    best = (r, c, v);
                }
            }
        }
    }
    let (r, c, v) = best;
    let vertex = |m: f64, z: f64, p: f64| {
        let d = m - 2.0 * z + p;
        if d < 0.0 {
            (0.5 * (m - p) / d, z - 0.125 * (p - m).powi(2) / d)
        } else {
            (0.0, z)
        }
    };
    let (dr, vr) = vertex(at(r - 1, c)?, v, at(r + 1, c)?);
    let (dc, vc) = vertex(at(r, c - 1)?, v, at(r, c + 1)?);
    let found = g.pixel_to_radec(r as f64 + dr, c as f64 + dc)?;
    Some((vr.max(vc), found.separation_rad(pos).to_degrees() * 3600.0))
}
