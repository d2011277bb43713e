//! The differential suite: every metric kind, on every day of a range, from the binary's
//! `metrics table` and from DuckDB (PyPI `duckdb`, installed by `scripts/test.sh`) running
//! SQL written from the domain notes over the same generated files
//! (`tests/differential/metrics_vs_duckdb.py`, over the events as `events export` writes
//! them in Parquet), on several generated histories.

use crate::util::{Workspace, ok};
use std::process::Command;

#[test]
fn every_metric_kind_equals_duckdb_on_generated_histories() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/differential/metrics_vs_duckdb.py");
    for seed in ["20260101", "7", "42"] {
        let workspace = Workspace::new();
        let output = ok(Command::new("python3")
            .arg(&script)
            .arg(env!("CARGO_BIN_EXE_mikawaya"))
            .arg(workspace.dir.path())
            .arg(seed)
            .output());
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "seed {seed}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("63750 cells compared, 0 differences"),
            "seed {seed}: {stdout}"
        );
    }
}
