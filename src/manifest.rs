//! The Spin application manifest (spin.toml, `spin_manifest_version = 2`).

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A loaded and validated spin.toml.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The folder spin.toml lives in; relative paths resolve against it.
    pub root: PathBuf,
    /// `[application].name`.
    pub name: String,
    /// Application variables (`[variables]`).
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP routes in declaration order.
    pub http_routes: Vec<HttpRoute>,
    /// Components by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

/// An application variable declaration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value used when no provider sets one.
    #[serde(default)]
    pub default: Option<String>,
    /// Whether start-up must fail when no value is found.
    #[serde(default)]
    pub required: bool,
    /// Whether the value must never be printed.
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpRoute {
    /// The route as written (`/functions/v1/x` or a prefix ending in `/...`).
    pub route: String,
    /// The component that serves it.
    pub component: String,
}

impl HttpRoute {
    /// Whether `path` is served by this route (Spin semantics: exact, or prefix for `/...`).
    pub fn matches(&self, path: &str) -> bool {
        match self.route.strip_suffix("/...") {
            Some(prefix) => path == prefix || path.starts_with(&format!("{prefix}/")),
            None => path == self.route || path == format!("{}/", self.route),
        }
    }
}

/// One `[component.<id>]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    /// Path of the Wasm component, relative to the manifest folder.
    pub source: PathBuf,
    /// Outbound destinations the component may reach (`scheme://host:port`).
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables, whose values may reference application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How to build the component.
    #[serde(default)]
    pub build: Option<BuildDecl>,
    /// Free text, as in Spin.
    #[serde(default)]
    pub description: Option<String>,
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildDecl {
    /// Shell command that produces `source`.
    pub command: String,
    /// Folder to run it in, relative to the manifest folder.
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Globs of the inputs; when none is newer than `source`, the build is skipped.
    #[serde(default)]
    pub watch: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: u32,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
}

#[derive(Deserialize)]
struct RawApplication {
    name: String,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
    #[serde(flatten)]
    _other: HashMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawHttpTrigger {
    route: String,
    component: String,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        // Absolute, so build commands and sources resolve wherever we run from.
        let root = path
            .canonicalize()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, root).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `root` is the folder relative paths resolve against.
    pub fn parse(text: &str, root: PathBuf) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version is {}; only version 2 is supported",
                raw.spin_manifest_version
            );
        }
        for name in raw.variables.keys() {
            validate_variable_name(name)?;
        }
        for (id, component) in &raw.component {
            for name in component.variables.keys() {
                validate_variable_name(name)
                    .with_context(|| format!("component `{id}` variable"))?;
            }
        }
        let mut http_routes = Vec::new();
        for trigger in raw.trigger.http {
            if !raw.component.contains_key(&trigger.component) {
                bail!(
                    "route `{}` names component `{}`, which is not defined",
                    trigger.route,
                    trigger.component
                );
            }
            if !trigger.route.starts_with('/') {
                bail!("route `{}` must start with `/`", trigger.route);
            }
            if http_routes
                .iter()
                .any(|r: &HttpRoute| r.route == trigger.route)
            {
                bail!("route `{}` is declared twice", trigger.route);
            }
            http_routes.push(HttpRoute {
                route: trigger.route,
                component: trigger.component,
            });
        }
        Ok(Self {
            root,
            name: raw.application.name,
            variables: raw.variables,
            http_routes,
            components: raw.component,
        })
    }

    /// Absolute path of a component's Wasm file.
    pub fn source_path(&self, component: &ComponentDecl) -> PathBuf {
        self.root.join(&component.source)
    }
}

/// Spin's rule for variable names: lower-case letters, digits and underscores, starting with a letter.
pub fn validate_variable_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "variable name `{name}` is invalid: use lower-case letters, digits and underscores, starting with a letter"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
jwt_secret = { default = "s", secret = true }
[[trigger.http]]
route = "/functions/v1/a"
component = "a"
[[trigger.http]]
route = "/static/..."
component = "a"
[component.a]
source = "a.wasm"
allowed_outbound_hosts = ["postgres://127.0.0.1:5432"]
[component.a.variables]
jwt_secret = "{{ jwt_secret }}"
[component.a.build]
command = "cargo build"
watch = ["src/**/*.rs"]
"#;

    #[test]
    fn parses_routes_components_and_variables() {
        let m = Manifest::parse(SAMPLE, PathBuf::from("/app")).expect("valid manifest");
        assert_eq!(m.name, "demo");
        assert_eq!(m.http_routes.len(), 2);
        assert!(m.variables["jwt_secret"].secret);
        assert_eq!(
            m.source_path(&m.components["a"]),
            PathBuf::from("/app/a.wasm")
        );
    }

    #[test]
    fn exact_and_wildcard_routes_match() {
        let m = Manifest::parse(SAMPLE, PathBuf::from("/app")).expect("valid manifest");
        assert!(m.http_routes[0].matches("/functions/v1/a"));
        assert!(!m.http_routes[0].matches("/functions/v1/ab"));
        assert!(m.http_routes[1].matches("/static/x/y"));
        assert!(!m.http_routes[1].matches("/staticx"));
    }

    #[test]
    fn route_to_unknown_component_is_rejected() {
        let text = SAMPLE.replace(
            "component = \"a\"\n[[trigger",
            "component = \"b\"\n[[trigger",
        );
        let err = Manifest::parse(&text, PathBuf::from("/")).expect_err("unknown component");
        assert!(err.to_string().contains("component `b`"), "{err}");
    }

    #[test]
    fn uppercase_variable_name_is_rejected() {
        assert!(validate_variable_name("Jwt").is_err());
        assert!(validate_variable_name("jwt_secret2").is_ok());
    }
}
