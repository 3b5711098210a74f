//! Baseline ordering (docs/CONVENTIONS.md, "Antennas, inputs and baselines"): pairs `(p, q)` with `p <= q`,
//! autocorrelations included, row by row of the upper triangle:
//! `(0,0), (0,1), …, (0,n−1), (1,1), (1,2), …, (n−1,n−1)`.
//!
//! Index ↔ pair conversions are O(1) and exact for any `n_ant` up to 2³² (tested up to
//! 65 536 and beyond). A baseline is never encoded as `256·p + q`.

/// Number of baselines of `n_ant` antennas, autocorrelations included: `n(n+1)/2`.
pub fn n_baselines(n_ant: usize) -> usize {
    n_ant * (n_ant + 1) / 2
}

/// Number of baselines in rows `0..p` of the triangle (the index of `(p, p)`).
fn row_start(p: u64, n: u64) -> u64 {
    // p·(2n − p + 1)/2; the product is even so the division is exact.
    p * (2 * n - p + 1) / 2
}

/// Index of baseline `(p, q)` among `n_ant` antennas.
///
/// # Panics
/// If `p > q` or `q >= n_ant` (a caller's contract breach, not user input).
pub fn baseline_index(p: usize, q: usize, n_ant: usize) -> usize {
    assert!(
        p <= q && q < n_ant,
        "baseline ({p}, {q}) invalid for {n_ant} antennas"
    );
    (row_start(p as u64, n_ant as u64) + (q - p) as u64) as usize
}

/// The pair `(p, q)` of baseline index `k` among `n_ant` antennas.
///
/// # Panics
/// If `k >= n_baselines(n_ant)`.
pub fn baseline_pair(k: usize, n_ant: usize) -> (usize, usize) {
    assert!(
        k < n_baselines(n_ant),
        "baseline index {k} out of range for {n_ant} antennas"
    );
    let (k, n) = (k as u64, n_ant as u64);
    // Solve row_start(p) <= k < row_start(p + 1) for p. The floating-point root is within
    // one of the answer for any n < 2^32; the integer steps make it exact.
    let b = (2 * n + 1) as f64;
    let disc = (b * b - 8.0 * k as f64).max(0.0);
    let mut p = ((b - disc.sqrt()) / 2.0).floor().max(0.0) as u64;
    p = p.min(n - 1);
    while p > 0 && row_start(p, n) > k {
        p -= 1;
    }
    while p + 1 < n && row_start(p + 1, n) <= k {
        p += 1;
    }
    let q = p + (k - row_start(p, n));
    (p as usize, q as usize)
}

/// The correlator input of antenna `ant`, polarisation `pol` (0 = X, 1 = Y):
/// `2·ant + pol` (docs/CONVENTIONS.md, "Antennas, inputs and baselines").
pub fn correlator_input(ant: usize, pol: usize) -> usize {
    debug_assert!(pol < 2, "polarisation index {pol} is not 0 (X) or 1 (Y)");
    2 * ant + pol
}

/// The `(antenna, pol)` of a correlator input.
pub fn input_antenna_pol(input: usize) -> (usize, usize) {
    (input / 2, input % 2)
}

/// All baselines of `n_ant` antennas in the DESIGN order.
pub fn all_baselines(n_ant: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(n_baselines(n_ant));
    for p in 0..n_ant {
        for q in p..n_ant {
            out.push((p, q));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_interleave_the_polarisations_of_each_antenna() {
        assert_eq!(correlator_input(0, 0), 0);
        assert_eq!(correlator_input(0, 1), 1);
        assert_eq!(correlator_input(3, 0), 6);
        for i in 0..1000 {
            let (a, p) = input_antenna_pol(i);
            assert_eq!(correlator_input(a, p), i);
        }
    }

    #[test]
    fn small_orders_match_the_row_by_row_enumeration() {
        for n in 1..40 {
            for (k, &(p, q)) in all_baselines(n).iter().enumerate() {
                assert_eq!(baseline_index(p, q, n), k);
                assert_eq!(baseline_pair(k, n), (p, q));
            }
        }
    }

    #[test]
    fn exact_up_to_65536_antennas_and_beyond() {
        for &n in &[
            255usize,
            256,
            257,
            512,
            4096,
            65_535,
            65_536,
            131_072,
            1 << 20,
        ] {
            let nb = n_baselines(n);
            // Row boundaries, the first and last rows, and a stride through the middle.
            let mut ks: Vec<usize> = vec![0, 1, n - 1, n, nb - 2, nb - 1];
            for p in [0, 1, 2, n / 3, n / 2, n - 3, n - 2, n - 1] {
                let s = baseline_index(p, p, n);
                ks.extend([s, s + (n - 1 - p)]);
                if s > 0 {
                    ks.push(s - 1);
                }
            }
            ks.extend((0..2000).map(|i| i * (nb / 2000)));
            for k in ks {
                let (p, q) = baseline_pair(k, n);
                assert!(p <= q && q < n);
                assert_eq!(baseline_index(p, q, n), k, "n={n} k={k}");
            }
        }
    }
}
