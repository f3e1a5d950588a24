//! `allowed_outbound_hosts`: which destinations a component may reach.

use anyhow::{Result, bail};

/// One allowed destination: `scheme://host:port`, where any part may be `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    scheme: String,
    host: String,
    port: Option<String>,
}

/// The parsed `allowed_outbound_hosts` of one component.
#[derive(Debug, Clone, Default)]
pub struct OutboundHosts(Vec<AllowedHost>);

impl OutboundHosts {
    /// Parses the (already variable-rendered) entries of the manifest.
    pub fn parse(entries: &[String]) -> Result<Self> {
        let mut hosts = Vec::new();
        for entry in entries {
            let Some((scheme, rest)) = entry.split_once("://") else {
                bail!(
                    "allowed_outbound_hosts entry `{entry}` needs a scheme, e.g. `https://{entry}`"
                );
            };
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() => (h.to_string(), Some(p.to_string())),
                _ => (rest.to_string(), None),
            };
            if host.is_empty() {
                bail!("allowed_outbound_hosts entry `{entry}` has no host");
            }
            hosts.push(AllowedHost {
                scheme: scheme.to_ascii_lowercase(),
                host: host.to_ascii_lowercase(),
                port,
            });
        }
        Ok(Self(hosts))
    }

    /// Whether `scheme://host:port` is allowed. `default_port` is the scheme's
    /// port, which an entry without a port stands for.
    pub fn allows(&self, scheme: &str, host: &str, port: u16, default_port: u16) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0.iter().any(|a| {
            (a.scheme == "*" || a.scheme == scheme)
                && (a.host == "*"
                    || a.host == host
                    || a.host
                        .strip_prefix("*.")
                        .is_some_and(|suffix| host.ends_with(&format!(".{suffix}"))))
                && match &a.port {
                    Some(p) if p == "*" => true,
                    Some(p) => p.parse::<u16>().is_ok_and(|p| p == port),
                    None => port == default_port,
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> OutboundHosts {
        OutboundHosts::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("valid entries")
    }

    #[test]
    fn exact_host_and_port_are_allowed() {
        let h = hosts(&["postgres://127.0.0.1:5432"]);
        assert!(h.allows("postgres", "127.0.0.1", 5432, 5432));
        assert!(!h.allows("postgres", "127.0.0.1", 5433, 5432));
        assert!(!h.allows("postgres", "10.0.0.1", 5432, 5432));
    }

    #[test]
    fn missing_port_means_the_scheme_default() {
        let h = hosts(&["https://api.example.com"]);
        assert!(h.allows("https", "api.example.com", 443, 443));
        assert!(!h.allows("https", "api.example.com", 8443, 443));
        assert!(!h.allows("http", "api.example.com", 80, 80));
    }

    #[test]
    fn wildcards_cover_subdomains_and_ports() {
        let h = hosts(&["https://*.example.com:*", "*://localhost:*"]);
        assert!(h.allows("https", "a.example.com", 1, 443));
        assert!(!h.allows("https", "example.com", 443, 443));
        assert!(h.allows("http", "localhost", 3000, 80));
    }

    #[test]
    fn entry_without_scheme_is_rejected() {
        assert!(OutboundHosts::parse(&["example.com".to_string()]).is_err());
    }
}
