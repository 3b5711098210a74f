//! The direct-DFT predictor against its f64 twin, an independent evaluation of the
//! measurement equation, and the geometric facts of uvw.

use fxgrid::sky::reference::{predict_reference, to_linear_pols};
use fxgrid::sky::{
    predict, random_field, Component, PredictConfig, RandomFieldConfig, Shape, SkyModel,
};
use fxgrid::telescope::{antenna_uvw, time_geometry, RaDec, SPEED_OF_LIGHT_M_S};
use fxgrid::Pol;

use crate::common::{rel_l2, small_setup};

fn cfg(precision: fxgrid::Precision) -> PredictConfig {
    PredictConfig {
        precision,
        ..Default::default()
    }
}

#[test]
fn a_source_at_the_phase_centre_gives_its_flux_on_every_baseline() {
    let (layout, obs) = small_setup(40, 3, 5);
    let sky = SkyModel::new(vec![Component::point(obs.phase_centre, 2.5)]).unwrap();
    for precision in [fxgrid::Precision::F32, fxgrid::Precision::F64] {
        let vis = predict(&layout, &obs, &sky, &cfg(precision)).unwrap();
        for v in vis.data().lanes(ndarray::Axis(3)) {
            for p in [0, 3] {
                assert!(
                    (v[p].re - 2.5).abs() <= 2.5e-6 && v[p].im.abs() <= 2.5e-6,
                    "{v:?}"
                );
            }
            assert_eq!(v[1], Default::default());
            assert_eq!(v[2], Default::default());
        }
    }
}

/// Worst-case relative L2 error of the f32 path: each term `S · conj(A_p) · A_q` carries a
/// few ulp of f32 (phasor rounding, two products, one sum), so the error of one visibility
/// is at most about 8 ε Σ|S|; relative to the norm of the reference that gives the bound.
fn f32_bound(sky: &SkyModel, reference_norm_rms: f64) -> f64 {
    let sum_abs: f64 = sky.components.iter().map(|c| c.flux_jy.abs()).sum();
    8.0 * f32::EPSILON as f64 * sum_abs / reference_norm_rms
}

#[test]
fn fast_predictor_matches_the_f64_reference() {
    for (seed, n_ant, n_times, n_chan, n_src) in [
        (1u64, 2usize, 1usize, 1usize, 1usize),
        (2, 7, 2, 3, 5),
        (3, 24, 2, 6, 12),
        (4, 33, 1, 1, 30),
    ] {
        let (layout, obs) = small_setup(n_ant, n_times, n_chan);
        let mut sky = random_field(&RandomFieldConfig {
            n_sources: n_src,
            centre: obs.phase_centre,
            radius_rad: 5f64.to_radians(),
            seed,
            ..Default::default()
        })
        .unwrap();
        // One resolved component too.
        sky.components.push(Component {
            radec: RaDec::from_degrees(60.4, -31.0),
            flux_jy: 3.0,
            ref_freq_hz: 150e6,
            spectral_index: -0.8,
            shape: Shape::Gaussian {
                major_rad: 2e-3,
                minor_rad: 8e-4,
                pa_rad: 0.6,
            },
        });
        let want = to_linear_pols(&predict_reference(&layout, &obs, &sky).unwrap());
        let rms = (want.iter().map(|v| v.norm_sqr()).sum::<f64>() / want.len() as f64).sqrt();
        for (precision, tol) in [
            (fxgrid::Precision::F64, 1e-6), // f64 sum, f32 storage: f32 rounding of the output
            (fxgrid::Precision::F32, f32_bound(&sky, rms).max(1e-6)),
        ] {
            let got = predict(&layout, &obs, &sky, &cfg(precision)).unwrap();
            let err = rel_l2(
                got.data().iter().map(|v| (v.re as f64, v.im as f64)),
                want.iter().map(|v| (v.re, v.im)),
            );
            assert!(
                err <= tol,
                "{precision:?} n_ant={n_ant} n_src={n_src}: rel L2 {err:e} > {tol:e}"
            );
        }
    }
}

#[test]
fn visibilities_follow_the_measurement_equation_evaluated_independently() {
    // uvw by TMS eq. 4.1 from the stored apparent phase centre, LST and ECEF antenna
    // positions (the pyuvdata recipe), then rotated by the frame position angle; (l, m, n)
    // by the SIN projection of the source's observed place about the phase centre's, rotated
    // the same way; V = S exp(+2πi (u l + v m + w (n − 1))).
    let (layout, obs) = small_setup(30, 3, 4);
    let src = RaDec::from_degrees(61.2, -29.3);
    let sky = SkyModel::new(vec![Component::point(src, 1.7)]).unwrap();
    let vis = predict(&layout, &obs, &sky, &cfg(fxgrid::Precision::F64)).unwrap();
    let m = vis.meta();
    let geom = time_geometry(&layout, &obs).unwrap();
    let pos = layout.ecef_offsets();
    let mut worst = 0.0f64;
    for (t, g) in geom.iter().enumerate() {
        let (ra0, dec0, pa) = (m.app_ra_rad[t], m.app_dec_rad[t], m.frame_pa_rad[t]);
        let h_g = m.lst_rad[t] - ra0 - layout.site.lon_rad;
        let s_obs = g.observer.observed(src);
        let (sd0, cd0) = dec0.sin_cos();
        let da = s_obs.app_ra_rad - ra0;
        let (sd, cd) = s_obs.dec_rad.sin_cos();
        let l0 = cd * da.sin();
        let m0 = sd * cd0 - cd * sd0 * da.cos();
        let n = sd * sd0 + cd * cd0 * da.cos();
        let (sp, cp) = pa.sin_cos();
        let (l, mm) = (cp * l0 - sp * m0, sp * l0 + cp * m0);
        for (b, &(p, q)) in m.baselines.iter().enumerate() {
            let d = pos[q] - pos[p];
            let (x, y, z) = (d.x_m, d.y_m, d.z_m);
            let u0 = h_g.sin() * x + h_g.cos() * y;
            let v0 = -sd0 * h_g.cos() * x + sd0 * h_g.sin() * y + cd0 * z;
            let w = cd0 * h_g.cos() * x - cd0 * h_g.sin() * y + sd0 * z;
            let (u, v) = (cp * u0 - sp * v0, sp * u0 + cp * v0);
            for (k, &f) in m.freqs_hz.iter().enumerate() {
                let ph = std::f64::consts::TAU * f / SPEED_OF_LIGHT_M_S
                    * (u * l + v * mm + w * (n - 1.0));
                let want = num_complex::Complex64::from_polar(1.7, ph);
                let got = vis.data()[[t, b, k, 0]];
                let err = ((got.re as f64 - want.re).powi(2) + (got.im as f64 - want.im).powi(2))
                    .sqrt()
                    / 1.7;
                worst = worst.max(err);
                let uvw = vis.uvw_m();
                assert!(
                    (uvw[[t, b, 0]] - u).abs() < 1e-6
                        && (uvw[[t, b, 1]] - v).abs() < 1e-6
                        && (uvw[[t, b, 2]] - w).abs() < 1e-6
                );
            }
        }
    }
    // f32 storage of a unit-modulus value: a few ε.
    assert!(
        worst <= 4.0 * f32::EPSILON as f64,
        "worst relative error {worst:e}"
    );
}

#[test]
fn uvw_is_antisymmetric_and_as_long_as_the_baseline() {
    let (layout, obs) = small_setup(25, 4, 1);
    let pos = layout.ecef_offsets();
    for g in time_geometry(&layout, &obs).unwrap() {
        let ant = antenna_uvw(&layout, &g.frame);
        for p in 0..layout.n_ant() {
            for q in 0..layout.n_ant() {
                let pq = ant[q] - ant[p];
                let qp = ant[p] - ant[q];
                assert_eq!(pq.u_m, -qp.u_m);
                assert_eq!(pq.w_m, -qp.w_m);
                let len = (pos[q] - pos[p]).norm_m();
                assert!(
                    (pq.norm_m() - len).abs() <= 1e-9 * len.max(1.0),
                    "|uvw| != |b|"
                );
            }
        }
    }
}

#[test]
fn a_source_east_of_the_phase_centre_advances_the_phase_of_an_east_pointing_baseline() {
    // DESIGN: V = S exp(+2πi (u l + …)), l grows to the east, uvw = r_q − r_p.
    let (layout, mut obs) = small_setup(12, 1, 1);
    // At transit, u points east.
    obs.start_jd_utc = fxgrid::telescope::transit_centred_start(
        &layout,
        obs.phase_centre,
        fxgrid::telescope::default_day_jd_utc(),
        obs.int_time_s,
    )
    .unwrap();
    let east = RaDec {
        ra_rad: obs.phase_centre.ra_rad + 1e-6,
        dec_rad: obs.phase_centre.dec_rad,
    };
    let sky = SkyModel::new(vec![Component::point(east, 1.0)]).unwrap();
    let vis = predict(&layout, &obs, &sky, &cfg(fxgrid::Precision::F64)).unwrap();
    let mut checked = 0;
    for (b, &(p, q)) in vis.meta().baselines.iter().enumerate() {
        let (u, v) = (vis.uvw_m()[[0, b, 0]], vis.uvw_m()[[0, b, 1]]);
        let (e, n) = (
            layout.enu[q].e_m - layout.enu[p].e_m,
            layout.enu[q].n_m - layout.enu[p].n_m,
        );
        if e.abs() > 200.0 && n.abs() < 0.1 * e.abs() {
            assert!(
                v.abs() < 0.2 * u.abs(),
                "an east-west baseline at transit has small v"
            );
            let ph = vis.data()[[0, b, 0, 0]].arg();
            assert!(
                (ph as f64).signum() == u.signum(),
                "baseline ({p},{q}) u={u} phase={ph}"
            );
            assert!(
                e.signum() == u.signum(),
                "u must grow with r_q − r_p towards east"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

#[test]
fn noise_is_seeded_has_the_requested_sigma_and_ignores_the_thread_count() {
    let (layout, obs) = small_setup(40, 2, 8);
    let sky = SkyModel::default();
    let c = PredictConfig {
        noise_jy: 0.5,
        seed: 42,
        ..Default::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| predict(&layout, &obs, &sky, &c).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(
        a.data(),
        b.data(),
        "noise must not depend on the number of threads"
    );
    let cross: Vec<f64> = a
        .data()
        .indexed_iter()
        .filter(|((_, bl, _, _), _)| a.meta().baselines[*bl].0 != a.meta().baselines[*bl].1)
        .flat_map(|(_, v)| [v.re as f64, v.im as f64])
        .collect();
    let n = cross.len() as f64;
    let sd = (cross.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
    // Standard error of a sample standard deviation: σ / sqrt(2n); allow 5 of them.
    assert!((sd - 0.5).abs() < 5.0 * 0.5 / (2.0 * n).sqrt(), "sd {sd}");
    // Autocorrelations stay physical.
    for (bl, &(p, q)) in a.meta().baselines.iter().enumerate() {
        if p == q {
            for k in 0..8 {
                let v = a.data().slice(ndarray::s![0, bl, k, ..]).to_vec();
                assert_eq!(v[0].im, 0.0);
                assert_eq!(v[3].im, 0.0);
                assert_eq!(v[2], v[1].conj());
            }
        }
    }
    let other = predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            seed: 43,
            ..c.clone()
        },
    )
    .unwrap();
    assert_ne!(a.data(), other.data());
}

#[test]
fn bad_prediction_inputs_are_typed_errors() {
    let (layout, mut obs) = small_setup(4, 1, 1);
    let sky = SkyModel::default();
    let e = predict(
        &layout,
        &obs,
        &sky,
        &PredictConfig {
            noise_jy: f64::NAN,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("noise_jy"), "{e}");
    obs.n_chan = 0;
    let e = predict(&layout, &obs, &sky, &PredictConfig::default()).unwrap_err();
    assert!(e.to_string().contains("n_chan"), "{e}");
    obs.n_chan = 1;
    obs.chan_width_hz = -1.0;
    assert!(predict(&layout, &obs, &sky, &PredictConfig::default()).is_err());
    obs.chan_width_hz = 1e3;
    obs.phase_centre.dec_rad = 2.0;
    let e = predict(&layout, &obs, &sky, &PredictConfig::default()).unwrap_err();
    assert!(e.to_string().contains("Dec"), "{e}");
}

#[test]
fn polarisation_codes_are_the_uvh5_ones_in_library_order() {
    let codes: Vec<i64> = Pol::ALL.iter().map(|p| p.aips_code()).collect();
    assert_eq!(codes, [-5, -7, -8, -6]);
}

#[test]
fn plans_and_configs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<fxgrid::telescope::ArrayLayout>();
    assert_send_sync::<fxgrid::telescope::Observation>();
    assert_send_sync::<SkyModel>();
    assert_send_sync::<PredictConfig>();
    assert_send_sync::<fxgrid::Visibilities>();
}
