//! `spinbase build`: runs each component's build command from spin.toml, as `spin build` does.

use crate::manifest::{BuildDecl, ComponentDecl, Manifest};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

/// Which components to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildMode {
    /// Every component with a build command.
    All,
    /// Only components whose Wasm is missing or older than a watched input.
    Stale,
}

/// Builds the manifest's components, printing progress; stops at the first failure.
pub fn build(manifest: &Manifest, mode: BuildMode) -> Result<()> {
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            continue;
        };
        if mode == BuildMode::Stale && !is_stale(manifest, component, build)? {
            eprintln!("  {id}: up to date");
            continue;
        }
        let workdir = match &build.workdir {
            Some(dir) => manifest.root.join(dir),
            None => manifest.root.clone(),
        };
        eprintln!("  {id}: building with `{}`", build.command);
        let started = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&workdir)
            .status()
            .with_context(|| format!("cannot run the build command of `{id}`"))?;
        if !status.success() {
            bail!("building component `{id}` failed ({status}); the compiler's output is above");
        }
        let source = manifest.source_path(component);
        if !source.exists() {
            bail!(
                "the build command of `{id}` succeeded but did not produce {}",
                source.display()
            );
        }
        eprintln!("  {id}: built in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn is_stale(manifest: &Manifest, component: &ComponentDecl, build: &BuildDecl) -> Result<bool> {
    let Ok(built) = std::fs::metadata(manifest.source_path(component)).and_then(|m| m.modified())
    else {
        return Ok(true);
    };
    if build.watch.is_empty() {
        // Nothing says what the inputs are: let the build command decide.
        return Ok(true);
    }
    let base = match &build.workdir {
        Some(dir) => manifest.root.join(dir),
        None => manifest.root.clone(),
    };
    let newest = newest_match(&base, &build.watch)?;
    Ok(newest.is_some_and(|t| t > built))
}

/// The newest modification time among files under `base` matching any glob.
fn newest_match(base: &Path, globs: &[String]) -> Result<Option<SystemTime>> {
    let patterns: Vec<Vec<&str>> = globs.iter().map(|g| g.split('/').collect()).collect();
    let mut newest = None;
    let mut stack: Vec<PathBuf> = vec![base.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                if !matches!(
                    name.as_ref(),
                    "target" | ".git" | ".spinbase" | "node_modules"
                ) {
                    stack.push(path);
                }
                continue;
            }
            let Ok(relative) = path.strip_prefix(base) else {
                continue;
            };
            let segments: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
            if patterns.iter().any(|p| glob_match(p, &segments)) {
                let modified = entry.metadata()?.modified()?;
                if newest.is_none_or(|n| modified > n) {
                    newest = Some(modified);
                }
            }
        }
    }
    Ok(newest)
}

/// Matches path segments against glob segments (`**`, `*`, `?`).
fn glob_match(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            glob_match(&pattern[1..], path) || (!path.is_empty() && glob_match(pattern, &path[1..]))
        }
        (Some(p), Some(s)) => {
            segment_match(p.as_bytes(), s.as_bytes()) && glob_match(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

fn segment_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            segment_match(&p[1..], s) || (!s.is_empty() && segment_match(p, &s[1..]))
        }
        (Some(b'?'), Some(_)) => segment_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => segment_match(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        let p: Vec<&str> = pattern.split('/').collect();
        let s: Vec<&str> = path.split('/').collect();
        glob_match(&p, &s)
    }

    #[test]
    fn globs_match_like_spin_watch_entries() {
        assert!(m("src/**/*.rs", "src/lib.rs"));
        assert!(m("src/**/*.rs", "src/a/b/c.rs"));
        assert!(!m("src/**/*.rs", "tests/a.rs"));
        assert!(m("Cargo.toml", "Cargo.toml"));
        assert!(!m("Cargo.toml", "shared/Cargo.toml"));
        assert!(m("**/Cargo.toml", "shared/Cargo.toml"));
        assert!(m("migrations/*.sql", "migrations/2025_x.sql"));
        assert!(!m("src/*.rs", "src/a/b.rs"));
    }
}
