//! A delivery history for the demo services, so that the DORA reports of `socle serve --demo`
//! show something: four cadences (several deployments a day, every other day, weekly, monthly)
//! with matching lead times, failure rates and recovery times, so that every DORA level appears.

use std::fmt::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Rng;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn ts(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `(mean hours between deployments, max lead hours, failure %, max recovery hours)` per tier.
const TIERS: [(i64, i64, u64, i64); 4] = [
    (8, 20, 3, 1),
    (48, 120, 12, 20),
    (168, 500, 25, 120),
    (720, 1500, 40, 400),
];

/// JSON Lines (deployments, changes, incidents; source `demo`) for `days` days ending at
/// `end_ms`, deterministic for a given `end_ms`. Each service comes with a tier (0 fastest to 3
/// slowest; taken modulo 4): give a team's services the same tier and its reports show it.
pub fn dora_history(services: &[(String, usize)], end_ms: i64, days: i64) -> String {
    let mut rng = Rng(end_ms as u64 ^ 0x5eed);
    let mut out = String::new();
    let start = end_ms - days * DAY;
    let mut change = 0u64;
    let mut incident = 0u64;
    for (service, tier) in services {
        let (every, lead, fail, recover) = TIERS[tier % TIERS.len()];
        let mut at = start + rng.below((every * HOUR) as usize) as i64;
        let mut n = 0;
        while at < end_ms {
            let id = format!("{service}-{n}");
            let k = 1 + rng.below(4);
            let mut ids = Vec::with_capacity(k);
            for _ in 0..k {
                let committed = at - HOUR - rng.below((lead * HOUR) as usize) as i64;
                let c = format!("demo-c{change}");
                change += 1;
                let _ = writeln!(
                    out,
                    r#"{{"type":"change","source":"demo","id":"{c}","service":"{service}","committed_at":"{}"}}"#,
                    ts(committed)
                );
                ids.push(format!("\"{c}\""));
            }
            let _ = writeln!(
                out,
                r#"{{"type":"deployment","source":"demo","id":"{id}","service":"{service}","environment":"production","status":"success","finished_at":"{}","changes":[{}]}}"#,
                ts(at),
                ids.join(",")
            );
            if rng.below(100) < fail as usize {
                let started = at + HOUR / 2 + rng.below((6 * HOUR) as usize) as i64;
                let resolved = started + HOUR / 4 + rng.below((recover * HOUR) as usize) as i64;
                let resolved = if resolved < end_ms {
                    format!(r#","resolved_at":"{}""#, ts(resolved))
                } else {
                    String::new()
                };
                // What an incident tool would send too (no draw from `rng`: the history stays
                // the same).
                let severity = ["SEV3", "SEV2", "SEV1"][(incident % 3) as usize];
                let _ = writeln!(
                    out,
                    r#"{{"type":"incident","source":"demo","id":"demo-i{incident}","service":"{service}","started_at":"{}"{resolved},"deployment":"{id}","title":"{service}: errors after deployment {id}","severity":"{severity}"}}"#,
                    ts(started)
                );
                incident += 1;
            }
            n += 1;
            at += every * HOUR / 2 + rng.below((every * HOUR) as usize) as i64;
        }
    }
    out
}
