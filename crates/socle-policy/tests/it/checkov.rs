//! Socle's built-in guardrails side by side with Checkov, on the hand-made corpus of
//! `conformance/checkov/manifests/`: per file, per object and per Checkov id, every rule that
//! carries a Checkov id fails exactly where that check of Checkov fails, but for the reviewed
//! differences of `exceptions.yaml`; where Checkov names the first failing container, Socle
//! names it too.
//!
//! `expected.json` is Checkov's verdict on the corpus, generated from its JSON output, so a fresh
//! clone checks Socle without Checkov. With `SOCLE_REQUIRE_CHECKOV=1` (CI sets it) Checkov (PyPI
//! `checkov`, or the command in `SOCLE_CHECKOV`) runs on the corpus too: its live verdict must
//! equal `expected.json` and agree with Socle. `SOCLE_BLESS=1` rewrites `expected.json` from
//! the live run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_policy::{Finding, PolicySet};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/checkov")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Passed,
    Failed,
}

impl Outcome {
    fn of(failed: bool) -> Self {
        if failed { Self::Failed } else { Self::Passed }
    }
}

/// A check on one object of one file: Checkov ids on `Kind/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    file: String,
    object: String,
    check: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.file, self.object, self.check)
    }
}

/// One result of Checkov.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    file: String,
    /// `Kind/name`.
    object: String,
    check: String,
    result: Outcome,
    /// For a failed container check, the first failing container as Checkov reports it
    /// (`spec.template.spec.containers[1]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
}

impl Verdict {
    fn key(&self) -> Key {
        Key {
            file: self.file.clone(),
            object: self.object.clone(),
            check: self.check.clone(),
        }
    }
}

/// `expected.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    checkov_version: String,
    /// The Checkov ids the built-in pack carries, which Checkov was asked to run.
    checks: Vec<String>,
    results: Vec<Verdict>,
}

/// A reviewed difference: on `object` of `file`, Socle's and Checkov's outcomes for `checks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exception {
    file: String,
    object: String,
    checks: Vec<String>,
    socle: Outcome,
    checkov: Outcome,
    reason: String,
}

/// The Checkov ids the built-in pack carries (`rules.json`), in Checkov's numeric order.
fn carried_checks() -> Vec<String> {
    let meta: BTreeMap<String, Value> = serde_json::from_str(
        socle_policy::BUILTIN
            .get_file("rules.json")
            .and_then(|f| f.contents_utf8())
            .unwrap(),
    )
    .unwrap();
    let ids: BTreeSet<String> = meta
        .values()
        .flat_map(|m| m["checkov"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort_by_key(|id| (id.len(), id.clone()));
    ids
}

/// The corpus's manifests, sorted: `(file name, documents)`.
fn manifests() -> Vec<(String, Vec<Value>)> {
    let dir = corpus().join("manifests");
    let mut out: Vec<(String, Vec<Value>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let docs =
                socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default())
                    .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()))
                    .iter()
                    .map(|d| d.to_json())
                    .collect();
            (p.file_name().unwrap().to_string_lossy().into_owned(), docs)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Socle's findings on the corpus that carry a Checkov id, by file, object and id.
fn socle_results(files: &[(String, Vec<Value>)]) -> BTreeMap<Key, Vec<Finding>> {
    let pack = PolicySet::builtin(None).unwrap();
    let mut out: BTreeMap<Key, Vec<Finding>> = BTreeMap::new();
    for (file, docs) in files {
        for (i, doc) in docs.iter().enumerate() {
            for f in pack.eval(doc, file, i).unwrap() {
                for check in &f.checkov {
                    let key = Key {
                        file: file.clone(),
                        object: f
                            .object
                            .clone()
                            .expect("built-in findings name their object"),
                        check: check.clone(),
                    };
                    out.entry(key).or_default().push(f.clone());
                }
            }
        }
    }
    out
}

fn expected() -> Expected {
    let path = corpus().join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn exceptions() -> Vec<Exception> {
    let text = std::fs::read_to_string(corpus().join("exceptions.yaml")).unwrap();
    let docs =
        socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default()).unwrap();
    assert_eq!(docs.len(), 1, "exceptions.yaml is one YAML list");
    serde_json::from_value(docs[0].to_json()).unwrap()
}

/// Whether a Socle finding's path lies in the container Checkov names.
fn in_container(finding: &Finding, container: &str) -> bool {
    finding.path.as_deref().is_some_and(|p| {
        p.strip_prefix(container)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// Every difference between Checkov's verdicts and Socle's findings that no exception covers,
/// and every exception that covers no difference.
fn differences(
    verdicts: &[Verdict],
    socle: &BTreeMap<Key, Vec<Finding>>,
    exceptions: &[Exception],
) -> Vec<String> {
    let checkov_failed: BTreeMap<Key, &Verdict> = verdicts
        .iter()
        .filter(|v| v.result == Outcome::Failed)
        .map(|v| (v.key(), v))
        .collect();
    let keys: BTreeSet<&Key> = checkov_failed.keys().chain(socle.keys()).collect();
    let mut used = vec![false; exceptions.len()];
    let mut problems = Vec::new();
    for key in keys {
        let findings = socle.get(key);
        let (socle_outcome, checkov_outcome) = (
            Outcome::of(findings.is_some()),
            Outcome::of(checkov_failed.contains_key(key)),
        );
        if socle_outcome != checkov_outcome {
            let covering = exceptions.iter().position(|e| {
                e.file == key.file
                    && e.object == key.object
                    && e.checks.contains(&key.check)
                    && e.socle == socle_outcome
                    && e.checkov == checkov_outcome
            });
            match covering {
                Some(i) => used[i] = true,
                None => problems.push(format!(
                    "{key}: Socle {socle_outcome:?}, Checkov {checkov_outcome:?}{}",
                    findings
                        .map(|f| format!(" ({})", f[0].message))
                        .unwrap_or_default()
                )),
            }
            continue;
        }
        // Both fail: the container Checkov names first is among Socle's.
        if let (Some(findings), Some(container)) = (
            findings,
            checkov_failed.get(key).and_then(|v| v.container.as_deref()),
        ) && !findings.iter().any(|f| in_container(f, container))
        {
            problems.push(format!(
                "{key}: Checkov fails {container}, Socle only {:?}",
                findings.iter().map(|f| &f.path).collect::<Vec<_>>()
            ));
        }
    }
    for (e, used) in exceptions.iter().zip(used) {
        if !used {
            problems.push(format!(
                "exceptions.yaml: {} {} {:?} (Socle {:?}, Checkov {:?}) matches no difference any more: remove it",
                e.file, e.object, e.checks, e.socle, e.checkov
            ));
        }
    }
    problems
}

#[test]
fn socle_fails_exactly_where_checkov_does_on_the_corpus() {
    let files = manifests();
    let expected = expected();
    let problems = differences(&expected.results, &socle_results(&files), &exceptions());
    assert!(
        problems.is_empty(),
        "Socle and Checkov {} differ:\n{}",
        expected.checkov_version,
        problems.join("\n")
    );
}

#[test]
fn the_expectations_cover_the_checkov_ids_socle_carries_on_every_file() {
    let expected = expected();
    assert_eq!(expected.checks, carried_checks(), "re-bless expected.json");
    let files: BTreeSet<String> = manifests().into_iter().map(|(f, _)| f).collect();
    let judged: BTreeSet<String> = expected.results.iter().map(|v| v.file.clone()).collect();
    // Every file but the one without workloads has verdicts, and none names a file that is gone.
    assert_eq!(
        files.difference(&judged).collect::<Vec<_>>(),
        ["non-workloads.yaml"]
    );
    assert!(judged.is_subset(&files), "{:?}", judged.difference(&files));
    // Each id fails somewhere and passes somewhere.
    for check in &expected.checks {
        for outcome in [Outcome::Passed, Outcome::Failed] {
            assert!(
                expected
                    .results
                    .iter()
                    .any(|v| &v.check == check && v.result == outcome),
                "no {outcome:?} {check} in the corpus"
            );
        }
    }
    let keys: Vec<Key> = expected.results.iter().map(Verdict::key).collect();
    let unique: BTreeSet<&Key> = keys.iter().collect();
    assert_eq!(
        unique.len(),
        keys.len(),
        "one verdict per file, object and check"
    );
}

/// Kinds, container lists and shapes the corpus must hold.
#[test]
fn the_corpus_has_every_workload_kind_container_list_and_multi_document_files() {
    let files = manifests();
    assert!(files.len() >= 60, "{} manifests", files.len());
    let docs: Vec<&Value> = files.iter().flat_map(|(_, d)| d).collect();
    let kinds: BTreeSet<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for kind in [
        "Pod",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "ReplicaSet",
        "ReplicationController",
        "PodTemplate",
        "DeploymentConfig",
    ] {
        assert!(kinds.contains(kind), "no {kind}");
    }
    assert!(
        files.iter().filter(|(_, d)| d.len() > 1).count() >= 5,
        "multi-document files"
    );
    let pod_specs: Vec<&Value> = docs
        .iter()
        .filter_map(|d| {
            [
                "/spec/template/spec",
                "/spec/jobTemplate/spec/template/spec",
                "/template/spec",
            ]
            .iter()
            .find_map(|p| d.pointer(p))
            .or_else(|| (d["kind"] == "Pod").then(|| &d["spec"]))
        })
        .collect();
    let with = |list: &str| {
        pod_specs
            .iter()
            .filter(|s| s[list].as_array().is_some_and(|a| !a.is_empty()))
            .count()
    };
    let several = pod_specs
        .iter()
        .filter(|s| s["containers"].as_array().is_some_and(|a| a.len() > 1))
        .count();
    assert!(several >= 40, "{several} pods with several containers");
    assert!(with("initContainers") >= 10, "init containers");
    assert!(with("ephemeralContainers") >= 2, "ephemeral containers");
}

/// A finding about one container names it: the `container` field, the message and the path agree
/// with the manifest.
#[test]
fn container_findings_name_their_container() {
    let files = manifests();
    let pack = PolicySet::builtin(None).unwrap();
    let mut seen = 0;
    for (file, docs) in &files {
        for (i, doc) in docs.iter().enumerate() {
            for f in pack.eval(doc, file, i).unwrap() {
                let Some(name) = &f.container else {
                    continue;
                };
                seen += 1;
                let path = f.path.as_deref().unwrap();
                let end = path.find(']').unwrap_or_else(|| panic!("{file}: {path}"));
                let pointer = format!("/{}", path[..end].replace(['.', '['], "/"));
                let container = doc
                    .pointer(&pointer)
                    .unwrap_or_else(|| panic!("{file}: {path}"));
                assert_eq!(
                    container["name"].as_str(),
                    Some(name.as_str()),
                    "{file}: {path}"
                );
                assert!(
                    f.message.contains(&format!("container {name:?}")),
                    "{file}: {}",
                    f.message
                );
            }
        }
    }
    assert!(seen > 100, "{seen} container findings");
}

#[test]
fn every_exception_says_why() {
    let exceptions = exceptions();
    assert!(!exceptions.is_empty());
    let checks = carried_checks();
    for e in &exceptions {
        assert!(
            e.reason.trim().len() > 40,
            "{} {}: give a reason",
            e.file,
            e.object
        );
        assert!(!e.checks.is_empty());
        assert!(
            e.checks.iter().all(|c| checks.contains(c)),
            "{:?}",
            e.checks
        );
        assert_ne!(e.socle, e.checkov, "{} {}", e.file, e.object);
    }
}

// --- Checkov itself ------------------------------------------------------------------------------

/// Checkov's verdicts on the corpus and its version, or why it could not run.
fn run_checkov(checks: &[String]) -> Result<(String, Vec<Verdict>), String> {
    let program = std::env::var("SOCLE_CHECKOV").unwrap_or_else(|_| "checkov".into());
    let output = Command::new(&program)
        .current_dir(corpus().join("manifests"))
        .args(["-d", ".", "--framework", "kubernetes", "-o", "json"])
        .args([
            "--skip-download",
            "--soft-fail",
            "--check",
            &checks.join(","),
        ])
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("{program} did not print JSON: {e}"))?;
    // One framework gives one report; several, a list of them.
    let report = match report {
        Value::Array(list) => list
            .into_iter()
            .find(|r| r["check_type"] == "kubernetes")
            .ok_or("no kubernetes report")?,
        r => r,
    };
    let version = report["summary"]["checkov_version"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    let mut verdicts = Vec::new();
    for (list, result) in [
        ("passed_checks", Outcome::Passed),
        ("failed_checks", Outcome::Failed),
    ] {
        for r in report["results"][list].as_array().into_iter().flatten() {
            verdicts.push(verdict(r, result)?);
        }
    }
    verdicts.sort();
    Ok((version, verdicts))
}

/// One entry of Checkov's report: `file_path` `/x.yaml`, `resource` `Kind.namespace.name`,
/// `check_result.evaluated_keys` `spec/template/spec/containers/[1]/livenessProbe`.
fn verdict(r: &Value, result: Outcome) -> Result<Verdict, String> {
    let text = |k: &str| r[k].as_str().ok_or_else(|| format!("no {k} in {r}"));
    let resource = text("resource")?;
    let mut parts = resource.splitn(3, '.');
    let (Some(kind), Some(_namespace), Some(name)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("resource {resource}"));
    };
    let container = (result == Outcome::Failed)
        .then(|| {
            r["check_result"]["evaluated_keys"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find_map(container_of)
        })
        .flatten();
    Ok(Verdict {
        file: text("file_path")?.trim_start_matches('/').to_owned(),
        object: format!("{kind}/{name}"),
        check: text("check_id")?.to_owned(),
        result,
        container,
    })
}

/// `spec/template/spec/initContainers/[0]/image` → `spec.template.spec.initContainers[0]`.
fn container_of(key: &str) -> Option<String> {
    let end = key.find(']')?;
    let prefix = &key[..=end];
    prefix
        .contains("ontainers/[")
        .then(|| prefix.replace("/[", "[").replace('/', "."))
}

/// `expected.json`: the header, then one verdict a line.
fn render_expected(version: &str, checks: &[String], verdicts: &[Verdict]) -> String {
    let lines: Vec<String> = verdicts
        .iter()
        .map(|v| format!("    {}", serde_json::to_string(v).unwrap()))
        .collect();
    format!(
        "{{\n  \"checkov_version\": {},\n  \"checks\": {},\n  \"results\": [\n{}\n  ]\n}}\n",
        serde_json::to_string(version).unwrap(),
        serde_json::to_string(checks).unwrap(),
        lines.join(",\n")
    )
}

#[test]
fn live_checkov_agrees_with_the_expectations_and_with_socle() {
    if std::env::var_os("SOCLE_REQUIRE_CHECKOV").is_none()
        && std::env::var_os("SOCLE_BLESS").is_none()
    {
        eprintln!("Checkov not run: SOCLE_REQUIRE_CHECKOV=1 (CI) or SOCLE_BLESS=1 runs it");
        return;
    }
    let checks = carried_checks();
    let (version, live) = run_checkov(&checks).unwrap_or_else(|e| panic!("Checkov: {e}"));
    let bless = std::env::var_os("SOCLE_BLESS").is_some();
    let path = corpus().join("expected.json");
    let rendered = render_expected(&version, &checks, &live);
    if bless {
        std::fs::write(&path, &rendered).unwrap();
    }
    let files = manifests();
    let problems = differences(&live, &socle_results(&files), &exceptions());
    assert!(
        problems.is_empty(),
        "Socle and Checkov {version} (live) differ:\n{}",
        problems.join("\n")
    );
    let expected = expected();
    let stale: Vec<String> = live
        .iter()
        .filter(|v| !expected.results.contains(v))
        .map(|v| format!("live, not expected: {v:?}"))
        .chain(
            expected
                .results
                .iter()
                .filter(|v| !live.contains(v))
                .map(|v| format!("expected, not live: {v:?}")),
        )
        .collect();
    assert!(
        stale.is_empty(),
        "expected.json ({}) no longer matches Checkov {version}; re-bless with SOCLE_BLESS=1:\n{}",
        expected.checkov_version,
        stale.join("\n")
    );
}
