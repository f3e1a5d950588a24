//! Reaching PostgreSQL: the configured server, the local one, or a private
//! embedded cluster; creating the database; migrating it.

pub mod embedded;
pub mod migrate;

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::str::FromStr;
use tokio_postgres::{Client, Config, NoTls};

/// The local server spinbase looks for when no URL is configured.
pub const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// The database spinbase uses on a server when the URL names none.
pub const DEFAULT_DATABASE: &str = "spinbase";

/// A database that is reachable and exists, and the cluster serving it if spinbase started it.
pub struct Database {
    /// The URL guests and the runtime use.
    pub url: String,
    /// Kept alive while serving; stops the private cluster when dropped.
    pub embedded: Option<embedded::EmbeddedCluster>,
}

/// Finds a server (configured, local, else embedded) and makes sure the database exists.
pub async fn prepare(configured: Option<&str>, data_dir: &Path) -> Result<Database> {
    match configured {
        Some(url) => {
            ensure_database(url).await?;
            Ok(Database {
                url: url.to_string(),
                embedded: None,
            })
        }
        None => prepare_local(LOCAL_SERVER, data_dir).await,
    }
}

/// The database [`DEFAULT_DATABASE`] on `local_server`, or, when nothing
/// answers there, on a private cluster started under `data_dir`.
///
/// Only an unreachable server is replaced: a server that answers but
/// refuses (a role that may not log in or create databases, say) is
/// reported, since serving from an empty private cluster instead would hide
/// the user's data.
pub async fn prepare_local(local_server: &str, data_dir: &Path) -> Result<Database> {
    let local = format!("{local_server}/{DEFAULT_DATABASE}");
    let config = Config::from_str(&local).context("invalid database URL")?;
    match admin_connection(&config, &local).await {
        Ok(admin) => {
            create_if_missing(&admin, &config).await?;
            Ok(Database {
                url: local,
                embedded: None,
            })
        }
        Err(refused) if answered(&refused) => Err(refused),
        Err(unreachable) => {
            let Some(binaries) = embedded::find_binaries() else {
                bail!(
                    "no PostgreSQL: none answers at {} ({unreachable:#}) and no server binaries (initdb, pg_ctl) are installed; install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL",
                    redact(local_server)
                );
            };
            tracing::info!(
                "no PostgreSQL at {}; starting a private cluster",
                redact(local_server)
            );
            let cluster =
                embedded::EmbeddedCluster::start(&binaries, &data_dir.join("postgres")).await?;
            let url = format!("{}/{DEFAULT_DATABASE}", cluster.server_url());
            ensure_database(&url).await?;
            Ok(Database {
                url,
                embedded: Some(cluster),
            })
        }
    }
}

/// Connects to `url`, spawning the connection task.
pub async fn connect(url: &str) -> Result<Client> {
    let config = Config::from_str(url).context("invalid database URL")?;
    connect_with(&config)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

async fn connect_with(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away.
        let _ = connection.await;
    });
    Ok(client)
}

/// Creates the database `url` names when it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<()> {
    let config = Config::from_str(url).context("invalid database URL")?;
    let admin = admin_connection(&config, url).await?;
    create_if_missing(&admin, &config).await
}

/// A connection to the `postgres` database of the server `config` (read
/// from `url`) names.
async fn admin_connection(config: &Config, url: &str) -> Result<Client> {
    let mut admin = config.clone();
    admin.dbname("postgres");
    admin.connect_timeout(std::time::Duration::from_secs(5));
    connect_with(&admin)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {}", redact(url)))
}

/// Whether `error` is a server's answer (an authentication failure, a
/// missing role), not a failure to reach a server.
fn answered(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|e| e.as_db_error().is_some())
    })
}

async fn create_if_missing(admin: &Client, config: &Config) -> Result<()> {
    let name = config.get_dbname().unwrap_or(DEFAULT_DATABASE).to_string();
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if exists {
        return Ok(());
    }
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match admin
        .batch_execute(&format!("CREATE DATABASE {quoted}"))
        .await
    {
        Ok(()) => tracing::info!("created database {name}"),
        // Another process created it between our check and now: PostgreSQL
        // says so with `duplicate_database`, or, when the two creations
        // overlap, with a unique violation on `pg_database`'s name index.
        Err(e)
            if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create database {name}")),
    }
    Ok(())
}

/// Applies pending migrations from `dir` to the database at `url`.
pub async fn migrate(url: &str, dir: &Path) -> Result<Vec<migrate::Migration>> {
    let mut client = connect(url).await?;
    migrate::apply(&mut client, dir).await
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
