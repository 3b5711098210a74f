#!/usr/bin/env bash
# Interoperability tests: files written by `fxgrid simulate vis` read by pyuvdata, strictly.
#
#   tests/interop/run.sh PYTHON FXGRID_BINARY WORKDIR [FXGRID_MS_BINARY]
#
# PYTHON must have pyuvdata, h5py and astropy. The validators are check_uvh5.py and
# check_fits_image.py beside this script. With FXGRID_MS_BINARY (an fxgrid built with the
# ms feature), PYTHON also needs python-casacore and wsclean must be on the PATH: the
# Measurement Set checks (check_ms.py) run too.
set -euo pipefail
py=$1
fx=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# 1. The issue's acceptance command: 512 stations, 20 random sources, strict pyuvdata read.
"$fx" simulate vis --layout ska-low --random-sources 20 --ra-deg 60 --dec-deg -30 --ntimes 4 \
  --int-time-s 10 --nchan 8 --freq-start-hz 1.5e8 --chan-width-hz 1e5 --out "$work/a.uvh5"
if "$py" "$here/check_uvh5.py" "$work/a.uvh5" > "$work/a.json" 2> "$work/a.err"; then
  if tail -n 1 "$work/a.json" | "$py" -c '
import json, sys
d = json.loads(sys.stdin.read())
want = {"Nants_data": 512, "Nbls": 131328, "Ntimes": 4, "Nfreqs": 8, "Npols": 4}
got = {k: d[k] for k in want}
print("check_uvh5:", got, "warnings:", d["warnings"])
sys.exit(0 if got == want and not d["warnings"] else 1)'; then
    pass "strict pyuvdata read of the 512-station simulation"
  else
    fail "strict pyuvdata read: wrong counts or warnings"
  fi
else
  tail -n 1 "$work/a.json"; cat "$work/a.err" | tail -5
  fail "check_uvh5.py rejected the 512-station simulation"
fi

# 2. pyuvdata places a source 2° from the phase centre where we put it.
"$fx" simulate vis --layout ska-low --source 62.31,-30.0,1.0 --ra-deg 60 --dec-deg -30 \
  --ntimes 3 --int-time-s 60 --nchan 2 --freq-start-hz 1.5e8 --chan-width-hz 1e5 \
  --precision f64 --out "$work/one.uvh5"
if "$py" "$here/check_phasing.py" "$work/one.uvh5" 62.31 -30.0 --max-baseline-m 10000 --tol-rad 0.02; then
  pass "pyuvdata phase() to the source leaves residual phase < 0.02 rad up to 10 km"
else
  fail "pyuvdata phase() residual"
fi

# 3. Other layouts and options also pass the strict read.
"$fx" simulate vis --layout ska-mid --source 10,-45,1 --random-sources 5 --ra-deg 10 --dec-deg -45 \
  --ntimes 2 --nchan 4 --freq-start-hz 1.4e9 --chan-width-hz 1e6 --noise-jy 0.1 --no-autos \
  --out "$work/mid.uvh5"
if "$py" "$here/check_uvh5.py" "$work/mid.uvh5" > "$work/mid.json" 2>&1; then
  pass "strict pyuvdata read of an SKA-Mid-like simulation without autos, with noise"
else
  tail -n 1 "$work/mid.json"; fail "SKA-Mid-like simulation"
fi

# 4. The FX chain: voltages → channelise → correlate gives UVH5 that pyuvdata reads strictly,
#    with the data in Jy and the integration count expected.
"$fx" -q simulate voltages --layout ska-low:16 --source 60.5,-29.5,10 --ra-deg 60 --dec-deg -30 \
  --centre-freq-hz 1e8 --sample-rate-hz 1.28e5 --nsamples 300000 --system-noise-jy 50 \
  --bits 8 --out "$work/v.h5"
"$fx" -q channelise "$work/v.h5" --nchan 128 --taps 8 --oversample 32/27 --out "$work/s.h5"
"$fx" -q correlate "$work/s.h5" --int-spectra 500 --out "$work/fx.uvh5"
if "$py" "$here/check_uvh5.py" "$work/fx.uvh5" > "$work/fx.json" 2>&1 \
  && tail -n 1 "$work/fx.json" | "$py" -c '
import json, sys
d = json.loads(sys.stdin.read())
got = {k: d[k] for k in ("Nants_data", "Nbls", "Ntimes", "Nfreqs", "Npols", "vis_units")}
print("check_uvh5:", got, "warnings:", d["warnings"])
sys.exit(0 if got == {"Nants_data": 16, "Nbls": 136, "Ntimes": 5, "Nfreqs": 128, "Npols": 4, "vis_units": "Jy"} and not d["warnings"] else 1)'; then
  pass "strict pyuvdata read of correlator output (voltages → PFB 32/27 → X-engine)"
else
  tail -n 1 "$work/fx.json"; fail "correlator output"
fi

# 5. Imaging: one 1 Jy source 1° east and 0.5° north (direction cosines) of a phase centre
#    at Dec −30°; astropy's WCS of our FITS file must put the peak on the source, and the
#    peak must read 1 Jy/beam ± 1e-3.
src=$("$py" -c '
import math
ra0, d0 = 60.0, math.radians(-30.0)
l, m = math.radians(1.0), math.radians(0.5)
n = math.sqrt(1 - l * l - m * m)
dec = math.asin(m * math.cos(d0) + n * math.sin(d0))
ra = math.radians(ra0) + math.atan2(l, n * math.cos(d0) - m * math.sin(d0))
print(f"{math.degrees(ra):.12f} {math.degrees(dec):.12f}")')
read -r sra sdec <<< "$src"
"$fx" -q simulate vis --layout ska-low:128 --source "$sra,$sdec,1.0" --ra-deg 60 --dec-deg -30 \
  --ntimes 4 --int-time-s 60 --nchan 2 --precision f64 --out "$work/pt.uvh5"
"$fx" -q image "$work/pt.uvh5" --npix 512 --cell-arcsec 30 --psf "$work/pt_psf.fits" \
  --png "$work/pt.png" --out "$work/pt.fits"
if "$py" "$here/check_fits_image.py" "$work/pt.fits" --expect-peak "$sra" "$sdec" \
    --expect-stokes I > "$work/pt.json" 2> "$work/pt.err" \
  && "$py" "$here/check_fits_image.py" "$work/pt_psf.fits" > /dev/null 2>&1 \
  && tail -n 1 "$work/pt.json" | "$py" -c '
import json, sys
d = json.loads(sys.stdin.read())
p = d["peak"]
print("check_fits_image: peak", p["value"], "Jy/beam at", p["ra_deg"], p["dec_deg"], "sep", p["sep_arcsec"], "arcsec")
sys.exit(0 if abs(p["value"] - 1.0) <= 1e-3 else 1)'; then
  pass "astropy WCS puts the imaged source where it was simulated, at 1 Jy/beam"
else
  tail -n 1 "$work/pt.json"; tail -3 "$work/pt.err"; fail "imaged source position or flux"
fi

# 6. fxgrid's streaming UVH5 reader against pyuvdata's, on files pyuvdata writes in every
#    layout it supports (and legacy layouts made from them with h5py): data, flags,
#    nsamples, times, frequencies, windows, polarisations equal; uvw to 1 mm. Small blocks
#    (5000 samples), so that every file is read in several.
dump="$(dirname "$fx")/examples/uvh5_dump"
"$fx" -q simulate vis --layout ska-low:12 --source 60.5,-29.5,1.0 --ra-deg 60 --dec-deg -30 \
  --ntimes 4 --int-time-s 10 --nchan 8 --freq-start-hz 1.5e8 --chan-width-hz 1e5 \
  --noise-jy 0.1 --out "$work/var_src.uvh5"
mkdir -p "$work/variants"
"$py" "$here/uvh5_variants.py" "$work/var_src.uvh5" "$work/variants" > "$work/variants.txt"
while read -r name file; do
  if "$dump" "$file" "$work/variants/$name.dump.h5" 5000 > /dev/null 2> "$work/variants/$name.err" \
    && "$py" "$here/compare_uvh5_read.py" "$file" "$work/variants/$name.dump.h5" \
      2> /dev/null | sed "s|^|  |"; then
    pass "fxgrid reads pyuvdata's $name layout as pyuvdata does"
  else
    tail -2 "$work/variants/$name.err"; fail "reading the $name layout"
  fi
done < "$work/variants.txt"

# 7. Drift-scan data written by pyuvdata (the point-source file of check 5, unprojected by
#    pyuvdata): imaged at its default centre (the zenith at mid time) the source is where
#    astropy's WCS says; data pyuvdata phased elsewhere, imaged with --phase-centre at the
#    source, peak on the source at 1 Jy/beam ± 1e-3 (streamed in 20 blocks).
"$py" -c "
from pyuvdata import UVData
u = UVData.from_file('$work/pt.uvh5')
u.unproject_phase()
u.write_uvh5('$work/pt_drift.uvh5', clobber=True)
u.phase(ra=0.9, dec=-0.4, cat_name='elsewhere')
u.write_uvh5('$work/pt_other.uvh5', clobber=True)
" 2> /dev/null
"$fx" -q image "$work/pt_drift.uvh5" --npix 1024 --cell-arcsec 30 --out "$work/pt_drift.fits"
"$fx" -q image "$work/pt_other.uvh5" --npix 256 --cell-arcsec 30 --phase-centre "$sra,$sdec" \
  --block-samples 4000 --out "$work/pt_other.fits"
if "$py" "$here/check_fits_image.py" "$work/pt_drift.fits" --expect-peak "$sra" "$sdec" \
    > "$work/pt_drift.json" 2> /dev/null \
  && "$py" "$here/check_fits_image.py" "$work/pt_other.fits" --expect-peak "$sra" "$sdec" \
    > "$work/pt_other.json" 2> /dev/null \
  && tail -n 1 "$work/pt_other.json" | "$py" -c '
import json, sys
p = json.loads(sys.stdin.read())["peak"]
print("re-phased: peak", p["value"], "Jy/beam, sep", p["sep_arcsec"], "arcsec")
sys.exit(0 if abs(p["value"] - 1.0) <= 1e-3 else 1)'; then
  pass "pyuvdata-written drift-scan and re-phased data put the source at its RA/Dec"
else
  tail -n 1 "$work/pt_drift.json"; tail -n 1 "$work/pt_other.json"; fail "imaging drift-scan or re-phased data"
fi

# 8. Measurement Sets (with an ms-enabled binary): pyuvdata reads fxgrid's MS and UVH5 of one
#    simulation as the same data; WSClean images fxgrid's MS of a source 0.3° east and
#    0.2° north with the peak where astropy's WCS puts it (±1 pixel) and equal to fxgrid's
#    image of the UVH5 to relative L2 <= 1e-4, with natural, Briggs 0 and uniform
#    weights, and fits the same restoring beam to its PSF; fxgrid images pyuvdata's MS of the interop variants as it images the UVH5
#    (relative L2 <= 1e-5).
fxms=${4:-}
if [ -n "$fxms" ]; then
  src=$("$py" -c '
import math
ra0, d0 = 60.0, math.radians(-30.0)
l, m = math.radians(0.3), math.radians(0.2)
n = math.sqrt(1 - l * l - m * m)
dec = math.asin(m * math.cos(d0) + n * math.sin(d0))
ra = math.radians(ra0) + math.atan2(l, n * math.cos(d0) - m * math.sin(d0))
print(f"{math.degrees(ra):.12f} {math.degrees(dec):.12f}")')
  read -r mra mdec <<< "$src"
  for o in m.ms m.uvh5; do
    "$fxms" -q simulate vis --layout ska-low:128 --source "$mra,$mdec,1.0" --ra-deg 60 --dec-deg -30 \
      --ntimes 4 --int-time-s 60 --nchan 4 --freq-start-hz 1e8 --chan-width-hz 1e6 \
      --precision f64 --no-autos --out "$work/$o"
  done
  if "$py" "$here/check_ms.py" pyuvdata "$work/m.ms" "$work/m.uvh5" 2> /dev/null | sed "s|^|  |"; then
    pass "pyuvdata reads fxgrid's MS and UVH5 of one simulation as the same data"
  else
    fail "pyuvdata reading fxgrid's MS"
  fi
  "$fxms" -q image "$work/m.uvh5" --npix 1024 --cell-arcsec 4 --epsilon 1e-6 --out "$work/m.fits"
  mkdir -p "$work/wsclean"
  if "$py" "$here/check_ms.py" wsclean "$work/m.ms" "$work/m.fits" --ra "$mra" --dec "$mdec" \
      --npix 1024 --cell-arcsec 4 --workdir "$work/wsclean" 2> /dev/null | sed "s|^|  |"; then
    pass "WSClean images fxgrid's MS where astropy puts the source, as fxgrid images the UVH5"
  else
    fail "WSClean imaging fxgrid's MS"
  fi
  # Briggs and uniform weighting: the same weights as WSClean's (its grid of the padded
  # image, its rank filter).
  for wt in briggs:0 uniform; do
    "$fxms" -q image "$work/m.uvh5" --npix 1024 --cell-arcsec 4 --epsilon 1e-6 --weight "$wt" \
      --out "$work/m_$wt.fits"
    # The restoring beam fitted to the PSF (one CLEAN iteration writes it): WSClean's.
    "$fxms" -q image "$work/m.uvh5" --npix 1024 --cell-arcsec 4 --epsilon 1e-6 --weight "$wt" \
      --niter 1 --out "$work/m_${wt}_restored.fits"
    mkdir -p "$work/wsclean_$wt"
    if "$py" "$here/check_ms.py" wsclean "$work/m.ms" "$work/m_$wt.fits" --ra "$mra" --dec "$mdec" \
        --npix 1024 --cell-arcsec 4 --weight "$wt" --workdir "$work/wsclean_$wt" \
        --beam "$work/m_${wt}_restored.fits" 2> /dev/null | sed "s|^|  |"; then
      pass "WSClean's $wt image and beam of fxgrid's MS equal fxgrid's of the UVH5"
    else
      fail "WSClean's $wt image of fxgrid's MS"
    fi
  done
  # pyuvdata's MS of the variants it can write as one data description and one phase
  # centre, linear or circular: fxgrid's image of each equals its image of the UVH5.
  while read -r name file; do
    case "$name" in phased|complex128|int32|lzf|gzip|circular|sparse_baseline_major|spws|two_centres_flagged) ;; *) continue ;; esac
    ms="$work/variants/$name.ms"
    if "$py" -c "
from pyuvdata import UVData
UVData.from_file('$file').write_ms('$ms')" 2> "$work/variants/$name.ms.err" \
      && "$fxms" -q image "$file" --npix 256 --cell-arcsec 60 --out "$work/variants/$name.u.fits" \
      && "$fxms" -q image "$ms" --npix 256 --cell-arcsec 60 --out "$work/variants/$name.m.fits" \
      && "$py" -c "
import sys, numpy as np
from astropy.io import fits
a = fits.getdata('$work/variants/$name.m.fits').astype(float)
b = fits.getdata('$work/variants/$name.u.fits').astype(float)
r = np.linalg.norm(a - b) / np.linalg.norm(b)
print('  rel L2', r)
sys.exit(0 if r <= 1e-5 else 1)"; then
      pass "fxgrid images pyuvdata's MS of the $name variant as its UVH5"
      if "$fxms" -q convert "$ms" "$work/variants/$name.back.uvh5" --block-samples 3000 \
        && "$py" "$here/check_uvh5.py" "$work/variants/$name.back.uvh5" > /dev/null 2>&1 \
        && "$py" "$here/check_ms.py" pyuvdata "$ms" "$work/variants/$name.back.uvh5" > /dev/null 2>&1; then
        pass "fxgrid convert of pyuvdata's MS ($name) gives UVH5 that pyuvdata reads strictly as the same data"
      else
        fail "converting pyuvdata's MS of the $name variant to UVH5"
      fi
    else
      tail -2 "$work/variants/$name.ms.err"; fail "imaging pyuvdata's MS of the $name variant"
    fi
  done < "$work/variants.txt"
  # Real data (VLA, MWA, HERA; the test files pyuvdata 2.4 shipped in its wheel on PyPI)
  # written by pyuvdata as UVH5 and as MS: fxgrid's images of the two equal to 1e-5. And
  # the VLA observation as CASA wrote it: fxgrid's conversion to UVH5 reads in pyuvdata
  # as pyuvdata reads CASA's MS.
  real="$work/real"
  if "$py" "$here/real_data.py" fetch "$real" && "$py" "$here/real_data.py" write "$real" \
      > "$real.txt" 2> "$real.err"; then
    while read -r name uvh5 ms; do
      npix=256; [ "$name" = hera ] && npix=32
      if "$fxms" -q image "$uvh5" --npix "$npix" --out "$real/$name.u.fits" \
        && "$fxms" -q image "$ms" --npix "$npix" --out "$real/$name.m.fits" \
        && "$py" -c "
import sys, numpy as np
from astropy.io import fits
a = fits.getdata('$real/$name.m.fits').astype(float)
b = fits.getdata('$real/$name.u.fits').astype(float)
r = np.linalg.norm(a - b) / np.linalg.norm(b)
print('  rel L2', r)
sys.exit(0 if r <= 1e-5 else 1)"; then
        pass "fxgrid images pyuvdata's MS of real $name data as the UVH5"
      else
        fail "imaging pyuvdata's MS of real $name data"
      fi
    done < "$real.txt"
    casa="$real/day2_TDEM0003_10s_norx_1src_1spw.ms"
    if "$fxms" -q convert "$casa" "$real/casa.uvh5" \
      && "$py" "$here/real_data.py" compare-casa "$casa" "$real/casa.uvh5" 2> /dev/null | sed "s|^|  |"; then
      pass "fxgrid reads CASA's VLA Measurement Set as pyuvdata does"
    else
      fail "reading CASA's VLA Measurement Set"
    fi
  else
    tail -3 "$real.err"; fail "fetching or writing the real data"
  fi
fi

echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
