//! The floating-point precision a stage computes in.

/// Floating-point precision of a computation: the predictor's sums, the gridder's grid
/// and image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Single precision (f32).
    #[default]
    F32,
    /// Double precision (f64).
    F64,
}

impl Precision {
    /// "f32" or "f64".
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }

    /// The precision named `s` ("f32" or "f64").
    pub fn from_name(s: &str) -> Option<Precision> {
        [Precision::F32, Precision::F64]
            .into_iter()
            .find(|p| p.name() == s)
    }
}
