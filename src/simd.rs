//! CPU detection and the backend token every SIMD kernel takes.
//!
//! A kernel compiled for AVX2 or AVX-512 is only sound on a CPU that has those
//! instructions. The kernels of the filterbank, the correlator and the gridder are
//! therefore crate-private and take a [`Backend`], which only [`Backend::new`] can make,
//! after checking the CPU: an instruction set a kernel uses cannot be reached without the
//! check (RustFFT's `FftPlannerAvx::new() -> Result` is the model).
//!
//! A caller chooses with [`SimdLevel`] (the plans' configs take an `Option<SimdLevel>`)
//! or with the environment variable `FXGRID_SIMD=portable|avx2|avx512`; a level the CPU
//! lacks is an error, never a silent fallback. Without either, the best level the CPU
//! has is used.

use std::sync::OnceLock;

/// Instruction-set levels the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// The baseline target (SSE2 on x86-64), no FMA.
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 F and BW (with AVX2 and FMA). The correlator's integer kernel also needs
    /// AVX-512 VNNI and uses its AVX2 kernels on a CPU without it.
    Avx512,
}

impl SimdLevel {
    /// Every level, lowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The name `FXGRID_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }

    /// The level named `s` (`portable`, `avx2`, `avx512`).
    pub fn from_name(s: &str) -> Option<SimdLevel> {
        SimdLevel::ALL.into_iter().find(|l| l.name() == s)
    }

    /// The best level this CPU supports.
    pub fn best() -> SimdLevel {
        cpu().best
    }

    /// Whether this CPU supports the level.
    pub fn is_supported(self) -> bool {
        self <= cpu().best
    }
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A SIMD level that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimdError {
    /// The CPU lacks the instructions of the level asked for.
    #[error(
        "SIMD level {requested} was asked for{source_note}, but this CPU supports at most {best}"
    )]
    Unsupported {
        /// The level asked for.
        requested: SimdLevel,
        /// The best level this CPU supports.
        best: SimdLevel,
        /// Where the request came from (empty, or " by FXGRID_SIMD").
        source_note: &'static str,
    },
    /// `FXGRID_SIMD` holds something else than a level's name.
    #[error("FXGRID_SIMD is {value:?}; expected one of portable, avx2, avx512")]
    BadEnv {
        /// The variable's value.
        value: String,
    },
}

/// What the CPU has, detected once.
#[derive(Debug, Clone, Copy)]
struct Cpu {
    best: SimdLevel,
    vnni: bool,
}

fn cpu() -> Cpu {
    static CPU: OnceLock<Cpu> = OnceLock::new();
    *CPU.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            let avx512 =
                avx2 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw");
            let best = if avx512 {
                SimdLevel::Avx512
            } else if avx2 {
                SimdLevel::Avx2
            } else {
                SimdLevel::Portable
            };
            Cpu {
                best,
                vnni: avx512 && is_x86_feature_detected!("avx512vnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Cpu {
            best: SimdLevel::Portable,
            vnni: false,
        }
    })
}

/// The level to use: `requested`, or else the one `env` (the value of `FXGRID_SIMD`)
/// names, or else `best`; an error if it is beyond `best`, the CPU's best level.
fn choose(
    requested: Option<SimdLevel>,
    env: Option<&str>,
    best: SimdLevel,
) -> Result<SimdLevel, SimdError> {
    let (level, source_note) = match (requested, env) {
        (Some(l), _) => (l, ""),
        (None, Some(v)) if !v.is_empty() => (
            SimdLevel::from_name(v).ok_or_else(|| SimdError::BadEnv {
                value: v.to_string(),
            })?,
            " by FXGRID_SIMD",
        ),
        _ => (best, ""),
    };
    if level > best {
        return Err(SimdError::Unsupported {
            requested: level,
            best,
            source_note,
        });
    }
    Ok(level)
}

/// Proof that the CPU runs the kernels of a level: the only way to call a SIMD kernel.
/// Made only by [`Backend::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backend {
    level: SimdLevel,
    vnni: bool,
}

impl Backend {
    /// The backend for `requested`, or else for `FXGRID_SIMD`, or else the CPU's best;
    /// an error if the level asked for is beyond the CPU.
    pub(crate) fn new(requested: Option<SimdLevel>) -> Result<Backend, SimdError> {
        let cpu = cpu();
        let env = std::env::var("FXGRID_SIMD").ok();
        let level = choose(requested, env.as_deref(), cpu.best)?;
        Ok(Backend {
            level,
            vnni: level == SimdLevel::Avx512 && cpu.vnni,
        })
    }

    /// The level.
    pub(crate) fn level(self) -> SimdLevel {
        self.level
    }

    /// Whether AVX-512 VNNI may be used (implies [`SimdLevel::Avx512`]).
    pub(crate) fn vnni(self) -> bool {
        self.vnni
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_beyond_the_cpu_are_errors_and_the_rest_are_granted() {
        for level in SimdLevel::ALL {
            match Backend::new(Some(level)) {
                Ok(b) => {
                    assert!(level.is_supported());
                    assert_eq!(b.level(), level);
                    assert!(!b.vnni() || level == SimdLevel::Avx512);
                }
                Err(e) => {
                    assert!(!level.is_supported());
                    assert!(e.to_string().contains(level.name()), "{e}");
                }
            }
        }
        for l in SimdLevel::ALL {
            assert_eq!(SimdLevel::from_name(l.name()), Some(l));
        }
        assert_eq!(SimdLevel::from_name("sse9"), None);
    }

    #[test]
    fn the_choice_honours_the_request_then_the_environment_and_refuses_what_the_cpu_lacks() {
        use SimdLevel::*;
        assert_eq!(choose(None, None, Avx512), Ok(Avx512));
        assert_eq!(choose(None, Some(""), Avx2), Ok(Avx2));
        assert_eq!(choose(None, Some("portable"), Avx512), Ok(Portable));
        assert_eq!(choose(Some(Avx2), Some("portable"), Avx512), Ok(Avx2));
        // A CPU with AVX2 only: AVX-512 asked for either way is an error naming both.
        let e = choose(None, Some("avx512"), Avx2).unwrap_err();
        assert!(matches!(
            e,
            SimdError::Unsupported {
                requested: Avx512,
                best: Avx2,
                ..
            }
        ));
        let text = e.to_string();
        assert!(text.contains("avx512") && text.contains("FXGRID_SIMD") && text.contains("avx2"));
        assert!(choose(Some(Avx2), None, Portable).is_err());
        assert!(matches!(
            choose(None, Some("fast"), Avx512),
            Err(SimdError::BadEnv { .. })
        ));
    }
}
