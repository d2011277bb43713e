//! Backup and restore of a whole data dir: the store (SQLite's online backup, consistent
//! while the server writes), then the event log's segments (append-only: a record being
//! written as they are copied is a torn tail the log cuts on open, and an import under way
//! carries its marker, so it is discarded whole), then the data dir's other files, with a
//! manifest of every file's size and SHA-256. The store goes first so the event log holds
//! at least every event whose identity changes the store has seen (those after its
//! checkpoint are applied again on open). A restore checks the manifest, fills a new data
//! dir, and opens it (store and log) before it reports success.
//!
//! With the store in PostgreSQL, the store's file is `pg_dump`'s dump of the database
//! (every table in one snapshot, the usage events included), restored with `pg_restore`
//! into an empty database in one transaction.

use crate::Result;
use mikawaya_domain::access::AdminAccess;
use mikawaya_domain::{Actor, Invalid};
use mikawaya_store::Store;
use mikawaya_store::postgresql::PostgresStore;
use mikawaya_store::sqlite::SqliteStore;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The manifest's file name inside a backup.
pub const MANIFEST: &str = "MANIFEST.json";

/// A PostgreSQL store's dump inside a backup (`pg_dump`'s custom format: every table,
/// the usage events included, in one snapshot).
pub const POSTGRES_DUMP: &str = "postgresql.dump";

/// Where the store of a data dir is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The data dir's SQLite file (the usage events in its event log).
    Sqlite,
    /// A PostgreSQL database (the usage events in it too).
    Postgres,
}

impl StoreKind {
    /// The store's file inside a backup.
    pub fn file_name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => SqliteStore::FILE_NAME,
            StoreKind::Postgres => POSTGRES_DUMP,
        }
    }
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// The layout's version.
    pub format: u32,
    /// When the backup was taken (RFC 3339).
    pub taken_at: String,
    /// Every file, its path relative to the backup (`/`-separated).
    pub files: Vec<FileEntry>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Relative path.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of its content.
    pub sha256: String,
}

/// What a restore brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// Accounts in the restored store.
    pub accounts: u64,
    /// Events in the restored event log.
    pub events: u64,
}

fn io_error(path: &Path, error: std::io::Error) -> crate::AppError {
    mikawaya_store::StoreError::Io(std::io::Error::new(
        error.kind(),
        format!("{}: {error}", path.display()),
    ))
    .into()
}

fn digest(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|e| io_error(path, e))?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        hasher.update(&buffer[..read]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((bytes, hex))
}

/// Copies `from` to `to` and syncs it.
fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| io_error(from, e))?;
    std::fs::File::open(to)
        .and_then(|file| file.sync_all())
        .map_err(|e| io_error(to, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

/// The files of a data dir a backup carries besides the store: the event log's segments
/// and import marker, and the top-level files (settings, the demo's truth), never the
/// store's own files or the log's lock.
fn other_files(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let events = mikawaya_ingest::log_dir(data_dir);
    if events.is_dir() {
        let mut segments: Vec<PathBuf> = std::fs::read_dir(&events)
            .map_err(|e| io_error(&events, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.is_file()
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(".seg") || n == "IMPORT")
            })
            .collect();
        segments.sort();
        files.extend(segments);
    }
    let mut top: Vec<PathBuf> = std::fs::read_dir(data_dir)
        .map_err(|e| io_error(data_dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.is_file()
                && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    !n.starts_with(SqliteStore::FILE_NAME) && !n.ends_with(".partial")
                })
        })
        .collect();
    top.sort();
    files.extend(top);
    Ok(files)
}

/// Writes a backup of `data_dir` (whose store is `store`) into the new folder `target`,
/// while the server may keep running. Returns its manifest.
pub fn backup(
    store: &dyn Store,
    kind: StoreKind,
    access: &AdminAccess,
    data_dir: &Path,
    target: &Path,
) -> Result<Manifest> {
    if target.exists() {
        return Err(Invalid::new("target", format!("{} exists already", target.display())).into());
    }
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Invalid::new("target", "give a folder name to create"))?;
    let partial = target.with_file_name(format!("{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io_error(&partial, e))?;
    }
    std::fs::create_dir_all(partial.join("events")).map_err(|e| io_error(&partial, e))?;
    let written = (|| -> Result<Manifest> {
        store.backup(access, &partial.join(kind.file_name()))?;
        for file in other_files(data_dir)? {
            let relative = file.strip_prefix(data_dir).unwrap_or(&file);
            copy_synced(&file, &partial.join(relative))?;
        }
        sync_dir(&partial.join("events"))?;
        let mut files = Vec::new();
        let mut paths = vec![partial.join(kind.file_name())];
        paths.extend(other_files(&partial)?);
        for path in paths {
            let (bytes, sha256) = digest(&path)?;
            let relative = path.strip_prefix(&partial).unwrap_or(&path);
            files.push(FileEntry {
                path: relative.to_string_lossy().replace('\\', "/"),
                bytes,
                sha256,
            });
        }
        let manifest = Manifest {
            format: 1,
            taken_at: jiff::Timestamp::now().to_string(),
            files,
        };
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| mikawaya_store::StoreError::Corrupt(e.to_string()))?;
        let manifest_path = partial.join(MANIFEST);
        std::fs::write(&manifest_path, text)
            .and_then(|()| std::fs::File::open(&manifest_path)?.sync_all())
            .map_err(|e| io_error(&manifest_path, e))?;
        sync_dir(&partial)?;
        Ok(manifest)
    })();
    match written {
        Ok(manifest) => {
            std::fs::rename(&partial, target).map_err(|e| io_error(target, e))?;
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
            Ok(manifest)
        }
        Err(error) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(error)
        }
    }
}

/// Checks a backup against its manifest: every file there, of its size and checksum.
pub fn verify(backup: &Path) -> Result<Manifest> {
    let manifest_path = backup.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path).map_err(|_| {
        Invalid::new(
            "backup",
            format!(
                "{} is not a Mikawaya backup (no {MANIFEST})",
                backup.display()
            ),
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Invalid::new(
            "backup",
            format!("{}: unreadable: {e}", manifest_path.display()),
        )
    })?;
    for entry in &manifest.files {
        let path = backup.join(&entry.path);
        if entry.path.contains("..") || !path.is_file() {
            return Err(Invalid::new("backup", format!("{} is missing", entry.path)).into());
        }
        let (bytes, sha256) = digest(&path)?;
        if bytes != entry.bytes || sha256 != entry.sha256 {
            return Err(Invalid::new(
                "backup",
                format!(
                    "{} does not match its checksum: the backup is damaged",
                    entry.path
                ),
            )
            .into());
        }
    }
    Ok(manifest)
}

/// Restores the backup at `backup` into `data_dir`, which must not exist or be empty:
/// checks the manifest, copies every file (to a sibling folder renamed at the end), then
/// opens the store and the event log and counts what they hold. A backup of a PostgreSQL
/// store goes into the empty database at `database_url` (needed then: all of it or
/// nothing), which the restored settings file names from then on.
pub fn restore(backup: &Path, data_dir: &Path, database_url: Option<&str>) -> Result<Restored> {
    let manifest = verify(backup)?;
    let dumped = manifest.files.iter().any(|f| f.path == POSTGRES_DUMP);
    let database_url = match (dumped, database_url) {
        (true, Some(url)) => Some(url),
        (true, None) => {
            return Err(Invalid::new(
                "database_url",
                "this backup is of a PostgreSQL store: give the empty database to restore it into (--database-url)",
            )
            .into());
        }
        (false, _) => None,
    };
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir)
            .map_err(|e| io_error(data_dir, e))?
            .next()
            .is_none();
        if !empty {
            return Err(Invalid::new(
                "data_dir",
                format!(
                    "{} is not empty: restore into a new folder (nothing was changed)",
                    data_dir.display()
                ),
            )
            .into());
        }
    }
    let name = data_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Invalid::new("data_dir", "give a folder name"))?;
    let partial = data_dir.with_file_name(format!("{name}.restoring"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io_error(&partial, e))?;
    }
    std::fs::create_dir_all(partial.join("events")).map_err(|e| io_error(&partial, e))?;
    for entry in manifest.files.iter().filter(|f| f.path != POSTGRES_DUMP) {
        let to = partial.join(&entry.path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        copy_synced(&backup.join(&entry.path), &to)?;
    }
    let postgres = match database_url {
        Some(url) => {
            let restored = PostgresStore::restore(&backup.join(POSTGRES_DUMP), url)
                .map_err(crate::AppError::from)
                .and_then(|store| name_database(&partial, url).map(|()| store));
            match restored {
                Ok(store) => Some(store),
                Err(error) => {
                    let _ = std::fs::remove_dir_all(&partial);
                    return Err(error);
                }
            }
        }
        None => None,
    };
    sync_dir(&partial.join("events"))?;
    sync_dir(&partial)?;
    if data_dir.exists() {
        std::fs::remove_dir(data_dir).map_err(|e| io_error(data_dir, e))?;
    }
    std::fs::rename(&partial, data_dir).map_err(|e| io_error(data_dir, e))?;
    // It opens: the store migrates if the backup is older, the events replay.
    let store: Arc<dyn Store> = match postgres {
        Some(store) => Arc::new(store),
        None => Arc::new(SqliteStore::open_dir(data_dir)?),
    };
    let accounts = store.count_accounts(&Actor::system().read(), &Default::default())?;
    let config = mikawaya_ingest::IngestConfig {
        time_zone: store.business_time_zone()?,
        postgres_url: database_url.map(str::to_owned),
        ..mikawaya_ingest::IngestConfig::default()
    };
    let ingest = mikawaya_ingest::Ingest::open(data_dir, config, store)?;
    ingest.wait_applied(std::time::Duration::from_secs(3600));
    let events = ingest.read(|rollups| rollups.events_applied())?;
    ingest.shutdown();
    Ok(Restored { accounts, events })
}

/// Makes the settings file of a restored data dir name the database it was restored into
/// (its `database_url` line replaced, or added).
fn name_database(data_dir: &Path, url: &str) -> Result<()> {
    let path = data_dir.join("mikawaya.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("database_url"))
        .map(str::to_owned)
        .collect();
    let value = serde_json::to_string(url)
        .map_err(|e| mikawaya_store::StoreError::Corrupt(e.to_string()))?;
    // A TOML basic string is a JSON string for what a URL holds; keys go before tables.
    lines.insert(0, format!("database_url = {value}"));
    std::fs::write(&path, lines.join("\n") + "\n").map_err(|e| io_error(&path, e))
}
