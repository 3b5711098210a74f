//! Input sample types, read by the fold in their own width and converted in registers.

use num_complex::Complex;

use super::kernels::FoldScalar;

/// A voltage sample the filterbank accepts: complex or real, 8-bit, 16-bit or float.
pub trait Sample: Copy + Send + Sync + 'static {
    /// Whether the sample is complex (two scalars, re then im) or real (one).
    const COMPLEX: bool;
    /// Name of the scalar type, for errors and files (`"int8"`, `"int16"`, `"float32"`).
    const NAME: &'static str;
    /// The scalar type of the components.
    type Scalar: FoldScalar;
    /// The samples as a flat slice of scalars (re, im interleaved for complex samples).
    fn scalars(x: &[Self]) -> &[Self::Scalar];
}

macro_rules! impl_sample {
    ($t:ty, $name:literal) => {
        impl Sample for Complex<$t> {
            const COMPLEX: bool = true;
            const NAME: &'static str = $name;
            type Scalar = $t;
            #[inline]
            fn scalars(x: &[Self]) -> &[$t] {
                // SAFETY: `Complex<T>` is `#[repr(C)]` with fields `re`, `im` of type T, so a
                // slice of n of them is a valid slice of 2n T with the same alignment.
                unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<$t>(), 2 * x.len()) }
            }
        }
        impl Sample for $t {
            const COMPLEX: bool = false;
            const NAME: &'static str = $name;
            type Scalar = $t;
            #[inline]
            fn scalars(x: &[Self]) -> &[$t] {
                x
            }
        }
    };
}

impl_sample!(i8, "int8");
impl_sample!(i16, "int16");
impl_sample!(f32, "float32");
