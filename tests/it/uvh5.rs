//! UVH5 writing and reading: round trip, atomic writes, and clear errors on bad files.

use std::path::Path;

use fxgrid::io::uvh5::{read_uvh5, summarise, write_uvh5, Uvh5Writer};
use fxgrid::sky::{predict, predict_times, Component, PredictConfig, SkyModel};
use fxgrid::telescope::RaDec;
use fxgrid::Visibilities;

use crate::common::small_setup;

fn sample() -> Visibilities {
    let (layout, obs) = small_setup(9, 3, 4);
    let sky = SkyModel::new(vec![
        Component::point(RaDec::from_degrees(60.5, -30.2), 1.0),
        Component::point(RaDec::from_degrees(59.1, -29.0), 0.4),
    ])
    .unwrap();
    predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            noise_jy: 0.1,
            seed: 5,
            ..Default::default()
        },
    )
    .unwrap()
}

fn no_temporary_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("fxgrid-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn write_then_read_gives_the_same_visibilities() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.uvh5");
    let vis = sample();
    write_uvh5(&path, &vis).unwrap();
    no_temporary_files(dir.path());
    let back = read_uvh5(&path).unwrap();
    assert_eq!(back.data(), vis.data());
    assert_eq!(back.flags(), vis.flags());
    assert_eq!(back.weights(), vis.weights());
    assert_eq!(back.uvw_m(), vis.uvw_m());
    let (a, b) = (back.meta(), vis.meta());
    assert_eq!(a.baselines, b.baselines);
    assert_eq!(a.times_jd_utc, b.times_jd_utc);
    assert_eq!(a.freqs_hz, b.freqs_hz);
    assert_eq!(a.pols, b.pols);
    assert_eq!(a.app_ra_rad, b.app_ra_rad);
    assert_eq!(a.frame_pa_rad, b.frame_pa_rad);
    assert_eq!(a.history, b.history);
    assert_eq!(a.layout.names, b.layout.names);
    for (p, q) in a.layout.enu.iter().zip(&b.layout.enu) {
        assert!(
            (p.e_m - q.e_m).abs() < 1e-6
                && (p.n_m - q.n_m).abs() < 1e-6
                && (p.u_m - q.u_m).abs() < 1e-6
        );
    }
    for (x, y) in a.lst_rad.iter().zip(&b.lst_rad) {
        assert!((x - y).abs() < 1e-12);
    }
    let s = summarise(&path).unwrap();
    assert!(
        s.contains("Nbls 45") && s.contains("Ntimes 3") && s.contains("XX XY YX YY"),
        "{s}"
    );
}

#[test]
fn a_failed_write_leaves_no_file_behind() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.uvh5");
    // Stopped half-way: dropped unfinished, or finished with integrations missing.
    let vis = sample();
    let mut w = Uvh5Writer::create(&path, 2 * vis.n_times()).unwrap();
    w.write(&vis).unwrap();
    drop(w);
    assert!(!path.exists());
    no_temporary_files(dir.path());
    let mut w = Uvh5Writer::create(&path, 2 * vis.n_times()).unwrap();
    w.write(&vis).unwrap();
    let e = w.finish().unwrap_err().to_string();
    assert!(e.contains("3 of 6 integrations"), "{e}");
    assert!(!path.exists());
    no_temporary_files(dir.path());
    let e = write_uvh5(&dir.path().join("no/such/dir/v.uvh5"), &sample()).unwrap_err();
    assert!(e.to_string().contains("no/such/dir"), "{e}");
}

#[test]
fn an_existing_file_is_replaced_only_when_the_new_one_is_complete() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.uvh5");
    write_uvh5(&path, &sample()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut w = Uvh5Writer::create(&path, 4).unwrap();
    w.write(&sample()).unwrap();
    assert!(
        w.write(&sample()).is_err(),
        "more integrations than created for"
    );
    assert!(w.finish().is_err());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the old file must survive a failed write"
    );
}

#[test]
fn non_ascii_strings_are_written_escaped_and_read_back() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.uvh5");
    let mut vis = sample();
    vis.meta_mut().history = "λ = c/ν\0end".into();
    write_uvh5(&path, &vis).unwrap();
    let back = read_uvh5(&path).unwrap();
    assert_eq!(back.meta().history, "\\u{3bb} = c/\\u{3bd}\\u{0}end");
}

#[test]
fn integrations_written_in_batches_make_the_same_file() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let (layout, obs) = small_setup(9, 5, 4);
    let sky = SkyModel::new(vec![Component::point(
        RaDec::from_degrees(60.5, -30.2),
        1.0,
    )])
    .unwrap();
    let cfg = PredictConfig {
        noise_jy: 0.1,
        seed: 5,
        ..Default::default()
    };
    let whole = dir.path().join("whole.uvh5");
    write_uvh5(&whole, &predict(&layout, &obs, &sky, &cfg).unwrap()).unwrap();
    let parts = dir.path().join("parts.uvh5");
    let mut w = Uvh5Writer::create(&parts, 5).unwrap();
    for r in [0..2, 2..3, 3..5] {
        w.write(&predict_times(&layout, &obs, &sky, &cfg, r).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let (a, b) = (read_uvh5(&whole).unwrap(), read_uvh5(&parts).unwrap());
    assert_eq!(a.data(), b.data());
    assert_eq!(a.flags(), b.flags());
    assert_eq!(a.weights(), b.weights());
    assert_eq!(a.uvw_m(), b.uvw_m());
    assert_eq!(a.meta().times_jd_utc, b.meta().times_jd_utc);
    assert_eq!(a.meta().app_ra_rad, b.meta().app_ra_rad);
    assert_eq!(a.meta().history, b.meta().history);
}

#[test]
fn bad_files_give_errors_that_name_the_problem() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.uvh5");
    let e = read_uvh5(&missing).unwrap_err().to_string();
    assert!(e.contains("missing.uvh5"), "{e}");

    let text = dir.path().join("text.uvh5");
    std::fs::write(&text, "not hdf5 at all").unwrap();
    let e = read_uvh5(&text).unwrap_err().to_string();
    assert!(e.contains("not a readable HDF5 file"), "{e}");
    assert!(summarise(&text).is_err());

    let good = dir.path().join("good.uvh5");
    write_uvh5(&good, &sample()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.uvh5");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(read_uvh5(&truncated).is_err());

    let holed = dir.path().join("holed.uvh5");
    std::fs::copy(&good, &holed).unwrap();
    {
        let f = hdf5::File::open_rw(&holed).unwrap();
        f.group("Header").unwrap().unlink("Nbls").unwrap();
    }
    let e = read_uvh5(&holed).unwrap_err().to_string();
    assert!(e.contains("Header/Nbls") && e.contains("missing"), "{e}");

    let empty = dir.path().join("empty.h5");
    hdf5::File::create(&empty).unwrap();
    let e = read_uvh5(&empty).unwrap_err().to_string();
    assert!(e.contains("not a UVH5 file"), "{e}");
    assert!(summarise(&empty).unwrap().contains("not UVH5"));
}

/// `read_uvh5` goes through the streaming reader: what a file does not store (here the
/// apparent coordinates of the phase centre) is derived as that reader derives it, and
/// layouts `Visibilities` cannot hold are refused with the reason.
#[test]
fn whole_file_reading_derives_what_is_missing_and_names_what_it_cannot_hold() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.uvh5");
    let vis = sample();
    write_uvh5(&good, &vis).unwrap();
    let edited = |name: &str, edit: &dyn Fn(&hdf5::File)| {
        let p = dir.path().join(format!("{name}.uvh5"));
        std::fs::copy(&good, &p).unwrap();
        let f = hdf5::File::open_rw(&p).unwrap();
        edit(&f);
        f.close().unwrap();
        p
    };

    let no_app = edited("no_app", &|f| {
        for d in [
            "phase_center_app_ra",
            "phase_center_app_dec",
            "phase_center_frame_pa",
        ] {
            f.group("Header").unwrap().unlink(d).unwrap();
        }
    });
    let back = read_uvh5(&no_app).unwrap();
    assert_eq!(back.data(), vis.data());
    let (a, b) = (back.meta(), vis.meta());
    for (x, y) in [
        (&a.app_ra_rad, &b.app_ra_rad),
        (&a.app_dec_rad, &b.app_dec_rad),
    ] {
        let worst = x
            .iter()
            .zip(y)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-9,
            "derived apparent coordinates differ by {worst} rad"
        );
    }

    let swapped = edited("swapped", &|f| {
        let name = "Header/ant_2_array";
        let mut a: ndarray::Array1<i64> = f.dataset(name).unwrap().read_1d().unwrap();
        // The second antennas of baselines (0, 1) and (0, 2) in the last integration.
        let nb: i64 = f.dataset("Header/Nbls").unwrap().read_scalar().unwrap();
        let last = a.len() - nb as usize;
        a.swap(last + 1, last + 2);
        f.unlink(name).unwrap();
        f.new_dataset_builder().with_data(&a).create(name).unwrap();
    });
    let e = read_uvh5(&swapped).unwrap_err().to_string();
    assert!(e.contains("time-major rectangular order"), "{e}");

    let circular = edited("circular", &|f| {
        let name = "Header/polarization_array";
        let codes = ndarray::Array1::from(vec![-1i64, -2, -3, -4]);
        f.unlink(name).unwrap();
        f.new_dataset_builder()
            .with_data(&codes)
            .create(name)
            .unwrap();
    });
    let e = read_uvh5(&circular).unwrap_err().to_string();
    assert!(e.contains("RR") && e.contains("linear products"), "{e}");
}
