//! Prototype low-pass filters for polyphase filterbanks: windowed sincs.
//!
//! For `N` channels and `T` taps the prototype has `L = N·T` coefficients
//! `h[n] = w[n] · sinc((n − (L−1)/2) / N)`, a low-pass filter whose cutoff is half a
//! channel width, normalised so that **Σ h = 1**: with the filterbank of
//! [`super::Pfb`] a complex tone of amplitude `A` at a channel centre comes out of that
//! channel with amplitude `A` (unit gain at channel centres).

use std::f64::consts::PI;

use super::ChannelError;

/// Window applied to the sinc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Kaiser window with shape parameter β.
    Kaiser {
        /// Shape parameter β (0 = rectangular; larger = lower sidelobes, wider transition).
        beta: f64,
    },
    /// Hann (raised cosine).
    Hann,
    /// Hamming.
    Hamming,
    /// Four-term Blackman–Harris (−92 dB sidelobes).
    BlackmanHarris,
}

impl Window {
    /// The window of the default SKA-Low-like filter: Kaiser with β = 9.
    ///
    /// β = 9 puts the window's sidelobes near −90 dB, so with 12 taps the stopband beyond
    /// ±1.5 channels is far below the 60 dB requirement, while the main lobe (transition
    /// width about 0.5 channel) keeps the response flat over the inner channel. Measured
    /// for 4096 channels × 12 taps ([`super::response::metrics`], asserted in the test
    /// `the_default_filter_meets_its_specification`): passband ripple 0.00056 dB over
    /// |ν| ≤ 0.25, scalloping loss 6.02 dB, −3 dB width 0.912 and −6 dB width 0.9995
    /// channels, stopband 107.2 dB beyond ±1.5 channels, −96.8 dB at the next channel's
    /// centre.
    pub const DEFAULT: Window = Window::Kaiser { beta: 9.0 };

    /// Parse `kaiser:BETA` (`0 <= BETA <=` [`MAX_KAISER_BETA`]), `hann`, `hamming` or
    /// `blackman-harris`.
    pub fn parse(s: &str) -> Result<Window, ChannelError> {
        let bad = || ChannelError::InvalidConfig {
            field: "window",
            value: s.to_string(),
            expected: format!(
                "kaiser:BETA (0 <= BETA <= {MAX_KAISER_BETA}), hann, hamming or blackman-harris"
            ),
        };
        match s.to_ascii_lowercase().as_str() {
            "hann" => Ok(Window::Hann),
            "hamming" => Ok(Window::Hamming),
            "blackman-harris" | "blackmanharris" => Ok(Window::BlackmanHarris),
            other => {
                let beta = other.strip_prefix("kaiser:").ok_or_else(bad)?;
                let beta: f64 = beta.parse().map_err(|_| bad())?;
                if !(0.0..=MAX_KAISER_BETA).contains(&beta) {
                    return Err(bad());
                }
                Ok(Window::Kaiser { beta })
            }
        }
    }

    /// The window's value at sample `n` of `len` (symmetric window).
    pub fn value(self, n: usize, len: usize) -> f64 {
        if len == 1 {
            return 1.0;
        }
        let x = n as f64 / (len - 1) as f64; // 0..=1
        let c = |k: f64| (2.0 * PI * k * x).cos();
        match self {
            Window::Hann => 0.5 - 0.5 * c(1.0),
            Window::Hamming => 0.54 - 0.46 * c(1.0),
            Window::BlackmanHarris => {
                0.35875 - 0.48829 * c(1.0) + 0.14128 * c(2.0) - 0.01168 * c(3.0)
            }
            Window::Kaiser { beta } => {
                let r = 2.0 * x - 1.0;
                bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
            }
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Window::Kaiser { beta } => write!(f, "kaiser:{beta}"),
            Window::Hann => write!(f, "hann"),
            Window::Hamming => write!(f, "hamming"),
            Window::BlackmanHarris => write!(f, "blackman-harris"),
        }
    }
}

/// The largest Kaiser β: I₀(β) overflows f64 near β = 713 (and β above 50 already makes
/// side lobes far below f32 rounding).
pub const MAX_KAISER_BETA: f64 = 700.0;

/// Modified Bessel function of the first kind, order 0 (power series; converges for all x).
pub fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// The windowed-sinc prototype of `n_chan` channels and `n_taps` taps, normalised to
/// Σ h = 1 (module docs).
pub fn prototype(n_chan: usize, n_taps: usize, window: Window) -> Result<Vec<f64>, ChannelError> {
    if n_chan == 0 || n_taps == 0 {
        return Err(ChannelError::InvalidConfig {
            field: if n_chan == 0 { "n_chan" } else { "n_taps" },
            value: "0".into(),
            expected: "at least 1".into(),
        });
    }
    let len = n_chan * n_taps;
    let centre = (len as f64 - 1.0) / 2.0;
    let mut h: Vec<f64> = (0..len)
        .map(|n| {
            let x = (n as f64 - centre) / n_chan as f64;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (PI * x).sin() / (PI * x)
            };
            sinc * window.value(n, len)
        })
        .collect();
    let sum: f64 = h.iter().sum();
    if !(sum.is_finite() && sum != 0.0 && h.iter().all(|v| v.is_finite())) {
        return Err(ChannelError::InvalidConfig {
            field: "window",
            value: window.to_string(),
            expected: "a window whose filter is finite (this one overflows)".into(),
        });
    }
    h.iter_mut().for_each(|v| *v /= sum);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_i0_matches_known_values() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-14);
        assert!((bessel_i0(9.0) - 1_093.588_354_511_374_5).abs() < 1e-9);
    }

    #[test]
    fn prototypes_are_symmetric_and_sum_to_one() {
        for w in [
            Window::DEFAULT,
            Window::Hann,
            Window::Hamming,
            Window::BlackmanHarris,
        ] {
            let h = prototype(64, 8, w).unwrap();
            assert!((h.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            for i in 0..h.len() {
                assert!((h[i] - h[h.len() - 1 - i]).abs() < 1e-15);
            }
        }
        assert!(prototype(0, 8, Window::Hann).is_err());
        assert!(prototype(8, 0, Window::Hann).is_err());
    }

    #[test]
    fn windows_parse_and_print() {
        for s in ["kaiser:9", "hann", "hamming", "blackman-harris"] {
            assert_eq!(Window::parse(s).unwrap().to_string(), s);
        }
        assert!(Window::parse("kaiser:-1").is_err());
        assert!(Window::parse("kaiser").is_err());
        assert!(Window::parse("triangle").is_err());
    }
}
