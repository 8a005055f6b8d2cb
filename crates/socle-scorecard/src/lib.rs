//! Scorecards as code, pure: standards teams climb level by level (Port's scorecards, OpsLevel's
//! rubrics), checked by Rego over each entity's **facts**.
//!
//! * `load.rs` reads `kind: Scorecard` documents (`apiVersion: socle.dev/v1alpha1`) with
//!   positions: every error names `file:line` and the field path.
//! * `model.rs`: a scorecard has a filter (kind, type, lifecycle, tags, owner, system — AND
//!   across fields, OR within one), ordered levels (default Bronze, Silver, Gold) and rules,
//!   each at one level with a title, a fix-it text, the facts it reads and a check.
//! * `builtin.rs`: the library of ready checks (`check: {builtin: has-owner}`).
//! * `native.rs`: the built-in checks in Rust (same outcomes as their Rego text).
//! * `eval.rs`: each scorecard's built-in rules run natively, its Rego rules compiled once
//!   into one regorus engine (not run without any); entities evaluated in parallel. **Levels**: an entity holds the highest level whose rules, and the rules of every
//!   lower level, it all passes; a failing first-level rule means no level. A level without rules
//!   is held as soon as the levels below it are.
//!
//! ## The facts document (`input` of every check)
//!
//! ```text
//! now            Unix seconds of the evaluation        ref     the entity's reference
//! entity         the catalog entity as JSON            owner, system   resolved references
//! relations      [{type, target}]
//! deployments    {ENV: {at (Unix s), status, commit, probes: bool, resources: bool}}
//! guardrails     {evaluated: bool, failures: n, waived: n, rules: [ids failing]}
//! dora           {deployment_frequency: {per_day, bucket: daily|weekly|monthly|yearly}, ...}
//! slos           {declared: bool, file}
//! docs           {techdocs: bool}
//! repository     {read: bool, present: {readme, codeowners, dockerfile, renovate: bool},
//!                 workflows: [names], matches: {"PATH::PATTERN": bool}}
//! findings       {open: [{tool, rule, severity, first_seen (Unix s), location}]}
//! ```
//!
//! A Rego check is a module body without its package line; it defines `pass` (only `true`
//! passes) and may define `message` (what failed). Socle adds `default pass := false` and
//! `default message := ""`.
//!
//! **Bounds**: checks come only from admin-trusted sources; a check's Rego is at most 16 KiB,
//! a scorecard at most 200 rules; one entity's evaluation of one scorecard has a time limit
//! (1 s by default), a facts document is at most 256 KiB, messages are cut at 512 characters.

pub mod builtin;
pub mod eval;
pub mod load;
pub mod model;
pub mod native;
pub mod sarif;

pub use builtin::{BuiltinInfo, ContentProbe, library};
pub use eval::{
    CardResult, CompileError, Compiled, FactShown, FactSource, Facts, RuleResult, evaluate,
    evaluate_all, level_of,
};
pub use load::{
    DEFINITION_KINDS, Definition, definition_of_entity, load, load_campaigns, load_definition,
};
pub use model::{
    CAMPAIGN_LEVEL, Campaign, Check, DEFAULT_LEVELS, Filter, Rule, Scorecard, ScorecardError,
    Subject,
};

/// The built-in scorecards, shipped with Socle: `(file name, YAML)`.
pub const BUILTIN: &[(&str, &str)] = &[(
    "builtin/production-readiness.yaml",
    include_str!("../scorecards/production-readiness.yaml"),
)];

/// The built-in scorecards, loaded.
pub fn builtin_scorecards() -> Vec<Scorecard> {
    BUILTIN
        .iter()
        .flat_map(|(file, text)| load(text, file).expect("the built-in scorecards load"))
        .collect()
}
