//! [`MsSource`]: a Measurement Set as a [`crate::io::VisSource`], the rows of every
//! spectral window of one baseline-time merged into one UVH5-style row.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use ndarray::{s, Array2, Array3};
use num_complex::Complex64;

use super::read::{DataColumn, MsReader};
use crate::io::uvh5::{BltMeta, CentreKind, PhaseCentre, Uvh5Block, Uvh5Header, VisStorage};
use crate::io::IoError;
use crate::telescope::{EarthOrientation, ObserverFrame};

/// A Measurement Set as a [`crate::io::VisSource`].
///
/// A row of the source (a "baseline-time") is one (time, antenna 1, antenna 2, field) of
/// MAIN, in order of first appearance; its channels are those of every data description
/// in turn (their spectral windows concatenated, as UVH5's flexible windows are). Every
/// data description must have the same correlations. Channels of a window with no MAIN
/// row for a baseline-time read as flagged, with weight 0. Every field is a sidereal
/// phase-centre entry (id = field id).
pub struct MsSource {
    path: String,
    reader: Mutex<MsReader>,
    header: Uvh5Header,
    /// MAIN rows of each source row: (data description, row).
    groups: Vec<Vec<(usize, usize)>>,
    /// First channel of each data description in the merged channel axis.
    chan_offset: Vec<usize>,
    frames: Mutex<HashMap<u64, ObserverFrame>>,
}

// SAFETY: casacore's table objects may be used from any thread as long as one thread at a
// time does; every access to the MsReader goes through the Mutex.
unsafe impl Send for MsSource {}
unsafe impl Sync for MsSource {}

impl MsSource {
    /// Open `path`, reading `column` (type docs).
    pub fn open(path: &Path, column: DataColumn) -> Result<Self, IoError> {
        let rd = MsReader::open(path, column)?;
        let h = &rd.header;
        let bad = |reason: String| IoError::Format {
            path: rd.path.clone(),
            reason,
        };
        let Some(&(_, pol0)) = h.data_descriptions.first() else {
            return Err(bad("DATA_DESCRIPTION has no rows".into()));
        };
        let pols = h.polarisations[pol0].clone();
        if let Some(&(_, p)) = h
            .data_descriptions
            .iter()
            .find(|&&(_, p)| h.polarisations[p] != pols)
        {
            return Err(bad(format!(
                "data descriptions with different correlations ({:?} and {:?}): fxgrid reads one set of correlations",
                pols.iter().map(|q| q.name()).collect::<Vec<_>>(),
                h.polarisations[p].iter().map(|q| q.name()).collect::<Vec<_>>()
            )));
        }
        let mut chan_offset = Vec::with_capacity(h.data_descriptions.len());
        let (mut freqs_hz, mut channel_width_hz, mut spw_of_channel) =
            (Vec::new(), Vec::new(), Vec::new());
        for &(spw, _) in &h.data_descriptions {
            chan_offset.push(freqs_hz.len());
            let w = &h.spectral_windows[spw];
            freqs_hz.extend_from_slice(&w.freqs_hz);
            channel_width_hz.extend_from_slice(&w.widths_hz);
            spw_of_channel.extend(std::iter::repeat_n(spw as i64, w.freqs_hz.len()));
        }
        // Merge the rows of one (time, baseline, field) across data descriptions.
        let c = &rd.rows;
        let mut index: HashMap<(u64, usize, usize, usize), usize> = HashMap::new();
        let mut groups: Vec<Vec<(usize, usize)>> = Vec::new();
        for (r, &dd) in rd.data_desc_id.iter().enumerate() {
            let key = (c.time_jd[r].to_bits(), c.ant1[r], c.ant2[r], c.field[r]);
            let g = *index.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            if groups[g].iter().any(|&(d, _)| d == dd as usize) {
                return Err(bad(format!(
                    "row {r} repeats time {}, baseline ({}, {}), field {} and data description {dd} of row {}",
                    c.time_jd[r],
                    c.ant1[r],
                    c.ant2[r],
                    c.field[r],
                    groups[g].iter().find(|&&(d, _)| d == dd as usize).map_or(0, |x| x.1)
                )));
            }
            groups[g].push((dd as usize, r));
        }
        let mut times = c.time_jd.clone();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let bls: std::collections::HashSet<(usize, usize)> =
            c.ant1.iter().copied().zip(c.ant2.iter().copied()).collect();
        let ants: std::collections::BTreeSet<usize> =
            bls.iter().flat_map(|&(a, b)| [a, b]).collect();
        let mut spw_array: Vec<i64> = h.data_descriptions.iter().map(|d| d.0 as i64).collect();
        spw_array.dedup();
        let header = Uvh5Header {
            version: None,
            legacy: false,
            telescope_name: h.telescope_name.clone(),
            instrument: h.telescope_name.clone(),
            site: h.site,
            antenna_numbers: (0..h.antenna_names.len() as i64).collect(),
            antenna_names: h.antenna_names.clone(),
            antenna_positions_m: h.antenna_positions_m.clone(),
            antenna_diameters_m: Some(h.antenna_diameters_m.clone()),
            n_blts: groups.len(),
            n_bls: bls.len(),
            n_times: times.len(),
            n_ants_data: Some(ants.len()),
            freqs_hz,
            channel_width_hz,
            spw_array,
            spw_of_channel,
            pols,
            vis_units: h.vis_units.clone(),
            phase_centres: h
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| PhaseCentre {
                    id: i as i64,
                    name: f.name.clone(),
                    kind: CentreKind::Sidereal {
                        lon_rad: f.phase_centre.ra_rad,
                        lat_rad: f.phase_centre.dec_rad,
                        frame: "icrs".into(),
                        epoch: None,
                    },
                })
                .collect(),
            history: h.history.clone(),
            vis_storage: VisStorage::Complex64,
            rank4: false,
        };
        Ok(MsSource {
            path: rd.path.clone(),
            reader: Mutex::new(rd),
            header,
            groups,
            chan_offset,
            frames: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, MsReader> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn frame(&self, jd: f64) -> Result<ObserverFrame, IoError> {
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = frames.get(&jd.to_bits()) {
            return Ok(*f);
        }
        let e = EarthOrientation::new(jd).map_err(|e| IoError::Content {
            path: self.path.clone(),
            what: format!("Earth orientation at JD {jd}"),
            source: Box::new(e),
        })?;
        let f = ObserverFrame::new(e, self.header.site);
        frames.insert(jd.to_bits(), f);
        Ok(f)
    }

    fn check_range(&self, blts: &Range<usize>) -> Result<(), IoError> {
        if blts.start > blts.end || blts.end > self.header.n_blts {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "rows {}..{} requested; the Measurement Set has {}",
                    blts.start, blts.end, self.header.n_blts
                ),
            });
        }
        Ok(())
    }

    /// The first MAIN row of each source row of `blts`.
    fn first_rows(&self, blts: &Range<usize>) -> Vec<usize> {
        self.groups[blts.clone()].iter().map(|g| g[0].1).collect()
    }

    fn meta(&self, blts: &Range<usize>, uvw_m: Array2<f64>) -> Result<BltMeta, IoError> {
        let first = self.first_rows(blts);
        let (ant_1, ant_2, time_jd, integration_time_s, phase_centre_id) = {
            let rd = self.lock();
            let c = &rd.rows;
            (
                first.iter().map(|&r| c.ant1[r] as i64).collect::<Vec<_>>(),
                first.iter().map(|&r| c.ant2[r] as i64).collect::<Vec<_>>(),
                first.iter().map(|&r| c.time_jd[r]).collect::<Vec<_>>(),
                first.iter().map(|&r| c.interval_s[r]).collect::<Vec<_>>(),
                first.iter().map(|&r| c.field[r] as i64).collect::<Vec<_>>(),
            )
        };
        let n = first.len();
        let (mut lst_rad, mut app_ra_rad, mut app_dec_rad, mut frame_pa_rad) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (&t, &id) in time_jd.iter().zip(&phase_centre_id) {
            let f = self.frame(t)?;
            let p = self.header.phase_centres[id as usize]
                .radec()
                .expect("every field is sidereal");
            let o = f.observed(p);
            lst_rad.push(f.last_rad);
            app_ra_rad.push(o.app_ra_rad);
            app_dec_rad.push(o.dec_rad);
            frame_pa_rad.push(f.frame_pa_rad(p));
        }
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
}

impl crate::io::VisSource for MsSource {
    fn path(&self) -> &str {
        &self.path
    }
    fn header(&self) -> &Uvh5Header {
        &self.header
    }
    fn check_counts(&self) -> Result<(), IoError> {
        Ok(())
    }
    fn blocks(&self, n_chans: usize, max_samples: usize) -> Vec<Range<usize>> {
        let per_row = (n_chans * self.header.pols.len()).max(1);
        let step = (max_samples / per_row).max(1);
        (0..self.header.n_blts)
            .step_by(step)
            .map(|s| s..(s + step).min(self.header.n_blts))
            .collect()
    }
    fn read_times(&self, blts: Range<usize>) -> Result<Vec<f64>, IoError> {
        self.check_range(&blts)?;
        let first = self.first_rows(&blts);
        let rd = self.lock();
        Ok(first.iter().map(|&r| rd.rows.time_jd[r]).collect())
    }
    fn read_meta(&self, blts: Range<usize>) -> Result<BltMeta, IoError> {
        self.check_range(&blts)?;
        let first = self.first_rows(&blts);
        let uvw = self.lock().read_uvw(&first)?;
        self.meta(&blts, uvw)
    }
    fn read_block(
        &self,
        blts: Range<usize>,
        chans: Range<usize>,
        with_vis: bool,
    ) -> Result<Uvh5Block, IoError> {
        self.check_range(&blts)?;
        let nf = self.header.freqs_hz.len();
        if chans.start > chans.end || chans.end > nf {
            return Err(IoError::Format {
                path: self.path.clone(),
                reason: format!(
                    "channels {}..{} requested; the file has {nf}",
                    chans.start, chans.end
                ),
            });
        }
        let (n, nc, np) = (blts.len(), chans.len(), self.header.pols.len());
        let mut vis = Array3::<Complex64>::zeros((n, nc, np));
        let mut flags = Array3::from_elem((n, nc, np), true);
        let mut nsamples = Array3::<f32>::zeros((n, nc, np));
        let mut uvw = None;
        let n_dd = self.chan_offset.len();
        for dd in 0..n_dd {
            // The window's channels within the request, in merged and in own numbering.
            let lo = self.chan_offset[dd];
            let hi = self.chan_offset.get(dd + 1).copied().unwrap_or(nf);
            let (a, b) = (lo.max(chans.start), hi.min(chans.end));
            let (places, rows): (Vec<usize>, Vec<usize>) = self.groups[blts.clone()]
                .iter()
                .enumerate()
                .filter_map(|(i, g)| g.iter().find(|x| x.0 == dd).map(|x| (i, x.1)))
                .unzip();
            if rows.is_empty() || (a >= b && uvw.is_some()) {
                continue;
            }
            let blk = self.lock().read_rows(&rows, dd)?;
            for (k, &i) in places.iter().enumerate() {
                if a < b {
                    let src = s![k, a - lo..b - lo, ..];
                    let dst = s![i, a - chans.start..b - chans.start, ..];
                    if with_vis {
                        vis.slice_mut(dst)
                            .zip_mut_with(&blk.vis.slice(src), |o, v| {
                                *o = Complex64::new(v.re as f64, v.im as f64)
                            });
                    }
                    flags.slice_mut(dst).assign(&blk.flags.slice(src));
                    nsamples.slice_mut(dst).assign(&blk.weights.slice(src));
                }
            }
            // uvw from each source row's first MAIN row (data description order).
            if uvw.is_none() && places.len() == n {
                uvw = Some(blk.uvw_m);
            }
        }
        let uvw = match uvw {
            Some(u) => u,
            None => self.lock().read_uvw(&self.first_rows(&blts))?,
        };
        let meta = self.meta(&blts, uvw)?;
        Ok(Uvh5Block {
            blts,
            chans,
            meta,
            vis: with_vis.then_some(vis),
            flags,
            nsamples,
        })
    }
}
