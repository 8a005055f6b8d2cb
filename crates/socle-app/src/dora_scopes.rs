//! Every scope's delivery report from one index: the organisation, every team (with its child
//! teams), every system, every domain and every service that has events — what
//! `socle dora report --all-scopes` and `GET /api/v1/dora/scopes` return.
//!
//! Each entry is the report that the scope's own question gives (`dora report --team …`,
//! `GET /api/v1/dora/report?scope=team&name=…`): the same services, the same figures.

use serde::Serialize;
use socle_dora::{Dataset, Report, Window};

use crate::dora::{Scope, all_teams, services};
use crate::snapshot::Snapshot;

/// One scope's report, labelled as the single-scope report labels it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScopeReport {
    pub scope: String,
    #[serde(flatten)]
    pub report: Report,
}

/// Every scope over one window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AllScopes {
    pub from: String,
    pub to: String,
    pub organisation: ScopeReport,
    /// Every group of the catalog, by ref.
    pub teams: Vec<ScopeReport>,
    /// Every system of the catalog, by ref.
    pub systems: Vec<ScopeReport>,
    /// Every domain of the catalog, by ref.
    pub domains: Vec<ScopeReport>,
    /// Every service named by the events, by name.
    pub services: Vec<ScopeReport>,
}

fn labelled(scope: &Scope, report: Report) -> ScopeReport {
    ScopeReport {
        scope: scope.label(),
        report,
    }
}

/// The refs of the catalog's entities of one kind, in ref order.
fn refs<'a>(snap: &'a Snapshot, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    snap.entities
        .iter()
        .filter(move |e| e.kind() == kind)
        .map(|e| &*e.entity_ref)
}

/// Every scope's report over `w` (with the weekly series when `weekly`), from one index.
pub fn all_scopes(snap: &Snapshot, ds: &Dataset, w: Window, weekly: bool) -> AllScopes {
    let organisation = labelled(&Scope::Org, ds.report(None, w, weekly));
    // Teams: what each owns, computed once for the whole group tree (bottom-up).
    let teams = all_teams(snap, &|s| ds.knows(s))
        .into_iter()
        .map(|t| {
            let mut report = ds.report(Some(&t.services), w, weekly);
            report.services = t.components;
            labelled(&Scope::Team(t.team), report)
        })
        .collect();
    let by_kind = |kind: &str, scope: fn(String) -> Scope| -> Vec<ScopeReport> {
        refs(snap, kind)
            .filter_map(|r| {
                let scope = scope(r.to_owned());
                let names = services(snap, &scope).ok()?;
                Some(labelled(&scope, ds.report(names.as_deref(), w, weekly)))
            })
            .collect()
    };
    let systems = by_kind("system", Scope::System);
    let domains = by_kind("domain", Scope::Domain);
    let mut names: Vec<&String> = ds.services().iter().collect();
    names.sort_unstable();
    let services = names
        .into_iter()
        .map(|name| {
            let scope = Scope::Service(name.clone());
            labelled(
                &scope,
                ds.report(Some(std::slice::from_ref(name)), w, weekly),
            )
        })
        .collect();
    AllScopes {
        from: organisation.report.from.clone(),
        to: organisation.report.to.clone(),
        organisation,
        teams,
        systems,
        domains,
        services,
    }
}

impl crate::App {
    /// Every scope's report from the stored events' index (one index, one pass over the
    /// catalog), computed on the CPU gate.
    pub async fn dora_all_scopes(
        &self,
        w: Window,
        weekly: bool,
    ) -> Result<AllScopes, crate::error::AppError> {
        let snap = self.snapshot();
        let ds = self.dora_dataset().await?;
        self.cpu
            .run(move || all_scopes(&snap, &ds, w, weekly))
            .await
    }
}
