//! X-engine: agreement with the f64 triple loop over sizes 1..512 antennas, every backend,
//! float and integer samples; autocorrelations and Hermitian symmetry; streaming
//! independence of block boundaries; errors.

use fxgrid::correlate::{
    packed_index, reference, Correlator, CorrelatorConfig, Integration, CHUNK,
};
use fxgrid::num_complex::{Complex, Complex32, Complex64};
use fxgrid::SimdLevel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn config(n_ant: usize, n_chan: usize, int_spectra: usize) -> CorrelatorConfig {
    CorrelatorConfig {
        n_ant,
        n_chan,
        int_spectra,
        f64_accumulation: false,
        scale: 1.0,
        flagged_inputs: vec![],
        simd: None,
    }
}

fn backends() -> Vec<SimdLevel> {
    SimdLevel::ALL
        .into_iter()
        .filter(|l| l.is_supported())
        .collect()
}

fn rel_l2(a: &[Vec<Complex32>], b: &[Vec<Complex64>]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
        num += (Complex64::new(x.re as f64, x.im as f64) - y).norm_sqr();
        den += y.norm_sqr();
    }
    (num / den).sqrt()
}

fn run<S: fxgrid::correlate::XSample>(c: &Correlator, x: &[S]) -> Vec<Integration> {
    let mut st = c.new_state();
    c.push(&mut st, x).unwrap()
}

#[test]
fn float_and_integer_inputs_match_the_reference_at_every_size() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // Sizes from one antenna to 512, odd ones that do not fill a tile of 4 × 32 inputs.
    for &(n_ant, n_chan, n_spec) in &[
        (1, 3, 70),
        (2, 2, 5),
        (3, 1, 130),
        (17, 2, 64),
        (33, 1, 65),
        (128, 1, 20),
        (512, 1, 8),
    ] {
        let n_in = 2 * n_ant;
        let len = n_spec * n_chan * n_in;
        let xf: Vec<Complex32> = (0..len)
            .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect();
        let xb: Vec<Complex<i8>> = (0..len)
            .map(|_| Complex::new(rng.random::<i8>(), rng.random::<i8>()))
            .collect();
        let xs: Vec<Complex<i16>> = (0..len)
            .map(|_| {
                Complex::new(
                    rng.random_range(-32767..=32767),
                    rng.random_range(-32767..=32767),
                )
            })
            .collect();
        let want_f = reference::correlate(&xf, n_chan, n_in);
        let to32 = |v: &[Complex<i16>]| -> Vec<Complex32> {
            v.iter()
                .map(|z| Complex32::new(z.re as f32, z.im as f32))
                .collect()
        };
        let want_b = reference::correlate(
            &xb.iter()
                .map(|z| Complex::new(z.re as i16, z.im as i16))
                .collect::<Vec<_>>()
                .as_slice()
                .iter()
                .map(|z| Complex32::new(z.re as f32, z.im as f32))
                .collect::<Vec<_>>(),
            n_chan,
            n_in,
        );
        let want_s = reference::correlate(&to32(&xs), n_chan, n_in);
        for b in backends() {
            for f64_accumulation in [false, true] {
                let cfg = CorrelatorConfig {
                    simd: Some(b),
                    f64_accumulation,
                    ..config(n_ant, n_chan, n_spec)
                };
                let c = Correlator::new(&cfg).unwrap();
                let tag = format!("{n_ant} antennas, {n_chan} channels, {n_spec} spectra, {b:?}, f64 {f64_accumulation}");
                let got = run(&c, &xf);
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].n_spectra, n_spec);
                let e = rel_l2(&got[0].products, &want_f);
                assert!(e <= 1e-6, "float32 {tag}: {e:e}");
                let e = rel_l2(&run(&c, &xb)[0].products, &want_b);
                assert!(e <= 1e-6, "int8 {tag}: {e:e}");
                let e = rel_l2(&run(&c, &xs)[0].products, &want_s);
                assert!(e <= 1e-6, "int16 {tag}: {e:e}");
            }
        }
    }
}

#[test]
fn autocorrelations_are_real_and_non_negative_and_pairs_are_hermitian() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (n_ant, n_chan, n_spec) = (5, 2, 40);
    let n_in = 2 * n_ant;
    let x: Vec<Complex32> = (0..n_spec * n_chan * n_in)
        .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
        .collect();
    let c = Correlator::new(&config(n_ant, n_chan, n_spec)).unwrap();
    let it = &run(&c, &x)[0];
    for ch in 0..n_chan {
        for p in 0..n_in {
            let v = it.products[ch][packed_index(n_in, p, p)];
            assert!(v.im == 0.0 && v.re >= 0.0, "input {p}: {v}");
        }
        for a in 0..n_ant {
            let [xx, xy, yx, yy] = c.antenna_pair(&it.products[ch], a, a);
            assert!(xx.im == 0.0 && yy.im == 0.0);
            assert_eq!(yx, xy.conj(), "antenna {a}: YX = conj(XY)");
        }
        // (q, p) from the reference equals conj of (p, q) from the correlator.
        let want = reference::correlate(&x, n_chan, n_in);
        let v01 = it.products[ch][packed_index(n_in, 1, 6)];
        let r = want[ch][packed_index(n_in, 1, 6)];
        let d = Complex64::new(v01.re as f64, v01.im as f64) - r;
        assert!(d.norm() < 1e-5 * r.norm().max(1.0));
        let [_, _, yx, _] = c.antenna_pair(&it.products[ch], 3, 0);
        // YX of the pair (3, 0) is inputs (7, 0): the conjugate of the stored (0, 7).
        let q_p = it.products[ch][packed_index(n_in, 0, 7)].conj();
        assert_eq!(yx, q_p, "(3,0) YX is conj of inputs (0,7)");
    }
}

#[test]
fn integrations_do_not_depend_on_block_boundaries() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (n_ant, n_chan) = (7, 3);
    let n_in = 2 * n_ant;
    let int_spectra = CHUNK + 37; // not a multiple of the chunk
    let n_spec = 3 * int_spectra + 11;
    let x: Vec<Complex<i8>> = (0..n_spec * n_chan * n_in)
        .map(|_| Complex::new(rng.random(), rng.random()))
        .collect();
    let xf: Vec<Complex32> = (0..n_spec * n_chan * n_in)
        .map(|_| Complex32::new(rng.random(), rng.random()))
        .collect();
    for f64_accumulation in [false, true] {
        let c = Correlator::new(&CorrelatorConfig {
            f64_accumulation,
            ..config(n_ant, n_chan, int_spectra)
        })
        .unwrap();
        let whole = run(&c, &xf);
        let whole_b = run(&c, &x);
        assert_eq!(whole.len(), 3);
        assert_eq!(
            whole.iter().map(|i| i.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        for _ in 0..5 {
            let mut st = c.new_state();
            let mut st_b = c.new_state();
            let (mut got, mut got_b) = (Vec::new(), Vec::new());
            let mut at = 0;
            while at < n_spec {
                let k = rng.random_range(1..=2 * CHUNK).min(n_spec - at);
                let r = at * n_chan * n_in..(at + k) * n_chan * n_in;
                got.extend(c.push(&mut st, &xf[r.clone()]).unwrap());
                got_b.extend(c.push(&mut st_b, &x[r]).unwrap());
                at += k;
            }
            assert_eq!(got, whole, "float32, f64 {f64_accumulation}");
            assert_eq!(got_b, whole_b, "int8, f64 {f64_accumulation}");
        }
        // Each integration equals the reference on its own spectra.
        for (i, it) in whole.iter().enumerate() {
            let r = i * int_spectra * n_chan * n_in..(i + 1) * int_spectra * n_chan * n_in;
            let e = rel_l2(&it.products, &reference::correlate(&xf[r], n_chan, n_in));
            assert!(e <= 1e-6, "integration {i}: {e:e}");
        }
    }
}

#[test]
fn bad_configurations_and_blocks_are_typed_errors() {
    for (cfg, field) in [
        (config(0, 1, 1), "n_ant"),
        (config(2, 0, 1), "n_chan"),
        (config(2, 1, 0), "int_spectra"),
        (
            CorrelatorConfig {
                scale: f64::NAN,
                ..config(2, 1, 1)
            },
            "scale",
        ),
        (
            CorrelatorConfig {
                flagged_inputs: vec![4],
                ..config(2, 1, 1)
            },
            "flagged_inputs",
        ),
    ] {
        let e = Correlator::new(&cfg).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
    let c = Correlator::new(&config(2, 3, 4)).unwrap();
    let mut st = c.new_state();
    let e = c
        .push(&mut st, &[Complex32::default(); 13])
        .unwrap_err()
        .to_string();
    assert!(e.contains("multiple of"), "{e}");
    let c = Correlator::new(&CorrelatorConfig {
        flagged_inputs: vec![1],
        ..config(2, 1, 1)
    })
    .unwrap();
    assert!(c.flagged(0, 1, 2) && c.flagged(0, 0, 1) && !c.flagged(1, 1, 0) && !c.flagged(0, 1, 0));
}

#[test]
fn eight_bit_samples_are_exact_at_the_extremes() {
    // Exact i64 sums against every backend's integer kernels (the 8-bit one offsets its
    // rows by 128, so −128 and 127 are the cases that would show a wrong correction), odd
    // and even spectra counts (two steps share a word), with and without f64 sums. All
    // sums here are below 2^24, so f32 holds them exactly.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (n_ant, n_chan) = (19, 2);
    let n_in = 2 * n_ant;
    for n_spec in [1, 2, 63, 64, 65, 130] {
        let x: Vec<Complex<i8>> = (0..n_spec * n_chan * n_in)
            .map(|i| match i % 5 {
                0 => Complex::new(-128, -128),
                1 => Complex::new(127, -128),
                2 => Complex::new(-128, 127),
                _ => Complex::new(rng.random(), rng.random()),
            })
            .collect();
        let mut want = vec![vec![(0i64, 0i64); n_in * (n_in + 1) / 2]; n_chan];
        for t in 0..n_spec {
            for (c, w) in want.iter_mut().enumerate() {
                let s = &x[(t * n_chan + c) * n_in..(t * n_chan + c + 1) * n_in];
                for p in 0..n_in {
                    for q in p..n_in {
                        let (pr, pi) = (s[p].re as i64, s[p].im as i64);
                        let (qr, qi) = (s[q].re as i64, s[q].im as i64);
                        let v = &mut w[packed_index(n_in, p, q)];
                        v.0 += pr * qr + pi * qi;
                        v.1 += pr * qi - pi * qr;
                    }
                }
            }
        }
        for b in backends() {
            for f64_accumulation in [false, true] {
                let c = Correlator::new(&CorrelatorConfig {
                    simd: Some(b),
                    f64_accumulation,
                    ..config(n_ant, n_chan, n_spec)
                })
                .unwrap();
                let got = run(&c, &x);
                for (ch, (g, w)) in got[0].products.iter().zip(&want).enumerate() {
                    for (k, (z, &(re, im))) in g.iter().zip(w).enumerate() {
                        assert_eq!(
                            (z.re as i64, z.im as i64),
                            (re, im),
                            "{b:?}, {n_spec} spectra, f64 {f64_accumulation}, channel {ch}, product {k}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn recycled_output_vectors_are_overwritten_entirely() {
    // Vectors handed back are filled with NaN first: any product the next integration
    // failed to write would show.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (n_ant, n_chan, int_spectra) = (21, 3, 70);
    let n_in = 2 * n_ant;
    let n_spec = 4 * int_spectra;
    let x: Vec<Complex32> = (0..n_spec * n_chan * n_in)
        .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
        .collect();
    let xb: Vec<Complex<i8>> = (0..n_spec * n_chan * n_in)
        .map(|_| Complex::new(rng.random(), rng.random()))
        .collect();
    for b in backends() {
        let c = Correlator::new(&CorrelatorConfig {
            simd: Some(b),
            ..config(n_ant, n_chan, int_spectra)
        })
        .unwrap();
        let want = run(&c, &x);
        let want_b = run(&c, &xb);
        let (mut st, mut st_b) = (c.new_state(), c.new_state());
        let row = n_chan * n_in;
        for (i, (w, wb)) in want.iter().zip(&want_b).enumerate() {
            let r = i * int_spectra * row..(i + 1) * int_spectra * row;
            let got = c.push(&mut st, &x[r.clone()]).unwrap().remove(0);
            let got_b = c.push(&mut st_b, &xb[r]).unwrap().remove(0);
            assert_eq!(&got, w, "{b:?} float32, integration {i}");
            assert_eq!(&got_b, wb, "{b:?} int8, integration {i}");
            for (mut it, s) in [(got, &mut st), (got_b, &mut st_b)] {
                it.products
                    .iter_mut()
                    .flatten()
                    .for_each(|z| *z = Complex32::new(f32::NAN, f32::NAN));
                c.recycle(s, it);
            }
        }
    }
}
