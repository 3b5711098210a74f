//! The streaming UVH5 reader and file imaging: block reading equals whole reading,
//! re-phasing equals simulating at the new centre, and a suite of deliberately broken
//! files, each giving an error that names the problem (never a panic).

use std::path::{Path, PathBuf};

use fxgrid::grid::weighting::{RankFilter, Weighting};
use fxgrid::grid::Precision;
use fxgrid::image::ImagingConfig;
use fxgrid::imaging::{image_file, image_uvh5, FileSelection};
use fxgrid::io::uvh5::{read_uvh5, write_uvh5, Uvh5Reader};
use fxgrid::sky::{predict, Component, PredictConfig, SkyModel};
use fxgrid::telescope::RaDec;
use fxgrid::Visibilities;
use ndarray::{s, Array1};

use crate::common::{rel_l2, small_setup};

fn simulate(centre: RaDec) -> Visibilities {
    let (layout, mut obs) = small_setup(10, 3, 4);
    obs.phase_centre = centre;
    let sky = SkyModel::new(vec![
        Component::point(RaDec::from_degrees(60.4, -30.3), 1.0),
        Component::point(RaDec::from_degrees(59.2, -29.1), 0.5),
    ])
    .unwrap();
    predict(&layout, &obs, &sky, &PredictConfig::default()).unwrap()
}

fn centre_a() -> RaDec {
    RaDec::from_degrees(60.0, -30.0)
}

fn good_file(dir: &Path) -> PathBuf {
    let p = dir.join("good.uvh5");
    write_uvh5(&p, &simulate(centre_a())).unwrap();
    p
}

fn config(npix: usize) -> ImagingConfig {
    ImagingConfig {
        npix_x: npix,
        npix_y: npix,
        cell_rad: Some((60.0f64 / 3600.0).to_radians()),
        weighting: Weighting::Natural,
        weight_rank_filter: Some(RankFilter::default()),
        epsilon: 1e-10,
        precision: Precision::F64,
        wstacking: Some(true),
        channels: None,
        per_channel: false,
    }
}

#[test]
fn blocks_of_any_size_read_what_the_whole_file_holds() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = good_file(dir.path());
    let whole = read_uvh5(&path).unwrap();
    let rd = Uvh5Reader::open(&path).unwrap();
    let h = rd.header();
    let nb = whole.n_baselines();
    assert_eq!(h.n_blts, whole.n_times() * nb);
    for block_samples in [1, 37, 1000, 1 << 20] {
        let mut rows = 0;
        for blts in rd.blocks(2, block_samples) {
            let b = rd.read_block(blts.clone(), 1..3, true).unwrap();
            let vis = b.vis.as_ref().unwrap();
            for (i, blt) in blts.clone().enumerate() {
                let (t, bl) = (blt / nb, blt % nb);
                for c in 0..2 {
                    for p in 0..h.n_pols() {
                        let want = whole.data()[[t, bl, c + 1, p]];
                        assert_eq!(vis[[i, c, p]].re, want.re as f64);
                        assert_eq!(vis[[i, c, p]].im, want.im as f64);
                        assert_eq!(b.flags[[i, c, p]], whole.flags()[[t, bl, c + 1, p]]);
                        assert_eq!(b.nsamples[[i, c, p]], whole.weights()[[t, bl, c + 1, p]]);
                    }
                }
                for k in 0..3 {
                    assert_eq!(b.meta.uvw_m[[i, k]], whole.uvw_m()[[t, bl, k]]);
                }
            }
            rows += blts.len();
        }
        assert_eq!(rows, h.n_blts);
    }
}

#[test]
fn rephasing_equals_simulating_at_the_new_centre() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let a = good_file(dir.path());
    let centre_b = RaDec::from_degrees(60.3, -29.6);
    let b = dir.path().join("b.uvh5");
    write_uvh5(&b, &simulate(centre_b)).unwrap();
    let cfg = config(128);
    let (img_b, _, rep_b) = image_uvh5(
        &b,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
    assert!(!rep_b.rephased);
    let sel = FileSelection {
        phase_centre: Some(centre_b),
        block_samples: 500,
        ..Default::default()
    };
    let (img_ab, _, rep_ab) = image_uvh5(&a, &cfg, &sel, &fxgrid::progress::NoProgress).unwrap();
    assert!(rep_ab.rephased && rep_ab.blocks > 1);
    assert_eq!(img_ab.geometry.phase_centre, centre_b);
    // The data are stored in f32 (unit roundoff 6e-8 per sample, independent between the
    // two files) and gridded at 1e-10: the images agree to a small multiple of 6e-8.
    let err = rel_l2(
        img_ab.data.iter().map(|&x| (x as f64, 0.0)),
        img_b.data.iter().map(|&x| (x as f64, 0.0)),
    );
    assert!(
        err < 1e-6,
        "re-phased image differs from the one simulated there by {err:e}"
    );
    // Not re-phasing (imaging A at its own centre) is a different image.
    let (img_a, _, _) = image_uvh5(
        &a,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
    let far = rel_l2(
        img_a.data.iter().map(|&x| (x as f64, 0.0)),
        img_b.data.iter().map(|&x| (x as f64, 0.0)),
    );
    assert!(far > 0.1, "{far}");
}

#[test]
fn selections_keep_what_they_say() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let path = good_file(dir.path());
    let cfg = config(64);
    let (_, _, all) = image_uvh5(
        &path,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
    let rd = Uvh5Reader::open(&path).unwrap();
    let meta = rd.read_meta(0..rd.header().n_blts).unwrap();
    let cross = (0..meta.len()).filter(|&k| meta.ant_1[k] != meta.ant_2[k]);
    let lengths: Vec<f64> = cross
        .map(|k| meta.uvw_m.row(k).iter().map(|x| x * x).sum::<f64>().sqrt())
        .collect();
    assert_eq!(all.n_rows_selected, lengths.len());
    let mut sorted = lengths.clone();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[sorted.len() / 2];
    let sel = FileSelection {
        baseline_m: Some(cut..f64::INFINITY),
        ..Default::default()
    };
    let (_, _, long) = image_uvh5(&path, &cfg, &sel, &fxgrid::progress::NoProgress).unwrap();
    assert_eq!(
        long.n_rows_selected,
        lengths.iter().filter(|&&l| l >= cut).count()
    );
    let t0 = meta.time_jd[0];
    let sel = FileSelection {
        time_jd: Some(t0 - 1e-6..t0 + 1e-6),
        ..Default::default()
    };
    let (_, _, first) = image_uvh5(&path, &cfg, &sel, &fxgrid::progress::NoProgress).unwrap();
    assert_eq!(first.n_rows_selected * 3, all.n_rows_selected);
    let sel = FileSelection {
        time_jd: Some(0.0..1.0),
        ..Default::default()
    };
    let e = image_uvh5(&path, &cfg, &sel, &fxgrid::progress::NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nothing to image"), "{e}");
}

/// A copy of `good` changed by `edit`.
fn broken(good: &Path, name: &str, edit: impl FnOnce(&hdf5::File)) -> PathBuf {
    let p = good.with_file_name(format!("{name}.uvh5"));
    std::fs::copy(good, &p).unwrap();
    let f = hdf5::File::open_rw(&p).unwrap();
    edit(&f);
    f.close().unwrap();
    p
}

fn replace<T: hdf5::H5Type>(f: &hdf5::File, name: &str, a: &ndarray::ArrayD<T>) {
    f.unlink(name).unwrap();
    f.new_dataset_builder().with_data(a).create(name).unwrap();
}

/// The error of opening `path` and reading every block, or of imaging it.
fn read_error(path: &Path) -> String {
    let all = || -> Result<(), fxgrid::io::IoError> {
        let rd = Uvh5Reader::open(path)?;
        rd.check_counts()?;
        let nf = rd.header().n_freqs();
        for b in rd.blocks(nf, 1000) {
            rd.read_block(b, 0..nf, true)?;
        }
        Ok(())
    };
    let e = all()
        .expect_err("a broken file was read without error")
        .to_string();
    let e2 = image_uvh5(
        path,
        &config(32),
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .expect_err("a broken file was imaged without error")
    .to_string();
    assert_eq!(e, e2, "reading and imaging report different errors");
    e
}

#[test]
fn broken_files_give_errors_that_name_the_problem() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let good = good_file(dir.path());
    let check = |path: PathBuf, words: &[&str]| {
        let e = read_error(&path);
        for w in words {
            assert!(e.contains(w), "{}: error {e:?} lacks {w:?}", path.display());
        }
    };

    // Missing datasets.
    for name in [
        "Header/uvw_array",
        "Header/freq_array",
        "Data/nsamples",
        "Data/visdata",
    ] {
        let tag = name.replace('/', "_");
        check(
            broken(&good, &format!("missing_{tag}"), |f| {
                f.unlink(name).unwrap()
            }),
            &[name, "missing"],
        );
    }
    // Wrong rank or shape.
    check(
        broken(&good, "flags_shape", |f| {
            replace(
                f,
                "Data/flags",
                &ndarray::ArrayD::<bool>::from_elem(vec![3, 4], false),
            )
        }),
        &["Data/flags", "shape [3, 4]"],
    );
    check(
        broken(&good, "uvw_rank", |f| {
            replace(
                f,
                "Header/uvw_array",
                &ndarray::ArrayD::<f64>::zeros(vec![5]),
            )
        }),
        &["Header/uvw_array", "shape [5]"],
    );
    // Inconsistent counts.
    check(
        broken(&good, "nblts", |f| {
            replace(f, "Header/Nblts", &ndarray::arr0(7i64).into_dyn())
        }),
        &["Nbls", "Nblts = 7"],
    );
    check(
        broken(&good, "nbls", |f| {
            replace(f, "Header/Nbls", &ndarray::arr0(12i64).into_dyn())
        }),
        &[
            "inconsistent header counts",
            "Nbls = 12 but the data have 55 baselines",
        ],
    );
    check(
        broken(&good, "nfreqs", |f| {
            replace(f, "Header/Nfreqs", &ndarray::arr0(5i64).into_dyn())
        }),
        &["Header/freq_array", "shape [4]", "Nfreqs"],
    );
    // Unknown polarisation code.
    check(
        broken(&good, "pol", |f| {
            replace(
                f,
                "Header/polarization_array",
                &Array1::from(vec![-5i64, -6, -7, -9]).into_dyn(),
            )
        }),
        &["Header/polarization_array", "-9"],
    );
    // Antenna not in the table.
    check(
        broken(&good, "ant", |f| {
            let mut a: Array1<i64> = f.dataset("Header/ant_2_array").unwrap().read_1d().unwrap();
            a[4] = 999;
            replace(f, "Header/ant_2_array", &a.into_dyn())
        }),
        &["antenna 999", "baseline-time 4"],
    );
    // visdata of the wrong type.
    check(
        broken(&good, "vistype", |f| {
            let shape = f.dataset("Data/visdata").unwrap().shape();
            replace(f, "Data/visdata", &ndarray::ArrayD::<f32>::zeros(shape))
        }),
        &["Data/visdata", "compound {r, i}"],
    );
    // Non-finite uvw.
    check(
        broken(&good, "uvw_nan", |f| {
            let mut a: ndarray::Array2<f64> =
                f.dataset("Header/uvw_array").unwrap().read_2d().unwrap();
            a[[2, 1]] = f64::NAN;
            replace(f, "Header/uvw_array", &a.into_dyn())
        }),
        &["Header/uvw_array", "NaN", "baseline-time 2"],
    );
    // No phase information at all.
    check(
        broken(&good, "no_phase", |f| {
            f.unlink("Header/phase_center_catalog").unwrap()
        }),
        &["phase_center_catalog", "phase_type"],
    );
    // A truncated file and a file that is not HDF5.
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.uvh5");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = read_error(&truncated);
    assert!(e.contains("truncated.uvh5"), "{e}");
    let text = dir.path().join("text.uvh5");
    std::fs::write(&text, "not hdf5").unwrap();
    check(text, &["not a readable HDF5 file"]);
}

#[test]
fn non_finite_visibilities_are_flagged_and_counted_and_zero_weight_is_an_error() {
    let _guard = crate::common::process_guard();
    let dir = tempfile::tempdir().unwrap();
    let good = good_file(dir.path());
    let cfg = config(64);
    // Flag rows 11 and 12 in a copy, and put NaN and infinity there in another.
    let edit_data = |name: &str, nan: bool| {
        broken(&good, name, |f| {
            let ds = f.dataset("Data/visdata").unwrap();
            let mut v: ndarray::Array3<num_complex::Complex32> = ds.read().unwrap();
            let mut fl: ndarray::Array3<bool> = f.dataset("Data/flags").unwrap().read().unwrap();
            for row in [11, 12] {
                if nan {
                    v.slice_mut(s![row, .., 0])
                        .fill(num_complex::Complex32::new(f32::NAN, 0.0));
                    v.slice_mut(s![row, 1, 3])
                        .fill(num_complex::Complex32::new(0.0, f32::INFINITY));
                } else {
                    fl.slice_mut(s![row, .., 0]).fill(true);
                    fl.slice_mut(s![row, 1, 3]).fill(true);
                }
            }
            ds.write(&v).unwrap();
            f.dataset("Data/flags").unwrap().write(&fl).unwrap();
        })
    };
    let nan = edit_data("nan", true);
    let flagged = edit_data("flagged", false);
    let (img_nan, _, rep) = image_uvh5(
        &nan,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
    let (img_flag, _, rep_flag) = image_uvh5(
        &flagged,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap();
    // Stokes I from XX and YY: 4 channels of XX in each of 2 rows (YX is not used).
    assert_eq!(rep.n_nonfinite, 8);
    assert_eq!(rep_flag.n_nonfinite, 0);
    assert!(img_nan.data.iter().all(|x| x.is_finite()));
    assert_eq!(img_nan.data, img_flag.data);

    let zero = broken(&good, "zero_weight", |f| {
        let ds = f.dataset("Data/nsamples").unwrap();
        let w = ndarray::Array3::<f32>::zeros(<[usize; 3]>::try_from(ds.shape()).unwrap());
        ds.write(&w).unwrap();
    });
    let e = image_uvh5(
        &zero,
        &cfg,
        &FileSelection::default(),
        &fxgrid::progress::NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("nothing to image") && e.contains("non-zero weight"),
        "{e}"
    );
}

#[test]
fn without_the_psf_the_dirty_image_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let a = good_file(dir.path());
    for weighting in [Weighting::Natural, Weighting::Briggs(0.0)] {
        let cfg = ImagingConfig {
            weighting,
            ..config(128)
        };
        let sel = FileSelection {
            block_samples: 500,
            ..Default::default()
        };
        let none = &fxgrid::progress::NoProgress;
        let (with, psf, rep) = image_file(&a, &cfg, &sel, true, none).unwrap();
        let (without, no_psf, rep_no) = image_file(&a, &cfg, &sel, false, none).unwrap();
        assert_eq!(with.data, without.data, "{weighting:?}");
        assert!(psf.is_some() && no_psf.is_none());
        assert!(rep.blocks > 1 && rep_no.batches == rep.batches);
        assert_eq!(rep.imaging.weight_sum, rep_no.imaging.weight_sum);
    }
}
