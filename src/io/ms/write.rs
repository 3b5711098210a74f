//! The Measurement Set writer: MAIN and the twelve subtables, rows appended in blocks.

use std::path::{Path, PathBuf};

use ndarray::{ArrayView2, ArrayView3, Axis};
use num_complex::Complex32;
use rubbl_casatables::{
    GlueDataType, Table, TableCreateMode, TableDesc, TableDescCreateMode, TableRecord,
};
use rubbl_core::ndarray as nd;
use rubbl_core::ndarray::{Array2, Array3};

use super::desc::{self, Col, Kind};
use super::{casa, corr_type, jd_to_mjd_s, CONJUGATE_KEYWORD};
use crate::io::{temporary_path, IoError, Pending};
use crate::vis::{VisMeta, VisUnits, Visibilities};

/// Rows of the MAIN table, in fxgrid's (UVH5) conventions; the writer converts them to
/// the Measurement Set's (module docs).
#[derive(Debug, Clone, Copy)]
pub struct MsRows<'a> {
    /// Antenna indices `(p, q)` into the layout, per row.
    pub baselines: &'a [(usize, usize)],
    /// Integration centres (JD UTC), per row.
    pub time_jd: &'a [f64],
    /// Integration times (s), per row.
    pub int_time_s: &'a [f64],
    /// uvw (m), `[row, 3]`, `pos(q) − pos(p)` as in UVH5.
    pub uvw_m: ArrayView2<'a, f64>,
    /// Visibilities `[row, chan, pol]`, UVH5 conjugation, the pols of the writer's meta.
    pub vis: ArrayView3<'a, Complex32>,
    /// Flags `[row, chan, pol]`.
    pub flags: ArrayView3<'a, bool>,
    /// Number of samples `[row, chan, pol]` (written as `WEIGHT_SPECTRUM`).
    pub nsamples: ArrayView3<'a, f32>,
}

/// A Measurement Set being written (module docs): [`MsWriter::create`] makes MAIN,
/// [`MsWriter::append`] adds rows, [`MsWriter::finish`] writes the subtables (with the time
/// range of the rows written) and renames the table into place. Dropped unfinished, it
/// removes what it wrote.
pub struct MsWriter {
    path: PathBuf,
    /// The table's temporary directory, until it is put in place.
    tmp: Option<Pending>,
    main: Option<Table>,
    rows: u64,
    n_chan: usize,
    /// Index into the caller's polarisation axis of each MS correlation (CASA order).
    pol_order: Vec<usize>,
    /// What the subtables are written from at the end.
    meta: VisMeta,
    /// Earliest and latest row time (JD UTC).
    t_range: (f64, f64),
}

/// casacore's errors as [`IoError`]s naming the table and what was being done.
trait Casacore<T> {
    fn cc(self, path: &Path, action: &str) -> Result<T, IoError>;
}

impl<T, E: std::fmt::Display> Casacore<T> for Result<T, E> {
    fn cc(self, path: &Path, action: &str) -> Result<T, IoError> {
        self.map_err(|e| IoError::Format {
            path: path.display().to_string(),
            reason: format!("casacore error while {action}: {e}"),
        })
    }
}

/// A table description of `cols` (plus `extra` built by the caller).
fn describe(path: &Path, cols: &[Col]) -> Result<TableDesc, IoError> {
    let mut d =
        TableDesc::new("", TableDescCreateMode::TDM_SCRATCH).cc(path, "describing a table")?;
    for c in cols {
        match c.kind {
            Kind::Scalar => d.add_scalar_column(c.ty, c.name, None, false, false),
            Kind::Array { ndim, shape } => match shape {
                Some(s) => d.add_array_column(c.ty, c.name, None, Some(s), true, false),
                None => d
                    .add_array_column(c.ty, c.name, None, None, false, false)
                    .and_then(|()| d.set_ndims(c.name, ndim)),
            },
        }
        .cc(path, "describing a table")?;
    }
    Ok(d)
}

/// Units and measure keywords of `cols` on `table`.
fn put_measures(path: &Path, table: &mut Table, cols: &[Col]) -> Result<(), IoError> {
    for c in cols {
        if !c.units.is_empty() {
            let u: Vec<String> = c.units.iter().map(|s| s.to_string()).collect();
            table
                .put_column_keyword(c.name, "QuantumUnits", &u)
                .cc(path, "writing column keywords")?;
        }
        if let Some((kind, reference)) = c.measure {
            let mut rec = TableRecord::new().cc(path, "writing column keywords")?;
            rec.put_field("type", &kind.to_string())
                .cc(path, "writing column keywords")?;
            rec.put_field("Ref", &reference.to_string())
                .cc(path, "writing column keywords")?;
            table
                .put_column_keyword(c.name, "MEASINFO", &rec)
                .cc(path, "writing column keywords")?;
        }
    }
    Ok(())
}

/// Create the table `dir` with `cols` and `n_rows` rows.
fn create_table(dir: &Path, cols: &[Col], n_rows: usize) -> Result<Table, IoError> {
    let d = describe(dir, cols)?;
    let mut t = Table::new(dir, d, n_rows, TableCreateMode::New).cc(dir, "creating the table")?;
    put_measures(dir, &mut t, cols)?;
    Ok(t)
}

fn s(v: &str) -> String {
    v.to_string()
}

impl MsWriter {
    /// Start writing a Measurement Set at `path` for data described by `meta` (module
    /// docs; its times are not used: the time range is that of the rows written). Rows may
    /// come in any order.
    pub fn create(path: &Path, meta: &VisMeta) -> Result<Self, IoError> {
        // Absolute: casacore reads a relative name starting with "." as "./".
        let tmp = std::path::absolute(temporary_path(path)).map_err(|source| IoError::Os {
            path: path.display().to_string(),
            source,
        })?;
        let bad = |reason: String| IoError::Format {
            path: path.display().to_string(),
            reason,
        };
        if meta.pols.is_empty() || meta.freqs_hz.is_empty() {
            return Err(bad(format!(
                "nothing to write: {} channels, {} polarisations",
                meta.freqs_hz.len(),
                meta.pols.len()
            )));
        }
        let mut pol_order: Vec<usize> = (0..meta.pols.len()).collect();
        pol_order.sort_by_key(|&i| corr_type(meta.pols[i]));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|source| IoError::Os {
                path: tmp.display().to_string(),
                source,
            })?;
        }
        let tmp = Pending::new(tmp);
        let mut w = MsWriter {
            path: path.to_path_buf(),
            tmp: Some(tmp),
            main: None,
            rows: 0,
            n_chan: meta.freqs_hz.len(),
            pol_order,
            meta: meta.clone(),
            t_range: (f64::INFINITY, f64::NEG_INFINITY),
        };
        w.create_main(meta)?;
        Ok(w)
    }

    fn create_main(&mut self, meta: &VisMeta) -> Result<(), IoError> {
        let dir = self.dir().to_path_buf();
        let dir = dir.as_path();
        let (nc, np) = (self.n_chan as u64, self.pol_order.len() as u64);
        let mut d = describe(dir, desc::MAIN)?;
        for name in ["WEIGHT", "SIGMA"] {
            d.add_array_column(GlueDataType::TpFloat, name, None, Some(&[np]), true, false)
                .cc(dir, "creating MAIN")?;
        }
        let mut t = Table::new(dir, d, 0, TableCreateMode::New).cc(dir, "creating MAIN")?;
        put_measures(dir, &mut t, desc::MAIN)?;
        // About 1 MiB of complex data per tile.
        let per_row = (nc * np * 8).max(1);
        let tile_rows = (1u64 << 20).div_ceil(per_row).clamp(1, 65_536);
        for (ty, name, group) in [
            (GlueDataType::TpComplex, "DATA", "TiledData"),
            (GlueDataType::TpBool, "FLAG", "TiledFlag"),
            (GlueDataType::TpFloat, "WEIGHT_SPECTRUM", "TiledWgtSpectrum"),
        ] {
            t.add_tiled_array_column(ty, name, None, &[nc, np], &[tile_rows, nc, np], group, true)
                .cc(dir, "creating MAIN")?;
        }
        t.put_column_keyword("DATA", "QuantumUnits", &vec![s(meta.units.as_str())])
            .cc(dir, "creating MAIN")?;
        // casacore's MS classes (WSClean among their users) need FLAG_CATEGORY's category names.
        t.put_column_keyword("FLAG_CATEGORY", "CATEGORY", &vec![s("ORIGINAL")])
            .cc(dir, "creating MAIN")?;
        t.put_keyword("MS_VERSION", &2.0f32)
            .cc(dir, "creating MAIN")?;
        t.put_keyword(CONJUGATE_KEYWORD, &true)
            .cc(dir, "creating MAIN")?;
        if meta.units == VisUnits::Jy {
            t.put_keyword("pyuvdata_polconv", &s("avg"))
                .cc(dir, "creating MAIN")?;
        }
        self.main = Some(t);
        Ok(())
    }

    fn write_subtables(&mut self, meta: &VisMeta) -> Result<(), IoError> {
        let dir = self.dir().to_path_buf();
        let l = &meta.layout;
        let n_ant = l.n_ant();
        let site = l.site.to_ecef();
        let t0 = meta
            .times_jd_utc
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let t1 = meta
            .times_jd_utc
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let half = meta.int_time_s / 2.0;
        let (mjd0, mjd1) = (jd_to_mjd_s(t0) - half, jd_to_mjd_s(t1) + half);
        let mid = (jd_to_mjd_s(t0) + jd_to_mjd_s(t1)) / 2.0;
        let pos = l.ecef_offsets();
        let freqs = &meta.freqs_hz;
        let pols: Vec<i32> = self
            .pol_order
            .iter()
            .map(|&i| corr_type(meta.pols[i]))
            .collect();
        let centre = [meta.phase_centre.ra_rad, meta.phase_centre.dec_rad];

        for &(name, cols) in desc::SUBTABLES {
            let sub = dir.join(name);
            let n_rows = match name {
                "ANTENNA" | "FEED" => n_ant,
                "POINTING" | "STATE" => 0,
                _ => 1,
            };
            let mut t = create_table(&sub, cols, n_rows)?;
            macro_rules! put {
                ($col:expr, $row:expr, $v:expr) => {
                    t.put_cell($col, $row as u64, $v)
                        .cc(&sub, "writing the subtable")?
                };
            }
            match name {
                "ANTENNA" => {
                    for (a, p) in pos.iter().enumerate() {
                        let abs = vec![site.x_m + p.x_m, site.y_m + p.y_m, site.z_m + p.z_m];
                        put!("POSITION", a, &abs);
                        put!("OFFSET", a, &vec![0.0f64; 3]);
                        put!("NAME", a, &l.names[a]);
                        put!("STATION", a, &l.names[a]);
                        put!("TYPE", a, &s("GROUND-BASED"));
                        put!("MOUNT", a, &s(l.mount_type.as_deref().unwrap_or("")));
                        put!("DISH_DIAMETER", a, &l.diameter_m.unwrap_or(0.0));
                        put!("FLAG_ROW", a, &false);
                    }
                }
                "FEED" => {
                    for a in 0..n_ant {
                        put!("ANTENNA_ID", a, &(a as i32));
                        put!("BEAM_ID", a, &-1i32);
                        put!("FEED_ID", a, &0i32);
                        put!("SPECTRAL_WINDOW_ID", a, &-1i32);
                        put!("TIME", a, &mid);
                        put!("INTERVAL", a, &f64::MAX);
                        put!("NUM_RECEPTORS", a, &2i32);
                        put!("POLARIZATION_TYPE", a, &vec![s("X"), s("Y")]);
                        // X along east (feed angle π/2), Y along north, as in UVH5.
                        put!(
                            "RECEPTOR_ANGLE",
                            a,
                            &vec![std::f64::consts::FRAC_PI_2, 0.0f64]
                        );
                        put!("BEAM_OFFSET", a, &Array2::<f64>::zeros((2, 2)));
                        let resp = Array2::from_shape_fn((2, 2), |(i, j)| {
                            Complex32::new(if i == j { 1.0 } else { 0.0 }, 0.0)
                        });
                        put!("POL_RESPONSE", a, &resp);
                        put!("POSITION", a, &vec![0.0f64; 3]);
                    }
                    t.put_keyword("pyuvdata_has_feed", &true)
                        .cc(&sub, "writing the subtable")?;
                }
                "SPECTRAL_WINDOW" => {
                    let widths = vec![meta.chan_width_hz; freqs.len()];
                    put!("NUM_CHAN", 0, &(freqs.len() as i32));
                    put!("NAME", 0, &s("SPW0"));
                    put!("CHAN_FREQ", 0, freqs);
                    put!("CHAN_WIDTH", 0, &widths);
                    put!("EFFECTIVE_BW", 0, &widths);
                    put!("RESOLUTION", 0, &widths);
                    put!(
                        "TOTAL_BANDWIDTH",
                        0,
                        &(meta.chan_width_hz.abs() * freqs.len() as f64)
                    );
                    put!("REF_FREQUENCY", 0, &freqs[0]);
                    put!("MEAS_FREQ_REF", 0, &5i32); // TOPO
                    put!("NET_SIDEBAND", 0, &1i32);
                    put!("FREQ_GROUP_NAME", 0, &s(""));
                }
                "POLARIZATION" => {
                    let products = Array2::from_shape_fn((pols.len(), 2), |(k, r)| {
                        casa::receptors(pols[k]).map_or(0, |rr| rr[r])
                    });
                    put!("NUM_CORR", 0, &(pols.len() as i32));
                    put!("CORR_TYPE", 0, &pols);
                    put!("CORR_PRODUCT", 0, &products);
                }
                "DATA_DESCRIPTION" => {
                    put!("SPECTRAL_WINDOW_ID", 0, &0i32);
                    put!("POLARIZATION_ID", 0, &0i32);
                }
                "FIELD" => {
                    let dir2 = Array2::from_shape_vec((1, 2), centre.to_vec()).expect("1 × 2");
                    for col in ["PHASE_DIR", "DELAY_DIR", "REFERENCE_DIR"] {
                        put!(col, 0, &dir2);
                    }
                    put!("NAME", 0, &meta.phase_centre_name);
                    put!("CODE", 0, &s(""));
                    put!("NUM_POLY", 0, &0i32);
                    put!("SOURCE_ID", 0, &0i32);
                    put!("TIME", 0, &mid);
                }
                "SOURCE" => {
                    put!("DIRECTION", 0, &centre.to_vec());
                    put!("PROPER_MOTION", 0, &vec![0.0f64; 2]);
                    put!("NAME", 0, &meta.phase_centre_name);
                    put!("CODE", 0, &s(""));
                    put!("SOURCE_ID", 0, &0i32);
                    put!("SPECTRAL_WINDOW_ID", 0, &-1i32);
                    put!("CALIBRATION_GROUP", 0, &0i32);
                    put!("NUM_LINES", 0, &0i32);
                    put!("TIME", 0, &mid);
                    put!("INTERVAL", 0, &(mjd1 - mjd0));
                }
                "OBSERVATION" => {
                    put!("TELESCOPE_NAME", 0, &l.telescope_name);
                    put!("TELESCOPE_LOCATION", 0, &vec![site.x_m, site.y_m, site.z_m]);
                    put!("TIME_RANGE", 0, &vec![mjd0, mjd1]);
                    put!("OBSERVER", 0, &l.telescope_name);
                    put!("PROJECT", 0, &s(""));
                    put!("SCHEDULE_TYPE", 0, &s(""));
                    put!("RELEASE_DATE", 0, &0.0f64);
                    put!("LOG", 0, &vec![s("")]);
                    put!("SCHEDULE", 0, &vec![s("")]);
                }
                "HISTORY" => {
                    put!("TIME", 0, &mjd0);
                    put!("OBSERVATION_ID", 0, &0i32);
                    put!("MESSAGE", 0, &meta.history);
                    put!("PRIORITY", 0, &s("NORMAL"));
                    put!("ORIGIN", 0, &s("fxgrid"));
                    put!("OBJECT_ID", 0, &0i32);
                    put!(
                        "APPLICATION",
                        0,
                        &format!("fxgrid {}", env!("CARGO_PKG_VERSION"))
                    );
                    put!("CLI_COMMAND", 0, &vec![s("")]);
                    put!("APP_PARAMS", 0, &vec![s("")]);
                }
                "PROCESSOR" => {
                    put!("TYPE", 0, &s("CORRELATOR"));
                    put!("SUB_TYPE", 0, &s("fxgrid"));
                    put!("TYPE_ID", 0, &-1i32);
                    put!("MODE_ID", 0, &-1i32);
                }
                _ => {}
            }
            self.main
                .as_mut()
                .expect("MAIN is open")
                .put_table_keyword(name, t)
                .cc(&dir, "linking the subtables")?;
        }
        Ok(())
    }

    /// Append `rows` to MAIN (module docs for the conversion).
    pub fn append(&mut self, rows: &MsRows<'_>) -> Result<(), IoError> {
        let n = rows.baselines.len();
        let np = self.pol_order.len();
        let shape = [n, self.n_chan, np];
        let bad = |reason: String| IoError::Format {
            path: self.path.display().to_string(),
            reason,
        };
        if rows.time_jd.len() != n
            || rows.int_time_s.len() != n
            || rows.uvw_m.dim() != (n, 3)
            || rows.vis.shape() != shape
            || rows.flags.shape() != shape
            || rows.nsamples.shape() != shape
        {
            return Err(bad(format!(
                "rows to write: expected {n} rows of [{}, {np}] samples with time, interval and uvw each; found times {}, intervals {}, uvw {:?}, vis {:?}, flags {:?}, nsamples {:?}",
                self.n_chan,
                rows.time_jd.len(),
                rows.int_time_s.len(),
                rows.uvw_m.shape(),
                rows.vis.shape(),
                rows.flags.shape(),
                rows.nsamples.shape()
            )));
        }
        if n == 0 {
            return Ok(());
        }
        let order = &self.pol_order;
        let data = Array3::from_shape_fn(shape, |(r, c, k)| rows.vis[[r, c, order[k]]].conj());
        let flags = Array3::from_shape_fn(shape, |(r, c, k)| rows.flags[[r, c, order[k]]]);
        let wspec = Array3::from_shape_fn(shape, |(r, c, k)| rows.nsamples[[r, c, order[k]]]);
        // Band weights as pyuvdata writes them: the median over channels; SIGMA = WEIGHT^-½.
        let mut weight = Array2::<f32>::zeros((n, np));
        let mut column = Vec::with_capacity(self.n_chan);
        for ((r, k), w) in weight.indexed_iter_mut() {
            column.clear();
            column.extend(wspec.slice(nd::s![r, .., k]).iter().copied());
            *w = median(&mut column);
        }
        let sigma = weight.mapv(|w| if w > 0.0 { w.powf(-0.5) } else { 0.0 });
        let uvw = Array2::from_shape_fn((n, 3), |(r, k)| -rows.uvw_m[[r, k]]);
        let flag_row: Vec<bool> = flags
            .axis_iter(nd::Axis(0))
            .map(|f| f.iter().all(|&x| x))
            .collect();
        for &t in rows.time_jd {
            self.t_range = (self.t_range.0.min(t), self.t_range.1.max(t));
        }
        let mjd: Vec<f64> = rows.time_jd.iter().map(|&t| jd_to_mjd_s(t)).collect();
        let ant = |side: usize| -> Vec<i32> {
            rows.baselines
                .iter()
                .map(|&(p, q)| if side == 0 { p as i32 } else { q as i32 })
                .collect()
        };
        let start = self.rows;
        let dir = self.dir().to_path_buf();
        let t = self.main.as_mut().expect("MAIN is open until finish");
        t.add_rows(n).cc(&dir, "writing rows")?;
        t.put_column_range_array("DATA", start, &data)
            .cc(&dir, "writing rows")?;
        t.put_column_range_array("FLAG", start, &flags)
            .cc(&dir, "writing rows")?;
        t.put_column_range_array("WEIGHT_SPECTRUM", start, &wspec)
            .cc(&dir, "writing rows")?;
        t.put_column_range_array("WEIGHT", start, &weight)
            .cc(&dir, "writing rows")?;
        t.put_column_range_array("SIGMA", start, &sigma)
            .cc(&dir, "writing rows")?;
        t.put_column_range_array("UVW", start, &uvw)
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("FLAG_ROW", start, &flag_row)
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("ANTENNA1", start, &ant(0))
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("ANTENNA2", start, &ant(1))
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("TIME", start, &mjd)
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("TIME_CENTROID", start, &mjd)
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("INTERVAL", start, rows.int_time_s)
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("EXPOSURE", start, rows.int_time_s)
            .cc(&dir, "writing rows")?;
        let zeros = vec![0i32; n];
        for col in [
            "FEED1",
            "FEED2",
            "FIELD_ID",
            "DATA_DESC_ID",
            "ARRAY_ID",
            "OBSERVATION_ID",
            "PROCESSOR_ID",
        ] {
            t.put_column_range_scalar(col, start, &zeros)
                .cc(&dir, "writing rows")?;
        }
        t.put_column_range_scalar("SCAN_NUMBER", start, &vec![1i32; n])
            .cc(&dir, "writing rows")?;
        t.put_column_range_scalar("STATE_ID", start, &vec![-1i32; n])
            .cc(&dir, "writing rows")?;
        self.rows += n as u64;
        Ok(())
    }

    /// Close the tables and rename the Measurement Set into place (replacing an earlier
    /// Measurement Set of that name, never anything else).
    pub fn finish(mut self) -> Result<(), IoError> {
        let mut meta = self.meta.clone();
        if self.t_range.0 <= self.t_range.1 {
            meta.times_jd_utc = vec![self.t_range.0, self.t_range.1];
        }
        self.write_subtables(&meta)?;
        drop(self.main.take());
        let tmp = self.tmp.take().expect("a writer is finished once");
        crate::io::put_in_place(tmp, &self.path)
    }

    /// The table's temporary directory.
    fn dir(&self) -> &Path {
        self.tmp.as_ref().expect("not finished").path()
    }
}

impl Drop for MsWriter {
    fn drop(&mut self) {
        // Tables closed before `tmp`'s drop removes the directory.
        drop(self.main.take());
        drop(self.tmp.take());
    }
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Write `vis` as a Measurement Set at `path` (module docs), a time at a time.
pub fn write_ms(path: &Path, vis: &Visibilities) -> Result<(), IoError> {
    let mut w = MsWriter::create(path, vis.meta())?;
    w.append_vis(vis)?;
    w.finish()
}

impl MsWriter {
    /// Append every integration of `vis` (one row per baseline and time).
    pub fn append_vis(&mut self, vis: &Visibilities) -> Result<(), IoError> {
        let m = vis.meta();
        let nb = vis.n_baselines();
        let ints = vec![m.int_time_s; nb];
        for t in 0..vis.n_times() {
            let times = vec![m.times_jd_utc[t]; nb];
            self.append(&MsRows {
                baselines: &m.baselines,
                time_jd: &times,
                int_time_s: &ints,
                uvw_m: vis.uvw_m().index_axis(Axis(0), t),
                vis: vis.data().index_axis(Axis(0), t),
                flags: vis.flags().index_axis(Axis(0), t),
                nsamples: vis.weights().index_axis(Axis(0), t),
            })?;
        }
        Ok(())
    }
}
