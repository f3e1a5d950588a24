//! A private PostgreSQL cluster under the project's data folder, for machines
//! with PostgreSQL's binaries but no running server. Started on demand,
//! stopped when spinbase exits.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Port of the private cluster: Supabase CLI's local database port.
pub const EMBEDDED_PORT: u16 = 54322;

/// Where `initdb` and `pg_ctl` live.
#[derive(Debug, Clone)]
pub struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

/// Looks for the server binaries on PATH, then in Debian's versioned folders.
pub fn find_binaries() -> Option<Binaries> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versioned: Vec<PathBuf> = versions
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .collect();
        versioned.sort();
        dirs.extend(versioned.into_iter().rev());
    }
    dirs.into_iter().find_map(|dir| {
        let (initdb, pg_ctl) = (dir.join("initdb"), dir.join("pg_ctl"));
        (initdb.is_file() && pg_ctl.is_file()).then_some(Binaries { initdb, pg_ctl })
    })
}

/// A running private cluster; dropping it stops the server.
pub struct EmbeddedCluster {
    binaries: Binaries,
    data: PathBuf,
    run_as: Option<String>,
}

impl EmbeddedCluster {
    /// Initialises `data` if needed and starts the server on [`EMBEDDED_PORT`].
    pub async fn start(binaries: &Binaries, data: &Path) -> Result<Self> {
        // initdb refuses to run as root, so root runs the cluster as `postgres`.
        let run_as = is_root().then(|| "postgres".to_string());
        std::fs::create_dir_all(data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        let data = data.canonicalize()?;
        let cluster = Self {
            binaries: binaries.clone(),
            data: data.clone(),
            run_as,
        };
        if let Some(user) = &cluster.run_as {
            cluster.run(Command::new("chown").args(["-R", user]).arg(&data), false)?;
        }
        if !data.join("PG_VERSION").exists() {
            cluster.run(
                Command::new(&binaries.initdb).arg("-D").arg(&data).args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                ]),
                true,
            )?;
        }
        let options = format!(
            "-p {EMBEDDED_PORT} -c listen_addresses=127.0.0.1 -k {}",
            data.display()
        );
        cluster.run(
            Command::new(&binaries.pg_ctl)
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(data.join("server.log"))
                .args(["-w", "start"]),
            true,
        )?;
        Ok(cluster)
    }

    /// URL of the server, without a database name.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{EMBEDDED_PORT}")
    }

    fn run(&self, command: &mut Command, as_owner: bool) -> Result<()> {
        let mut command = match (&self.run_as, as_owner) {
            (Some(user), true) => {
                let mut wrapped = Command::new("runuser");
                wrapped.args(["-u", user, "--"]).arg(command.get_program());
                wrapped.args(command.get_args());
                wrapped
            }
            _ => std::mem::replace(command, Command::new("true")),
        };
        let output = command
            .output()
            .with_context(|| format!("cannot run {:?}", command.get_program()))?;
        if !output.status.success() {
            bail!(
                "{:?} failed: {}",
                command.get_program(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        let mut stop = Command::new(&self.binaries.pg_ctl);
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"]);
        if let Err(e) = self.run(&mut stop, true) {
            tracing::warn!("cannot stop the private PostgreSQL cluster: {e:#}");
        }
    }
}

fn is_root() -> bool {
    // The `id` command avoids unsafe libc calls; root is uid 0 everywhere we run.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
