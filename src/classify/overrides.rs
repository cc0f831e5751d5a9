//! The user's provider file (`--providers FILE`, or
//! `$XDG_CONFIG_HOME/mtastat/providers.toml`): organisations with their own
//! gateways and tenants add providers, rename built-in ones, or add domains
//! and relay-host suffixes to them.
//!
//! ```toml
//! [[provider]]
//! id = "corp-gw"                 # a new provider…
//! name = "Corp mail gateway"
//! kind = "gateway"               # or "mailbox" (the default)
//! domains = ["subsidiary.example"]
//! domain_suffixes = ["corp.example"]
//! hosts = ["mx.corp-gw.example"]
//!
//! [[provider]]
//! id = "microsoft"               # …or a built-in one, renamed and extended
//! name = "Microsoft 365 (our tenant)"
//! hosts = ["mail.protection.outlook.com"]
//! ```
//!
//! Entries apply in file order after the built-in table, so a domain or host
//! named here belongs to the provider that names it.

use super::provider::ProviderMap;
use super::providers::{HANDOFF_ID, Kind, LOCAL_ID, OTHER_ID};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file's shape. Unknown keys are errors: a typo must not silently do
/// nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    provider: Vec<Entry>,
}

/// One `[[provider]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: Option<String>,
    kind: Option<KindName>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    domain_suffixes: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KindName {
    Mailbox,
    Gateway,
}

/// The default provider file, when the environment names a config directory.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("mtastat").join("providers.toml"))
}

/// Applies the provider file's text to `map`. Errors name the entry.
pub fn apply(map: &mut ProviderMap, text: &str) -> Result<(), String> {
    let file: File = toml::from_str(text).map_err(|e| {
        // toml's message spans lines (it quotes the input); one line is enough.
        e.message().to_string()
            + &e.span()
                .map(|s| format!(" (at byte {})", s.start))
                .unwrap_or_default()
    })?;
    for (i, entry) in file.provider.iter().enumerate() {
        apply_entry(map, entry)
            .map_err(|e| format!("provider #{} ({:?}): {e}", i + 1, entry.id))?;
    }
    Ok(())
}

fn apply_entry(map: &mut ProviderMap, e: &Entry) -> Result<(), String> {
    let id = e.id.trim();
    if id.is_empty()
        || id.len() > 40
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err("id must be 1-40 characters of a-z, 0-9, - and _".into());
    }
    let names_hosts = !(e.domains.is_empty() && e.domain_suffixes.is_empty() && e.hosts.is_empty());
    if (id == LOCAL_ID || id == OTHER_ID || id == HANDOFF_ID) && names_hosts {
        return Err(format!(
            "{id} is matched by mtastat itself; it takes no domains or hosts"
        ));
    }
    let kind = e.kind.map(|k| match k {
        KindName::Mailbox => Kind::Mailbox,
        KindName::Gateway => Kind::Gateway,
    });
    if let Some(name) = &e.name
        && (name.chars().count() > 80 || name.chars().any(crate::escape::needs_escape))
    {
        return Err(
            "name must be at most 80 characters, without control or invisible characters".into(),
        );
    }
    let provider = map.upsert(id, e.name.as_deref(), kind)?;
    for (list, what) in [
        (&e.domains, Table::Domains),
        (&e.domain_suffixes, Table::DomainSuffixes),
        (&e.hosts, Table::Hosts),
    ] {
        for name in list {
            let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '@') {
                return Err(format!("{name:?} is not a domain or host name"));
            }
            if what != Table::Domains && !name.contains('.') {
                return Err(format!(
                    "{name:?}: a suffix needs a dot (a bare TLD matches too much)"
                ));
            }
            map.assign(what, name.as_bytes(), provider);
        }
    }
    Ok(())
}

/// Which lookup table a name goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Exact recipient domains.
    Domains,
    /// Recipient domain suffixes.
    DomainSuffixes,
    /// Relay-host suffixes.
    Hosts,
}

/// Reads and applies a provider file.
pub fn load(map: &mut ProviderMap, path: &Path) -> Result<(), String> {
    let text =
        crate::input::read_small_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    apply(map, &text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(map: &ProviderMap, domain: &str, relay: &str) -> String {
        map.info(map.classify(domain.as_bytes(), relay.as_bytes(), false))
            .id
            .clone()
    }

    #[test]
    fn adds_renames_and_extends() {
        let mut map = ProviderMap::builtin();
        apply(
            &mut map,
            r#"
[[provider]]
id = "corp-gw"
name = "Corp mail gateway"
kind = "gateway"
domains = ["Subsidiary.Example."]
domain_suffixes = ["corp.example"]
hosts = ["mx.corp-gw.example"]

[[provider]]
id = "microsoft"
name = "Microsoft 365 (our tenant)"
hosts = ["mail.internal.example"]
"#,
        )
        .unwrap();
        assert_eq!(classify(&map, "subsidiary.example", ""), "corp-gw");
        assert_eq!(classify(&map, "a.b.corp.example", ""), "corp-gw");
        assert_eq!(
            classify(&map, "x.example", "in1.mx.corp-gw.example"),
            "corp-gw"
        );
        assert_eq!(
            classify(&map, "x.example", "mail.internal.example"),
            "microsoft"
        );
        let id = map.id_of("microsoft").unwrap();
        assert_eq!(map.info(id).name, "Microsoft 365 (our tenant)");
        assert_eq!(map.info(map.id_of("corp-gw").unwrap()).kind, Kind::Gateway);
        // Built-ins still work, and local/other stay last.
        assert_eq!(classify(&map, "gmail.com", ""), "google");
        assert_eq!(classify(&map, "nowhere.example", ""), "other");
        assert_eq!(map.info(map.other()).id, "other");
    }

    #[test]
    fn a_users_domain_wins_over_the_builtin_table() {
        let mut map = ProviderMap::builtin();
        apply(
            &mut map,
            "[[provider]]\nid = \"corp\"\ndomains = [\"gmail.com\"]\n",
        )
        .unwrap();
        assert_eq!(classify(&map, "gmail.com", ""), "corp");
    }

    #[test]
    fn mistakes_are_errors_naming_the_entry() {
        for (text, part) in [
            ("[[provider]]\nid = \"Bad Id\"\n", "id must be"),
            (
                "[[provider]]\nid = \"x\"\nhost = [\"a.b\"]\n",
                "unknown field",
            ),
            (
                "[[provider]]\nid = \"x\"\nhosts = [\"com\"]\n",
                "needs a dot",
            ),
            (
                "[[provider]]\nid = \"other\"\ndomains = [\"a.b\"]\n",
                "matched by mtastat",
            ),
            (
                "[[provider]]\nid = \"x\"\nkind = \"isp\"\n",
                "unknown variant",
            ),
            ("[[provider]\n", "at byte"),
        ] {
            let err = apply(&mut ProviderMap::builtin(), text).unwrap_err();
            assert!(err.contains(part), "{text}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
