//! Spin variables: application variables from spin.toml, overridden by
//! `SPIN_VARIABLE_<NAME>`, and component variables rendered from them.

use crate::manifest::{ComponentDecl, Manifest};
use anyhow::{Result, bail};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Resolved application variables.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

impl AppVariables {
    /// Resolves every application variable: `overrides` (flags), then the
    /// environment, then the manifest default. Fails on a required variable with no value.
    pub fn resolve(
        manifest: &Manifest,
        env: impl Fn(&str) -> Option<String>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut values = BTreeMap::new();
        for (name, decl) in &manifest.variables {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| env(&env_name))
                .or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None if decl.required => {
                    bail!("variable `{name}` is required: set {env_name} or give it a default")
                }
                None => {}
            }
        }
        Ok(Self { values })
    }

    /// The value of an application variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Renders `{{ name }}` references in `template` with application variables.
    pub fn render(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated `{{{{` in `{template}`");
            };
            let name = after[..end].trim();
            match self.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("`{template}` references variable `{name}`, which has no value"),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Renders a component's variables; done once at start-up so requests only look up.
    pub fn component_values(&self, component: &ComponentDecl) -> Result<ComponentVariables> {
        let mut values = HashMap::new();
        for (name, template) in &component.variables {
            values.insert(name.clone(), self.render(template)?);
        }
        Ok(ComponentVariables(Arc::new(values)))
    }
}

/// The rendered variables of one component, shared by all its instances.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables(Arc<HashMap<String, String>>);

impl ComponentVariables {
    /// The value of a component variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// All variables, sorted by name.
    pub fn all(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
db = { default = "postgres://a" }
secret = { required = true }
[component.c]
source = "c.wasm"
[component.c.variables]
url = "{{ db }}/x"
"#,
            PathBuf::from("/"),
        )
        .expect("manifest")
    }

    #[test]
    fn environment_overrides_default_and_flags_override_environment() {
        let env = |k: &str| match k {
            "SPIN_VARIABLE_DB" => Some("postgres://env".to_string()),
            "SPIN_VARIABLE_SECRET" => Some("s".to_string()),
            _ => None,
        };
        let vars = AppVariables::resolve(&manifest(), env, &BTreeMap::new()).expect("resolves");
        assert_eq!(vars.get("db"), Some("postgres://env"));
        let flags = BTreeMap::from([("db".to_string(), "postgres://flag".to_string())]);
        let vars = AppVariables::resolve(&manifest(), env, &flags).expect("resolves");
        assert_eq!(vars.get("db"), Some("postgres://flag"));
        let m = manifest();
        let component = vars.component_values(&m.components["c"]).expect("renders");
        assert_eq!(component.get("url"), Some("postgres://flag/x"));
    }

    #[test]
    fn missing_required_variable_names_its_environment_variable() {
        let err = AppVariables::resolve(&manifest(), |_| None, &BTreeMap::new())
            .expect_err("secret is required");
        assert!(err.to_string().contains("SPIN_VARIABLE_SECRET"), "{err}");
    }

    #[test]
    fn unknown_reference_is_an_error() {
        let vars = AppVariables::default();
        assert!(vars.render("{{ nope }}").is_err());
        assert_eq!(vars.render("plain").expect("no refs"), "plain");
    }
}
