//! A test run as JUnit XML, the report CI systems show: one test suite per contract and
//! server, one test case per check (failed and error checks as such, warnings as passed cases
//! with their reason in `system-out`, not-run checks as skipped).

use super::evaluate::CheckResult;
use super::threshold::Verdict;

/// XML text or attribute content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The report of `results` for the contract `name` on `server`, lasting `seconds`.
pub fn render(name: &str, server: &str, results: &[CheckResult], seconds: f64) -> String {
    let count = |v: Verdict| results.iter().filter(|r| r.result == v).count();
    let skipped = results
        .iter()
        .filter(|r| r.metric == "unsupported" && r.result == Verdict::Warning)
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">\n",
        escape(&format!("{name} ({server})")),
        results.len(),
        count(Verdict::Failed),
        count(Verdict::Error),
    ));
    for r in results {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&r.table),
            escape(&format!("{} [{}]", r.name, r.key))
        ));
        let reason = escape(r.reason.as_deref().unwrap_or_default());
        match r.result {
            Verdict::Passed => out.push_str("/>\n"),
            Verdict::Failed => out.push_str(&format!(
                ">\n      <failure message=\"{reason}\" type=\"{}\"/>\n    </testcase>\n",
                escape(&r.check_type)
            )),
            Verdict::Error => out.push_str(&format!(
                ">\n      <error message=\"{reason}\" type=\"{}\"/>\n    </testcase>\n",
                escape(&r.check_type)
            )),
            Verdict::Warning if r.metric == "unsupported" => out.push_str(&format!(
                ">\n      <skipped message=\"{reason}\"/>\n    </testcase>\n"
            )),
            Verdict::Warning => out.push_str(&format!(
                ">\n      <system-out>warning: {reason}</system-out>\n    </testcase>\n"
            )),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
