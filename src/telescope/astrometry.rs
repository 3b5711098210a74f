//! ICRS → apparent / observed place, and the uvw frame of a phase centre.
//!
//! The chain is the one of the IAU 2006/2000A "apparent place" computation for a star at
//! infinite distance, done for a topocentric observer with zero refraction, so that the
//! results agree with pyuvdata (which calls ERFA's `atco13` with zero pressure) to a few
//! milliarcseconds:
//!
//! 1. ICRS unit vector `p`;
//! 2. light deflection by the Sun (general relativity; 4 mas at 90° from the Sun);
//! 3. aberration, exact special-relativistic form, with the observer's barycentric velocity
//!    (Earth's orbital velocity from `erfa::earth::position_velocity_00` plus the diurnal
//!    velocity of the site);
//! 4. bias-precession-nutation to the true equator and equinox of date (IAU 2006/2000A):
//!    this is the *apparent* RA/Dec;
//! 5. the local hour angle from the local apparent sidereal time, then polar motion, which
//!    turns (HA, Dec) into the *observed* frame fixed to the ITRS, in which antenna
//!    positions are given.
//!
//! What is written to UVH5 as `phase_center_app_ra` is `LAST − HA_observed`, and
//! `phase_center_app_dec` the observed declination, as in pyuvdata.

use super::coords::{wrap_tau, Ecef, LatLonHeight, RaDec, Uvw, SPEED_OF_LIGHT_M_S};
use super::time::{EarthOrientation, SECONDS_PER_DAY};
use super::TelescopeError;

/// Astronomical unit (m).
const AU_M: f64 = 149_597_870_700.0;
/// Schwarzschild radius of the Sun (au).
const SUN_SCHWARZSCHILD_AU: f64 = 1.974_125_743_36e-8;
/// Earth's rotation rate (rad/s, IERS 2003).
const EARTH_OMEGA_RAD_S: f64 = 7.292_115e-5;
/// Offset used to measure the frame position angle (rad): 0.5°, as pyuvdata.
const FRAME_PA_OFFSET_RAD: f64 = std::f64::consts::PI / 360.0;

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn mat_vec(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}
fn mat_t_vec(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|j| m[0][j] * v[0] + m[1][j] * v[1] + m[2][j] * v[2])
}
fn normalise(v: [f64; 3]) -> [f64; 3] {
    let r = dot(v, v).sqrt();
    v.map(|x| x / r)
}

/// The per-instant, per-site quantities of the apparent-place chain (sky independent).
#[derive(Debug, Clone, Copy)]
pub struct ObserverFrame {
    /// Earth orientation at this instant.
    pub earth: EarthOrientation,
    /// Site.
    pub site: LatLonHeight,
    /// Local apparent sidereal time (rad).
    pub last_rad: f64,
    /// Observer's barycentric velocity in GCRS axes, in units of c.
    beta: [f64; 3],
    /// Unit vector from the Sun to the observer (GCRS axes).
    sun_to_obs: [f64; 3],
    /// Sun–observer distance (au).
    sun_dist_au: f64,
    /// Polar motion rotated onto the local meridian (rad): x, y.
    xpl: f64,
    ypl: f64,
}

/// An observed direction: hour angle and declination in the ITRS-fixed frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// Local hour angle (rad).
    pub ha_rad: f64,
    /// Declination (rad).
    pub dec_rad: f64,
    /// Apparent right ascension as pyuvdata stores it, `LAST − HA` (rad, `[0, 2π)`).
    pub app_ra_rad: f64,
}

impl Observed {
    /// Unit vector of this direction in ECEF (ITRS) axes.
    pub fn to_ecef_unit(self, site: LatLonHeight) -> [f64; 3] {
        let h_g = self.ha_rad - site.lon_rad;
        let (sd, cd) = self.dec_rad.sin_cos();
        let (sh, ch) = h_g.sin_cos();
        [cd * ch, -cd * sh, sd]
    }
}

impl ObserverFrame {
    /// Set up the chain for `earth` at `site`.
    pub fn new(earth: EarthOrientation, site: LatLonHeight) -> Self {
        let (_, pvh, pvb) = erfa::earth::position_velocity_00(earth.tt.0, earth.tt.1);
        // Diurnal velocity: ω ẑ × r in the true-of-date frame, rotated into GCRS.
        let r = site.to_ecef().to_array();
        let (sg, cg) = earth.gast_rad.sin_cos();
        let r_tod = [cg * r[0] - sg * r[1], sg * r[0] + cg * r[1], r[2]];
        let v_tod = [
            -EARTH_OMEGA_RAD_S * r_tod[1],
            EARTH_OMEGA_RAD_S * r_tod[0],
            0.0,
        ];
        let v_gcrs = mat_t_vec(&earth.rnpb, v_tod);
        let au_per_day_to_c = AU_M / SECONDS_PER_DAY / SPEED_OF_LIGHT_M_S;
        let beta = [0, 1, 2].map(|i| pvb[1][i] * au_per_day_to_c + v_gcrs[i] / SPEED_OF_LIGHT_M_S);
        let sun_dist_au = dot(pvh[0], pvh[0]).sqrt();
        let sun_to_obs = pvh[0].map(|x| x / sun_dist_au);
        let along = site.lon_rad + earth.sp_rad;
        let (sl, cl) = along.sin_cos();
        let (xp, yp) = (earth.eop.xp_rad, earth.eop.yp_rad);
        Self {
            earth,
            site,
            last_rad: earth.last_rad(site.lon_rad),
            beta,
            sun_to_obs,
            sun_dist_au,
            xpl: xp * cl - yp * sl,
            ypl: xp * sl + yp * cl,
        }
    }

    /// Apparent (true equator and equinox of date) direction of an ICRS source.
    pub fn apparent(&self, icrs: RaDec) -> RaDec {
        let p = icrs.to_unit();
        // Light deflection by the Sun, for a source at infinity.
        let e = self.sun_to_obs;
        let pe = dot(p, e);
        let g = SUN_SCHWARZSCHILD_AU / self.sun_dist_au / (1.0 + pe).max(1e-6);
        let p = normalise([0, 1, 2].map(|i| p[i] + g * (e[i] - pe * p[i])));
        // Aberration (Lorentz transformation of the direction).
        let b = self.beta;
        let inv_gamma = (1.0 - dot(b, b)).sqrt();
        let pb = dot(p, b);
        let k = 1.0 + pb / (1.0 + inv_gamma);
        let p = normalise([0, 1, 2].map(|i| (inv_gamma * p[i] + k * b[i]) / (1.0 + pb)));
        RaDec::from_vector(mat_vec(&self.earth.rnpb, p))
    }

    /// Observed hour angle and declination of an ICRS source (no refraction).
    pub fn observed(&self, icrs: RaDec) -> Observed {
        let app = self.apparent(icrs);
        let ha = self.last_rad - app.ra_rad;
        let (sd, cd) = app.dec_rad.sin_cos();
        let (sh, ch) = ha.sin_cos();
        // (−HA, Dec) Cartesian, then polar motion onto the ITRS-fixed local frame.
        let (x, y, z) = (cd * ch, -cd * sh, sd);
        let (sx, cx) = self.xpl.sin_cos();
        let (sy, cy) = self.ypl.sin_cos();
        let xt = cx * x + sx * z;
        let yt = sx * sy * x + cy * y - cx * sy * z;
        let zt = -sx * cy * x + sy * y + cx * cy * z;
        let ha_obs = -yt.atan2(xt);
        let dec_obs = zt.atan2(xt.hypot(yt));
        Observed {
            ha_rad: ha_obs,
            dec_rad: dec_obs,
            app_ra_rad: wrap_tau(self.last_rad - ha_obs),
        }
    }

    /// Position angle (rad) by which the uvw frame of `centre` is rotated about `w` so that
    /// `v` points to ICRS north rather than to the north of the observed frame
    /// (pyuvdata's `phase_center_frame_pa`), measured with offsets of ±0.5° in declination.
    pub fn frame_pa_rad(&self, centre: RaDec) -> f64 {
        let dn = RaDec {
            ra_rad: centre.ra_rad,
            dec_rad: centre.dec_rad - FRAME_PA_OFFSET_RAD,
        };
        let up = RaDec {
            ra_rad: centre.ra_rad,
            dec_rad: centre.dec_rad + FRAME_PA_OFFSET_RAD,
        };
        let to_radec = |o: Observed| RaDec {
            ra_rad: o.app_ra_rad,
            dec_rad: o.dec_rad,
        };
        // Declinations beyond the poles wrap through RaDec::to_unit automatically.
        to_radec(self.observed(dn)).position_angle_rad(to_radec(self.observed(up)))
    }
}

/// The orthonormal (u, v, w) axes of a phase centre at one instant, in ECEF axes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UvwFrame {
    /// Unit vector along u (east-ish).
    pub u_hat: [f64; 3],
    /// Unit vector along v (north-ish, towards ICRS north after the frame rotation).
    pub v_hat: [f64; 3],
    /// Unit vector along w (towards the phase centre).
    pub w_hat: [f64; 3],
    /// Observed position of the phase centre.
    pub centre: Observed,
    /// Frame position angle applied (rad).
    pub frame_pa_rad: f64,
}

impl UvwFrame {
    /// The uvw frame of ICRS `centre` seen by `obs` (TMS eq. 4.1 with the Greenwich hour
    /// angle and ECEF baselines, then rotated about w by the frame position angle).
    pub fn new(obs: &ObserverFrame, centre: RaDec) -> Self {
        let c = obs.observed(centre);
        let pa = obs.frame_pa_rad(centre);
        Self::from_apparent(obs.site, obs.last_rad, c.app_ra_rad, c.dec_rad, pa)
    }

    /// The uvw frame a UVH5 file states per baseline-time: local apparent sidereal time,
    /// `phase_center_app_ra`, `phase_center_app_dec` and `phase_center_frame_pa` (rad) at
    /// `site`. For unprojected data (app RA = LAST, app Dec = latitude, angle 0) the axes
    /// are east, north and up.
    pub fn from_apparent(
        site: LatLonHeight,
        last_rad: f64,
        app_ra_rad: f64,
        app_dec_rad: f64,
        frame_pa_rad: f64,
    ) -> Self {
        let ha = last_rad - app_ra_rad;
        let h_g = ha - site.lon_rad;
        let (sh, ch) = h_g.sin_cos();
        let (sd, cd) = app_dec_rad.sin_cos();
        let u0 = [sh, ch, 0.0];
        let v0 = [-sd * ch, sd * sh, cd];
        let w_hat = [cd * ch, -cd * sh, sd];
        let (sp, cp) = frame_pa_rad.sin_cos();
        let u_hat = [0, 1, 2].map(|i| cp * u0[i] - sp * v0[i]);
        let v_hat = [0, 1, 2].map(|i| sp * u0[i] + cp * v0[i]);
        Self {
            u_hat,
            v_hat,
            w_hat,
            centre: Observed {
                ha_rad: ha,
                dec_rad: app_dec_rad,
                app_ra_rad,
            },
            frame_pa_rad,
        }
    }

    /// The ECEF vector (m) whose projection is `uvw` (the inverse of [`UvwFrame::project`]).
    pub fn unproject(&self, uvw: [f64; 3]) -> Ecef {
        let r = [0, 1, 2]
            .map(|i| uvw[0] * self.u_hat[i] + uvw[1] * self.v_hat[i] + uvw[2] * self.w_hat[i]);
        Ecef {
            x_m: r[0],
            y_m: r[1],
            z_m: r[2],
        }
    }

    /// Project an ECEF vector (m) onto (u, v, w).
    pub fn project(&self, r: Ecef) -> Uvw {
        let r = r.to_array();
        Uvw {
            u_m: dot(self.u_hat, r),
            v_m: dot(self.v_hat, r),
            w_m: dot(self.w_hat, r),
        }
    }

    /// Direction cosines `[l, m, n]` of an ECEF unit vector in this frame.
    pub fn direction_cosines(&self, s: [f64; 3]) -> [f64; 3] {
        [dot(self.u_hat, s), dot(self.v_hat, s), dot(self.w_hat, s)]
    }
}
/// The ICRS direction of the zenith at `jd` (inverting the observed-place chain by
/// iteration; converges to < 1e-12 rad in four steps).
pub fn zenith_icrs(site: LatLonHeight, jd: f64) -> Result<RaDec, TelescopeError> {
    let e = EarthOrientation::new(jd)?;
    let f = ObserverFrame::new(e, site);
    let mut p = RaDec {
        ra_rad: f.last_rad,
        dec_rad: site.lat_rad,
    };
    for _ in 0..6 {
        let o = f.observed(p);
        p.ra_rad = wrap_tau(p.ra_rad + o.ha_rad);
        p.dec_rad += site.lat_rad - o.dec_rad;
    }
    Ok(p)
}
