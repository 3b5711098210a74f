//! The FX chain end to end: simulated voltages of three point sources → PFB → correlator,
//! compared with the direct-DFT prediction of the same sky, times, frequencies and uvw.

use fxgrid::channelise::{PfbConfig, Window};
use fxgrid::fx::simulate_fx;
use fxgrid::num_complex::Complex64;
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel, VoltageConfig, VoltageSimulator};
use fxgrid::telescope::{default_day_jd_utc, ska_low_like, transit_centred_start, RaDec};
use fxgrid::Visibilities;

const N_CHAN: usize = 256;
const RATE_HZ: f64 = 256e3; // 1 kHz channels: bandwidth decorrelation below 1e-4
const INT_SPECTRA: usize = 1000; // 1 s integrations
const N_INT: usize = 3;

fn run(system_noise_jy: f64, seed: u64) -> (Visibilities, Visibilities) {
    let layout = ska_low_like(32, 4).unwrap();
    let centre = RaDec::from_degrees(60.0, -30.0);
    let sky = SkyModel::new(vec![
        Component::point(centre, 10.0),
        Component::point(RaDec::from_degrees(61.6, -29.4), 6.0),
        Component::point(RaDec::from_degrees(58.0, -32.0), 4.0),
    ])
    .unwrap();
    let start = transit_centred_start(&layout, centre, default_day_jd_utc(), 3.0).unwrap();
    let vcfg = VoltageConfig {
        phase_centre: centre,
        start_jd_utc: start,
        centre_freq_hz: 100e6,
        sample_rate_hz: RATE_HZ,
        system_noise_jy,
        seed,
        block_len: None,
    };
    let sim = VoltageSimulator::new(&layout, &sky, &vcfg).unwrap();
    let pfb = PfbConfig {
        n_chan: N_CHAN,
        n_taps: 8,
        window: Window::DEFAULT,
        oversampling: (1, 1),
        ..Default::default()
    };
    let fx = simulate_fx(
        &sim,
        &pfb,
        INT_SPECTRA,
        N_INT,
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
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
    )
    .unwrap();
    assert_eq!(want.meta().times_jd_utc, m.times_jd_utc);
    assert_eq!(want.meta().freqs_hz, m.freqs_hz);
    assert_eq!(want.meta().baselines, m.baselines);
    for (a, b) in want.uvw_m().iter().zip(fx.uvw_m().iter()) {
        assert!((a - b).abs() < 1e-6);
    }
    (fx, want)
}

/// Channels away from the band edges (channel 0 straddles ±f_s/2, where the simulated band
/// wraps).
fn channels() -> std::ops::Range<usize> {
    2..N_CHAN - 1
}

fn c64(z: fxgrid::num_complex::Complex32) -> Complex64 {
    Complex64::new(z.re as f64, z.im as f64)
}

#[test]
fn fx_residuals_match_the_radiometer_noise() {
    let (fx, want) = run(200.0, 11);
    let d = fx.data();
    let p = want.data();
    let bl = &fx.meta().baselines;
    // Autocorrelation (Jy) of input `pol` of antenna `a`, at (t, c).
    let auto = |t: usize, a: usize, c: usize, pol: usize| {
        let b = bl.iter().position(|&x| x == (a, a)).unwrap();
        d[[t, b, c, if pol == 0 { 0 } else { 3 }]].re as f64
    };
    let (mut resid, mut expect, mut n) = (0.0, 0.0, 0usize);
    for t in 0..N_INT {
        for (b, &(a1, a2)) in bl.iter().enumerate() {
            if a1 == a2 {
                continue;
            }
            for c in channels() {
                for pol in 0..4 {
                    let r = c64(d[[t, b, c, pol]]) - c64(p[[t, b, c, pol]]);
                    resid += r.norm_sqr();
                    expect +=
                        auto(t, a1, c, pol / 2) * auto(t, a2, c, pol % 2) / INT_SPECTRA as f64;
                    n += 1;
                }
            }
        }
    }
    let ratio = (resid / expect).sqrt();
    println!("FX residual / radiometer noise = {ratio:.4} over {n} cross-correlation values");
    assert!(
        (0.8..=1.2).contains(&ratio),
        "residual r.m.s. is {ratio:.3} × the radiometer noise"
    );
}

#[test]
fn fx_at_high_snr_correlates_with_the_prediction() {
    let (fx, want) = run(0.0, 12);
    let d = fx.data();
    let p = want.data();
    let (mut cross, mut nf, mut np) = (Complex64::default(), 0.0, 0.0);
    for t in 0..N_INT {
        for (b, &(a1, a2)) in fx.meta().baselines.iter().enumerate() {
            if a1 == a2 {
                continue;
            }
            for c in channels() {
                for pol in [0, 3] {
                    let (x, y) = (c64(d[[t, b, c, pol]]), c64(p[[t, b, c, pol]]));
                    cross += x * y.conj();
                    nf += x.norm_sqr();
                    np += y.norm_sqr();
                }
            }
        }
    }
    let rho = cross.norm() / (nf * np).sqrt();
    println!("normalised correlation FX vs predicted = {rho:.5}");
    assert!(rho >= 0.99, "correlation {rho}");
    // Autocorrelations: total power 20 Jy per input (±5σ of the self-noise).
    let b0 = fx
        .meta()
        .baselines
        .iter()
        .position(|&x| x == (0, 0))
        .unwrap();
    let mean: f64 =
        channels().map(|c| d[[0, b0, c, 0]].re as f64).sum::<f64>() / channels().len() as f64;
    let sigma = 20.0 / ((INT_SPECTRA * channels().len()) as f64).sqrt();
    assert!((mean - 20.0).abs() < 5.0 * sigma, "auto power {mean} Jy");
}
