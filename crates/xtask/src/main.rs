//! Repository chores. `cargo run -p xtask -- tidy` checks the habits a compiler does not:
//! every Rust file of every crate opens with a `//!` doc comment saying what it is for.
//! The same check runs as a test, so `cargo test --workspace` fails when one is missing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("tidy") => {
            let problems = tidy(&workspace_root());
            for problem in &problems {
                eprintln!("{problem}");
            }
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: cargo run -p xtask -- tidy");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Files under `crates/*/src` and `crates/*/tests` whose first line is not a `//!` comment.
fn tidy(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let Ok(crates) = std::fs::read_dir(root.join("crates")) else {
        return vec!["no crates folder".to_owned()];
    };
    for krate in crates.filter_map(Result::ok) {
        for part in ["src", "tests"] {
            rust_files(&krate.path().join(part), &mut files);
        }
    }
    files.sort();
    files
        .into_iter()
        .filter(|file| {
            !std::fs::read_to_string(file).is_ok_and(|text| text.trim_start().starts_with("//!"))
        })
        .map(|file| {
            format!(
                "{}: a Rust file must open with a //! comment saying what it is for",
                file.display()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rust_file_opens_with_a_module_doc() {
        let problems = tidy(&workspace_root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn tidy_reports_a_file_without_a_module_doc() {
        let dir = std::env::temp_dir().join(format!("mikawaya-tidy-{}", std::process::id()));
        let src = dir.join("crates/example/src");
        let _ = std::fs::create_dir_all(&src);
        let _ = std::fs::write(src.join("lib.rs"), "pub fn undocumented() {}\n");
        let problems = tidy(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
