//! Data access grants: classification decides who may read what. A member asks to read a data
//! product's columns of one classification for a purpose and a number of days; the data
//! access policy (Rego: Socle's built-in rules plus the platform's `data-access/*.rego`) may
//! refuse the request outright; otherwise a member of the product's owner team (or of a parent
//! team), or an admin, approves or denies it — never the requester. An approved grant expires
//! after its days; the requester, the owners or an admin may revoke it. Every step is audited.
//!
//! Who sees what: a grant is visible to its requester, to whoever may decide on its product and
//! to admins (a list of who reads personal data is itself personal data).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Value, json};
use socle_catalog::RelationType;
use socle_policy::{PolicySet, Severity};
use socle_store::{GrantDecision, GrantQuery, GrantRecord, GrantStatus, NewGrant, Role};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::{AppError, ErrorCode};
use crate::snapshot::Snapshot;
use crate::teams::{groups_of, walk};

/// The Rego package of data access rules.
pub const ACCESS_PACKAGE: &str = "socle.data.access";
/// Socle's own rules (the platform's are added to them).
pub const BUILTIN_ACCESS_POLICY: &str = include_str!("../policies/data-access.rego");
/// Longest purpose.
pub const MAX_PURPOSE: usize = 500;
/// Longest note on a decision.
pub const MAX_NOTE: usize = 500;
/// Longest grant, in days (the policy may allow less).
pub const MAX_DAYS: u32 = 365;
/// Most requests one person may have waiting.
pub const MAX_PENDING: i64 = 20;

/// A request for access.
#[derive(Clone, Debug)]
pub struct AccessRequest {
    /// The data product: `datacontract:default/customers` or `customers`.
    pub product: String,
    /// The classification whose columns are asked for (`pii`, `confidential`, …).
    pub classification: String,
    pub purpose: String,
    pub days: u32,
    /// The requester's team the access is for; None: their first team.
    pub team: Option<String>,
}

/// Approve or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

/// Where a grant stands now (an approved grant past its expiry is expired).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantState {
    Pending,
    Active,
    Expired,
    Denied,
    Revoked,
}

impl GrantState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Denied => "denied",
            Self::Revoked => "revoked",
        }
    }

    fn of(g: &GrantRecord, now_ms: i64) -> Self {
        match g.status {
            GrantStatus::Pending => Self::Pending,
            GrantStatus::Approved if g.expires_at.is_some_and(|e| e <= now_ms) => Self::Expired,
            GrantStatus::Approved => Self::Active,
            GrantStatus::Denied => Self::Denied,
            GrantStatus::Revoked => Self::Revoked,
        }
    }
}

/// A grant as shown.
#[derive(Clone, Debug, Serialize)]
pub struct GrantView {
    #[serde(flatten)]
    pub grant: GrantRecord,
    pub state: GrantState,
}

/// The product a request names, as the catalog has it now.
struct Product {
    entity: String,
    owner: Option<String>,
    body: Value,
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn items<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// `(table, column, classification)` of every classified column of a contract entity's body.
pub fn classified_columns(body: &Value) -> impl Iterator<Item = (&str, &str, &str)> {
    items(body, "/spec/schema").iter().flat_map(|table| {
        items(table, "/properties")
            .iter()
            .filter_map(move |column| {
                let c = column.get("classification").and_then(Value::as_str)?;
                (!c.is_empty()).then(|| (name_of(table), name_of(column), c))
            })
    })
}

/// `table.column` of every column of `body` classified `classification` (case aside), and
/// every classification it has.
fn columns_classified(body: &Value, classification: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut cols = Vec::new();
    let mut all = BTreeSet::new();
    for (table, column, c) in classified_columns(body) {
        if c.eq_ignore_ascii_case(classification) {
            cols.push(format!("{table}.{column}"));
        }
        all.insert(c.to_ascii_lowercase());
    }
    (cols, all)
}

/// The built-in policy, compiled once.
fn builtin_policy() -> Result<&'static PolicySet, AppError> {
    static SET: OnceLock<Result<PolicySet, String>> = OnceLock::new();
    SET.get_or_init(|| access_policy(&[]).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(AppError::internal)
}

/// The built-in rules with the platform's `files` (`data-access/*.rego`, package
/// [`ACCESS_PACKAGE`]) added.
pub fn access_policy(files: &[(String, String)]) -> Result<PolicySet, socle_policy::PolicyError> {
    let mut all = vec![(
        "data-access.rego".to_owned(),
        BUILTIN_ACCESS_POLICY.to_owned(),
    )];
    all.extend(files.iter().cloned());
    PolicySet::load(&all, ACCESS_PACKAGE)
}

/// The owner team of a grant's product now (ownership may have moved since the request),
/// else the one asked.
fn current_owner(snap: &Snapshot, g: &GrantRecord) -> Option<String> {
    snap.get(&g.product)
        .and_then(|v| v.owner)
        .map(|o| snap.name(o).to_owned())
        .or_else(|| (!g.owner.is_empty()).then(|| g.owner.clone()))
}

impl App {
    fn product(&self, snap: &Snapshot, name: &str) -> Result<Product, AppError> {
        let (entity, view) = crate::data_quality::product_at(snap, name)?;
        let body = serde_json::from_str(&view.body).map_err(AppError::internal)?;
        Ok(Product {
            entity,
            owner: view.owner.map(|o| snap.name(o).to_owned()),
            body,
        })
    }

    /// Whether `actor` may decide on access to a product owned by `owner`: an admin, or a
    /// member of the owner team or of one of its parents.
    fn may_decide_for(&self, snap: &Snapshot, actor: &Actor, owner: Option<&str>) -> bool {
        let Some(p) = actor.principal() else {
            return false;
        };
        if p.role == Role::Admin {
            return true;
        }
        if p.role < Role::Member {
            return false;
        }
        let Some(owner) = owner else {
            return false;
        };
        let deciders = walk(snap, owner, RelationType::ChildOf);
        groups_of(snap, &p.subject)
            .into_iter()
            .any(|g| deciders.contains(snap.name(g)))
    }

    /// Whether `actor` may approve or deny requests for `product` (to show the buttons).
    pub fn may_decide_data_access(&self, actor: &Actor, product: &str) -> bool {
        let snap = self.snapshot();
        self.product(&snap, product)
            .is_ok_and(|p| self.may_decide_for(&snap, actor, p.owner.as_deref()))
    }

    /// The policy's refusals of `input`, evaluated off the async workers.
    async fn access_refusals(&self, input: Value) -> Result<Vec<String>, AppError> {
        let set: PolicySet = match &self.config.data_access {
            Some(s) => (**s).clone(),
            None => builtin_policy()?.clone(),
        };
        let findings = self
            .cpu
            .run(move || set.eval(&input, "access-request", 0))
            .await?
            .map_err(|e| AppError::new(ErrorCode::PolicyError, e.to_string()))?;
        Ok(findings
            .into_iter()
            .filter(|f| f.severity == Severity::Deny)
            .map(|f| f.message)
            .collect())
    }

    /// Asks for access (a member). Refused when the policy refuses it; stored pending
    /// otherwise. Audited.
    pub async fn request_data_access(
        &self,
        actor: &Actor,
        req: AccessRequest,
    ) -> Result<GrantView, AppError> {
        let target = req.product.clone();
        let result = self.request_inner(actor, req).await;
        self.audited_with(
            actor,
            AuditAction::DataAccessRequest,
            &target,
            result,
            |g| {
                format!(
                    "{} {} for {} days: {}",
                    g.grant.id,
                    g.grant.classification,
                    g.grant.days,
                    crate::audit::clip(&g.grant.purpose, 200)
                )
            },
        )
        .await
    }

    async fn request_inner(
        &self,
        actor: &Actor,
        req: AccessRequest,
    ) -> Result<GrantView, AppError> {
        let who = actor.require(Role::Member)?.subject.clone();
        let purpose = req.purpose.trim().to_owned();
        if purpose.chars().count() > MAX_PURPOSE {
            return Err(AppError::bad_request(format!(
                "the purpose is longer than {MAX_PURPOSE} characters"
            )));
        }
        if req.days == 0 || req.days > MAX_DAYS {
            return Err(AppError::bad_request(format!(
                "days must be 1 to {MAX_DAYS}; {} was asked",
                req.days
            )));
        }
        let snap = self.snapshot();
        let product = self.product(&snap, &req.product)?;
        let classification = req.classification.trim().to_ascii_lowercase();
        let (columns, present) = columns_classified(&product.body, &classification);
        if columns.is_empty() {
            return Err(AppError::bad_request(format!(
                "{} has no column classified {classification:?}; its classifications are: {}",
                product.entity,
                present.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        let mut teams: Vec<String> = groups_of(&snap, &who)
            .into_iter()
            .map(|g| snap.name(g).to_owned())
            .collect();
        teams.sort();
        let team = match &req.team {
            Some(t) => {
                let t = socle_catalog::EntityRef::parse(t, Some("group"), "default")
                    .map_err(|e| AppError::bad_request(e.to_string()))?
                    .to_string();
                if !teams.contains(&t) {
                    return Err(AppError::forbidden(format!("{who} is not a member of {t}")));
                }
                t
            }
            None => teams.first().cloned().unwrap_or_default(),
        };
        if self.store.pending_grants_of(&who).await? >= MAX_PENDING {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("{who} has {MAX_PENDING} requests waiting already"),
            ));
        }
        let input = json!({
            "user": {"name": who, "teams": teams},
            "team": team,
            "purpose": purpose,
            "days": req.days,
            "classification": classification,
            "columns": columns,
            "product": {
                "ref": product.entity,
                "owner": product.owner.clone().unwrap_or_default(),
                "tier": text(&product.body, "/spec/tier"),
                "domain": text(&product.body, "/spec/domain"),
            },
        });
        let refusals = self.access_refusals(input).await?;
        if !refusals.is_empty() {
            return Err(AppError::forbidden(format!(
                "the data access policy refuses this request: {}",
                refusals.join("; ")
            )));
        }
        let g = self
            .store
            .create_grant(&NewGrant {
                product: product.entity,
                owner: product.owner.unwrap_or_default(),
                requester: who,
                team,
                purpose,
                classification,
                columns,
                days: i64::from(req.days),
                requested_at: self.now_ms(),
            })
            .await?;
        Ok(self.view(g))
    }

    fn view(&self, grant: GrantRecord) -> GrantView {
        let state = GrantState::of(&grant, self.now_ms());
        GrantView { grant, state }
    }

    async fn grant_record(&self, id: &str) -> Result<GrantRecord, AppError> {
        self.store
            .grant(id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("there is no access grant {id:?}")))
    }

    /// Approves or denies a pending request: a member of the product's owner team (or a
    /// parent team) or an admin, never the requester. Audited.
    pub async fn decide_data_access(
        &self,
        actor: &Actor,
        id: &str,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<GrantView, AppError> {
        let action = match decision {
            Decision::Approve => AuditAction::DataAccessApprove,
            Decision::Deny => AuditAction::DataAccessDeny,
        };
        let result = self.decide_inner(actor, id, decision, note).await;
        self.audited_with(actor, action, id, result, |g| {
            format!(
                "{} {} of {}",
                g.grant.product, g.grant.classification, g.grant.requester
            )
        })
        .await
    }

    async fn decide_inner(
        &self,
        actor: &Actor,
        id: &str,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<GrantView, AppError> {
        let who = actor.require(Role::Member)?.subject.clone();
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
            return Err(AppError::bad_request(format!(
                "the note is longer than {MAX_NOTE} characters"
            )));
        }
        let g = self.grant_record(id).await?;
        let snap = self.snapshot();
        let owner = current_owner(&snap, &g);
        if !self.may_decide_for(&snap, actor, owner.as_deref()) {
            return Err(AppError::forbidden(format!(
                "only a member of {} (the owners of {}) or an admin decides on access to it",
                owner.as_deref().unwrap_or("its owner team"),
                g.product
            )));
        }
        if g.requester == who {
            return Err(AppError::forbidden(
                "nobody decides on their own request for access",
            ));
        }
        let decided = self
            .store
            .decide_grant(
                id,
                &GrantDecision {
                    approve: decision == Decision::Approve,
                    by: &who,
                    at: self.now_ms(),
                    note: note.map(str::trim).filter(|n| !n.is_empty()),
                },
            )
            .await?;
        if !decided {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("the request {id} is {} already", g.status.as_str()),
            ));
        }
        Ok(self.view(self.grant_record(id).await?))
    }

    /// Revokes an approved grant: its requester, a member of the product's owners or an
    /// admin. Audited.
    pub async fn revoke_data_access(&self, actor: &Actor, id: &str) -> Result<GrantView, AppError> {
        let result = async {
            let who = actor.require(Role::Member)?.subject.clone();
            let g = self.grant_record(id).await?;
            let snap = self.snapshot();
            let owner = current_owner(&snap, &g);
            if g.requester != who && !self.may_decide_for(&snap, actor, owner.as_deref()) {
                return Err(AppError::forbidden(format!(
                    "only the requester, a member of the owners of {} or an admin revokes this grant",
                    g.product
                )));
            }
            if !self.store.revoke_grant(id, &who, self.now_ms()).await? {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!("the grant {id} is {}, not approved", g.status.as_str()),
                ));
            }
            Ok(self.view(self.grant_record(id).await?))
        }
        .await;
        self.audited_with(actor, AuditAction::DataAccessRevoke, id, result, |g| {
            format!(
                "{} {} of {}",
                g.grant.product, g.grant.classification, g.grant.requester
            )
        })
        .await
    }

    /// Grants `actor` may see, newest first: of `product` when given (all of them for its
    /// deciders, the actor's own otherwise), else the actor's own (every grant for an admin).
    pub async fn data_access_grants(
        &self,
        actor: &Actor,
        product: Option<&str>,
    ) -> Result<Vec<GrantView>, AppError> {
        let me = actor.require(Role::Viewer)?.subject.clone();
        let snap = self.snapshot();
        let product = match product {
            Some(p) => Some(self.product(&snap, p)?),
            None => None,
        };
        let all = match &product {
            Some(p) => self.may_decide_for(&snap, actor, p.owner.as_deref()),
            None => actor.is_admin(),
        };
        let rows = self
            .store
            .grants(&GrantQuery {
                product: product.as_ref().map(|p| p.entity.as_str()),
                requester: (!all).then_some(me.as_str()),
                status: None,
                limit: socle_store::MAX_GRANT_LIST,
            })
            .await?;
        Ok(rows.into_iter().map(|g| self.view(g)).collect())
    }

    /// Whether `user` holds an active grant to `product`'s columns classified
    /// `classification` (for whoever may decide on the product, or the user themselves).
    pub async fn data_access_active(
        &self,
        actor: &Actor,
        user: &str,
        product: &str,
        classification: &str,
    ) -> Result<Option<GrantView>, AppError> {
        let grants = self.data_access_grants(actor, Some(product)).await?;
        Ok(grants.into_iter().find(|g| {
            g.state == GrantState::Active
                && g.grant.requester == user
                && g.grant.classification.eq_ignore_ascii_case(classification)
        }))
    }

    /// Whether `user` (the caller when `None`) may read `product`'s columns classified
    /// `classification` now: for a query gateway or a notebook to enforce grants. Asking about
    /// someone else takes an admin or a member of the product's owner team (or a parent).
    pub async fn data_access_check(
        &self,
        actor: &Actor,
        user: Option<&str>,
        product: &str,
        classification: &str,
    ) -> Result<AccessCheck, AppError> {
        let p = actor.require(Role::Viewer)?;
        let user = user
            .filter(|u| !u.is_empty())
            .unwrap_or(&p.subject)
            .to_owned();
        if user != p.subject && !self.may_decide_data_access(actor, product) {
            return Err(AppError::forbidden(format!(
                "only the owners of {product} or an admin may ask about another person's access"
            )));
        }
        let grant = self
            .data_access_active(actor, &user, product, classification)
            .await?;
        Ok(AccessCheck {
            user,
            classification: classification.to_ascii_lowercase(),
            allowed: grant.is_some(),
            grant,
        })
    }
}

/// The answer of [`App::data_access_check`].
#[derive(Clone, Debug, Serialize)]
pub struct AccessCheck {
    pub user: String,
    pub classification: String,
    pub allowed: bool,
    /// The active grant that allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantView>,
}
