//! The columns fxgrid writes in each table of a Measurement Set: the ones MSv2 requires
//! (casacore's `required_ms_desc`), with their units and measure references.
//!
//! Shapes are in this crate's row-major order: a `[chan, pol]` cell here is `[pol, chan]`
//! in casacore's column-major description.

use rubbl_casatables::GlueDataType as T;

/// Scalar, or array of `ndim` axes (fixed `shape` when known).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Scalar,
    Array {
        ndim: u64,
        shape: Option<&'static [u64]>,
    },
}

/// One column: name, element type, kind, `QuantumUnits` and `MEASINFO` (type, reference).
#[derive(Debug, Clone, Copy)]
pub(super) struct Col {
    pub name: &'static str,
    pub ty: T,
    pub kind: Kind,
    pub units: &'static [&'static str],
    pub measure: Option<(&'static str, &'static str)>,
}

const fn scalar(name: &'static str, ty: T) -> Col {
    Col {
        name,
        ty,
        kind: Kind::Scalar,
        units: &[],
        measure: None,
    }
}

const fn array(name: &'static str, ty: T, ndim: u64) -> Col {
    Col {
        name,
        ty,
        kind: Kind::Array { ndim, shape: None },
        units: &[],
        measure: None,
    }
}

const fn units(mut c: Col, units: &'static [&'static str]) -> Col {
    c.units = units;
    c
}

const fn measure(mut c: Col, kind: &'static str, reference: &'static str) -> Col {
    c.measure = Some((kind, reference));
    c
}

const fn fixed(mut c: Col, shape: &'static [u64]) -> Col {
    c.kind = Kind::Array {
        ndim: shape.len() as u64,
        shape: Some(shape),
    };
    c
}

const SEC: &[&str] = &["s"];
const M3: &[&str] = &["m", "m", "m"];
const RAD2: &[&str] = &["rad", "rad"];
const HZ: &[&str] = &["Hz"];

const fn epoch(name: &'static str) -> Col {
    measure(units(scalar(name, T::TpDouble), SEC), "epoch", "UTC")
}

const fn direction(name: &'static str, ndim: u64) -> Col {
    measure(
        units(array(name, T::TpDouble, ndim), RAD2),
        "direction",
        "ICRS",
    )
}

/// The MAIN table's columns other than the data columns (`DATA`, `FLAG`,
/// `WEIGHT_SPECTRUM`, and the per-polarisation `WEIGHT` and `SIGMA`), which are added
/// with their shapes once the table exists.
pub(super) const MAIN: &[Col] = &[
    measure(
        units(fixed(array("UVW", T::TpDouble, 1), &[3]), M3),
        "uvw",
        "J2000",
    ),
    array("FLAG_CATEGORY", T::TpBool, 3),
    scalar("ANTENNA1", T::TpInt),
    scalar("ANTENNA2", T::TpInt),
    scalar("ARRAY_ID", T::TpInt),
    scalar("DATA_DESC_ID", T::TpInt),
    units(scalar("EXPOSURE", T::TpDouble), SEC),
    scalar("FEED1", T::TpInt),
    scalar("FEED2", T::TpInt),
    scalar("FIELD_ID", T::TpInt),
    scalar("FLAG_ROW", T::TpBool),
    units(scalar("INTERVAL", T::TpDouble), SEC),
    scalar("OBSERVATION_ID", T::TpInt),
    scalar("PROCESSOR_ID", T::TpInt),
    scalar("SCAN_NUMBER", T::TpInt),
    scalar("STATE_ID", T::TpInt),
    epoch("TIME"),
    epoch("TIME_CENTROID"),
];

pub(super) const ANTENNA: &[Col] = &[
    measure(
        units(fixed(array("OFFSET", T::TpDouble, 1), &[3]), M3),
        "position",
        "ITRF",
    ),
    measure(
        units(fixed(array("POSITION", T::TpDouble, 1), &[3]), M3),
        "position",
        "ITRF",
    ),
    scalar("TYPE", T::TpString),
    units(scalar("DISH_DIAMETER", T::TpDouble), &["m"]),
    scalar("FLAG_ROW", T::TpBool),
    scalar("MOUNT", T::TpString),
    scalar("NAME", T::TpString),
    scalar("STATION", T::TpString),
];

pub(super) const SPECTRAL_WINDOW: &[Col] = &[
    scalar("MEAS_FREQ_REF", T::TpInt),
    measure(
        units(array("CHAN_FREQ", T::TpDouble, 1), HZ),
        "frequency",
        "TOPO",
    ),
    measure(
        units(scalar("REF_FREQUENCY", T::TpDouble), HZ),
        "frequency",
        "TOPO",
    ),
    units(array("CHAN_WIDTH", T::TpDouble, 1), HZ),
    units(array("EFFECTIVE_BW", T::TpDouble, 1), HZ),
    units(array("RESOLUTION", T::TpDouble, 1), HZ),
    scalar("FLAG_ROW", T::TpBool),
    scalar("FREQ_GROUP", T::TpInt),
    scalar("FREQ_GROUP_NAME", T::TpString),
    scalar("IF_CONV_CHAIN", T::TpInt),
    scalar("NAME", T::TpString),
    scalar("NET_SIDEBAND", T::TpInt),
    scalar("NUM_CHAN", T::TpInt),
    units(scalar("TOTAL_BANDWIDTH", T::TpDouble), HZ),
];

pub(super) const POLARIZATION: &[Col] = &[
    array("CORR_TYPE", T::TpInt, 1),
    array("CORR_PRODUCT", T::TpInt, 2),
    scalar("FLAG_ROW", T::TpBool),
    scalar("NUM_CORR", T::TpInt),
];

pub(super) const FIELD: &[Col] = &[
    direction("DELAY_DIR", 2),
    direction("PHASE_DIR", 2),
    direction("REFERENCE_DIR", 2),
    scalar("CODE", T::TpString),
    scalar("FLAG_ROW", T::TpBool),
    scalar("NAME", T::TpString),
    scalar("NUM_POLY", T::TpInt),
    scalar("SOURCE_ID", T::TpInt),
    epoch("TIME"),
];

pub(super) const DATA_DESCRIPTION: &[Col] = &[
    scalar("FLAG_ROW", T::TpBool),
    scalar("POLARIZATION_ID", T::TpInt),
    scalar("SPECTRAL_WINDOW_ID", T::TpInt),
];

/// pyuvdata adds `TELESCOPE_LOCATION` (the array centre, ITRF metres) to keep the site
/// exactly; readers that do not know it ignore it.
pub(super) const OBSERVATION: &[Col] = &[
    measure(
        units(fixed(array("TIME_RANGE", T::TpDouble, 1), &[2]), SEC),
        "epoch",
        "UTC",
    ),
    array("LOG", T::TpString, 1),
    array("SCHEDULE", T::TpString, 1),
    scalar("FLAG_ROW", T::TpBool),
    scalar("OBSERVER", T::TpString),
    scalar("PROJECT", T::TpString),
    epoch("RELEASE_DATE"),
    scalar("SCHEDULE_TYPE", T::TpString),
    scalar("TELESCOPE_NAME", T::TpString),
    units(fixed(array("TELESCOPE_LOCATION", T::TpDouble, 1), &[3]), M3),
];

pub(super) const FEED: &[Col] = &[
    measure(
        units(fixed(array("POSITION", T::TpDouble, 1), &[3]), M3),
        "position",
        "ITRF",
    ),
    direction("BEAM_OFFSET", 2),
    array("POLARIZATION_TYPE", T::TpString, 1),
    array("POL_RESPONSE", T::TpComplex, 2),
    units(array("RECEPTOR_ANGLE", T::TpDouble, 1), &["rad"]),
    scalar("ANTENNA_ID", T::TpInt),
    scalar("BEAM_ID", T::TpInt),
    scalar("FEED_ID", T::TpInt),
    units(scalar("INTERVAL", T::TpDouble), SEC),
    scalar("NUM_RECEPTORS", T::TpInt),
    scalar("SPECTRAL_WINDOW_ID", T::TpInt),
    epoch("TIME"),
];

pub(super) const HISTORY: &[Col] = &[
    array("APP_PARAMS", T::TpString, 1),
    array("CLI_COMMAND", T::TpString, 1),
    scalar("APPLICATION", T::TpString),
    scalar("MESSAGE", T::TpString),
    scalar("OBJECT_ID", T::TpInt),
    scalar("OBSERVATION_ID", T::TpInt),
    scalar("ORIGIN", T::TpString),
    scalar("PRIORITY", T::TpString),
    epoch("TIME"),
];

pub(super) const POINTING: &[Col] = &[
    direction("DIRECTION", 2),
    scalar("ANTENNA_ID", T::TpInt),
    units(scalar("INTERVAL", T::TpDouble), SEC),
    scalar("NAME", T::TpString),
    scalar("NUM_POLY", T::TpInt),
    direction("TARGET", 2),
    epoch("TIME"),
    epoch("TIME_ORIGIN"),
    scalar("TRACKING", T::TpBool),
];

pub(super) const PROCESSOR: &[Col] = &[
    scalar("FLAG_ROW", T::TpBool),
    scalar("MODE_ID", T::TpInt),
    scalar("TYPE", T::TpString),
    scalar("TYPE_ID", T::TpInt),
    scalar("SUB_TYPE", T::TpString),
];

pub(super) const STATE: &[Col] = &[
    units(scalar("CAL", T::TpDouble), &["K"]),
    scalar("FLAG_ROW", T::TpBool),
    units(scalar("LOAD", T::TpDouble), &["K"]),
    scalar("OBS_MODE", T::TpString),
    scalar("REF", T::TpBool),
    scalar("SIG", T::TpBool),
    scalar("SUB_SCAN", T::TpInt),
];

pub(super) const SOURCE: &[Col] = &[
    measure(
        units(fixed(array("DIRECTION", T::TpDouble, 1), &[2]), RAD2),
        "direction",
        "ICRS",
    ),
    units(
        fixed(array("PROPER_MOTION", T::TpDouble, 1), &[2]),
        &["rad/s"],
    ),
    scalar("CALIBRATION_GROUP", T::TpInt),
    scalar("CODE", T::TpString),
    units(scalar("INTERVAL", T::TpDouble), SEC),
    scalar("NAME", T::TpString),
    scalar("NUM_LINES", T::TpInt),
    scalar("SOURCE_ID", T::TpInt),
    scalar("SPECTRAL_WINDOW_ID", T::TpInt),
    epoch("TIME"),
];

/// Every subtable fxgrid writes, by its keyword name in MAIN.
pub(super) const SUBTABLES: &[(&str, &[Col])] = &[
    ("ANTENNA", ANTENNA),
    ("DATA_DESCRIPTION", DATA_DESCRIPTION),
    ("FEED", FEED),
    ("FIELD", FIELD),
    ("HISTORY", HISTORY),
    ("OBSERVATION", OBSERVATION),
    ("POINTING", POINTING),
    ("POLARIZATION", POLARIZATION),
    ("PROCESSOR", PROCESSOR),
    ("SOURCE", SOURCE),
    ("SPECTRAL_WINDOW", SPECTRAL_WINDOW),
    ("STATE", STATE),
];
