//! Locations: who may register, refresh and remove them, and whose may shape the organisation.
//! Every attempt is audited.

use sha2::{Digest, Sha256};
use socle_ingest::{LocationKind, LocationSpec};
use socle_store::{ApplyOutcome, LocationRecord, LocationTrust, Role};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::AppError;

/// Longest target accepted.
const MAX_TARGET: usize = 4096;

/// The short, stable id of a location (from its key).
pub fn location_id(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// A location as a caller asks to register it.
#[derive(Debug, Clone)]
pub struct NewLocation {
    pub kind: LocationKind,
    pub target: String,
    pub branch: Option<String>,
    pub path: Option<String>,
}

/// A location after a read: its record and what the read did.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub location: LocationRecord,
    pub outcome: ApplyOutcome,
}

impl App {
    /// The registered location with this id.
    pub async fn find_location(&self, id: &str) -> Result<LocationRecord, AppError> {
        self.store
            .list_locations()
            .await?
            .into_iter()
            .find(|l| location_id(&l.key) == id)
            .ok_or_else(|| AppError::not_found(format!("no location with id {id}")))
    }

    /// Registers a location and reads it at once. Local `file` locations need the admin role; a
    /// member may register `git` locations of repositories this Socle hosts. Only an admin's
    /// locations may define groups and users (the organisation's shape). Audited.
    pub async fn create_location(
        &self,
        actor: &Actor,
        new: NewLocation,
    ) -> Result<Refreshed, AppError> {
        let target = new.target.clone();
        let result = self.create_location_unaudited(actor, new).await;
        self.audited(actor, AuditAction::LocationCreate, &target, result)
            .await
    }

    async fn create_location_unaudited(
        &self,
        actor: &Actor,
        new: NewLocation,
    ) -> Result<Refreshed, AppError> {
        let needed = if new.kind == LocationKind::File {
            Role::Admin
        } else {
            Role::Member
        };
        let principal = actor.require(needed)?;
        let trust = if principal.role == Role::Admin {
            LocationTrust::Organisation
        } else {
            LocationTrust::Team
        };
        if new.target.is_empty() || new.target.len() > MAX_TARGET {
            return Err(AppError::bad_request("target must be 1-4096 characters"));
        }
        // A target as callers are shown it (`$DATA/repositories/…`) names the real directory.
        let target = self.paths.reveal(&new.target);
        if trust == LocationTrust::Team {
            self.member_git_target(&target)?;
        }
        let spec = LocationSpec {
            kind: new.kind,
            target,
            branch: new.branch,
            path: new.path,
        };
        let spec_json = serde_json::to_value(&spec).map_err(AppError::internal)?;
        let known = self.store.get_location(&spec.key()).await?.is_some();
        self.store
            .add_location(
                &spec.key(),
                &spec_json,
                &principal.subject,
                trust,
                self.now_ms(),
            )
            .await?;
        let outcome = self.refresh(&spec).await?;
        // A mistyped target is not kept to fail on every refresh: a new location that cannot
        // be read at all is unregistered again, and the caller told why.
        if !known && outcome.status == socle_store::RefreshStatus::Failed {
            self.store.delete_location(&spec.key()).await?;
            self.reload_if_changed().await.map_err(AppError::internal)?;
            return Err(AppError::bad_request(format!(
                "cannot read {}: nothing was registered",
                spec.target
            ))
            .with_details(serde_json::to_value(&outcome.errors).ok()));
        }
        Ok(Refreshed {
            location: self.location_record(&spec.key()).await?,
            outcome,
        })
    }

    /// A member may register only repositories this Socle hosts (those golden paths publish) or
    /// repositories under a configured Git host, never another local repository — the
    /// environments' GitOps repositories above all — nor any URL (the server would fetch it).
    pub(crate) fn member_git_target(&self, target: &str) -> Result<(), AppError> {
        if target.starts_with("https://") || target.starts_with("http://") {
            return if self.config.remotes.0.open_to_members(target) {
                Ok(())
            } else {
                Err(AppError::forbidden(
                    "a member may register only https:// repositories under the Git hosts the \
                     platform configured (SOCLE_GIT_HOSTS); an admin registers any other location",
                ))
            };
        }
        let path = target.strip_prefix("file://").unwrap_or(target);
        let root = crate::scaffold::repositories_root(self);
        let inside = std::fs::canonicalize(path)
            .map(|p| p.starts_with(&root))
            .unwrap_or(false);
        if inside {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "a member may register only repositories published by this Socle's golden paths; \
                 an admin registers any other location",
            ))
        }
    }

    async fn location_record(&self, key: &str) -> Result<LocationRecord, AppError> {
        self.store
            .get_location(key)
            .await?
            .ok_or_else(|| AppError::internal("location vanished"))
    }

    /// The location `id`, if `actor` is an admin or the member who registered it (`what`: the
    /// verb for the refusal).
    async fn own_location(
        &self,
        actor: &Actor,
        id: &str,
        what: &str,
    ) -> Result<LocationRecord, AppError> {
        let p = actor.require(Role::Member)?;
        let loc = self.find_location(id).await?;
        if p.role != Role::Admin && loc.created_by != p.subject {
            return Err(AppError::forbidden(format!(
                "only an admin or {} (who registered it) may {what} this location",
                loc.created_by
            )));
        }
        Ok(loc)
    }

    /// Unregisters a location and removes its entities (admin, or the member who registered
    /// it). Audited.
    pub async fn delete_location(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let result = async {
            let loc = self.own_location(actor, id, "delete").await?;
            self.store.delete_location(&loc.key).await?;
            self.reload_if_changed().await.map_err(AppError::internal)?;
            Ok(())
        }
        .await;
        self.audited(actor, AuditAction::LocationDelete, id, result)
            .await
    }

    /// Re-reads one location now (admin, or the member who registered it: a refresh re-reads
    /// the whole location, and a flood of refreshes of the organisation's catalog would keep
    /// the server busy). Audited.
    pub async fn refresh_location(&self, actor: &Actor, id: &str) -> Result<Refreshed, AppError> {
        let result = async {
            let loc = self.own_location(actor, id, "refresh").await?;
            if crate::org_sync::is_directory_location(&loc.key) {
                return Err(AppError::bad_request(format!(
                    "{} is read from the directory by the org sync (socle org sync), not refreshed",
                    loc.key
                )));
            }
            let spec: LocationSpec =
                serde_json::from_value(loc.spec.clone()).map_err(AppError::internal)?;
            let outcome = self.refresh(&spec).await?;
            Ok(Refreshed {
                location: self.location_record(&loc.key).await?,
                outcome,
            })
        }
        .await;
        self.audited(actor, AuditAction::LocationRefresh, id, result)
            .await
    }

    /// Re-reads every location now (admin). Audited.
    pub async fn refresh_catalog(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(String, ApplyOutcome)>, AppError> {
        let result = async {
            actor.require(Role::Admin)?;
            self.refresh_all().await
        }
        .await;
        self.audited(actor, AuditAction::CatalogRefresh, "*", result)
            .await
    }
}
