//! `--report`: a JSON file of what a subcommand did, from a `serde` struct.

use std::path::Path;

use super::CliError;

/// Writes `report` as pretty JSON to `path` (atomically).
pub fn write(path: &Path, report: &impl serde::Serialize) -> Result<(), CliError> {
    let err = |source: Box<dyn std::error::Error + Send + Sync>| CliError::Report {
        path: path.display().to_string(),
        source,
    };
    let text = serde_json::to_string_pretty(report).map_err(|e| err(Box::new(e)))?;
    fxgrid::io::write_bytes_atomically(path, text.as_bytes()).map_err(|e| err(Box::new(e)))
}
