//! `socle catalog …`: validate offline, ingest and refresh locations, read the catalog.

use anyhow::Context;
use clap::Subcommand;
use socle_catalog::Limits;
use socle_ingest::{LocationKind, LocationSpec};
use socle_store::Store;

use super::setup::{LimitArgs, NetArgs, StoreArgs};
use super::{cli_actor, fmt_time, now_ms};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum CatalogCmd {
    /// Parse, validate and relate catalog files offline (no store). Exit 1 if anything is invalid.
    #[command(
        after_help = "Example:\n  socle catalog validate ./catalog-info.yaml\n  socle catalog validate -o json ./repo"
    )]
    Validate {
        /// Files, directories (every catalog-info.yaml below) or globs.
        #[arg(required = true)]
        paths: Vec<String>,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Register a location (if new) and read it into the store.
    #[command(
        after_help = "Example:\n  socle catalog ingest ./platform-catalog\n  socle catalog ingest --git /srv/git/payments.git --branch main\n  SOCLE_GIT_HOSTS=https://git.example.com/=$TOKEN socle catalog ingest --git https://git.example.com/acme/shop"
    )]
    Ingest {
        /// A file, directory or glob; with --git, a repository path, file:// URL or https:// URL.
        target: String,
        /// The target is a Git repository.
        #[arg(long)]
        git: bool,
        /// Git branch (default: HEAD).
        #[arg(long, requires = "git")]
        branch: Option<String>,
        /// File, directory or glob inside the repository.
        #[arg(long, requires = "git")]
        path: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        net: NetArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Re-read every registered location.
    #[command(after_help = "Example:\n  socle catalog refresh")]
    Refresh {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        net: NetArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Show one entity with its relations: `component:default/payments` (kind required).
    #[command(after_help = "Example:\n  socle catalog get component:default/cart-service -o yaml")]
    Get {
        /// The entity: kind:namespace/name, e.g. component:default/cart-service (namespace optional).
        entity_ref: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List entities, ordered by ref, a page at a time (as `GET /api/v1/entities`).
    ///
    /// Example: `socle catalog list --kind component --owner team-a --type service`
    List {
        /// Kinds (comma-separated), e.g. component,api.
        #[arg(long)]
        kind: Option<String>,
        /// Only this namespace.
        #[arg(long)]
        namespace: Option<String>,
        /// Owning groups (comma-separated): team-a or group:default/team-a.
        #[arg(long)]
        owner: Option<String>,
        /// spec.type values (comma-separated), e.g. service.
        #[arg(long = "type")]
        spec_type: Option<String>,
        /// Tags (comma-separated); any of them.
        #[arg(long)]
        tag: Option<String>,
        /// spec.lifecycle values (comma-separated), e.g. production.
        #[arg(long)]
        lifecycle: Option<String>,
        /// Page size (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// The page after this ref (`nextCursor` of the previous page).
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Full-text search with filters.
    #[command(after_help = "Example:\n  socle catalog search cart --kind component --tag go")]
    Search {
        /// The text to find (prefix match on the last word); empty lists by filters only.
        query: Option<String>,
        /// Kinds (comma-separated), e.g. component,api.
        #[arg(long)]
        kind: Vec<String>,
        /// Owning groups (comma-separated).
        #[arg(long)]
        owner: Vec<String>,
        /// spec.type values (comma-separated), e.g. service.
        #[arg(long = "type")]
        spec_type: Vec<String>,
        /// Tags (comma-separated).
        #[arg(long)]
        tag: Vec<String>,
        /// At most this many hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Unregister a location and remove its entities: by id (see `catalog locations`) or key.
    #[command(after_help = "Example:\n  socle catalog unregister 3f2a9c0d1e4b5a6f")]
    Unregister {
        /// The location's id or key (`file:/srv/catalog/catalog-info.yaml`).
        location: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Registered locations and their status.
    #[command(after_help = "Example:\n  socle catalog locations -o json")]
    Locations {
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn run(cmd: CatalogCmd) -> anyhow::Result<Outcome> {
    match cmd {
        CatalogCmd::Validate {
            paths,
            output,
            limits,
        } => validate(paths, output, limits.limits()).await,
        CatalogCmd::Ingest {
            target,
            git,
            branch,
            path,
            store,
            limits,
            net,
            output,
        } => {
            let spec = location_spec(target, git, branch, path)?;
            let remotes = net.remotes(&store.data_dir)?;
            ingest_location(&spec, &store, &limits.limits(), &remotes, output).await
        }
        CatalogCmd::Refresh {
            store,
            limits,
            net,
            output,
        } => {
            let remotes = net.remotes(&store.data_dir)?;
            refresh(
                &store.open_to_read().await?,
                &limits.limits(),
                &remotes,
                output,
            )
            .await
        }
        CatalogCmd::Get {
            entity_ref,
            store,
            output,
        } => get(&entity_ref, &store.open_to_read().await?, output).await,
        CatalogCmd::List {
            kind,
            namespace,
            owner,
            spec_type,
            tag,
            lifecycle,
            limit,
            cursor,
            store,
            output,
        } => {
            let mut filter = socle_app::catalog::EntityFilter::from_lists(
                kind.as_deref(),
                namespace.as_deref(),
                None,
                spec_type.as_deref(),
                tag.as_deref(),
                lifecycle.as_deref(),
            );
            filter.owners = owner_refs(owner.as_deref())?;
            let page = socle_app::catalog::PageRequest {
                limit: Some(limit as usize),
                cursor,
            };
            list(store.open_to_read().await?, &filter, &page, output).await
        }
        CatalogCmd::Search {
            query,
            kind,
            owner,
            spec_type,
            tag,
            limit,
            store,
            output,
        } => {
            // The API's own normalisation of the text and filters (`GET /api/v1/search`).
            let params = socle_app::catalog::SearchRequest {
                q: query,
                kind: filter_list(&kind),
                owner: filter_list(&owner),
                spec_type: filter_list(&spec_type),
                tag: filter_list(&tag),
                limit: Some(limit),
                ..Default::default()
            };
            let q = params
                .query()
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            search(store.open_to_read().await?, &q, output).await
        }
        CatalogCmd::Unregister {
            location,
            store,
            output,
        } => unregister(&location, &store, output).await,
        CatalogCmd::Locations { store, output } => {
            let list: Vec<ShownLocation> = store
                .open_to_read()
                .await?
                .list_locations()
                .await?
                .into_iter()
                .map(|record| ShownLocation {
                    id: socle_app::locations::location_id(&record.key),
                    record,
                })
                .collect();
            Outcome::list(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|ShownLocation { id, record: x }| {
                        vec![
                            id.clone(),
                            x.key.clone(),
                            x.status.to_string(),
                            x.entity_count.to_string(),
                            x.errors.len().to_string(),
                            x.conflicts.len().to_string(),
                            fmt_time(x.refreshed_at),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "ID",
                        "LOCATION",
                        "STATUS",
                        "ENTITIES",
                        "ERRORS",
                        "CONFLICTS",
                        "REFRESHED",
                    ],
                    &rows,
                )
            })
        }
    }
}

/// A location with its stable id (the API's).
#[derive(serde::Serialize)]
struct ShownLocation {
    id: String,
    #[serde(flatten)]
    record: socle_store::LocationRecord,
}

/// `socle catalog unregister`: through the application, audited, its entities removed.
async fn unregister(location: &str, store: &StoreArgs, output: Format) -> anyhow::Result<Outcome> {
    let store = store.open_to_read().await?;
    let id = if location.contains(':') {
        socle_app::locations::location_id(location)
    } else {
        location.to_owned()
    };
    let app = super::setup::open_app(store, socle_app::AppConfig::default()).await?;
    if let Err(e) = app.delete_location(&super::operator(), &id).await {
        return super::failure(&e, output);
    }
    Outcome::new(
        output,
        &serde_json::json!({"id": id, "unregistered": true}),
        |_| format!("unregistered location {id}; its entities are removed\n"),
    )
}

/// Repeated `--kind a --kind b` as the API's comma-separated `kind=a,b`.
fn filter_list(values: &[String]) -> Option<String> {
    (!values.is_empty()).then(|| values.join(","))
}

/// Registers `spec` if new and reads it into the store.
pub async fn ingest(
    store: &Store,
    spec: &LocationSpec,
    limits: &Limits,
    show_progress: bool,
    remotes: &socle_app::ingest::Remotes,
) -> anyhow::Result<socle_store::ApplyOutcome> {
    let key = spec.key();
    let new = store.get_location(&key).await?.is_none();
    if new {
        store
            .add_location(
                &key,
                &serde_json::to_value(spec)?,
                &cli_actor(),
                socle_store::LocationTrust::Organisation,
                now_ms(),
            )
            .await?;
    }
    let (bar, progress) = if show_progress {
        let (b, p) = super::progress_bar(&format!("reading {}", spec.target));
        (Some(b), Some(p))
    } else {
        (None, None)
    };
    let out = socle_app::ingest::refresh_location(store, spec, limits, now_ms(), progress, remotes)
        .await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // A mistyped target is not kept to fail on every refresh.
    if new && out.status == socle_store::RefreshStatus::Failed {
        store.delete_location(&key).await?;
        for e in &out.errors {
            eprintln!("{e}");
        }
        anyhow::bail!("cannot read {}: nothing was registered", spec.target);
    }
    let outcome = if out.status == socle_store::RefreshStatus::Ok {
        socle_app::AuditOutcome::Ok
    } else {
        socle_app::AuditOutcome::Failed
    };
    super::audit(
        store,
        socle_app::AuditAction::LocationRefresh,
        &key,
        outcome,
        out.status.as_str(),
    )
    .await?;
    Ok(out)
}

/// The location `socle catalog ingest` names: a Git repository, or a path made absolute.
fn location_spec(
    target: String,
    git: bool,
    branch: Option<String>,
    path: Option<String>,
) -> anyhow::Result<LocationSpec> {
    Ok(if git {
        LocationSpec {
            kind: LocationKind::Git,
            target,
            branch,
            path,
        }
    } else {
        super::must_exist(&target)?;
        let abs = std::path::Path::new(&target);
        let target = if abs.exists() {
            abs.canonicalize()?.to_string_lossy().into_owned()
        } else {
            target
        };
        LocationSpec::file(target)
    })
}

/// `socle catalog ingest`: registers the location if new and reads it.
async fn ingest_location(
    spec: &LocationSpec,
    store: &StoreArgs,
    limits: &Limits,
    remotes: &socle_app::ingest::Remotes,
    output: Format,
) -> anyhow::Result<Outcome> {
    let store = store.open().await?;
    let out = ingest(&store, spec, limits, output == Format::Table, remotes).await?;
    let line = format!(
        "{}: {} added, {} updated, {} unchanged, {} removed, {} kept from before, {} errors\n",
        spec.key(),
        out.added,
        out.updated,
        out.unchanged,
        out.removed,
        out.kept,
        out.errors.len()
    );
    Ok(Outcome::new(output, &out, |_| line)?
        .table_stderr(out.errors.iter().map(ToString::to_string))
        .failed(out.status != socle_store::RefreshStatus::Ok))
}

async fn validate(paths: Vec<String>, output: Format, limits: Limits) -> anyhow::Result<Outcome> {
    for p in &paths {
        super::must_exist(p)?;
    }
    let specs: Vec<LocationSpec> = paths.iter().map(LocationSpec::file).collect();
    let report =
        tokio::task::spawn_blocking(move || socle_ingest::validate(&specs, &limits)).await?;
    // Nothing found is not "valid": a directory without catalog-info.yaml, a glob that
    // matches nothing.
    let nothing = report.entities.is_empty() && report.errors.is_empty();
    let empty_note = nothing.then(|| {
        format!(
            "error: no catalog entity found in {} (a directory is searched for catalog-info.yaml files)",
            paths.join(", ")
        )
    });
    Ok(Outcome::new(output, &report, |report| {
        let rels: usize = report.entities.iter().map(|e| e.relations.len()).sum();
        let mut s = format!(
            "{} entities valid, {} relations ({} dangling), {} errors\n",
            report.entities.len(),
            rels,
            report.dangling.len(),
            report.errors.len()
        )
        .replace(" 1 errors", " 1 error")
        .replace("1 entities valid", "1 entity valid");
        for d in &report.dangling {
            s.push_str(&format!("dangling: {d}\n"));
        }
        s
    })?
    .table_stderr(
        report
            .errors
            .iter()
            .map(ToString::to_string)
            .chain(empty_note),
    )
    .failed(!report.errors.is_empty() || nothing))
}

async fn refresh(
    store: &Store,
    limits: &Limits,
    remotes: &socle_app::ingest::Remotes,
    output: Format,
) -> anyhow::Result<Outcome> {
    let mut results = serde_json::Map::new();
    let mut failed = false;
    let mut errors = Vec::new();
    let mut lines = String::new();
    for loc in store.list_locations().await? {
        if socle_app::org_sync::is_directory_location(&loc.key) {
            continue; // `socle org sync` reads those
        }
        let spec: LocationSpec = serde_json::from_value(loc.spec.clone())
            .with_context(|| format!("location {} has an unreadable spec", loc.key))?;
        let out = ingest(store, &spec, limits, output == Format::Table, remotes).await?;
        failed |= out.status != socle_store::RefreshStatus::Ok;
        errors.extend(out.errors.iter().map(ToString::to_string));
        lines.push_str(&format!(
            "{}: {} added, {} updated, {} removed, {} errors\n",
            loc.key,
            out.added,
            out.updated,
            out.removed,
            out.errors.len()
        ));
        results.insert(loc.key, serde_json::to_value(out)?);
    }
    Ok(Outcome::new(output, &results, |_| lines)?
        .table_stderr(errors)
        .failed(failed))
}

async fn get(entity_ref: &str, store: &Store, output: Format) -> anyhow::Result<Outcome> {
    let r = socle_catalog::EntityRef::parse_full(entity_ref).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(e) = store.get_entity(&r.to_string()).await? else {
        eprintln!("error: no entity {r}");
        return super::exit(true);
    };
    let relations = store.relations_of(&e.entity_ref).await?;
    let mut body: serde_json::Value = serde_json::from_str(&e.body)?;
    body["relations"] = serde_json::to_value(
        relations
            .iter()
            .map(|r| serde_json::json!({"type": r.kind, "targetRef": r.target}))
            .collect::<Vec<_>>(),
    )?;
    Outcome::new(output, &body, |body| {
        let mut s = format!("{}\n", e.entity_ref);
        for k in ["title", "description"] {
            if let Some(v) = body["metadata"][k].as_str() {
                s.push_str(&format!("  {k}: {v}\n"));
            }
        }
        if let Some(spec) = body["spec"].as_object() {
            for (k, v) in spec {
                if let Some(v) = v.as_str().filter(|v| v.len() < 100) {
                    s.push_str(&format!("  spec.{k}: {v}\n"));
                }
            }
        }
        s.push_str(&format!("  location: {}\n", e.location_key));
        s.push_str("relations:\n");
        let rows: Vec<Vec<String>> = relations
            .iter()
            .map(|r| vec![r.kind.clone(), r.target.clone()])
            .collect();
        s.push_str(&output::table(&["TYPE", "TARGET"], &rows));
        s
    })
}

/// `team-a,group:default/team-b` → full group refs, as the listing compares them.
fn owner_refs(owners: Option<&str>) -> anyhow::Result<Vec<String>> {
    socle_app::catalog::filter_values(owners)
        .iter()
        .map(|o| {
            socle_catalog::EntityRef::parse(o, Some("group"), "default")
                .map(String::from)
                .map_err(|e| anyhow::anyhow!("--owner {o:?}: {e}"))
        })
        .collect()
}

/// A page of entities: JSON and YAML as the API's `{items, totalItems, nextCursor}`.
async fn list(
    store: Store,
    filter: &socle_app::catalog::EntityFilter,
    page: &socle_app::catalog::PageRequest,
    output: Format,
) -> anyhow::Result<Outcome> {
    let app = socle_app::App::new(store, socle_app::AppConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let page = app
        .list_entities(&super::operator(), filter, page)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let value: serde_json::Value = serde_json::from_str(&page.to_json())?;
    let footer = page.next_cursor.as_ref().map(|c| {
        format!(
            "{} of {} shown; the next page: --cursor {c}",
            page.items.len(),
            page.total
        )
    });
    Ok(Outcome::new(output, &value, |value| {
        let empty = Vec::new();
        let rows: Vec<Vec<String>> = value["items"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|v| {
                vec![
                    entity_ref_of(v),
                    v["spec"]["owner"].as_str().unwrap_or("-").to_owned(),
                    v["spec"]["type"].as_str().unwrap_or("-").to_owned(),
                    v["metadata"]["description"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(60)
                        .collect(),
                ]
            })
            .collect();
        output::table(&["REF", "OWNER", "TYPE", "DESCRIPTION"], &rows)
    })?
    .table_stderr(footer))
}

/// `kind:namespace/name` of an entity as the API serves it.
fn entity_ref_of(v: &serde_json::Value) -> String {
    format!(
        "{}:{}/{}",
        v["kind"].as_str().unwrap_or_default().to_lowercase(),
        v["metadata"]["namespace"].as_str().unwrap_or("default"),
        v["metadata"]["name"].as_str().unwrap_or_default()
    )
}

async fn search(
    store: Store,
    q: &socle_search::SearchQuery,
    output: Format,
) -> anyhow::Result<Outcome> {
    let app = socle_app::App::new(store, socle_app::AppConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let res = app
        .search_catalog(&super::operator(), q)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Outcome::new(output, &res, |r| {
        let rows: Vec<Vec<String>> = r
            .hits
            .iter()
            .map(|h| {
                vec![
                    h.entity_ref.clone(),
                    h.owner.clone().unwrap_or_default(),
                    h.description
                        .clone()
                        .unwrap_or_default()
                        .chars()
                        .take(60)
                        .collect(),
                ]
            })
            .collect();
        let mut s = output::table(&["REF", "OWNER", "DESCRIPTION"], &rows);
        s.push_str(&format!("{} matches\n", r.total));
        let facet = |name: &str, f: &[socle_search::FacetCount]| {
            let parts: Vec<String> = f
                .iter()
                .take(8)
                .map(|c| format!("{} ({})", c.value, c.count))
                .collect();
            format!("{name}: {}\n", parts.join(", "))
        };
        s.push_str(&facet("kind", &r.facets.kind));
        s.push_str(&facet("owner", &r.facets.owner));
        s.push_str(&facet("type", &r.facets.spec_type));
        s.push_str(&facet("tag", &r.facets.tag));
        s
    })
}
