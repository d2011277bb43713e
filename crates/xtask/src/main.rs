//! Repository chores. `cargo run -p xtask -- tidy` checks the habits a compiler does not:
//! every Rust file of every crate opens with a `//!` doc comment saying what it is for, and
//! the crates keep the dependency rules of ARCHITECTURE.md (the engines know no store,
//! runtime, Parquet or web framework; only the server knows HTTP). The same checks run as
//! tests, so `cargo test --workspace` fails when one breaks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("tidy") => {
            let mut problems = tidy(&workspace_root());
            problems.extend(dependency_rules(&workspace_root()));
            problems.extend(schema_names(&workspace_root()));
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

/// Types documented in the OpenAPI document (`derive(... ToSchema ...)`) whose names are
/// used twice: the document keys schemas by bare name, so one would silently replace the
/// other and every response of the other would be described wrongly.
fn schema_names(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    files.sort();
    let mut seen: std::collections::BTreeMap<String, PathBuf> = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut documented = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                documented = true;
            } else if documented && !line.starts_with('#') && !line.starts_with("///") {
                let name = line
                    .split(['<', '{', '(', ' '])
                    .skip_while(|word| !matches!(*word, "struct" | "enum"))
                    .nth(1)
                    .filter(|_| !line.contains("schema(as"));
                if let Some(name) = name {
                    if let Some(first) = seen.get(name) {
                        problems.push(format!(
                            "{}: the schema name {name} is already used in {} (rename one)",
                            file.display(),
                            first.display()
                        ));
                    } else {
                        seen.insert(name.to_owned(), file.clone());
                    }
                }
                documented = false;
            }
        }
    }
    problems
}

/// Crates that must stay pure engines, and what none of their (normal, transitive)
/// dependencies may be.
const PURE: &[&str] = &["mikawaya-domain", "mikawaya-usage", "mikawaya-analytics"];
const NOT_IN_PURE: &[&str] = &[
    "rusqlite",
    "libsqlite3-sys",
    "tokio",
    "parquet",
    "arrow-array",
    "axum",
    "mikawaya-store",
    "mikawaya-ingest",
];
/// Crates that may depend on the web framework: the server, and the binaries that start it.
const MAY_KNOW_HTTP: &[&str] = &["mikawaya-server", "mikawaya", "mikawaya-bench", "xtask"];
const WEB_FRAMEWORK: &[&str] = &["axum", "axum-extra", "utoipa", "utoipa-axum"];

/// The normal (not dev, not build) dependencies of `package`, transitively, by name.
fn normal_dependencies(root: &Path, package: &str) -> Result<Vec<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-f",
            "{p}",
            "-p",
            package,
        ])
        .output()
        .map_err(|e| format!("cargo tree -p {package}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The workspace's package names (from each `crates/*/Cargo.toml`).
fn workspace_packages(root: &Path) -> Vec<String> {
    let Ok(crates) = std::fs::read_dir(root.join("crates")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = crates
        .filter_map(Result::ok)
        .filter_map(|krate| std::fs::read_to_string(krate.path().join("Cargo.toml")).ok())
        .filter_map(|manifest| {
            manifest.lines().find_map(|line| {
                let value = line.strip_prefix("name = ")?;
                Some(value.trim_matches('"').to_owned())
            })
        })
        .collect();
    names.sort();
    names
}

/// Breaches of the dependency rules, one line each.
fn dependency_rules(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for package in workspace_packages(root) {
        let dependencies = match normal_dependencies(root, &package) {
            Ok(dependencies) => dependencies,
            Err(error) => {
                problems.push(error);
                continue;
            }
        };
        let forbidden: Vec<&str> = if PURE.contains(&package.as_str()) {
            NOT_IN_PURE.iter().chain(WEB_FRAMEWORK).copied().collect()
        } else if MAY_KNOW_HTTP.contains(&package.as_str()) {
            Vec::new()
        } else {
            WEB_FRAMEWORK.to_vec()
        };
        for name in forbidden {
            if dependencies.iter().any(|d| d == name) {
                problems.push(format!(
                    "{package} depends on {name}, which ARCHITECTURE.md rules out for it"
                ));
            }
        }
    }
    problems
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
    fn openapi_schema_names_are_unique() {
        let problems = schema_names(&workspace_root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_schema_name_used_twice_is_reported() {
        let dir = std::env::temp_dir().join(format!("mikawaya-schemas-{}", std::process::id()));
        for (module, body) in [
            ("a", "struct ItemOut {}"),
            ("b", "pub struct ItemOut<T> {}"),
        ] {
            let src = dir.join("crates").join(module).join("src");
            let _ = std::fs::create_dir_all(&src);
            let _ = std::fs::write(
                src.join("lib.rs"),
                format!("//! x\n#[derive(Debug, ToSchema)]\n/// doc\n{body}\n"),
            );
        }
        let problems = schema_names(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("ItemOut"), "{problems:?}");
    }

    #[test]
    fn the_crates_keep_the_dependency_rules() {
        let problems = dependency_rules(&workspace_root());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_engines_are_checked_by_the_dependency_rules() {
        // The rules can fail: the store (an allowed crate) does depend on rusqlite, so the
        // same check names it when the store is treated as an engine.
        let dependencies = normal_dependencies(&workspace_root(), "mikawaya-store")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            dependencies.iter().any(|d| d == "rusqlite"),
            "{dependencies:?}"
        );
        let analytics = normal_dependencies(&workspace_root(), "mikawaya-analytics")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            analytics.iter().any(|d| d == "mikawaya-usage"),
            "{analytics:?}"
        );
        assert!(workspace_packages(&workspace_root()).len() >= 10);
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
