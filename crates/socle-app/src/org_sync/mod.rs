//! The organisation from the directory: users and groups (with nesting) read from LDAP or
//! Active Directory and applied to the catalog as an organisation-trusted location
//! `ldap:<provider>` — the only source besides an admin's locations that may define groups,
//! users and membership. One sync is one transaction (removals included: a user gone from the
//! directory is gone from the catalog); a directory that cannot be read changes nothing.
//! `socle serve --org-sync FILE` runs each provider on its interval under a store lease (one
//! replica at a time); `socle org sync --config FILE` runs them once.

pub mod config;
pub mod ldap;
pub mod mapping;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use socle_catalog::{DocContext, Entity, EntityError, Limits, NoReader};
use socle_store::{ApplyOutcome, LocationTrust, Role, Store, StoreError};

pub use config::{ConfigError, OrgSyncConfig, Provider};

use crate::net::TlsRoots;
use crate::{Actor, App, AppError, AuditAction};

/// Location keys of directory providers start with this.
pub const LOCATION_PREFIX: &str = "ldap:";

/// Who registers a provider's location (in `created_by`).
pub const SYNC_SUBJECT: &str = "org-sync";

/// Whether a location is a directory provider's (not a file or Git location: it is not re-read
/// by a catalog refresh, only by the org sync).
pub fn is_directory_location(key: &str) -> bool {
    key.starts_with(LOCATION_PREFIX)
}

/// What one provider's sync did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SyncReport {
    pub provider: String,
    pub location: String,
    /// Entries read from the directory.
    pub users: usize,
    pub groups: usize,
    pub outcome: ApplyOutcome,
}

/// Reads `provider`'s directory and applies its groups and users to the store in one
/// transaction (registering the location on the first sync). A directory that cannot be read
/// leaves the catalog as it was, with the location's status failed and the reason.
pub async fn sync_provider(
    store: &Store,
    provider: &Provider,
    roots: &TlsRoots,
    limits: &Limits,
    now_ms: i64,
) -> Result<SyncReport, StoreError> {
    let key = provider.location_key();
    register(store, provider, &key, now_ms).await?;
    let (entities, errors, users, groups, unreadable) = match ldap::read(provider, roots).await {
        Ok(read) => {
            let (users, groups) = (read.users.len(), read.groups.len());
            let (provider, limits, key2) = (provider.clone(), limits.clone(), key.clone());
            let (entities, mut errors) = tokio::task::spawn_blocking(move || {
                let mapped =
                    mapping::documents(&read.users, &read.groups, provider.limits.max_depth, &key2);
                let (entities, mut errors) = to_entities(&mapped.documents, &key2, &limits);
                errors.extend(mapped.errors);
                errors.extend(read.errors);
                (entities, errors)
            })
            .await
            .map_err(|e| StoreError::Corrupt(format!("org sync worker: {e}")))?;
            errors.sort_by(|a, b| a.message.cmp(&b.message));
            (entities, errors, users, groups, false)
        }
        Err(e) => {
            tracing::warn!(provider = %provider.name, "org sync failed: {e}");
            let error = EntityError::file(&key, "ldap.read", e.to_string());
            (Vec::new(), vec![error], 0, 0, true)
        }
    };
    let outcome = store
        .apply_location(
            &key,
            socle_store::ApplyInput {
                entities: &entities,
                errors,
                files_failed: &BTreeSet::new(),
                unreadable,
                revision: None,
            },
            now_ms,
        )
        .await?;
    Ok(SyncReport {
        provider: provider.name.clone(),
        location: key,
        users,
        groups,
        outcome,
    })
}

/// Registers the provider's location (trusted: the operator configured it) unless it is.
async fn register(
    store: &Store,
    provider: &Provider,
    key: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    if let Some(existing) = store.get_location(key).await? {
        if existing.trust != LocationTrust::Organisation {
            return Err(StoreError::User(format!(
                "location {key} exists without the organisation's trust; an admin must delete it"
            )));
        }
        return Ok(());
    }
    let spec =
        serde_json::json!({"type": "ldap", "target": provider.target, "provider": provider.name});
    store
        .add_location(
            key,
            &spec,
            SYNC_SUBJECT,
            LocationTrust::Organisation,
            now_ms,
        )
        .await?;
    Ok(())
}

/// The documents as catalog entities, each validated as a file's document would be (the same
/// rules, the same errors); a document that fails is reported and left out.
fn to_entities(
    documents: &[serde_json::Value],
    key: &str,
    limits: &Limits,
) -> (Vec<Entity>, Vec<EntityError>) {
    let ctx = DocContext {
        file: Arc::from(key),
        location: Arc::from(key),
        origin: key,
        reader: &NoReader,
        limits,
    };
    let mut entities = Vec::with_capacity(documents.len());
    let mut errors = Vec::new();
    for doc in documents {
        // JSON is YAML: the catalog's own loader reads it, values stay strings.
        let text = doc.to_string();
        let (mut e, errs) = socle_catalog::process_text(&text, &ctx);
        entities.append(&mut e);
        errors.extend(errs);
    }
    (entities, errors)
}

impl App {
    /// Syncs one provider now (admins only: it rewrites the organisation), then reloads the
    /// read model. Audited as a catalog refresh of the provider's location.
    pub async fn sync_org(
        &self,
        actor: &Actor,
        provider: &Provider,
        roots: &TlsRoots,
    ) -> Result<SyncReport, AppError> {
        let key = provider.location_key();
        let result = async {
            actor.require(Role::Admin)?;
            let report = self.sync_org_unaudited(provider, roots).await?;
            Ok(report)
        }
        .await;
        self.audited(actor, AuditAction::CatalogRefresh, &key, result)
            .await
    }

    /// Syncs every configured provider now (admins only), one after the other, for
    /// `POST /api/v1/org/sync`. Audited once as `org.sync`; a directory that cannot be read is
    /// a failed outcome in its report (the catalog keeps its previous entries), not an error.
    pub async fn sync_org_now(&self, actor: &Actor) -> Result<Vec<SyncReport>, AppError> {
        let result = async {
            actor.require(Role::Admin)?;
            let Some(config) = &self.config.org_sync else {
                return Err(AppError::new(
                    crate::ErrorCode::NotFound,
                    "no org sync is configured on this server (socle serve --org-sync FILE)",
                ));
            };
            let mut reports = Vec::with_capacity(config.providers.len());
            for provider in &config.providers {
                reports.push(self.sync_org_unaudited(provider, &self.config.tls).await?);
            }
            Ok(reports)
        }
        .await;
        self.audited_with(actor, AuditAction::OrgSync, "org", result, |reports| {
            reports
                .iter()
                .map(|r| format!("{}: {}", r.provider, r.outcome.status))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .await
    }

    async fn sync_org_unaudited(
        &self,
        provider: &Provider,
        roots: &TlsRoots,
    ) -> Result<SyncReport, AppError> {
        let report = sync_provider(
            &self.store,
            provider,
            roots,
            &self.config.limits,
            self.now_ms(),
        )
        .await?;
        self.reload_if_changed().await.map_err(AppError::internal)?;
        Ok(report)
    }
}

/// Runs every provider of `config` now and then on its interval, one replica at a time (a
/// lease per provider in the store).
pub fn spawn_org_sync(app: Arc<App>, config: OrgSyncConfig, roots: TlsRoots) {
    for provider in config.providers {
        let (app, roots) = (app.clone(), roots.clone());
        tokio::spawn(async move {
            let lease = format!("org-sync:{}", provider.name);
            let ttl = i64::try_from(provider.interval().as_millis()).unwrap_or(i64::MAX);
            loop {
                match app
                    .store
                    .try_lease(&lease, &app.config.instance, app.now_ms(), ttl)
                    .await
                {
                    Ok(true) => match app.sync_org_unaudited(&provider, &roots).await {
                        Ok(r) => tracing::info!(
                            provider = %r.provider,
                            status = %r.outcome.status,
                            added = r.outcome.added,
                            updated = r.outcome.updated,
                            removed = r.outcome.removed,
                            "org sync"
                        ),
                        Err(e) => {
                            tracing::warn!(provider = %provider.name, "org sync: {}", e.message)
                        }
                    },
                    Ok(false) => tracing::debug!("another replica holds the {lease} lease"),
                    Err(e) => tracing::warn!("lease check failed: {e}"),
                }
                tokio::time::sleep(provider.interval()).await;
            }
        });
    }
}
