//! Time scales and Earth orientation.
//!
//! Times are carried as Julian Dates in UTC (`jd_utc`). From them:
//! - **TT** = UTC + (TAI − UTC) + 32.184 s, with the leap-second table below (1972 onwards);
//! - **UT1** = UTC + DUT1, with DUT1 and the pole coordinates taken from the Earth-orientation
//!   table compiled into the crate (`data/eop.csv`: the IERS values that astropy bundles,
//!   daily from 2000, Bulletin-A predictions at the end; regenerate it with
//!   `tools/make_eop_table.py`). Outside the table DUT1 = 0 and no polar motion are assumed
//!   (UT1 ≈ UTC, good to 0.9 s of time), and `EarthOrientation::eop.source` says so;
//! - Greenwich apparent sidereal time by IAU 2006/2000A (`erfa::time::gst06a`), and local
//!   apparent sidereal time including the TIO locator s′, as pyuvdata computes it.

use super::error::TelescopeError;

/// Modified Julian Date offset: `JD = MJD + 2 400 000.5`.
pub const MJD_OFFSET: f64 = 2_400_000.5;
/// Seconds per day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;
/// TT − TAI (s).
pub const TT_MINUS_TAI_S: f64 = 32.184;

/// (first MJD in force, TAI − UTC in seconds), since the start of integer leap seconds.
const LEAP_SECONDS: &[(i64, f64)] = &[
    (41317, 10.0),
    (41499, 11.0),
    (41683, 12.0),
    (42048, 13.0),
    (42413, 14.0),
    (42778, 15.0),
    (43144, 16.0),
    (43509, 17.0),
    (43874, 18.0),
    (44239, 19.0),
    (44786, 20.0),
    (45151, 21.0),
    (45516, 22.0),
    (46247, 23.0),
    (47161, 24.0),
    (47892, 25.0),
    (48257, 26.0),
    (48804, 27.0),
    (49169, 28.0),
    (49534, 29.0),
    (50083, 30.0),
    (50630, 31.0),
    (51179, 32.0),
    (53736, 33.0),
    (54832, 34.0),
    (56109, 35.0),
    (57204, 36.0),
    (57754, 37.0),
];

/// The end of the supported time range: 2100-01-01 (MJD). Earth-orientation models and
/// the leap-second table say nothing useful later, and far later ERFA's results are NaN.
pub const MJD_MAX: f64 = 88_069.0;

/// TAI − UTC (s) at a UTC MJD, 1972 to 2100.
pub fn tai_minus_utc_s(mjd_utc: f64) -> Result<f64, TelescopeError> {
    if !mjd_utc.is_finite() || mjd_utc < LEAP_SECONDS[0].0 as f64 || mjd_utc > MJD_MAX {
        return Err(TelescopeError::TimeOutOfRange {
            jd_utc: mjd_utc + MJD_OFFSET,
        });
    }
    let day = mjd_utc.floor() as i64;
    let idx = LEAP_SECONDS.partition_point(|&(m, _)| m <= day);
    Ok(LEAP_SECONDS[idx - 1].1)
}

/// Where the Earth-orientation parameters of an epoch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EopSource {
    /// Interpolated in the compiled IERS table.
    Table,
    /// Outside the table: DUT1 = 0 and no polar motion (UT1 ≈ UTC).
    AssumedZero,
    /// Given by the caller.
    User,
}

/// Earth-orientation parameters at one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eop {
    /// UT1 − UTC (s).
    pub dut1_s: f64,
    /// Polar motion x (rad).
    pub xp_rad: f64,
    /// Polar motion y (rad).
    pub yp_rad: f64,
    /// Provenance of the values.
    pub source: EopSource,
}

struct EopRow {
    mjd: f64,
    ut1_minus_tai_s: f64,
    xp_arcsec: f64,
    yp_arcsec: f64,
}

fn eop_table() -> &'static [EopRow] {
    static TABLE: std::sync::OnceLock<Vec<EopRow>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("../../data/eop.csv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<f64> = l.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                let [mjd, dut1, xp, yp] = f[..] else {
                    return None;
                };
                let tai = tai_minus_utc_s(mjd).ok()?;
                Some(EopRow {
                    mjd,
                    ut1_minus_tai_s: dut1 - tai,
                    xp_arcsec: xp,
                    yp_arcsec: yp,
                })
            })
            .collect()
    })
}

/// Earth-orientation parameters at a UTC Julian Date, from the compiled table.
///
/// UT1 − TAI (continuous across leap seconds) and the pole coordinates are interpolated
/// linearly between the daily values, as astropy does.
pub fn eop_at(jd_utc: f64) -> Eop {
    let t = eop_table();
    let mjd = jd_utc - MJD_OFFSET;
    let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
    let zero = Eop {
        dut1_s: 0.0,
        xp_rad: 0.0,
        yp_rad: 0.0,
        source: EopSource::AssumedZero,
    };
    if t.len() < 2 || !(mjd >= t[0].mjd && mjd <= t[t.len() - 1].mjd) {
        return zero;
    }
    let i = t.partition_point(|r| r.mjd <= mjd).clamp(1, t.len() - 1);
    let (a, b) = (&t[i - 1], &t[i]);
    let f = (mjd - a.mjd) / (b.mjd - a.mjd);
    let lerp = |x: f64, y: f64| x + f * (y - x);
    let Ok(tai) = tai_minus_utc_s(mjd) else {
        return zero;
    };
    Eop {
        dut1_s: lerp(a.ut1_minus_tai_s, b.ut1_minus_tai_s) + tai,
        xp_rad: lerp(a.xp_arcsec, b.xp_arcsec) * arcsec,
        yp_rad: lerp(a.yp_arcsec, b.yp_arcsec) * arcsec,
        source: EopSource::Table,
    }
}

/// Everything about the Earth's orientation at one instant that astrometry needs.
#[derive(Debug, Clone, Copy)]
pub struct EarthOrientation {
    /// The instant, Julian Date UTC.
    pub jd_utc: f64,
    /// The same instant in TT, as a two-part JD `(2 400 000.5, MJD_TT)`.
    pub tt: (f64, f64),
    /// The same instant in UT1, as a two-part JD.
    pub ut1: (f64, f64),
    /// Earth-orientation parameters used.
    pub eop: Eop,
    /// Greenwich apparent sidereal time (rad), IAU 2006/2000A.
    pub gast_rad: f64,
    /// TIO locator s′ (rad).
    pub sp_rad: f64,
    /// Classical bias-precession-nutation matrix, GCRS → true equator and equinox of date.
    pub rnpb: [[f64; 3]; 3],
}

impl EarthOrientation {
    /// Earth orientation at `jd_utc`, with EOP from the compiled table.
    pub fn new(jd_utc: f64) -> Result<Self, TelescopeError> {
        Self::with_eop(jd_utc, eop_at(jd_utc))
    }

    /// Earth orientation at `jd_utc` with caller-supplied EOP.
    pub fn with_eop(jd_utc: f64, eop: Eop) -> Result<Self, TelescopeError> {
        let mjd = jd_utc - MJD_OFFSET;
        let tai = tai_minus_utc_s(mjd)?;
        let tt = (MJD_OFFSET, mjd + (tai + TT_MINUS_TAI_S) / SECONDS_PER_DAY);
        let ut1 = (MJD_OFFSET, mjd + eop.dut1_s / SECONDS_PER_DAY);
        let gast_rad = erfa::time::gst06a(ut1.0, ut1.1, tt.0, tt.1);
        // s' = −47 µas per Julian century of TT (IERS Conventions 2003, eq. 5.13).
        let t_cent = (tt.0 - 2_451_545.0 + tt.1) / 36_525.0;
        let sp_rad = -47e-6 / 3600.0 * std::f64::consts::PI / 180.0 * t_cent;
        let rnpb = erfa::prenut::pn_matrix_06a(tt.0, tt.1);
        Ok(Self {
            jd_utc,
            tt,
            ut1,
            eop,
            gast_rad,
            sp_rad,
            rnpb,
        })
    }

    /// Local apparent sidereal time (rad, `[0, 2π)`) at east longitude `lon_rad`:
    /// GAST + s′ + λ, the quantity pyuvdata stores as `lst_array`.
    pub fn last_rad(&self, lon_rad: f64) -> f64 {
        super::coords::wrap_tau(self.gast_rad + self.sp_rad + lon_rad)
    }
}

/// Julian Date (UTC) of a calendar date and time of day (proleptic Gregorian, UTC).
pub fn jd_from_calendar(year: i32, month: u32, day: u32, seconds_of_day: f64) -> f64 {
    // Fliegel & Van Flandern (1968) day number, integer arithmetic.
    let (y, m, d) = (year as i64, month as i64, day as i64);
    let a = (14 - m) / 12;
    let yy = y + 4800 - a;
    let mm = m + 12 * a - 3;
    let jdn = d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045;
    jdn as f64 - 0.5 + seconds_of_day / SECONDS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_give_the_known_julian_dates() {
        assert_eq!(jd_from_calendar(2000, 1, 1, 43_200.0), 2_451_545.0);
        assert_eq!(jd_from_calendar(2025, 6, 1, 0.0), 2_460_827.5);
        assert_eq!(jd_from_calendar(1858, 11, 17, 0.0), MJD_OFFSET);
    }

    #[test]
    fn leap_seconds_step_at_their_dates() {
        assert_eq!(tai_minus_utc_s(57753.999).unwrap(), 36.0);
        assert_eq!(tai_minus_utc_s(57754.0).unwrap(), 37.0);
        assert_eq!(tai_minus_utc_s(61000.0).unwrap(), 37.0);
        assert!(tai_minus_utc_s(40000.0).is_err());
        assert!(tai_minus_utc_s(f64::NAN).is_err());
        assert!(tai_minus_utc_s(MJD_MAX + 1.0).is_err());
        assert!(tai_minus_utc_s(1e12).is_err());
    }

    #[test]
    fn eop_table_is_continuous_across_the_2017_leap_second() {
        let before = eop_at(57754.0 + MJD_OFFSET - 1e-6);
        let after = eop_at(57754.0 + MJD_OFFSET + 1e-6);
        assert_eq!(before.source, EopSource::Table);
        // DUT1 jumps by +1 s at a leap second; UT1 itself is continuous.
        assert!((after.dut1_s - before.dut1_s - 1.0).abs() < 1e-3);
        assert!(eop_at(2_400_000.5).source == EopSource::AssumedZero);
    }
}
