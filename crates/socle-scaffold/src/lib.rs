//! Golden paths: software templates in Backstage's `scaffolder.backstage.io/v1beta3` format.
//!
//! - [`template`]: loading and checking a template before anything runs (unknown actions,
//!   invalid parameter schemas, expressions that do not compile, references to steps or outputs
//!   that do not exist), with file, line and field path.
//! - [`expr`]: `${{ … }}` expressions with minijinja (whole-value expressions keep their type,
//!   as in Backstage), Backstage's filters, bounded by fuel.
//! - [`nunjucks`]: the Nunjucks and JavaScript templates rely on — `===`, `dump`, string
//!   methods (`split`, `replace`, `includes`, …), `.length` — bounded.
//! - [`params`]: parameters validated against their JSON Schema pages, defaults applied, secret
//!   parameters found wherever a page declares them.
//! - [`redact`]: secret values kept out of run results and logs.
//! - [`workspace`]: the run's sandbox — no path leaves it, sizes are bounded — behind the
//!   [`workspace::Workspace`] trait ([`workspace::MemWorkspace`] in memory).
//! - [`engine`]: runs steps (`if`, `each`), records the log, undoes side effects of a failed run.
//!   The file actions (`fetch:template`, `fetch:plain`, `fs:rename`, `fs:delete`, `debug:log`,
//!   `catalog:write`) are in `actions`, the reading ones (`fs:read`, `fs:readdir`) in [`read`].
//!   Actions with effects outside the workspace (publishing, registering, deploying,
//!   notifying, waiting) are implemented by the caller through the [`engine::Action`] trait.
//!   A template naming an action the engine does not have still loads; its run fails at that
//!   step. [`engine::Cancel`] stops a run between steps (and an action that waits).
//! - [`validate`]: everything a template author should fix, located (`socle template
//!   validate`).
//! - [`builtin`]: the golden paths shipped with Socle.
//! - [`disk`]: the edge — [`disk::DiskWorkspace`] and [`disk::DirSource`], the only file system
//!   access of the crate.

mod actions;
pub mod builtin;
pub mod disk;
pub mod engine;
pub mod expr;
pub mod nunjucks;
pub mod params;
pub mod read;
pub mod redact;
pub mod template;
pub mod validate;
pub mod workspace;

pub use disk::DiskWorkspace;
pub use engine::{
    Action, ActionContext, ActionError, Cancel, Engine, LiveLog, LogLine, RunOptions, RunResult,
    RunStatus, StepStatus,
};
pub use template::{Template, TemplateError};
pub use workspace::{MemWorkspace, Workspace, WorkspaceError};
