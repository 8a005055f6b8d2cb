//! The architecture's rules, checked by `tests/it/architecture.rs` against `cargo metadata` and
//! the sources. Three tables hold everything a reviewer needs to read: [`FLOORS`] (which crate
//! may depend on which), [`FORBIDDEN_DEPS`] and [`FORBIDDEN_CALLS`] (what a pure crate may not
//! use), and [`ALLOW`] (every exception today, each with its reason).

use std::fmt;

use serde_json::Value;

/// Crates in floors; a crate depends only on crates of its own floor or below.
pub const DOMAIN: u8 = 0;
pub const STORE: u8 = 1;
pub const APP: u8 = 2;
pub const EDGE: u8 = 3;
pub const TOP: u8 = 4;

/// One crate: its floor, and whether it is held to the pure-domain rules (no IO, no clock, no
/// framework dependencies). A workspace crate without a row is an error; a row whose crate does
/// not exist (yet) is ignored.
pub struct Floor {
    pub krate: &'static str,
    pub floor: u8,
    pub pure: bool,
}

const fn row(krate: &'static str, floor: u8, pure: bool) -> Floor {
    Floor { krate, floor, pure }
}

pub const FLOORS: &[Floor] = &[
    // Domain: models and rules, no IO (exceptions in ALLOW).
    row("socle-catalog", DOMAIN, true),
    row("socle-ingest", DOMAIN, true),
    row("socle-scaffold", DOMAIN, true),
    row("socle-dora", DOMAIN, true),
    row("socle-render", DOMAIN, true),
    row("socle-score", DOMAIN, true),
    row("socle-slo", DOMAIN, true),
    row("socle-scorecard", DOMAIN, true),
    row("socle-data", DOMAIN, true),
    row("socle-survey", DOMAIN, true),
    row("socle-adoption", DOMAIN, true),
    row("socle-platform", DOMAIN, true),
    row("socle-policy", DOMAIN, true),
    row("socle-escape", DOMAIN, true),
    row("socle-search", DOMAIN, true),
    // The demo organisation: embedded data, extracted to a directory by `socle serve --demo`.
    row("socle-demo", DOMAIN, false),
    // The only crate that writes SQL against Socle's own store.
    row("socle-store", STORE, false),
    // Runs data contracts' checks on teams' PostgreSQL servers (read-only); never Socle's store.
    row("socle-data-pg", STORE, false),
    // Runs data contracts' checks on files (CSV, JSON) in a private in-memory SQLite database.
    row("socle-data-files", STORE, false),
    // Application services (use cases), between the store and the HTTP/HTML edges.
    row("socle-app", APP, false),
    // The deploy pipeline socle-app drives: resolve, render, guardrails, GitOps commit (gix),
    // command provisioners (processes), records in the store. Orchestration with IO, not a
    // pure model: the models it runs are socle-score, -platform, -render and -policy.
    row("socle-deploy", APP, false),
    // Edges: HTTP API, portal pages and the components that draw them.
    row("socle-api", EDGE, false),
    row("socle-portal", EDGE, false),
    row("socle-ui", EDGE, false),
    // Binaries.
    row("socle", TOP, false),
    row("socle-bench", TOP, false),
    // Test tooling (dev-dependencies only): this crate, the golden-file helper, the harness.
    row("socle-arch", TOP, false),
    row("socle-golden", TOP, false),
    row("socle-testkit", TOP, false),
];

/// Normal (and build) dependencies a pure crate may not have.
pub const FORBIDDEN_DEPS: &[&str] = &["sqlx", "axum", "hyper", "tokio", "gix", "walkdir", "anyhow"];

/// The only crates that may depend on sqlx: Socle's store, and the engines that run contract
/// checks on teams' PostgreSQL servers (read-only, never Socle's store) and on files (a private
/// in-memory database).
pub const SQL_CRATES: &[&str] = &["socle-store", "socle-data-pg", "socle-data-files"];

/// Normal dependencies the application floor may not have: it knows no HTTP server, OpenAPI
/// or HTML types (the API and the portal translate).
pub const APP_FORBIDDEN_DEPS: &[&str] = &["axum", "tower", "tower-http", "utoipa", "maud"];

/// What a pure crate's `src/` may not name: (text, why). Comment lines and everything from a
/// file's top-level `#[cfg(test)]` on are not checked.
pub const FORBIDDEN_CALLS: &[(&str, &str)] = &[
    ("std::fs", "file system access"),
    ("std::env", "process environment"),
    ("SystemTime::now", "reads the clock"),
    ("Utc::now", "reads the clock"),
    ("OffsetDateTime::now_utc", "reads the clock"),
    ("Instant::now", "reads the clock"),
    ("anyhow", "anyhow is for binaries; libraries use thiserror"),
];

/// What an exception covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// A forbidden dependency (by package name), or a dependency on a higher floor.
    Dep(&'static str),
    /// A forbidden name in one source file (path relative to the crate).
    Call(&'static str, &'static str),
}

pub struct Allow {
    pub krate: &'static str,
    pub what: Allowed,
    pub why: &'static str,
}

const fn dep(krate: &'static str, name: &'static str, why: &'static str) -> Allow {
    Allow {
        krate,
        what: Allowed::Dep(name),
        why,
    }
}

const fn call(
    krate: &'static str,
    file: &'static str,
    name: &'static str,
    why: &'static str,
) -> Allow {
    Allow {
        krate,
        what: Allowed::Call(file, name),
        why,
    }
}

/// Every exception to the rules today. A row that matches nothing is itself an error, so the
/// table shrinks as code moves.
pub const ALLOW: &[Allow] = &[
    // socle-ingest reads locations: directories on disk and Git trees.
    dep(
        "socle-ingest",
        "gix",
        "GitSource reads one commit's tree without a git process",
    ),
    dep(
        "socle-ingest",
        "walkdir",
        "FsSource lists a location's directory",
    ),
    call(
        "socle-ingest",
        "src/source.rs",
        "std::fs",
        "FsSource: the sandboxed directory reader (the Source trait is the seam)",
    ),
    // socle-policy: regorus's extension functions (the `parse_config` builtins) return anyhow.
    dep(
        "socle-policy",
        "anyhow",
        "regorus extensions must return anyhow::Result (parse.rs only)",
    ),
    call(
        "socle-policy",
        "src/parse.rs",
        "anyhow",
        "the parse_config builtins' signatures, fixed by regorus::Engine::add_extension",
    ),
    // socle-scaffold: the engine sees only the Workspace and Source traits; disk.rs implements them.
    dep(
        "socle-scaffold",
        "walkdir",
        "disk.rs: DiskWorkspace and DirSource list directories",
    ),
    call(
        "socle-scaffold",
        "src/disk.rs",
        "std::fs",
        "DiskWorkspace and DirSource, the crate's only file system access",
    ),
];

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `crates/x/src/y.rs:12` or the crate's name.
    pub at: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

fn floor_of(krate: &str) -> Option<&'static Floor> {
    FLOORS.iter().find(|f| f.krate == krate)
}

/// The index in [`ALLOW`] of the row that allows `what` in `krate`.
fn allow_row(krate: &str, what: impl Fn(&Allowed) -> bool) -> Option<usize> {
    ALLOW.iter().position(|a| a.krate == krate && what(&a.what))
}

/// A workspace package as `cargo metadata --no-deps` describes it.
pub struct Package {
    pub name: String,
    /// Normal and build dependencies (dev-dependencies are left out).
    pub deps: Vec<String>,
    /// The crate's directory.
    pub dir: String,
}

/// The packages of `cargo metadata --format-version 1 --no-deps` output.
pub fn packages(metadata: &Value) -> Vec<Package> {
    let list = metadata["packages"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|p| {
            let manifest = p["manifest_path"].as_str().unwrap_or_default();
            Package {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                deps: p["dependencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|d| d["kind"].as_str() != Some("dev"))
                    .filter_map(|d| d["name"].as_str().map(str::to_owned))
                    .collect(),
                dir: manifest
                    .strip_suffix("/Cargo.toml")
                    .unwrap_or(manifest)
                    .to_owned(),
            }
        })
        .collect()
}

/// Floors and forbidden dependencies; `used` collects the [`ALLOW`] rows that matched.
pub fn dependency_violations(pkgs: &[Package], used: &mut Vec<usize>) -> Vec<Violation> {
    let names: Vec<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();
    for p in pkgs {
        let Some(floor) = floor_of(&p.name) else {
            out.push(Violation {
                at: p.name.clone(),
                message: "has no row in socle_arch::FLOORS: give the new crate a floor".into(),
            });
            continue;
        };
        for d in &p.deps {
            let upward =
                names.contains(&d.as_str()) && floor_of(d).is_some_and(|df| df.floor > floor.floor);
            let app_forbidden = floor.floor == APP && APP_FORBIDDEN_DEPS.contains(&d.as_str());
            let sql = d == "sqlx" && !SQL_CRATES.contains(&p.name.as_str());
            let forbidden =
                (floor.pure && FORBIDDEN_DEPS.contains(&d.as_str())) || app_forbidden || sql;
            if !(upward || forbidden) {
                continue;
            }
            if let Some(row) = allow_row(&p.name, |w| matches!(w, Allowed::Dep(n) if n == d)) {
                used.push(row);
                continue;
            }
            let message = if upward {
                format!(
                    "depends upwards on {d} (floor {} above {}'s floor {}): a crate uses only its floor and below",
                    floor_of(d).map_or(0, |f| f.floor),
                    p.name,
                    floor.floor
                )
            } else if app_forbidden {
                format!(
                    "application crate depends on {d} (HTTP and HTML types stay in the adapters)"
                )
            } else if sql && !floor.pure {
                format!(
                    "depends on sqlx: only {} run SQL (the store, and the data-contract engines)",
                    SQL_CRATES.join(", ")
                )
            } else {
                format!("domain crate depends on {d} (forbidden in domain crates)")
            };
            out.push(Violation {
                at: p.name.clone(),
                message,
            });
        }
    }
    out
}

/// Forbidden names in one source file of a pure crate (`file` relative to the crate, `shown`
/// as printed).
pub fn source_violations(
    krate: &str,
    file: &str,
    shown: &str,
    text: &str,
    used: &mut Vec<usize>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (name, why) in FORBIDDEN_CALLS {
            let named = code.contains(name)
                || (*name == "std::fs" && imports(code, "fs"))
                || (*name == "std::env" && imports(code, "env"));
            if !named {
                continue;
            }
            let allow = allow_row(
                krate,
                |w| matches!(w, Allowed::Call(f, n) if *f == file && n == name),
            );
            used.extend(allow);
            if allow.is_none() {
                out.push(Violation {
                    at: format!("{shown}:{}", i + 1),
                    message: format!("`{name}` ({why}) in domain crate {krate}"),
                });
            }
        }
    }
    out
}

/// `use std::{…, fs, …}` and the like.
fn imports(code: &str, module: &str) -> bool {
    code.starts_with("use std::{")
        && code
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == module)
}

/// Exceptions that matched nothing (for crates that exist): stale rows to remove.
pub fn unused_allows(pkgs: &[Package], used: &[usize]) -> Vec<Violation> {
    ALLOW
        .iter()
        .enumerate()
        .filter(|(_, a)| pkgs.iter().any(|p| p.name == a.krate))
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, a)| a)
        .map(|a| Violation {
            at: a.krate.to_owned(),
            message: format!(
                "allow-list row {:?} matches nothing: remove it from socle_arch::ALLOW",
                a.what
            ),
        })
        .collect()
}
