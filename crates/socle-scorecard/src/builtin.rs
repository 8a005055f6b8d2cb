//! The built-in rule library: ready checks a scorecard names with `check: {builtin: NAME}` and
//! optional `params`. Each is Rego over the facts document (see the crate documentation for its
//! shape), with a default title, fix-it text and the facts it reads.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One library entry, as listed by [`library`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BuiltinInfo {
    pub name: &'static str,
    pub title: &'static str,
    pub fixit: &'static str,
    /// Parameters it takes, with their defaults, in words.
    pub params: &'static str,
}

/// A built-in check made concrete by its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expanded {
    pub title: String,
    pub fixit: String,
    pub facts: Vec<String>,
    /// Rego rules (no package line) defining `pass` and maybe `message`.
    pub rego: String,
}

const LIBRARY: &[BuiltinInfo] = &[
    info(
        "has-owner",
        "Has an owner",
        "Set spec.owner to the team that owns it.",
        "",
    ),
    info(
        "has-system",
        "Belongs to a system",
        "Set spec.system to the system it is part of.",
        "",
    ),
    info(
        "has-description",
        "Has a description",
        "Write metadata.description: one sentence on what it does.",
        "",
    ),
    info(
        "has-annotation",
        "Has an annotation",
        "Add the annotation to metadata.annotations.",
        "key (required)",
    ),
    info(
        "has-docs",
        "Has TechDocs",
        "Add a docs/ folder with mkdocs.yml and the annotation backstage.io/techdocs-ref: dir:. to its catalog entry.",
        "",
    ),
    info(
        "has-slo",
        "Has an SLO",
        "Write an SLO file (Sloth or OpenSLO) and point the annotation socle.dev/slo at it.",
        "",
    ),
    info(
        "has-readme",
        "Repository has a README",
        "Add a README.md at the root of the repository.",
        "",
    ),
    info(
        "has-codeowners",
        "Repository has CODEOWNERS",
        "Add a CODEOWNERS file (root, .github/ or docs/) naming the owning team.",
        "",
    ),
    info(
        "has-dockerfile",
        "Repository has a Dockerfile",
        "Add a Dockerfile at the root of the repository.",
        "",
    ),
    info(
        "has-renovate",
        "Dependencies are kept up to date (Renovate)",
        "Add a renovate.json (root or .github/) so that Renovate proposes dependency updates.",
        "",
    ),
    info(
        "has-ci-workflow",
        "Repository has a CI workflow",
        "Add a workflow under .github/workflows/ that builds and tests on every change.",
        "",
    ),
    info(
        "file-matches",
        "A repository file matches a pattern",
        "Change the file so that it matches the pattern.",
        "path (required), pattern (required, a regular expression)",
    ),
    info(
        "deployed-recently",
        "Deployed recently",
        "Deploy it: a service not deployed for weeks is a service nobody knows how to deploy.",
        "environment (default production), days (default 30)",
    ),
    info(
        "has-probes",
        "Deployed with health probes",
        "Give every container of the workload a livenessProbe and a readinessProbe.",
        "environment (default: every environment it is deployed to)",
    ),
    info(
        "has-resources",
        "Deployed with resource requests",
        "Give every container of the workload resources (requests: cpu and memory).",
        "environment (default: every environment it is deployed to)",
    ),
    info(
        "no-old-findings",
        "No old critical finding",
        "Fix or dismiss the scanner findings listed (socle findings list --entity REF).",
        "severity (default [critical]), days (default 7)",
    ),
    info(
        "guardrails-passing",
        "Guardrails pass",
        "Fix the guardrail violations of its last deploy (socle policy eval on its manifests).",
        "",
    ),
    info(
        "dora-deploy-frequency",
        "Deploys often",
        "Ship smaller changes more often; automate the deploy from the main branch.",
        "at_least (daily|weekly|monthly, default weekly)",
    ),
    info(
        "data-quality-passing",
        "Data quality checks pass",
        "Fix the failing checks of the data product's newest run (socle data test CONTRACT --record), and record a run at least weekly.",
        "min_pass_ratio (0 to 1, default 1), max_age_hours (newest run at most this old, default 168)",
    ),
    info(
        "data-fresh",
        "Data is fresh",
        "Load the data product on schedule: its newest data is older than the limit (its contract's freshness check measures it).",
        "max_hours (default 24)",
    ),
];

const fn info(
    name: &'static str,
    title: &'static str,
    fixit: &'static str,
    params: &'static str,
) -> BuiltinInfo {
    BuiltinInfo {
        name,
        title,
        fixit,
        params,
    }
}

/// Every built-in check.
pub fn library() -> &'static [BuiltinInfo] {
    LIBRARY
}

/// A Rego literal of a JSON value (JSON strings, numbers and arrays are Rego terms).
fn lit(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn params<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    let v = if v.is_null() {
        Value::Object(Default::default())
    } else {
        v.clone()
    };
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Env {
    /// None: any environment it is deployed to.
    #[serde(default)]
    environment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recent {
    #[serde(default = "production")]
    environment: String,
    #[serde(default = "thirty")]
    days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Findings {
    #[serde(default = "critical")]
    severity: Vec<String>,
    #[serde(default = "seven")]
    days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Matches {
    path: String,
    pattern: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QualityParams {
    #[serde(default = "one")]
    min_pass_ratio: f64,
    #[serde(default = "week_hours")]
    max_age_hours: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Freshness {
    #[serde(default = "day_hours")]
    max_hours: f64,
}

fn one() -> f64 {
    1.0
}
fn week_hours() -> f64 {
    168.0
}
fn day_hours() -> f64 {
    24.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Frequency {
    #[serde(default = "weekly")]
    at_least: FrequencyBucket,
}

#[derive(Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum FrequencyBucket {
    Daily,
    Weekly,
    Monthly,
}

fn production() -> String {
    "production".into()
}
fn thirty() -> u32 {
    30
}
fn seven() -> u32 {
    7
}
fn critical() -> Vec<String> {
    vec!["critical".into()]
}
fn weekly() -> FrequencyBucket {
    FrequencyBucket::Weekly
}

/// The key of a `file-matches` probe in `repository.matches`: what the facts collector computes.
pub fn probe_key(path: &str, pattern: &str) -> String {
    format!("{path}::{pattern}")
}

/// A `file-matches` probe a scorecard asks the facts collector for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentProbe {
    pub path: String,
    pub pattern: String,
}

/// The content probe a builtin check needs, if it is a valid `file-matches`.
pub fn probe_of(name: &str, p: &Value) -> Option<ContentProbe> {
    (name == "file-matches")
        .then(|| params::<Matches>(p).ok())
        .flatten()
        .map(|m| ContentProbe {
            path: m.path,
            pattern: m.pattern,
        })
}

fn simple(name: &str, facts: &[&str], rego: String) -> Expanded {
    let info = LIBRARY.iter().find(|i| i.name == name).expect("listed");
    Expanded {
        title: info.title.into(),
        fixit: info.fixit.into(),
        facts: facts.iter().map(|f| (*f).to_owned()).collect(),
        rego,
    }
}

fn present(name: &str, key: &str) -> Expanded {
    simple(
        name,
        &[&format!("repository.present.{key}")],
        format!("pass if input.repository.present.{key} == true\n"),
    )
}

/// Expands a built-in check with its parameters, or says why it cannot.
pub fn expand(name: &str, p: &Value) -> Result<Expanded, String> {
    let text_field = |path: &str| {
        format!(
            "pass if {{\n  v := object.get(input, {}, null)\n  is_string(v)\n  trim_space(v) != \"\"\n}}\n",
            lit(&path.split('.').collect::<Vec<_>>())
        )
    };
    Ok(match name {
        "has-owner" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["entity.spec.owner"],
                text_field("entity.spec.owner"),
            )
        }
        "has-system" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["entity.spec.system"],
                text_field("entity.spec.system"),
            )
        }
        "has-description" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["entity.metadata.description"],
                text_field("entity.metadata.description"),
            )
        }
        "has-annotation" => {
            let k: Key = params(p)?;
            let mut e = simple(
                name,
                &["entity.metadata.annotations"],
                format!(
                    "pass if {{\n  v := object.get(input, [\"entity\", \"metadata\", \"annotations\", {}], null)\n  is_string(v)\n  v != \"\"\n}}\n",
                    lit(&k.key)
                ),
            );
            e.title = format!("Has the annotation {}", k.key);
            e.fixit = format!("Add the annotation {} to metadata.annotations.", k.key);
            e
        }
        "has-docs" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["docs.techdocs"],
                "pass if input.docs.techdocs == true\n".into(),
            )
        }
        "has-slo" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["slos.declared"],
                "pass if input.slos.declared == true\n".into(),
            )
        }
        "has-readme" => no_params(p, || present(name, "readme"))?,
        "has-codeowners" => no_params(p, || present(name, "codeowners"))?,
        "has-dockerfile" => no_params(p, || present(name, "dockerfile"))?,
        "has-renovate" => no_params(p, || present(name, "renovate"))?,
        "has-ci-workflow" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["repository.workflows"],
                "pass if count(input.repository.workflows) > 0\n".into(),
            )
        }
        "file-matches" => {
            let m: Matches = params(p)?;
            if m.pattern.len() > 1024 || m.path.len() > 1024 {
                return Err("path and pattern are at most 1,024 bytes".into());
            }
            let key = probe_key(&m.path, &m.pattern);
            let mut e = simple(
                name,
                &["repository.matches"],
                format!("pass if input.repository.matches[{}] == true\n", lit(&key)),
            );
            e.title = format!("{} matches {}", m.path, m.pattern);
            e.fixit = format!("Change {} so that it matches {}.", m.path, m.pattern);
            e
        }
        "deployed-recently" => {
            let r: Recent = params(p)?;
            let mut e = simple(
                name,
                &[&format!("deployments.{}", r.environment)],
                format!(
                    "pass if {{\n  d := input.deployments[{env}]\n  input.now - d.at <= {secs}\n}}\nmessage := sprintf(\"no deploy to %s in the last %d days\", [{env}, {days}])\n",
                    env = lit(&r.environment),
                    secs = u64::from(r.days) * 86_400,
                    days = r.days
                ),
            );
            e.title = format!("Deployed to {} in the last {} days", r.environment, r.days);
            e
        }
        "has-probes" | "has-resources" => {
            let env: Env = params(p)?;
            let field = name.trim_start_matches("has-");
            match env.environment {
                Some(env) => simple(
                    name,
                    &[&format!("deployments.{env}.{field}")],
                    format!("pass if input.deployments[{}].{field} == true\n", lit(&env)),
                ),
                None => simple(
                    name,
                    &["deployments"],
                    format!(
                        "pass if {{\n  count(object.get(input, \"deployments\", {{}})) > 0\n  every _, d in input.deployments {{ d.{field} == true }}\n}}\n"
                    ),
                ),
            }
        }
        "no-old-findings" => {
            let f: Findings = params(p)?;
            let sev: Vec<String> = f.severity.iter().map(|s| s.to_ascii_lowercase()).collect();
            let mut e = simple(
                name,
                &["findings.open"],
                format!(
                    "old contains sprintf(\"%s: %s\", [f.tool, f.rule]) if {{\n  some f in object.get(input, [\"findings\", \"open\"], [])\n  lower(f.severity) in {sev}\n  input.now - f.first_seen > {secs}\n}}\npass if count(old) == 0\nmessage := sprintf(\"open for more than %d days: %s\", [{days}, concat(\", \", sort(old))]) if count(old) > 0\n",
                    sev = lit(&sev),
                    secs = u64::from(f.days) * 86_400,
                    days = f.days
                ),
            );
            e.title = format!(
                "No open {} finding older than {} days",
                sev.join("/"),
                f.days
            );
            e
        }
        "guardrails-passing" => {
            params::<NoParams>(p)?;
            simple(
                name,
                &["guardrails"],
                "pass if {\n  input.guardrails.evaluated == true\n  input.guardrails.failures == 0\n}\n".into(),
            )
        }
        "dora-deploy-frequency" => {
            let f: Frequency = params(p)?;
            let allowed: Vec<&str> = [
                (FrequencyBucket::Daily, "daily"),
                (FrequencyBucket::Weekly, "weekly"),
                (FrequencyBucket::Monthly, "monthly"),
            ]
            .iter()
            .filter(|(b, _)| *b <= f.at_least)
            .map(|(_, n)| *n)
            .collect();
            let mut e = simple(
                name,
                &["dora.deployment_frequency"],
                format!(
                    "pass if input.dora.deployment_frequency.bucket in {}\n",
                    lit(&allowed)
                ),
            );
            e.title = format!(
                "Deploys to production at least {}",
                allowed.last().unwrap_or(&"weekly")
            );
            e
        }
        "data-quality-passing" => {
            let q: QualityParams = params(p)?;
            if !(0.0..=1.0).contains(&q.min_pass_ratio)
                || !q.max_age_hours.is_finite()
                || q.max_age_hours < 0.0
            {
                return Err("min_pass_ratio is between 0 and 1, max_age_hours at least 0".into());
            }
            let mut e = simple(
                name,
                &["data.quality"],
                format!(
                    "q := object.get(input, [\"data\", \"quality\"], {{}})\n\
                     pass if {{\n  q.recorded == true\n  q.pass_ratio >= {min}\n  q.age_hours <= {age}\n}}\n\
                     message := \"no quality run recorded\" if not q.recorded\n\
                     message := sprintf(\"%d of its checks failed or erred\", [q.failed + q.error]) if {{\n  q.recorded == true\n  q.pass_ratio < {min}\n}}\n\
                     message := sprintf(\"its newest quality run is %v hours old\", [round(q.age_hours)]) if {{\n  q.recorded == true\n  q.pass_ratio >= {min}\n  q.age_hours > {age}\n}}\n",
                    min = lit(&q.min_pass_ratio),
                    age = lit(&q.max_age_hours),
                ),
            );
            if q.min_pass_ratio < 1.0 {
                e.title = format!(
                    "At least {}% of its data quality checks pass",
                    q.min_pass_ratio * 100.0
                );
            }
            e
        }
        "data-fresh" => {
            let f: Freshness = params(p)?;
            if !f.max_hours.is_finite() || f.max_hours < 0.0 {
                return Err("max_hours is at least 0".into());
            }
            let mut e = simple(
                name,
                &["data.freshness"],
                format!(
                    "f := object.get(input, [\"data\", \"freshness\"], {{}})\n\
                     pass if {{\n  f.measured == true\n  f.age_hours <= {max}\n}}\n\
                     message := \"no freshness measured (its contract needs a freshness check, and a recorded run)\" if not f.measured\n\
                     message := sprintf(\"its newest data is %v hours old\", [round(f.age_hours * 10) / 10]) if {{\n  f.measured == true\n  f.age_hours > {max}\n}}\n",
                    max = lit(&f.max_hours),
                ),
            );
            e.title = format!("Its newest data is under {} hours old", f.max_hours);
            e
        }
        other => {
            let names: Vec<&str> = LIBRARY.iter().map(|i| i.name).collect();
            return Err(format!(
                "unknown built-in check {other:?}; the library has: {}",
                names.join(", ")
            ));
        }
    })
}

fn no_params(p: &Value, f: impl FnOnce() -> Expanded) -> Result<Expanded, String> {
    params::<NoParams>(p)?;
    Ok(f())
}
