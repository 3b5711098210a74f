//! Helpers shared by the integration tests.

use fxgrid::telescope::{default_day_jd_utc, ska_low_like, ArrayLayout, Observation, RaDec};

/// Relative L2 error ‖a − b‖₂ / ‖b‖₂ of two complex sequences.
pub fn rel_l2(a: impl Iterator<Item = (f64, f64)>, b: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for ((ar, ai), (br, bi)) in a.zip(b) {
        num += (ar - br).powi(2) + (ai - bi).powi(2);
        den += br * br + bi * bi;
    }
    (num / den).sqrt()
}

/// A small SKA-Low-like array and a short observation at 150 MHz.
pub fn small_setup(n_ant: usize, n_times: usize, n_chan: usize) -> (ArrayLayout, Observation) {
    let layout = ska_low_like(n_ant, 11).unwrap();
    let obs = Observation {
        phase_centre: RaDec::from_degrees(60.0, -30.0),
        start_jd_utc: default_day_jd_utc() + 0.64,
        n_times,
        int_time_s: 30.0,
        freq_start_hz: 150e6,
        chan_width_hz: 250e3,
        n_chan,
    };
    (layout, obs)
}

/// Serialises tests that spawn the `fxgrid` binary with tests that hold HDF5 files open:
/// the HDF5 library opens files without close-on-exec, so a child spawned while a file is
/// open inherits the descriptor and its lock, and the parent's next open of that file
/// fails with "unable to lock file" until the child exits.
pub fn process_guard() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the `fxgrid` binary: `(success, stdout, stderr)`.
pub fn fxgrid(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fxgrid"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
