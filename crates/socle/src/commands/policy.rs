//! `socle policy …`: evaluate guardrails, run their tests, waivers and recorded results.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use socle_catalog::Limits;

use super::setup::{AppSetup, StoreArgs, open_app, policy_files};
use super::{entity_arg, fmt_time, now_ms};
use crate::output::{self, Format, Outcome};
use socle_app::waivers::NewWaiver;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Evaluate policies on YAML/JSON files (every document). Exit 1 if any deny/violation fires.
    Eval {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Policy directory (`*.rego` and data files); default: the built-in pack.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The package holding the rules.
        #[arg(long, default_value = "main")]
        namespace: String,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run the policies' own Rego tests (`test_*` rules), like `conftest verify`.
    Test {
        /// Policy directory; default: the built-in pack.
        dir: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Grant an exception: a rule does not block an entity's deploys until the expiry date.
    Waive {
        #[arg(long)]
        rule: String,
        /// `component:default/shop` (or the workload name).
        #[arg(long)]
        entity: String,
        /// Only in this environment (default: all).
        #[arg(long)]
        env: Option<String>,
        #[arg(long)]
        reason: String,
        /// Who answers for it, e.g. group:default/team-a.
        #[arg(long)]
        owner: String,
        /// Expiry date, YYYY-MM-DD (UTC, end of day).
        #[arg(long)]
        expires: String,
        /// The guardrails whose rules a waiver may name: `builtin`, `platform`, a policy
        /// directory, or `none` (any rule).
        #[arg(long, default_value = "builtin")]
        guardrails: String,
        /// Platform configuration directory (its environments; default: the shipped one).
        #[arg(long)]
        platform: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Revoke a waiver (its id from `policy waivers`): the rule blocks again.
    #[command(after_help = "Example:\n  socle policy unwaive 01J9Z3K4")]
    Unwaive {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List waivers.
    Waivers {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Guardrail evaluations recorded at deploy for an entity, newest first.
    Results {
        entity: String,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn run(cmd: PolicyCmd) -> anyhow::Result<Outcome> {
    match cmd {
        PolicyCmd::Waive {
            rule,
            entity,
            env,
            reason,
            owner,
            expires,
            guardrails,
            platform,
            store,
            output,
        } => {
            let date = time::Date::parse(
                &expires,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .with_context(|| format!("--expires {expires}: expected YYYY-MM-DD"))?;
            let expires_at = (date.with_hms(23, 59, 59)?.assume_utc().unix_timestamp()) * 1000;
            let config = AppSetup {
                store: &store,
                platform: platform.as_ref(),
                guardrails: &guardrails,
                limits: socle_catalog::Limits::default(),
            }
            .config()?;
            let app = open_app(store.open().await?, config).await?;
            let new = NewWaiver {
                rule,
                entity,
                environment: env.unwrap_or_default(),
                reason,
                owner,
                expires_at,
            };
            match app.create_waiver(&super::operator(), new).await {
                Ok(w) => waive(&w, output),
                Err(e) => super::failure(&e, output),
            }
        }
        PolicyCmd::Unwaive { id, store, output } => {
            let app = open_app(store.open_to_read().await?, Default::default()).await?;
            match app.revoke_waiver(&super::operator(), &id).await {
                Ok(()) => Outcome::new(
                    output,
                    &serde_json::json!({"id": id, "revoked": true}),
                    |_| format!("waiver {id} revoked\n"),
                ),
                Err(e) => super::failure(&e, output),
            }
        }
        PolicyCmd::Waivers { store, output } => {
            let list = store.open_to_read().await?.list_waivers().await?;
            waivers(&list, output)
        }
        PolicyCmd::Results {
            entity,
            env,
            limit,
            store,
            output,
        } => {
            let store = store.open().await?;
            let entity = entity_arg(&entity)?;
            let list = store.policy_results(&entity, env.as_deref(), limit).await?;
            results(&list, output)
        }
        PolicyCmd::Eval {
            files,
            policy,
            namespace,
            output,
        } => {
            let set = match &policy {
                Some(dir) => socle_policy::PolicySet::load(&policy_files(dir)?, &namespace),
                None => socle_policy::PolicySet::builtin(None),
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            eval(&set, &files, output)
        }
        PolicyCmd::Test { dir, output } => test(dir, output),
    }
}

fn waive(w: &socle_store::Waiver, output: Format) -> anyhow::Result<Outcome> {
    Outcome::new(output, w, |w| {
        format!(
            "waiver {}: {} on {} until {}\n",
            w.id,
            w.rule,
            w.entity,
            fmt_time(Some(w.expires_at))
        )
    })
}

fn waivers(list: &[socle_store::Waiver], output: Format) -> anyhow::Result<Outcome> {
    let now = now_ms();
    Outcome::new(output, &list, |l| {
        let rows: Vec<Vec<String>> = l
            .iter()
            .map(|w| {
                vec![
                    w.id.clone(),
                    w.rule.clone(),
                    w.entity.clone(),
                    if w.environment.is_empty() {
                        "*".into()
                    } else {
                        w.environment.clone()
                    },
                    w.owner.clone(),
                    fmt_time(Some(w.expires_at)),
                    if w.revoked_at.is_some() {
                        "revoked".into()
                    } else if w.expires_at <= now {
                        "expired".into()
                    } else {
                        "active".into()
                    },
                    w.reason.clone(),
                ]
            })
            .collect();
        output::table(
            &[
                "ID", "RULE", "ENTITY", "ENV", "OWNER", "EXPIRES", "STATE", "REASON",
            ],
            &rows,
        )
    })
}

fn results(list: &[socle_store::PolicyResult], output: Format) -> anyhow::Result<Outcome> {
    Outcome::new(output, &list, |l| {
        let count = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len).to_string();
        let rows: Vec<Vec<String>> = l
            .iter()
            .map(|r| {
                vec![
                    fmt_time(Some(r.evaluated_at)),
                    r.environment.clone(),
                    r.outcome.clone(),
                    count(&r.findings["violations"]),
                    count(&r.findings["waived"]),
                    count(&r.findings["warnings"]),
                ]
            })
            .collect();
        output::table(
            &["AT", "ENV", "OUTCOME", "VIOLATIONS", "WAIVED", "WARNINGS"],
            &rows,
        )
    })
}

fn eval(
    set: &socle_policy::PolicySet,
    files: &[PathBuf],
    output: Format,
) -> anyhow::Result<Outcome> {
    let limits = Limits::default();
    let mut findings = Vec::new();
    let mut errors = 0;
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        let docs = match socle_catalog::yaml::parse_documents(&text, &limits) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{name}:{}: {}", e.line.unwrap_or(0), e.message);
                errors += 1;
                continue;
            }
        };
        for (i, d) in docs.iter().enumerate() {
            match set.eval(&d.to_json(), &name, i) {
                Ok(f) => findings.extend(f),
                Err(e) => {
                    eprintln!("{e}");
                    errors += 1;
                }
            }
        }
    }
    let denied = findings
        .iter()
        .filter(|f| f.severity == socle_policy::Severity::Deny)
        .count();
    Ok(Outcome::new(output, &findings, |fs| {
        let mut s = String::new();
        for f in fs {
            s.push_str(&finding_line(f));
        }
        s.push_str(&format!(
            "{} failures, {} warnings\n",
            denied,
            fs.len() - denied
        ));
        s
    })?
    .failed(denied > 0 || errors > 0))
}

/// conftest's line: `FAIL - file - object path: message [rule, checkov ids]`.
fn finding_line(f: &socle_policy::Finding) -> String {
    let level = if f.severity == socle_policy::Severity::Deny {
        "FAIL"
    } else {
        "WARN"
    };
    format!(
        "{level} - {} - {}{}: {} [{}{}]\n",
        f.file,
        f.object.as_deref().unwrap_or("-"),
        f.path
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default(),
        f.message,
        f.rule,
        if f.checkov.is_empty() {
            String::new()
        } else {
            format!(", {}", f.checkov.join(" "))
        }
    )
}

fn test(dir: Option<PathBuf>, output: Format) -> anyhow::Result<Outcome> {
    let files = match &dir {
        Some(d) => policy_files(d)?,
        None => socle_policy::builtin_files(),
    };
    let set = socle_policy::PolicySet::load(&files, "main").map_err(|e| anyhow::anyhow!("{e}"))?;
    let results = set.run_tests(&files).map_err(|e| anyhow::anyhow!("{e}"))?;
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    let report = serde_json::json!({
        "passed": results.len() - failed,
        "failed": failed,
        "tests": results.iter().map(|(name, passed)| serde_json::json!({"name": name, "passed": passed})).collect::<Vec<_>>(),
    });
    Ok(Outcome::new(output, &report, |_| {
        let mut out = String::new();
        for (name, ok) in &results {
            out.push_str(&format!("{} {name}\n", if *ok { "PASS" } else { "FAIL" }));
        }
        out.push_str(&format!(
            "{} passed, {} failed\n",
            results.len() - failed,
            failed
        ));
        out
    })?
    .failed(failed > 0 || results.is_empty()))
}
