//! The delivery-metrics read model: the stored events indexed once, then kept current from the
//! store's change log ([`LiveDora`]), and the catalog scopes (team, system, domain) reports are
//! asked for.

use std::collections::BTreeSet;
use std::sync::Arc;

use socle_catalog::RelationType;
use socle_dora::{Dataset, Options, Window};

use crate::actor::Actor;
use crate::error::AppError;
use crate::snapshot::{EntityId, Snapshot};
use socle_dora::Event;
use socle_store::Role;

/// The production environments: `production`, `prod`, and every platform environment of type
/// `production`.
pub fn options(platform: &socle_platform::PlatformConfig) -> Options {
    let mut envs: Vec<String> = vec!["production".into(), "prod".into()];
    envs.extend(
        platform
            .environments
            .values()
            .filter(|e| e.env_type.eq_ignore_ascii_case("production"))
            .map(|e| e.name.clone()),
    );
    Options::with_environments(envs)
}

/// A service's commits (a first-parent history read with gix) as delivery changes, source `git`.
pub fn changes_from_commits(service: &str, commits: Vec<socle_ingest::CommitInfo>) -> Vec<Event> {
    commits
        .into_iter()
        .map(|c| {
            Event::Change(socle_dora::Change {
                source: "git".into(),
                id: c.id,
                service: service.to_owned(),
                committed_at: c.time_ms,
                parent: c.parent,
            })
        })
        .collect()
}

/// How many commits a deployment reads from its repository's history.
pub const HISTORY_LIMIT: usize = 1000;

/// The server's live delivery index: where it stands in the store's change log.
pub struct LiveDora {
    /// `dora_generation` when the index last caught up (unchanged: nothing to read).
    generation: i64,
    /// Where the next read of the change log starts (`Store::dora_log_since`).
    next: i64,
    index: socle_dora::Live,
    opts: Options,
    /// How the first load went.
    pub loaded: Loaded,
}

/// The most events of one kind a start-up load reserves room for.
const MAX_RESERVE: u64 = 50_000_000;

/// The start-up load's phases.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loaded {
    /// Every stored event read (batches are indexed meanwhile).
    pub read: std::time::Duration,
    /// From the last batch read to the index ready.
    pub index: std::time::Duration,
    /// The indexing thread's busy time (batches and the final build).
    pub indexing: std::time::Duration,
}

impl LiveDora {
    /// Every stored event, read in batches and indexed as they come (on a blocking thread,
    /// while the next batch is read).
    pub async fn load(
        store: &socle_store::Store,
        opts: &Options,
    ) -> Result<Self, socle_store::StoreError> {
        let generation = store.dora_generation().await?;
        // Before the load: what commits in between is read again by the next delta.
        let next = store.dora_watermark().await?;
        let started = std::time::Instant::now();
        // Room for what is stored, bounded (an estimate: a larger store grows as it reads).
        let (deployments, changes) = store.dora_sizes().await?;
        let (deployments, changes) = (deployments.min(MAX_RESERVE), changes.min(MAX_RESERVE));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<socle_store::LoadBatch>(2);
        let index_opts = opts.clone();
        let indexer = tokio::task::spawn_blocking(move || {
            let mut index = socle_dora::Live::new(&index_opts);
            index.reserve(deployments as usize, changes as usize);
            let mut busy = std::time::Duration::ZERO;
            while let Some(batch) = rx.blocking_recv() {
                let t = std::time::Instant::now();
                match batch {
                    socle_store::LoadBatch::Packed(page) => index.load_borrowed(page.events()),
                    socle_store::LoadBatch::Events(events) => index.load(events),
                };
                busy += t.elapsed();
            }
            let t = std::time::Instant::now();
            index.finish_load();
            (index, busy + t.elapsed())
        });
        let sent = store.dora_load_batches(&tx).await;
        drop(tx);
        let read = started.elapsed();
        let (index, indexing) = indexer.await.map_err(|e| {
            socle_store::StoreError::Corrupt(format!("indexing delivery events: {e}"))
        })?;
        sent?;
        Ok(Self {
            generation,
            next,
            index,
            opts: opts.clone(),
            loaded: Loaded {
                read,
                index: started.elapsed() - read,
                indexing,
            },
        })
    }

    /// Applies what the change log holds since the last read, when the generation moved. A
    /// store error changes nothing; if applying fails, the index starts again empty from the
    /// beginning of the log.
    pub async fn catch_up(
        &mut self,
        store: &socle_store::Store,
    ) -> Result<(), socle_store::StoreError> {
        let generation = store.dora_generation().await?;
        if generation == self.generation {
            return Ok(());
        }
        let log = store.dora_log_since(self.next).await?;
        let mut index = std::mem::replace(&mut self.index, socle_dora::Live::new(&self.opts));
        match tokio::task::spawn_blocking(move || {
            index.apply(log.events);
            index
        })
        .await
        {
            Ok(index) => {
                self.index = index;
                self.generation = generation;
                self.next = log.next;
                Ok(())
            }
            Err(e) => {
                (self.generation, self.next) = (i64::MIN, i64::MIN);
                Err(socle_store::StoreError::Corrupt(format!(
                    "indexing delivery events: {e}"
                )))
            }
        }
    }

    pub fn dataset(&self) -> Arc<Dataset> {
        self.index.dataset()
    }
}

/// Loads every stored event and indexes it (as the server starts: [`LiveDora::load`]).
pub async fn load(
    store: &socle_store::Store,
    opts: &Options,
) -> Result<(i64, Arc<Dataset>), socle_store::StoreError> {
    let live = LiveDora::load(store, opts).await?;
    Ok((live.generation, live.dataset()))
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Org,
    Service(String),
    /// A group ref; includes its child groups.
    Team(String),
    System(String),
    Domain(String),
}

/// Why a report's scope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope service needs a name")]
    ServiceNeedsName,
    #[error("scope {scope} needs a name (e.g. name=team-a or name={kind}:default/team-a)")]
    NeedsName { scope: String, kind: &'static str },
    #[error("{0}")]
    BadRef(String),
    #[error("unknown scope {0:?}: expected org, service, team, system or domain")]
    Unknown(String),
}

impl Scope {
    /// `scope` is `org`, `service`, `team`, `system` or `domain`; `name` a name or a ref.
    pub fn parse(scope: &str, name: Option<&str>) -> Result<Self, ScopeError> {
        let need = |kind: &'static str| {
            let n = name
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ScopeError::NeedsName {
                    scope: scope.to_owned(),
                    kind,
                })?;
            socle_catalog::EntityRef::parse(n, Some(kind), "default")
                .map(|r| r.to_string())
                .map_err(|e| ScopeError::BadRef(e.to_string()))
        };
        Ok(match scope {
            "org" | "organisation" | "organization" => Scope::Org,
            "service" => Scope::Service(
                name.filter(|n| !n.is_empty())
                    .ok_or(ScopeError::ServiceNeedsName)?
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            ),
            "team" => Scope::Team(need("Group")?),
            "system" => Scope::System(need("System")?),
            "domain" => Scope::Domain(need("Domain")?),
            other => return Err(ScopeError::Unknown(other.to_owned())),
        })
    }

    pub fn label(&self) -> String {
        match self {
            Scope::Org => "organisation".into(),
            Scope::Service(s) => format!("service {s}"),
            Scope::Team(r) | Scope::System(r) | Scope::Domain(r) => r.clone(),
        }
    }
}

fn related<'a>(snap: &'a Snapshot, r: &str, t: RelationType) -> impl Iterator<Item = &'a str> + 'a {
    snap.get(r)
        .into_iter()
        .flat_map(move |v| v.relations.iter().filter(move |(rt, _)| *rt == t))
        .map(|(_, i)| snap.name(*i))
}

fn component_name(r: &str) -> Option<&str> {
    r.strip_prefix("component:")
        .and_then(|r| r.rsplit('/').next())
}

/// The services (component names) of a scope; `None` for the whole organisation. A scope
/// that is not in the catalog is an error.
pub fn services(snap: &Snapshot, scope: &Scope) -> Result<Option<Vec<String>>, AppError> {
    let mut out = BTreeSet::new();
    match scope {
        Scope::Org => return Ok(None),
        Scope::Service(s) => {
            out.insert(s.clone());
        }
        Scope::Team(g) => {
            let owned = team(snap, g, &|_| true)
                .ok_or_else(|| AppError::not_found(format!("{g} is not in the catalog")))?;
            out.extend(owned.services);
        }
        Scope::System(s) => {
            if snap.get(s).is_none() {
                return Err(AppError::not_found(format!("{s} is not in the catalog")));
            }
            out.extend(
                related(snap, s, RelationType::HasPart)
                    .filter_map(component_name)
                    .map(str::to_owned),
            );
        }
        Scope::Domain(d) => {
            if snap.get(d).is_none() {
                return Err(AppError::not_found(format!("{d} is not in the catalog")));
            }
            for s in related(snap, d, RelationType::HasPart).filter(|r| r.starts_with("system:")) {
                out.extend(
                    related(snap, s, RelationType::HasPart)
                        .filter_map(component_name)
                        .map(str::to_owned),
                );
            }
        }
    }
    Ok(Some(out.into_iter().collect()))
}

/// What a team owns, with its sub-teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamServices {
    /// The group's reference.
    pub team: String,
    /// Components owned.
    pub components: usize,
    /// Those of them the caller's filter kept (by name).
    pub services: Vec<String>,
}

/// A team's delivery report.
#[derive(Debug, Clone)]
pub struct TeamReport {
    pub team: String,
    pub report: socle_dora::Report,
}

/// What every team owns, with its sub-teams, computed once for all teams (bottom-up over the
/// group tree). Only the kept names are materialised, so a report for every team of a large
/// catalog stays cheap when few services have events.
pub fn all_teams(snap: &Snapshot, known: &dyn Fn(&str) -> bool) -> Vec<TeamServices> {
    let groups: Vec<EntityId> = snap
        .entities
        .iter()
        .filter(|v| v.kind() == "group")
        .map(|v| v.id)
        .collect();
    // Per entity index: (count, kept names), filled in post-order; `None` while on the stack
    // (a cycle contributes nothing twice).
    let mut memo: std::collections::HashMap<EntityId, (usize, Vec<String>)> = Default::default();
    fn visit(
        snap: &Snapshot,
        g: EntityId,
        known: &dyn Fn(&str) -> bool,
        memo: &mut std::collections::HashMap<EntityId, (usize, Vec<String>)>,
        on_stack: &mut BTreeSet<EntityId>,
    ) -> (usize, Vec<String>) {
        if let Some(done) = memo.get(&g) {
            return done.clone();
        }
        if !on_stack.insert(g) || on_stack.len() > crate::teams::MAX_TEAM_TREE {
            return (0, Vec::new());
        }
        let Some(v) = snap.view(g) else {
            return (0, Vec::new());
        };
        let mut count = 0;
        let mut kept = Vec::new();
        for (t, target) in &v.relations {
            match t {
                RelationType::OwnerOf => {
                    if let Some(name) = component_name(snap.name(*target)) {
                        count += 1;
                        if known(name) {
                            kept.push(name.to_owned());
                        }
                    }
                }
                RelationType::ParentOf if snap.exists(*target) => {
                    let (c, k) = visit(snap, *target, known, memo, on_stack);
                    count += c;
                    kept.extend(k);
                }
                _ => {}
            }
        }
        kept.sort_unstable();
        kept.dedup();
        on_stack.remove(&g);
        memo.insert(g, (count, kept.clone()));
        (count, kept)
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let (components, services) = visit(snap, g, known, &mut memo, &mut BTreeSet::new());
        out.push(TeamServices {
            team: snap.name(g).to_owned(),
            components,
            services,
        });
    }
    out
}

/// One team's share of [`all_teams`]; None when the group is not in the catalog.
pub fn team(snap: &Snapshot, group: &str, known: &dyn Fn(&str) -> bool) -> Option<TeamServices> {
    snap.get(group)?;
    let mut count = 0;
    let mut kept = Vec::new();
    for g in crate::teams::walk(snap, group, RelationType::ParentOf) {
        for r in related(snap, &g, RelationType::OwnerOf) {
            if let Some(name) = component_name(r) {
                count += 1;
                if known(name) {
                    kept.push(name.to_owned());
                }
            }
        }
    }
    kept.sort_unstable();
    kept.dedup();
    Some(TeamServices {
        team: group.to_owned(),
        components: count,
        services: kept,
    })
}

/// Services named by events that are not components of the catalog.
pub fn unknown_services<'a>(
    snap: &Snapshot,
    services: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let known: BTreeSet<&str> = snap
        .entities
        .iter()
        .filter_map(|e| component_name(&e.entity_ref))
        .collect();
    let mut out: BTreeSet<String> = BTreeSet::new();
    for s in services {
        if !known.contains(s) {
            out.insert(s.to_owned());
        }
    }
    out.into_iter().collect()
}

const DAY_MS: i64 = 86_400_000;
/// The longest report window: every report's size and cost grow with it (weekly points).
pub const MAX_WINDOW_DAYS: i64 = 1096;
const MAX_WINDOW_MS: i64 = MAX_WINDOW_DAYS * DAY_MS;

/// The most incidents one list returns.
pub const MAX_INCIDENTS_LISTED: u32 = 500;

/// Resolves `since`/`from`/`to` into a window of at most [`MAX_WINDOW_DAYS`].
pub fn window(
    since: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now: i64,
) -> Result<Window, AppError> {
    let to = match to {
        Some(t) => {
            socle_dora::parse_timestamp(t).map_err(|e| AppError::bad_request(format!("to: {e}")))?
        }
        None => now,
    };
    let from = match (from, since) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request(
                "give either `from` or `since`, not both",
            ));
        }
        (Some(f), None) => socle_dora::parse_timestamp(f)
            .map_err(|e| AppError::bad_request(format!("from: {e}")))?,
        (None, s) => {
            to - socle_dora::parse_since(s.unwrap_or("90d"))
                .map_err(|e| AppError::bad_request(e.to_string()))?
        }
    };
    if from >= to {
        return Err(AppError::bad_request(
            "the window is empty: `from` must be before `to`",
        ));
    }
    if to - from > MAX_WINDOW_MS {
        return Err(AppError::bad_request(format!(
            "the window is {} days long: at most {MAX_WINDOW_DAYS} days (3 years)",
            (to - from) / DAY_MS
        )));
    }
    Ok(Window { from, to })
}

/// Reports of every group in the catalog (no weekly series).
pub fn team_reports(snap: &Snapshot, ds: &Dataset, w: Window) -> Vec<serde_json::Value> {
    snap.entities
        .iter()
        .filter(|e| e.kind() == "group")
        .filter_map(|g| {
            let scope = Scope::Team(g.entity_ref.to_string());
            let services = services(snap, &scope).ok()?;
            let mut v = serde_json::to_value(ds.report(services.as_deref(), w, false)).ok()?;
            v["scope"] = serde_json::Value::String(scope.label());
            Some(v)
        })
        .collect()
}

impl crate::App {
    /// The report of a scope over a window (a team: only its services with events are looked
    /// up — a large team owns thousands).
    pub async fn dora_report(
        &self,
        scope: &Scope,
        w: Window,
        weekly: bool,
    ) -> Result<socle_dora::Report, AppError> {
        let snap = self.snapshot();
        let ds = self.dora_dataset().await?;
        if let Scope::Team(g) = scope {
            let t = team(&snap, g, &|s| ds.knows(s))
                .ok_or_else(|| AppError::not_found(format!("{g} is not in the catalog")))?;
            let mut r = ds.report(Some(&t.services), w, weekly);
            r.services = t.components;
            return Ok(r);
        }
        let services = services(&snap, scope)?;
        Ok(ds.report(services.as_deref(), w, weekly))
    }

    /// The incidents of a scope that were open at some time in the window, newest first, at
    /// most `limit` (1 to [`MAX_INCIDENTS_LISTED`]). A scope not in the catalog is an error, as
    /// for reports.
    pub async fn dora_incidents(
        &self,
        scope: &Scope,
        w: Window,
        limit: u32,
    ) -> Result<Vec<socle_dora::Incident>, AppError> {
        let services = services(&self.snapshot(), scope)?;
        let q = socle_store::IncidentQuery {
            services: services.as_deref(),
            from: w.from,
            to: w.to,
            limit: limit.clamp(1, MAX_INCIDENTS_LISTED),
        };
        Ok(self.store.dora_incidents(&q).await?)
    }

    /// Every team that owns a component, with its report (no weekly series), fastest
    /// deployers first.
    pub async fn dora_ranking(&self, w: Window) -> Result<Vec<TeamReport>, AppError> {
        let snap = self.snapshot();
        let ds = self.dora_dataset().await?;
        let mut rows: Vec<TeamReport> = all_teams(&snap, &|s| ds.knows(s))
            .into_iter()
            .filter(|t| t.components > 0)
            .map(|t| {
                let mut report = ds.report(Some(&t.services), w, false);
                report.services = t.components;
                TeamReport {
                    team: t.team,
                    report,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.report
                .deployment_frequency_per_day
                .unwrap_or(0.0)
                .total_cmp(&a.report.deployment_frequency_per_day.unwrap_or(0.0))
        });
        Ok(rows)
    }

    /// Imports delivery events as JSON Lines (a member: only for their teams' services).
    /// Malformed lines are listed; by default they reject the whole import, with `partial` the
    /// valid lines are kept. Fields Socle does not read are `warnings`, one per field name.
    /// Audited as `dora.import`.
    pub async fn import_events(
        &self,
        actor: &Actor,
        body: &[u8],
        source: Option<&str>,
        partial: bool,
    ) -> Result<serde_json::Value, AppError> {
        let result = async {
            actor.require(Role::Member)?;
            let text = std::str::from_utf8(body)
                .map_err(|_| AppError::bad_request("the body is not UTF-8 text"))?;
            let parsed = socle_dora::parse_jsonl(text, source.unwrap_or("import"));
            let (events, errors) = (parsed.events, parsed.errors);
            if !errors.is_empty() && !partial {
                return Err(AppError::bad_request(format!(
                    "{} malformed line(s), first: {}; nothing was imported (partial=true keeps the valid lines)",
                    errors.len(),
                    errors[0]
                ))
                .with_details(serde_json::to_value(&errors).ok()));
            }
            self.authorize_events(actor, &events).await?;
            let mut refs = socle_dora::ChangeRefs::default();
            refs.observe(&events);
            let mut out = self.store_events(events).await?;
            out["errors"] = serde_json::to_value(&errors).unwrap_or_default();
            out["warnings"] =
                serde_json::to_value(parsed.unknown_fields.warnings()).unwrap_or_default();
            out["unknown_changes"] = serde_json::to_value(self.unknown_changes(&refs).await?)
                .unwrap_or_default();
            Ok(out)
        }
        .await;
        self.audited(actor, crate::AuditAction::DoraImport, "events", result)
            .await
    }

    /// Records (or updates) one incident given as an event line's JSON (`type` is set here).
    /// Audited as `dora.incident`.
    pub async fn record_incident(
        &self,
        actor: &Actor,
        mut line: serde_json::Value,
    ) -> Result<serde_json::Value, AppError> {
        let result = async {
            actor.require(Role::Member)?;
            line["type"] = serde_json::Value::String("incident".into());
            let read = socle_dora::parse_event(&line.to_string(), "api")
                .map_err(|e| AppError::bad_request(e.to_string()))?;
            self.authorize_events(actor, std::slice::from_ref(&read.event))
                .await?;
            let mut unknown = socle_dora::UnknownFields::default();
            for name in &read.ignored {
                unknown.record(name, 1);
            }
            let mut out = self.store_events(vec![read.event]).await?;
            out["warnings"] = serde_json::to_value(unknown.warnings()).unwrap_or_default();
            Ok(out)
        }
        .await;
        self.audited(actor, crate::AuditAction::DoraIncident, "incident", result)
            .await
    }

    /// Records as changes the first-parent history that ends at `commit` in the repository the
    /// service's catalog entry was read from, when that is a Git location (a repository Socle
    /// hosts, or one it reads): at most [`HISTORY_LIMIT`] commits, newest first. Returns how
    /// many commits were read (0 when the service has no Git location).
    pub async fn record_source_history(
        &self,
        service: &str,
        commit: &str,
    ) -> Result<usize, AppError> {
        let Some(entity) = self
            .store
            .get_entity(&format!(
                "component:default/{}",
                service.to_ascii_lowercase()
            ))
            .await?
        else {
            return Ok(0);
        };
        let Some(location) = self.store.get_location(&entity.location_key).await? else {
            return Ok(0);
        };
        let Ok(spec) = serde_json::from_value::<socle_ingest::LocationSpec>(location.spec) else {
            return Ok(0);
        };
        if spec.kind != socle_ingest::LocationKind::Git {
            return Ok(0);
        }
        let (repo, at) = (spec.target, commit.to_owned());
        let commits = tokio::task::spawn_blocking(move || {
            socle_ingest::commit_history_at(&repo, &at, HISTORY_LIMIT)
        })
        .await
        .map_err(|e| AppError::internal(format!("reading a repository's history: {e}")))?
        .map_err(|e| AppError::bad_request(e.to_string()))?;
        let n = commits.len();
        self.store
            .dora_upsert(changes_from_commits(service, commits))
            .await?;
        Ok(n)
    }

    /// The change ids an import's deployments named that neither the import nor the store
    /// defines (None: every one is known).
    pub async fn unknown_changes(
        &self,
        refs: &socle_dora::ChangeRefs,
    ) -> Result<Option<socle_dora::UnknownChanges>, AppError> {
        let known = self.store.dora_known_changes(&refs.undefined()).await?;
        Ok(refs.unknown(&known))
    }

    /// The indexed events: loaded in bulk the first time, then kept current by applying the
    /// store's change log whenever its events changed (each replica reads the same log). An
    /// error while catching up keeps the index as it was.
    pub async fn dora_dataset(&self) -> Result<Arc<Dataset>, AppError> {
        let mut cached = self.dora.lock().await;
        if let Some(live) = cached.as_mut() {
            live.catch_up(&self.store).await?;
            return Ok(live.dataset());
        }
        let live = LiveDora::load(&self.store, &options(&self.config.platform)).await?;
        let ds = live.dataset();
        *cached = Some(live);
        Ok(ds)
    }

    pub async fn store_events(&self, events: Vec<Event>) -> Result<serde_json::Value, AppError> {
        let snap = self.snapshot();
        let unknown = unknown_services(&snap, events.iter().map(Event::service));
        let written = self.store.dora_upsert(events).await?;
        Ok(serde_json::json!({
            "received": written.received,
            "changed": written.changed,
            "unknown_services": unknown,
        }))
    }

    /// A member records delivery events only for the services their teams own (as for deploys);
    /// an admin (or a CI token with the admin role) for any. Nothing is stored when one is not theirs.
    /// An event that already exists under the same source and id counts for the service it belongs
    /// to today too: a member cannot move another team's deployment or incident to their service.
    pub async fn authorize_events(
        &self,
        actor: &Actor,
        events: &[socle_dora::Event],
    ) -> Result<(), AppError> {
        let p = actor.require(Role::Member)?;
        if p.role == Role::Admin {
            return Ok(());
        }
        let mut services: std::collections::BTreeSet<String> =
            events.iter().map(|e| e.service().to_owned()).collect();
        services.extend(self.store.dora_current_services(events).await?);
        for service in &services {
            self.authorize_deploy(actor, service).map_err(|e| {
                AppError::forbidden(format!(
                    "delivery events for {service}: {}; nothing was imported",
                    e.message
                ))
            })?;
        }
        Ok(())
    }
}
