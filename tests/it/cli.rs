//! The `fxgrid` binary: it works, and bad arguments or files give one clear line and a
//! non-zero exit, never a panic.

use std::process::Command;

use crate::common::fxgrid;

fn assert_clean_failure(args: &[&str], needle: &str) {
    let (ok, _, err) = fxgrid(args);
    assert!(!ok, "{args:?} should fail");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?} panicked: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err:?}"
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn simulate_then_info() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.uvh5");
    let csv = dir.path().join("arr.csv");
    std::fs::write(
        &csv,
        "name,east_m,north_m,up_m\nA,0,0,0\nB,100,0,0\nC,0,150,1\n",
    )
    .unwrap();
    let (ok, stdout, err) = fxgrid(&[
        "simulate",
        "vis",
        "--layout",
        csv.to_str().unwrap(),
        "--source",
        "60.1,-30.1,2.0",
        "--random-sources",
        "3",
        "--ra-deg",
        "60",
        "--dec-deg",
        "-30",
        "--ntimes",
        "2",
        "--nchan",
        "3",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("3 antennas, 6 baselines, 2 times, 3 channels"),
        "{stdout}"
    );
    let (ok, stdout, err) = fxgrid(&["info", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("Nbls 6") && stdout.contains("UVH5"),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_and_files_are_one_line_errors() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.uvh5");
    let o = out.to_str().unwrap();
    let base = ["simulate", "vis", "--ra-deg", "60", "--out", o];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |extra: &[&'static str], needle: &str| {
        let a = with(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        assert_clean_failure(&a, needle);
    };
    run(&["--dec-deg", "100"], "not a sky direction");
    run(&["--dec-deg", "-30", "--layout", "ska-low:0"], "1..=4096");
    run(
        &["--dec-deg", "-30", "--layout", "nowhere.csv"],
        "nowhere.csv",
    );
    run(
        &[
            "--dec-deg",
            "-30",
            "--layout",
            "ska-low:8",
            "--source",
            "1,2",
        ],
        "expected 3",
    );
    run(
        &["--dec-deg", "-30", "--layout", "ska-low:8", "--ntimes", "0"],
        "n_times",
    );
    run(
        &[
            "--dec-deg",
            "-30",
            "--layout",
            "ska-low:8",
            "--precision",
            "f16",
        ],
        "f16",
    );
    run(
        &[
            "--dec-deg",
            "-30",
            "--layout",
            "ska-low:8",
            "--start-jd",
            "2400000",
        ],
        "outside the supported range",
    );
    run(
        &[
            "--dec-deg",
            "-30",
            "--layout",
            "ska-low:8",
            "--sky",
            "none.txt",
        ],
        "none.txt",
    );
    assert!(!out.exists());
    if !cfg!(feature = "hdf5") {
        return;
    }
    assert_clean_failure(
        &["info", dir.path().join("nope.uvh5").to_str().unwrap()],
        "nope.uvh5",
    );
    let txt = dir.path().join("t.txt");
    std::fs::write(&txt, "hello").unwrap();
    assert_clean_failure(&["info", txt.to_str().unwrap()], "HDF5");
    assert_clean_failure(
        &["--threads", "0", "info", txt.to_str().unwrap()],
        "--threads",
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn simulate_voltages_channelise_info_and_errors() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.h5");
    let s = dir.path().join("s.h5");
    let (vs, ss) = (v.to_str().unwrap(), s.to_str().unwrap());
    let sim = [
        "simulate",
        "voltages",
        "--layout",
        "ska-low:4",
        "--source",
        "60.5,-29.5,10",
        "--ra-deg",
        "60",
        "--dec-deg",
        "-30",
        "--centre-freq-hz",
        "100e6",
        "--sample-rate-hz",
        "1e6",
        "--nsamples",
        "20000",
        "--system-noise-jy",
        "30",
        "--bits",
        "16",
        "--out",
        vs,
    ];
    let (ok, stdout, err) = fxgrid(&sim);
    assert!(ok, "{err}");
    assert!(stdout.contains("20000 samples × 4 antennas"), "{stdout}");
    let (ok, stdout, err) = fxgrid(&[
        "channelise",
        vs,
        "--nchan",
        "128",
        "--taps",
        "8",
        "--window",
        "hann",
        "--oversample",
        "32/27",
        "--out",
        ss,
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("spectra"), "{stdout}");
    let (ok, stdout, _) = fxgrid(&["info", ss]);
    assert!(
        ok && stdout.contains("fxgrid spectra") && stdout.contains("oversampling 32/27"),
        "{stdout}"
    );
    let (ok, stdout, _) = fxgrid(&["info", vs]);
    assert!(ok && stdout.contains("20000 samples of int16"), "{stdout}");
    let u = dir.path().join("c.uvh5");
    let (ok, stdout, err) = fxgrid(&[
        "correlate",
        ss,
        "--int-spectra",
        "40",
        "--out",
        u.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("in Jy"), "{stdout}");
    let (ok, stdout, _) = fxgrid(&["info", u.to_str().unwrap()]);
    assert!(
        ok && stdout.contains("Nbls 10") && stdout.contains("Npols 4"),
        "{stdout}"
    );
    std::fs::remove_file(&u).unwrap();
    let bad = dir.path().join("bad.h5");
    let b = bad.to_str().unwrap();
    assert_clean_failure(
        &["correlate", ss, "--int-spectra", "0", "--out", b],
        "--int-spectra 0",
    );
    assert_clean_failure(
        &["correlate", ss, "--int-spectra", "100000", "--out", b],
        "int_spectra",
    );
    assert_clean_failure(
        &["correlate", vs, "--int-spectra", "4", "--out", b],
        "this is a voltage file, not spectra: channelise it first",
    );
    assert_clean_failure(&["channelise", vs, "--nchan", "0", "--out", b], "n_chan");
    assert_clean_failure(
        &["channelise", vs, "--taps", "0", "--nchan", "16", "--out", b],
        "n_taps",
    );
    assert_clean_failure(
        &["channelise", vs, "--oversample", "1/2", "--out", b],
        "--oversample",
    );
    assert_clean_failure(
        &["channelise", vs, "--oversample", "x", "--out", b],
        "--oversample",
    );
    assert_clean_failure(
        &["channelise", vs, "--window", "kaiser:-1", "--out", b],
        "window",
    );
    assert_clean_failure(
        &["channelise", ss, "--nchan", "16", "--out", b],
        "this is a spectra file, not voltages: correlate it",
    );
    let mut bits = sim.to_vec();
    let n = bits.len();
    bits[n - 3] = "12";
    bits[n - 1] = b;
    assert_clean_failure(&bits, "bits");
    assert!(!bad.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

/// `--sky-out` lists every component simulated, drawn ones included: simulating that list
/// again gives the same visibilities.
#[cfg(feature = "hdf5")]
#[test]
fn sky_out_lists_the_drawn_sources_and_simulates_the_same_data() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (a, b, sky) = (path("a.uvh5"), path("b.uvh5"), path("s.sky"));
    let common = [
        "simulate",
        "vis",
        "--layout",
        "ska-low:16",
        "--ra-deg",
        "60",
        "--dec-deg",
        "-30",
        "--ntimes",
        "2",
        "--nchan",
        "3",
        "--seed",
        "7",
        "-q",
    ];
    let args = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (ok, _, err) = fxgrid(&a);
        assert!(ok, "{err}");
    };
    run(args(&[
        "--random-sources",
        "5",
        "--sky-out",
        &sky,
        "--out",
        &a,
    ]));
    let model = fxgrid::sky::SkyModel::read(std::path::Path::new(&sky)).unwrap();
    assert_eq!(model.len(), 5);
    run(args(&["--sky", &sky, "--out", &b]));
    let va = fxgrid::io::uvh5::read_uvh5(std::path::Path::new(&a)).unwrap();
    let vb = fxgrid::io::uvh5::read_uvh5(std::path::Path::new(&b)).unwrap();
    assert!(va.data().iter().any(|v| v.norm() > 0.0));
    assert_eq!(va.data(), vb.data());
}

/// On a terminal (a pseudo-terminal made by `script`), a long job draws a progress bar;
/// piped, it prints no progress characters at all.
#[cfg(feature = "hdf5")]
#[test]
fn progress_bars_are_drawn_on_a_terminal_only() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.h5");
    let args = [
        "simulate",
        "voltages",
        "--layout",
        "ska-low:8",
        "--ra-deg",
        "60",
        "--dec-deg",
        "-30",
        "--source",
        "60.5,-29.5,10",
        "--centre-freq-hz",
        "1e8",
        "--sample-rate-hz",
        "1e6",
        "--nsamples",
        "2000000",
        "--out",
        out.to_str().unwrap(),
    ];
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_fxgrid"))
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    let tty = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux/bsdutils");
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(
        shown.contains("samples") && shown.contains("ETA") && shown.contains("simulate ["),
        "no progress bar on a terminal: {shown:?}"
    );
    std::fs::remove_file(&out).unwrap();
    let (ok, stdout, stderr) = fxgrid(&args);
    assert!(ok, "{stderr}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains("ETA") && !text.contains('\r') && !text.contains("=>"),
            "progress characters when piped: {text:?}"
        );
    }
}
