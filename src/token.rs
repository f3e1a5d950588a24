//! `spinbase token`: a JWT for local use and tests, signed with the app's secret.

use crate::cli::TokenArgs;
use crate::database;
use crate::host::variables::AppVariables;
use crate::manifest::Manifest;
use anyhow::{Context, Result, bail};
use shared::auth::{self, Role};
use std::collections::BTreeMap;
use std::time::Duration;

/// The app variable holding the JWT secret.
pub const JWT_SECRET_VARIABLE: &str = "jwt_secret";

/// Mints the token and, unless told not to, registers the user in auth.users.
pub async fn run(manifest: &Manifest, args: &TokenArgs) -> Result<String> {
    let role = Role::parse(&args.role).context("unknown role")?;
    let sub = args.sub.clone().unwrap_or_default();
    if role == Role::Authenticated && !auth::is_uuid(&sub) {
        bail!(
            "--sub must be the user's uuid for role authenticated (e.g. --sub $(cat /proc/sys/kernel/random/uuid))"
        );
    }
    if args.ttl <= 0 {
        bail!("--ttl must be positive");
    }
    let variables = AppVariables::resolve(manifest, |k| std::env::var(k).ok(), &BTreeMap::new())?;
    let secret = variables
        .get(JWT_SECRET_VARIABLE)
        .context("spin.toml has no `jwt_secret` variable")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let token = auth::sign(
        &auth::user_claims(&sub, role, now, args.ttl),
        secret.as_bytes(),
    );
    if !sub.is_empty() && !args.no_register {
        let url = args.database.database_url.clone().unwrap_or_else(|| {
            format!("{}/{}", database::LOCAL_SERVER, database::DEFAULT_DATABASE)
        });
        match tokio::time::timeout(
            Duration::from_secs(5),
            register(&url, &sub, args.email.as_deref()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "note: user not registered in auth.users ({e:#}); run `spinbase migrate` first"
            ),
            Err(_) => {
                eprintln!("note: user not registered in auth.users: the database did not answer")
            }
        }
    }
    Ok(token)
}

async fn register(url: &str, sub: &str, email: Option<&str>) -> Result<()> {
    let client = database::connect(url).await?;
    let id: uuid::Uuid = sub.parse()?;
    client
        .execute(
            "INSERT INTO auth.users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            &[&id, &email],
        )
        .await?;
    Ok(())
}
