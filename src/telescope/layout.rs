//! Antenna layouts: names, local positions and the site they are relative to.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::coords::{Ecef, Enu, LatLonHeight};
use super::error::TelescopeError;
use super::limits;

/// Approximate SKA-Low site: −26.82°, 116.76°, 377 m.
pub const SKA_LOW_SITE: LatLonHeight = LatLonHeight {
    lat_rad: -0.468_097_305_384_879_2,
    lon_rad: 2.037_846_434_628_579_4,
    height_m: 377.0,
};
/// Approximate SKA-Mid site: −30.71°, 21.44°, 1086 m.
pub const SKA_MID_SITE: LatLonHeight = LatLonHeight {
    lat_rad: -0.535_990_613_287_458_7,
    lon_rad: 0.374_198_591_627_584_3,
    height_m: 1086.0,
};

/// An array of antennas (stations or dishes) at a site.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayLayout {
    /// Telescope name written to files.
    pub telescope_name: String,
    /// Array centre (the origin of the ENU positions).
    pub site: LatLonHeight,
    /// Antenna names, one per antenna.
    pub names: Vec<String>,
    /// Antenna positions in the site's tangent plane (m).
    pub enu: Vec<Enu>,
    /// Antenna (station) diameter (m), if known.
    pub diameter_m: Option<f64>,
    /// Mount type in pyuvdata's vocabulary (`"phased"` for aperture-array stations,
    /// `"alt-az"` for dishes), if known.
    pub mount_type: Option<String>,
}

impl ArrayLayout {
    /// A layout from names and ENU positions, checked: at least one antenna, unique
    /// names, finite positions.
    pub fn new(
        telescope_name: impl Into<String>,
        site: LatLonHeight,
        names: Vec<String>,
        enu: Vec<Enu>,
    ) -> Result<Self, TelescopeError> {
        let bad = |reason: String| Err(TelescopeError::InvalidLayout { reason });
        if enu.is_empty() {
            return bad("no antennas".into());
        }
        if names.len() != enu.len() {
            return bad(format!("{} names for {} positions", names.len(), enu.len()));
        }
        let (h_lo, h_hi) = limits::SITE_HEIGHT_RANGE_M;
        if !(site.lat_rad.abs() <= std::f64::consts::FRAC_PI_2
            && limits::within(site.lon_rad, -limits::MAX_RA_RAD, limits::MAX_RA_RAD)
            && limits::within(site.height_m, h_lo, h_hi))
        {
            return bad(format!(
                "site latitude {}°, longitude {}°, height {} m is not a place on Earth (|latitude| <= 90°, height {h_lo} to {h_hi} m)",
                site.lat_rad.to_degrees(),
                site.lon_rad.to_degrees(),
                site.height_m
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (n, p) in names.iter().zip(&enu) {
            if !seen.insert(n.as_str()) {
                return bad(format!("antenna name {n:?} appears twice"));
            }
            if n.is_empty() || !n.is_ascii() || n.contains(',') {
                return bad(format!(
                    "antenna name {n:?} must be non-empty ASCII without commas"
                ));
            }
            let m = limits::MAX_ANTENNA_OFFSET_M;
            if ![p.e_m, p.n_m, p.u_m]
                .iter()
                .all(|&x| limits::within(x, -m, m))
            {
                return bad(format!(
                    "antenna {n} at {p:?}: expected finite positions within {m:e} m of the array centre"
                ));
            }
        }
        Ok(Self {
            telescope_name: telescope_name.into(),
            site,
            names,
            enu,
            diameter_m: None,
            mount_type: None,
        })
    }

    /// Number of antennas.
    pub fn n_ant(&self) -> usize {
        self.enu.len()
    }

    /// Antenna positions as ECEF offsets from the array centre (m): the UVH5
    /// `antenna_positions`.
    pub fn ecef_offsets(&self) -> Vec<Ecef> {
        self.enu
            .iter()
            .map(|e| e.to_ecef_offset(self.site))
            .collect()
    }

    /// Largest distance between two antennas (m), O(n²).
    pub fn max_baseline_m(&self) -> f64 {
        let mut best = 0.0f64;
        for (i, a) in self.enu.iter().enumerate() {
            for b in &self.enu[i + 1..] {
                let d =
                    ((a.e_m - b.e_m).powi(2) + (a.n_m - b.n_m).powi(2) + (a.u_m - b.u_m).powi(2))
                        .sqrt();
                best = best.max(d);
            }
        }
        best
    }

    /// Read `name,east_m,north_m,up_m` lines (a header line and `#` comments allowed).
    pub fn from_csv(
        path: &Path,
        telescope_name: &str,
        site: LatLonHeight,
    ) -> Result<Self, TelescopeError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TelescopeError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse_csv(&text, &p, telescope_name, site)
    }

    /// Parse the CSV text of [`ArrayLayout::from_csv`]; `origin` names it in errors.
    pub fn parse_csv(
        text: &str,
        origin: &str,
        telescope_name: &str,
        site: LatLonHeight,
    ) -> Result<Self, TelescopeError> {
        let (mut names, mut enu) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let err = |reason: String| TelescopeError::LayoutParse {
                path: origin.to_string(),
                line: i + 1,
                reason,
            };
            if f.len() != 4 {
                return Err(err(format!(
                    "expected 4 fields name,east_m,north_m,up_m, found {}",
                    f.len()
                )));
            }
            let nums: Result<Vec<f64>, _> = f[1..].iter().map(|s| s.parse::<f64>()).collect();
            match nums {
                Ok(v) => {
                    names.push(f[0].to_string());
                    enu.push(Enu {
                        e_m: v[0],
                        n_m: v[1],
                        u_m: v[2],
                    });
                }
                Err(_) if names.is_empty() && f[1].eq_ignore_ascii_case("east_m") => {}
                Err(e) => return Err(err(format!("could not parse a number: {e}"))),
            }
        }
        Self::new(telescope_name, site, names, enu).map_err(|e| TelescopeError::LayoutParse {
            path: origin.to_string(),
            line: 0,
            reason: e.to_string(),
        })
    }

    /// The layout as CSV text with a header line (round-trips through `parse_csv`).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("name,east_m,north_m,up_m\n");
        for (n, p) in self.names.iter().zip(&self.enu) {
            s.push_str(&format!("{n},{:.4},{:.4},{:.4}\n", p.e_m, p.n_m, p.u_m));
        }
        s
    }
}

/// Parameters of a synthetic core-plus-spiral-arms layout.
struct SpiralSpec {
    n_core: usize,
    n_arms_total: usize,
    core_radius_m: f64,
    arm_inner_m: f64,
    arm_outer_m: f64,
    min_sep_m: f64,
    /// Spiral tightness: azimuth advance (rad) per e-folding of radius.
    winding: f64,
}

fn spiral_layout(spec: &SpiralSpec, seed: u64) -> Vec<Enu> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pos: Vec<Enu> = Vec::with_capacity(spec.n_core + spec.n_arms_total);
    let far_enough = |pos: &[Enu], p: Enu, sep: f64| {
        pos.iter()
            .all(|q| (q.e_m - p.e_m).powi(2) + (q.n_m - p.n_m).powi(2) >= sep * sep)
    };
    // Core: uniform in a disc, denser in the middle (radius ∝ u^0.7), rejection for spacing.
    let mut radius = spec.core_radius_m;
    while pos.len() < spec.n_core {
        let mut placed = false;
        for _ in 0..2000 {
            let r = radius * rng.random::<f64>().powf(0.7);
            let a = rng.random::<f64>() * std::f64::consts::TAU;
            let p = Enu {
                e_m: r * a.cos(),
                n_m: r * a.sin(),
                u_m: 0.0,
            };
            if far_enough(&pos, p, spec.min_sep_m) {
                pos.push(p);
                placed = true;
                break;
            }
        }
        if !placed {
            radius *= 1.05; // crowded: let the core grow a little
        }
    }
    // Arms: three logarithmic spirals, radii log-spaced, a little scatter across the arm.
    let n_arm = spec.n_arms_total;
    for k in 0..n_arm {
        let arm = k % 3;
        let idx = k / 3;
        let per_arm = n_arm.div_ceil(3).max(1);
        let frac = (idx as f64 + 0.5) / per_arm as f64;
        let r0 = spec.arm_inner_m * (spec.arm_outer_m / spec.arm_inner_m).powf(frac);
        let base = arm as f64 * std::f64::consts::TAU / 3.0 + 0.3;
        let mut r = r0;
        loop {
            let a = base + spec.winding * (r / spec.arm_inner_m).ln();
            let jitter = 0.03 * r * (rng.random::<f64>() - 0.5);
            let p = Enu {
                e_m: r * a.cos() - jitter * a.sin(),
                n_m: r * a.sin() + jitter * a.cos(),
                u_m: 0.0,
            };
            if far_enough(&pos, p, spec.min_sep_m) {
                pos.push(p);
                break;
            }
            r += spec.min_sep_m * 0.5;
        }
    }
    pos
}

/// A synthetic SKA-Low-like layout of `n_stations` stations: about half in a dense core
/// about 1 km across, the rest on three logarithmic spiral arms out to about 35 km
/// radius, stations at least 40 m apart (38 m stations). An approximation for
/// simulations, **not** the official SKA-Low coordinates. Deterministic for a seed.
pub fn ska_low_like(n_stations: usize, seed: u64) -> Result<ArrayLayout, TelescopeError> {
    if n_stations == 0 || n_stations > 4096 {
        return Err(TelescopeError::InvalidLayout {
            reason: format!("ska-low-like needs 1..=4096 stations, got {n_stations}"),
        });
    }
    let n_core = n_stations.div_ceil(2);
    let spec = SpiralSpec {
        n_core,
        n_arms_total: n_stations - n_core,
        core_radius_m: 500.0,
        arm_inner_m: 700.0,
        arm_outer_m: 35_000.0,
        min_sep_m: 40.0,
        winding: 0.9,
    };
    let enu = spiral_layout(&spec, seed);
    let names = (0..n_stations).map(|i| format!("LOW{i:04}")).collect();
    let mut l = ArrayLayout::new("fxgrid-SKA-Low-like", SKA_LOW_SITE, names, enu)?;
    l.diameter_m = Some(38.0);
    l.mount_type = Some("phased".into());
    Ok(l)
}

/// A synthetic SKA-Mid-like layout: 197 dishes (15 m), about 60% in a core about 2 km
/// across, the rest on three spiral arms out to about 75 km. An approximation for
/// simulations, **not** the official SKA-Mid coordinates. Deterministic for a seed.
pub fn ska_mid_like(seed: u64) -> Result<ArrayLayout, TelescopeError> {
    let n = 197;
    let n_core = 118;
    let spec = SpiralSpec {
        n_core,
        n_arms_total: n - n_core,
        core_radius_m: 1000.0,
        arm_inner_m: 1200.0,
        arm_outer_m: 75_000.0,
        min_sep_m: 20.0,
        winding: 0.8,
    };
    let enu = spiral_layout(&spec, seed);
    let names = (0..n).map(|i| format!("MID{i:03}")).collect();
    let mut l = ArrayLayout::new("fxgrid-SKA-Mid-like", SKA_MID_SITE, names, enu)?;
    l.diameter_m = Some(15.0);
    l.mount_type = Some("alt-az".into());
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn min_sep(l: &ArrayLayout) -> f64 {
        let mut best = f64::INFINITY;
        for (i, a) in l.enu.iter().enumerate() {
            for b in &l.enu[i + 1..] {
                best = best.min((a.e_m - b.e_m).hypot(a.n_m - b.n_m));
            }
        }
        best
    }

    #[test]
    fn ska_low_like_has_a_core_arms_and_spacing() {
        let l = ska_low_like(512, 1).unwrap();
        assert_eq!(l.n_ant(), 512);
        let in_core = l.enu.iter().filter(|p| p.horizontal_m() <= 650.0).count();
        assert!((230..=290).contains(&in_core), "core count {in_core}");
        let rmax = l.enu.iter().map(|p| p.horizontal_m()).fold(0.0, f64::max);
        assert!((30_000.0..=40_000.0).contains(&rmax), "max radius {rmax}");
        assert!(min_sep(&l) >= 40.0 - 1e-9);
        assert_eq!(l, ska_low_like(512, 1).unwrap(), "deterministic for a seed");
        assert_ne!(l.enu, ska_low_like(512, 2).unwrap().enu);
        assert!(ska_low_like(0, 1).is_err());
    }

    #[test]
    fn ska_mid_like_has_197_dishes_out_to_75_km() {
        let l = ska_mid_like(7).unwrap();
        assert_eq!(l.n_ant(), 197);
        let rmax = l.enu.iter().map(|p| p.horizontal_m()).fold(0.0, f64::max);
        assert!((65_000.0..=85_000.0).contains(&rmax), "max radius {rmax}");
        assert!(min_sep(&l) >= 20.0 - 1e-9);
    }

    #[test]
    fn csv_round_trips_and_rejects_bad_lines() {
        let l = ska_low_like(20, 3).unwrap();
        let back = ArrayLayout::parse_csv(&l.to_csv(), "mem", &l.telescope_name, l.site).unwrap();
        assert_eq!(back.names, l.names);
        for (a, b) in back.enu.iter().zip(&l.enu) {
            assert!((a.e_m - b.e_m).abs() < 1e-4 && (a.n_m - b.n_m).abs() < 1e-4);
        }
        let e = ArrayLayout::parse_csv("a,1,2\n", "x.csv", "t", l.site).unwrap_err();
        assert!(e.to_string().contains("x.csv, line 1"), "{e}");
        let e = ArrayLayout::parse_csv("a,1,2,zz\n", "x.csv", "t", l.site).unwrap_err();
        assert!(e.to_string().contains("number"), "{e}");
        let e = ArrayLayout::parse_csv("a,1,2,3\na,4,5,6\n", "x.csv", "t", l.site).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        assert!(ArrayLayout::parse_csv("# nothing\n", "x.csv", "t", l.site).is_err());
    }
}
