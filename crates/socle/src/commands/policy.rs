//! `socle policy …`: evaluate guardrails, run their tests, waivers and recorded results.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::setup::{AppSetup, StoreArgs, open_app};
use super::{entity_arg, fmt_time, now_ms};
use crate::commands::policy_io::{EvalMode, PolicyFormat, Sources, eval};
use crate::output::{self, Format, Outcome};
use socle_app::waivers::NewWaiver;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Evaluate policies on YAML/JSON files (every document), like `conftest test`. Exit 1 if
    /// any deny/violation fires (or, with --fail-on-warn, any warning).
    #[command(
        after_help = "Example:\n  socle policy eval deploy/\n  socle policy eval -p policy/ -d data/ -o sarif k8s/*.yaml"
    )]
    Eval {
        /// Files, or directories (their YAML and JSON files, recursively).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Policy file or directory (`*.rego`; repeatable); default: the built-in pack.
        #[arg(long, short = 'p')]
        policy: Vec<PathBuf>,
        /// Data file or directory (`*.json`, `*.yaml`, `*.yml`; repeatable), merged into `data`.
        #[arg(long, short = 'd')]
        data: Vec<PathBuf>,
        /// The package holding the rules.
        #[arg(long, default_value = "main")]
        namespace: String,
        /// Evaluate all files as one input: an array of `{path, contents}`.
        #[arg(long)]
        combine: bool,
        /// Exit 1 on warnings too.
        #[arg(long)]
        fail_on_warn: bool,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: PolicyFormat,
    },
    /// Run the policies' own Rego tests (`test_*` rules), like `conftest verify`.
    #[command(after_help = "Example:\n  socle policy test ./policies -d data/")]
    Test {
        /// Policy directory; default: the built-in pack.
        dir: Option<PathBuf>,
        /// More policy files or directories (repeatable).
        #[arg(long, short = 'p')]
        policy: Vec<PathBuf>,
        /// Data file or directory (repeatable).
        #[arg(long, short = 'd')]
        data: Vec<PathBuf>,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Grant an exception: a rule does not block an entity's deploys until the expiry date.
    #[command(
        after_help = "Example:\n  socle policy waive --rule read-only-root-filesystem --entity shop --env dev --owner team-a --reason \"writes /tmp until 2.0\" --expires 14d"
    )]
    Waive {
        /// The rule id, e.g. read-only-root-filesystem (`socle policy eval -o json` names them).
        #[arg(long)]
        rule: String,
        /// `component:default/shop` (or the workload name).
        #[arg(long)]
        entity: String,
        /// Only in this environment (default: all).
        #[arg(long)]
        env: Option<String>,
        /// Why the exception is acceptable (shown beside every result it waives).
        #[arg(long)]
        reason: String,
        /// Who answers for it, e.g. group:default/team-a.
        #[arg(long)]
        owner: String,
        /// Expiry: a date, YYYY-MM-DD (UTC, end of day), or days from today, e.g. 14d.
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
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Revoke a waiver (its id from `policy waivers`): the rule blocks again.
    #[command(after_help = "Example:\n  socle policy unwaive 01J9Z3K4")]
    Unwaive {
        /// The waiver id (see `socle policy waivers`).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List waivers.
    #[command(after_help = "Example:\n  socle policy waivers -o json")]
    Waivers {
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Guardrail evaluations recorded at deploy for an entity, newest first.
    #[command(after_help = "Example:\n  socle policy results component:default/shop --env prod")]
    Results {
        /// The entity, e.g. component:default/shop (or the workload name).
        entity: String,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

/// `--expires`: a date (YYYY-MM-DD) or a number of days from `today` (`14d`, at most 3650).
fn expiry_date(expires: &str, today: time::Date) -> anyhow::Result<time::Date> {
    if let Some(days) = expires
        .strip_suffix('d')
        .and_then(|d| d.parse::<u16>().ok())
    {
        anyhow::ensure!(
            (1..=3650).contains(&days),
            "--expires {expires}: between 1d and 3650d"
        );
        return today
            .checked_add(time::Duration::days(i64::from(days)))
            .context("--expires: the date is out of range");
    }
    time::Date::parse(
        expires,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("--expires {expires}: expected YYYY-MM-DD or a number of days (14d)"))
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
            let date = expiry_date(&expires, time::OffsetDateTime::now_utc().date())?;
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
            let store = store.open_to_read().await?;
            let entity = entity_arg(&entity)?;
            let list = store.policy_results(&entity, env.as_deref(), limit).await?;
            results(&list, output)
        }
        PolicyCmd::Eval {
            files,
            policy,
            data,
            namespace,
            combine,
            fail_on_warn,
            output,
        } => {
            let set = if policy.is_empty() && data.is_empty() {
                socle_policy::PolicySet::builtin(None)
            } else {
                let sources = Sources::read(&policy, &data, policy.is_empty())?;
                sources.load(&namespace)
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mode = EvalMode {
                combine,
                fail_on_warn,
                output,
            };
            eval(&set, &files, mode)
        }
        PolicyCmd::Test {
            dir,
            mut policy,
            data,
            output,
        } => {
            policy.extend(dir);
            test(&policy, &data, output)
        }
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
    Outcome::list(output, list, |l| {
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
    Outcome::list(output, list, |l| {
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

fn test(policy: &[PathBuf], data: &[PathBuf], output: Format) -> anyhow::Result<Outcome> {
    for p in policy.iter().chain(data) {
        super::must_exist(p)?;
    }
    let sources = Sources::read(policy, data, true)?;
    let set = sources.load("main").map_err(|e| anyhow::anyhow!("{e}"))?;
    let results = set
        .verify(&sources.policies)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let failed = results.iter().filter(|t| !t.passed).count();
    let report = serde_json::json!({
        "passed": results.len() - failed,
        "failed": failed,
        "tests": results,
    });
    Ok(Outcome::new(output, &report, |_| {
        let mut out = String::new();
        for t in &results {
            let status = if t.passed { "PASS" } else { "FAIL" };
            match &t.error {
                Some(e) => out.push_str(&format!("{status} {}: {}\n", t.name, e.trim())),
                None => out.push_str(&format!("{status} {}\n", t.name)),
            }
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

#[cfg(test)]
mod tests {
    use super::expiry_date;
    use time::macros::date;

    #[test]
    fn an_expiry_is_a_date_or_days_from_today() {
        let today = date!(2026 - 12 - 03);
        assert_eq!(expiry_date("14d", today).unwrap(), date!(2026 - 12 - 17));
        assert_eq!(
            expiry_date("2027-01-31", today).unwrap(),
            date!(2027 - 01 - 31)
        );
        assert!(expiry_date("0d", today).is_err());
        assert!(expiry_date("tomorrow", today).is_err());
    }
}
