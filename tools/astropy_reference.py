#!/usr/bin/env python3
"""Reference values for tests/it/astrometry.rs, computed with astropy (offline, bundled IERS).

Prints, for several epochs at the SKA-Low-like site, the local apparent sidereal time and the
topocentric apparent (true equator and equinox of date, astropy's TETE frame) RA/Dec of a
few ICRS positions. The output is pasted into the test with this script's name and the
astropy version as provenance.
"""
import astropy
import astropy.units as u
from astropy.coordinates import TETE, EarthLocation, SkyCoord
from astropy.time import Time
from astropy.utils import iers
from astropy.utils.data import conf

iers.conf.auto_download = False
iers.conf.auto_max_age = None
conf.allow_internet = False

site = EarthLocation.from_geodetic(lon=116.76 * u.deg, lat=-26.82 * u.deg, height=377.0 * u.m)
epochs = ["2001-03-04T05:06:07", "2012-07-01T00:00:30", "2017-01-01T00:00:30",
          "2025-06-01T15:32:00", "2026-10-15T03:00:00"]
sources = [(60.0, -30.0), (201.365, -43.019), (300.0, -75.0), (10.0, 20.0)]
print(f"// astropy {astropy.__version__}, tools/astropy_reference.py")
for e in epochs:
    t = Time(e, scale="utc", location=site)
    last = t.sidereal_time("apparent").rad
    rows = []
    for ra, dec in sources:
        c = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs").transform_to(
            TETE(obstime=t, location=site))
        rows.append(f"({ra!r}, {dec!r}, {float(c.ra.rad)!r}, {float(c.dec.rad)!r})".replace(":?", ""))
    print(f'    ("{e}", {t.jd1!r}, {t.jd2!r}, {float(last)!r}, &[{", ".join(rows)}]),')
