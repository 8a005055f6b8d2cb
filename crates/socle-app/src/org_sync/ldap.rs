//! Reading a directory with `ldap3` (pure Rust; TLS through rustls with Socle's trust roots):
//! connect (`ldaps://`, or `ldap://` with optional StartTLS), bind, run each configured search
//! with paged results, and pick the mapped attributes. Bounded: entries, value sizes, members
//! per group; the caller bounds the time.

use std::collections::HashMap;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, SearchEntry};
use socle_catalog::EntityError;

use super::config::{GroupMap, Provider, Scope, Search, UserMap};
use super::mapping::{GroupEntry, UserEntry};
use crate::net::TlsRoots;

/// Why a directory could not be read (nothing is applied then).
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Config(#[from] super::config::ConfigError),
    #[error("LDAP: {0}")]
    Ldap(#[from] ldap3::LdapError),
    #[error("more than {0} entries: raise limits.maxEntries (nothing was changed)")]
    TooManyEntries(usize),
    #[error("the sync took longer than {0} s (nothing was changed)")]
    Timeout(u64),
}

/// What a directory read produced.
#[derive(Debug, Default)]
pub struct DirectoryRead {
    pub users: Vec<UserEntry>,
    pub groups: Vec<GroupEntry>,
    /// Values dropped for their size, members beyond the bound.
    pub errors: Vec<EntityError>,
}

/// Reads every configured search of `provider`.
pub async fn read(provider: &Provider, roots: &TlsRoots) -> Result<DirectoryRead, DirectoryError> {
    let limit = provider.timeout();
    match tokio::time::timeout(limit, read_unbounded(provider, roots)).await {
        Ok(r) => r,
        Err(_) => Err(DirectoryError::Timeout(provider.timeout_seconds)),
    }
}

async fn read_unbounded(
    provider: &Provider,
    roots: &TlsRoots,
) -> Result<DirectoryRead, DirectoryError> {
    let settings = LdapConnSettings::new()
        .set_conn_timeout(provider.timeout())
        .set_config(roots.client_config())
        .set_starttls(provider.start_tls);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &provider.target).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!("LDAP connection: {e}");
        }
    });
    if let Some(bind) = &provider.bind {
        let password = bind.password(&provider.name)?;
        ldap.simple_bind(&bind.dn, &password).await?.success()?;
    }
    let mut reader = Reader {
        ldap: &mut ldap,
        provider,
        count: 0,
        out: DirectoryRead::default(),
    };
    for search in &provider.groups {
        reader.groups(search).await?;
    }
    for search in &provider.users {
        reader.users(search).await?;
    }
    let out = reader.out;
    let _ = ldap.unbind().await;
    Ok(out)
}

struct Reader<'a> {
    ldap: &'a mut Ldap,
    provider: &'a Provider,
    count: usize,
    out: DirectoryRead,
}

/// An entry's attributes by lower-case name (LDAP attribute names ignore case).
struct Attrs {
    dn: String,
    values: HashMap<String, Vec<String>>,
}

impl Attrs {
    fn first(&self, attr: &str) -> Option<String> {
        self.values
            .get(&attr.to_lowercase())
            .and_then(|v| v.first())
            .cloned()
    }

    fn all(&self, attr: &str) -> Vec<String> {
        self.values
            .get(&attr.to_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

impl Reader<'_> {
    async fn groups(&mut self, search: &Search<GroupMap>) -> Result<(), DirectoryError> {
        let m = &search.map;
        let mut attrs = vec![
            &m.name,
            &m.display_name,
            &m.description,
            &m.member_of,
            &m.members,
        ];
        attrs.extend([&m.email, &m.picture, &m.r#type].into_iter().flatten());
        for e in self
            .search(search.dn.as_str(), &search.options, &attrs)
            .await?
        {
            let Some(name) = e.first(&m.name) else {
                self.missing(&e.dn, &m.name);
                continue;
            };
            let mut members = e.all(&m.members);
            let max = self.provider.limits.max_members;
            if members.len() > max {
                self.error(
                    "ldap.limits",
                    format!(
                        "group {}: more than {max} members; the first {max} are kept",
                        e.dn
                    ),
                );
                members.truncate(max);
            }
            self.out.groups.push(GroupEntry {
                name,
                display_name: e.first(&m.display_name),
                email: m.email.as_deref().and_then(|a| e.first(a)),
                picture: m.picture.as_deref().and_then(|a| e.first(a)),
                description: e.first(&m.description),
                kind: m
                    .r#type
                    .as_deref()
                    .and_then(|a| e.first(a))
                    .unwrap_or_else(|| m.type_default.clone()),
                member_of: e.all(&m.member_of),
                members,
                dn: e.dn,
            });
        }
        Ok(())
    }

    async fn users(&mut self, search: &Search<UserMap>) -> Result<(), DirectoryError> {
        let m = &search.map;
        let mut attrs = vec![&m.name, &m.display_name, &m.email, &m.member_of];
        attrs.extend([&m.picture, &m.description].into_iter().flatten());
        for e in self
            .search(search.dn.as_str(), &search.options, &attrs)
            .await?
        {
            let Some(name) = e.first(&m.name) else {
                self.missing(&e.dn, &m.name);
                continue;
            };
            self.out.users.push(UserEntry {
                name,
                display_name: e.first(&m.display_name),
                email: e.first(&m.email),
                picture: m.picture.as_deref().and_then(|a| e.first(a)),
                description: m.description.as_deref().and_then(|a| e.first(a)),
                member_of: e.all(&m.member_of),
                dn: e.dn,
            });
        }
        Ok(())
    }

    /// One search, paged, its entries bounded in number and value size.
    async fn search(
        &mut self,
        base: &str,
        options: &super::config::SearchOptions,
        attrs: &[&String],
    ) -> Result<Vec<Attrs>, DirectoryError> {
        let scope = match options.scope {
            Scope::Base => ldap3::Scope::Base,
            Scope::One => ldap3::Scope::OneLevel,
            Scope::Sub => ldap3::Scope::Subtree,
        };
        let attrs: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
        let mut adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new())];
        if options.page_size > 0 {
            let size = i32::try_from(options.page_size).unwrap_or(i32::MAX);
            adapters.push(Box::new(PagedResults::new(size)));
        }
        let max = self.provider.limits.max_entries;
        let mut stream = self
            .ldap
            .streaming_search_with(adapters, base, scope, &options.filter, attrs)
            .await?;
        let mut out = Vec::new();
        while let Some(entry) = stream.next().await? {
            self.count += 1;
            if self.count > max {
                let _ = stream.finish().await;
                return Err(DirectoryError::TooManyEntries(max));
            }
            let entry = SearchEntry::construct(entry);
            let max_value = self.provider.limits.max_value_bytes;
            if entry.dn.len() > max_value {
                self.error(
                    "ldap.limits",
                    format!("an entry's DN is longer than {max_value} bytes; skipped"),
                );
                continue;
            }
            out.push(self.bounded(entry));
        }
        stream.finish().await.success()?;
        Ok(out)
    }

    /// The entry with values longer than the bound dropped (each with an error).
    fn bounded(&mut self, entry: SearchEntry) -> Attrs {
        let max = self.provider.limits.max_value_bytes;
        let mut values = HashMap::with_capacity(entry.attrs.len());
        for (attr, vals) in entry.attrs {
            let (kept, dropped): (Vec<String>, Vec<String>) =
                vals.into_iter().partition(|v| v.len() <= max);
            if !dropped.is_empty() {
                self.error(
                    "ldap.limits",
                    format!(
                        "{}: {} value(s) of {attr} longer than {max} bytes dropped",
                        entry.dn,
                        dropped.len()
                    ),
                );
            }
            values.insert(attr.to_lowercase(), kept);
        }
        Attrs {
            dn: entry.dn,
            values,
        }
    }

    fn missing(&mut self, dn: &str, attr: &str) {
        self.error(
            "ldap.name",
            format!("{dn}: no {attr} attribute to name it by; skipped"),
        );
    }

    fn error(&mut self, rule: &str, message: String) {
        let origin = self.provider.location_key();
        self.out
            .errors
            .push(EntityError::file(&origin, rule, message));
    }
}
