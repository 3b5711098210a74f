//! FITS images (through cfitsio, built from source by `fitsio-src`): the image cube with a
//! SIN-projection WCS per [`crate::conventions`] (`CDELT1 < 0`, east on the left),
//! `RADESYS = 'ICRS'`, `EQUINOX = 2000`, FREQ and STOKES axes, `BUNIT`, `DATE-OBS` and
//! HISTORY cards with the fxgrid version and the imaging parameters; and the reader of
//! model images for prediction.
//!
//! Axes: `NAXIS1` = columns (RA), `NAXIS2` = rows (Dec), `NAXIS3` = frequency planes,
//! `NAXIS4` = 1 Stokes plane. The phase centre is pixel `(nx/2, ny/2)` (0-based), i.e.
//! `CRPIX = n/2 + 1`.

use std::ffi::CString;
use std::path::Path;

use fitsio::images::{ImageDescription, ImageType};
use fitsio::FitsFile;
use ndarray::Array3;

use super::{write_atomically, IoError};
use crate::image::{Beam, Image, ImageGeometry, Stokes};
use crate::telescope::RaDec;

fn fits_err(path: &Path, action: &str, e: impl std::fmt::Display) -> IoError {
    IoError::Format {
        path: path.display().to_string(),
        reason: format!("FITS error while {action}: {e}"),
    }
}

/// Calendar date and time (UTC) of a Julian Date, as FITS `DATE-OBS` text.
pub fn iso_date(jd: f64) -> String {
    // Fliegel & Van Flandern's integer algorithm for the date of JD + 0.5.
    let jd_noon = jd + 0.5;
    let day = jd_noon.floor();
    let mut secs = ((jd_noon - day) * 86_400.0 * 1000.0).round() / 1000.0;
    let mut l = day as i64 + 68_569;
    if secs >= 86_400.0 {
        secs -= 86_400.0;
        l += 1;
    }
    let n = 4 * l / 146_097;
    l -= (146_097 * n + 3) / 4;
    let i = 4000 * (l + 1) / 1_461_001;
    l = l - 1461 * i / 4 + 31;
    let j = 80 * l / 2447;
    let d = l - 2447 * j / 80;
    l = j / 11;
    let m = j + 2 - 12 * l;
    let y = 100 * (n - 49) + i + l;
    let hh = (secs / 3600.0).floor();
    let mm = ((secs - hh * 3600.0) / 60.0).floor();
    let ss = secs - hh * 3600.0 - mm * 60.0;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{ss:06.3}",
        hh as i64, mm as i64
    )
}

/// Writes `image` to `path` as a FITS primary image (32-bit float), atomically.
pub fn write_fits(path: &Path, image: &Image) -> Result<(), IoError> {
    let g = &image.geometry;
    let (np, ny, nx) = image.data.dim();
    let data: Vec<f32> = image.data.iter().copied().collect();
    write_atomically(path, |tmp| {
        let e = |a: &'static str| move |x: fitsio::errors::Error| fits_err(path, a, x);
        let desc = ImageDescription {
            data_type: ImageType::Float,
            dimensions: &[1, np, ny, nx],
        };
        let mut f = FitsFile::create(tmp)
            .with_custom_primary(&desc)
            .open()
            .map_err(e("creating the file"))?;
        let hdu = f.primary_hdu().map_err(e("opening the primary HDU"))?;
        hdu.write_image(&mut f, &data)
            .map_err(e("writing the pixels"))?;
        let deg = |r: f64| r.to_degrees();
        let fmid = g.freqs_hz.first().copied().unwrap_or(0.0);
        let fstep = if g.freqs_hz.len() > 1 {
            g.freqs_hz[1] - g.freqs_hz[0]
        } else {
            g.freq_width_hz
        };
        macro_rules! key {
            ($name:expr, $v:expr, $c:expr) => {
                hdu.write_key(&mut f, $name, ($v, $c))
                    .map_err(e(concat!("writing ", $name)))?
            };
        }
        key!("BUNIT", image.unit.as_str(), "brightness unit");
        key!("BTYPE", "Intensity", "");
        key!(
            "CTYPE1",
            "RA---SIN",
            "right ascension, orthographic projection"
        );
        key!(
            "CRPIX1",
            (nx / 2 + 1) as f64,
            "phase centre pixel (1-based)"
        );
        key!(
            "CRVAL1",
            deg(g.phase_centre.ra_rad),
            "phase centre RA (deg)"
        );
        key!("CDELT1", -deg(g.cell_x_rad), "RA increases to the left");
        key!("CUNIT1", "deg", "");
        key!("CTYPE2", "DEC--SIN", "declination, orthographic projection");
        key!(
            "CRPIX2",
            (ny / 2 + 1) as f64,
            "phase centre pixel (1-based)"
        );
        key!(
            "CRVAL2",
            deg(g.phase_centre.dec_rad),
            "phase centre Dec (deg)"
        );
        key!("CDELT2", deg(g.cell_y_rad), "");
        key!("CUNIT2", "deg", "");
        key!("CTYPE3", "FREQ", "frequency");
        key!("CRPIX3", 1.0, "");
        key!("CRVAL3", fmid, "centre frequency of plane 1 (Hz)");
        key!("CDELT3", fstep, "plane spacing (Hz)");
        key!("CUNIT3", "Hz", "");
        key!("CTYPE4", "STOKES", "");
        key!("CRPIX4", 1.0, "");
        key!(
            "CRVAL4",
            g.stokes.fits_code() as f64,
            "1 = I, -5..-8 = XX YY XY YX"
        );
        key!("CDELT4", 1.0, "");
        key!("RADESYS", "ICRS", "");
        key!("EQUINOX", 2000.0, "");
        key!("SPECSYS", "TOPOCENT", "");
        key!("RESTFRQ", fmid, "");
        key!("BANDWID", g.freq_width_hz, "bandwidth of each plane (Hz)");
        key!(
            "DATE-OBS",
            iso_date(g.date_obs_jd_utc).as_str(),
            "observation start (UTC)"
        );
        key!("TIMESYS", "UTC", "");
        key!("ORIGIN", format!("fxgrid {}", crate::VERSION).as_str(), "");
        if let Some(b) = &image.beam {
            key!(
                "BMAJ",
                deg(b.major_rad),
                "restoring beam major axis FWHM (deg)"
            );
            key!(
                "BMIN",
                deg(b.minor_rad),
                "restoring beam minor axis FWHM (deg)"
            );
            key!(
                "BPA",
                deg(b.pa_rad),
                "restoring beam position angle (deg, N through E)"
            );
        }
        for line in &image.history {
            let text = CString::new(line.replace('\0', " "))
                .map_err(|x| fits_err(path, "writing HISTORY", x))?;
            let mut status = 0;
            // SAFETY: the file is open; cfitsio copies the text.
            unsafe {
                fitsio::sys::ffphis(f.as_raw(), text.as_ptr(), &mut status);
            }
            if status != 0 {
                return Err(fits_err(
                    path,
                    "writing HISTORY",
                    format!("cfitsio status {status}"),
                ));
            }
        }
        Ok(())
    })
}

/// A human-readable summary of a FITS image fxgrid can read.
pub fn summarise(path: &Path) -> Result<String, IoError> {
    let im = read_fits(path)?;
    let g = &im.geometry;
    let (row, col, peak) = im.peak(0);
    Ok(format!(
        "{}\n  format: FITS image, {} × {} pixels × {} channel(s), unit {}\n  centre: RA {:.6}°, Dec {:.6}°; cell {:.3}″ × {:.3}″\n  peak of plane 0: {peak} at row {row}, column {col}\n",
        path.display(),
        g.npix_x,
        g.npix_y,
        im.data.shape()[0],
        im.unit,
        g.phase_centre.ra_rad.to_degrees(),
        g.phase_centre.dec_rad.to_degrees(),
        g.cell_x_rad.to_degrees() * 3600.0,
        g.cell_y_rad.to_degrees() * 3600.0,
    ))
}

/// Reads a FITS image written by [`write_fits`] or any SIN-projected image with the
/// reference pixel at `(n/2 + 1)` and no rotation (a model image for prediction).
pub fn read_fits(path: &Path) -> Result<Image, IoError> {
    let e = |a: &'static str| move |x: fitsio::errors::Error| fits_err(path, a, x);
    if !path.exists() {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: "no such file".into(),
        });
    }
    let mut f = FitsFile::open(path).map_err(e("opening"))?;
    let hdu = f.primary_hdu().map_err(e("opening the primary HDU"))?;
    let shape = match &hdu.info {
        fitsio::hdu::HduInfo::ImageInfo { shape, .. } => shape.clone(),
        _ => {
            return Err(IoError::Format {
                path: path.display().to_string(),
                reason: "the primary HDU is not an image".into(),
            })
        }
    };
    // fitsio reports C order: [.., NAXIS2, NAXIS1].
    if !(2..=4).contains(&shape.len()) || shape[..shape.len() - 2].iter().product::<usize>() == 0 {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: format!("expected a 2- to 4-axis image, found shape {shape:?}"),
        });
    }
    let (ny, nx) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    let n_other: usize = shape[..shape.len() - 2].iter().product();
    // The data the header declares must be in the file before anything is allocated.
    let bitpix = hdu.read_key::<i64>(&mut f, "BITPIX").unwrap_or(-32);
    let declared =
        shape.iter().map(|&n| n as f64).product::<f64>() * (bitpix.unsigned_abs() / 8) as f64;
    let size = std::fs::metadata(path)
        .map(|m| m.len() as f64)
        .unwrap_or(0.0);
    if declared > size {
        return Err(IoError::Format {
            path: path.display().to_string(),
            reason: format!(
                "the header declares {shape:?} pixels of {bitpix} bits ({declared:.0} bytes) but the file has {size:.0} bytes"
            ),
        });
    }
    let pixels: Vec<f32> = hdu.read_image(&mut f).map_err(e("reading the pixels"))?;
    let mut key_f = |name: &str| -> Result<f64, IoError> {
        hdu.read_key::<f64>(&mut f, name)
            .map_err(|x| fits_err(path, "reading a header keyword", format!("{name}: {x}")))
    };
    let (crpix1, crpix2) = (key_f("CRPIX1")?, key_f("CRPIX2")?);
    let (crval1, crval2) = (key_f("CRVAL1")?, key_f("CRVAL2")?);
    let (cdelt1, cdelt2) = (key_f("CDELT1")?, key_f("CDELT2")?);
    let freq = key_f("CRVAL3").unwrap_or(0.0);
    let stokes = key_f("CRVAL4").map(|v| v.round() as i32).unwrap_or(1);
    let beam = match (key_f("BMAJ"), key_f("BMIN"), key_f("BPA")) {
        (Ok(a), Ok(b), Ok(pa)) => Some(Beam {
            major_rad: a.to_radians(),
            minor_rad: b.to_radians(),
            pa_rad: pa.to_radians(),
        }),
        _ => None,
    };
    // What this reader does not apply is refused, not ignored: rotation, other units,
    // other frames.
    let refuse = |reason: String| IoError::Format {
        path: path.display().to_string(),
        reason,
    };
    for k in ["CROTA1", "CROTA2"] {
        if let Ok(v) = key_f(k) {
            if v != 0.0 {
                return Err(refuse(format!(
                    "{k} = {v}: rotated images are not supported"
                )));
            }
        }
    }
    for (k, identity) in [
        ("PC1_1", 1.0),
        ("PC2_2", 1.0),
        ("PC1_2", 0.0),
        ("PC2_1", 0.0),
    ] {
        if let Ok(v) = key_f(k) {
            if v != identity {
                return Err(refuse(format!(
                    "{k} = {v}: a PC matrix other than the identity (rotation or skew) is not supported"
                )));
            }
        }
    }
    if key_f("CD1_1").is_ok() || key_f("CD2_2").is_ok() {
        return Err(refuse("a CD matrix is not supported: give CDELT1/2".into()));
    }
    let equinox = key_f("EQUINOX").ok();
    let mut key_s = |name: &str| hdu.read_key::<String>(&mut f, name).ok();
    let (c1, c2) = (key_s("CTYPE1"), key_s("CTYPE2"));
    let unit = key_s("BUNIT").unwrap_or_else(|| "JY/PIXEL".into());
    let bad = |reason: String| IoError::Format {
        path: path.display().to_string(),
        reason,
    };
    for k in ["CUNIT1", "CUNIT2"] {
        if let Some(u) = key_s(k) {
            if !u.trim().eq_ignore_ascii_case("deg") {
                return Err(bad(format!("{k} = '{u}': expected 'deg'")));
            }
        }
    }
    if let Some(frame) = key_s("RADESYS") {
        let frame = frame.trim().to_ascii_uppercase();
        if frame != "ICRS" && frame != "FK5" {
            return Err(bad(format!(
                "RADESYS = '{frame}': expected ICRS or FK5 (J2000)"
            )));
        }
        if frame == "FK5" && equinox.is_some_and(|eq| eq != 2000.0) {
            return Err(bad(format!("EQUINOX = {equinox:?}: expected 2000 for FK5")));
        }
    }
    if !(crval1.is_finite() && crval2.is_finite() && cdelt1.is_finite() && cdelt2.is_finite()) {
        return Err(bad(format!(
            "CRVAL1/2 = {crval1}, {crval2}, CDELT1/2 = {cdelt1}, {cdelt2}: expected finite values"
        )));
    }
    if c1.as_deref() != Some("RA---SIN") || c2.as_deref() != Some("DEC--SIN") {
        return Err(bad(format!(
            "expected CTYPE1/2 = 'RA---SIN'/'DEC--SIN', found {c1:?}/{c2:?}"
        )));
    }
    if (crpix1 - (nx / 2 + 1) as f64).abs() > 1e-9 || (crpix2 - (ny / 2 + 1) as f64).abs() > 1e-9 {
        return Err(bad(format!(
            "the reference pixel must be the phase centre (CRPIX = {}, {}), found {crpix1}, {crpix2}",
            nx / 2 + 1,
            ny / 2 + 1
        )));
    }
    if cdelt1 >= 0.0 || cdelt2 <= 0.0 {
        return Err(bad(format!(
            "expected CDELT1 < 0 and CDELT2 > 0 (east left, north up), found {cdelt1}, {cdelt2}"
        )));
    }
    let stokes = Stokes::from_fits_code(stokes)
        .ok_or_else(|| bad(format!("unsupported STOKES value {stokes}")))?;
    let data = Array3::from_shape_vec((n_other, ny, nx), pixels)
        .map_err(|x| bad(format!("pixel count: {x}")))?;
    Ok(Image {
        geometry: ImageGeometry {
            phase_centre: RaDec::from_degrees(crval1, crval2),
            npix_x: nx,
            npix_y: ny,
            cell_x_rad: (-cdelt1).to_radians(),
            cell_y_rad: cdelt2.to_radians(),
            freqs_hz: vec![freq],
            freq_width_hz: 0.0,
            stokes,
            date_obs_jd_utc: 0.0,
        },
        data,
        unit,
        history: Vec::new(),
        beam,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(2_451_545.0), "2000-01-01T12:00:00.000");
        assert_eq!(iso_date(2_460_827.5), "2025-06-01T00:00:00.000");
        assert_eq!(iso_date(2_460_827.75), "2025-06-01T06:00:00.000");
    }
}
