//! The bulk reading (interned columns on several threads, `Bulk::dataset`) gives exactly what
//! `parse_jsonl` + `Dataset::build` give: the same index, errors and warnings, on generated
//! histories with several sources, re-deliveries (identical and newer versions), parents,
//! ambiguous causes, offsets and milliseconds, escapes, unknown fields and malformed lines.

use proptest::prelude::*;
use socle_dora::{Bulk, Dataset, Options, Window, parse_jsonl};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;

/// RFC 3339 at an offset, with milliseconds most of the time.
fn ts(rng: &mut Rng, ms: i64) -> String {
    let offset = [0, 7200, -18000, 19800][rng.below(4)];
    let ms = if rng.below(4) == 0 {
        ms - ms % 1000
    } else {
        ms
    };
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap()
        .to_offset(UtcOffset::from_whole_seconds(offset).unwrap())
        .format(&Rfc3339)
        .unwrap()
}

/// A generated history as JSON Lines.
fn history(seed: u64, deployments: usize) -> String {
    let mut rng = Rng(seed | 1);
    let sources = ["github", "argocd", "gitlab"];
    let services = ["payments", "ledger", "sérvice", "search", "Edge"];
    let mut lines: Vec<String> = Vec::new();
    let mut commit = 0usize;
    for d in 0..deployments {
        let service = rng.pick(&services);
        let at = T0 + rng.below(60 * 24) as i64 * HOUR + rng.below(3) as i64 * 1000;
        let n = rng.below(4);
        let mut ids = Vec::new();
        for _ in 0..n {
            let id = format!("c{commit}");
            let parent = if commit > 0 && rng.below(3) > 0 {
                format!(",\"parent\":\"c{}\"", commit - 1)
            } else {
                String::new()
            };
            let source = match rng.below(4) {
                0 => String::new(),
                k => format!(",\"source\":\"{}\"", sources[k - 1]),
            };
            let back = rng.below(48) as i64 * HOUR;
            let committed = ts(&mut rng, at - 1 - back);
            lines.push(format!(
                "{{\"type\":\"change\",\"id\":\"{id}\",\"service\":\"{service}\",\"committed_at\":\"{committed}\"{parent}{source}}}"
            ));
            if rng.below(5) == 0 {
                // The same commit from another tool: no parent, a later time.
                let back = rng.below(2) as i64 * HOUR;
                let later = ts(&mut rng, at - back);
                lines.push(format!(
                    "{{\"type\":\"change\",\"id\":\"{id}\",\"service\":\"{service}\",\"committed_at\":\"{later}\",\"source\":\"git\"}}"
                ));
            }
            ids.push(id);
            commit += 1;
        }
        let env = rng.pick(&["production", "prod", "staging", "Production"]);
        let status = rng.pick(&["success", "failure", "SUCCESS", ""]);
        let status = if status.is_empty() {
            String::new()
        } else {
            format!(",\"status\":\"{status}\"")
        };
        let listed = if rng.below(3) == 0 {
            String::new()
        } else {
            let quoted: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
            format!(",\"changes\":[{}]", quoted.join(","))
        };
        let deployed = if commit > 0 && rng.below(2) == 0 {
            format!(",\"commit\":\"c{}\"", commit - 1)
        } else {
            String::new()
        };
        let source = rng.pick(&sources);
        let id = format!("d{}", d / 2);
        let finished = ts(&mut rng, at);
        let line = format!(
            "{{\"type\":\"deployment\",\"id\":\"{id}\",\"service\":\"{service}\",\"environment\":\"{env}\",\"finished_at\":\"{finished}\",\"source\":\"{source}\"{status}{listed}{deployed}}}"
        );
        lines.push(line.clone());
        match rng.below(8) {
            0 => lines.push(line), // re-delivered as is
            1 => lines.push(
                line.replace("\"environment\"", "\"status\":\"failure\",\"environment\"")
                    .replacen(&status, "", 1),
            ),
            _ => {}
        }
        if rng.below(4) == 0 {
            let started = at + rng.below(12) as i64 * HOUR;
            let resolved = if rng.below(3) == 0 {
                String::new()
            } else {
                let after = 1 + rng.below(10) as i64 * HOUR;
                format!(",\"resolved_at\":\"{}\"", ts(&mut rng, started + after))
            };
            let cause = match rng.below(3) {
                0 => String::new(),
                1 => format!(",\"deployment\":\"{id}\""),
                _ => format!(",\"deployment\":\"d{}\"", rng.below(deployments)),
            };
            let inc = format!(
                "{{\"type\":\"incident\",\"id\":\"i{}\",\"service\":\"{service}\",\"started_at\":\"{}\",\"source\":\"{}\",\"title\":\"Errors on {service}\",\"severity\":\"SEV{}\"{resolved}{cause}}}",
                rng.below(deployments),
                ts(&mut rng, started),
                rng.pick(&["pagerduty", "argocd"]),
                rng.below(3) + 1
            );
            lines.push(inc);
        }
        match rng.below(12) {
            0 => lines.push(String::new()),
            1 => lines.push("# a comment".into()),
            2 => lines.push("{\"type\":\"change\",\"id\":\"bad\"".into()),
            3 => lines.push(format!(
                "{{\"type\":\"change\",\"id\":\"c{commit}x\",\"service\":\"pay\\u006dents\",\"committed_at\":\"{}\",\"urgency\":\"high\"}}",
                ts(&mut rng, at)
            )),
            4 => lines.push(format!(
                "{{\"type\":\"change\",\"id\":\"e{d}\",\"service\":\"ledger\",\"committed_at\":\"{}\",\"environment\":\"production\",\"parent\":null}}",
                ts(&mut rng, at)
            )),
            5 => lines.push(format!(
                "  {{\"type\":\"deployment\",\"id\":\"n{d}\",\"service\":\"ledger\",\"environment\":\"prod\",\"finished_at\":\"2026-01-05T10:00:00\"}}\r"
            )),
            6 => lines.push("[\"deployment\",\"x\",\"ledger\"]".into()),
            _ => {}
        }
    }
    // Shuffle a little: events arrive out of order.
    for i in (1..lines.len()).rev() {
        if rng.below(3) == 0 {
            let j = rng.below(i + 1);
            lines.swap(i, j);
        }
    }
    lines.join("\n")
}

fn slow(text: &str) -> (Dataset, socle_dora::Parsed) {
    let mut parsed = parse_jsonl(text, "import");
    let ds = Dataset::build(std::mem::take(&mut parsed.events), &Options::default());
    (ds, parsed)
}

fn assert_same(text: &str, threads: usize, block: usize) {
    let (want, parsed) = slow(text);
    let bulk = Bulk::read_in_blocks(text.as_bytes(), "import", threads, block).unwrap();
    assert_eq!(bulk.errors, parsed.errors);
    assert_eq!(
        bulk.unknown_fields.warnings(),
        parsed.unknown_fields.warnings()
    );
    let got = bulk.dataset(&Options::default());
    assert_eq!(got, want);
    let w = Window {
        from: T0,
        to: T0 + 70 * 24 * HOUR,
    };
    assert_eq!(got.report(None, w, true), want.report(None, w, true));
}

#[test]
fn a_generated_history_indexes_as_the_event_path_does() {
    let text = history(42, 400);
    // The history exercises every rule: errors, warnings, lead times (listed and walked),
    // failures with and without a named cause, recoveries.
    let (ds, parsed) = slow(&text);
    assert!(parsed.errors.len() > 5 && parsed.unknown_fields.warnings().len() >= 2);
    let r = ds.report(
        None,
        Window {
            from: T0,
            to: T0 + 70 * 24 * HOUR,
        },
        false,
    );
    assert!(r.deployments > 100 && r.changes > 100, "{r:?}");
    assert!(
        r.failed_deployments > 5 && r.incidents_resolved > 20,
        "{r:?}"
    );
    assert!(ds.incidents_without_cause > 0);
    assert_same(&text, 1, 1 << 20);
    assert_same(&text, 3, 1 << 20);
}

#[test]
fn small_blocks_on_several_threads_change_nothing() {
    // Blocks of 200 bytes: most lines straddle a cut, some are longer than a block.
    assert_same(&history(7, 150), 3, 200);
}

#[test]
fn a_text_without_a_final_newline_or_with_crlf_reads_the_same() {
    let text = history(9, 60).replace('\n', "\r\n");
    assert_same(&text, 2, 300);
    assert_same(&format!("{text}\n"), 2, 300);
}

#[test]
fn a_history_that_is_not_utf8_is_refused_with_its_line() {
    let mut bytes = b"# one\n# two\n{\"type\":\"change\",\"id\":\"\xff\"}\n".to_vec();
    bytes.extend_from_slice(b"# four\n");
    let err = Bulk::read_in_blocks(&bytes[..], "import", 2, 1 << 20)
        .err()
        .expect("not UTF-8");
    assert_eq!(err.to_string(), "line 3: not UTF-8 text");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_generated_history_indexes_as_the_event_path_does(
        seed in any::<u64>(),
        deployments in 1usize..120,
        threads in 1usize..4,
        block in 64usize..4096,
    ) {
        assert_same(&history(seed, deployments), threads, block);
    }
}
