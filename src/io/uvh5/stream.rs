//! UVH5 written block by block from any [`VisSource`]: memory is one block, whatever the
//! file's size. `fxgrid convert` uses it for Measurement Set → UVH5.

use hdf5::types::FixedAscii;
use hdf5::File;
use ndarray::{s, Array1, Array2};
use num_complex::Complex32;

use super::super::h5::Ctx;
use super::{CentreKind, PolProduct};
use crate::io::{write_atomically, IoError, VisSource};
use crate::progress::Progress;

/// Write the whole of `src` to `path` as UVH5 (atomically), reading blocks of at most
/// `block_samples` samples. Every phase centre must be sidereal. Returns the rows written.
pub fn write_uvh5_from(
    path: &std::path::Path,
    src: &dyn VisSource,
    block_samples: usize,
    progress: &dyn Progress,
) -> Result<usize, IoError> {
    let h = src.header();
    let (nblts, nf, np) = (h.n_blts, h.n_freqs(), h.n_pols());
    let blocks = src.blocks(nf, block_samples.max(1));
    write_atomically(path, |tmp| {
        let p = path.display().to_string();
        let cx = Ctx { path: &p };
        let file = cx.h5("creating the file", File::create(tmp))?;
        let g = cx.h5("creating /Header", file.create_group("Header"))?;
        cx.string(&g, "version", "1.2")?;
        cx.string(&g, "telescope_name", &h.telescope_name)?;
        cx.string(&g, "instrument", &h.instrument)?;
        cx.string(&g, "telescope_frame", "itrs")?;
        cx.scalar(&g, "latitude", h.site.lat_rad.to_degrees())?;
        cx.scalar(&g, "longitude", h.site.lon_rad.to_degrees())?;
        cx.scalar(&g, "altitude", h.site.height_m)?;
        let n_ant = h.antenna_numbers.len();
        cx.scalar(&g, "Nants_telescope", n_ant as i64)?;
        cx.array(
            &g,
            "antenna_numbers",
            &Array1::from(h.antenna_numbers.clone()),
        )?;
        let names: Vec<&str> = h.antenna_names.iter().map(String::as_str).collect();
        cx.strings(&g, "antenna_names", &names)?;
        cx.array(
            &g,
            "antenna_positions",
            &Array2::from_shape_fn((n_ant, 3), |(a, k)| h.antenna_positions_m[a][k]),
        )?;
        if let Some(d) = &h.antenna_diameters_m {
            if d.iter().all(|&x| x > 0.0) {
                cx.array(&g, "antenna_diameters", &Array1::from(d.clone()))?;
            }
        }
        // Feeds as in write_uvh5 (X east, Y north), or R and L for circular data.
        let circular = h.pols.iter().any(|p| {
            matches!(
                p,
                PolProduct::RR | PolProduct::LL | PolProduct::RL | PolProduct::LR
            )
        });
        let (f0, f1, a0) = if circular {
            ("r", "l", 0.0)
        } else {
            ("x", "y", std::f64::consts::FRAC_PI_2)
        };
        cx.scalar(&g, "Nfeeds", 2i64)?;
        cx.array(
            &g,
            "feed_array",
            &Array2::from_shape_fn((n_ant, 2), |(_, i)| {
                FixedAscii::<16>::from_ascii(if i == 0 { f0 } else { f1 }).expect("ASCII")
            }),
        )?;
        cx.array(
            &g,
            "feed_angle",
            &Array2::from_shape_fn((n_ant, 2), |(_, i)| if i == 0 { a0 } else { 0.0 }),
        )?;
        cx.scalar(&g, "Nants_data", h.n_ants_data.unwrap_or(n_ant) as i64)?;
        cx.scalar(&g, "Nbls", h.n_bls as i64)?;
        cx.scalar(&g, "Nblts", nblts as i64)?;
        cx.scalar(&g, "Ntimes", h.n_times as i64)?;
        cx.scalar(&g, "Nfreqs", nf as i64)?;
        cx.scalar(&g, "Npols", np as i64)?;
        cx.scalar(&g, "Nspws", h.spw_array.len() as i64)?;
        cx.scalar(&g, "Nphase", h.phase_centres.len() as i64)?;
        cx.array(&g, "freq_array", &Array1::from(h.freqs_hz.clone()))?;
        cx.array(
            &g,
            "channel_width",
            &Array1::from(h.channel_width_hz.clone()),
        )?;
        cx.array(&g, "spw_array", &Array1::from(h.spw_array.clone()))?;
        cx.array(
            &g,
            "flex_spw_id_array",
            &Array1::from(h.spw_of_channel.clone()),
        )?;
        cx.array(
            &g,
            "polarization_array",
            &Array1::from_iter(h.pols.iter().map(|p| p.aips_code())),
        )?;
        cx.string(&g, "vis_units", &h.vis_units)?;
        if h.vis_units == "Jy" {
            cx.string(&g, "pol_convention", "avg")?;
        }
        cx.string(&g, "history", &h.history)?;
        let cat = cx.h5(
            "creating phase_center_catalog",
            g.create_group("phase_center_catalog"),
        )?;
        for c in &h.phase_centres {
            let CentreKind::Sidereal {
                lon_rad,
                lat_rad,
                frame,
                epoch,
            } = &c.kind
            else {
                return Err(IoError::Format {
                    path: src.path().to_string(),
                    reason: format!(
                        "phase centre {} ({}) is not sidereal: the streaming UVH5 writer takes sidereal centres",
                        c.id, c.name
                    ),
                });
            };
            let e = cx.h5(
                "creating a catalog entry",
                cat.create_group(&c.id.to_string()),
            )?;
            cx.string(&e, "cat_name", &c.name)?;
            cx.string(&e, "cat_type", "sidereal")?;
            cx.scalar(&e, "cat_lon", *lon_rad)?;
            cx.scalar(&e, "cat_lat", *lat_rad)?;
            cx.string(&e, "cat_frame", frame)?;
            cx.scalar(&e, "cat_epoch", epoch.unwrap_or(2000.0))?;
            cx.string(&e, "info_source", "file")?;
        }
        let ek = cx.h5("creating extra_keywords", g.create_group("extra_keywords"))?;
        cx.string(&ek, "fxgrid_version", env!("CARGO_PKG_VERSION"))?;

        // Per-row datasets (in the order of super::ROW_DATASETS), filled block by block.
        let ds = super::create_row_datasets(&cx, &file, nblts, nf, np)?;
        let [a1, a2, time, int, uvw, ids, ra, dec, pa, vis_ds, flag_ds, ns_ds] = &ds[..] else {
            unreachable!("create_row_datasets makes the twelve datasets of ROW_DATASETS")
        };
        progress.start(nblts as u64, "rows");
        for b in &blocks {
            let blk = src.read_block(b.clone(), 0..nf, true)?;
            let m = &blk.meta;
            let r = b.clone();
            let w = |what: &str, res: hdf5::Result<()>| cx.h5(&format!("writing {what}"), res);
            let vis = blk
                .vis
                .as_ref()
                .expect("visibilities requested")
                .mapv(|c| Complex32::new(c.re as f32, c.im as f32));
            w("visdata", vis_ds.write_slice(&vis, s![r.clone(), .., ..]))?;
            w(
                "flags",
                flag_ds.write_slice(&blk.flags, s![r.clone(), .., ..]),
            )?;
            w(
                "nsamples",
                ns_ds.write_slice(&blk.nsamples, s![r.clone(), .., ..]),
            )?;
            w("ant_1_array", a1.write_slice(&m.ant_1, s![r.clone()]))?;
            w("ant_2_array", a2.write_slice(&m.ant_2, s![r.clone()]))?;
            w("time_array", time.write_slice(&m.time_jd, s![r.clone()]))?;
            w(
                "integration_time",
                int.write_slice(&m.integration_time_s, s![r.clone()]),
            )?;
            w("uvw_array", uvw.write_slice(&m.uvw_m, s![r.clone(), ..]))?;
            w(
                "phase_center_id_array",
                ids.write_slice(&m.phase_centre_id, s![r.clone()]),
            )?;
            w(
                "phase_center_app_ra",
                ra.write_slice(&m.app_ra_rad, s![r.clone()]),
            )?;
            w(
                "phase_center_app_dec",
                dec.write_slice(&m.app_dec_rad, s![r.clone()]),
            )?;
            w(
                "phase_center_frame_pa",
                pa.write_slice(&m.frame_pa_rad, s![r.clone()]),
            )?;
            progress.advance(b.len() as u64);
        }
        progress.finish();
        cx.h5("closing the file", file.close())
    })?;
    Ok(nblts)
}
