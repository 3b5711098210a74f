//! Input sample types, converted to f32 on the fly.

use num_complex::Complex;

/// A voltage sample the filterbank accepts: complex or real, 8-bit, 16-bit or float.
pub trait Sample: Copy + Send + Sync + 'static {
    /// Whether the sample is complex (two f32 values) or real (one).
    const COMPLEX: bool;
    /// Name of the type, for errors and files (`"int8"`, `"int16"`, `"float32"`).
    const NAME: &'static str;
    /// Append the sample's f32 value(s) to `dst` at `i` (`dst[i]`, and `dst[i+1]` if complex).
    fn put(self, dst: &mut [f32], i: usize);
}

macro_rules! impl_sample {
    ($t:ty, $name:literal) => {
        impl Sample for Complex<$t> {
            const COMPLEX: bool = true;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn put(self, dst: &mut [f32], i: usize) {
                dst[i] = self.re as f32;
                dst[i + 1] = self.im as f32;
            }
        }
        impl Sample for $t {
            const COMPLEX: bool = false;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn put(self, dst: &mut [f32], i: usize) {
                dst[i] = self as f32;
            }
        }
    };
}

impl_sample!(i8, "int8");
impl_sample!(i16, "int16");
impl_sample!(f32, "float32");
