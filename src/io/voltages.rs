//! fxgrid's HDF5 layouts for antenna voltages and channelised spectra, read
//! and written in blocks so any length streams in bounded memory.
//!
//! # Layout
//! `/Header` (UVH5 names where UVH5 has the quantity):
//! - `telescope_name`, `latitude`, `longitude` (deg), `altitude` (m), `antenna_names`,
//!   `antenna_numbers`, `antenna_positions` (ECEF minus array centre, m, `[n_ant, 3]`);
//! - `phase_center_ra`, `phase_center_dec` (rad, ICRS): the direction the data are
//!   delay-tracked to;
//! - `start_time`: JD (UTC) of sample 0 (voltages) or of spectrum 0 (spectra: the centre of
//!   its filter window, sample `(N·T − 1)/2` of the voltage stream);
//! - `sample_rate_hz`, `centre_freq_hz` (sky frequency of baseband 0 Hz), `sampling`
//!   (`"complex"` or `"real"`);
//! - fxgrid additions: `voltage_scale` (√Jy per stored unit: physical value = stored ×
//!   scale; 1 for float32), `fxgrid_version`, `history` (the configuration and command).
//!
//! Spectra add `freq_array` (Hz, sky frequency of each channel centre), `channel_width_hz`,
//! `spectrum_rate_hz`, `pfb_n_taps`, `pfb_window` (e.g. `"kaiser:9"`, or `"user"`),
//! `pfb_oversampling` (`[P, Q]`), and fxgrid's `pfb_noise_gain` (`Σ h²`, the channel's power
//! gain for white noise, which puts correlator output in Jy).
//!
//! `/Data/voltages`: `[n_samples, n_ant, 2]` (pol X, Y) of compound `{r, i}` of int8, int16
//! or float32 (complex sampling) or plain int8/int16/float32 (real sampling).
//! `/Data/spectra`: `[n_spectra, n_chan, n_ant, 2]` of compound `{r, i}` of float32, in
//! √Jy (voltage scale applied). Both are chunked along the first axis.

use std::path::{Path, PathBuf};

use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use hdf5::{Dataset, File, H5Type, Hyperslab, Selection, SliceOrIndex};
use ndarray::{s, Array1, Array2};
use num_complex::{Complex, Complex32};

use super::h5::{enu_from_ecef_offsets, open, Ctx, Reader};
use super::{temporary_path, IoError, Pending};
use crate::channelise::{Sample, Sampling, Window};
use crate::telescope::{limits, ArrayLayout, LatLonHeight, RaDec};

/// Bytes of samples per streamed block (input side), at most.
pub(crate) const BLOCK_BYTES: usize = 32 << 20;

/// Scalar type of stored samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// 8-bit integers.
    Int8,
    /// 16-bit integers.
    Int16,
    /// 32-bit floats.
    Float32,
}

impl SampleKind {
    /// From a bit count (8, 16 or 32).
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            8 => Some(Self::Int8),
            16 => Some(Self::Int16),
            32 => Some(Self::Float32),
            _ => None,
        }
    }
    /// Bytes per scalar.
    pub fn bytes(self) -> usize {
        match self {
            Self::Int8 => 1,
            Self::Int16 => 2,
            Self::Float32 => 4,
        }
    }
    /// `"int8"`, `"int16"` or `"float32"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Float32 => "float32",
        }
    }
}

/// A sample type that can be stored in a voltage file.
pub trait FileSample: Sample + H5Type + Default + Clone {
    /// Its scalar type.
    const KIND: SampleKind;
}

macro_rules! file_sample {
    ($t:ty, $k:expr) => {
        impl FileSample for Complex<$t> {
            const KIND: SampleKind = $k;
        }
        impl FileSample for $t {
            const KIND: SampleKind = $k;
        }
    };
}
file_sample!(i8, SampleKind::Int8);
file_sample!(i16, SampleKind::Int16);
file_sample!(f32, SampleKind::Float32);

/// The header shared by voltage and spectra files (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamHeader {
    /// Antennas and site.
    pub layout: ArrayLayout,
    /// Delay-tracking centre (ICRS).
    pub phase_centre: RaDec,
    /// JD (UTC) of sample 0 (voltages) or of spectrum 0 (spectra).
    pub start_jd_utc: f64,
    /// Voltage sample rate (Hz).
    pub sample_rate_hz: f64,
    /// Sky frequency of baseband 0 Hz.
    pub centre_freq_hz: f64,
    /// Complex or real samples.
    pub sampling: Sampling,
    /// √Jy per stored unit.
    pub voltage_scale: f64,
    /// Provenance.
    pub history: String,
}

/// What a spectra file adds to the header.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectraInfo {
    /// Sky frequency of each channel (Hz).
    pub freqs_hz: Vec<f64>,
    /// Channel spacing (Hz).
    pub channel_width_hz: f64,
    /// Spectra per second.
    pub spectrum_rate_hz: f64,
    /// Taps per channel.
    pub n_taps: usize,
    /// Window description.
    pub window: String,
    /// Oversampling `(P, Q)`.
    pub oversampling: (usize, usize),
    /// `Σ h²` of the prototype: the power gain of a channel for white noise (`None` if the
    /// writer did not record it). Correlator sums divided by `n · Σh²` are in Jy.
    pub noise_gain: Option<f64>,
}

fn write_header(
    cx: &Ctx<'_>,
    file: &File,
    h: &StreamHeader,
    spectra: Option<&SpectraInfo>,
) -> Result<(), IoError> {
    let g = cx.h5("creating /Header", file.create_group("Header"))?;
    let l = &h.layout;
    cx.string(&g, "telescope_name", &l.telescope_name)?;
    cx.scalar(&g, "latitude", l.site.lat_rad.to_degrees())?;
    cx.scalar(&g, "longitude", l.site.lon_rad.to_degrees())?;
    cx.scalar(&g, "altitude", l.site.height_m)?;
    let names: Vec<&str> = l.names.iter().map(String::as_str).collect();
    cx.strings(&g, "antenna_names", &names)?;
    cx.array(
        &g,
        "antenna_numbers",
        &Array1::from_iter(0..l.n_ant() as i64),
    )?;
    let pos = l.ecef_offsets();
    cx.array(
        &g,
        "antenna_positions",
        &Array2::from_shape_fn((l.n_ant(), 3), |(a, i)| pos[a].to_array()[i]),
    )?;
    cx.scalar(&g, "phase_center_ra", h.phase_centre.ra_rad)?;
    cx.scalar(&g, "phase_center_dec", h.phase_centre.dec_rad)?;
    cx.scalar(&g, "start_time", h.start_jd_utc)?;
    cx.scalar(&g, "sample_rate_hz", h.sample_rate_hz)?;
    cx.scalar(&g, "centre_freq_hz", h.centre_freq_hz)?;
    cx.string(&g, "sampling", h.sampling.as_str())?;
    cx.scalar(&g, "voltage_scale", h.voltage_scale)?;
    cx.string(&g, "fxgrid_version", env!("CARGO_PKG_VERSION"))?;
    cx.string(&g, "history", &h.history)?;
    if let Some(s) = spectra {
        cx.array(&g, "freq_array", &Array1::from(s.freqs_hz.clone()))?;
        cx.scalar(&g, "channel_width_hz", s.channel_width_hz)?;
        cx.scalar(&g, "spectrum_rate_hz", s.spectrum_rate_hz)?;
        cx.scalar(&g, "pfb_n_taps", s.n_taps as i64)?;
        cx.string(&g, "pfb_window", &s.window)?;
        cx.array(
            &g,
            "pfb_oversampling",
            &Array1::from(vec![s.oversampling.0 as i64, s.oversampling.1 as i64]),
        )?;
        if let Some(gain) = s.noise_gain {
            cx.scalar(&g, "pfb_noise_gain", gain)?;
        }
    }
    Ok(())
}

fn read_header(r: &Reader<'_>) -> Result<StreamHeader, IoError> {
    if r.file.group("Header").is_err() || r.file.group("Data").is_err() {
        return Err(r.unsupported(
            "not an fxgrid voltage or spectra file: /Header and /Data groups expected".into(),
        ));
    }
    let site = LatLonHeight::from_degrees(
        r.scalar("Header/latitude")?,
        r.scalar("Header/longitude")?,
        r.scalar("Header/altitude")?,
    );
    let names = r.strings("Header/antenna_names")?;
    let n_ant = names.len();
    let pos = r.mat::<f64>("Header/antenna_positions", n_ant, 3)?;
    let layout = ArrayLayout::new(
        r.string("Header/telescope_name")?,
        site,
        names,
        enu_from_ecef_offsets(&pos, site),
    )
    .map_err(|e| r.unsupported(format!("antenna table: {e}")))?;
    let sampling = match r.string("Header/sampling")?.as_str() {
        "complex" => Sampling::Complex,
        "real" => Sampling::Real,
        other => {
            return Err(IoError::Dataset {
                path: r.path.to_string(),
                dataset: "Header/sampling".into(),
                expected: "\"complex\" or \"real\"".into(),
                found: format!("{other:?}"),
            })
        }
    };
    let h = StreamHeader {
        layout,
        phase_centre: RaDec {
            ra_rad: r.scalar("Header/phase_center_ra")?,
            dec_rad: r.scalar("Header/phase_center_dec")?,
        },
        start_jd_utc: r.scalar("Header/start_time")?,
        sample_rate_hz: r.scalar("Header/sample_rate_hz")?,
        centre_freq_hz: r.scalar("Header/centre_freq_hz")?,
        sampling,
        voltage_scale: r.scalar("Header/voltage_scale").unwrap_or(1.0),
        history: r.string("Header/history").unwrap_or_default(),
    };
    let check = |name: &str, v: f64, ok: bool, expected: &str| {
        if ok {
            Ok(())
        } else {
            Err(IoError::Dataset {
                path: r.path.to_string(),
                dataset: format!("Header/{name}"),
                expected: expected.into(),
                found: v.to_string(),
            })
        }
    };
    let fmax = limits::MAX_FREQ_HZ;
    let (fs, f0) = (h.sample_rate_hz, h.centre_freq_hz);
    check(
        "sample_rate_hz",
        fs,
        fs > 0.0 && fs <= fmax,
        "a positive rate up to 1e13 Hz",
    )?;
    check(
        "voltage_scale",
        h.voltage_scale,
        h.voltage_scale > 0.0 && h.voltage_scale <= limits::MAX_FLUX_JY,
        "a positive scale up to 1e10",
    )?;
    // The band's lowest frequency must be positive: f0 − fs/2 for complex sampling, f0 for
    // real sampling.
    let lowest = match h.sampling {
        Sampling::Complex => f0 - fs / 2.0,
        Sampling::Real => f0,
    };
    check(
        "centre_freq_hz",
        f0,
        f0 <= fmax && lowest > 0.0,
        "a frequency up to 1e13 Hz whose band is at positive frequencies",
    )?;
    let jd = h.start_jd_utc;
    let supported =
        crate::telescope::time::tai_minus_utc_s(jd - crate::telescope::time::MJD_OFFSET).is_ok();
    check(
        "start_time",
        jd,
        supported,
        "a Julian date from 1972 to 2100",
    )?;
    if !h.phase_centre.is_valid() {
        return Err(r.unsupported(format!(
            "Header/phase_center_ra, phase_center_dec: not a sky direction ({}, {} rad)",
            h.phase_centre.ra_rad, h.phase_centre.dec_rad
        )));
    }
    Ok(h)
}

/// The header and `Data/{name}`, checked to have the leading axes `lead` (any length)
/// followed by `[n_ant, 2]`; returns the dataset and its shape.
fn header_and_data(
    r: &Reader<'_>,
    name: &str,
    lead: &[&str],
) -> Result<(StreamHeader, Dataset, Vec<usize>), IoError> {
    let header = read_header(r)?;
    // The other kind of fxgrid stream file is a common mix-up: say which it is.
    let other = if name == "spectra" {
        "voltages"
    } else {
        "spectra"
    };
    if r.file.dataset(&format!("Data/{other}")).is_ok() {
        return Err(r.unsupported(if name == "spectra" {
            "this is a voltage file, not spectra: channelise it first".into()
        } else {
            "this is a spectra file, not voltages: correlate it".into()
        }));
    }
    let dataset = format!("Data/{name}");
    let ds = r.ds(&dataset)?;
    let n_ant = header.layout.n_ant();
    let shape = ds.shape();
    let rank = lead.len() + 2;
    if shape.len() != rank || shape[rank - 2] != n_ant || shape[rank - 1] != 2 {
        let expected = format!("shape [{}, {n_ant}, 2]", lead.join(", "));
        return Err(r.shape_err(&dataset, &expected, &shape));
    }
    Ok((header, ds, shape))
}

/// The temporary file of an output, renamed into place by [`TempFile::commit`] (removed
/// if dropped before, or on an interrupt: see [`super::pending`]).
struct TempFile {
    tmp: Pending,
    path: PathBuf,
}

impl TempFile {
    fn new(path: &Path) -> Self {
        Self {
            tmp: Pending::new(temporary_path(path)),
            path: path.to_path_buf(),
        }
    }
    fn commit(self) -> Result<(), IoError> {
        super::put_in_place(self.tmp, &self.path)
    }
}

/// A file written row by row along the first axis of one `/Data` dataset, under a
/// temporary name until [`RowFile::finish`] renames it (dropped unfinished, it removes the
/// temporary file).
struct RowFile {
    pub(crate) path: String,
    tmp: TempFile,
    file: Option<File>,
    ds: Dataset,
    /// Rows declared, and the shape of one row.
    rows: usize,
    row_shape: Vec<usize>,
    written: usize,
    /// Dataset name and what a row is, for messages.
    name: &'static str,
    what: &'static str,
}

impl RowFile {
    #[allow(clippy::too_many_arguments)]
    fn create<T: H5Type>(
        path: &Path,
        header: &StreamHeader,
        info: Option<&SpectraInfo>,
        name: &'static str,
        what: &'static str,
        rows: usize,
        row_shape: &[usize],
    ) -> Result<Self, IoError> {
        let p = path.display().to_string();
        let cx = Ctx { path: &p };
        let tmp = TempFile::new(path);
        let file = cx.h5("creating the file", File::create(tmp.tmp.path()))?;
        write_header(&cx, &file, header, info)?;
        let d = cx.h5("creating /Data", file.create_group("Data"))?;
        let row_bytes = row_shape.iter().product::<usize>() * std::mem::size_of::<T>();
        let chunk_rows = (1usize << 20)
            .div_ceil(row_bytes.max(1))
            .clamp(1, rows.max(1));
        let shape: Vec<usize> = std::iter::once(rows)
            .chain(row_shape.iter().copied())
            .collect();
        let chunk: Vec<usize> = std::iter::once(chunk_rows)
            .chain(row_shape.iter().copied())
            .collect();
        let ds = cx.h5(
            &format!("creating Data/{name}"),
            d.new_dataset::<T>().chunk(chunk).shape(shape).create(name),
        )?;
        Ok(Self {
            path: p,
            tmp,
            file: Some(file),
            ds,
            rows,
            row_shape: row_shape.to_vec(),
            written: 0,
            name,
            what,
        })
    }

    /// Append whole rows.
    fn write<T: H5Type>(&mut self, block: &[T]) -> Result<(), IoError> {
        let row: usize = self.row_shape.iter().product();
        let n = block.len() / row;
        if !block.len().is_multiple_of(row) || self.written + n > self.rows {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "block of {} values is not a whole number of {} of {row} values within the {} declared",
                    block.len(),
                    self.what,
                    self.rows
                ),
            });
        }
        let shape: Vec<usize> = std::iter::once(n)
            .chain(self.row_shape.iter().copied())
            .collect();
        let view = ndarray::ArrayViewD::from_shape(shape, block).expect("checked length");
        let mut sel = vec![SliceOrIndex::from(self.written..self.written + n)];
        sel.extend(self.row_shape.iter().map(|_| SliceOrIndex::from(..)));
        Ctx { path: &self.path }.h5(
            &format!("writing Data/{}", self.name),
            self.ds
                .write_slice(view, Selection::new(Hyperslab::from(sel))),
        )?;
        self.written += n;
        Ok(())
    }

    /// Check that every declared row was written, close and rename into place.
    fn finish(mut self) -> Result<(), IoError> {
        if self.written != self.rows {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!("{} of {} {} written", self.written, self.rows, self.what),
            });
        }
        if let Some(f) = self.file.take() {
            Ctx { path: &self.path }.h5("closing the file", f.close())?;
        }
        self.tmp.commit()
    }
}

/// Sequential writer of a voltage file (written under a temporary name, renamed by
/// [`VoltageWriter::finish`]; dropped unfinished, it removes the temporary file).
pub struct VoltageWriter {
    rows: RowFile,
    kind: SampleKind,
    complex: bool,
}

impl VoltageWriter {
    /// Create the file for `n_samples` samples of type `S`.
    pub fn create<S: FileSample>(
        path: &Path,
        header: &StreamHeader,
        n_samples: usize,
    ) -> Result<Self, IoError> {
        if S::COMPLEX != (header.sampling == Sampling::Complex) {
            return Err(IoError::Format {
                path: path.display().to_string(),
                reason: format!(
                    "{} sampling needs {} samples",
                    header.sampling.as_str(),
                    if S::COMPLEX { "real" } else { "complex" }
                ),
            });
        }
        let n_ant = header.layout.n_ant();
        Ok(Self {
            rows: RowFile::create::<S>(
                path,
                header,
                None,
                "voltages",
                "samples",
                n_samples,
                &[n_ant, 2],
            )?,
            kind: S::KIND,
            complex: S::COMPLEX,
        })
    }

    /// Append samples (`[sample][antenna][pol]`, a whole number of samples).
    pub fn write<S: FileSample>(&mut self, block: &[S]) -> Result<(), IoError> {
        if S::KIND != self.kind || S::COMPLEX != self.complex {
            return Err(IoError::Format {
                path: self.rows.path.clone(),
                reason: format!("samples of type {} do not match the file's", S::NAME),
            });
        }
        self.rows.write(block)
    }

    /// Check that every declared sample was written, close and rename into place.
    pub fn finish(self) -> Result<(), IoError> {
        self.rows.finish()
    }
}

/// A voltage file opened for reading.
pub struct VoltageReader {
    pub(crate) path: String,
    _file: File,
    ds: Dataset,
    /// The header.
    pub header: StreamHeader,
    /// Scalar type of the samples.
    pub kind: SampleKind,
    /// Number of samples.
    pub n_samples: usize,
}

/// The scalar kind and complexity of a dataset type, if it is one fxgrid stores.
fn sample_type(td: &TypeDescriptor) -> Option<(SampleKind, bool)> {
    let scalar = |t: &TypeDescriptor| match t {
        TypeDescriptor::Integer(IntSize::U1) => Some(SampleKind::Int8),
        TypeDescriptor::Integer(IntSize::U2) => Some(SampleKind::Int16),
        TypeDescriptor::Float(FloatSize::U4) => Some(SampleKind::Float32),
        _ => None,
    };
    match td {
        TypeDescriptor::Compound(c) => {
            let [a, b] = c.fields.as_slice() else {
                return None;
            };
            let ka = scalar(&a.ty)?;
            (a.name == "r" && b.name == "i" && scalar(&b.ty) == Some(ka)).then_some((ka, true))
        }
        t => scalar(t).map(|k| (k, false)),
    }
}

impl VoltageReader {
    /// Open and validate a voltage file.
    pub fn open(path: &Path) -> Result<Self, IoError> {
        let p = path.display().to_string();
        let r = Reader {
            path: &p,
            file: open(path)?,
        };
        let (header, ds, shape) = header_and_data(&r, "voltages", &["n_samples"])?;
        let td = r.h5(
            "reading the type of Data/voltages",
            ds.dtype().and_then(|t| t.to_descriptor()),
        )?;
        let (kind, complex) = sample_type(&td).ok_or_else(|| IoError::Dataset {
            path: p.clone(),
            dataset: "Data/voltages".into(),
            expected: "int8, int16 or float32, or a compound {r, i} of one of them".into(),
            found: format!("{td}"),
        })?;
        if complex != (header.sampling == Sampling::Complex) {
            return Err(IoError::Dataset {
                path: p.clone(),
                dataset: "Data/voltages".into(),
                expected: format!("{} samples (Header/sampling)", header.sampling.as_str()),
                found: format!("{td}"),
            });
        }
        let n_samples = shape[0];
        let Reader { file, .. } = r;
        Ok(Self {
            path: p,
            _file: file,
            ds,
            header,
            kind,
            n_samples,
        })
    }

    /// Samples `start .. start + count` as `[sample][antenna][pol]`. `S` must be the
    /// file's type.
    pub fn read<S: FileSample>(&self, start: usize, count: usize) -> Result<Vec<S>, IoError> {
        if S::KIND != self.kind || S::COMPLEX != (self.header.sampling == Sampling::Complex) {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "the file holds {} samples, not {}",
                    self.kind.name(),
                    S::NAME
                ),
            });
        }
        if start + count > self.n_samples {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "samples {start}..{} requested from a file of {}",
                    start + count,
                    self.n_samples
                ),
            });
        }
        let a: ndarray::Array3<S> = self
            .ds
            .read_slice(s![start..start + count, .., ..])
            .map_err(|source| IoError::Hdf5 {
                path: self.path.clone(),
                action: "reading Data/voltages".into(),
                source,
            })?;
        Ok(a.into_raw_vec_and_offset().0)
    }
}

/// Sequential writer of a spectra file (temporary name until [`SpectraWriter::finish`]).
pub struct SpectraWriter {
    rows: RowFile,
}

impl SpectraWriter {
    /// Create the file for `n_spectra` spectra.
    pub fn create(
        path: &Path,
        header: &StreamHeader,
        info: &SpectraInfo,
        n_spectra: usize,
    ) -> Result<Self, IoError> {
        let shape = [info.freqs_hz.len(), header.layout.n_ant(), 2];
        Ok(Self {
            rows: RowFile::create::<Complex32>(
                path,
                header,
                Some(info),
                "spectra",
                "spectra",
                n_spectra,
                &shape,
            )?,
        })
    }

    /// Append spectra (`[spectrum][channel][antenna][pol]`).
    pub fn write(&mut self, block: &[Complex32]) -> Result<(), IoError> {
        self.rows.write(block)
    }

    /// Check completeness, close and rename into place.
    pub fn finish(self) -> Result<(), IoError> {
        self.rows.finish()
    }
}

/// A spectra file opened for reading.
pub struct SpectraReader {
    pub(crate) path: String,
    _file: File,
    ds: Dataset,
    /// The header.
    pub header: StreamHeader,
    /// The filterbank description.
    pub info: SpectraInfo,
    /// Number of spectra.
    pub n_spectra: usize,
}

impl SpectraReader {
    /// Open and validate a spectra file.
    pub fn open(path: &Path) -> Result<Self, IoError> {
        let p = path.display().to_string();
        let r = Reader {
            path: &p,
            file: open(path)?,
        };
        let (header, ds, shape) = header_and_data(&r, "spectra", &["n_spectra", "n_chan"])?;
        let n_chan = shape[1];
        let os: Vec<i64> = r.vec("Header/pfb_oversampling", 2)?;
        let info = SpectraInfo {
            freqs_hz: r.vec("Header/freq_array", n_chan)?,
            channel_width_hz: r.scalar("Header/channel_width_hz")?,
            spectrum_rate_hz: r.scalar("Header/spectrum_rate_hz")?,
            n_taps: r.int("Header/pfb_n_taps")?,
            window: r.string("Header/pfb_window")?,
            oversampling: (os[0].max(0) as usize, os[1].max(0) as usize),
            noise_gain: r
                .scalar::<f64>("Header/pfb_noise_gain")
                .ok()
                .filter(|g| *g > 0.0 && g.is_finite()),
        };
        let fmax = limits::MAX_FREQ_HZ;
        let bad = |name: &str, v: f64, expected: &str| IoError::Dataset {
            path: p.clone(),
            dataset: format!("Header/{name}"),
            expected: expected.into(),
            found: v.to_string(),
        };
        if let Some(&f) = info
            .freqs_hz
            .iter()
            .find(|&&f| !limits::within(f, 0.0, fmax))
        {
            return Err(bad("freq_array", f, "frequencies from 0 to 1e13 Hz"));
        }
        let (cw, rate) = (info.channel_width_hz, info.spectrum_rate_hz);
        if !(cw > 0.0 && cw <= fmax) {
            return Err(bad(
                "channel_width_hz",
                cw,
                "a positive width up to 1e13 Hz",
            ));
        }
        if !(rate > 0.0 && rate <= fmax) {
            return Err(bad(
                "spectrum_rate_hz",
                rate,
                "a positive rate up to 1e13 Hz",
            ));
        }
        let td = r.h5(
            "reading the type of Data/spectra",
            ds.dtype().and_then(|t| t.to_descriptor()),
        )?;
        if sample_type(&td) != Some((SampleKind::Float32, true)) {
            return Err(IoError::Dataset {
                path: p.clone(),
                dataset: "Data/spectra".into(),
                expected: "compound {r, i} of float32".into(),
                found: format!("{td}"),
            });
        }
        let n_spectra = shape[0];
        let Reader { file, .. } = r;
        Ok(Self {
            path: p,
            _file: file,
            ds,
            header,
            info,
            n_spectra,
        })
    }

    /// Spectra `start .. start + count` as `[spectrum][channel][antenna][pol]`.
    pub fn read(&self, start: usize, count: usize) -> Result<Vec<Complex32>, IoError> {
        if start + count > self.n_spectra {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "spectra {start}..{} requested from a file of {}",
                    start + count,
                    self.n_spectra
                ),
            });
        }
        let a: ndarray::Array4<Complex32> = self
            .ds
            .read_slice(s![start..start + count, .., .., ..])
            .map_err(|source| IoError::Hdf5 {
                path: self.path.clone(),
                action: "reading Data/spectra".into(),
                source,
            })?;
        Ok(a.into_raw_vec_and_offset().0)
    }
}

/// Window description stored in spectra files.
pub fn window_name(w: Option<Window>) -> String {
    w.map_or_else(|| "user".into(), |w| w.to_string())
}

/// Whether `path` is an HDF5 file holding voltages or spectra (false for other HDF5).
pub fn is_stream_file(path: &Path) -> Result<bool, IoError> {
    let file = open(path)?;
    Ok(file.dataset("Data/voltages").is_ok() || file.dataset("Data/spectra").is_ok())
}

/// A human-readable summary of a voltage or spectra file.
pub fn summarise(path: &Path) -> Result<String, IoError> {
    let p = path.display().to_string();
    let describe = |h: &StreamHeader| {
        format!(
            "  telescope: {}, {} antennas × 2 pols, site lat {:.5}°, lon {:.5}°\n  phase centre: RA {:.6}°, Dec {:.6}° (ICRS)\n  {} sampling at {} Hz, centre (baseband 0 Hz) {} Hz, start JD {:.8} (UTC)\n  voltage scale {:.6e} sqrt(Jy) per unit\n",
            h.layout.telescope_name,
            h.layout.n_ant(),
            h.layout.site.lat_rad.to_degrees(),
            h.layout.site.lon_rad.to_degrees(),
            h.phase_centre.ra_rad.to_degrees(),
            h.phase_centre.dec_rad.to_degrees(),
            h.sampling.as_str(),
            h.sample_rate_hz,
            h.centre_freq_hz,
            h.start_jd_utc,
            h.voltage_scale
        )
    };
    let file = open(path)?;
    if file.dataset("Data/spectra").is_ok() {
        drop(file);
        let r = SpectraReader::open(path)?;
        let i = &r.info;
        Ok(format!(
            "{p}\n  format: fxgrid spectra\n{}  {} spectra × {} channels ({:.3} – {:.3} MHz, width {} Hz), {} spectra/s\n  filterbank: {} taps, window {}, oversampling {}/{}\n",
            describe(&r.header),
            r.n_spectra,
            i.freqs_hz.len(),
            i.freqs_hz.first().copied().unwrap_or(0.0) / 1e6,
            i.freqs_hz.last().copied().unwrap_or(0.0) / 1e6,
            i.channel_width_hz,
            i.spectrum_rate_hz,
            i.n_taps,
            i.window,
            i.oversampling.0,
            i.oversampling.1
        ))
    } else {
        drop(file);
        let r = VoltageReader::open(path)?;
        Ok(format!(
            "{p}\n  format: fxgrid voltages\n{}  {} samples of {} ({:.3} s)\n",
            describe(&r.header),
            r.n_samples,
            r.kind.name(),
            r.n_samples as f64 / r.header.sample_rate_hz
        ))
    }
}
