//! Voltage simulator: power, the sign of the geometric delay against the measurement
//! equation, seeding and streaming, quantisation and bad input.

use fxgrid::num_complex::{Complex, Complex32, Complex64};
use fxgrid::sky::voltages::{default_scale, quantise, RMS_LEVELS_8};
use fxgrid::sky::{Component, Shape, SkyError, SkyModel, VoltageConfig, VoltageSimulator};
use fxgrid::telescope::RaDec;

use crate::common::small_setup;

fn config(n: Option<usize>) -> VoltageConfig {
    let (_, obs) = small_setup(4, 1, 1);
    VoltageConfig {
        phase_centre: obs.phase_centre,
        start_jd_utc: obs.start_jd_utc,
        centre_freq_hz: 150e6,
        sample_rate_hz: 2e6,
        system_noise_jy: 0.0,
        seed: 7,
        block_len: n,
    }
}

/// Zero-lag correlation of a point source: `<x_p* x_q> = S e^{2πi f₀ Δτ} sinc(f_s Δτ)`
/// with `Δτ = τ_q − τ_p` (the band average of the measurement equation), to the
/// statistical error of the number of samples.
#[test]
fn zero_lag_correlation_follows_the_measurement_equation() {
    let (layout, _) = small_setup(6, 1, 1);
    let src = RaDec::from_degrees(61.5, -29.2);
    let flux = 3.0;
    let sky = SkyModel::new(vec![Component::point(src, flux)]).unwrap();
    let cfg = config(Some(1 << 14));
    let sim = VoltageSimulator::new(&layout, &sky, &cfg).unwrap();
    let n_ant = layout.n_ant();
    let n_blocks = 16u64;
    let l = sim.block_len();
    let mut acc = vec![Complex64::default(); n_ant * n_ant];
    let mut buf = vec![Complex32::default(); l * n_ant * 2];
    for b in 0..n_blocks {
        sim.block(b, &mut buf).unwrap();
        for row in buf.chunks_exact(n_ant * 2) {
            for p in 0..n_ant {
                for q in 0..n_ant {
                    let (xp, xq) = (row[2 * p], row[2 * q]);
                    acc[p * n_ant + q] += Complex64::new(xp.re as f64, -xp.im as f64)
                        * Complex64::new(xq.re as f64, xq.im as f64);
                }
            }
        }
    }
    let n = (n_blocks as usize * l) as f64;
    let mid = sim.sample_jd(n / 2.0);
    let tau = sim.delays_s(mid).unwrap();
    let sigma = flux / n.sqrt();
    let mut worst = 0.0f64;
    let mut non_trivial = 0;
    for p in 0..n_ant {
        for q in 0..n_ant {
            let dt = tau[q][0] - tau[p][0];
            let x = cfg.sample_rate_hz * dt;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let want = Complex64::from_polar(
                flux * sinc,
                2.0 * std::f64::consts::PI * cfg.centre_freq_hz * dt,
            );
            let got = acc[p * n_ant + q] / n;
            worst = worst.max((got - want).norm() / sigma);
            if (want.arg()).abs() > 0.3 {
                non_trivial += 1;
            }
        }
    }
    assert!(
        non_trivial >= 4,
        "the test needs baselines with non-zero fringe phase"
    );
    // Blocks are independent, so the samples of 16 blocks give the expected correlation
    // up to the sampling error and the change of geometry over 0.13 s (negligible here).
    assert!(worst < 6.0, "worst deviation {worst:.2} σ");
}

#[test]
fn power_seeding_and_streaming() {
    let (layout, _) = small_setup(3, 1, 1);
    let sky = SkyModel::new(vec![Component::point(
        RaDec::from_degrees(60.2, -30.1),
        2.0,
    )])
    .unwrap();
    let mut cfg = config(None);
    cfg.system_noise_jy = 5.0;
    let sim = VoltageSimulator::new(&layout, &sky, &cfg).unwrap();
    assert_eq!(sim.expected_power_jy(), 7.0);
    let row = layout.n_ant() * 2;
    let n = 3 * sim.block_len() + 77;
    let mut whole = vec![Complex32::default(); n * row];
    sim.stream().fill(&mut whole).unwrap();
    // Same samples when read in odd pieces.
    let mut pieces = vec![Complex32::default(); n * row];
    let mut s = sim.stream();
    let mut at = 0;
    for k in [1usize, 1000, 12345, 5, n] {
        let take = k.min(n - at);
        s.fill(&mut pieces[at * row..(at + take) * row]).unwrap();
        at += take;
    }
    assert_eq!(whole, pieces);
    let p: f64 = whole.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / whole.len() as f64;
    let se = 7.0 / (whole.len() as f64).sqrt();
    assert!((p - 7.0).abs() < 5.0 * se, "power {p} vs 7 ± {se}");
    // A different seed gives different samples.
    let mut cfg2 = cfg.clone();
    cfg2.seed += 1;
    let mut other = vec![Complex32::default(); row * 10];
    VoltageSimulator::new(&layout, &sky, &cfg2)
        .unwrap()
        .stream()
        .fill(&mut other)
        .unwrap();
    assert_ne!(&other[..], &whole[..row * 10]);
}

#[test]
fn quantisation_scale_and_clipping() {
    let scale = default_scale(8, 2.0).unwrap();
    assert!((scale - 1.0 / RMS_LEVELS_8).abs() < 1e-15);
    let x = [Complex32::new(0.5, -0.26), Complex32::new(1e3, -1e3)];
    let mut q = [Complex::<i8>::default(); 2];
    let clipped = quantise(&x, 0.01, &mut q);
    assert_eq!(q[0], Complex::new(50, -26));
    assert_eq!(q[1], Complex::new(127, -127));
    assert_eq!(clipped, 2);
    assert!(default_scale(12, 1.0).is_err());
    assert!(default_scale(8, 0.0).is_err());
}

#[test]
fn bad_input_is_a_typed_error() {
    let (layout, _) = small_setup(3, 1, 1);
    let point = SkyModel::new(vec![Component::point(
        RaDec::from_degrees(60.0, -30.0),
        1.0,
    )])
    .unwrap();
    let mut c = config(None);
    c.sample_rate_hz = 0.0;
    assert!(matches!(
        VoltageSimulator::new(&layout, &point, &c),
        Err(SkyError::InvalidConfig {
            field: "sample_rate_hz",
            ..
        })
    ));
    let mut c = config(None);
    c.centre_freq_hz = 0.5e6;
    assert!(VoltageSimulator::new(&layout, &point, &c).is_err());
    let mut c = config(None);
    c.system_noise_jy = f64::NAN;
    assert!(VoltageSimulator::new(&layout, &point, &c).is_err());
    let mut gauss = point.clone();
    gauss.components[0].shape = Shape::Gaussian {
        major_rad: 1e-3,
        minor_rad: 1e-3,
        pa_rad: 0.0,
    };
    let err = VoltageSimulator::new(&layout, &gauss, &config(None)).unwrap_err();
    assert!(err.to_string().contains("point sources only"), "{err}");
    let sim = VoltageSimulator::new(&layout, &point, &config(Some(64))).unwrap();
    let mut wrong = vec![Complex32::default(); 10];
    assert!(sim.block(0, &mut wrong).is_err());
}
