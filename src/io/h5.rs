//! Shared HDF5 plumbing: fixed-length strings, typed error mapping, checked reads.

use std::path::Path;

use hdf5::types::{FixedAscii, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, File, Group, H5Type};
use ndarray::{Array1, Array2, Ix2};

use super::IoError;
use crate::telescope::{Ecef, Enu, LatLonHeight};

/// `s` as ASCII for a fixed-length HDF5 string: every non-ASCII character and NUL is
/// written as a Rust-style escape (`\\u{e9}`), so nothing is lost and the file stays what
/// pyuvdata reads (numpy `S` strings are bytes).
pub(crate) fn ascii_escaped(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() && !s.contains('\0') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii() && c != '\0' {
            out.push(c);
        } else {
            out += &format!("\\u{{{:x}}}", c as u32);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text from the bytes of an HDF5 string: UTF-8 where it is, U+FFFD for bytes that are not
/// (HDF5 does not check what its ASCII and UTF-8 strings hold).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `$body` with `$n` bound to a const string capacity of at least `$len` bytes.
macro_rules! with_fixed_len {
    ($len:expr, $path:expr, $name:expr, $n:ident => $body:expr) => {{
        let len: usize = $len;
        if len <= 16 {
            const $n: usize = 16;
            $body
        } else if len <= 64 {
            const $n: usize = 64;
            $body
        } else if len <= 256 {
            const $n: usize = 256;
            $body
        } else if len <= 1024 {
            const $n: usize = 1024;
            $body
        } else if len <= 4096 {
            const $n: usize = 4096;
            $body
        } else if len <= 65536 {
            const $n: usize = 65536;
            $body
        } else {
            Err(IoError::Format {
                path: $path.to_string(),
                reason: format!("{}: string of {len} bytes is longer than 65536", $name),
            })
        }
    }};
}

pub(crate) struct Ctx<'a> {
    pub(crate) path: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn h5<T>(&self, action: &str, r: hdf5::Result<T>) -> Result<T, IoError> {
        r.map_err(|source| IoError::Hdf5 {
            path: self.path.to_string(),
            action: action.to_string(),
            source,
        })
    }
    pub(crate) fn scalar<T: H5Type>(&self, g: &Group, name: &str, v: T) -> Result<(), IoError> {
        let r = g
            .new_dataset::<T>()
            .create(name)
            .and_then(|d| d.write_scalar(&v));
        self.h5(&format!("writing {name}"), r)
    }
    /// A fixed-length, null-padded ASCII string (numpy `S` type, what pyuvdata writes and
    /// what its catalog reader requires).
    pub(crate) fn string(&self, g: &Group, name: &str, s: &str) -> Result<(), IoError> {
        let s = ascii_escaped(s);
        with_fixed_len!(s.len(), self.path, name, N => {
            let v = FixedAscii::<N>::from_ascii(s.as_bytes()).expect("escaped to ASCII");
            self.scalar(g, name, v)
        })
    }
    /// A 1-D array of fixed-length ASCII strings.
    pub(crate) fn strings(&self, g: &Group, name: &str, items: &[&str]) -> Result<(), IoError> {
        let items: Vec<_> = items.iter().map(|s| ascii_escaped(s)).collect();
        let longest = items.iter().map(|s| s.len()).max().unwrap_or(0);
        with_fixed_len!(longest, self.path, name, N => {
            let a = Array1::from_iter(items.iter().map(|s| FixedAscii::<N>::from_ascii(s.as_bytes()).expect("escaped to ASCII")));
            self.array(g, name, &a)
        })
    }
    pub(crate) fn array<T: H5Type, D: ndarray::Dimension>(
        &self,
        g: &Group,
        name: &str,
        a: &ndarray::Array<T, D>,
    ) -> Result<(), IoError> {
        let r = g
            .new_dataset_builder()
            .with_data(a)
            .create(name)
            .map(|_| ());
        self.h5(&format!("writing {name}"), r)
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) path: &'a str,
    pub(crate) file: File,
}

impl Reader<'_> {
    pub(crate) fn ds(&self, name: &str) -> Result<Dataset, IoError> {
        self.file.dataset(name).map_err(|_| IoError::Dataset {
            path: self.path.to_string(),
            dataset: name.to_string(),
            expected: "a dataset".into(),
            found: "nothing (missing)".into(),
        })
    }
    pub(crate) fn h5<T>(&self, action: &str, r: hdf5::Result<T>) -> Result<T, IoError> {
        Ctx { path: self.path }.h5(action, r)
    }
    pub(crate) fn scalar<T: H5Type>(&self, name: &str) -> Result<T, IoError> {
        let ds = self.ds(name)?;
        if ds.ndim() != 0 {
            return Err(self.shape_err(name, "a scalar", &ds.shape()));
        }
        self.h5(&format!("reading {name}"), ds.read_scalar::<T>())
    }
    pub(crate) fn int(&self, name: &str) -> Result<usize, IoError> {
        let v: i64 = self.scalar(name)?;
        usize::try_from(v).map_err(|_| IoError::Dataset {
            path: self.path.to_string(),
            dataset: name.into(),
            expected: "a non-negative count".into(),
            found: v.to_string(),
        })
    }
    pub(crate) fn string(&self, name: &str) -> Result<String, IoError> {
        let ds = self.ds(name)?;
        let td = self.h5(
            &format!("reading the type of {name}"),
            ds.dtype().and_then(|t| t.to_descriptor()),
        )?;
        match td {
            TypeDescriptor::VarLenAscii => Ok(text(
                self.h5(name, ds.read_scalar::<VarLenAscii>())?.as_bytes(),
            )),
            TypeDescriptor::VarLenUnicode => Ok(text(
                self.h5(name, ds.read_scalar::<VarLenUnicode>())?.as_bytes(),
            )),
            TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => {
                with_fixed_len!(n, self.path, name, N => {
                    Ok(text(self.h5(name, ds.read_scalar::<FixedAscii<N>>())?.as_bytes()))
                })
            }
            other => Err(IoError::Dataset {
                path: self.path.to_string(),
                dataset: name.into(),
                expected: "a variable-length string (files written by fxgrid)".into(),
                found: format!("{other:?}"),
            }),
        }
    }
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>, IoError> {
        let ds = self.ds(name)?;
        let td = self.h5(
            &format!("reading the type of {name}"),
            ds.dtype().and_then(|t| t.to_descriptor()),
        )?;
        match td {
            TypeDescriptor::VarLenAscii => Ok(self
                .h5(name, ds.read_1d::<VarLenAscii>())?
                .iter()
                .map(|s| text(s.as_bytes()))
                .collect()),
            TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => {
                with_fixed_len!(n, self.path, name, N => {
                    Ok(self.h5(name, ds.read_1d::<FixedAscii<N>>())?.iter().map(|s| text(s.as_bytes())).collect())
                })
            }
            other => Err(IoError::Dataset {
                path: self.path.to_string(),
                dataset: name.into(),
                expected: "an array of strings".into(),
                found: format!("{other:?}"),
            }),
        }
    }
    pub(crate) fn vec<T: H5Type + Clone>(&self, name: &str, len: usize) -> Result<Vec<T>, IoError> {
        let ds = self.ds(name)?;
        if ds.shape() != [len] {
            return Err(self.shape_err(name, &format!("shape [{len}]"), &ds.shape()));
        }
        Ok(self
            .h5(&format!("reading {name}"), ds.read_1d::<T>())?
            .to_vec())
    }
    pub(crate) fn mat<T: H5Type>(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Array2<T>, IoError> {
        let ds = self.ds(name)?;
        if ds.shape() != [rows, cols] {
            return Err(self.shape_err(name, &format!("shape [{rows}, {cols}]"), &ds.shape()));
        }
        self.h5(&format!("reading {name}"), ds.read::<T, Ix2>())
    }
    pub(crate) fn shape_err(&self, name: &str, expected: &str, found: &[usize]) -> IoError {
        IoError::Dataset {
            path: self.path.to_string(),
            dataset: name.into(),
            expected: expected.into(),
            found: format!("shape {found:?}"),
        }
    }
    pub(crate) fn unsupported(&self, reason: String) -> IoError {
        IoError::Format {
            path: self.path.to_string(),
            reason,
        }
    }
}

pub(crate) fn open(path: &Path) -> Result<File, IoError> {
    let p = path.display().to_string();
    if !path.exists() {
        return Err(IoError::Os {
            path: p,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    File::open(path).map_err(|e| IoError::Format {
        path: p,
        reason: format!("not a readable HDF5 file ({e})"),
    })
}

/// ENU positions from ECEF offsets relative to `site` (inverse of `Enu::to_ecef_offset`).
pub(crate) fn enu_from_ecef_offsets(pos: &Array2<f64>, site: LatLonHeight) -> Vec<Enu> {
    pos.outer_iter()
        .map(|r| {
            Ecef {
                x_m: r[0],
                y_m: r[1],
                z_m: r[2],
            }
            .to_enu_offset(site)
        })
        .collect()
}
