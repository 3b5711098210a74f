//! Memory and disk a command will need, checked against what the machine has before any
//! work starts: parameters that cannot fit are refused at once, with what they need, what
//! there is, and which option to change.

use std::path::Path;

use super::CliError;

/// Bytes as text (decimal units, as `df` and `free -h` users read them).
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else if v.is_finite() {
        format!("{v:.1} {}", UNITS[u])
    } else {
        "more than the largest number".into()
    }
}

/// Memory the command may use (bytes): `MemAvailable` from `/proc/meminfo`, or less under
/// a cgroup limit; unbounded where neither can be read.
pub fn memory_available() -> f64 {
    let mut avail = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::INFINITY, |kb| kb * 1024.0);
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
    };
    if let (Some(max), Some(cur)) = (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        avail = avail.min((max - cur).max(0.0));
    }
    avail
}

/// Free space for an unprivileged writer on the file system of `dir` (bytes), if known.
pub fn disk_free(dir: &Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as f64 * st.f_frsize as f64)
}

/// Refuses `what` if it needs more than `need` bytes of memory than there is.
pub fn check_memory(what: &str, need: f64, hint: &str) -> Result<(), CliError> {
    let have = memory_available();
    if need.is_nan() || need > have {
        return Err(CliError::TooBig {
            what: what.into(),
            need: format!("about {} of memory", human(need)),
            have: format!("{} is available", human(have)),
            hint: hint.into(),
        });
    }
    Ok(())
}

/// Refuses writing about `need` bytes to `output` if its file system has less free space.
pub fn check_disk(output: &Path, need: f64, hint: &str) -> Result<(), CliError> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Some(free) = disk_free(dir) else {
        return Ok(());
    };
    if need.is_nan() || need > free {
        return Err(CliError::TooBig {
            what: format!("writing {}", output.display()),
            need: format!("about {} of disk", human(need)),
            have: format!("{} has {} free", dir.display(), human(free)),
            hint: hint.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(999.0), "999 B");
        assert_eq!(human(1.5e9), "1.5 GB");
        assert_eq!(human(1.76e13), "17.6 TB");
        assert!(memory_available() > 1e6);
        assert!(disk_free(Path::new(".")).unwrap() > 0.0);
        assert!(check_memory("a test", 1e30, "none").is_err());
        assert!(check_disk(Path::new("./x"), 1e30, "none").is_err());
    }
}
