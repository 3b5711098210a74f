//! A corpus of hostile runs of the `fxgrid` binary: corrupted and modified files, absurd
//! parameters and odd paths, across every subcommand. Each case runs in its own directory
//! holding copies of small valid files, and must:
//! - exit with 0, 1 or 2 (not a signal), without a panic;
//! - leave no temporary or staged file (`.…fxgrid-tmp…`, `.fxgrid-out-…`);
//! - leave every file that was there byte for byte as it was;
//! - when it fails, leave no new file at all;
//! - when it succeeds, write no NaN or Inf into any output it made.
//!
//! The cases are built here, from files the binary itself makes; no real device node is
//! touched (FIFOs and symbolic links are made in the temporary directory).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use hdf5::types::{FixedAscii, VarLenUnicode};

/// What a case puts in its directory before the run.
type Setup = Box<dyn Fn(&Path) + Send + Sync>;

struct Case {
    name: String,
    setup: Setup,
    args: Vec<OsString>,
}

/// The words of a command line (no argument here has spaces).
fn w(line: &'static str) -> Vec<&'static str> {
    line.split_whitespace().collect()
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn case(name: impl Into<String>, args: &[&str]) -> Case {
    Case {
        name: name.into(),
        setup: Box::new(|_| {}),
        args: os(args),
    }
}

fn case_with(
    name: impl Into<String>,
    args: Vec<OsString>,
    setup: impl Fn(&Path) + Send + Sync + 'static,
) -> Case {
    Case {
        name: name.into(),
        setup: Box::new(setup),
        args,
    }
}

/// Runs the binary in `dir`.
fn run_in(dir: &Path, args: &[OsString]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fxgrid"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// The valid files every case starts from, made by the binary.
const BASE: [&str; 6] = ["v.h5", "s.h5", "u.uvh5", "m.fits", "sky.txt", "lay.csv"];

fn make_base(dir: &Path) {
    std::fs::write(
        dir.join("lay.csv"),
        "name,east_m,north_m,up_m\nA,0,0,0\nB,120,0,0\nC,0,170,1\nD,-90,-60,0\n",
    )
    .unwrap();
    let steps: [&[&str]; 5] = [
        &w("simulate voltages --layout ska-low:3 --ra-deg 60 --dec-deg -30 --source 60,-30,10 --centre-freq-hz 150e6 --sample-rate-hz 1e6 --nsamples 8192 --system-noise-jy 1 --out v.h5"),
        &w("channelise v.h5 --nchan 16 --taps 4 --out s.h5"),
        &w("simulate vis --layout lay.csv --ra-deg 60 --dec-deg -30 --source 60.5,-30.2,1 --random-sources 2 --ntimes 2 --nchan 2 --noise-jy 0.01 --out u.uvh5 --sky-out sky.txt"),
        &w("image u.uvh5 --npix 32 --cell-arcsec 300 --out m.fits"),
        &["info", "m.fits"],
    ];
    for args in steps {
        let out = run_in(dir, &os(args));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A temporary directory with `base/` holding the base files.
fn base_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("base");
    std::fs::create_dir(&base).unwrap();
    make_base(&base);
    (root, base)
}

/// What is in a directory: name → file contents (regular files), link target (symbolic
/// links) or a marker.
fn snapshot(dir: &Path) -> BTreeMap<OsString, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        let v = if ft.is_symlink() {
            let mut v = b"link:".to_vec();
            v.extend(std::fs::read_link(e.path()).unwrap().as_os_str().as_bytes());
            v
        } else if ft.is_file() {
            std::fs::read(e.path()).unwrap()
        } else if ft.is_dir() {
            let mut v = b"dir:".to_vec();
            v.extend(snapshot(&e.path()).len().to_string().as_bytes());
            v
        } else {
            b"special".to_vec()
        };
        m.insert(e.file_name(), v);
    }
    m
}

/// Every output a successful run made holds finite numbers only.
fn check_finite(path: &Path) -> Result<(), String> {
    if path.to_str().is_none() {
        // HDF5 opens UTF-8 names only: check a copy.
        let mut copy = path.with_file_name("utf8-copy");
        if let Some(ext) = path.extension() {
            copy.set_extension(ext);
        }
        std::fs::copy(path, &copy).map_err(|e| e.to_string())?;
        return check_finite(&copy);
    }
    let name = path.to_string_lossy().into_owned();
    let ext = path.extension().and_then(OsStr::to_str).unwrap_or("");
    let bad = |what: &str| Err(format!("{name}: {what} not finite"));
    match ext {
        "uvh5" => {
            let v = fxgrid::io::uvh5::read_uvh5(path).map_err(|e| format!("{name}: {e}"))?;
            if !v
                .data()
                .iter()
                .all(|c| c.re.is_finite() && c.im.is_finite())
            {
                return bad("visibilities");
            }
            if !v.uvw_m().iter().all(|x| x.is_finite()) {
                return bad("uvw");
            }
            if !v.weights().iter().all(|x| x.is_finite()) {
                return bad("weights");
            }
        }
        "fits" => {
            let img = fxgrid::io::fits::read_fits(path).map_err(|e| format!("{name}: {e}"))?;
            if !img.data.iter().all(|x| x.is_finite()) {
                return bad("pixels");
            }
        }
        "h5" => {
            if let Ok(r) = fxgrid::io::voltages::SpectraReader::open(path) {
                let x = r.read(0, r.n_spectra).map_err(|e| format!("{name}: {e}"))?;
                if !x.iter().all(|c| c.re.is_finite() && c.im.is_finite()) {
                    return bad("spectra");
                }
            } else {
                let r = fxgrid::io::voltages::VoltageReader::open(path)
                    .map_err(|e| format!("{name}: {e}"))?;
                if r.kind == fxgrid::io::voltages::SampleKind::Float32 {
                    let x: Vec<num_complex::Complex32> =
                        r.read(0, r.n_samples).map_err(|e| format!("{name}: {e}"))?;
                    if !x.iter().all(|c| c.re.is_finite() && c.im.is_finite()) {
                        return bad("voltages");
                    }
                }
            }
        }
        #[cfg(feature = "ms")]
        "ms" => {
            let v = fxgrid::io::read_visibilities(path).map_err(|e| format!("{name}: {e}"))?;
            if !v
                .data()
                .iter()
                .all(|c| c.re.is_finite() && c.im.is_finite())
            {
                return bad("visibilities");
            }
        }
        "txt" | "sky" | "json" => {
            let t = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
            let lower = t.to_ascii_lowercase();
            if lower.contains("nan") || lower.contains("inf") {
                return bad("text");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Runs one case; the first broken rule, if any.
fn check(base: &Path, root: &Path, i: usize, c: &Case) -> Result<(), String> {
    let dir = root.join(format!("case{i}"));
    std::fs::create_dir(&dir).unwrap();
    for f in BASE {
        std::fs::copy(base.join(f), dir.join(f)).unwrap();
    }
    (c.setup)(&dir);
    let before = snapshot(&dir);
    let out = run_in(&dir, &c.args);
    let after = snapshot(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    let fail = |why: String| Err(format!("{} {:?}: {why}\nstderr: {err}", c.name, c.args));
    let Some(code) = out.status.code() else {
        return fail(format!("killed by a signal ({})", out.status));
    };
    if code > 2 {
        return fail(format!("exit code {code}"));
    }
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        return fail("panicked".into());
    }
    if code == 1 && !err.starts_with("error: ") {
        return fail("failed without an error line".into());
    }
    for name in after.keys() {
        let n = name.to_string_lossy();
        if n.contains("fxgrid-tmp") || n.contains("fxgrid-out") {
            return fail(format!("left {n}"));
        }
    }
    for (name, content) in &before {
        if after.get(name) != Some(content) {
            return fail(format!("changed or removed {}", name.to_string_lossy()));
        }
    }
    let new: Vec<&OsString> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    if code != 0 && !new.is_empty() {
        return fail(format!("failed and left {new:?}"));
    }
    for n in new {
        if let Err(e) = check_finite(&dir.join(n)) {
            return fail(e);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The corpus.

/// The commands that read each base file (the file's name is in the arguments).
fn readers(file: &str) -> Vec<Vec<&'static str>> {
    match file {
        "v.h5" => vec![
            w("channelise v.h5 --nchan 16 --taps 4 --out o.h5"),
            w("info v.h5"),
        ],
        "s.h5" => vec![
            w("correlate s.h5 --int-spectra 64 --out o.uvh5"),
            w("info s.h5"),
        ],
        "u.uvh5" => vec![
            w("image u.uvh5 --npix 32 --cell-arcsec 300 --out o.fits"),
            w("predict m.fits u.uvh5 --out o.uvh5"),
            w("info u.uvh5"),
            w("convert u.uvh5 o.ms"),
        ],
        "m.fits" => vec![
            w("predict m.fits u.uvh5 --out o.uvh5"),
            w("info m.fits"),
        ],
        "sky.txt" => vec![w("simulate vis --layout ska-low:4 --ra-deg 60 --dec-deg -30 --sky sky.txt --out o.uvh5")],
        "lay.csv" => vec![w("simulate vis --layout lay.csv --ra-deg 60 --dec-deg -30 --source 60,-30,1 --out o.uvh5")],
        _ => unreachable!(),
    }
}

/// Truncated and byte-flipped copies of every base file, fed to its readers.
fn corrupted(base: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in BASE {
        let bytes = std::fs::read(base.join(file)).unwrap();
        let n = bytes.len();
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        for cut in [0, 1, 7, 64, n / 4, n / 2, n - 1] {
            variants.push((format!("{file} cut to {cut}"), bytes[..cut].to_vec()));
        }
        let mut offsets = vec![
            0,
            4,
            40,
            100,
            500,
            n / 3,
            n / 2,
            2 * n / 3,
            n.saturating_sub(100),
            n - 1,
        ];
        offsets.iter_mut().for_each(|o| *o = (*o).min(n - 1));
        offsets.sort_unstable();
        offsets.dedup();
        for at in offsets {
            let mut b = bytes.clone();
            b[at] ^= 0xA5;
            variants.push((format!("{file} byte {at} flipped"), b));
        }
        for (what, content) in variants {
            for args in readers(file) {
                let content = content.clone();
                cases.push(case_with(
                    format!("{what}: {}", args[0]),
                    os(&args),
                    move |d| std::fs::write(d.join(file), &content).unwrap(),
                ));
            }
        }
    }
    cases
}

/// Every dataset of an HDF5 file, by path.
fn datasets(g: &hdf5::Group, prefix: &str, out: &mut Vec<String>) {
    for name in g.member_names().unwrap() {
        let path = format!("{prefix}/{name}");
        if let Ok(sub) = g.group(&name) {
            datasets(&sub, &path, out);
        } else {
            out.push(path);
        }
    }
}

/// An HDF5 base file changed by `change` (applied to a copy in the case directory).
fn modified(
    file: &'static str,
    what: String,
    args: Vec<&'static str>,
    change: impl Fn(&hdf5::File) + Send + Sync + 'static,
) -> Case {
    case_with(
        format!("{file}: {what}: {}", args[0]),
        os(&args),
        move |d| {
            let f = hdf5::File::open_rw(d.join(file)).unwrap();
            change(&f);
        },
    )
}

/// Overwrites every element of a numeric dataset with `v`.
fn fill(f: &hdf5::File, path: &str, v: f64) {
    let ds = f.dataset(path).unwrap();
    let shape = ds.shape();
    let n: usize = shape.iter().product();
    let dtype = ds.dtype().unwrap().to_descriptor().unwrap();
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor as T};
    let r = match dtype {
        T::Float(FloatSize::U8) => ds.write_raw(&vec![v; n]),
        T::Float(FloatSize::U4) => ds.write_raw(&vec![v as f32; n]),
        T::Integer(IntSize::U8) => ds.write_raw(&vec![v as i64; n]),
        T::Integer(IntSize::U4) => ds.write_raw(&vec![v as i32; n]),
        _ => Ok(()),
    };
    r.unwrap();
}

/// Replaces a string dataset with bytes that are not UTF-8.
fn non_utf8(f: &hdf5::File, path: &str) {
    let g = f.group("Header").unwrap();
    let name = path.rsplit('/').next().unwrap();
    g.unlink(name).unwrap();
    // SAFETY: the bytes are stored as they are; the reader must cope with them.
    let s = unsafe { FixedAscii::<16>::from_ascii_unchecked(b"ante\xffnna\xc3(") };
    g.new_dataset::<FixedAscii<16>>()
        .create(name)
        .unwrap()
        .write_scalar(&s)
        .unwrap();
}

/// Deleted datasets, NaN, Inf, absurd and negative values in every numeric dataset, and
/// strings that are not UTF-8, for the three HDF5 files.
fn hdf5_changes(base: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for file in ["u.uvh5", "v.h5", "s.h5"] {
        let f = hdf5::File::open(base.join(file)).unwrap();
        let mut all = Vec::new();
        datasets(&f, "", &mut all);
        let reader = readers(file).remove(0);
        for ds in &all {
            let (p1, p2) = (ds.clone(), ds.clone());
            cases.push(modified(
                file,
                format!("{ds} deleted"),
                reader.clone(),
                move |f| {
                    let (parent, name) = p1.rsplit_once('/').unwrap();
                    let g = if parent.is_empty() {
                        f.group("/").unwrap()
                    } else {
                        f.group(parent).unwrap()
                    };
                    g.unlink(name).unwrap();
                },
            ));
            let d = f.dataset(ds).unwrap();
            let numeric = matches!(
                d.dtype().unwrap().to_descriptor().unwrap(),
                hdf5::types::TypeDescriptor::Float(_) | hdf5::types::TypeDescriptor::Integer(_)
            );
            if numeric {
                for v in [f64::NAN, f64::INFINITY, 1e30, -1.0, 0.0, 2147483648.0] {
                    let p = p2.clone();
                    cases.push(modified(
                        file,
                        format!("{ds} = {v}"),
                        reader.clone(),
                        move |f| fill(f, &p, v),
                    ));
                }
            }
            if matches!(ds.as_str(), "/Header/history" | "/Header/telescope_name") {
                let p = p2.clone();
                cases.push(modified(
                    file,
                    format!("{ds} not UTF-8"),
                    reader.clone(),
                    move |f| non_utf8(f, &p),
                ));
                let p = p2.clone();
                cases.push(modified(
                    file,
                    format!("{ds} not UTF-8"),
                    vec!["info", file],
                    move |f| non_utf8(f, &p),
                ));
            }
        }
        // A small file that declares 2^31 rows and stores none of them: refused at once,
        // not read for minutes as fill values.
        if file == "u.uvh5" {
            for args in readers(file).into_iter().take(3) {
                cases.push(modified(
                    file,
                    "2^31 rows declared, none stored".into(),
                    args,
                    |f| {
                        let n = 1usize << 31;
                        fill(f, "/Header/Nblts", n as f64);
                        let h = f.group("Header").unwrap();
                        for name in ["ant_1_array", "ant_2_array", "phase_center_id_array"] {
                            h.unlink(name).unwrap();
                            h.new_dataset::<i64>()
                                .chunk(4096)
                                .shape(n)
                                .create(name)
                                .unwrap();
                        }
                        for name in [
                            "time_array",
                            "integration_time",
                            "phase_center_app_ra",
                            "phase_center_app_dec",
                            "phase_center_frame_pa",
                        ] {
                            h.unlink(name).unwrap();
                            h.new_dataset::<f64>()
                                .chunk(4096)
                                .shape(n)
                                .create(name)
                                .unwrap();
                        }
                        h.unlink("uvw_array").unwrap();
                        h.new_dataset::<f64>()
                            .chunk([4096, 3])
                            .shape([n, 3])
                            .create("uvw_array")
                            .unwrap();
                        let d = f.group("Data").unwrap();
                        let shape = d.dataset("visdata").unwrap().shape();
                        let (nf, np) = (shape[1], shape[2]);
                        for name in ["visdata", "flags", "nsamples"] {
                            d.unlink(name).unwrap();
                        }
                        let b = |name: &str| (name.to_string(), [4096, nf, np], [n, nf, np]);
                        let (name, c, sh) = b("visdata");
                        d.new_dataset::<num_complex::Complex32>()
                            .chunk(c)
                            .shape(sh)
                            .create(name.as_str())
                            .unwrap();
                        let (name, c, sh) = b("flags");
                        d.new_dataset::<bool>()
                            .chunk(c)
                            .shape(sh)
                            .create(name.as_str())
                            .unwrap();
                        let (name, c, sh) = b("nsamples");
                        d.new_dataset::<f32>()
                            .chunk(c)
                            .shape(sh)
                            .create(name.as_str())
                            .unwrap();
                    },
                ));
            }
        }
        // A string that is UTF-8 but not ASCII goes through the whole chain.
        if file == "u.uvh5" {
            cases.push(modified(
                file,
                "history in UTF-8".into(),
                w("predict m.fits u.uvh5 --out o.uvh5"),
                |f| {
                    let g = f.group("Header").unwrap();
                    g.unlink("history").unwrap();
                    let s: VarLenUnicode = "λ/ν ≈ c/ν².".parse().unwrap();
                    g.new_dataset::<VarLenUnicode>()
                        .create("history")
                        .unwrap()
                        .write_scalar(&s)
                        .unwrap();
                },
            ));
        }
    }
    cases
}

/// Every numeric option of every subcommand at values that make no sense.
fn absurd_parameters() -> Vec<Case> {
    let sim_vis: &[&str] = &w(
        "simulate vis --layout ska-low:4 --ra-deg 60 --dec-deg -30 --source 60,-30,1 --out o.uvh5",
    );
    let sim_volt: &[&str] = &w("simulate voltages --layout ska-low:3 --ra-deg 60 --dec-deg -30 --source 60,-30,1 --centre-freq-hz 150e6 --sample-rate-hz 1e6 --nsamples 4096 --out o.h5");
    let chan: &[&str] = &w("channelise v.h5 --out o.h5");
    let corr: &[&str] = &w("correlate s.h5 --int-spectra 64 --out o.uvh5");
    let image: &[&str] = &w("image u.uvh5 --npix 32 --cell-arcsec 300 --out o.fits");
    let predict: &[&str] = &w("predict m.fits u.uvh5 --out o.uvh5");
    let huge = ["0", "-1", "nan", "inf", "-inf", "1e300", "-1e300"];
    let table: Vec<(&[&str], &str, Vec<&str>)> = vec![
        (
            sim_vis,
            "--ntimes",
            w("0 -1 18446744073709551616 4294967297"),
        ),
        (sim_vis, "--nchan", w("0 2147483648 1e3")),
        (sim_vis, "--int-time-s", huge.to_vec()),
        (sim_vis, "--freq-start-hz", huge.to_vec()),
        (sim_vis, "--chan-width-hz", huge.to_vec()),
        (sim_vis, "--noise-jy", huge.to_vec()),
        (sim_vis, "--ra-deg", w("nan inf 1e300 -1e300")),
        (sim_vis, "--dec-deg", w("nan 91 -90.5 1e300")),
        (sim_vis, "--start-jd", w("0 -1 nan 1e12 2.4e6 2500000")),
        (sim_vis, "--random-sources", w("1000000000 -1")),
        (sim_vis, "--field-radius-deg", w("-1 nan 1e300 1000")),
        (
            sim_vis,
            "--layout",
            w("ska-low:0 ska-low:1 ska-low:100000000 ska-low:x nope.csv"),
        ),
        (
            sim_vis,
            "--site",
            w("91,0,0 nan,0,0 0,0,1e30 1,2 -26.8,116.8,377"),
        ),
        (
            sim_vis,
            "--source",
            w("60,-30,nan 60,-30,1e300 nan,0,1 60,-95,1"),
        ),
        (sim_vis, "--precision", vec!["f16", ""]),
        (sim_vis, "--threads", w("0 10000 -1")),
        (sim_volt, "--nsamples", w("0 1099511627776")),
        (sim_volt, "--sample-rate-hz", huge.to_vec()),
        (sim_volt, "--centre-freq-hz", w("0 -1 nan 1e300 100")),
        (sim_volt, "--bits", w("0 7 64")),
        (sim_volt, "--scale", w("0 -1 nan 1e300 1e-300")),
        (sim_volt, "--system-noise-jy", w("-1 nan 1e300")),
        (sim_volt, "--start-jd", w("1e12 nan 0")),
        (chan, "--nchan", w("0 1 3 1000000000")),
        (chan, "--taps", w("0 1000000000")),
        (
            chan,
            "--window",
            w("kaiser:720 kaiser:nan kaiser:-1 kaiser:1e300 foo hann:3"),
        ),
        (chan, "--oversample", w("0 1/0 2/3 1000000/1 nan")),
        (corr, "--int-spectra", w("0 1000000000000 -5")),
        (image, "--npix", w("0 1 3 65536 4294967296")),
        (image, "--cell-arcsec", w("0 -1 nan 1e300 1e-300")),
        (image, "--epsilon", w("0 1 nan -1 1e-20")),
        (image, "--precision", w("f32 f8")),
        (image, "--channels", w("5:2 0:1000 a:b 1:1")),
        (image, "--phase-centre", w("nan,0 0,95 1e300,0 0")),
        (image, "--niter", w("-1 1000000000000")),
        (image, "--gain", w("0 2 nan -0.1")),
        (image, "--block-samples", w("0 1")),
        (predict, "--epsilon", w("0 nan 1e-20")),
        (predict, "--precision", w("f32 x")),
    ];
    let mut cases = Vec::new();
    for (cmd, flag, values) in table {
        for v in values {
            let mut args: Vec<&str> = cmd.to_vec();
            if let Some(i) = args.iter().position(|a| *a == flag) {
                args[i + 1] = v;
            } else {
                args.push(flag);
                args.push(v);
            }
            cases.push(case(format!("{} {flag} {v}", cmd[0]), &args));
        }
    }
    // A sky file and a layout with absurd values.
    for (file, text) in [
        ("bad.sky", "# ra_deg dec_deg flux_jy\n60 -30 nan\n"),
        ("bad.sky", "60 -30 1e300\n"),
        ("bad.sky", "1e300 -30 1\n"),
        ("bad.csv", "name,east_m,north_m,up_m\nA,0,0,0\nB,1e30,0,0\n"),
        ("bad.csv", "name,east_m,north_m,up_m\nA,0,0,0\nB,nan,0,0\n"),
        ("bad.csv", "name,east_m,north_m,up_m\nA,0,0,0\nA,0,0,0\n"),
    ] {
        let mut args: Vec<&str> = sim_vis.to_vec();
        if file == "bad.sky" {
            args.extend(["--sky", "bad.sky"]);
        } else {
            args[3] = "bad.csv";
        }
        cases.push(case_with(
            format!("{file}: {text:?}"),
            os(&args),
            move |d| std::fs::write(d.join(file), text).unwrap(),
        ));
    }
    cases
}

/// Output paths that are inputs, other outputs, links, special files or not there.
fn odd_paths() -> Vec<Case> {
    let mut cases = Vec::new();
    let link = |target: &'static str, name: &'static str| {
        move |d: &Path| std::os::unix::fs::symlink(target, d.join(name)).unwrap()
    };
    let hard = |target: &'static str, name: &'static str| {
        move |d: &Path| std::fs::hard_link(d.join(target), d.join(name)).unwrap()
    };
    // Each command with its output set to each of its inputs, four ways.
    let commands: [(&[&str], &[&str]); 6] = [
        (&["convert", "u.uvh5"], &["u.uvh5"]),
        (&w("channelise v.h5 --nchan 16 --taps 4 --out"), &["v.h5"]),
        (&w("correlate s.h5 --int-spectra 64 --out"), &["s.h5"]),
        (
            &w("image u.uvh5 --npix 32 --cell-arcsec 300 --out"),
            &["u.uvh5"],
        ),
        (&w("predict m.fits u.uvh5 --out"), &["m.fits", "u.uvh5"]),
        (
            &w("simulate vis --layout lay.csv --ra-deg 60 --dec-deg -30 --sky sky.txt --out"),
            &["lay.csv", "sky.txt"],
        ),
    ];
    for (cmd, inputs) in commands {
        for &input in inputs {
            for (how, out) in [
                ("same", input.to_string()),
                ("./", format!("./{input}")),
                ("dir/..", format!("sub/../{input}")),
            ] {
                let mut args = os(cmd);
                args.push(out.into());
                cases.push(case_with(
                    format!("{} out = input {input} ({how})", cmd[0]),
                    args,
                    |d| std::fs::create_dir(d.join("sub")).unwrap(),
                ));
            }
            let mut args = os(cmd);
            args.push("l.out".into());
            cases.push(case_with(
                format!("{} out = symlink to {input}", cmd[0]),
                args,
                link(input, "l.out"),
            ));
            let mut args = os(cmd);
            args.push("h.out".into());
            cases.push(case_with(
                format!("{} out = hard link to {input}", cmd[0]),
                args,
                hard(input, "h.out"),
            ));
            let mut args = os(cmd);
            args.push(format!("ld/{input}").into());
            cases.push(case_with(
                format!("{} out through a symlinked directory", cmd[0]),
                args,
                link(".", "ld"),
            ));
        }
        // Outputs that are not regular files, or in no directory.
        for (what, out) in [
            ("a directory", "sub"),
            ("a FIFO", "fifo"),
            ("a dangling symlink", "dangling"),
            ("a missing directory", "no/such/dir/x"),
            ("a path ending in /", "x/"),
            ("empty", ""),
        ] {
            let mut args = os(cmd);
            args.push(out.into());
            cases.push(case_with(format!("{} out is {what}", cmd[0]), args, |d| {
                std::fs::create_dir(d.join("sub")).unwrap();
                let fifo = std::ffi::CString::new(d.join("fifo").as_os_str().as_bytes()).unwrap();
                // SAFETY: a valid C string; mkfifo only creates a node in the test directory.
                assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
                std::os::unix::fs::symlink("nowhere/x", d.join("dangling")).unwrap();
            }));
        }
    }
    // Two outputs of one command on one path.
    let img = [
        "image",
        "u.uvh5",
        "--npix",
        "32",
        "--cell-arcsec",
        "300",
        "--out",
        "o.fits",
    ];
    for extra in [
        ["--psf", "o.fits"],
        ["--png", "o.fits"],
        ["--report", "./o.fits"],
        ["--psf", "o.fits"],
    ] {
        let mut args: Vec<&str> = img.to_vec();
        args.extend(extra);
        cases.push(case(format!("image {} = --out", extra[0]), &args));
    }
    cases.push(case(
        "image --psf = --report",
        &w("image u.uvh5 --npix 32 --cell-arcsec 300 --out o.fits --psf p.fits --report p.fits"),
    ));
    cases.push(case(
        "image --niter with --residual = --model",
        &w("image u.uvh5 --npix 32 --cell-arcsec 300 --niter 10 --out o.fits --residual r.fits --model r.fits"),
    ));
    cases.push(case(
        "simulate vis --sky-out = --out",
        &w("simulate vis --layout ska-low:4 --ra-deg 60 --dec-deg -30 --out o.uvh5 --sky-out o.uvh5"),
    ));
    // A later output that cannot be written: nothing appears.
    cases.push(case(
        "image --png in a missing directory",
        &w("image u.uvh5 --npix 32 --cell-arcsec 300 --out o.fits --png no/dir/x.png"),
    ));
    // Inputs that are not files.
    for (what, input) in [
        ("a directory", "sub"),
        ("a FIFO", "fifo"),
        ("missing", "nope.uvh5"),
        ("empty", "empty.uvh5"),
    ] {
        for cmd in [
            vec!["info", input],
            vec![
                "image",
                input,
                "--npix",
                "32",
                "--cell-arcsec",
                "300",
                "--out",
                "o.fits",
            ],
        ] {
            cases.push(case_with(
                format!("{} input is {what}", cmd[0]),
                os(&cmd),
                |d| {
                    std::fs::create_dir(d.join("sub")).unwrap();
                    let fifo =
                        std::ffi::CString::new(d.join("fifo").as_os_str().as_bytes()).unwrap();
                    // SAFETY: as above.
                    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
                    std::fs::write(d.join("empty.uvh5"), b"").unwrap();
                },
            ));
        }
    }
    // Names that are not UTF-8 or not ASCII, as inputs and outputs: they work.
    let latin1 = OsStr::from_bytes(b"caf\xe9.uvh5").to_os_string();
    let mut args = os(&["image"]);
    args.push(latin1.clone());
    args.extend(os(&w("--npix 32 --cell-arcsec 300 --out")));
    args.push(OsStr::from_bytes(b"\xff\xfe.fits").to_os_string());
    cases.push(case_with("image: non-UTF-8 names", args, move |d| {
        std::fs::copy(d.join("u.uvh5"), d.join(&latin1)).unwrap();
    }));
    cases.push(case(
        "predict: a non-ASCII output name",
        &["predict", "m.fits", "u.uvh5", "--out", "Überschrift ☉.uvh5"],
    ));
    let mut args = os(&w(
        "simulate vis --layout ska-low:4 --ra-deg 60 --dec-deg -30 --out",
    ));
    args.push(OsStr::from_bytes(b"\xff.uvh5").to_os_string());
    cases.push(case_with(
        "simulate vis: a non-UTF-8 output name",
        args,
        |_| {},
    ));
    cases
}

#[cfg(feature = "hdf5")]
#[test]
fn hostile_corpus() {
    let _guard = crate::common::process_guard();
    let (root, base) = base_dir();
    let mut cases = corrupted(&base);
    cases.extend(hdf5_changes(&base));
    cases.extend(absurd_parameters());
    cases.extend(odd_paths());
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                if let Err(e) = check(&base, root.path(), i, c) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases broke a rule:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!("{} hostile cases, all well behaved", cases.len());
}

/// Ctrl-C (SIGINT) and SIGTERM during the long commands leave nothing behind.
#[cfg(feature = "hdf5")]
#[test]
fn interrupted_commands_leave_nothing_behind() {
    let _guard = crate::common::process_guard();
    let (_root, base) = base_dir();
    // Long enough to take seconds (simulate voltages: about 1 GB, 10–30 s), small enough
    // for a CI disk: the signal comes while the output is being written.
    let long: [(&str, Vec<&str>); 4] = [
        (
            "simulate voltages",
            w("simulate voltages --layout ska-low:64 --ra-deg 60 --dec-deg -30 --source 60,-30,10 --centre-freq-hz 150e6 --sample-rate-hz 1e6 --nsamples 4000000 --out big.h5"),
        ),
        (
            "channelise",
            w("channelise big_v.h5 --nchan 64 --taps 8 --out o.h5"),
        ),
        (
            "correlate",
            w("correlate big_s.h5 --int-spectra 4 --out o.uvh5"),
        ),
        (
            "image",
            w("image big.uvh5 --npix 4096 --cell-arcsec 1 --out o.fits --psf p.fits"),
        ),
    ];
    // Inputs for the last three, made once.
    for args in [
        w("simulate voltages --layout ska-low:32 --ra-deg 60 --dec-deg -30 --source 60,-30,10 --centre-freq-hz 150e6 --sample-rate-hz 1e6 --nsamples 2000000 --out big_v.h5"),
        w("channelise big_v.h5 --nchan 16 --taps 4 --out big_s.h5"),
        w("simulate vis --layout ska-low:128 --ra-deg 60 --dec-deg -30 --source 60,-30,1 --ntimes 8 --nchan 8 --out big.uvh5"),
    ] {
        let out = run_in(&base, &os(&args));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for signal in [libc::SIGINT, libc::SIGTERM] {
        for (name, args) in &long {
            let before = snapshot(&base);
            let mut child = Command::new(env!("CARGO_BIN_EXE_fxgrid"))
                .args(args)
                .current_dir(&base)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // Wait until the command is writing (its temporary file exists), or 20 s.
            let t0 = std::time::Instant::now();
            while t0.elapsed().as_secs() < 20 {
                let writing = std::fs::read_dir(&base).unwrap().any(|e| {
                    let n = e.unwrap().file_name().to_string_lossy().into_owned();
                    n.contains("fxgrid-tmp") || n.contains("fxgrid-out")
                });
                if writing || child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            if child.try_wait().unwrap().is_some() {
                // Say why: too short, or refused (e.g. the disk check of simulate voltages).
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{name} finished ({}) before it could be interrupted: make it longer, or \
                     see its message: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, signal) };
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(130), "{name}: {out:?}");
            assert_eq!(
                snapshot(&base),
                before,
                "{name} left files after signal {signal}"
            );
        }
    }
}

/// A FITS model's header is honoured or refused, never ignored: rotation, units, frame,
/// Stokes, cubes, the brightness unit and a declared size the file does not hold.
#[cfg(feature = "hdf5")]
#[test]
fn fits_models_are_honoured_or_refused() {
    let _guard = crate::common::process_guard();
    let (_root, base) = base_dir();
    // Header cards are edited in place: a card of that keyword is replaced, or a HISTORY
    // card gives its place to a new one.
    let with_cards = |name: &str, cards: &[(&str, &str)]| {
        let mut bytes = std::fs::read(base.join("m.fits")).unwrap();
        let header_end = bytes
            .chunks(80)
            .position(|c| c.starts_with(b"END "))
            .unwrap()
            * 80;
        for (k, v) in cards {
            let card = format!("{:<8}= {:>20}", k, v);
            let card = format!("{card:<80}");
            let at = (0..header_end)
                .step_by(80)
                .find(|&i| bytes[i..i + 8] == *format!("{k:<8}").as_bytes())
                .or_else(|| {
                    (0..header_end)
                        .step_by(80)
                        .find(|&i| bytes[i..].starts_with(b"HISTORY"))
                })
                .expect("a card to replace");
            bytes[at..at + 80].copy_from_slice(card.as_bytes());
        }
        std::fs::write(base.join(name), bytes).unwrap();
    };
    // The image `make_base` wrote is in Jy/beam: refused as a model until it says Jy/pixel.
    let predict =
        |model: &str| run_in(&base, &os(&["predict", model, "u.uvh5", "--out", "p.uvh5"]));
    let out = predict("m.fits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("JY/BEAM"), "{err}");
    let jy_pixel = ("BUNIT", "'JY/PIXEL'");
    with_cards("ok.fits", &[jy_pixel]);
    let out = predict("ok.fits");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(base.join("p.uvh5")).unwrap();
    for (name, card, needle) in [
        ("rot.fits", ("CROTA2", "30.0"), "CROTA2"),
        ("pc.fits", ("PC1_2", "0.5"), "PC1_2"),
        ("cd.fits", ("CD1_1", "-0.001"), "CD matrix"),
        ("rad.fits", ("CUNIT1", "'rad'"), "CUNIT1"),
        ("fk4.fits", ("RADESYS", "'FK4'"), "RADESYS"),
        ("xx.fits", ("CRVAL4", "-5.0"), "Stokes"),
    ] {
        with_cards(name, &[jy_pixel, card]);
        let out = predict(name);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(1) && err.contains(needle),
            "{name}: {err}"
        );
        assert!(!base.join("p.uvh5").exists());
    }
    // A header that declares more pixels than the file holds.
    with_cards("huge.fits", &[jy_pixel, ("NAXIS1", "1048576")]);
    let out = predict("huge.fits");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1) && err.contains("declares"),
        "{err}"
    );
}

/// An output on an input (the same path, through `./`, a symbolic link or a hard link) and
/// two outputs on one path are refused before any work, and the input stays as it was.
#[cfg(feature = "hdf5")]
#[test]
fn outputs_on_inputs_or_on_each_other_are_refused() {
    let _guard = crate::common::process_guard();
    let (_root, base) = base_dir();
    std::os::unix::fs::symlink("u.uvh5", base.join("sym.uvh5")).unwrap();
    std::fs::hard_link(base.join("u.uvh5"), base.join("hard.uvh5")).unwrap();
    let before = snapshot(&base);
    let image = "image u.uvh5 --npix 32 --cell-arcsec 300 --out";
    for (line, needle) in [
        (format!("{image} u.uvh5"), "would destroy the input"),
        (format!("{image} ./u.uvh5"), "would destroy the input"),
        (format!("{image} sym.uvh5"), "symbolic link"),
        (format!("{image} hard.uvh5"), "would destroy the input"),
        (
            format!("{image} o.fits --psf ./o.fits"),
            "other than the output of --out",
        ),
        (
            format!("{image} o.fits --report o.fits"),
            "other than the output of --out",
        ),
        (
            "predict m.fits u.uvh5 --out hard.uvh5".into(),
            "would destroy the input",
        ),
        (
            "channelise v.h5 --nchan 16 --out ./v.h5".into(),
            "would destroy the input",
        ),
    ] {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        let out = run_in(&base, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(1) && err.contains(needle),
            "{line}: {err}"
        );
        assert_eq!(snapshot(&base), before, "{line} changed the directory");
    }
}
