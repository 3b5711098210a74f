//! An observation: where the array points, when, and at which frequencies; and the
//! per-time geometry (sidereal time, apparent phase centre, uvw frame) derived from it.

use super::astrometry::{ObserverFrame, UvwFrame};
use super::coords::{wrap_pi, RaDec, Uvw};
use super::error::TelescopeError;
use super::layout::ArrayLayout;
use super::time::{jd_from_calendar, EarthOrientation, SECONDS_PER_DAY};

/// Sidereal rate: radians of sidereal time per second of UT1.
const SIDEREAL_RAD_PER_S: f64 = 7.292_115_146_706_979e-5;

/// What is observed: phase centre, time sampling and frequency channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Phase centre (ICRS); data are delay-tracked to it.
    pub phase_centre: RaDec,
    /// Julian Date (UTC) of the start of the first integration.
    pub start_jd_utc: f64,
    /// Number of integrations.
    pub n_times: usize,
    /// Integration time (s).
    pub int_time_s: f64,
    /// Centre frequency of channel 0 (Hz).
    pub freq_start_hz: f64,
    /// Channel width and spacing (Hz).
    pub chan_width_hz: f64,
    /// Number of channels.
    pub n_chan: usize,
}

impl Observation {
    /// Check every field; returns the first problem found.
    pub fn validate(&self) -> Result<(), TelescopeError> {
        let bad = |field, value: String, expected| {
            Err(TelescopeError::InvalidObservation {
                field,
                value,
                expected,
            })
        };
        if !self.phase_centre.is_valid() {
            return Err(TelescopeError::InvalidDirection {
                ra_deg: self.phase_centre.ra_rad.to_degrees(),
                dec_deg: self.phase_centre.dec_rad.to_degrees(),
                reason: "declination must be within ±90° and both finite".into(),
            });
        }
        if self.n_times == 0 {
            return bad("n_times", "0".into(), "at least 1 integration");
        }
        if !(self.int_time_s > 0.0 && self.int_time_s <= super::limits::MAX_INT_TIME_S) {
            return bad(
                "int_time_s",
                self.int_time_s.to_string(),
                "a positive number of seconds, at most 1e6",
            );
        }
        if self.n_chan == 0 {
            return bad("n_chan", "0".into(), "at least 1 channel");
        }
        if !(self.freq_start_hz > 0.0 && self.freq_start_hz <= super::limits::MAX_FREQ_HZ) {
            return bad(
                "freq_start_hz",
                self.freq_start_hz.to_string(),
                "a positive frequency, at most 1e13 Hz",
            );
        }
        if !(self.chan_width_hz > 0.0 && self.chan_width_hz <= super::limits::MAX_FREQ_HZ) {
            return bad(
                "chan_width_hz",
                self.chan_width_hz.to_string(),
                "a positive width, at most 1e13 Hz",
            );
        }
        if self
            .freqs_hz()
            .last()
            .is_some_and(|&f| !super::limits::within(f, 0.0, super::limits::MAX_FREQ_HZ))
        {
            return bad("n_chan", self.n_chan.to_string(), "a band below 1e13 Hz");
        }
        // Leap-second coverage of the whole span.
        for jd in [self.start_jd_utc, self.end_jd_utc()] {
            super::time::tai_minus_utc_s(jd - super::time::MJD_OFFSET)?;
        }
        Ok(())
    }

    /// Julian Date (UTC) of the end of the last integration.
    pub fn end_jd_utc(&self) -> f64 {
        self.start_jd_utc + self.n_times as f64 * self.int_time_s / SECONDS_PER_DAY
    }

    /// Integration centres, Julian Date UTC.
    pub fn times_jd_utc(&self) -> Vec<f64> {
        (0..self.n_times).map(|i| self.time_jd_utc(i)).collect()
    }

    /// The centre of integration `i`, Julian Date UTC.
    pub fn time_jd_utc(&self, i: usize) -> f64 {
        self.start_jd_utc + (i as f64 + 0.5) * self.int_time_s / SECONDS_PER_DAY
    }

    /// Channel centre frequencies (Hz).
    pub fn freqs_hz(&self) -> Vec<f64> {
        (0..self.n_chan)
            .map(|k| self.freq_start_hz + k as f64 * self.chan_width_hz)
            .collect()
    }
}

/// The geometry of one integration.
#[derive(Debug, Clone, Copy)]
pub struct TimeGeometry {
    /// Integration centre, Julian Date UTC.
    pub jd_utc: f64,
    /// Sky-independent astrometric state at that instant.
    pub observer: ObserverFrame,
    /// uvw axes of the phase centre.
    pub frame: UvwFrame,
}

impl TimeGeometry {
    /// Local apparent sidereal time (rad).
    pub fn lst_rad(&self) -> f64 {
        self.observer.last_rad
    }
}

/// Geometry of every integration of `obs` for an array at `layout.site`.
pub fn time_geometry(
    layout: &ArrayLayout,
    obs: &Observation,
) -> Result<Vec<TimeGeometry>, TelescopeError> {
    time_geometry_range(layout, obs, 0..obs.n_times)
}

/// [`time_geometry`] of the integrations `times` only (bit for bit the same entries): for
/// making an observation's data a few integrations at a time.
pub fn time_geometry_range(
    layout: &ArrayLayout,
    obs: &Observation,
    times: std::ops::Range<usize>,
) -> Result<Vec<TimeGeometry>, TelescopeError> {
    obs.validate()?;
    if times.end > obs.n_times {
        return Err(TelescopeError::InvalidObservation {
            field: "time range",
            value: format!("{times:?} of {}", obs.n_times),
            expected: "integrations within the observation",
        });
    }
    times
        .map(|i| obs.time_jd_utc(i))
        .map(|jd| {
            let earth = EarthOrientation::new(jd)?;
            let observer = ObserverFrame::new(earth, layout.site);
            let frame = UvwFrame::new(&observer, obs.phase_centre);
            Ok(TimeGeometry {
                jd_utc: jd,
                observer,
                frame,
            })
        })
        .collect()
}

/// uvw (m) of every antenna position relative to the array centre, in `frame`.
/// A baseline's uvw is `antenna_uvw[q] − antenna_uvw[p]` (docs/CONVENTIONS.md: `r_q − r_p`).
pub fn antenna_uvw(layout: &ArrayLayout, frame: &UvwFrame) -> Vec<Uvw> {
    layout
        .ecef_offsets()
        .into_iter()
        .map(|r| frame.project(r))
        .collect()
}

/// The start time that centres an observation of `duration_s` on the transit of `centre`
/// at `layout.site`, on the UTC day starting at `day_jd_utc` (0h UTC).
pub fn transit_centred_start(
    layout: &ArrayLayout,
    centre: RaDec,
    day_jd_utc: f64,
    duration_s: f64,
) -> Result<f64, TelescopeError> {
    let mut jd = day_jd_utc + 0.5;
    for _ in 0..4 {
        let earth = EarthOrientation::new(jd)?;
        let ha = wrap_pi(earth.last_rad(layout.site.lon_rad) - centre.ra_rad);
        jd -= ha / SIDEREAL_RAD_PER_S / SECONDS_PER_DAY;
    }
    Ok(jd - duration_s / 2.0 / SECONDS_PER_DAY)
}

/// The default observing day: 2025-06-01 (0h UTC), inside the compiled
/// Earth-orientation table so that sidereal times agree with astropy.
pub fn default_day_jd_utc() -> f64 {
    jd_from_calendar(2025, 6, 1, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_times_are_centres() {
        let obs = Observation {
            phase_centre: RaDec::from_degrees(0.0, 0.0),
            start_jd_utc: 2_460_000.5,
            n_times: 3,
            int_time_s: 8.64,
            freq_start_hz: 1e8,
            chan_width_hz: 1.0,
            n_chan: 1,
        };
        let t = obs.times_jd_utc();
        assert!((t[0] - (2_460_000.5 + 0.5e-4)).abs() < 1e-12);
        assert!((t[2] - (2_460_000.5 + 2.5e-4)).abs() < 1e-12);
        assert!((obs.end_jd_utc() - (2_460_000.5 + 3e-4)).abs() < 1e-12);
    }

    #[test]
    fn transit_centred_start_puts_the_centre_on_the_meridian_mid_observation() {
        let layout = crate::telescope::ska_low_like(4, 1).unwrap();
        let c = RaDec::from_degrees(123.0, -40.0);
        let start = transit_centred_start(&layout, c, default_day_jd_utc(), 600.0).unwrap();
        let mid = start + 300.0 / SECONDS_PER_DAY;
        let e = EarthOrientation::new(mid).unwrap();
        // ICRS RA against apparent sidereal time: they differ by precession since J2000
        // (about 0.35° in 2025), well inside 0.01 rad.
        assert!(wrap_pi(e.last_rad(layout.site.lon_rad) - c.ra_rad).abs() < 0.01);
        assert!(mid >= default_day_jd_utc() && mid < default_day_jd_utc() + 1.0);
    }
}
