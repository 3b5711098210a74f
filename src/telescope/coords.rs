//! One `Copy` type per coordinate frame. Units are in the field names.
//!
//! Frames follow Thompson, Moran & Swenson, *Interferometry and Synthesis in Radio
//! Astronomy* (3rd ed., 2017), ch. 4: ECEF `(X, Y, Z)` has `X` towards the Greenwich
//! meridian on the equator, `Z` towards the north pole; local `(E, N, U)` is the tangent
//! plane at a geodetic site; `(u, v, w)` has `w` towards the phase centre, `v` towards
//! north, `u` towards east (TMS eq. 4.1).

use std::f64::consts::{FRAC_PI_2, PI, TAU};

/// WGS84 semi-major axis (m).
pub const WGS84_A_M: f64 = 6_378_137.0;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// Speed of light in vacuum (m/s).
pub const SPEED_OF_LIGHT_M_S: f64 = 299_792_458.0;

/// Geodetic position on the WGS84 ellipsoid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLonHeight {
    /// Geodetic latitude (rad, north positive).
    pub lat_rad: f64,
    /// Longitude (rad, east positive).
    pub lon_rad: f64,
    /// Height above the ellipsoid (m).
    pub height_m: f64,
}

impl LatLonHeight {
    /// From degrees and metres.
    pub fn from_degrees(lat_deg: f64, lon_deg: f64, height_m: f64) -> Self {
        Self {
            lat_rad: lat_deg.to_radians(),
            lon_rad: lon_deg.to_radians(),
            height_m,
        }
    }

    /// Geocentric Cartesian position (WGS84).
    pub fn to_ecef(self) -> Ecef {
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let (sp, cp) = self.lat_rad.sin_cos();
        let (sl, cl) = self.lon_rad.sin_cos();
        let n = WGS84_A_M / (1.0 - e2 * sp * sp).sqrt();
        Ecef {
            x_m: (n + self.height_m) * cp * cl,
            y_m: (n + self.height_m) * cp * sl,
            z_m: (n * (1.0 - e2) + self.height_m) * sp,
        }
    }
}

/// Earth-centred, Earth-fixed Cartesian position or offset (m), ITRS axes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ecef {
    /// Towards latitude 0, longitude 0 (m).
    pub x_m: f64,
    /// Towards latitude 0, longitude 90° E (m).
    pub y_m: f64,
    /// Towards the north pole (m).
    pub z_m: f64,
}

impl Ecef {
    /// As an array `[x, y, z]` (m).
    pub fn to_array(self) -> [f64; 3] {
        [self.x_m, self.y_m, self.z_m]
    }
    /// Euclidean length (m).
    pub fn norm_m(self) -> f64 {
        (self.x_m * self.x_m + self.y_m * self.y_m + self.z_m * self.z_m).sqrt()
    }
    /// This ECEF offset as an east-north-up vector at `site` (the inverse rotation of
    /// [`Enu::to_ecef_offset`]).
    pub fn to_enu_offset(self, site: LatLonHeight) -> Enu {
        let (sp, cp) = site.lat_rad.sin_cos();
        let (sl, cl) = site.lon_rad.sin_cos();
        let (x, y, z) = (self.x_m, self.y_m, self.z_m);
        Enu {
            e_m: -sl * x + cl * y,
            n_m: -sp * cl * x - sp * sl * y + cp * z,
            u_m: cp * cl * x + cp * sl * y + sp * z,
        }
    }
    /// The geodetic (WGS84) position of this geocentric point, the inverse of
    /// [`LatLonHeight::to_ecef`]: fixed-point iteration on the latitude, converged to
    /// well below a millimetre for points near the Earth's surface.
    pub fn to_geodetic(self) -> LatLonHeight {
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let p = self.x_m.hypot(self.y_m);
        let lon_rad = self.y_m.atan2(self.x_m);
        let mut lat_rad = self.z_m.atan2(p * (1.0 - e2));
        let mut height_m = 0.0;
        for _ in 0..8 {
            let s = lat_rad.sin();
            let n = WGS84_A_M / (1.0 - e2 * s * s).sqrt();
            height_m = if lat_rad.cos().abs() > 1e-9 {
                p / lat_rad.cos() - n
            } else {
                self.z_m.abs() - n * (1.0 - e2)
            };
            lat_rad = self.z_m.atan2(p * (1.0 - e2 * n / (n + height_m)));
        }
        LatLonHeight {
            lat_rad,
            lon_rad,
            height_m,
        }
    }
}

impl std::ops::Sub for Ecef {
    type Output = Ecef;
    /// The offset from `o` to `self` (m).
    fn sub(self, o: Ecef) -> Ecef {
        Ecef {
            x_m: self.x_m - o.x_m,
            y_m: self.y_m - o.y_m,
            z_m: self.z_m - o.z_m,
        }
    }
}

/// Local east-north-up offset from a site (m).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Enu {
    /// East (m).
    pub e_m: f64,
    /// North (m).
    pub n_m: f64,
    /// Up (m).
    pub u_m: f64,
}

impl Enu {
    /// The ECEF offset of this tangent-plane vector at `site` (a rotation; no translation).
    pub fn to_ecef_offset(self, site: LatLonHeight) -> Ecef {
        let (sp, cp) = site.lat_rad.sin_cos();
        let (sl, cl) = site.lon_rad.sin_cos();
        Ecef {
            x_m: -sl * self.e_m - sp * cl * self.n_m + cp * cl * self.u_m,
            y_m: cl * self.e_m - sp * sl * self.n_m + cp * sl * self.u_m,
            z_m: cp * self.n_m + sp * self.u_m,
        }
    }
    /// Horizontal distance from the site (m).
    pub fn horizontal_m(self) -> f64 {
        self.e_m.hypot(self.n_m)
    }
}

/// A sky direction in an equatorial frame (ICRS unless stated otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RaDec {
    /// Right ascension (rad).
    pub ra_rad: f64,
    /// Declination (rad).
    pub dec_rad: f64,
}

impl RaDec {
    /// From degrees.
    pub fn from_degrees(ra_deg: f64, dec_deg: f64) -> Self {
        Self {
            ra_rad: ra_deg.to_radians(),
            dec_rad: dec_deg.to_radians(),
        }
    }
    /// Unit vector `[cos δ cos α, cos δ sin α, sin δ]`.
    pub fn to_unit(self) -> [f64; 3] {
        let (sd, cd) = self.dec_rad.sin_cos();
        let (sa, ca) = self.ra_rad.sin_cos();
        [cd * ca, cd * sa, sd]
    }
    /// From a (not necessarily unit) Cartesian vector; RA in `[0, 2π)`.
    pub fn from_vector(v: [f64; 3]) -> Self {
        let ra = v[1].atan2(v[0]).rem_euclid(TAU);
        let dec = v[2].atan2(v[0].hypot(v[1]));
        Self {
            ra_rad: ra,
            dec_rad: dec,
        }
    }
    /// Direction cosines relative to `centre` by the SIN projection (docs/CONVENTIONS.md):
    /// `l = cos δ sin Δα`, `m = sin δ cos δ0 − cos δ sin δ0 cos Δα`,
    /// `n = sin δ sin δ0 + cos δ cos δ0 cos Δα`.
    pub fn to_lmn(self, centre: RaDec) -> Lmn {
        let da = self.ra_rad - centre.ra_rad;
        let (sd, cd) = self.dec_rad.sin_cos();
        let (sd0, cd0) = centre.dec_rad.sin_cos();
        let (sda, cda) = da.sin_cos();
        Lmn {
            l: cd * sda,
            m: sd * cd0 - cd * sd0 * cda,
            n: sd * sd0 + cd * cd0 * cda,
        }
    }
    /// Angular distance to `other` (rad), by the Vincenty formula (stable at all angles).
    pub fn separation_rad(self, other: RaDec) -> f64 {
        let da = other.ra_rad - self.ra_rad;
        let (s1, c1) = self.dec_rad.sin_cos();
        let (s2, c2) = other.dec_rad.sin_cos();
        let (sda, cda) = da.sin_cos();
        let num = (c2 * sda).hypot(c1 * s2 - s1 * c2 * cda);
        num.atan2(s1 * s2 + c1 * c2 * cda)
    }
    /// Position angle of `other` seen from `self`, north through east (rad).
    pub fn position_angle_rad(self, other: RaDec) -> f64 {
        let da = other.ra_rad - self.ra_rad;
        let y = da.sin() * other.dec_rad.cos();
        let x = other.dec_rad.sin() * self.dec_rad.cos()
            - other.dec_rad.cos() * self.dec_rad.sin() * da.cos();
        y.atan2(x)
    }
    /// Whether the declination is within `[-π/2, π/2]`, the right ascension within two
    /// turns of 0 ([`super::limits::MAX_RA_RAD`]) and both finite.
    pub fn is_valid(self) -> bool {
        self.ra_rad.is_finite()
            && self.ra_rad.abs() <= super::limits::MAX_RA_RAD
            && self.dec_rad.is_finite()
            && self.dec_rad.abs() <= FRAC_PI_2
    }
}

/// Direction cosines relative to a phase centre: `l` towards east, `m` towards north,
/// `n` towards the phase centre (docs/CONVENTIONS.md, "Sky directions and images").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lmn {
    /// East direction cosine.
    pub l: f64,
    /// North direction cosine.
    pub m: f64,
    /// Direction cosine towards the phase centre, `sqrt(1 − l² − m²)` for the front hemisphere.
    pub n: f64,
}

impl Lmn {
    /// Back to RA/Dec around `centre` (inverse SIN projection, front hemisphere).
    pub fn to_radec(self, centre: RaDec) -> RaDec {
        let (sd0, cd0) = centre.dec_rad.sin_cos();
        let (sa0, ca0) = centre.ra_rad.sin_cos();
        // Basis vectors of the (l, m, n) frame in equatorial coordinates.
        let e = [-sa0, ca0, 0.0];
        let nn = [-sd0 * ca0, -sd0 * sa0, cd0];
        let c = [cd0 * ca0, cd0 * sa0, sd0];
        let v = [0, 1, 2].map(|i| self.l * e[i] + self.m * nn[i] + self.n * c[i]);
        RaDec::from_vector(v)
    }
}

/// Baseline coordinates (m): `w` towards the phase centre, `v` north, `u` east.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Uvw {
    /// East-ish component (m).
    pub u_m: f64,
    /// North-ish component (m).
    pub v_m: f64,
    /// Component towards the phase centre (m).
    pub w_m: f64,
}

impl Uvw {
    /// Euclidean length (m).
    pub fn norm_m(self) -> f64 {
        (self.u_m * self.u_m + self.v_m * self.v_m + self.w_m * self.w_m).sqrt()
    }
    /// As `[u, v, w]` (m).
    pub fn to_array(self) -> [f64; 3] {
        [self.u_m, self.v_m, self.w_m]
    }
}

impl std::ops::Sub for Uvw {
    type Output = Uvw;
    /// The baseline from `o` to `self` (m): `uvw_pq = uvw_q − uvw_p`.
    fn sub(self, o: Uvw) -> Uvw {
        Uvw {
            u_m: self.u_m - o.u_m,
            v_m: self.v_m - o.v_m,
            w_m: self.w_m - o.w_m,
        }
    }
}

/// Wrap an angle into `[0, 2π)`.
pub fn wrap_tau(a: f64) -> f64 {
    a.rem_euclid(TAU)
}

/// Wrap an angle into `[-π, π)`.
pub fn wrap_pi(a: f64) -> f64 {
    (a + PI).rem_euclid(TAU) - PI
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_projection_puts_east_at_positive_l() {
        let c = RaDec::from_degrees(60.0, -30.0);
        let east = RaDec::from_degrees(61.0, -30.0).to_lmn(c);
        let north = RaDec::from_degrees(60.0, -29.0).to_lmn(c);
        assert!(east.l > 0.0 && east.m.abs() < 0.01);
        assert!(north.m > 0.0 && north.l.abs() < 1e-12);
        let at = c.to_lmn(c);
        assert!(at.l.abs() < 1e-15 && at.m.abs() < 1e-15 && (at.n - 1.0).abs() < 1e-15);
        // Inverse.
        let p = RaDec::from_degrees(62.5, -27.0);
        let back = p.to_lmn(c).to_radec(c);
        assert!(back.separation_rad(p) < 1e-12);
    }

    #[test]
    fn geodetic_inverts_geocentric() {
        for (lat, lon, h) in [
            (-26.82, 116.76, 377.0),
            (34.08, -107.62, 2124.0),
            (89.9, 10.0, -50.0),
            (0.0, 180.0, 0.0),
        ] {
            let site = LatLonHeight::from_degrees(lat, lon, h);
            let back = site.to_ecef().to_geodetic();
            assert!((back.lat_rad - site.lat_rad).abs() < 1e-11, "{lat}");
            assert!(
                (back.lon_rad - site.lon_rad).rem_euclid(std::f64::consts::TAU) < 1e-12
                    || (site.lon_rad - back.lon_rad).rem_euclid(std::f64::consts::TAU) < 1e-12
            );
            assert!((back.height_m - h).abs() < 1e-4, "{h} vs {}", back.height_m);
        }
    }

    #[test]
    fn wgs84_and_enu_rotations_are_consistent() {
        let site = LatLonHeight::from_degrees(-26.82, 116.76, 377.0);
        let up = Enu {
            e_m: 0.0,
            n_m: 0.0,
            u_m: 1000.0,
        }
        .to_ecef_offset(site);
        let higher = LatLonHeight {
            height_m: 1377.0,
            ..site
        }
        .to_ecef()
            - site.to_ecef();
        assert!((up - higher).norm_m() < 1e-6);
        let e = Enu {
            e_m: 3.0,
            n_m: 4.0,
            u_m: 12.0,
        }
        .to_ecef_offset(site);
        assert!((e.norm_m() - 13.0).abs() < 1e-12);
    }
}
