//! UVH5 (pyuvdata's HDF5 layout, memo v1.x) for [`Visibilities`].
//!
//! What is written (what pyuvdata's strict read requires; `tests/interop/check_uvh5.py`
//! checks it):
//! - `/Header`: the required datasets, `version = "1.2"`, a sidereal ICRS entry in
//!   `phase_center_catalog`, the per-blt apparent RA/Dec and frame position angle of the
//!   phase centre, antenna positions as ECEF offsets from the array centre, feeds X (east)
//!   and Y (north), `vis_units`, `pol_convention = "avg"` for data in Jy, and in `history`
//!   the fxgrid version and the configuration that made the data. `lst_array` is not
//!   written: readers recompute it from `time_array` and the site.
//! - `/Data`: `visdata` as compound `{r, i}` of float32, `flags` as the h5py boolean enum,
//!   `nsamples` float32, all `(Nblts, Nfreqs, Npols)` and chunked along the first axis.
//! - blt order is time-major: `blt = t · Nbls + b`.
//!
//! Two readers:
//! - [`Uvh5Reader`] reads every layout pyuvdata writes or has written, block by block (see
//!   its module docs); `fxgrid info` and `fxgrid image` use it, and
//!   [`crate::imaging`] images files of any size with it.
//! - [`read_uvh5`] reads a whole file into [`Visibilities`], the regular
//!   `[time, baseline, channel, pol]` container the predictor and `fxgrid predict` work
//!   on. It uses [`Uvh5Reader`], so it takes any layout that reader does (legacy files,
//!   stored types, compression) as long as the baseline-times are rectangular and
//!   time-major, with one spectral window, linear polarisations and one sidereal phase
//!   centre; it refuses others with an error that says why.

mod reader;
mod stream;

pub use reader::{
    linear_pols, BltMeta, CentreKind, PhaseCentre, PolProduct, Uvh5Block, Uvh5Header, Uvh5Reader,
    VisStorage,
};
pub use stream::write_uvh5_from;

use std::path::{Path, PathBuf};

use hdf5::types::FixedAscii;
use hdf5::{Dataset, File, Group, H5Type};
use ndarray::{s, Array1, Array2, Ix1};
use num_complex::Complex32;

use super::h5::{enu_from_ecef_offsets, open, Ctx, Reader};
use super::{IoError, Pending};
use crate::telescope::ArrayLayout;
use crate::vis::{VisMeta, VisUnits, Visibilities};

/// Rows (baseline-times) per chunk of the `/Data` datasets, at most.
const CHUNK_BLTS: usize = 4096;

/// Write `vis` to `path` as UVH5 (module docs), atomically.
pub fn write_uvh5(path: &Path, vis: &Visibilities) -> Result<(), IoError> {
    let mut w = Uvh5Writer::create(path, vis.n_times())?;
    w.write(vis)?;
    w.finish()
}

/// UVH5 written a few integrations at a time (module docs): memory is one batch, whatever
/// the number of integrations. The file is written under a temporary name and renamed
/// into place by [`Uvh5Writer::finish`]; dropped before, it removes what it wrote.
///
/// The header is written with the first batch, from its metadata; every batch must have
/// the same baselines, channels, polarisations and units, and the times of all batches
/// together are the `n_times` of [`Uvh5Writer::create`].
pub struct Uvh5Writer {
    path: PathBuf,
    tmp: Pending,
    n_times: usize,
    written: usize,
    open: Option<Open>,
}

/// The file and its per-row datasets once the header is written.
struct Open {
    file: File,
    first: VisMeta,
    ds: Vec<Dataset>,
}

/// The per-row datasets, in the order of [`Open::ds`].
const ROW_DATASETS: [&str; 12] = [
    "Header/ant_1_array",
    "Header/ant_2_array",
    "Header/time_array",
    "Header/integration_time",
    "Header/uvw_array",
    "Header/phase_center_id_array",
    "Header/phase_center_app_ra",
    "Header/phase_center_app_dec",
    "Header/phase_center_frame_pa",
    "Data/visdata",
    "Data/flags",
    "Data/nsamples",
];

impl Uvh5Writer {
    /// Start a file of `n_times` integrations at `path` (nothing is created before the
    /// first batch).
    pub fn create(path: &Path, n_times: usize) -> Result<Self, IoError> {
        if n_times == 0 {
            return Err(IoError::Format {
                path: path.display().to_string(),
                reason: "nothing to write: 0 integrations".into(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            tmp: Pending::new(super::temporary_path(path)),
            n_times,
            written: 0,
            open: None,
        })
    }

    /// Integrations written so far.
    pub fn times_written(&self) -> usize {
        self.written
    }

    /// Append the integrations of `vis` (the next ones in time).
    pub fn write(&mut self, vis: &Visibilities) -> Result<(), IoError> {
        let p = self.path.display().to_string();
        let cx = Ctx { path: &p };
        let bad = |reason: String| IoError::Format {
            path: p.clone(),
            reason,
        };
        let nt = vis.n_times();
        if self.written + nt > self.n_times {
            return Err(bad(format!(
                "{} integrations written and {nt} more given: the file was created for {}",
                self.written, self.n_times
            )));
        }
        if self.open.is_none() {
            let file = cx.h5("creating the file", File::create(self.tmp.path()))?;
            let nblts = self.n_times * vis.n_baselines();
            write_header(&cx, &file, vis.meta(), self.n_times)?;
            let ds = create_row_datasets(&cx, &file, nblts, vis.n_chan(), vis.n_pols())?;
            self.open = Some(Open {
                file,
                first: vis.meta().clone(),
                ds,
            });
        }
        let open = self.open.as_ref().expect("opened above");
        let (m, f) = (vis.meta(), &open.first);
        if m.baselines != f.baselines
            || m.freqs_hz != f.freqs_hz
            || m.pols != f.pols
            || m.units != f.units
        {
            return Err(bad(
                "a batch of integrations with other baselines, channels, polarisations or units than the first".into(),
            ));
        }
        let nb = vis.n_baselines();
        let rows = self.written * nb..(self.written + nt) * nb;
        write_rows(&cx, &open.ds, rows, vis)?;
        self.written += nt;
        Ok(())
    }

    /// Close the file and rename it into place; every integration must have been written.
    pub fn finish(self) -> Result<(), IoError> {
        if self.written != self.n_times {
            return Err(IoError::Format {
                path: self.path.display().to_string(),
                reason: format!(
                    "{} of {} integrations written: the file is incomplete and was not kept",
                    self.written, self.n_times
                ),
            });
        }
        let p = self.path.display().to_string();
        let cx = Ctx { path: &p };
        let open = self.open.expect("at least one integration written");
        drop(open.ds);
        cx.h5("closing the file", open.file.close())?;
        super::put_in_place(self.tmp, &self.path)
    }
}

fn write_header(cx: &Ctx<'_>, file: &File, m: &VisMeta, nt: usize) -> Result<(), IoError> {
    let h = cx.h5("creating /Header", file.create_group("Header"))?;
    let l = &m.layout;
    let (nb, nf, np) = (m.baselines.len(), m.freqs_hz.len(), m.pols.len());
    let nblts = nt * nb;
    cx.string(&h, "version", "1.2")?;
    cx.string(&h, "telescope_name", &l.telescope_name)?;
    cx.string(&h, "instrument", &l.telescope_name)?;
    cx.string(&h, "telescope_frame", "itrs")?;
    cx.string(&h, "ellipsoid", "SPHERE")?;
    cx.scalar(&h, "latitude", l.site.lat_rad.to_degrees())?;
    cx.scalar(&h, "longitude", l.site.lon_rad.to_degrees())?;
    cx.scalar(&h, "altitude", l.site.height_m)?;
    let n_ant = l.n_ant();
    cx.scalar(&h, "Nants_telescope", n_ant as i64)?;
    cx.array(&h, "antenna_numbers", &Array1::from_iter(0..n_ant as i64))?;
    let names: Vec<&str> = l.names.iter().map(String::as_str).collect();
    cx.strings(&h, "antenna_names", &names)?;
    let pos = l.ecef_offsets();
    cx.array(
        &h,
        "antenna_positions",
        &Array2::from_shape_fn((n_ant, 3), |(a, i)| pos[a].to_array()[i]),
    )?;
    if let Some(d) = l.diameter_m {
        cx.array(&h, "antenna_diameters", &Array1::from_elem(n_ant, d))?;
    }
    let mount = l.mount_type.as_deref().unwrap_or("other");
    cx.strings(&h, "mount_type", &vec![mount; n_ant])?;
    // Feeds: X along east (feed angle π/2), Y along north (0), as pyuvdata's "east" x_orientation.
    cx.scalar(&h, "Nfeeds", 2i64)?;
    let feed =
        |i: usize| FixedAscii::<16>::from_ascii(if i == 0 { "x" } else { "y" }).expect("ASCII");
    cx.array(
        &h,
        "feed_array",
        &Array2::from_shape_fn((n_ant, 2), |(_, i)| feed(i)),
    )?;
    cx.array(
        &h,
        "feed_angle",
        &Array2::from_shape_fn((n_ant, 2), |(_, i)| {
            if i == 0 {
                std::f64::consts::FRAC_PI_2
            } else {
                0.0
            }
        }),
    )?;

    let ants_used: std::collections::BTreeSet<usize> =
        m.baselines.iter().flat_map(|&(p, q)| [p, q]).collect();
    cx.scalar(&h, "Nants_data", ants_used.len() as i64)?;
    cx.scalar(&h, "Nbls", nb as i64)?;
    cx.scalar(&h, "Nblts", nblts as i64)?;
    cx.scalar(&h, "Ntimes", nt as i64)?;
    cx.scalar(&h, "Nfreqs", nf as i64)?;
    cx.scalar(&h, "Npols", np as i64)?;
    cx.scalar(&h, "Nspws", 1i64)?;
    cx.scalar(&h, "Nphase", 1i64)?;
    cx.array(&h, "freq_array", &Array1::from(m.freqs_hz.clone()))?;
    cx.array(&h, "channel_width", &Array1::from_elem(nf, m.chan_width_hz))?;
    cx.array(&h, "spw_array", &Array1::from(vec![0i64]))?;
    cx.array(&h, "flex_spw_id_array", &Array1::from_elem(nf, 0i64))?;
    cx.array(
        &h,
        "polarization_array",
        &Array1::from_iter(m.pols.iter().map(|p| p.aips_code())),
    )?;
    cx.string(&h, "vis_units", m.units.as_str())?;
    if m.units != VisUnits::Uncalib {
        cx.string(&h, "pol_convention", "avg")?;
    }
    cx.string(&h, "history", &m.history)?;
    cx.string(&h, "blt_order", "time, baseline")?;
    let cat = cx.h5(
        "creating phase_center_catalog",
        h.create_group("phase_center_catalog"),
    )?;
    let c0 = cx.h5("creating phase_center_catalog/0", cat.create_group("0"))?;
    cx.string(&c0, "cat_name", &m.phase_centre_name)?;
    cx.string(&c0, "cat_type", "sidereal")?;
    cx.scalar(&c0, "cat_lon", m.phase_centre.ra_rad)?;
    cx.scalar(&c0, "cat_lat", m.phase_centre.dec_rad)?;
    cx.string(&c0, "cat_frame", "icrs")?;
    cx.scalar(&c0, "cat_epoch", 2000.0f64)?;
    cx.string(&c0, "info_source", "user")?;
    let ek = cx.h5("creating extra_keywords", h.create_group("extra_keywords"))?;
    cx.string(&ek, "fxgrid_version", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Creates the per-row datasets of [`ROW_DATASETS`] for `nblts` rows.
pub(super) fn create_row_datasets(
    cx: &Ctx<'_>,
    file: &File,
    nblts: usize,
    nf: usize,
    np: usize,
) -> Result<Vec<Dataset>, IoError> {
    let d = cx.h5("creating /Data", file.create_group("Data"))?;
    let h = cx.h5("opening /Header", file.group("Header"))?;
    fn new<T: H5Type>(
        cx: &Ctx<'_>,
        g: &Group,
        name: &str,
        shape: &[usize],
        chunk: Option<&[usize]>,
    ) -> Result<Dataset, IoError> {
        let mut b = g.new_dataset::<T>().shape(shape);
        if let Some(c) = chunk {
            b = b.chunk(c);
        }
        cx.h5(&format!("creating {name}"), b.create(name))
    }
    let chunk = [nblts.clamp(1, CHUNK_BLTS), nf, np];
    let data = [nblts, nf, np];
    Ok(vec![
        new::<i64>(cx, &h, "ant_1_array", &[nblts], None)?,
        new::<i64>(cx, &h, "ant_2_array", &[nblts], None)?,
        new::<f64>(cx, &h, "time_array", &[nblts], None)?,
        new::<f64>(cx, &h, "integration_time", &[nblts], None)?,
        new::<f64>(cx, &h, "uvw_array", &[nblts, 3], None)?,
        new::<i64>(cx, &h, "phase_center_id_array", &[nblts], None)?,
        new::<f64>(cx, &h, "phase_center_app_ra", &[nblts], None)?,
        new::<f64>(cx, &h, "phase_center_app_dec", &[nblts], None)?,
        new::<f64>(cx, &h, "phase_center_frame_pa", &[nblts], None)?,
        new::<Complex32>(cx, &d, "visdata", &data, Some(&chunk))?,
        new::<bool>(cx, &d, "flags", &data, Some(&chunk))?,
        new::<f32>(cx, &d, "nsamples", &data, Some(&chunk))?,
    ])
}

/// Writes the rows `rows` (`vis`'s integrations, time-major) of every per-row dataset.
fn write_rows(
    cx: &Ctx<'_>,
    ds: &[Dataset],
    rows: std::ops::Range<usize>,
    vis: &Visibilities,
) -> Result<(), IoError> {
    let m = vis.meta();
    let (nt, nb, nf, np) = (vis.n_times(), vis.n_baselines(), vis.n_chan(), vis.n_pols());
    let n = nt * nb;
    let per_row =
        |f: &dyn Fn(usize, usize) -> f64| Array1::from_iter((0..n).map(|i| f(i / nb, i % nb)));
    let ants = |k: usize| {
        Array1::from_iter((0..n).map(|i| {
            let (p, q) = m.baselines[i % nb];
            (if k == 0 { p } else { q }) as i64
        }))
    };
    let uvw = vis.uvw_m();
    let w = |i: usize, r: hdf5::Result<()>| cx.h5(&format!("writing {}", ROW_DATASETS[i]), r);
    let r = rows.clone();
    w(0, ds[0].write_slice(&ants(0), s![r.clone()]))?;
    w(1, ds[1].write_slice(&ants(1), s![r.clone()]))?;
    w(
        2,
        ds[2].write_slice(&per_row(&|t, _| m.times_jd_utc[t]), s![r.clone()]),
    )?;
    w(
        3,
        ds[3].write_slice(&per_row(&|_, _| m.int_time_s), s![r.clone()]),
    )?;
    let uvw_rows = Array2::from_shape_fn((n, 3), |(i, k)| uvw[[i / nb, i % nb, k]]);
    w(4, ds[4].write_slice(&uvw_rows, s![r.clone(), ..]))?;
    w(
        5,
        ds[5].write_slice(&Array1::<i64>::zeros(n), s![r.clone()]),
    )?;
    w(
        6,
        ds[6].write_slice(&per_row(&|t, _| m.app_ra_rad[t]), s![r.clone()]),
    )?;
    w(
        7,
        ds[7].write_slice(&per_row(&|t, _| m.app_dec_rad[t]), s![r.clone()]),
    )?;
    w(
        8,
        ds[8].write_slice(&per_row(&|t, _| m.frame_pa_rad[t]), s![r.clone()]),
    )?;
    fn rows_of<T: Clone>(a: ndarray::ArrayView4<'_, T>, shape: [usize; 3]) -> ndarray::Array3<T> {
        a.as_standard_layout()
            .into_owned()
            .into_shape_with_order(shape)
            .expect("a standard-layout array of as many elements")
    }
    let shape = [n, nf, np];
    w(
        9,
        ds[9].write_slice(&rows_of(vis.data(), shape), s![r.clone(), .., ..]),
    )?;
    w(
        10,
        ds[10].write_slice(&rows_of(vis.flags(), shape), s![r.clone(), .., ..]),
    )?;
    w(
        11,
        ds[11].write_slice(&rows_of(vis.weights(), shape), s![r, .., ..]),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reading

/// Read a whole UVH5 file into [`Visibilities`] (module docs): any file [`Uvh5Reader`]
/// reads whose baseline-times form a rectangular time-major grid (`blt = t · Nbls + b`),
/// with one spectral window, linear polarisation products and one sidereal phase centre.
/// Visibilities stored as complex128 or int32 pairs are narrowed to complex64.
pub fn read_uvh5(path: &Path) -> Result<Visibilities, IoError> {
    let rd = Uvh5Reader::open(path)?;
    let h = rd.header();
    let bad = |reason: String| IoError::Format {
        path: rd.path().to_string(),
        reason,
    };
    let (nt, nb, nblts, nf) = (h.n_times, h.n_bls, h.n_blts, h.n_freqs());
    if h.spw_array.len() != 1 {
        return Err(bad(format!(
            "{} spectral windows: reading into Visibilities needs one (fxgrid image reads any number)",
            h.spw_array.len()
        )));
    }
    if nblts != nt * nb {
        return Err(bad(format!(
            "Nblts = {nblts} but Ntimes × Nbls = {}: reading into Visibilities needs a rectangular time-major file (fxgrid image reads any order)",
            nt * nb
        )));
    }
    let pols = linear_pols(&h.pols).map_err(|p| {
        bad(format!(
            "polarisation {}: reading into Visibilities needs linear products (XX, XY, YX, YY)",
            p.name()
        ))
    })?;
    let block = rd.read_block(0..nblts, 0..nf, true)?;
    let m = &block.meta;
    let centre = match h.phase_centres.as_slice() {
        [c] => c.radec().ok_or_else(|| {
            bad(format!(
                "phase centre '{}' is not sidereal: reading into Visibilities needs a fixed RA/Dec",
                c.name
            ))
        })?,
        cs => {
            return Err(bad(format!(
                "{} phase centres: reading into Visibilities needs one",
                cs.len()
            )))
        }
    };
    let index = |blt: usize, num: i64| {
        h.antenna_index(num).ok_or_else(|| {
            bad(format!(
                "blt {blt}: antenna number {num} not in antenna_numbers"
            ))
        })
    };
    let baselines = (0..nb)
        .map(|b| Ok((index(b, m.ant_1[b])?, index(b, m.ant_2[b])?)))
        .collect::<Result<Vec<_>, IoError>>()?;
    for i in 0..nblts {
        let (t, b) = (i / nb, i % nb);
        if (m.ant_1[i], m.ant_2[i]) != (m.ant_1[b], m.ant_2[b]) || m.time_jd[i] != m.time_jd[t * nb]
        {
            return Err(bad(format!(
                "blt {i} breaks the time-major rectangular order that reading into Visibilities needs (fxgrid image reads any order)"
            )));
        }
    }
    let per_time = |v: &[f64]| (0..nt).map(|t| v[t * nb]).collect::<Vec<f64>>();
    let layout = layout_of(h).map_err(|e| bad(format!("antenna table: {e}")))?;
    let meta = VisMeta {
        layout,
        phase_centre: centre,
        phase_centre_name: h.phase_centres[0].name.clone(),
        times_jd_utc: per_time(&m.time_jd),
        lst_rad: per_time(&m.lst_rad),
        app_ra_rad: per_time(&m.app_ra_rad),
        app_dec_rad: per_time(&m.app_dec_rad),
        frame_pa_rad: per_time(&m.frame_pa_rad),
        int_time_s: m.integration_time_s[0],
        freqs_hz: h.freqs_hz.clone(),
        chan_width_hz: h.channel_width_hz[0],
        baselines,
        pols,
        units: VisUnits::from_name(&h.vis_units),
        history: h.history.clone(),
    };
    let np = h.n_pols();
    let shape = (nt, nb, nf, np);
    let reshape = |e: ndarray::ShapeError| bad(format!("reshaping the data: {e}"));
    let vis = block
        .vis
        .ok_or_else(|| bad("visibilities were not read".into()))?
        .mapv(|c| Complex32::new(c.re as f32, c.im as f32))
        .into_shape_with_order(shape)
        .map_err(reshape)?;
    let flags = block.flags.into_shape_with_order(shape).map_err(reshape)?;
    let weights = block
        .nsamples
        .into_shape_with_order(shape)
        .map_err(reshape)?;
    let uvw = block
        .meta
        .uvw_m
        .into_shape_with_order((nt, nb, 3))
        .map_err(reshape)?;
    Visibilities::new(meta, vis, weights, flags, uvw).map_err(|e| IoError::Content {
        path: rd.path().to_string(),
        what: "the data do not make a visibility set".into(),
        source: Box::new(e),
    })
}

/// The array a UVH5 header describes (antenna rows in file order).
pub fn layout_of(h: &Uvh5Header) -> Result<ArrayLayout, crate::telescope::TelescopeError> {
    let pos = Array2::from_shape_fn((h.antenna_positions_m.len(), 3), |(a, k)| {
        h.antenna_positions_m[a][k]
    });
    let enu = enu_from_ecef_offsets(&pos, h.site);
    let mut layout = ArrayLayout::new(
        h.telescope_name.clone(),
        h.site,
        h.antenna_names.clone(),
        enu,
    )?;
    layout.diameter_m = h
        .antenna_diameters_m
        .as_ref()
        .and_then(|d| d.first().copied());
    Ok(layout)
}

/// A human-readable summary of an HDF5 file that is not a voltage or spectra file (UVH5
/// or any other layout); [`crate::io::summarise`] takes any file.
pub fn summarise(path: &Path) -> Result<String, IoError> {
    let p = path.display().to_string();
    let r = Reader {
        path: &p,
        file: open(path)?,
    };
    let mut out = format!("{p}\n");
    let looks_uvh5 = r.file.group("Header").is_ok() && r.ds("Data/visdata").is_ok();
    if looks_uvh5 {
        drop(r);
        match Uvh5Reader::open(path) {
            Ok(rd) => out += &describe_uvh5(&rd)?,
            Err(e) => out += &format!("  format: UVH5-like, but not readable: {e}\n"),
        }
        let r = Reader {
            path: &p,
            file: open(path)?,
        };
        out += &describe_tree(&r, &r.file, "/")?;
        return Ok(out);
    }
    out += "  format: HDF5 (not UVH5)\n";
    out += &describe_tree(&r, &r.file, "/")?;
    Ok(out)
}

/// The header of a UVH5 file in words; times are streamed through `time_array`.
fn describe_uvh5(rd: &Uvh5Reader) -> Result<String, IoError> {
    let h = rd.header();
    let mut out = format!(
        "  format: UVH5 {}\n  telescope: {} (instrument {})\n  site: lat {:.5}°, lon {:.5}°, alt {:.1} m\n",
        match (&h.version, h.legacy) {
            (Some(v), false) => format!("version {v}"),
            (Some(v), true) => format!("version {v}, legacy layout"),
            (None, _) => "legacy layout (no version)".into(),
        },
        h.telescope_name,
        h.instrument,
        h.site.lat_rad.to_degrees(),
        h.site.lon_rad.to_degrees(),
        h.site.height_m
    );
    out += &format!(
        "  Nants_telescope {}  Nants_data {}  Nbls {}  Nblts {}  Ntimes {}  Nfreqs {}  Npols {}  Nspws {}\n",
        h.antenna_numbers.len(),
        h.n_ants_data.map_or("?".into(), |n| n.to_string()),
        h.n_bls,
        h.n_blts,
        h.n_times,
        h.n_freqs(),
        h.n_pols(),
        h.spw_array.len()
    );
    for &spw in &h.spw_array {
        let chans: Vec<usize> = (0..h.n_freqs())
            .filter(|&c| h.spw_of_channel[c] == spw)
            .collect();
        if let (Some(&a), Some(&b)) = (chans.first(), chans.last()) {
            out += &format!(
                "  spectral window {spw}: {} channels ({a}..={b}), {:.6} – {:.6} MHz, width {:.3} kHz\n",
                chans.len(),
                h.freqs_hz[a] / 1e6,
                h.freqs_hz[b] / 1e6,
                h.channel_width_hz[a] / 1e3
            );
        }
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for b in rd.blocks(1, 1 << 20) {
        for t in rd.read_times(b)? {
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    out += &format!("  times: JD {lo:.6} – {hi:.6} (UTC, integration centres)\n");
    if let Err(e) = rd.check_counts() {
        out += &format!("  WARNING: {e}\n");
    }
    let names: Vec<&str> = h.pols.iter().map(|p| p.name()).collect();
    out += &format!("  polarisations: {}\n", names.join(" "));
    for c in &h.phase_centres {
        let what = match &c.kind {
            CentreKind::Sidereal {
                lon_rad,
                lat_rad,
                frame,
                epoch,
            } => format!(
                "sidereal, RA {:.6}°, Dec {:.6}° ({frame}{})",
                lon_rad.to_degrees(),
                lat_rad.to_degrees(),
                epoch.map(|e| format!(" {e}")).unwrap_or_default()
            ),
            CentreKind::Unprojected => "unprojected (drift scan)".into(),
            CentreKind::Driftscan { az_rad, el_rad } => format!(
                "drift scan at az {:.4}°, el {:.4}°",
                az_rad.to_degrees(),
                el_rad.to_degrees()
            ),
            CentreKind::Ephem => "ephemeris".into(),
        };
        out += &format!("  phase centre {} {:?}: {what}\n", c.id, c.name);
    }
    out += &format!(
        "  visdata: {}{}; vis_units: {}\n",
        match h.vis_storage {
            VisStorage::Complex64 => "complex64".to_string(),
            VisStorage::Complex128 => "complex128".to_string(),
            VisStorage::Integer(n) => format!("{}-bit integer pairs", 8 * n),
        },
        if h.rank4 { ", rank 4 (legacy)" } else { "" },
        h.vis_units
    );
    if let Some(l) = h.history.lines().next() {
        out += &format!("  history: {l}\n");
    }
    Ok(out)
}

fn describe_tree(r: &Reader<'_>, g: &Group, prefix: &str) -> Result<String, IoError> {
    let mut out = String::new();
    for ds in r.h5("listing datasets", g.datasets())? {
        let name = ds.name();
        if name.starts_with("/Header") {
            continue;
        }
        let ty = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map(|d| format!("{d}"))
            .unwrap_or_else(|_| "?".into());
        let filters: Vec<String> = ds
            .filters()
            .iter()
            .map(|f| match f {
                hdf5::filters::Filter::Deflate(l) => format!("gzip {l}"),
                hdf5::filters::Filter::Shuffle => "shuffle".into(),
                hdf5::filters::Filter::Fletcher32 => "fletcher32".into(),
                hdf5::filters::Filter::LZF => "lzf".into(),
                hdf5::filters::Filter::User(32008, _) => "bitshuffle (32008, not readable)".into(),
                other => format!("{other:?}"),
            })
            .collect();
        out += &format!(
            "  dataset {name}: shape {:?}, type {ty}{}\n",
            ds.shape(),
            if filters.is_empty() {
                String::new()
            } else {
                format!(", filters {}", filters.join(", "))
            }
        );
    }
    for sub in r.h5("listing groups", g.groups())? {
        let name = sub.name();
        if name == "/Header" {
            continue;
        }
        out += &describe_tree(r, &sub, &format!("{prefix}{name}/"))?;
    }
    Ok(out)
}

/// Read a 1-D dataset of `f64` (convenience for tests and tools).
pub fn read_f64_1d(path: &Path, dataset: &str) -> Result<Vec<f64>, IoError> {
    let p = path.display().to_string();
    let r = Reader {
        path: &p,
        file: open(path)?,
    };
    let ds = r.ds(dataset)?;
    Ok(r.h5(dataset, ds.read::<f64, Ix1>())?.to_vec())
}
