//! Reads a UVH5 file with fxgrid's streaming reader, block by block, and writes what it
//! read to a plain HDF5 file, for comparison with pyuvdata's reading of the same file
//! (`tests/interop/compare_uvh5_read.py`).
//!
//! ```text
//! cargo run --release --example uvh5_dump -- IN.uvh5 OUT.h5 [BLOCK_SAMPLES]
//! ```
//!
//! OUT.h5 holds, in the file's blt order: `data` (complex128 `[Nblts, Nfreqs, Npols]`),
//! `flags` (uint8), `nsamples`, `uvw`, `time`, `lst`, `integration_time`, `ant_1`,
//! `ant_2`, `phase_center_id`, `app_ra`, `app_dec`, `frame_pa`, and per channel `freq`,
//! `channel_width`, `spw`, and `pols` (AIPS codes).

use std::path::PathBuf;

use fxgrid::io::uvh5::Uvh5Reader;
use ndarray::{concatenate, Array1, Array3, Axis};
use num_complex::Complex64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: uvh5_dump IN.uvh5 OUT.h5 [BLOCK_SAMPLES]".into());
    }
    let input = PathBuf::from(&args[1]);
    let block_samples: usize = args.get(3).map_or(Ok(1 << 20), |s| s.parse())?;
    let rd = Uvh5Reader::open(&input)?;
    let h = rd.header().clone();
    let nf = h.n_freqs();
    let mut data: Vec<Array3<Complex64>> = Vec::new();
    let mut flags = Vec::new();
    let mut nsamples = Vec::new();
    let mut metas = Vec::new();
    for blts in rd.blocks(nf, block_samples) {
        let b = rd.read_block(blts, 0..nf, true)?;
        data.push(b.vis.expect("requested"));
        flags.push(b.flags.mapv(u8::from));
        nsamples.push(b.nsamples);
        metas.push(b.meta);
    }
    let cat3 =
        |v: &[Array3<_>]| concatenate(Axis(0), &v.iter().map(|a| a.view()).collect::<Vec<_>>());
    let out = hdf5::File::create(&args[2])?;
    out.new_dataset_builder()
        .with_data(&cat3(&data)?)
        .create("data")?;
    out.new_dataset_builder()
        .with_data(&concatenate(
            Axis(0),
            &flags.iter().map(|a| a.view()).collect::<Vec<_>>(),
        )?)
        .create("flags")?;
    out.new_dataset_builder()
        .with_data(&concatenate(
            Axis(0),
            &nsamples.iter().map(|a| a.view()).collect::<Vec<_>>(),
        )?)
        .create("nsamples")?;
    let uvw = concatenate(
        Axis(0),
        &metas.iter().map(|m| m.uvw_m.view()).collect::<Vec<_>>(),
    )?;
    out.new_dataset_builder().with_data(&uvw).create("uvw")?;
    let f64s = |f: fn(&fxgrid::io::uvh5::BltMeta) -> &Vec<f64>| {
        Array1::from_iter(metas.iter().flat_map(|m| f(m).iter().copied()))
    };
    let i64s = |f: fn(&fxgrid::io::uvh5::BltMeta) -> &Vec<i64>| {
        Array1::from_iter(metas.iter().flat_map(|m| f(m).iter().copied()))
    };
    for (name, a) in [
        ("time", f64s(|m| &m.time_jd)),
        ("lst", f64s(|m| &m.lst_rad)),
        ("integration_time", f64s(|m| &m.integration_time_s)),
        ("app_ra", f64s(|m| &m.app_ra_rad)),
        ("app_dec", f64s(|m| &m.app_dec_rad)),
        ("frame_pa", f64s(|m| &m.frame_pa_rad)),
    ] {
        out.new_dataset_builder().with_data(&a).create(name)?;
    }
    for (name, a) in [
        ("ant_1", i64s(|m| &m.ant_1)),
        ("ant_2", i64s(|m| &m.ant_2)),
        ("phase_center_id", i64s(|m| &m.phase_centre_id)),
        ("spw", Array1::from(h.spw_of_channel.clone())),
        (
            "pols",
            Array1::from_iter(h.pols.iter().map(|p| p.aips_code())),
        ),
    ] {
        out.new_dataset_builder().with_data(&a).create(name)?;
    }
    out.new_dataset_builder()
        .with_data(&Array1::from(h.freqs_hz.clone()))
        .create("freq")?;
    out.new_dataset_builder()
        .with_data(&Array1::from(h.channel_width_hz.clone()))
        .create("channel_width")?;
    println!(
        "{}: {} baseline-times in {} block(s), {} channels, pols {:?}, legacy {}, visdata {:?}",
        input.display(),
        h.n_blts,
        metas.len(),
        nf,
        h.pols.iter().map(|p| p.name()).collect::<Vec<_>>(),
        h.legacy,
        h.vis_storage
    );
    Ok(())
}
