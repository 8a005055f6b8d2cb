//! A delivery history for the demo services, so that the DORA reports of `socle serve --demo`
//! show something: four cadences (several deployments a day, every other day, weekly, monthly)
//! with matching lead times, failure rates and recovery times, so that every DORA level appears.

use std::fmt::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Rng;

/// A seed from a name (FNV-1a).
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

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

/// A demo service's delivery: its cadence tier (0 fastest to 3 slowest; taken modulo 4) and,
/// for a team that adopted Socle in the demo, when: `created_at` (a service created then from
/// a golden path has no history before it) and `faster_from` (from then on, the next faster
/// tier).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoService {
    pub name: String,
    pub tier: usize,
    pub created_at: Option<i64>,
    pub faster_from: Option<i64>,
}

/// JSON Lines (deployments, changes, incidents; source `demo`) for `days` days ending at
/// `end_ms`, deterministic for a given `end_ms`. Each service comes with a tier (0 fastest to 3
/// slowest; taken modulo 4): give a team's services the same tier and its reports show it.
pub fn dora_history(services: &[(String, usize)], end_ms: i64, days: i64) -> String {
    let services: Vec<DemoService> = services
        .iter()
        .map(|(name, tier)| DemoService {
            name: name.clone(),
            tier: *tier,
            ..DemoService::default()
        })
        .collect();
    dora_history_of(&services, end_ms, days)
}

/// [`dora_history`] for services that may have adopted Socle: an adopting service draws from
/// its own generator (seeded by its name), so the others' histories stay as they were.
pub fn dora_history_of(services: &[DemoService], end_ms: i64, days: i64) -> String {
    let mut shared = Rng(end_ms as u64 ^ 0x5eed);
    let mut out = String::new();
    let start = end_ms - days * DAY;
    let mut change = 0u64;
    let mut incident = 0u64;
    for svc in services {
        let service = &svc.name;
        let adopted = svc.created_at.is_some() || svc.faster_from.is_some();
        let mut own = Rng(end_ms as u64 ^ 0xad0b ^ name_seed(service));
        let rng = if adopted { &mut own } else { &mut shared };
        let tier_at = |at: i64| {
            let t = svc.tier % TIERS.len();
            if svc.faster_from.is_some_and(|f| at >= f) {
                t.saturating_sub(1)
            } else {
                t
            }
        };
        let first = start.max(svc.created_at.unwrap_or(start));
        let (every, _, _, _) = TIERS[tier_at(first)];
        let mut at = first + rng.below((every * HOUR) as usize) as i64;
        let mut n = 0;
        while at < end_ms {
            let (every, lead, fail, recover) = TIERS[tier_at(at)];
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
