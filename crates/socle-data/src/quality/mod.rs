//! Quality checks of a data contract (`socle data test`), engine-neutral: the plan of checks a
//! contract implies on one server ([`plan`]), the comparator and severity rules
//! ([`threshold`]), the verdict on a measurement ([`evaluate`]), how each check is measured on a
//! table ([`prepare`]) and the SQL text the engines send ([`sql`]: PostgreSQL and SQLite). Check keys, types and verdicts follow datacontract-cli
//! 1.2.x, so the two tools' results compare check by check (docs/data.md lists where they part).

pub mod duration;
pub mod evaluate;
pub mod fold;
pub mod guard;
pub mod junit;
pub mod plan;
pub mod prepare;
pub mod spec;
pub mod sql;
pub mod threshold;
pub mod types;

pub use evaluate::{CheckResult, Measured, evaluate, overall};
pub use plan::{Check, Metric, plan};
pub use spec::{ServerSpec, TestSpec};
pub use threshold::Verdict;
