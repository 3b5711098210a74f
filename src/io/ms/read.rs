//! The Measurement Set reader (module docs).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use ndarray::{s, Array2, Array3, Array4};
use num_complex::Complex32;
use rubbl_casatables::{Table, TableOpenMode};

use super::{casa, mjd_s_to_jd, CONJUGATE_KEYWORD};
use crate::io::uvh5::{linear_pols, PolProduct};
use crate::io::IoError;
use crate::telescope::{ArrayLayout, EarthOrientation, Ecef, LatLonHeight, ObserverFrame, RaDec};
use crate::vis::{VisMeta, VisUnits, Visibilities};

/// Which visibility column to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataColumn {
    /// `DATA`.
    #[default]
    Data,
    /// `CORRECTED_DATA`.
    Corrected,
    /// `MODEL_DATA`.
    Model,
}

impl DataColumn {
    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            DataColumn::Data => "DATA",
            DataColumn::Corrected => "CORRECTED_DATA",
            DataColumn::Model => "MODEL_DATA",
        }
    }

    /// The column called `name` (case-insensitive), if it is one of the three.
    pub fn from_name(name: &str) -> Option<Self> {
        [DataColumn::Data, DataColumn::Corrected, DataColumn::Model]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// A row of SPECTRAL_WINDOW.
#[derive(Debug, Clone, PartialEq)]
pub struct MsSpectralWindow {
    /// Channel centres (Hz).
    pub freqs_hz: Vec<f64>,
    /// Channel widths (Hz).
    pub widths_hz: Vec<f64>,
}

/// A row of FIELD.
#[derive(Debug, Clone, PartialEq)]
pub struct MsField {
    /// `NAME`.
    pub name: String,
    /// `PHASE_DIR` (its constant term).
    pub phase_centre: RaDec,
}

/// The subtables of a Measurement Set, as fxgrid uses them.
#[derive(Debug, Clone, PartialEq)]
pub struct MsHeader {
    /// OBSERVATION `TELESCOPE_NAME` of the first row.
    pub telescope_name: String,
    /// The array centre: OBSERVATION `TELESCOPE_LOCATION` where present (pyuvdata writes
    /// it), else the mean antenna position.
    pub site: LatLonHeight,
    /// ANTENNA `NAME` (the row is the antenna id).
    pub antenna_names: Vec<String>,
    /// ANTENNA `POSITION` as ECEF offsets from `site` (m).
    pub antenna_positions_m: Vec<[f64; 3]>,
    /// ANTENNA `DISH_DIAMETER` (m).
    pub antenna_diameters_m: Vec<f64>,
    /// SPECTRAL_WINDOW rows.
    pub spectral_windows: Vec<MsSpectralWindow>,
    /// POLARIZATION rows: the products of each.
    pub polarisations: Vec<Vec<PolProduct>>,
    /// DATA_DESCRIPTION rows: (spectral window, polarisation) ids.
    pub data_descriptions: Vec<(usize, usize)>,
    /// FIELD rows.
    pub fields: Vec<MsField>,
    /// The data column's units (`QuantumUnits`), `"uncalib"` when absent.
    pub vis_units: String,
    /// HISTORY `MESSAGE`s, a line each.
    pub history: String,
    /// Whether the stored data are the conjugate of fxgrid's convention (module docs).
    pub conjugated: bool,
    /// Rows of MAIN.
    pub n_rows: usize,
}

/// Rows of MAIN of one data description, in fxgrid's (UVH5) conventions.
#[derive(Debug, Clone, PartialEq)]
pub struct MsBlock {
    /// MAIN row numbers read.
    pub rows: Vec<usize>,
    /// `ANTENNA1`, `ANTENNA2`.
    pub baselines: Vec<(usize, usize)>,
    /// `TIME` as JD UTC.
    pub time_jd: Vec<f64>,
    /// `INTERVAL` (s).
    pub interval_s: Vec<f64>,
    /// `FIELD_ID`.
    pub field: Vec<usize>,
    /// uvw (m), `[row, 3]`, `pos(q) − pos(p)`.
    pub uvw_m: Array2<f64>,
    /// Visibilities `[row, chan, pol]`.
    pub vis: Array3<Complex32>,
    /// Flags (`FLAG` or `FLAG_ROW`).
    pub flags: Array3<bool>,
    /// `WEIGHT_SPECTRUM`, or `WEIGHT` repeated over channels.
    pub weights: Array3<f32>,
}

/// MAIN's scalar columns, read once.
pub(super) struct RowColumns {
    pub(super) ant1: Vec<usize>,
    pub(super) ant2: Vec<usize>,
    pub(super) time_jd: Vec<f64>,
    pub(super) interval_s: Vec<f64>,
    pub(super) field: Vec<usize>,
    pub(super) flag_row: Vec<bool>,
}

/// A Measurement Set opened for reading (module docs).
pub struct MsReader {
    pub(super) rows: RowColumns,
    pub(super) path: String,
    /// MAIN (taken out while a block is read).
    main: Option<Table>,
    pub(super) header: MsHeader,
    column: DataColumn,
    has_weight_spectrum: bool,
    pub(super) data_desc_id: Vec<i32>,
}

fn open_table(path: &Path, what: &str) -> Result<Table, IoError> {
    if !crate::io::is_casacore_table(path) {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: format!(
                "{what}: not a casacore table (a directory with table.dat){}",
                if path.exists() {
                    ""
                } else {
                    "; it does not exist"
                }
            ),
        });
    }
    Table::open(path, TableOpenMode::Read).map_err(|e| IoError::Format {
        path: path.display().to_string(),
        reason: format!("{what}: casacore cannot open it: {e}"),
    })
}

/// Errors of one table of the Measurement Set at `path`.
struct Tab<'a> {
    path: &'a str,
    name: &'static str,
    t: Table,
}

impl Tab<'_> {
    fn err(&self, column: &str, e: impl std::fmt::Display) -> IoError {
        IoError::Dataset {
            path: self.path.to_string(),
            dataset: format!("{}::{column}", self.name),
            expected: "a readable column of the MSv2 type".into(),
            found: e.to_string(),
        }
    }
    fn has(&mut self, column: &str) -> bool {
        self.t
            .column_names()
            .map(|c| c.iter().any(|n| n == column))
            .unwrap_or(false)
    }
    fn need(&mut self, column: &str) -> Result<(), IoError> {
        if self.has(column) {
            Ok(())
        } else {
            Err(IoError::Dataset {
                path: self.path.to_string(),
                dataset: format!("{}::{column}", self.name),
                expected: "the column (MSv2 requires it)".into(),
                found: "no such column".into(),
            })
        }
    }
    fn col<T: rubbl_casatables::CasaScalarData>(
        &mut self,
        column: &str,
    ) -> Result<Vec<T>, IoError> {
        self.need(column)?;
        self.t
            .get_col_as_vec::<T>(column)
            .map_err(|e| self.err(column, e))
    }
    fn cell<T: rubbl_casatables::CasaDataType>(
        &mut self,
        column: &str,
        row: usize,
    ) -> Result<T, IoError> {
        self.need(column)?;
        self.t
            .get_cell::<T>(column, row as u64)
            .map_err(|e| self.err(column, format!("row {row}: {e}")))
    }
    /// An array cell, flattened in casacore's storage order (the last axis of this
    /// crate's row-major shape fastest).
    fn vec<T: rubbl_casatables::CasaScalarData>(
        &mut self,
        column: &str,
        row: usize,
    ) -> Result<Vec<T>, IoError> {
        self.need(column)?;
        self.t
            .get_cell_as_vec::<T>(column, row as u64)
            .map_err(|e| self.err(column, format!("row {row}: {e}")))
    }
    fn rows(&self) -> usize {
        self.t.n_rows() as usize
    }
}

impl MsReader {
    /// Open the Measurement Set `path` and read its subtables.
    pub fn open(path: &Path, column: DataColumn) -> Result<Self, IoError> {
        let p = path.display().to_string();
        let mut main = open_table(path, "Measurement Set")?;
        let sub = |name: &'static str| -> Result<Tab<'_>, IoError> {
            let dir = path.join(name);
            if !dir.exists() {
                return Err(IoError::Format {
                    path: p.clone(),
                    reason: format!("subtable {name} is missing"),
                });
            }
            Ok(Tab {
                path: &p,
                name,
                t: open_table(&dir, &format!("subtable {name}"))?,
            })
        };

        let mut ant = sub("ANTENNA")?;
        let n_ant = ant.rows();
        let mut ecef = Vec::with_capacity(n_ant);
        for a in 0..n_ant {
            let v: Vec<f64> = ant.vec("POSITION", a)?;
            if v.len() != 3 || v.iter().any(|x| !x.is_finite()) {
                return Err(IoError::Dataset {
                    path: p.clone(),
                    dataset: "ANTENNA::POSITION".into(),
                    expected: "3 finite values per row".into(),
                    found: format!("{v:?} in row {a}"),
                });
            }
            ecef.push([v[0], v[1], v[2]]);
        }
        let names: Vec<String> = ant.col("NAME")?;
        let antenna_diameters_m: Vec<f64> = if ant.has("DISH_DIAMETER") {
            ant.col("DISH_DIAMETER")?
        } else {
            vec![0.0; n_ant]
        };
        let antenna_names = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| if n.is_empty() { format!("ANT{i}") } else { n })
            .collect();

        let mut obs = sub("OBSERVATION")?;
        let telescope_name = if obs.rows() > 0 {
            obs.cell::<String>("TELESCOPE_NAME", 0)?
        } else {
            String::new()
        };
        let centre_ecef = if obs.rows() > 0 && obs.has("TELESCOPE_LOCATION") {
            let v: Vec<f64> = obs.vec("TELESCOPE_LOCATION", 0)?;
            (v.len() == 3).then(|| [v[0], v[1], v[2]])
        } else {
            None
        };
        // Without it, the mean of the antennas that have positions (CASA pads the table
        // with all-zero rows for antenna numbers not in use).
        let centre_ecef = match centre_ecef {
            Some(c) => c,
            None => {
                let placed: Vec<&[f64; 3]> = ecef
                    .iter()
                    .filter(|e| e.iter().map(|x| x * x).sum::<f64>() > 1e12)
                    .collect();
                if placed.is_empty() {
                    return Err(IoError::Dataset {
                        path: p.clone(),
                        dataset: "ANTENNA::POSITION".into(),
                        expected: "geocentric (ITRF) antenna positions".into(),
                        found: "no position farther than 1000 km from the Earth's centre".into(),
                    });
                }
                let n = placed.len() as f64;
                let mut c = [0.0; 3];
                for e in placed {
                    for (ck, ek) in c.iter_mut().zip(e) {
                        *ck += ek / n;
                    }
                }
                c
            }
        };
        let site = Ecef {
            x_m: centre_ecef[0],
            y_m: centre_ecef[1],
            z_m: centre_ecef[2],
        }
        .to_geodetic();
        let antenna_positions_m = ecef
            .iter()
            .map(|e| {
                [
                    e[0] - centre_ecef[0],
                    e[1] - centre_ecef[1],
                    e[2] - centre_ecef[2],
                ]
            })
            .collect();

        let mut spw = sub("SPECTRAL_WINDOW")?;
        let mut spectral_windows = Vec::new();
        for r in 0..spw.rows() {
            let freqs_hz: Vec<f64> = spw.vec("CHAN_FREQ", r)?;
            let widths_hz: Vec<f64> = spw.vec("CHAN_WIDTH", r)?;
            if widths_hz.len() != freqs_hz.len() {
                return Err(IoError::Dataset {
                    path: p.clone(),
                    dataset: "SPECTRAL_WINDOW::CHAN_WIDTH".into(),
                    expected: format!("{} values (as CHAN_FREQ) in row {r}", freqs_hz.len()),
                    found: format!("{}", widths_hz.len()),
                });
            }
            spectral_windows.push(MsSpectralWindow {
                freqs_hz,
                widths_hz,
            });
        }

        let mut pol = sub("POLARIZATION")?;
        let mut polarisations = Vec::new();
        for r in 0..pol.rows() {
            let codes: Vec<i32> = pol.vec("CORR_TYPE", r)?;
            let products = codes
                .iter()
                .map(|&c| {
                    casa::product(c).ok_or_else(|| IoError::Dataset {
                        path: p.clone(),
                        dataset: "POLARIZATION::CORR_TYPE".into(),
                        expected: "Stokes codes 1–12 (I Q U V, RR … LL, XX … YY)".into(),
                        found: format!("{c} in row {r}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            polarisations.push(products);
        }

        let mut dd = sub("DATA_DESCRIPTION")?;
        let spw_ids: Vec<i32> = dd.col("SPECTRAL_WINDOW_ID")?;
        let pol_ids: Vec<i32> = dd.col("POLARIZATION_ID")?;
        let mut data_descriptions = Vec::new();
        for (r, (&s, &q)) in spw_ids.iter().zip(&pol_ids).enumerate() {
            if s < 0
                || q < 0
                || s as usize >= spectral_windows.len()
                || q as usize >= polarisations.len()
            {
                return Err(IoError::Dataset {
                    path: p.clone(),
                    dataset: "DATA_DESCRIPTION".into(),
                    expected: format!(
                        "spectral window ids below {} and polarisation ids below {}",
                        spectral_windows.len(),
                        polarisations.len()
                    ),
                    found: format!("({s}, {q}) in row {r}"),
                });
            }
            data_descriptions.push((s as usize, q as usize));
        }

        let mut field = sub("FIELD")?;
        let field_names: Vec<String> = field.col("NAME")?;
        let mut fields = Vec::new();
        for (r, name) in field_names.into_iter().enumerate() {
            // casacore [2, NUM_POLY + 1]: the constant term's RA and Dec come first.
            let dir: Vec<f64> = field.vec("PHASE_DIR", r)?;
            if dir.len() < 2
                || !dir.len().is_multiple_of(2)
                || !dir[0].is_finite()
                || !dir[1].is_finite()
            {
                return Err(IoError::Dataset {
                    path: p.clone(),
                    dataset: "FIELD::PHASE_DIR".into(),
                    expected: "[2, NUM_POLY + 1] finite directions (casacore order)".into(),
                    found: format!("{dir:?} in row {r}"),
                });
            }
            fields.push(MsField {
                name,
                phase_centre: RaDec {
                    ra_rad: dir[0],
                    dec_rad: dir[1],
                },
            });
        }

        let history = match sub("HISTORY") {
            Ok(mut h) => {
                if h.has("MESSAGE") {
                    h.col::<String>("MESSAGE")?.join("\n")
                } else {
                    String::new()
                }
            }
            Err(_) => String::new(),
        };

        let mut m = Tab {
            path: &p,
            name: "MAIN",
            t: main,
        };
        for c in [
            column.name(),
            "FLAG",
            "UVW",
            "ANTENNA1",
            "ANTENNA2",
            "TIME",
            "DATA_DESC_ID",
        ] {
            m.need(c)?;
        }
        let has_weight_spectrum = m.has("WEIGHT_SPECTRUM");
        if !has_weight_spectrum {
            m.need("WEIGHT")?;
        }
        let data_desc_id: Vec<i32> = m.col("DATA_DESC_ID")?;
        let n_rows = data_desc_id.len();
        let ids = |m: &mut Tab<'_>, col: &str, bound: usize| -> Result<Vec<usize>, IoError> {
            let v: Vec<i32> = m.col(col)?;
            v.iter()
                .enumerate()
                .map(|(r, &a)| {
                    if a >= 0 && (a as usize) < bound {
                        Ok(a as usize)
                    } else {
                        Err(IoError::Dataset {
                            path: p.clone(),
                            dataset: format!("MAIN::{col}"),
                            expected: format!("ids from 0 to {}", bound.saturating_sub(1)),
                            found: format!("{a} in row {r}"),
                        })
                    }
                })
                .collect()
        };
        let ant1 = ids(&mut m, "ANTENNA1", n_ant)?;
        let ant2 = ids(&mut m, "ANTENNA2", n_ant)?;
        let field_ids = if m.has("FIELD_ID") {
            ids(&mut m, "FIELD_ID", fields.len())?
        } else {
            vec![0; n_rows]
        };
        let time_jd: Vec<f64> = m.col::<f64>("TIME")?.into_iter().map(mjd_s_to_jd).collect();
        if let Some(r) = time_jd.iter().position(|t| !t.is_finite()) {
            return Err(m.err("TIME", format!("not finite in row {r}")));
        }
        let interval_s = if m.has("INTERVAL") {
            m.col("INTERVAL")?
        } else {
            vec![0.0; n_rows]
        };
        let flag_row = if m.has("FLAG_ROW") {
            m.col("FLAG_ROW")?
        } else {
            vec![false; n_rows]
        };
        let rows = RowColumns {
            ant1,
            ant2,
            time_jd,
            interval_s,
            field: field_ids,
            flag_row,
        };
        if let Some(k) = data_desc_id
            .iter()
            .position(|&d| d < 0 || d as usize >= data_descriptions.len())
        {
            return Err(IoError::Dataset {
                path: p.clone(),
                dataset: "MAIN::DATA_DESC_ID".into(),
                expected: format!("ids below {}", data_descriptions.len()),
                found: format!("{} in row {k}", data_desc_id[k]),
            });
        }
        let vis_units =
            m.t.get_column_keyword_record(column.name())
                .ok()
                .and_then(|mut r| {
                    r.get_field::<Vec<String>>("QuantumUnits")
                        .ok()
                        .and_then(|v| v.into_iter().next())
                        .or_else(|| r.get_field::<String>("QuantumUnits").ok())
                })
                .unwrap_or_else(|| "uncalib".into());
        let conjugated =
            m.t.get_keyword_record()
                .ok()
                .and_then(|mut r| r.get_field::<bool>(CONJUGATE_KEYWORD).ok())
                .unwrap_or(true);
        main = m.t;
        Ok(MsReader {
            rows,
            path: p,
            main: Some(main),
            header: MsHeader {
                telescope_name,
                site,
                antenna_names,
                antenna_positions_m,
                antenna_diameters_m,
                spectral_windows,
                polarisations,
                data_descriptions,
                fields,
                vis_units,
                history,
                conjugated,
                n_rows,
            },
            column,
            has_weight_spectrum,
            data_desc_id,
        })
    }

    /// The subtables.
    pub fn header(&self) -> &MsHeader {
        &self.header
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `DATA_DESC_ID` of every row.
    pub fn data_desc_ids(&self) -> &[i32] {
        &self.data_desc_id
    }

    /// The rows of `rows` whose data description is `ddid`, converted (module docs).
    pub fn read_block(&mut self, rows: Range<usize>, ddid: usize) -> Result<MsBlock, IoError> {
        let rows: Vec<usize> = rows
            .filter(|&r| r < self.data_desc_id.len() && self.data_desc_id[r] == ddid as i32)
            .collect();
        self.read_rows(&rows, ddid)
    }

    /// MAIN rows `rows`, all of data description `ddid`, converted (module docs).
    pub fn read_rows(&mut self, rows: &[usize], ddid: usize) -> Result<MsBlock, IoError> {
        if let Some(&r) = rows
            .iter()
            .find(|&&r| r >= self.data_desc_id.len() || self.data_desc_id[r] != ddid as i32)
        {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!("row {r} is not a row of data description {ddid}"),
            });
        }
        let h = &self.header;
        let (spw, pol) = *h
            .data_descriptions
            .get(ddid)
            .ok_or_else(|| IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "data description {ddid} requested; the file has {}",
                    h.data_descriptions.len()
                ),
            })?;
        let (nc, np) = (
            h.spectral_windows[spw].freqs_hz.len(),
            h.polarisations[pol].len(),
        );
        let n = rows.len();
        let conj = h.conjugated;
        let mut b = MsBlock {
            rows: rows.to_vec(),
            baselines: Vec::with_capacity(n),
            time_jd: Vec::with_capacity(n),
            interval_s: Vec::with_capacity(n),
            field: Vec::with_capacity(n),
            uvw_m: Array2::zeros((n, 3)),
            vis: Array3::zeros((n, nc, np)),
            flags: Array3::from_elem((n, nc, np), false),
            weights: Array3::zeros((n, nc, np)),
        };
        let path = self.path.clone();
        let mut m = Tab {
            path: &path,
            name: "MAIN",
            t: self.main.take().ok_or_else(|| IoError::Format {
                path: path.clone(),
                reason: "MAIN could not be read again after an earlier failure".into(),
            })?,
        };
        let cols = &self.rows;
        let result = (|| -> Result<(), IoError> {
            let column = self.column.name();
            let shape_err = |col: &str, row: usize, found: usize, want: usize| IoError::Dataset {
                path: path.clone(),
                dataset: format!("MAIN::{col}"),
                expected: format!("{want} values per cell (channels × correlations) in row {row}"),
                found: format!("{found}"),
            };
            let sign = if conj { -1.0 } else { 1.0 };
            for (i, &r) in rows.iter().enumerate() {
                b.baselines.push((cols.ant1[r], cols.ant2[r]));
                b.time_jd.push(cols.time_jd[r]);
                b.interval_s.push(cols.interval_s[r]);
                b.field.push(cols.field[r]);
                let uvw: Vec<f64> = m.vec("UVW", r)?;
                if uvw.len() != 3 {
                    return Err(shape_err("UVW", r, uvw.len(), 3));
                }
                for (o, &x) in b.uvw_m.row_mut(i).iter_mut().zip(&uvw) {
                    *o = sign * x;
                }
                let d: Vec<Complex32> = m.vec(column, r)?;
                if d.len() != nc * np {
                    return Err(shape_err(column, r, d.len(), nc * np));
                }
                for (o, v) in b.vis.slice_mut(s![i, .., ..]).iter_mut().zip(&d) {
                    *o = if conj { v.conj() } else { *v };
                }
                let f: Vec<bool> = m.vec("FLAG", r)?;
                if f.len() != nc * np {
                    return Err(shape_err("FLAG", r, f.len(), nc * np));
                }
                let row_flag = cols.flag_row[r];
                for (o, &v) in b.flags.slice_mut(s![i, .., ..]).iter_mut().zip(&f) {
                    *o = v || row_flag;
                }
                if self.has_weight_spectrum {
                    match m.t.get_cell_as_vec::<f32>("WEIGHT_SPECTRUM", r as u64) {
                        Ok(w) if w.len() == nc * np => {
                            for (o, &v) in b.weights.slice_mut(s![i, .., ..]).iter_mut().zip(&w) {
                                *o = v;
                            }
                            continue;
                        }
                        Ok(w) => return Err(shape_err("WEIGHT_SPECTRUM", r, w.len(), nc * np)),
                        // An undefined cell: fall back on WEIGHT, as casacore's readers do.
                        Err(_) if m.has("WEIGHT") => {}
                        Err(e) => return Err(m.err("WEIGHT_SPECTRUM", format!("row {r}: {e}"))),
                    }
                }
                let w: Vec<f32> = m.vec("WEIGHT", r)?;
                if w.len() != np {
                    return Err(shape_err("WEIGHT", r, w.len(), np));
                }
                for mut chan in b.weights.slice_mut(s![i, .., ..]).outer_iter_mut() {
                    chan.iter_mut().zip(&w).for_each(|(o, &x)| *o = x);
                }
            }
            Ok(())
        })();
        self.main = Some(m.t);
        result.map(|()| b)
    }
}

/// Read a whole Measurement Set into [`Visibilities`]: one data description, one field,
/// linear correlations, and every baseline at every time (rows in any order).
pub fn read_ms(path: &Path, column: DataColumn) -> Result<Visibilities, IoError> {
    let mut rd = MsReader::open(path, column)?;
    let p = rd.path().to_string();
    let bad = |reason: String| IoError::Format {
        path: p.clone(),
        reason,
    };
    let h = rd.header().clone();
    if h.data_descriptions.len() != 1 {
        return Err(bad(format!(
            "{} data descriptions (spectral window × polarisation setups): reading into Visibilities needs one",
            h.data_descriptions.len()
        )));
    }
    if h.fields.len() != 1 {
        return Err(bad(format!(
            "{} fields: reading into Visibilities needs one",
            h.fields.len()
        )));
    }
    let (spw, pol) = h.data_descriptions[0];
    let pols = linear_pols(&h.polarisations[pol]).map_err(|q| {
        bad(format!(
            "correlation {}: reading into Visibilities needs linear products (XX, XY, YX, YY)",
            q.name()
        ))
    })?;
    let block = rd.read_block(0..h.n_rows, 0)?;
    if block.rows.is_empty() {
        return Err(bad("no rows".into()));
    }
    let mut times: Vec<f64> = block.time_jd.clone();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut baselines: Vec<(usize, usize)> = Vec::new();
    let mut bl_index: HashMap<(usize, usize), usize> = HashMap::new();
    for &b in &block.baselines {
        bl_index.entry(b).or_insert_with(|| {
            baselines.push(b);
            baselines.len() - 1
        });
    }
    let (nt, nb) = (times.len(), baselines.len());
    if nt * nb != block.rows.len() {
        return Err(bad(format!(
            "{} rows for {nt} times × {nb} baselines: reading into Visibilities needs every baseline at every time once",
            block.rows.len()
        )));
    }
    let spw_ = &h.spectral_windows[spw];
    let (nc, np) = (spw_.freqs_hz.len(), pols.len());
    let mut vis = Array4::<Complex32>::zeros((nt, nb, nc, np));
    let mut flags = Array4::from_elem((nt, nb, nc, np), true);
    let mut weights = Array4::<f32>::zeros((nt, nb, nc, np));
    let mut uvw = Array3::<f64>::zeros((nt, nb, 3));
    let mut seen = vec![false; nt * nb];
    for i in 0..block.rows.len() {
        let t = times
            .binary_search_by(|x| x.total_cmp(&block.time_jd[i]))
            .expect("times are from the rows");
        let b = bl_index[&block.baselines[i]];
        if std::mem::replace(&mut seen[t * nb + b], true) {
            return Err(bad(format!(
                "baseline {:?} appears twice at time {} (row {})",
                block.baselines[i], block.time_jd[i], block.rows[i]
            )));
        }
        vis.slice_mut(s![t, b, .., ..])
            .assign(&block.vis.slice(s![i, .., ..]));
        flags
            .slice_mut(s![t, b, .., ..])
            .assign(&block.flags.slice(s![i, .., ..]));
        weights
            .slice_mut(s![t, b, .., ..])
            .assign(&block.weights.slice(s![i, .., ..]));
        uvw.slice_mut(s![t, b, ..])
            .assign(&block.uvw_m.slice(s![i, ..]));
    }
    let n_ant = h.antenna_names.len();
    let enu = h
        .antenna_positions_m
        .iter()
        .map(|e| {
            Ecef {
                x_m: e[0],
                y_m: e[1],
                z_m: e[2],
            }
            .to_enu_offset(h.site)
        })
        .collect();
    if let Some(&(p_, q_)) = baselines.iter().find(|&&(a, b)| a >= n_ant || b >= n_ant) {
        return Err(bad(format!(
            "baseline ({p_}, {q_}) names an antenna beyond the {n_ant} rows of ANTENNA"
        )));
    }
    let mut layout = ArrayLayout::new(
        h.telescope_name.clone(),
        h.site,
        h.antenna_names.clone(),
        enu,
    )
    .map_err(|e| bad(format!("antenna table: {e}")))?;
    layout.diameter_m = h.antenna_diameters_m.first().copied().filter(|&d| d > 0.0);
    let centre = h.fields[0].phase_centre;
    let mut lst_rad = Vec::with_capacity(nt);
    let mut app_ra_rad = Vec::with_capacity(nt);
    let mut app_dec_rad = Vec::with_capacity(nt);
    let mut frame_pa_rad = Vec::with_capacity(nt);
    for &t in &times {
        let e = EarthOrientation::new(t).map_err(|e| IoError::Content {
            path: p.clone(),
            what: format!("Earth orientation at JD {t}"),
            source: Box::new(e),
        })?;
        let f = ObserverFrame::new(e, h.site);
        let o = f.observed(centre);
        lst_rad.push(f.last_rad);
        app_ra_rad.push(o.app_ra_rad);
        app_dec_rad.push(o.dec_rad);
        frame_pa_rad.push(f.frame_pa_rad(centre));
    }
    let meta = VisMeta {
        layout,
        phase_centre: centre,
        phase_centre_name: h.fields[0].name.clone(),
        times_jd_utc: times,
        lst_rad,
        app_ra_rad,
        app_dec_rad,
        frame_pa_rad,
        int_time_s: block.interval_s[0],
        freqs_hz: spw_.freqs_hz.clone(),
        chan_width_hz: spw_.widths_hz[0],
        baselines,
        pols,
        units: VisUnits::from_name(&h.vis_units),
        history: h.history.clone(),
    };
    Visibilities::new(meta, vis, weights, flags, uvw).map_err(|e| IoError::Content {
        path: p,
        what: "the data do not make a visibility set".into(),
        source: Box::new(e),
    })
}

impl MsReader {
    /// uvw (m, fxgrid's convention) of MAIN rows `rows`, without the data.
    pub(super) fn read_uvw(&mut self, rows: &[usize]) -> Result<Array2<f64>, IoError> {
        let path = self.path.clone();
        let sign = if self.header.conjugated { -1.0 } else { 1.0 };
        let t = self.main.as_mut().ok_or_else(|| IoError::Format {
            path: path.clone(),
            reason: "MAIN could not be read again after an earlier failure".into(),
        })?;
        let mut out = Array2::zeros((rows.len(), 3));
        for (i, &r) in rows.iter().enumerate() {
            let v: Vec<f64> = t
                .get_cell_as_vec("UVW", r as u64)
                .map_err(|e| IoError::Dataset {
                    path: path.clone(),
                    dataset: "MAIN::UVW".into(),
                    expected: "3 values per row".into(),
                    found: format!("row {r}: {e}"),
                })?;
            if v.len() != 3 {
                return Err(IoError::Dataset {
                    path: path.clone(),
                    dataset: "MAIN::UVW".into(),
                    expected: "3 values per row".into(),
                    found: format!("{} in row {r}", v.len()),
                });
            }
            for (o, x) in out.row_mut(i).iter_mut().zip(v) {
                *o = sign * x;
            }
        }
        Ok(out)
    }
}
