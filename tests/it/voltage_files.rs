//! Voltage and spectra files: round trip, streamed channelisation equal to the in-memory
//! filterbank, and bad input that gives a typed error and leaves no output behind.

use std::path::Path;

use fxgrid::channelise::{Pfb, PfbConfig, Window};
use fxgrid::fx::files::{channelise_file, simulate_voltages_file, VoltageFileOptions};
use fxgrid::io::voltages::{SpectraReader, VoltageReader};
use fxgrid::num_complex::{Complex, Complex32};
use fxgrid::progress::NoProgress;
use fxgrid::sky::voltages::quantise;
use fxgrid::sky::{Component, SkyModel, VoltageConfig, VoltageSimulator};
use fxgrid::telescope::RaDec;

use crate::common::small_setup;

fn simulator(n_ant: usize) -> (fxgrid::telescope::ArrayLayout, VoltageSimulator) {
    let (layout, obs) = small_setup(n_ant, 1, 1);
    let sky = SkyModel::new(vec![Component::point(
        RaDec::from_degrees(60.4, -29.6),
        4.0,
    )])
    .unwrap();
    let cfg = VoltageConfig {
        phase_centre: obs.phase_centre,
        start_jd_utc: obs.start_jd_utc,
        centre_freq_hz: 110e6,
        sample_rate_hz: 1.0e6,
        system_noise_jy: 20.0,
        seed: 3,
        block_len: Some(4096),
    };
    let sim = VoltageSimulator::new(&layout, &sky, &cfg).unwrap();
    (layout, sim)
}

/// Nothing but `keep` in `dir`: no partial or temporary files.
fn only(dir: &Path, keep: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn voltages_round_trip_in_every_sample_type() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let (layout, sim) = simulator(3);
    let n = 10_000;
    let row = layout.n_ant() * 2;
    let mut truth = vec![Complex32::default(); n * row];
    sim.stream().fill(&mut truth).unwrap();
    for bits in [8u32, 16, 32] {
        let path = dir.path().join(format!("v{bits}.h5"));
        let sum = simulate_voltages_file(
            &path,
            &sim,
            &layout,
            n,
            VoltageFileOptions { bits, scale: None },
            "test",
            &NoProgress,
        )
        .unwrap();
        let r = VoltageReader::open(&path).unwrap();
        assert_eq!(r.n_samples, n);
        assert_eq!(r.header.layout.n_ant(), layout.n_ant());
        assert_eq!(r.header.sample_rate_hz, 1.0e6);
        assert_eq!(r.header.voltage_scale, sum.voltage_scale);
        match bits {
            8 => {
                let got: Vec<Complex<i8>> = r.read(0, n).unwrap();
                let mut want = vec![Complex::<i8>::default(); n * row];
                quantise(&truth, sum.voltage_scale, &mut want);
                assert_eq!(got, want);
                assert!(
                    r.read::<Complex32>(0, 1).is_err(),
                    "type mismatch must be refused"
                );
            }
            16 => {
                let got: Vec<Complex<i16>> = r.read(0, n).unwrap();
                let mut want = vec![Complex::<i16>::default(); n * row];
                quantise(&truth, sum.voltage_scale, &mut want);
                assert_eq!(got, want);
            }
            _ => {
                let got: Vec<Complex32> = r.read(17, 100).unwrap();
                assert_eq!(&got[..], &truth[17 * row..117 * row]);
                assert!(r.read::<Complex32>(n - 1, 2).is_err());
            }
        }
    }
    only(dir.path(), &["v8.h5", "v16.h5", "v32.h5"]);
}

#[test]
fn streamed_channelisation_equals_the_in_memory_filterbank() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let (layout, sim) = simulator(2);
    let n = 50_000;
    let v = dir.path().join("v.h5");
    let s = dir.path().join("s.h5");
    let sum = simulate_voltages_file(
        &v,
        &sim,
        &layout,
        n,
        VoltageFileOptions {
            bits: 8,
            scale: None,
        },
        "",
        &NoProgress,
    )
    .unwrap();
    let cfg = PfbConfig {
        n_chan: 64,
        n_taps: 8,
        window: Window::Hann,
        oversampling: (4, 3),
        ..Default::default()
    };
    channelise_file(&v, &s, &cfg, "test", &NoProgress).unwrap();
    let r = VoltageReader::open(&v).unwrap();
    let x: Vec<Complex<i8>> = r.read(0, n).unwrap();
    let pfb = Pfb::new(&cfg).unwrap();
    let sp = SpectraReader::open(&s).unwrap();
    let n_in = 2 * layout.n_ant();
    let n_spec = sp.n_spectra;
    let got = sp.read(0, n_spec).unwrap();
    for input in 0..n_in {
        let xi: Vec<Complex<i8>> = x.iter().skip(input).step_by(n_in).copied().collect();
        let mut st = pfb.new_state();
        let mut out = Vec::new();
        assert_eq!(pfb.process(&mut st, &xi, &mut out).unwrap(), n_spec);
        for m in 0..n_spec {
            for k in 0..64 {
                let want = out[m * 64 + k] * sum.voltage_scale as f32;
                assert_eq!(
                    got[(m * 64 + k) * n_in + input],
                    want,
                    "input {input} spectrum {m} channel {k}"
                );
            }
        }
    }
    // Header: channel frequencies, rates and the time of spectrum 0 (window centre).
    let h = &sp.header;
    assert_eq!(sp.info.freqs_hz[32], 110e6);
    assert!((sp.info.freqs_hz[33] - sp.info.freqs_hz[32] - 1e6 / 64.0).abs() < 1e-6);
    assert!((sp.info.spectrum_rate_hz - 1e6 / 48.0).abs() < 1e-9);
    assert_eq!(sp.info.oversampling, (4, 3));
    assert_eq!(sp.info.window, "hann");
    // A JD in f64 resolves 2^-52 · 2.46e6 d ≈ 47 µs, the tolerance here.
    let dt_s = (h.start_jd_utc - r.header.start_jd_utc) * 86400.0;
    let ulp_s = h.start_jd_utc * f64::EPSILON * 86400.0;
    assert!((dt_s - (512.0 - 1.0) / 2.0 / 1e6).abs() <= ulp_s, "{dt_s}");
}

#[test]
fn bad_input_gives_a_typed_error_and_no_output() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (layout, sim) = simulator(2);
    let v = d.join("v.h5");
    simulate_voltages_file(
        &v,
        &sim,
        &layout,
        5000,
        VoltageFileOptions {
            bits: 16,
            scale: None,
        },
        "",
        &NoProgress,
    )
    .unwrap();
    let out = d.join("s.h5");
    let cfg = |n: usize, t: usize, os: (usize, usize)| PfbConfig {
        n_chan: n,
        n_taps: t,
        oversampling: os,
        ..Default::default()
    };
    let err = |c: PfbConfig, input: &Path| {
        channelise_file(input, &out, &c, "", &NoProgress)
            .unwrap_err()
            .to_string()
    };
    assert!(err(cfg(0, 4, (1, 1)), &v).contains("n_chan"));
    assert!(err(cfg(16, 0, (1, 1)), &v).contains("n_taps"));
    assert!(err(cfg(16, 4, (1, 2)), &v).contains("oversampling"));
    assert!(err(cfg(16, 4, (7, 5)), &v).contains("oversampling"));
    assert!(err(cfg(4096, 12, (1, 1)), &v).contains("filter window"));
    // Not HDF5 at all; HDF5 but not an fxgrid voltage file; missing file.
    let junk = d.join("junk.h5");
    std::fs::write(&junk, b"this is not HDF5").unwrap();
    assert!(err(cfg(16, 4, (1, 1)), &junk).contains("not a readable HDF5 file"));
    assert!(err(cfg(16, 4, (1, 1)), &d.join("missing.h5")).contains("missing.h5"));
    let other = d.join("other.h5");
    {
        let f = hdf5::File::create(&other).unwrap();
        f.new_dataset::<f64>().shape([3]).create("x").unwrap();
    }
    assert!(err(cfg(16, 4, (1, 1)), &other).contains("not an fxgrid voltage or spectra file"));
    // Wrong shape and wrong type of Data/voltages (made from a good header).
    for (name, make) in [("shape.h5", 0), ("dtype.h5", 1)] {
        let p = d.join(name);
        std::fs::copy(&v, &p).unwrap();
        let f = hdf5::File::open_rw(&p).unwrap();
        f.unlink("Data/voltages").unwrap();
        let g = f.group("Data").unwrap();
        if make == 0 {
            g.new_dataset::<Complex<i16>>()
                .shape([100, 2, 3])
                .create("voltages")
                .unwrap();
        } else {
            g.new_dataset::<f64>()
                .shape([100, 2, 2])
                .create("voltages")
                .unwrap();
        }
        drop(g);
        drop(f);
        let e = err(cfg(16, 4, (1, 1)), &p);
        assert!(e.contains("Data/voltages"), "{e}");
        assert!(
            if make == 0 {
                e.contains("shape")
            } else {
                e.contains("float32")
            },
            "{e}"
        );
    }
    only(d, &["v.h5", "junk.h5", "other.h5", "shape.h5", "dtype.h5"]);
}

/// The large-file check of the acceptance list: `fxgrid channelise` on a voltage file of
/// several GB (paths in `FXGRID_LARGE_VOLTAGES` and `FXGRID_LARGE_SPECTRA`) equals the
/// in-memory filterbank, for three inputs across the array. Run by hand:
/// `cargo test --release --test it large_file -- --ignored`.
#[test]
#[ignore = "needs a multi-GB voltage file made by hand (see the doc comment)"]
fn large_file_channelisation_equals_the_in_memory_filterbank() {
    let _guard = crate::common::process_guard();
    let v = std::env::var("FXGRID_LARGE_VOLTAGES").expect("FXGRID_LARGE_VOLTAGES");
    let s = std::env::var("FXGRID_LARGE_SPECTRA").expect("FXGRID_LARGE_SPECTRA");
    let r = VoltageReader::open(Path::new(&v)).unwrap();
    let sp = SpectraReader::open(Path::new(&s)).unwrap();
    let n_in = 2 * r.header.layout.n_ant();
    let n_chan = sp.info.freqs_hz.len();
    let (p, q) = sp.info.oversampling;
    let cfg = PfbConfig {
        n_chan,
        n_taps: sp.info.n_taps,
        window: Window::parse(&sp.info.window).unwrap(),
        oversampling: (p, q),
        ..Default::default()
    };
    let pfb = Pfb::new(&cfg).unwrap();
    // One input at a time, read in blocks of samples (the whole stream of one input).
    for input in [0, n_in / 2 + 1, n_in - 1] {
        let mut xi: Vec<Complex32> = Vec::with_capacity(r.n_samples);
        let block = 1 << 16;
        let mut at = 0;
        while at < r.n_samples {
            let k = block.min(r.n_samples - at);
            let x: Vec<Complex32> = r.read(at, k).unwrap();
            xi.extend(x.iter().skip(input).step_by(n_in));
            at += k;
        }
        let mut st = pfb.new_state();
        let mut out = Vec::new();
        let n_spec = pfb.process(&mut st, &xi, &mut out).unwrap();
        assert_eq!(n_spec, sp.n_spectra);
        let scale = r.header.voltage_scale as f32;
        let mut m0 = 0;
        while m0 < n_spec {
            let k = 64.min(n_spec - m0);
            let got = sp.read(m0, k).unwrap();
            for m in 0..k {
                for c in 0..n_chan {
                    assert_eq!(
                        got[(m * n_chan + c) * n_in + input],
                        out[(m0 + m) * n_chan + c] * scale
                    );
                }
            }
            m0 += k;
        }
    }
}
