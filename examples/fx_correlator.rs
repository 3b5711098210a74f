//! The FX chain on a simulated SKA-Low-like array: voltages of a few point sources →
//! polyphase filterbank → X-engine → UVH5, compared with the visibilities the direct
//! Fourier sum predicts for the same sky, times, channels and uvw.
//!
//! ```text
//! cargo run --release --example fx_correlator [-- OUT.uvh5]
//! ```

use std::path::PathBuf;

use fxgrid::channelise::{PfbConfig, Window};
use fxgrid::fx::simulate_fx;
use fxgrid::num_complex::Complex64;
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel, VoltageConfig, VoltageSimulator};
use fxgrid::telescope::{default_day_jd_utc, ska_low_like, transit_centred_start, RaDec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fx_correlator.uvh5".into()),
    );
    let (n_chan, rate_hz, int_spectra, n_int) = (256usize, 256e3, 1000usize, 4usize);
    let layout = ska_low_like(64, 1)?;
    let centre = RaDec::from_degrees(60.0, -30.0);
    let sky = SkyModel::new(vec![
        Component::point(centre, 10.0),
        Component::point(RaDec::from_degrees(61.6, -29.4), 6.0),
        Component::point(RaDec::from_degrees(58.0, -32.0), 4.0),
    ])?;
    let duration = (int_spectra * n_int) as f64 * n_chan as f64 / rate_hz;
    let vcfg = VoltageConfig {
        phase_centre: centre,
        start_jd_utc: transit_centred_start(&layout, centre, default_day_jd_utc(), duration)?,
        centre_freq_hz: 100e6,
        sample_rate_hz: rate_hz,
        system_noise_jy: 100.0,
        seed: 1,
        block_len: None,
    };
    println!(
        "simulating {} stations × 2 pols, {} s of {} kHz complex voltages at {} MHz, {} sources, system noise {} Jy",
        layout.n_ant(),
        duration,
        rate_hz / 1e3,
        vcfg.centre_freq_hz / 1e6,
        sky.len(),
        vcfg.system_noise_jy
    );
    let t0 = std::time::Instant::now();
    let sim = VoltageSimulator::new(&layout, &sky, &vcfg)?;
    let pfb = PfbConfig {
        n_chan,
        n_taps: 12,
        window: Window::DEFAULT,
        oversampling: (1, 1),
        ..Default::default()
    };
    let fx = simulate_fx(
        &sim,
        &pfb,
        int_spectra,
        n_int,
        &fxgrid::progress::NoProgress,
    )?;
    println!(
        "FX chain: {} integrations × {} baselines × {} channels in {:.1} s",
        fx.n_times(),
        fx.n_baselines(),
        fx.n_chan(),
        t0.elapsed().as_secs_f64()
    );
    let m = fx.meta();
    let obs = m.observation();
    let want = predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            precision: fxgrid::Precision::F64,
            ..Default::default()
        },
    )?;
    // Compare cross-correlations away from the band edges.
    let (d, p) = (fx.data(), want.data());
    let auto = |t: usize, a: usize, c: usize, pol: usize| {
        let b = m.baselines.iter().position(|&x| x == (a, a)).unwrap_or(0);
        d[[t, b, c, if pol == 0 { 0 } else { 3 }]].re as f64
    };
    let (mut resid, mut expect, mut cross, mut nf, mut np) =
        (0.0, 0.0, Complex64::default(), 0.0, 0.0);
    for t in 0..fx.n_times() {
        for (b, &(a1, a2)) in m.baselines.iter().enumerate() {
            if a1 == a2 {
                continue;
            }
            for c in 2..n_chan - 1 {
                for pol in 0..4 {
                    let x =
                        Complex64::new(d[[t, b, c, pol]].re as f64, d[[t, b, c, pol]].im as f64);
                    let y =
                        Complex64::new(p[[t, b, c, pol]].re as f64, p[[t, b, c, pol]].im as f64);
                    resid += (x - y).norm_sqr();
                    expect +=
                        auto(t, a1, c, pol / 2) * auto(t, a2, c, pol % 2) / int_spectra as f64;
                    if pol == 0 || pol == 3 {
                        cross += x * y.conj();
                        nf += x.norm_sqr();
                        np += y.norm_sqr();
                    }
                }
            }
        }
    }
    println!(
        "residual FX − predicted: {:.3} × the radiometer noise expected from the autocorrelations",
        (resid / expect).sqrt()
    );
    println!(
        "normalised correlation of FX and predicted XX, YY: {:.4} (limited by the radiometer noise at this SNR)",
        cross.norm() / (nf * np).sqrt()
    );
    fxgrid::io::uvh5::write_uvh5(&out, &fx)?;
    println!("wrote {}", out.display());
    Ok(())
}
