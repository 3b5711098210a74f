//! The polyphase filterbank against its f64 reference, physical checks (tones, noise),
//! streaming, the default filter's metrics, and errors.

use fxgrid::channelise::reference::pfb_reference;
use fxgrid::channelise::response::{metrics, response_at};
use fxgrid::channelise::{Pfb, PfbConfig, Sample, Sampling, Window};
use fxgrid::SimdLevel;
use num_complex::{Complex, Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::common::rel_l2;

/// Instruction-set levels this CPU can run (the tests run each of them).
fn backends() -> Vec<SimdLevel> {
    SimdLevel::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

fn run_all<S: Sample>(pfb: &Pfb, x: &[S]) -> Vec<Complex32> {
    let mut st = pfb.new_state();
    let mut out = Vec::new();
    pfb.process(&mut st, x, &mut out).unwrap();
    out
}

/// Relative L2 error of the filterbank against precomputed reference spectra.
fn check<S: Sample>(pfb: &Pfb, x: &[S], want: &[Complex64], label: &str) {
    let got = run_all(pfb, x);
    assert_eq!(got.len(), want.len(), "{label}: number of outputs");
    assert!(!want.is_empty(), "{label}: no spectra");
    let err = rel_l2(
        got.iter().map(|c| (c.re as f64, c.im as f64)),
        want.iter().map(|c| (c.re, c.im)),
    );
    assert!(err <= 1e-5, "{label}: relative L2 error {err:e}");
}

fn reference(pfb: &Pfb, x: &[Complex64]) -> Vec<Complex64> {
    pfb_reference(pfb.coeffs(), pfb.n_chan(), pfb.hop(), pfb.sampling(), x)
        .into_iter()
        .flatten()
        .collect()
}

/// Complex inputs as float32, int8 and int16.
type ComplexInputs = (Vec<Complex<f32>>, Vec<Complex<i8>>, Vec<Complex<i16>>);

/// Complex test inputs of three sample types.
fn complex_inputs(rng: &mut ChaCha8Rng, len: usize) -> ComplexInputs {
    (
        (0..len)
            .map(|_| Complex::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect(),
        (0..len)
            .map(|_| Complex::new(rng.random::<i8>(), rng.random::<i8>()))
            .collect(),
        (0..len)
            .map(|_| Complex::new(rng.random::<i16>(), rng.random::<i16>()))
            .collect(),
    )
}

fn c64<T: Copy + Into<f64>>(v: &[Complex<T>]) -> Vec<Complex64> {
    v.iter()
        .map(|c| Complex64::new(c.re.into(), c.im.into()))
        .collect()
}

fn r64<T: Copy + Into<f64>>(v: &[T]) -> Vec<Complex64> {
    v.iter().map(|&x| Complex64::new(x.into(), 0.0)).collect()
}

#[test]
fn every_variant_matches_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // (N, T, oversampling, spectra after the first): a few spectra each, and two shapes
    // with more spectra than a group holds (64 for small N), so that rows carried from
    // group to group are checked too. N = 1024 and 4096 (complex input) use the AVX-512
    // transform of `fft.rs` where the CPU has it.
    let shapes: &[(usize, usize, (usize, usize), usize)] = &[
        (1, 1, (1, 1), 3),
        (2, 3, (1, 1), 3),
        (3, 2, (3, 2), 3),
        (5, 4, (1, 1), 3),
        (8, 8, (4, 3), 3),
        (32, 12, (32, 27), 3),
        (64, 4, (8, 7), 3),
        (64, 8, (1, 1), 150),
        (96, 5, (32, 27), 3),
        (256, 8, (1, 1), 3),
        (512, 8, (1, 1), 70),
        (4096, 3, (1, 1), 2),
        (1024, 3, (4, 3), 1),
        (1024, 8, (1, 1), 2),
        (4096, 2, (32, 27), 1),
    ];
    for &(n, t, os, extra) in shapes {
        for sampling in [Sampling::Complex, Sampling::Real] {
            let plan = |backend| {
                let cfg = PfbConfig {
                    n_chan: n,
                    n_taps: t,
                    oversampling: os,
                    sampling,
                    simd: Some(backend),
                    ..Default::default()
                };
                Pfb::new(&cfg).unwrap()
            };
            let p0 = plan(SimdLevel::Portable);
            let len = n * t + p0.hop() * extra + rng.random_range(0..p0.hop().max(2));
            let label = format!("N={n} T={t} {os:?} {sampling:?}");
            match sampling {
                Sampling::Complex => {
                    let (xf, xb, xs) = complex_inputs(&mut rng, len);
                    let (rf, rb, rs) = (
                        reference(&p0, &c64(&xf)),
                        reference(&p0, &c64(&xb)),
                        reference(&p0, &c64(&xs)),
                    );
                    for backend in backends() {
                        let pfb = plan(backend);
                        check(&pfb, &xf, &rf, &format!("{label} {backend:?} f32"));
                        check(&pfb, &xb, &rb, &format!("{label} {backend:?} i8"));
                        check(&pfb, &xs, &rs, &format!("{label} {backend:?} i16"));
                    }
                }
                Sampling::Real => {
                    let xf: Vec<f32> = (0..len).map(|_| rng.random::<f32>() - 0.5).collect();
                    let xb: Vec<i8> = (0..len).map(|_| rng.random::<i8>()).collect();
                    let xs: Vec<i16> = (0..len).map(|_| rng.random::<i16>()).collect();
                    let (rf, rb, rs) = (
                        reference(&p0, &r64(&xf)),
                        reference(&p0, &r64(&xb)),
                        reference(&p0, &r64(&xs)),
                    );
                    for backend in backends() {
                        let pfb = plan(backend);
                        check(&pfb, &xf, &rf, &format!("{label} {backend:?} f32"));
                        check(&pfb, &xb, &rb, &format!("{label} {backend:?} i8"));
                        check(&pfb, &xs, &rs, &format!("{label} {backend:?} i16"));
                    }
                }
            }
        }
    }
}

#[test]
fn streaming_is_bit_identical_for_random_split_points_and_thread_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // (200, 5/4): a rotation period (5 spectra) that no group or task length is a
    // multiple of.
    // (1024 and 4096, 1/1): the AVX-512 transform of `fft.rs`, where the CPU has it.
    for (n_chan, os) in [
        (256, (1, 1)),
        (256, (32, 27)),
        (200, (5, 4)),
        (1024, (1, 1)),
        (4096, (1, 1)),
    ] {
        let pfb = Pfb::new(&PfbConfig {
            n_chan,
            n_taps: 12,
            oversampling: os,
            ..Default::default()
        })
        .unwrap();
        let x: Vec<Complex<i8>> = (0..200_000)
            .map(|_| Complex::new(rng.random::<i8>(), rng.random::<i8>()))
            .collect();
        let whole = run_all(&pfb, &x);
        // One call's spectra are made in parallel tasks: the thread count changes nothing.
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| run_all(&pfb, &x));
            assert_eq!(got, whole, "{threads} threads change the bits ({os:?})");
        }
        for _ in 0..5 {
            let mut st = pfb.new_state();
            let mut out = Vec::new();
            let mut i = 0;
            while i < x.len() {
                let step = if rng.random::<f32>() < 0.3 {
                    rng.random_range(0..5)
                } else {
                    rng.random_range(0..70_000)
                };
                let j = (i + step).min(x.len());
                pfb.process(&mut st, &x[i..j], &mut out).unwrap();
                i = j;
            }
            assert_eq!(
                out, whole,
                "split streaming must equal one call bit for bit ({os:?})"
            );
        }
    }
}

/// Power (dB) of channel `k` for a complex tone of amplitude 1 at `f` cycles/sample.
fn tone_response(pfb: &Pfb, f: f64) -> (usize, Vec<f64>) {
    let n = pfb.n_chan();
    let len = pfb.window_len() + pfb.hop() * 4;
    let x: Vec<Complex32> = (0..len)
        .map(|t| Complex64::from_polar(1.0, std::f64::consts::TAU * f * t as f64))
        .map(|c| Complex32::new(c.re as f32, c.im as f32))
        .collect();
    let out = run_all(pfb, &x);
    let spec = &out[n..2 * n]; // second spectrum
    let amps: Vec<f64> = spec.iter().map(|c| c.norm() as f64).collect();
    let k = (0..n).max_by(|&a, &b| amps[a].total_cmp(&amps[b])).unwrap();
    (k, amps)
}

#[test]
fn a_tone_lands_in_the_nearest_channel_with_the_predicted_amplitude() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for os in [(1, 1), (32, 27)] {
        let pfb = Pfb::new(&PfbConfig {
            n_chan: 512,
            n_taps: 12,
            oversampling: os,
            ..Default::default()
        })
        .unwrap();
        let n = pfb.n_chan() as f64;
        for _ in 0..20 {
            let f = rng.random::<f64>() - 0.5; // cycles per sample
            let (k, amps) = tone_response(&pfb, f);
            let nearest = ((f * n).round() as i64).rem_euclid(pfb.n_chan() as i64);
            let nearest = ((nearest + (pfb.n_chan() / 2) as i64) % pfb.n_chan() as i64) as usize;
            // Channel k is centred on b_k / N: a tone exactly between two may go either way.
            let offset = f * n - pfb.channel_bin(k) as f64;
            let offset = offset - n * (offset / n).round();
            assert!(
                k == nearest || (offset.abs() - 0.5).abs() < 1e-6,
                "f={f}: peak in channel {k}, nearest {nearest}"
            );
            let predicted = response_at(pfb.coeffs(), pfb.n_chan(), offset);
            let db = 20.0 * (amps[k] / predicted).log10();
            assert!(
                db.abs() <= 0.1,
                "f={f} {os:?}: amplitude {} vs predicted {predicted} ({db:.3} dB)",
                amps[k]
            );
        }
    }
}

#[test]
fn a_tone_at_a_channel_centre_keeps_amplitude_and_phase_from_spectrum_to_spectrum() {
    for os in [(1, 1), (32, 27), (4, 3)] {
        let pfb = Pfb::new(&PfbConfig {
            n_chan: 64,
            n_taps: 8,
            oversampling: os,
            ..Default::default()
        })
        .unwrap();
        let k = 40usize;
        let f = pfb.channel_bin(k) as f64 / 64.0;
        let x: Vec<Complex32> = (0..64 * 8 + pfb.hop() * 20)
            .map(|t| Complex64::from_polar(0.7, std::f64::consts::TAU * f * t as f64 + 0.3))
            .map(|c| Complex32::new(c.re as f32, c.im as f32))
            .collect();
        let out = run_all(&pfb, &x);
        for spec in out.chunks(64) {
            let v = spec[k];
            assert!(
                (v.norm() - 0.7).abs() < 1e-5,
                "{os:?}: amplitude {}",
                v.norm()
            );
            assert!(
                (v.arg() - 0.3).abs() < 1e-5,
                "{os:?}: phase {} must stay at the tone's 0.3",
                v.arg()
            );
        }
    }
}

#[test]
fn white_noise_gives_flat_channel_powers() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let pfb = Pfb::new(&PfbConfig {
        n_chan: 64,
        n_taps: 12,
        oversampling: (1, 1),
        ..Default::default()
    })
    .unwrap();
    let normal = rand_distr::Normal::new(0.0f32, 1.0).unwrap();
    let x: Vec<Complex32> = (0..64 * 4000)
        .map(|_| Complex32::new(rng.sample(normal), rng.sample(normal)))
        .collect();
    let out = run_all(&pfb, &x);
    let n_spec = out.len() / 64;
    let power: Vec<f64> = (0..64)
        .map(|k| {
            out.iter()
                .skip(k)
                .step_by(64)
                .map(|c| c.norm_sqr() as f64)
                .sum::<f64>()
                / n_spec as f64
        })
        .collect();
    // Expected power per channel: σ² Σ h² (white noise through h), 2 for unit-variance I and Q.
    let sum_h2: f64 = pfb.coeffs().iter().map(|h| h * h).sum();
    let expected = 2.0 * sum_h2;
    // Statistical error of a mean of n_spec exponential variables: 1/sqrt(n_spec); 5 of them.
    let tol = 5.0 / (n_spec as f64).sqrt();
    for (k, p) in power.iter().enumerate() {
        assert!(
            (p / expected - 1.0).abs() < tol,
            "channel {k}: power {p} vs {expected}"
        );
    }
}

#[test]
fn the_default_filter_meets_its_specification() {
    let pfb = Pfb::new(&PfbConfig::default()).unwrap();
    assert_eq!((pfb.n_chan(), pfb.n_taps(), pfb.hop()), (4096, 12, 3456));
    assert_eq!(pfb.window(), Some(Window::Kaiser { beta: 9.0 }));
    let m = metrics(pfb.coeffs(), pfb.n_chan());
    assert!((m.centre_gain - 1.0).abs() < 1e-12, "{m:?}");
    assert!(m.stopband_attenuation_db >= 60.0, "{m:?}");
    // Documented values (README, `fxgrid channelise --report`): asserted to the precision
    // they are quoted with.
    println!("{m:?}");
}

#[test]
fn bad_configurations_are_typed_errors() {
    let bad = |cfg: PfbConfig, needle: &str| {
        let e = Pfb::new(&cfg).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    };
    bad(
        PfbConfig {
            n_chan: 0,
            ..Default::default()
        },
        "n_chan",
    );
    bad(
        PfbConfig {
            n_taps: 0,
            ..Default::default()
        },
        "n_taps",
    );
    bad(
        PfbConfig {
            oversampling: (1, 2),
            ..Default::default()
        },
        "P/Q >= 1",
    );
    bad(
        PfbConfig {
            oversampling: (0, 1),
            ..Default::default()
        },
        "oversampling",
    );
    bad(
        PfbConfig {
            n_chan: 100,
            oversampling: (32, 27),
            ..Default::default()
        },
        "whole",
    );
    bad(
        PfbConfig {
            n_chan: 4,
            n_taps: 2,
            oversampling: (1, 1),
            coeffs: Some(vec![1.0; 7]),
            ..Default::default()
        },
        "expected length 8",
    );
    let pfb = Pfb::new(&PfbConfig {
        n_chan: 8,
        n_taps: 2,
        oversampling: (1, 1),
        ..Default::default()
    })
    .unwrap();
    let mut st = pfb.new_state();
    let e = pfb
        .process(&mut st, &[1.0f32; 4], &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("real float32"), "{e}");
}
