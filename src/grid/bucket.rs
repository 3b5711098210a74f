//! Bucketing: the visibilities a plan holds, sorted by (first w-plane, uv tile) so that
//! each tile's samples are read together. An entry is a run of consecutive channels of
//! one row that fall in the same bucket (a short baseline's channels usually share a
//! tile), packed into a `u64`.

use rayon::prelude::*;

use super::geometry::{Geometry, Loc, Locs, LOCS};
use super::params::TILE;
use crate::simd::Backend;
use crate::util::SharedMut;

/// How a sample's location becomes its bucket: its first w-plane (the last `n_first − 1`
/// are never first) and its uv tile of `TILE × TILE` cells.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyMap {
    /// Tiles along u.
    pub(super) ntu: usize,
    /// Tiles in a plane.
    pub(super) n_tiles: usize,
    /// Planes that can be a sample's first.
    pub(super) n_first: usize,
}

impl KeyMap {
    /// The bucket of `loc`.
    #[inline(always)]
    pub(super) fn key(&self, loc: &Loc) -> usize {
        let t = (loc.ay / TILE) * self.ntu + loc.ax / TILE;
        loc.plane.min(self.n_first - 1) * self.n_tiles + t
    }

    /// The number of buckets.
    pub(super) fn n_keys(&self) -> usize {
        self.n_first * self.n_tiles
    }
}

/// Bits of a bucket entry that hold the channel.
pub(super) const CHAN_BITS: u32 = 16;

/// Blocks of rows for the bucketing's counting sort: up to four per thread, so rayon can
/// even out uneven blocks, as long as the per-block counts (`n_keys` each) stay within
/// 4 MiB; at least one per thread (with w-stacking there are many keys, and the counts
/// are alive with the runs and entries; a grid with over a million keys dwarfs them).
fn bucket_blocks(threads: usize, nrow: usize, n_keys: usize) -> usize {
    const MAX_COUNTS: usize = 1 << 20;
    let threads = threads.max(1);
    let per_thread = (MAX_COUNTS / (n_keys.max(1) * threads)).clamp(1, 4);
    (threads * per_thread).min(nrow).max(1)
}

/// One block of rows' share of the bucketing: its runs `(key, entry)` in row order, its
/// count of runs per key (then its first slot per key) and its number of samples.
struct BlockRuns {
    runs: Vec<(u32, u64)>,
    counts: Vec<u32>,
    n_values: usize,
}

/// Channels looked at together when finding a row's runs (the longest entry).
pub(super) const RUN_CHUNK: usize = LOCS;

/// Calls `f(key, entry)` for each run of consecutive channels of `row` that `include` takes
/// and that share a bucket (`map.key` of their location). Runs never cross a boundary of
/// [`RUN_CHUNK`] channels (a run split in two is still two correct entries). A chunk's
/// locations are made together (into `locs`), then its keys, then the keys are split into
/// runs without a branch per channel.
#[inline(always)]
fn row_runs(
    geom: &Geometry<'_>,
    row: usize,
    nchan: usize,
    include: &impl Fn(usize, usize) -> bool,
    (map, simd): (&KeyMap, Backend),
    locs: &mut Locs,
    mut f: impl FnMut(usize, u64),
) {
    const NONE: usize = usize::MAX;
    let mut keys = [0usize; RUN_CHUNK];
    let mut starts = [0usize; RUN_CHUNK + 1];
    let mut run_keys = [0usize; RUN_CHUNK];
    for c0 in (0..nchan).step_by(RUN_CHUNK) {
        let m = (nchan - c0).min(RUN_CHUNK);
        geom.locate_run(simd, row, c0, m, locs);
        for (i, key) in keys[..m].iter_mut().enumerate() {
            *key = if include(row, c0 + i) {
                map.key(&locs.get(i))
            } else {
                NONE
            };
        }
        // Every channel writes its start and key at the next free run slot; only a
        // channel that starts a run moves past it.
        let mut n = 0;
        let mut prev = NONE;
        for (i, &key) in keys[..m].iter().enumerate() {
            starts[n] = i;
            run_keys[n] = key;
            n += (i == 0 || key != prev) as usize;
            prev = key;
        }
        starts[n] = m;
        for r in 0..n {
            if run_keys[r] != NONE {
                f(
                    run_keys[r],
                    pack(row, c0 + starts[r], starts[r + 1] - starts[r]),
                );
            }
        }
    }
}

/// A run of `len` channels from `c0` of row `row`, as one bucket entry.
#[inline(always)]
pub(super) fn pack(row: usize, c0: usize, len: usize) -> u64 {
    ((row as u64) << 32) | ((c0 as u64) << CHAN_BITS) | len as u64
}

/// `(row, first channel, number of channels)` of a bucket entry.
#[inline(always)]
pub(super) fn unpack(e: u64) -> (usize, usize, usize) {
    (
        (e >> 32) as usize,
        ((e >> CHAN_BITS) & 0xffff) as usize,
        (e & 0xffff) as usize,
    )
}

/// The bucketed samples of a plan.
pub(super) struct Buckets {
    /// Runs of channels of one row (see [`pack`]), sorted by key, in row order within a key.
    pub(super) entries: Vec<u64>,
    /// Start of each key's entries in `entries`; one extra at the end.
    pub(super) offsets: Vec<usize>,
    /// Number of samples in the buckets.
    pub(super) n_values: usize,
}

impl Buckets {
    /// Sorts every sample `(row, chan)` of `nrow × nchan` that `include` accepts into the
    /// bucket `map.key(location)`, with a counting sort over blocks of rows: each
    /// block finds and counts its runs per key ([`count_runs`]), a prefix sum gives every
    /// block its first slot per key ([`assign_slots`]), and each block places its runs
    /// there ([`place_runs`]), so the entries of a key are in row order.
    pub(super) fn sort(
        geom: &Geometry<'_>,
        nrow: usize,
        nchan: usize,
        include: &(impl Fn(usize, usize) -> bool + Sync),
        map: &KeyMap,
        simd: Backend,
    ) -> Buckets {
        let n_keys = map.n_keys();
        let mut blocks = count_runs(geom, nrow, nchan, include, (map, simd));
        let n_values = blocks.iter().map(|b| b.n_values).sum();
        let offsets = assign_slots(&mut blocks, n_keys);
        let entries = place_runs(&mut blocks, offsets[n_keys]);
        Buckets {
            entries,
            offsets,
            n_values,
        }
    }

    /// Entries of bucket `key`.
    pub(super) fn range(&self, key: usize) -> std::ops::Range<usize> {
        self.offsets[key]..self.offsets[key + 1]
    }

    /// Whether bucket `key` holds no sample.
    pub(super) fn is_empty(&self, key: usize) -> bool {
        self.offsets[key + 1] == self.offsets[key]
    }

    /// Position of each entry's first sample in bucket order, one extra at the end (a
    /// parallel prefix sum over the entries' lengths), for values prepared in that order.
    pub(super) fn value_starts(&self) -> Vec<u32> {
        const CHUNK: usize = 1 << 14;
        let entries = &self.entries;
        let chunk_totals: Vec<usize> = entries
            .par_chunks(CHUNK)
            .map(|c| c.iter().map(|&e| unpack(e).2).sum())
            .collect();
        let mut chunk_starts = Vec::with_capacity(chunk_totals.len());
        let mut total = 0usize;
        for t in &chunk_totals {
            chunk_starts.push(total);
            total += t;
        }
        let mut value_start = vec![0u32; entries.len() + 1];
        value_start[..entries.len()]
            .par_chunks_mut(CHUNK)
            .zip(entries.par_chunks(CHUNK))
            .zip(chunk_starts.par_iter())
            .for_each(|((vs, es), &start)| {
                let mut t = start;
                for (v, &e) in vs.iter_mut().zip(es) {
                    *v = t as u32;
                    t += unpack(e).2;
                }
            });
        value_start[entries.len()] = total as u32;
        debug_assert_eq!(total, self.n_values);
        value_start
    }
}

/// First pass: each block of rows finds its runs and counts them per key.
fn count_runs(
    geom: &Geometry<'_>,
    nrow: usize,
    nchan: usize,
    include: &(impl Fn(usize, usize) -> bool + Sync),
    (map, simd): (&KeyMap, Backend),
) -> Vec<BlockRuns> {
    let n_keys = map.n_keys();
    let n_blocks = bucket_blocks(rayon::current_num_threads(), nrow, n_keys);
    let block = nrow.div_ceil(n_blocks).max(1);
    (0..nrow.div_ceil(block))
        .into_par_iter()
        .map(|bi| {
            let mut b = BlockRuns {
                counts: vec![0u32; n_keys],
                runs: Vec::new(),
                n_values: 0,
            };
            let mut locs = Locs::default();
            for row in bi * block..((bi + 1) * block).min(nrow) {
                row_runs(geom, row, nchan, include, (map, simd), &mut locs, |k, e| {
                    b.counts[k] += 1;
                    b.n_values += unpack(e).2;
                    b.runs.push((k as u32, e));
                });
            }
            b
        })
        .collect()
}

/// Second pass: each block's count per key becomes its first slot for that key; returns
/// where each key starts, with the total number of entries at the end.
fn assign_slots(blocks: &mut [BlockRuns], n_keys: usize) -> Vec<usize> {
    let mut offsets = vec![0usize; n_keys + 1];
    let mut n_entries = 0usize;
    for (k, o) in offsets[..n_keys].iter_mut().enumerate() {
        *o = n_entries;
        for b in blocks.iter_mut() {
            let n = b.counts[k] as usize;
            b.counts[k] = n_entries as u32;
            n_entries += n;
        }
    }
    offsets[n_keys] = n_entries;
    offsets
}

/// Third pass: each block writes its runs at its slots.
fn place_runs(blocks: &mut [BlockRuns], n_entries: usize) -> Vec<u64> {
    let mut entries = vec![0u64; n_entries];
    let out = SharedMut(entries.as_mut_ptr());
    blocks.par_iter_mut().for_each(|b| {
        for &(k, e) in &b.runs {
            let slot = &mut b.counts[k as usize];
            // SAFETY: the block's slots for key k run from the start given it by
            // `assign_slots`, one per run of key k it counted; no other block uses them.
            unsafe { *out.ptr().add(*slot as usize) = e };
            *slot += 1;
        }
    });
    entries
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, CowArray};

    use super::*;

    const N: usize = 64;
    const MAP: KeyMap = KeyMap {
        ntu: N / TILE,
        n_tiles: (N / TILE) * (N / TILE),
        n_first: 1,
    };

    /// A 64 × 64 grid without w-stacking, one cell per wavelength; `uvw` in metres, `scale`
    /// wavelengths per metre of each channel.
    fn geometry(uvw: Array2<f64>, scale: Vec<f64>) -> Geometry<'static> {
        Geometry {
            uvw: CowArray::from(uvw),
            scale,
            su: -1.0,
            sv: 1.0,
            nu: N,
            nv: N,
            half: 2.0,
            wstack: false,
            w0: 0.0,
            inv_dw: 1.0,
        }
    }

    fn key_of(loc: &Loc) -> usize {
        MAP.key(loc)
    }

    fn backends() -> impl Iterator<Item = Backend> {
        let levels = crate::simd::SimdLevel::ALL
            .into_iter()
            .filter(|l| l.is_supported());
        levels.map(|l| Backend::new(Some(l)).unwrap())
    }

    /// Every included sample is in exactly one entry, in the bucket of its location; each
    /// entry is one row's run inside one chunk of `RUN_CHUNK` channels; a key's entries
    /// are in row order.
    fn check(
        geom: &Geometry<'_>,
        nrow: usize,
        nchan: usize,
        include: impl Fn(usize, usize) -> bool + Sync,
    ) -> Buckets {
        let n_keys = MAP.n_keys();
        let sorted: Vec<Buckets> = backends()
            .map(|simd| Buckets::sort(geom, nrow, nchan, &include, &MAP, simd))
            .collect();
        let b = sorted.into_iter().reduce(|a, b| {
            assert!(a.entries == b.entries && a.offsets == b.offsets);
            b
        });
        let b = b.expect("the portable level is always supported");
        let mut seen = vec![0u8; nrow * nchan];
        for key in 0..n_keys {
            let mut last_row = 0;
            for &e in &b.entries[b.range(key)] {
                let (row, c0, len) = unpack(e);
                assert!(
                    len >= 1 && c0 / RUN_CHUNK == (c0 + len - 1) / RUN_CHUNK,
                    "{row} {c0} {len}"
                );
                assert!(row >= last_row, "key {key}: rows out of order");
                last_row = row;
                for c in c0..c0 + len {
                    assert!(include(row, c));
                    assert_eq!(key_of(&geom.locate(row, c)), key);
                    seen[row * nchan + c] += 1;
                }
            }
        }
        for r in 0..nrow {
            for c in 0..nchan {
                assert_eq!(
                    seen[r * nchan + c],
                    include(r, c) as u8,
                    "sample ({r}, {c})"
                );
            }
        }
        assert_eq!(b.n_values, seen.iter().map(|&s| s as usize).sum::<usize>());
        let starts = b.value_starts();
        assert_eq!(starts.len(), b.entries.len() + 1);
        assert_eq!(*starts.last().unwrap() as usize, b.n_values);
        b
    }

    #[test]
    fn a_short_baseline_is_one_run_per_chunk_of_channels() {
        // 150 channels whose u, v barely move: one bucket, runs cut only at 64 and 128.
        let uvw = Array2::from_shape_vec((2, 3), vec![3.0, 4.0, 0.0, -5.0, 2.0, 0.0]).unwrap();
        let scale: Vec<f64> = (0..150).map(|c| 1.0 + c as f64 * 1e-4).collect();
        let b = check(&geometry(uvw, scale), 2, 150, |_, _| true);
        assert_eq!(b.entries.len(), 2 * 3);
    }

    #[test]
    fn flags_cut_runs_and_are_left_out() {
        let uvw =
            Array2::from_shape_vec((3, 3), vec![3.0, 4.0, 0.0, -5.0, 2.0, 0.0, 1.0, 1.0, 0.0])
                .unwrap();
        let scale: Vec<f64> = (0..100).map(|c| 1.0 + c as f64 * 1e-4).collect();
        let flagged = |r: usize, c: usize| (r == 0 && c == 10) || (r == 1 && c >= 60) || r == 2;
        let b = check(&geometry(uvw, scale), 3, 100, |r, c| !flagged(r, c));
        // Row 0: [0, 10), [11, 64), [64, 100); row 1: [0, 60); row 2 none.
        assert_eq!(b.entries.len(), 4);
        assert_eq!(b.n_values, 99 + 60);
    }

    #[test]
    fn long_baselines_cross_tiles_and_empty_tiles_stay_empty() {
        // Baselines sweeping across the grid: channels change tiles within a chunk.
        let nrow = 40;
        let uvw = Array2::from_shape_fn((nrow, 3), |(r, k)| match k {
            0 => (r as f64 - 20.0) * 0.6,
            1 => (r % 7) as f64 * 0.9,
            _ => 0.0,
        });
        let scale: Vec<f64> = (0..200).map(|c| 1.0 + c as f64 * 0.01).collect();
        let geom = geometry(uvw, scale);
        let b = check(&geom, nrow, 200, |r, c| (r + c) % 13 != 0);
        let n_keys = MAP.n_keys();
        let used: std::collections::BTreeSet<usize> = (0..nrow)
            .flat_map(|r| (0..200).map(move |c| (r, c)))
            .filter(|&(r, c)| (r + c) % 13 != 0)
            .map(|(r, c)| key_of(&geom.locate(r, c)))
            .collect();
        assert!(
            used.len() > 1 && used.len() < n_keys,
            "{} keys used",
            used.len()
        );
        for key in 0..n_keys {
            assert_eq!(b.is_empty(key), !used.contains(&key), "key {key}");
        }
    }

    #[test]
    fn nothing_included_gives_empty_buckets() {
        let uvw = Array2::from_shape_vec((1, 3), vec![1.0, 1.0, 0.0]).unwrap();
        let b = check(&geometry(uvw, vec![1.0; 5]), 1, 5, |_, _| false);
        assert!(b.entries.is_empty() && b.n_values == 0);
    }
}
