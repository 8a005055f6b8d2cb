//! The history `socle-bench dora` measures: one year of a large organisation as JSON Lines, in
//! the shape real tools send it — deployments from Argo CD, GitHub and GitLab (each listing
//! its commits as 40-hex SHAs), commits from GitHub and GitLab with their parent, incidents
//! from PagerDuty and Opsgenie with a title, a severity and a field Socle does not read, times
//! at several offsets with milliseconds, and re-deliveries: lines sent twice, incidents sent
//! open and then resolved.

use std::io::Write;
use std::path::Path;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

pub const END: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
pub const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// How large a history to write.
pub struct Shape {
    pub deployments: usize,
    pub changes: usize,
    pub incidents: usize,
}

/// What was written.
pub struct Written {
    pub lines: u64,
}

/// RFC 3339 at one of four offsets, with milliseconds.
fn ts(rng: &mut socle_demo::Rng, ms: i64) -> String {
    let offset = [0, 7_200, -18_000, 19_800][rng.below(4)];
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            let off = UtcOffset::from_whole_seconds(offset).ok()?;
            t.to_offset(off).format(&Rfc3339).ok()
        })
        .unwrap_or_default()
}

/// A commit's SHA: 40 hex digits from its number.
fn sha(n: usize) -> String {
    let mut r = socle_demo::Rng(n as u64 ^ 0x5eed);
    format!(
        "{:016x}{:016x}{:08x}",
        r.next_u64(),
        r.next_u64(),
        r.next_u64() as u32
    )
}

/// Writes the history of `services` (deployments spread evenly over them) to `file`.
pub fn write(file: &Path, services: &[String], shape: &Shape) -> anyhow::Result<Written> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(file)?);
    let mut rng = socle_demo::Rng(7);
    let mut lines = 0u64;
    let per = shape.changes / shape.deployments.max(1);
    let mut extra = shape.changes - per * shape.deployments;
    let mut commit = 0usize;
    // (finish time, source, id, service) of every deployment, for incidents.
    let mut deployed: Vec<(i64, &str, String, usize)> = Vec::with_capacity(shape.deployments);
    for d in 0..shape.deployments {
        let s = d % services.len();
        let service = &services[s];
        let at = END - 365 * DAY + rng.below((365 * DAY) as usize) as i64;
        let n = per + usize::from(extra > 0);
        extra = extra.saturating_sub(1);
        let (source, id, commits_from) = match d % 3 {
            0 => ("argocd", format!("{service}-{d}"), "github"),
            1 => ("github", format!("{}", 100_000_000 + d), "github"),
            _ => ("gitlab", format!("gl-{d}"), "gitlab"),
        };
        let status = if rng.below(20) == 0 {
            "failure"
        } else {
            "success"
        };
        let env = match rng.below(20) {
            0 | 1 => "staging",
            2 => "prod",
            _ => "production",
        };
        let shas: Vec<String> = (commit..commit + n).map(sha).collect();
        let listed: Vec<String> = shas.iter().map(|s| format!("\"{s}\"")).collect();
        let line = format!(
            "{{\"type\":\"deployment\",\"id\":\"{id}\",\"source\":\"{source}\",\"service\":\"{service}\",\"environment\":\"{env}\",\"status\":\"{status}\",\"finished_at\":\"{}\",\"commit\":\"{}\",\"changes\":[{}]}}\n",
            ts(&mut rng, at),
            shas.last().map_or("", String::as_str),
            listed.join(",")
        );
        let copies = if rng.below(50) == 0 { 2 } else { 1 };
        for _ in 0..copies {
            w.write_all(line.as_bytes())?;
            lines += 1;
        }
        for (k, sha) in shas.iter().enumerate() {
            let committed = at - HOUR - rng.below(71 * HOUR as usize) as i64;
            let parent = if commit + k > 0 {
                format!(",\"parent\":\"{}\"", self::sha(commit + k - 1))
            } else {
                String::new()
            };
            let line = format!(
                "{{\"type\":\"change\",\"id\":\"{sha}\",\"source\":\"{commits_from}\",\"service\":\"{service}\",\"committed_at\":\"{}\"{parent}}}\n",
                ts(&mut rng, committed)
            );
            let copies = if rng.below(50) == 0 { 2 } else { 1 };
            for _ in 0..copies {
                w.write_all(line.as_bytes())?;
                lines += 1;
            }
        }
        commit += n;
        deployed.push((at, source, id, s));
    }
    for i in 0..shape.incidents {
        let (at, _, id, s) = &deployed[rng.below(deployed.len())];
        let service = &services[*s];
        let start = at + rng.below(24 * HOUR as usize) as i64;
        let resolved = start + HOUR / 2 + rng.below(48 * HOUR as usize) as i64;
        let (source, inc_id, extra) = if i % 2 == 0 {
            ("pagerduty", format!("P{i:07}"), ",\"urgency\":\"high\"")
        } else {
            ("opsgenie", format!("OG-{i}"), "")
        };
        let cause = if i % 3 == 0 {
            String::new()
        } else {
            format!(",\"deployment\":\"{id}\"")
        };
        let head = format!(
            "{{\"type\":\"incident\",\"id\":\"{inc_id}\",\"source\":\"{source}\",\"service\":\"{service}\",\"title\":\"Elevated 5xx on {service}\",\"severity\":\"SEV{}\",\"started_at\":\"{}\"{cause}{extra}",
            1 + rng.below(4),
            ts(&mut rng, start)
        );
        if rng.below(3) == 0 {
            // Sent first while open, then again when resolved.
            writeln!(w, "{head}}}")?;
            lines += 1;
        }
        writeln!(w, "{head},\"resolved_at\":\"{}\"}}", ts(&mut rng, resolved))?;
        lines += 1;
    }
    w.flush()?;
    Ok(Written { lines })
}
