//! Measurement Sets: round trips with UVH5, and typed errors for broken tables.

use std::path::Path;

use fxgrid::io::ms::{convert, read_ms, write_ms, DataColumn, MsReader};
use fxgrid::io::uvh5::{read_uvh5, write_uvh5};
use fxgrid::progress::NoProgress;
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel};
use fxgrid::telescope::RaDec;
use fxgrid::Visibilities;

use crate::common::small_setup;

fn sample() -> Visibilities {
    let (layout, obs) = small_setup(7, 3, 5);
    let sky = SkyModel::new(vec![
        Component::point(RaDec::from_degrees(60.3, -29.8), 1.0),
        Component::point(RaDec::from_degrees(59.2, -30.4), 0.3),
    ])
    .unwrap();
    let mut vis = predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            noise_jy: 0.05,
            seed: 9,
            ..Default::default()
        },
    )
    .unwrap();
    // Flags and weights that are not uniform, so that their places are checked.
    vis.flags_mut()[[1, 2, 3, 1]] = true;
    vis.flags_mut()[[2, 0, 0, 0]] = true;
    vis
}

fn no_temporary_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("fxgrid-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

fn assert_same(a: &Visibilities, b: &Visibilities) {
    assert_eq!(a.data(), b.data());
    assert_eq!(a.flags(), b.flags());
    assert_eq!(a.weights(), b.weights());
    let duvw = (&a.uvw_m() - &b.uvw_m()).mapv(f64::abs);
    assert!(duvw.iter().all(|&d| d < 1e-3), "uvw differ");
    let (ma, mb) = (a.meta(), b.meta());
    assert_eq!(ma.freqs_hz, mb.freqs_hz);
    assert_eq!(ma.baselines, mb.baselines);
    assert_eq!(ma.pols, mb.pols);
    for (x, y) in ma.times_jd_utc.iter().zip(&mb.times_jd_utc) {
        assert!((x - y).abs() * 86400.0 < 1e-3, "times {x} {y}");
    }
    assert!((ma.phase_centre.ra_rad - mb.phase_centre.ra_rad).abs() < 1e-15);
    assert!((ma.phase_centre.dec_rad - mb.phase_centre.dec_rad).abs() < 1e-15);
    assert_eq!(ma.layout.names, mb.layout.names);
    assert!((ma.layout.site.height_m - mb.layout.site.height_m).abs() < 1e-3);
    assert_eq!(ma.units, mb.units);
}

#[test]
fn write_then_read_gives_the_same_visibilities() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.ms");
    let vis = sample();
    write_ms(&path, &vis).unwrap();
    no_temporary_files(dir.path());
    let back = read_ms(&path, DataColumn::Data).unwrap();
    assert_same(&back, &vis);
    // The MS holds the conjugate and negated uvw (pyuvdata's convention); the reader
    // undoes both.
    let rd = MsReader::open(&path, DataColumn::Data).unwrap();
    assert!(rd.header().conjugated);
    // Writing again replaces the Measurement Set.
    write_ms(&path, &vis).unwrap();
    assert_same(&read_ms(&path, DataColumn::Data).unwrap(), &vis);
    no_temporary_files(dir.path());
}

#[test]
fn convert_round_trips_uvh5_through_ms() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let (u1, ms, u2) = (
        dir.path().join("a.uvh5"),
        dir.path().join("a.ms"),
        dir.path().join("b.uvh5"),
    );
    let vis = sample();
    write_uvh5(&u1, &vis).unwrap();
    // Small blocks, so the streaming path is exercised (3 times × 28 baselines).
    let rep = convert(&u1, &ms, 7 * 5 * 4, DataColumn::Data, &NoProgress).unwrap();
    assert_eq!(rep.rows, 3 * vis.n_baselines());
    assert!(rep.blocks > 10);
    // MS → UVH5 streams too (small blocks again).
    let rep2 = convert(&ms, &u2, 7 * 5 * 4, DataColumn::Data, &NoProgress).unwrap();
    assert_eq!(rep2.rows, rep.rows);
    assert!(rep2.blocks > 10);
    assert_same(&read_uvh5(&u2).unwrap(), &vis);
    assert_same(&read_ms(&ms, DataColumn::Data).unwrap(), &vis);
    no_temporary_files(dir.path());
    // Same format both sides is refused, without output.
    let e = convert(
        &u1,
        &dir.path().join("c.uvh5"),
        100,
        DataColumn::Data,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("between UVH5 and a Measurement Set"),
        "{e}"
    );
    assert!(!dir.path().join("c.uvh5").exists());
}

fn expect_error(path: &Path, needle: &str) {
    match read_ms(path, DataColumn::Data) {
        Ok(_) => panic!("{} read without error", path.display()),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(needle), "expected '{needle}' in: {msg}");
        }
    }
}

#[test]
fn broken_measurement_sets_give_errors_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ms");
    write_ms(&good, &sample()).unwrap();
    let copy = |name: &str| {
        let to = dir.path().join(name);
        copy_dir(&good, &to);
        to
    };

    // A directory that is not a table, and a path that does not exist.
    let plain = dir.path().join("plain.ms");
    std::fs::create_dir(&plain).unwrap();
    expect_error(&plain, "not a casacore table");
    expect_error(&dir.path().join("absent.ms"), "does not exist");

    // A missing subtable.
    let no_ant = copy("no_ant.ms");
    std::fs::remove_dir_all(no_ant.join("ANTENNA")).unwrap();
    expect_error(&no_ant, "ANTENNA");

    // A missing column.
    let no_flag = copy("no_flag.ms");
    {
        let mut t =
            rubbl_casatables::Table::open(&no_flag, rubbl_casatables::TableOpenMode::ReadWrite)
                .unwrap();
        t.remove_column("FLAG").unwrap();
    }
    expect_error(&no_flag, "MAIN::FLAG");
    // CORRECTED_DATA asked for and absent.
    let e = read_ms(&good, DataColumn::Corrected).unwrap_err();
    assert!(e.to_string().contains("MAIN::CORRECTED_DATA"), "{e}");

    // Truncated storage files of MAIN: an error, never a panic.
    let trunc = copy("trunc.ms");
    for entry in std::fs::read_dir(&trunc).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("table.f") && p.is_file() {
            let len = std::fs::metadata(&p).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.set_len(len / 3).unwrap();
        }
    }
    assert!(read_ms(&trunc, DataColumn::Data).is_err());

    // A truncated table.dat.
    let tdat = copy("tdat.ms");
    std::fs::write(tdat.join("table.dat"), b"xx").unwrap();
    assert!(read_ms(&tdat, DataColumn::Data).is_err());

    // Converting a broken MS writes nothing.
    let out = dir.path().join("out.uvh5");
    assert!(convert(&no_ant, &out, 1000, DataColumn::Data, &NoProgress).is_err());
    assert!(!out.exists());
    // An output that exists and is not a table is not replaced.
    let v = sample();
    let e = write_ms(&plain, &v).unwrap_err();
    assert!(e.to_string().contains("not a casacore table"), "{e}");
    no_temporary_files(dir.path());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn cli_writes_and_reads_measurement_sets() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let sim = |out: &str| {
        crate::common::fxgrid(&[
            "-q",
            "simulate",
            "vis",
            "--layout",
            "ska-low:12",
            "--source",
            "60.3,-29.8,1",
            "--ra-deg",
            "60",
            "--dec-deg",
            "-30",
            "--ntimes",
            "2",
            "--nchan",
            "3",
            "--out",
            out,
        ])
    };
    let (ok, _, err) = sim(&d("s.ms"));
    assert!(ok, "{err}");
    let (ok, _, err) = sim(&d("s.uvh5"));
    assert!(ok, "{err}");
    let a = read_ms(Path::new(&d("s.ms")), DataColumn::Data).unwrap();
    let b = read_uvh5(Path::new(&d("s.uvh5"))).unwrap();
    assert_eq!(a.data(), b.data());
    let (ok, out, err) = crate::common::fxgrid(&["info", &d("s.ms")]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Measurement Set") && out.contains("XX XY YX YY"),
        "{out}"
    );
    let (ok, out, err) = crate::common::fxgrid(&["convert", &d("s.uvh5"), &d("c.ms")]);
    assert!(ok && out.contains("rows"), "{out}{err}");
    assert_eq!(
        read_ms(Path::new(&d("c.ms")), DataColumn::Data)
            .unwrap()
            .data(),
        b.data()
    );
    // image reads the MS as the UVH5, bit for bit; a column the file lacks is an error.
    let img = |input: &str, out: &str, extra: &[&str]| {
        let mut args = vec!["-q", "image", input, "--npix", "64", "--cell-arcsec", "120"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out]);
        crate::common::fxgrid(&args)
    };
    let (ok, _, err) = img(&d("s.ms"), &d("m.fits"), &[]);
    assert!(ok, "{err}");
    let (ok, _, err) = img(&d("s.uvh5"), &d("u.fits"), &[]);
    assert!(ok, "{err}");
    let m = fxgrid::io::fits::read_fits(Path::new(&d("m.fits"))).unwrap();
    let u = fxgrid::io::fits::read_fits(Path::new(&d("u.fits"))).unwrap();
    assert_eq!(m.data, u.data);
    let (ok, _, err) = img(
        &d("s.ms"),
        &d("x.fits"),
        &["--data-column", "CORRECTED_DATA"],
    );
    assert!(!ok && err.contains("MAIN::CORRECTED_DATA"), "{err}");
    let (ok, _, err) = img(&d("s.uvh5"), &d("x.fits"), &["--data-column", "MODEL_DATA"]);
    assert!(!ok && err.contains("one set of visibilities"), "{err}");
    assert!(!Path::new(&d("x.fits")).exists());
}
