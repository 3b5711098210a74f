//! The full UVH5 reader: every layout pyuvdata writes or has written, read in blocks of
//! baseline-times so that files larger than memory can be streamed.
//!
//! [`Uvh5Reader::open`] reads and checks the header: the `N*` counts against the shapes of
//! every array that depends on them, the antenna table, frequencies, spectral windows,
//! polarisation codes, the phase centres, and the type and shape of the three `/Data`
//! datasets. Per-baseline-time arrays and data are read on demand by
//! [`Uvh5Reader::read_block`], whose memory is that of the block requested.
//!
//! Accepted, as pyuvdata 3 accepts them (its `uvh5` reader and the UVH5 memo):
//! - current (1.x) files, and legacy ones: no `version`, rank-4 data
//!   `(Nblts, 1, Nfreqs, Npols)`, 2-D `freq_array (1, Nfreqs)`, scalar `channel_width`,
//!   `phase_type` `"drift"` / `"phased"` with `phase_center_ra/dec` instead of the catalog;
//! - `visdata` as compound `{r, i}` of float32, float64 or integers (HERA's int32), read
//!   exactly into `Complex<f64>`; flags as the h5py boolean enum or any integer type;
//!   `nsamples` as any float or integer type;
//! - gzip-, shuffle- and LZF-compressed datasets (bitshuffle, filter 32008, is not
//!   available and gives an error naming the filter);
//! - several spectral windows (`flex_spw_id_array`), any blt order, missing baselines or
//!   times, unprojected (drift-scan) data, several phase centres;
//! - linear, circular and pseudo-Stokes polarisation codes (AIPS memo 117).
//!
//! Values are those stored in the file: legacy phased files are not re-phased the way
//! pyuvdata's `fix_old_proj` does; they equal pyuvdata's reading with `fix_old_proj=False`.
//! What the file does not store is derived as pyuvdata derives it: `lst_array` from
//! `time_array` and the site, and the apparent coordinates of the phase centre (the
//! telescope's LAST and latitude for unprojected data; the observed place of the catalog
//! position otherwise).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use hdf5::{Dataset, H5Type};
use ndarray::{s, Array2, Array3, Ix1, Ix2, Ix3};
use num_complex::Complex64;

use super::super::h5::{open, Reader};
use super::super::IoError;
use crate::telescope::{limits, EarthOrientation, LatLonHeight, ObserverFrame, RaDec};

/// A polarisation product as UVH5 codes it (AIPS memo 117).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolProduct {
    /// Stokes I (1).
    I,
    /// Stokes Q (2).
    Q,
    /// Stokes U (3).
    U,
    /// Stokes V (4).
    V,
    /// RR (−1).
    RR,
    /// LL (−2).
    LL,
    /// RL (−3).
    RL,
    /// LR (−4).
    LR,
    /// XX (−5).
    XX,
    /// YY (−6).
    YY,
    /// XY (−7).
    XY,
    /// YX (−8).
    YX,
}

/// The library's linear products of `pols`, or the first product that is not linear.
pub fn linear_pols(pols: &[PolProduct]) -> Result<Vec<crate::vis::Pol>, PolProduct> {
    pols.iter()
        .map(|&p| crate::vis::Pol::from_aips_code(p.aips_code()).ok_or(p))
        .collect()
}

impl PolProduct {
    const CODES: [(i64, PolProduct, &'static str); 12] = [
        (1, PolProduct::I, "I"),
        (2, PolProduct::Q, "Q"),
        (3, PolProduct::U, "U"),
        (4, PolProduct::V, "V"),
        (-1, PolProduct::RR, "RR"),
        (-2, PolProduct::LL, "LL"),
        (-3, PolProduct::RL, "RL"),
        (-4, PolProduct::LR, "LR"),
        (-5, PolProduct::XX, "XX"),
        (-6, PolProduct::YY, "YY"),
        (-7, PolProduct::XY, "XY"),
        (-8, PolProduct::YX, "YX"),
    ];

    /// The product with AIPS code `code`, if it is one of the twelve.
    pub fn from_aips_code(code: i64) -> Option<PolProduct> {
        Self::CODES.iter().find(|c| c.0 == code).map(|c| c.1)
    }

    /// AIPS memo 117 code.
    pub fn aips_code(self) -> i64 {
        Self::CODES.iter().find(|c| c.1 == self).map_or(0, |c| c.0)
    }

    /// Name, e.g. `"RR"`.
    pub fn name(self) -> &'static str {
        Self::CODES
            .iter()
            .find(|c| c.1 == self)
            .map_or("?", |c| c.2)
    }
}

/// What a phase centre is (the `cat_type` of pyuvdata's catalog).
#[derive(Debug, Clone, PartialEq)]
pub enum CentreKind {
    /// A fixed position on the sky.
    Sidereal {
        /// Right ascension or longitude in `frame` (rad).
        lon_rad: f64,
        /// Declination or latitude in `frame` (rad).
        lat_rad: f64,
        /// Coordinate frame, e.g. `"icrs"` or `"fk5"`.
        frame: String,
        /// Epoch, when the frame has one (e.g. 2000.0 for FK5).
        epoch: Option<f64>,
    },
    /// Not phased: uvw are the east, north and up components of the baselines.
    Unprojected,
    /// Phased to a fixed azimuth and elevation (rad).
    Driftscan {
        /// Azimuth (rad).
        az_rad: f64,
        /// Elevation (rad).
        el_rad: f64,
    },
    /// A moving object; the file's apparent coordinates describe it.
    Ephem,
}

/// One entry of the phase-centre catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseCentre {
    /// Catalog id (the values of `phase_center_id_array`).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Kind and position.
    pub kind: CentreKind,
}

impl PhaseCentre {
    /// The ICRS position of a sidereal centre (FK5 J2000 is taken as ICRS, 20 mas apart).
    pub fn radec(&self) -> Option<RaDec> {
        match self.kind {
            CentreKind::Sidereal {
                lon_rad, lat_rad, ..
            } => Some(RaDec {
                ra_rad: lon_rad,
                dec_rad: lat_rad,
            }),
            _ => None,
        }
    }
}

/// How `visdata` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisStorage {
    /// `{r, i}` of float32 (h5py complex64).
    Complex64,
    /// `{r, i}` of float64 (h5py complex128).
    Complex128,
    /// `{r, i}` of integers of this many bytes (HERA's correlator writes 4).
    Integer(usize),
}

/// The header of a UVH5 file: everything but the per-baseline-time arrays and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Uvh5Header {
    /// `version`, absent in legacy files.
    pub version: Option<String>,
    /// Whether the file uses a pre-1.0 layout (rank-4 data, 2-D `freq_array`, scalar
    /// `channel_width` or `phase_type` instead of the catalog).
    pub legacy: bool,
    /// `telescope_name`.
    pub telescope_name: String,
    /// `instrument` (defaults to the telescope name).
    pub instrument: String,
    /// The telescope's location.
    pub site: LatLonHeight,
    /// `antenna_numbers`.
    pub antenna_numbers: Vec<i64>,
    /// `antenna_names`.
    pub antenna_names: Vec<String>,
    /// `antenna_positions`: ECEF offsets from the site (m).
    pub antenna_positions_m: Vec<[f64; 3]>,
    /// `antenna_diameters` (m), when the file has them.
    pub antenna_diameters_m: Option<Vec<f64>>,
    /// `Nblts`.
    pub n_blts: usize,
    /// `Nbls`.
    pub n_bls: usize,
    /// `Ntimes`.
    pub n_times: usize,
    /// `Nants_data`, when stored.
    pub n_ants_data: Option<usize>,
    /// Channel centres (Hz), all spectral windows in file order.
    pub freqs_hz: Vec<f64>,
    /// Channel widths (Hz).
    pub channel_width_hz: Vec<f64>,
    /// `spw_array`.
    pub spw_array: Vec<i64>,
    /// The spectral window of each channel.
    pub spw_of_channel: Vec<i64>,
    /// `polarization_array`.
    pub pols: Vec<PolProduct>,
    /// `vis_units` (`"uncalib"` when absent).
    pub vis_units: String,
    /// The phase-centre catalog (one entry for legacy files).
    pub phase_centres: Vec<PhaseCentre>,
    /// `history`.
    pub history: String,
    /// How `visdata` is stored.
    pub vis_storage: VisStorage,
    /// Whether the data are rank 4 (legacy `(Nblts, 1, Nfreqs, Npols)`).
    pub rank4: bool,
}

impl Uvh5Header {
    /// `Nfreqs`.
    pub fn n_freqs(&self) -> usize {
        self.freqs_hz.len()
    }
    /// `Npols`.
    pub fn n_pols(&self) -> usize {
        self.pols.len()
    }
    /// The catalog entry with id `id`.
    pub fn centre(&self, id: i64) -> Option<&PhaseCentre> {
        self.phase_centres.iter().find(|c| c.id == id)
    }
    /// Index of antenna number `number` in the antenna table.
    pub fn antenna_index(&self, number: i64) -> Option<usize> {
        self.antenna_numbers.iter().position(|&n| n == number)
    }
}

/// Per-baseline-time metadata of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct BltMeta {
    /// Antenna numbers (not indices) of the first antenna.
    pub ant_1: Vec<i64>,
    /// Antenna numbers of the second antenna.
    pub ant_2: Vec<i64>,
    /// Integration centres (JD UTC).
    pub time_jd: Vec<f64>,
    /// Integration times (s).
    pub integration_time_s: Vec<f64>,
    /// uvw (m), `[blt, 3]`, `pos(ant_2) − pos(ant_1)` projected as the file states.
    pub uvw_m: Array2<f64>,
    /// Local apparent sidereal time (rad): the file's, or computed from the time.
    pub lst_rad: Vec<f64>,
    /// Phase-centre id.
    pub phase_centre_id: Vec<i64>,
    /// Apparent RA of the phase centre (rad): the file's, or derived (module docs).
    pub app_ra_rad: Vec<f64>,
    /// Apparent Dec of the phase centre (rad).
    pub app_dec_rad: Vec<f64>,
    /// Frame position angle (rad).
    pub frame_pa_rad: Vec<f64>,
}

impl BltMeta {
    /// Rows in the block.
    pub fn len(&self) -> usize {
        self.ant_1.len()
    }
    /// Whether the block has no rows.
    pub fn is_empty(&self) -> bool {
        self.ant_1.is_empty()
    }
}

/// A block of baseline-times: metadata and samples `[blt, channel, pol]` of the channels
/// requested.
#[derive(Debug, Clone, PartialEq)]
pub struct Uvh5Block {
    /// The baseline-times read.
    pub blts: Range<usize>,
    /// The channels read.
    pub chans: Range<usize>,
    /// Per-blt metadata.
    pub meta: BltMeta,
    /// Visibilities, exactly as stored (when requested).
    pub vis: Option<Array3<Complex64>>,
    /// Flags.
    pub flags: Array3<bool>,
    /// Number of samples per visibility (pyuvdata's `nsample_array`).
    pub nsamples: Array3<f32>,
}

/// A UVH5 file opened for reading (module docs).
pub struct Uvh5Reader {
    path: String,
    file: hdf5::File,
    header: Uvh5Header,
    has_lst: bool,
    has_app: bool,
    has_ids: bool,
}

const VIS: &str = "Data/visdata";
const FLAGS: &str = "Data/flags";
const NSAMPLES: &str = "Data/nsamples";

/// Compound `{r, i}`, as UVH5 stores visibilities.
#[derive(H5Type, Clone, Copy, Default)]
#[repr(C)]
struct Ri<T: H5Type + Copy> {
    r: T,
    i: T,
}

impl Uvh5Reader {
    /// Open `path` and read and check its header (module docs).
    pub fn open(path: &Path) -> Result<Self, IoError> {
        let p = path.display().to_string();
        let r = Reader {
            path: &p,
            file: open(path)?,
        };
        if r.file.group("Header").is_err() {
            return Err(r.unsupported(
                "not a UVH5 file: no /Header group (is it an fxgrid voltage or spectra file?)"
                    .into(),
            ));
        }
        let header = read_header(&r)?;
        let has_lst = r.file.dataset("Header/lst_array").is_ok();
        let has_app = ["app_ra", "app_dec", "frame_pa"]
            .iter()
            .all(|n| r.file.dataset(&format!("Header/phase_center_{n}")).is_ok());
        let has_ids = r.file.dataset("Header/phase_center_id_array").is_ok();
        let me = Self {
            path: p.clone(),
            file: r.file,
            header,
            has_lst,
            has_app,
            has_ids,
        };
        me.check_per_blt_shapes()?;
        Ok(me)
    }

    fn reader(&self) -> Reader<'_> {
        Reader {
            path: &self.path,
            file: self.file.clone(),
        }
    }

    /// The header.
    pub fn header(&self) -> &Uvh5Header {
        &self.header
    }

    /// The file name.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Consecutive blt ranges of at most `max_samples` samples (blt × channel × pol)
    /// each, at least one blt each, covering the file.
    pub fn blocks(&self, n_chans: usize, max_samples: usize) -> Vec<Range<usize>> {
        let per_blt = (n_chans * self.header.n_pols()).max(1);
        let step = (max_samples / per_blt).max(1);
        (0..self.header.n_blts)
            .step_by(step)
            .map(|a| a..(a + step).min(self.header.n_blts))
            .collect()
    }

    fn check_per_blt_shapes(&self) -> Result<(), IoError> {
        let r = self.reader();
        let n = self.header.n_blts;
        let mut names = vec![
            "ant_1_array",
            "ant_2_array",
            "time_array",
            "integration_time",
        ];
        if self.has_lst {
            names.push("lst_array");
        }
        if self.has_ids {
            names.push("phase_center_id_array");
        }
        if self.has_app {
            names.extend([
                "phase_center_app_ra",
                "phase_center_app_dec",
                "phase_center_frame_pa",
            ]);
        }
        for name in names {
            let full = format!("Header/{name}");
            let ds = r.ds(&full)?;
            if ds.shape() != [n] {
                return Err(r.shape_err(&full, &format!("shape [{n}] (Nblts)"), &ds.shape()));
            }
            check_stored(&r, &full, &ds)?;
        }
        let ds = r.ds("Header/uvw_array")?;
        if ds.shape() != [n, 3] {
            return Err(r.shape_err("Header/uvw_array", &format!("shape [{n}, 3]"), &ds.shape()));
        }
        check_stored(&r, "Header/uvw_array", &ds)?;
        Ok(())
    }

    /// Checks `Nbls`, `Ntimes` and `Nants_data` against the distinct baselines, times and
    /// antennas of the per-baseline-time arrays (streamed in blocks).
    pub fn check_counts(&self) -> Result<(), IoError> {
        let r = self.reader();
        let h = &self.header;
        let mut bls = std::collections::HashSet::new();
        let mut times = std::collections::HashSet::new();
        let mut ants = std::collections::HashSet::new();
        let step = 1 << 20;
        for a in (0..h.n_blts).step_by(step) {
            let b = (a + step).min(h.n_blts);
            let read = |name: &str| -> Result<Vec<i64>, IoError> {
                let full = format!("Header/{name}");
                Ok(r.h5(
                    &format!("reading {full}"),
                    r.ds(&full)?.read_slice::<i64, _, Ix1>(s![a..b]),
                )?
                .to_vec())
            };
            let (a1, a2) = (read("ant_1_array")?, read("ant_2_array")?);
            self.check_antennas(&a1, &a2, a)?;
            for (&p, &q) in a1.iter().zip(&a2) {
                bls.insert((p, q));
                ants.insert(p);
                ants.insert(q);
            }
            for t in self.read_times(a..b)? {
                times.insert(t.to_bits());
            }
        }
        let mut wrong = Vec::new();
        if bls.len() != h.n_bls {
            wrong.push(format!(
                "Nbls = {} but the data have {} baselines",
                h.n_bls,
                bls.len()
            ));
        }
        if times.len() != h.n_times {
            wrong.push(format!(
                "Ntimes = {} but the data have {} times",
                h.n_times,
                times.len()
            ));
        }
        if let Some(n) = h.n_ants_data.filter(|&n| n != ants.len()) {
            wrong.push(format!(
                "Nants_data = {n} but the data have {} antennas",
                ants.len()
            ));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(r.unsupported(format!("inconsistent header counts: {}", wrong.join("; "))))
        }
    }

    /// Every antenna number of baseline-times `first..` is in the antenna table.
    fn check_antennas(&self, ant_1: &[i64], ant_2: &[i64], first: usize) -> Result<(), IoError> {
        for (k, (&a, &b)) in ant_1.iter().zip(ant_2).enumerate() {
            for x in [a, b] {
                if self.header.antenna_index(x).is_none() {
                    return Err(IoError::Dataset {
                        path: self.path.clone(),
                        dataset: "Header/ant_1_array, ant_2_array".into(),
                        expected: "antenna numbers listed in Header/antenna_numbers".into(),
                        found: format!("antenna {x} at baseline-time {}", first + k),
                    });
                }
            }
        }
        Ok(())
    }

    /// `time_array` over `blts` (JD UTC).
    pub fn read_times(&self, blts: Range<usize>) -> Result<Vec<f64>, IoError> {
        let r = self.reader();
        if blts.start > blts.end || blts.end > self.header.n_blts {
            return Err(r.unsupported(format!(
                "baseline-times {}..{} requested; the file has {}",
                blts.start, blts.end, self.header.n_blts
            )));
        }
        let ds = r.ds("Header/time_array")?;
        let first = blts.start;
        let times = r
            .h5(
                "reading Header/time_array",
                ds.read_slice::<f64, _, Ix1>(s![blts]),
            )?
            .to_vec();
        self.check_times(&times, first)?;
        Ok(times)
    }

    /// Every time of baseline-times `first..` is a Julian date in the supported range.
    fn check_times(&self, time_jd: &[f64], first: usize) -> Result<(), IoError> {
        let supported = |jd: f64| {
            crate::telescope::time::tai_minus_utc_s(jd - crate::telescope::time::MJD_OFFSET).is_ok()
        };
        match time_jd.iter().position(|&t| !supported(t)) {
            None => Ok(()),
            Some(k) => Err(IoError::Dataset {
                path: self.path.clone(),
                dataset: "Header/time_array".into(),
                expected: "Julian dates from 1972 to 2100".into(),
                found: format!("{} at baseline-time {}", time_jd[k], first + k),
            }),
        }
    }

    /// Per-blt metadata of `blts`.
    pub fn read_meta(&self, blts: Range<usize>) -> Result<BltMeta, IoError> {
        let r = self.reader();
        let h = &self.header;
        if blts.start > blts.end || blts.end > h.n_blts {
            return Err(r.unsupported(format!(
                "baseline-times {}..{} requested; the file has {}",
                blts.start, blts.end, h.n_blts
            )));
        }
        let n = blts.len();
        let v1 = |name: &str| -> Result<Vec<f64>, IoError> {
            let full = format!("Header/{name}");
            let ds = r.ds(&full)?;
            Ok(r.h5(
                &format!("reading {full}"),
                ds.read_slice::<f64, _, Ix1>(s![blts.clone()]),
            )?
            .to_vec())
        };
        let i1 = |name: &str| -> Result<Vec<i64>, IoError> {
            let full = format!("Header/{name}");
            let ds = r.ds(&full)?;
            Ok(r.h5(
                &format!("reading {full}"),
                ds.read_slice::<i64, _, Ix1>(s![blts.clone()]),
            )?
            .to_vec())
        };
        let ant_1 = i1("ant_1_array")?;
        let ant_2 = i1("ant_2_array")?;
        self.check_antennas(&ant_1, &ant_2, blts.start)?;
        let time_jd = v1("time_array")?;
        self.check_times(&time_jd, blts.start)?;
        let integration_time_s = v1("integration_time")?;
        if let Some(k) = integration_time_s
            .iter()
            .position(|&t| !limits::within(t, 0.0, limits::MAX_INT_TIME_S))
        {
            return Err(IoError::Dataset {
                path: self.path.clone(),
                dataset: "Header/integration_time".into(),
                expected: "durations from 0 to 1e6 s".into(),
                found: format!(
                    "{} at baseline-time {}",
                    integration_time_s[k],
                    blts.start + k
                ),
            });
        }
        let uvw_m = r.h5(
            "reading Header/uvw_array",
            r.ds("Header/uvw_array")?
                .read_slice::<f64, _, Ix2>(s![blts.clone(), ..]),
        )?;
        let max = limits::MAX_UVW_M;
        if let Some(k) = uvw_m.iter().position(|&x| !limits::within(x, -max, max)) {
            return Err(IoError::Dataset {
                path: self.path.clone(),
                dataset: "Header/uvw_array".into(),
                expected: format!("finite values within ±{max:e} m"),
                found: format!(
                    "{} at baseline-time {}",
                    uvw_m.as_slice().map_or(f64::NAN, |s| s[k]),
                    blts.start + k / 3
                ),
            });
        }
        // Earth orientation once per distinct time in the block.
        let mut frames: HashMap<u64, ObserverFrame> = HashMap::new();
        let mut frame = |jd: f64| -> Result<ObserverFrame, IoError> {
            if let Some(f) = frames.get(&jd.to_bits()) {
                return Ok(*f);
            }
            let e = EarthOrientation::new(jd).map_err(|e| IoError::Content {
                path: r.path.to_string(),
                what: format!("Earth orientation at JD {jd}"),
                source: Box::new(e),
            })?;
            let f = ObserverFrame::new(e, h.site);
            frames.insert(jd.to_bits(), f);
            Ok(f)
        };
        let lst_rad = if self.has_lst {
            v1("lst_array")?
        } else {
            time_jd
                .iter()
                .map(|&t| frame(t).map(|f| f.last_rad))
                .collect::<Result<_, _>>()?
        };
        let phase_centre_id = if self.has_ids {
            i1("phase_center_id_array")?
        } else {
            vec![h.phase_centres[0].id; n]
        };
        if let Some(k) = phase_centre_id.iter().position(|&i| h.centre(i).is_none()) {
            return Err(IoError::Dataset {
                path: self.path.clone(),
                dataset: "Header/phase_center_id_array".into(),
                expected: "ids of the phase_center_catalog".into(),
                found: format!("{} at baseline-time {}", phase_centre_id[k], blts.start + k),
            });
        }
        let (app_ra_rad, app_dec_rad, frame_pa_rad) = if self.has_app {
            (
                v1("phase_center_app_ra")?,
                v1("phase_center_app_dec")?,
                v1("phase_center_frame_pa")?,
            )
        } else {
            let mut ra = Vec::with_capacity(n);
            let mut dec = Vec::with_capacity(n);
            let mut pa = Vec::with_capacity(n);
            for k in 0..n {
                let c = h.centre(phase_centre_id[k]).expect("checked above");
                let f = frame(time_jd[k])?;
                let (a, d, p) = apparent_centre(&f, c).ok_or_else(|| {
                    r.unsupported(format!(
                        "phase centre {} ({}) has no stored apparent coordinates and its kind cannot be converted",
                        c.id, c.name
                    ))
                })?;
                ra.push(a);
                dec.push(d);
                pa.push(p);
            }
            (ra, dec, pa)
        };
        Ok(BltMeta {
            ant_1,
            ant_2,
            time_jd,
            integration_time_s,
            uvw_m,
            lst_rad,
            phase_centre_id,
            app_ra_rad,
            app_dec_rad,
            frame_pa_rad,
        })
    }

    /// Metadata and samples of baseline-times `blts` and channels `chans`; the
    /// visibilities only when `with_vis` (flags and nsamples always).
    pub fn read_block(
        &self,
        blts: Range<usize>,
        chans: Range<usize>,
        with_vis: bool,
    ) -> Result<Uvh5Block, IoError> {
        let h = &self.header;
        if chans.is_empty() || chans.end > h.n_freqs() {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "channels {}..{} requested; the file has {}",
                    chans.start,
                    chans.end,
                    h.n_freqs()
                ),
            });
        }
        let meta = self.read_meta(blts.clone())?;
        let r = self.reader();
        // Read in the stored type (HDF5's own compound conversion is several times slower
        // than converting here), then widen exactly.
        let vis = if !with_vis {
            None
        } else {
            Some(match h.vis_storage {
                VisStorage::Complex64 => self
                    .read_samples::<Ri<f32>>(&r, VIS, &blts, &chans)?
                    .mapv(|z| Complex64::new(z.r as f64, z.i as f64)),
                VisStorage::Integer(4) => self
                    .read_samples::<Ri<i32>>(&r, VIS, &blts, &chans)?
                    .mapv(|z| Complex64::new(z.r as f64, z.i as f64)),
                VisStorage::Complex128 | VisStorage::Integer(_) => self
                    .read_samples::<Ri<f64>>(&r, VIS, &blts, &chans)?
                    .mapv(|z| Complex64::new(z.r, z.i)),
            })
        };
        let flags = match self.sample_kind(&r, FLAGS)? {
            TypeDescriptor::Boolean => self.read_samples::<bool>(&r, FLAGS, &blts, &chans)?,
            _ => self
                .read_samples::<i64>(&r, FLAGS, &blts, &chans)?
                .mapv(|x| x != 0),
        };
        let nsamples = self.read_samples::<f32>(&r, NSAMPLES, &blts, &chans)?;
        Ok(Uvh5Block {
            blts,
            chans,
            meta,
            vis,
            flags,
            nsamples,
        })
    }

    fn sample_kind(&self, r: &Reader<'_>, name: &str) -> Result<TypeDescriptor, IoError> {
        r.h5(
            &format!("reading the type of {name}"),
            r.ds(name)?.dtype().and_then(|t| t.to_descriptor()),
        )
    }

    fn read_samples<T: H5Type>(
        &self,
        r: &Reader<'_>,
        name: &str,
        blts: &Range<usize>,
        chans: &Range<usize>,
    ) -> Result<Array3<T>, IoError> {
        let ds = r.ds(name)?;
        let what = format!(
            "reading {name} (baseline-times {}..{})",
            blts.start, blts.end
        );
        let res = if self.header.rank4 {
            ds.read_slice::<T, _, Ix3>(s![blts.clone(), 0, chans.clone(), ..])
        } else {
            ds.read_slice::<T, _, Ix3>(s![blts.clone(), chans.clone(), ..])
        };
        res.map_err(|e| explain_read_error(r, &ds, &what, e))
    }
}

/// Apparent RA, Dec and frame position angle of centre `c` seen from `f` (module docs).
fn apparent_centre(f: &ObserverFrame, c: &PhaseCentre) -> Option<(f64, f64, f64)> {
    match &c.kind {
        CentreKind::Unprojected => Some((f.last_rad, f.site.lat_rad, 0.0)),
        CentreKind::Sidereal { .. } => {
            let p = c.radec()?;
            let o = f.observed(p);
            Some((o.app_ra_rad, o.dec_rad, f.frame_pa_rad(p)))
        }
        CentreKind::Driftscan { az_rad, el_rad } => {
            // Horizon → (HA, Dec) at the site's geodetic latitude.
            let (sa, ca) = az_rad.sin_cos();
            let (se, ce) = el_rad.sin_cos();
            let (sp, cp) = f.site.lat_rad.sin_cos();
            let dec = (se * sp + ce * cp * ca).clamp(-1.0, 1.0).asin();
            let ha = (-ce * sa).atan2(se * cp - ce * sp * ca);
            Some((
                crate::telescope::coords::wrap_tau(f.last_rad - ha),
                dec,
                0.0,
            ))
        }
        CentreKind::Ephem => None,
    }
}

/// An HDF5 read error, with the cause named when it is a missing filter.
fn explain_read_error(r: &Reader<'_>, ds: &Dataset, what: &str, e: hdf5::Error) -> IoError {
    let missing: Vec<String> = ds
        .filters()
        .iter()
        .filter_map(|f| match f {
            hdf5::filters::Filter::User(id, _) if !matches!(*id, 32000) => Some(format!(
                "filter {id}{}",
                if *id == 32008 { " (bitshuffle)" } else { "" }
            )),
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        r.h5(what, Err::<(), _>(e)).unwrap_err()
    } else {
        IoError::Format {
            path: r.path.to_string(),
            reason: format!(
                "{what}: the dataset is compressed with {}, which fxgrid cannot decode ({e}); \
                 rewrite it with gzip or LZF, e.g. h5repack -f GZIP=4",
                missing.join(", ")
            ),
        }
    }
}

fn read_header(r: &Reader<'_>) -> Result<Uvh5Header, IoError> {
    let opt_string = |name: &str| -> Result<Option<String>, IoError> {
        if r.file.dataset(name).is_ok() {
            r.string(name).map(Some)
        } else {
            Ok(None)
        }
    };
    let version = opt_string("Header/version")?;
    let n_blts = r.int("Header/Nblts")?;
    let n_bls = r.int("Header/Nbls")?;
    let n_times = r.int("Header/Ntimes")?;
    let n_freqs = r.int("Header/Nfreqs")?;
    let n_pols = r.int("Header/Npols")?;
    let n_spws = r.int("Header/Nspws")?;
    let n_ants = r.int("Header/Nants_telescope")?;
    let n_ants_data = if r.file.dataset("Header/Nants_data").is_ok() {
        Some(r.int("Header/Nants_data")?)
    } else {
        None
    };
    for (name, v) in [
        ("Nblts", n_blts),
        ("Nfreqs", n_freqs),
        ("Npols", n_pols),
        ("Nspws", n_spws),
        ("Nants_telescope", n_ants),
    ] {
        if v == 0 {
            return Err(IoError::Dataset {
                path: r.path.to_string(),
                dataset: format!("Header/{name}"),
                expected: "at least 1".into(),
                found: "0".into(),
            });
        }
    }
    if n_bls > n_blts || n_times > n_blts {
        return Err(r.unsupported(format!(
            "inconsistent counts: Nbls = {n_bls} and Ntimes = {n_times} cannot exceed Nblts = {n_blts}"
        )));
    }
    let telescope_name = r.string("Header/telescope_name")?;
    let instrument = opt_string("Header/instrument")?.unwrap_or_else(|| telescope_name.clone());
    let site = LatLonHeight::from_degrees(
        r.scalar("Header/latitude")?,
        r.scalar("Header/longitude")?,
        r.scalar("Header/altitude")?,
    );
    let (h_lo, h_hi) = limits::SITE_HEIGHT_RANGE_M;
    if !(site.lat_rad.abs() <= std::f64::consts::FRAC_PI_2
        && limits::within(site.lon_rad, -limits::MAX_RA_RAD, limits::MAX_RA_RAD)
        && limits::within(site.height_m, h_lo, h_hi))
    {
        return Err(r.unsupported(format!(
            "Header/latitude, longitude, altitude: not a place on Earth ({}°, {}°, {} m)",
            site.lat_rad.to_degrees(),
            site.lon_rad.to_degrees(),
            site.height_m
        )));
    }
    let antenna_numbers: Vec<i64> = r.vec("Header/antenna_numbers", n_ants)?;
    let antenna_names = r.strings("Header/antenna_names")?;
    if antenna_names.len() != n_ants {
        return Err(r.shape_err(
            "Header/antenna_names",
            &format!("shape [{n_ants}] (Nants_telescope)"),
            &[antenna_names.len()],
        ));
    }
    let pos = r.mat::<f64>("Header/antenna_positions", n_ants, 3)?;
    let max = limits::MAX_ANTENNA_OFFSET_M;
    if let Some(x) = pos.iter().find(|&&x| !limits::within(x, -max, max)) {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: "Header/antenna_positions".into(),
            expected: format!("finite offsets within ±{max:e} m of the array centre"),
            found: x.to_string(),
        });
    }
    let antenna_positions_m = pos.outer_iter().map(|p| [p[0], p[1], p[2]]).collect();
    let antenna_diameters_m = if r.file.dataset("Header/antenna_diameters").is_ok() {
        Some(r.vec::<f64>("Header/antenna_diameters", n_ants)?)
    } else {
        None
    };

    // Frequencies: rank 1, or legacy (1, Nfreqs).
    let mut legacy = version.is_none();
    let freqs_hz = read_per_channel(r, "Header/freq_array", n_freqs, &mut legacy, false)?;
    let fmax = limits::MAX_FREQ_HZ;
    if let Some(k) = freqs_hz.iter().position(|&f| !(f > 0.0 && f <= fmax)) {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: "Header/freq_array".into(),
            expected: "positive frequencies up to 1e13 Hz".into(),
            found: format!("{} at channel {k}", freqs_hz[k]),
        });
    }
    let channel_width_hz = read_per_channel(r, "Header/channel_width", n_freqs, &mut legacy, true)?;
    if let Some(k) = channel_width_hz
        .iter()
        .position(|&w| !(w != 0.0 && w.abs() <= fmax))
    {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: "Header/channel_width".into(),
            expected: "non-zero widths up to 1e13 Hz".into(),
            found: format!("{} at channel {k}", channel_width_hz[k]),
        });
    }
    let spw_array: Vec<i64> = if n_spws == 1 && r.file.dataset("Header/spw_array").is_err() {
        vec![0]
    } else {
        r.vec("Header/spw_array", n_spws)?
    };
    let spw_of_channel = if r.file.dataset("Header/flex_spw_id_array").is_ok() {
        let v: Vec<i64> = r.vec("Header/flex_spw_id_array", n_freqs)?;
        if let Some(k) = v.iter().position(|s| !spw_array.contains(s)) {
            return Err(IoError::Dataset {
                path: r.path.to_string(),
                dataset: "Header/flex_spw_id_array".into(),
                expected: format!("values of spw_array {spw_array:?}"),
                found: format!("{} at channel {k}", v[k]),
            });
        }
        v
    } else if n_spws == 1 {
        vec![spw_array[0]; n_freqs]
    } else {
        return Err(r.unsupported(format!(
            "Nspws = {n_spws} but Header/flex_spw_id_array, which assigns channels to windows, is missing"
        )));
    };
    let codes: Vec<i64> = r.vec("Header/polarization_array", n_pols)?;
    let pols = codes
        .iter()
        .map(|&c| {
            PolProduct::from_aips_code(c).ok_or_else(|| IoError::Dataset {
                path: r.path.to_string(),
                dataset: "Header/polarization_array".into(),
                expected:
                    "AIPS memo 117 codes: 1..4 (IQUV), -1..-4 (RR LL RL LR), -5..-8 (XX YY XY YX)"
                        .into(),
                found: format!("{codes:?}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vis_units = opt_string("Header/vis_units")?.unwrap_or_else(|| "uncalib".into());
    let history = opt_string("Header/history")?.unwrap_or_default();
    let phase_centres = read_phase_centres(r, &mut legacy)?;

    // The three data sets.
    let (vis_storage, rank4) = check_data(r, n_blts, n_freqs, n_pols)?;
    legacy |= rank4;
    Ok(Uvh5Header {
        version,
        legacy,
        telescope_name,
        instrument,
        site,
        antenna_numbers,
        antenna_names,
        antenna_positions_m,
        antenna_diameters_m,
        n_blts,
        n_bls,
        n_times,
        n_ants_data,
        freqs_hz,
        channel_width_hz,
        spw_array,
        spw_of_channel,
        pols,
        vis_units,
        phase_centres,
        history,
        vis_storage,
        rank4,
    })
}

/// A per-channel array of shape `(Nfreqs,)`, or legacy `(1, Nfreqs)`, or (when
/// `scalar_ok`) a legacy scalar applying to every channel.
fn read_per_channel(
    r: &Reader<'_>,
    name: &str,
    n: usize,
    legacy: &mut bool,
    scalar_ok: bool,
) -> Result<Vec<f64>, IoError> {
    let ds = r.ds(name)?;
    let shape = ds.shape();
    let read = |ds: &Dataset| -> Result<Vec<f64>, IoError> {
        r.h5(&format!("reading {name}"), ds.read_raw::<f64>())
    };
    match shape.as_slice() {
        [m] if *m == n => read(&ds),
        [1, m] if *m == n => {
            *legacy = true;
            read(&ds)
        }
        [] if scalar_ok => {
            *legacy = true;
            Ok(vec![r.scalar::<f64>(name)?; n])
        }
        _ => Err(r.shape_err(
            name,
            &format!(
                "shape [{n}] (Nfreqs), or legacy [1, {n}]{}",
                if scalar_ok { " or a scalar" } else { "" }
            ),
            &shape,
        )),
    }
}

fn read_phase_centres(r: &Reader<'_>, legacy: &mut bool) -> Result<Vec<PhaseCentre>, IoError> {
    if let Ok(cat) = r.file.group("Header/phase_center_catalog") {
        let mut out = Vec::new();
        for g in r.h5("listing phase_center_catalog", cat.groups())? {
            let key = g.name().rsplit('/').next().unwrap_or_default().to_string();
            let id: i64 = key.parse().map_err(|_| {
                r.unsupported(format!(
                    "Header/phase_center_catalog/{key}: catalog keys must be integers"
                ))
            })?;
            let base = format!("Header/phase_center_catalog/{key}");
            let name = r.string(&format!("{base}/cat_name"))?;
            let kind = r.string(&format!("{base}/cat_type"))?;
            let num = |n: &str| r.scalar::<f64>(&format!("{base}/{n}"));
            let kind = match kind.as_str() {
                "sidereal" => CentreKind::Sidereal {
                    lon_rad: num("cat_lon")?,
                    lat_rad: num("cat_lat")?,
                    frame: r
                        .string(&format!("{base}/cat_frame"))
                        .unwrap_or_else(|_| "icrs".into()),
                    epoch: num("cat_epoch").ok(),
                },
                "unprojected" => CentreKind::Unprojected,
                "driftscan" => CentreKind::Driftscan {
                    az_rad: num("cat_lon")?,
                    el_rad: num("cat_lat")?,
                },
                "ephem" => CentreKind::Ephem,
                other => {
                    return Err(IoError::Dataset {
                        path: r.path.to_string(),
                        dataset: format!("{base}/cat_type"),
                        expected: "sidereal, ephem, driftscan or unprojected".into(),
                        found: other.into(),
                    })
                }
            };
            out.push(PhaseCentre { id, name, kind });
        }
        if out.is_empty() {
            return Err(r.unsupported("Header/phase_center_catalog is empty".into()));
        }
        out.sort_by_key(|c| c.id);
        return Ok(out);
    }
    // Legacy: phase_type with phase_center_ra/dec.
    *legacy = true;
    let phase_type = r.string("Header/phase_type").map_err(|_| {
        r.unsupported(
            "neither Header/phase_center_catalog nor the legacy Header/phase_type is present: \
             the phasing of the data is unknown"
                .into(),
        )
    })?;
    let name = r
        .string("Header/object_name")
        .unwrap_or_else(|_| "unknown".into());
    let kind = match phase_type.as_str() {
        "drift" => CentreKind::Unprojected,
        "phased" => CentreKind::Sidereal {
            lon_rad: r.scalar("Header/phase_center_ra")?,
            lat_rad: r.scalar("Header/phase_center_dec")?,
            frame: r
                .string("Header/phase_center_frame")
                .unwrap_or_else(|_| "fk5".into()),
            epoch: r.scalar("Header/phase_center_epoch").ok(),
        },
        other => {
            return Err(IoError::Dataset {
                path: r.path.to_string(),
                dataset: "Header/phase_type".into(),
                expected: "\"drift\" or \"phased\"".into(),
                found: format!("{other:?}"),
            })
        }
    };
    Ok(vec![PhaseCentre { id: 0, name, kind }])
}

/// Checks the type and shape of the three `/Data` sets: `(storage, rank4)`.
/// An uncompressed dataset must hold the bytes its shape declares: HDF5 reads chunks never
/// written as fill values, so a small file declaring billions of rows would otherwise be
/// read for minutes as zeros.
fn check_stored(r: &Reader<'_>, name: &str, ds: &hdf5::Dataset) -> Result<(), IoError> {
    if !ds.filters().is_empty() {
        return Ok(());
    }
    let size = ds.dtype().map(|t| t.size()).unwrap_or(1) as u64;
    let declared = ds.shape().iter().map(|&n| n as u64).product::<u64>() * size;
    let stored = ds.storage_size();
    if stored < declared {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: name.into(),
            expected: format!("the {declared} bytes its shape {:?} declares", ds.shape()),
            found: format!("{stored} bytes stored: the file is incomplete"),
        });
    }
    Ok(())
}

fn check_data(
    r: &Reader<'_>,
    n_blts: usize,
    n_freqs: usize,
    n_pols: usize,
) -> Result<(VisStorage, bool), IoError> {
    let ds = r.ds(VIS)?;
    let shape = ds.shape();
    let rank4 = match shape.as_slice() {
        [a, b, c] if [*a, *b, *c] == [n_blts, n_freqs, n_pols] => false,
        [a, 1, c, d] if [*a, *c, *d] == [n_blts, n_freqs, n_pols] => true,
        _ => {
            return Err(r.shape_err(
                VIS,
                &format!(
                    "shape [{n_blts}, {n_freqs}, {n_pols}] (Nblts, Nfreqs, Npols), or legacy [{n_blts}, 1, {n_freqs}, {n_pols}]"
                ),
                &shape,
            ))
        }
    };
    check_stored(r, VIS, &ds)?;
    for name in [FLAGS, NSAMPLES] {
        let d = r.ds(name)?;
        if d.shape() != shape {
            return Err(r.shape_err(
                name,
                &format!("shape {shape:?} (as Data/visdata)"),
                &d.shape(),
            ));
        }
        check_stored(r, name, &d)?;
    }
    let td = r.h5(
        "reading the type of Data/visdata",
        ds.dtype().and_then(|t| t.to_descriptor()),
    )?;
    let bad = |found: String| IoError::Dataset {
        path: r.path.to_string(),
        dataset: VIS.into(),
        expected: "a compound {r, i} of floats or integers".into(),
        found,
    };
    let storage = match &td {
        TypeDescriptor::Compound(c) => {
            let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
            if names != ["r", "i"] {
                return Err(bad(format!("a compound with fields {names:?}")));
            }
            match (&c.fields[0].ty, &c.fields[1].ty) {
                (TypeDescriptor::Float(FloatSize::U4), TypeDescriptor::Float(FloatSize::U4)) => {
                    VisStorage::Complex64
                }
                (TypeDescriptor::Float(FloatSize::U8), TypeDescriptor::Float(FloatSize::U8)) => {
                    VisStorage::Complex128
                }
                (TypeDescriptor::Integer(a), TypeDescriptor::Integer(b)) if a == b => {
                    VisStorage::Integer(int_bytes(*a))
                }
                (a, b) => return Err(bad(format!("fields of type {a} and {b}"))),
            }
        }
        other => return Err(bad(format!("{other}"))),
    };
    let ft = r.h5(
        "reading the type of Data/flags",
        r.ds(FLAGS)?.dtype().and_then(|t| t.to_descriptor()),
    )?;
    if !matches!(
        ft,
        TypeDescriptor::Boolean | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
    ) {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: FLAGS.into(),
            expected: "booleans (the h5py enum) or integers".into(),
            found: format!("{ft}"),
        });
    }
    let nt = r.h5(
        "reading the type of Data/nsamples",
        r.ds(NSAMPLES)?.dtype().and_then(|t| t.to_descriptor()),
    )?;
    if !matches!(
        nt,
        TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)
    ) {
        return Err(IoError::Dataset {
            path: r.path.to_string(),
            dataset: NSAMPLES.into(),
            expected: "floats".into(),
            found: format!("{nt}"),
        });
    }
    Ok((storage, rank4))
}

fn int_bytes(s: IntSize) -> usize {
    match s {
        IntSize::U1 => 1,
        IntSize::U2 => 2,
        IntSize::U4 => 4,
        IntSize::U8 => 8,
    }
}
