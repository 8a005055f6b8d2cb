//! Delivery metrics: DORA's four keys computed from deployments, changes and incidents.
//!
//! Pure: events come in already loaded (from the store, an import file or a webhook payload),
//! reports go out. Nothing here reads a clock, a file or the network; the caller passes the
//! window and the scopes (a team's services come from the catalog, at the edge).
//!
//! - [`events`]: the event model, timestamps; [`jsonl`]: JSON Lines import with per-line errors
//!   and the fields it ignored, once per name.
//! - [`metrics`]: the indexed [`metrics::Dataset`]; [`report`]: the [`report::Report`] of a scope.
//! - [`bulk`], [`bulk_index`]: a large history read on every core into interned columns and
//!   indexed into the same [`metrics::Dataset`], step by step (dedupe, link, metrics).
//! - [`live`]: the server's index, kept current by applying the store's change log.
//! - [`levels`]: the 2024 DORA table as a classification rule.
//! - [`webhooks`]: GitHub / GitLab payloads to events, signature checks.

pub mod bulk;
pub mod bulk_index;
pub mod events;
mod intern;
pub mod jsonl;
pub mod levels;
pub mod live;
mod live_state;
pub mod metrics;
pub mod refs;
pub mod report;
mod walk;
pub mod webhooks;

pub use bulk::{Bulk, BulkError};
pub use events::{
    Change, ChangeRef, Deployment, DeploymentRef, Event, EventRef, Ids, Incident, TimestampError,
    parse_timestamp,
};
pub use jsonl::{
    EventError, ParseError, Parsed, ReadEvent, UnknownFields, Warning, parse_event, parse_jsonl,
    parse_jsonl_parallel,
};
pub use levels::Level;
pub use live::{Applied, Live};
pub use metrics::{Dataset, Options, Report, Window, parse_since};
pub use refs::{ChangeRefs, UnknownChanges};
pub use report::SinceError;
