//! conftest's output formats for a list of [`CheckResult`]s: `json`, `table`, `tap`, `junit`,
//! `github` (Actions workflow commands) and `sarif` (2.1.0). Pure text; the caller prints it.

use serde_json::{Value, json};

use crate::{CheckResult, Message};

/// The summary conftest prints last: `5 tests, 4 passed, 1 warning, 0 failures, 0 exceptions`.
pub fn summary(results: &[CheckResult]) -> String {
    let sum = |f: fn(&CheckResult) -> usize| results.iter().map(f).sum::<usize>();
    let (tests, passed) = (sum(CheckResult::tests), sum(|r| r.successes));
    let (warnings, failures, exceptions) = (
        sum(|r| r.warnings.len()),
        sum(|r| r.failures.len()),
        sum(|r| r.exceptions.len()),
    );
    format!(
        "{tests} {}, {passed} passed, {warnings} {}, {failures} {}, {exceptions} {}",
        plural("test", tests),
        plural("warning", warnings),
        plural("failure", failures),
        plural("exception", exceptions)
    )
}

fn plural(word: &str, n: usize) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// `-o json`: `[{filename, namespace, successes, warnings, failures, exceptions}]`.
pub fn json(results: &[CheckResult]) -> String {
    serde_json::to_string_pretty(results).unwrap_or_default() + "\n"
}

/// `-o table`: one row per result (successes, exceptions, warnings, failures).
pub fn table(results: &[CheckResult]) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    for r in results {
        let row = |kind: &str, msg: &str| {
            [
                kind.to_owned(),
                r.filename.clone(),
                r.namespace.clone(),
                msg.to_owned(),
            ]
        };
        rows.extend((0..r.successes).map(|_| row("success", "SUCCESS")));
        rows.extend(r.exceptions.iter().map(|m| row("exception", &m.msg)));
        rows.extend(r.warnings.iter().map(|m| row("warning", &m.msg)));
        rows.extend(r.failures.iter().map(|m| row("failure", &m.msg)));
    }
    if rows.is_empty() {
        return String::new();
    }
    let header = ["RESULT", "FILE", "NAMESPACE", "MESSAGE"].map(str::to_owned);
    let mut widths = [0usize; 4];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule: String = widths
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let line = |r: &[String; 4]| -> String {
        r.iter()
            .zip(widths)
            .map(|(c, w)| format!("| {c:<w$} "))
            .collect::<String>()
            + "|\n"
    };
    let mut out = rule.clone() + &line(&header) + &rule;
    for r in &rows {
        out.push_str(&line(r));
    }
    out + &rule
}

/// `-o tap`: a plan and `ok`/`not ok` lines per input.
pub fn tap(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| r.tests() > 0) {
        let mut n = 0;
        let mut line = |ok: bool, msg: &str| {
            n += 1;
            let status = if ok { "ok" } else { "not ok" };
            format!("{status} {n} - {} - {} - {msg}\n", r.filename, r.namespace)
        };
        out.push_str(&format!("1..{}\n", r.tests()));
        for m in &r.failures {
            out.push_str(&line(false, &m.msg));
        }
        for (title, list, ok) in [
            ("warnings", &r.warnings, false),
            ("exceptions", &r.exceptions, true),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("# {title}\n"));
                for m in list {
                    out.push_str(&line(ok, &m.msg));
                }
            }
        }
        if r.successes > 0 {
            out.push_str("# successes\n");
            for _ in 0..r.successes {
                out.push_str(&line(true, "SUCCESS"));
            }
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&apos;".into(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => String::new(),
            c => c.to_string(),
        })
        .collect()
}

/// `-o junit`: one `<testsuite name="conftest.NAMESPACE">` per namespace; warnings and failures
/// are failed test cases, each success a passed one (as go-junit-report writes them).
pub fn junit(results: &[CheckResult]) -> String {
    let mut suites: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut failed: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in results {
        let ns = r.namespace.as_str();
        let name = |m: &str| match m.lines().next() {
            Some(first) if !first.is_empty() => format!("{} - {first}", r.filename),
            _ => r.filename.clone(),
        };
        let cases = suites.entry(ns).or_default();
        for m in r.warnings.iter().chain(&r.failures) {
            *failed.entry(ns).or_default() += 1;
            cases.push(format!(
                "\t\t<testcase classname=\"conftest.{ns}\" name=\"{}\" time=\"0.000\">\n\t\t\t<failure message=\"Failed\" type=\"\">{}</failure>\n\t\t</testcase>\n",
                xml_escape(&name(&m.msg)),
                xml_escape(&m.msg)
            ));
        }
        for _ in 0..r.successes {
            cases.push(format!(
                "\t\t<testcase classname=\"conftest.{ns}\" name=\"{}\" time=\"0.000\"></testcase>\n",
                xml_escape(&r.filename)
            ));
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (ns, cases) in &suites {
        out.push_str(&format!(
            "\t<testsuite tests=\"{}\" failures=\"{}\" time=\"0.000\" name=\"conftest.{}\">\n",
            cases.len(),
            failed.get(ns).copied().unwrap_or(0),
            xml_escape(ns)
        ));
        out.extend(cases.iter().cloned());
        out.push_str("\t</testsuite>\n");
    }
    out + "</testsuites>\n"
}

/// A workflow command's property value, escaped as GitHub Actions reads it.
fn gh_property(v: &str) -> String {
    v.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// A workflow command's message, escaped.
fn gh_message(v: &str) -> String {
    v.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `-o github`: a group per input with `::error`/`::warning`/`::notice` annotations on the
/// file, then the summary.
pub fn github(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for r in results {
        let file = gh_property(&r.filename);
        let annotate =
            |level: &str, msg: &str| format!("::{level} file={file},line=1::{}\n", gh_message(msg));
        out.push_str(&format!(
            "::group::Testing {:?} against {} policies in namespace {:?}\n",
            r.filename,
            r.tests(),
            r.namespace
        ));
        for (level, list) in [
            ("error", &r.failures),
            ("warning", &r.warnings),
            ("notice", &r.exceptions),
        ] {
            for m in list {
                out.push_str(&annotate(level, &m.msg));
            }
        }
        out.push_str(&annotate(
            "notice",
            &format!("Number of successful checks: {}", r.successes),
        ));
        out.push_str("::endgroup::\n");
    }
    out + &summary(results) + "\n"
}

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// `-o sarif`: a SARIF 2.1.0 log with one run; rules `NAMESPACE/deny|warn|allow|success|skip`.
pub fn sarif(results: &[CheckResult], tool_version: &str) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    let mut add = |r: &CheckResult, kind: &str, level: &str, m: &Message| {
        let id = format!("{}/{kind}", r.namespace);
        let index = match rules.iter().position(|x| x["id"] == id.as_str()) {
            Some(i) => i,
            None => {
                let desc = match kind {
                    "success" => "Policy was satisfied successfully",
                    "skip" => "Policy check was skipped",
                    "allow" => "Policy exception",
                    "warn" => "Policy warning",
                    _ => "Policy violation",
                };
                rules.push(json!({
                    "id": id,
                    "shortDescription": {"text": desc},
                    "fullDescription": {"text": desc},
                }));
                rules.len() - 1
            }
        };
        out.push(json!({
            "ruleId": id,
            "ruleIndex": index,
            "level": level,
            "message": {"text": m.msg},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": r.filename.replace('\\', "/")}}}],
        }));
    };
    for r in results {
        r.failures.iter().for_each(|m| add(r, "deny", "error", m));
        r.warnings.iter().for_each(|m| add(r, "warn", "warning", m));
        r.exceptions.iter().for_each(|m| add(r, "allow", "note", m));
        if r.failures.is_empty() && r.warnings.is_empty() {
            let (kind, text) = if r.successes > 0 || !r.exceptions.is_empty() {
                ("success", "Policy was satisfied successfully")
            } else {
                ("skip", "Policy check was skipped")
            };
            let m = Message {
                msg: text.to_owned(),
                metadata: Default::default(),
            };
            add(r, kind, "none", &m);
        }
    }
    let failed = results.iter().any(|r| !r.failures.is_empty());
    let warned = results.iter().any(|r| !r.warnings.is_empty());
    let log = json!({
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{
            "tool": {"driver": {
                "name": "socle",
                "version": tool_version,
                "informationUri": "https://github.com/open-policy-agent/conftest",
                "rules": rules,
            }},
            "results": out,
            "invocations": [{
                "executionSuccessful": true,
                "exitCode": i32::from(failed),
                "exitCodeDescription": if failed {
                    "Policy violations found"
                } else if warned {
                    "Policy warnings found"
                } else {
                    "No policy violations found"
                },
            }],
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default() + "\n"
}
