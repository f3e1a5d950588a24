//! Applies `migrations/<YYYYMMDDHHMMSS>_<name>.sql` in order, each once, each in
//! its own transaction, recorded where the Supabase CLI records them.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use tokio_postgres::Client;

/// A migration file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The 14-digit timestamp that orders it.
    pub version: String,
    /// The part of the file name after the version.
    pub name: String,
    /// Its path.
    pub path: PathBuf,
}

/// Arbitrary constant for `pg_advisory_lock`, so concurrent `up`s migrate one at a time.
const MIGRATION_LOCK: i64 = 0x5350_494e_4241_5345;

/// Lists the migrations in `dir`, sorted, refusing names the Supabase CLI would not accept.
/// An app without the folder has no migrations.
pub fn discover(dir: &Path) -> Result<Vec<Migration>> {
    let mut migrations = Vec::new();
    if !dir.exists() {
        return Ok(migrations);
    }
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read migrations folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .context("migration file name is not UTF-8")?;
        let stem = file.trim_end_matches(".sql");
        let Some((version, name)) = stem.split_once('_') else {
            bail!("migration `{file}` must be named <YYYYMMDDHHMMSS>_<name>.sql");
        };
        if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
            bail!("migration `{file}` must be named <YYYYMMDDHHMMSS>_<name>.sql");
        }
        migrations.push(Migration {
            version: version.to_string(),
            name: name.to_string(),
            path,
        });
    }
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    if let Some(w) = migrations.windows(2).find(|w| w[0].version == w[1].version) {
        bail!(
            "migrations `{}` and `{}` share version {}",
            w[0].name,
            w[1].name,
            w[0].version
        );
    }
    Ok(migrations)
}

/// Applies every pending migration and returns the ones applied now. Holds
/// an advisory lock throughout, so `up`s starting together on one database
/// migrate one after another: the migrations table's `IF NOT EXISTS` is no
/// guard against a concurrent create (both see no table, one fails on the
/// catalog's unique index).
pub async fn apply(client: &mut Client, dir: &Path) -> Result<Vec<Migration>> {
    let migrations = discover(dir)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("cannot take the migration lock")?;
    let result = apply_locked(client, migrations).await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}

async fn apply_locked(client: &mut Client, migrations: Vec<Migration>) -> Result<Vec<Migration>> {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS supabase_migrations;
             CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
                 version text NOT NULL PRIMARY KEY,
                 statements text[],
                 name text
             );",
        )
        .await
        .context("cannot create the migrations table")?;
    apply_pending(client, migrations).await
}

async fn apply_pending(client: &mut Client, migrations: Vec<Migration>) -> Result<Vec<Migration>> {
    let applied: Vec<String> = client
        .query(
            "SELECT version FROM supabase_migrations.schema_migrations",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut done = Vec::new();
    for migration in migrations {
        if applied.contains(&migration.version) {
            continue;
        }
        let sql = std::fs::read_to_string(&migration.path)
            .with_context(|| format!("cannot read {}", migration.path.display()))?;
        let tx = client.transaction().await?;
        if let Err(e) = tx.batch_execute(&sql).await {
            let file = migration
                .path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            bail!(
                "migration {file} failed and was rolled back: {}",
                describe(&e, &sql)
            );
        }
        tx.execute(
            "INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, ARRAY[$3])",
            &[&migration.version, &migration.name, &sql],
        )
        .await?;
        tx.commit().await?;
        done.push(migration);
    }
    Ok(done)
}

/// PostgreSQL's message, with the line it points at when it gives a position.
fn describe(e: &tokio_postgres::Error, sql: &str) -> String {
    let Some(db) = e.as_db_error() else {
        return e.to_string();
    };
    let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    if let Some(tokio_postgres::error::ErrorPosition::Original(pos)) = db.position() {
        let line = sql
            .char_indices()
            .take_while(|(i, _)| *i < *pos as usize)
            .filter(|(_, c)| *c == '\n')
            .count()
            + 1;
        text.push_str(&format!(" at line {line}"));
    }
    if let Some(detail) = db.detail() {
        text.push_str(&format!("; {detail}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_without_a_migrations_folder_has_none() {
        let missing = std::env::temp_dir().join("spinbase-no-such-migrations-folder");
        assert!(
            discover(&missing)
                .expect("no folder is no migrations")
                .is_empty()
        );
    }

    #[test]
    fn discover_orders_by_version_and_rejects_bad_names() {
        let dir = std::env::temp_dir().join(format!("spinbase-mig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("20250102000000_second.sql"), "").expect("write");
        std::fs::write(dir.join("20250101000000_first.sql"), "").expect("write");
        std::fs::write(dir.join("README.md"), "").expect("write");
        let found = discover(&dir).expect("valid names");
        assert_eq!(
            found.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["first", "second"]
        );
        std::fs::write(dir.join("2025_bad.sql"), "").expect("write");
        assert!(discover(&dir).is_err());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
