//! Events: deployments, changes (commits) and incidents, identified by `(source, id)`, and
//! their timestamps. Reading them from JSON Lines is [`crate::jsonl`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A deployment of a service to an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub source: String,
    pub id: String,
    pub service: String,
    pub environment: String,
    /// `success`, `failure`, … — only `success` counts as a deployment.
    pub status: String,
    pub finished_at: Millis,
    /// Ids of the changes (commits) it shipped, when the sender knows them.
    #[serde(default)]
    pub changes: Vec<String>,
    /// The commit deployed; with the changes' parents, gives the range when `changes` is empty.
    #[serde(default)]
    pub commit: Option<String>,
}

impl Deployment {
    pub fn succeeded(&self) -> bool {
        self.status.eq_ignore_ascii_case("success")
    }
}

/// Change ids as a deployment holds them: a list, or one text of ids joined by newlines (a
/// store's column; empty for none).
#[derive(Debug, Clone, Copy)]
pub enum Ids<'a> {
    List(&'a [String]),
    Lines(&'a str),
}

impl<'a> Ids<'a> {
    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        let (list, lines) = match self {
            Ids::List(l) => (Some(l.iter().map(String::as_str)), None),
            Ids::Lines(s) => (None, (!s.is_empty()).then(|| s.split('\n'))),
        };
        list.into_iter()
            .flatten()
            .chain(lines.into_iter().flatten())
    }
}

/// A deployment whose strings are borrowed from where it was read (a page of a store's rows):
/// what the live index takes, so that a load copies no string it already holds.
#[derive(Debug, Clone, Copy)]
pub struct DeploymentRef<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub service: &'a str,
    pub environment: &'a str,
    pub status: &'a str,
    pub finished_at: Millis,
    pub changes: Ids<'a>,
    pub commit: Option<&'a str>,
}

impl DeploymentRef<'_> {
    pub fn succeeded(&self) -> bool {
        self.status.eq_ignore_ascii_case("success")
    }

    /// The deployment with strings of its own.
    pub fn owned(&self) -> Deployment {
        Deployment {
            source: self.source.to_owned(),
            id: self.id.to_owned(),
            service: self.service.to_owned(),
            environment: self.environment.to_owned(),
            status: self.status.to_owned(),
            finished_at: self.finished_at,
            changes: self.changes.iter().map(str::to_owned).collect(),
            commit: self.commit.map(str::to_owned),
        }
    }
}

impl Deployment {
    pub fn borrowed(&self) -> DeploymentRef<'_> {
        DeploymentRef {
            source: &self.source,
            id: &self.id,
            service: &self.service,
            environment: &self.environment,
            status: &self.status,
            finished_at: self.finished_at,
            changes: Ids::List(&self.changes),
            commit: self.commit.as_deref(),
        }
    }
}

/// A change whose strings are borrowed (see [`DeploymentRef`]).
#[derive(Debug, Clone, Copy)]
pub struct ChangeRef<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub service: &'a str,
    pub committed_at: Millis,
    pub parent: Option<&'a str>,
}

impl Change {
    pub fn borrowed(&self) -> ChangeRef<'_> {
        ChangeRef {
            source: &self.source,
            id: &self.id,
            service: &self.service,
            committed_at: self.committed_at,
            parent: self.parent.as_deref(),
        }
    }
}

impl ChangeRef<'_> {
    /// The change with strings of its own.
    pub fn owned(&self) -> Change {
        Change {
            source: self.source.to_owned(),
            id: self.id.to_owned(),
            service: self.service.to_owned(),
            committed_at: self.committed_at,
            parent: self.parent.map(str::to_owned),
        }
    }
}

/// A deployment or a change, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum EventRef<'a> {
    Deployment(DeploymentRef<'a>),
    Change(ChangeRef<'a>),
}

impl EventRef<'_> {
    /// The event with strings of its own.
    pub fn owned(&self) -> Event {
        match self {
            EventRef::Deployment(d) => Event::Deployment(d.owned()),
            EventRef::Change(c) => Event::Change(c.owned()),
        }
    }
}

/// A change: a commit with its commit time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub source: String,
    pub id: String,
    pub service: String,
    pub committed_at: Millis,
    /// The commit before it (first parent), when known: lets a deployment's range be walked.
    #[serde(default)]
    pub parent: Option<String>,
}

/// An incident in production.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub source: String,
    pub id: String,
    pub service: String,
    pub started_at: Millis,
    pub resolved_at: Option<Millis>,
    /// The id of the deployment that caused it, when known: a deployment of the incident's own
    /// source first, else of any source (see [`crate::metrics`]).
    #[serde(default)]
    pub deployment: Option<String>,
    /// What the incident tool calls it (at most [`MAX_TITLE`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The tool's severity or priority as sent (`SEV1`, `P2`, `critical`; at most
    /// [`MAX_SEVERITY`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Where the incident lives in its tool (at most [`MAX_URL`] bytes; shown as a link only
    /// when it is http(s)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The tool's labels or tags (at most [`MAX_LABELS`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Deployment(Deployment),
    Change(Change),
    Incident(Incident),
}

impl Event {
    pub fn key(&self) -> (&str, &str) {
        match self {
            Event::Deployment(d) => (&d.source, &d.id),
            Event::Change(c) => (&c.source, &c.id),
            Event::Incident(i) => (&i.source, &i.id),
        }
    }
    pub fn service(&self) -> &str {
        match self {
            Event::Deployment(d) => &d.service,
            Event::Change(c) => &c.service,
            Event::Incident(i) => &i.service,
        }
    }
}

/// A timestamp that could not be read (RFC 3339, or GitLab's formats).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp {0:?} has no timezone: add `Z` or an offset such as `+02:00`")]
    NoTimezone(String),
    #[error("timestamp {0:?} is not RFC 3339 (e.g. 2026-01-05T10:00:00Z)")]
    NotRfc3339(String),
    #[error("timestamp {0:?} has no timezone: expected an offset such as `+0200` or `UTC`")]
    GitlabNoTimezone(String),
    #[error(
        "timestamp {0:?} is not a GitLab timestamp (e.g. 2021-04-28 21:50:00 +0200 or 2021-04-28T19:50:00Z)"
    )]
    NotGitlab(String),
}

/// Parses an RFC 3339 timestamp; a timestamp without a timezone (`Z` or `±hh:mm`) is an error.
pub fn parse_timestamp(s: &str) -> Result<Millis, TimestampError> {
    match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => Ok((t.unix_timestamp_nanos() / 1_000_000) as Millis),
        Err(_) => {
            // Say why for the common mistake: a local time with no offset.
            // What follows `YYYY-MM-DDTHH:MM:SS` (19 bytes; `get`, for a character that
            // straddles byte 19 is not a local time either).
            let looks_local = !s.ends_with('Z')
                && !s.ends_with('z')
                && s.get(19..).is_some_and(|tail| !tail.contains(['+', '-']));
            if looks_local {
                Err(TimestampError::NoTimezone(s.to_owned()))
            } else {
                Err(TimestampError::NotRfc3339(s.to_owned()))
            }
        }
    }
}

/// Formats milliseconds as RFC 3339 UTC.
pub fn format_timestamp(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The longest accepted id, service or environment name, and label name (bytes).
pub const MAX_NAME: usize = 256;
/// Most changes listed by one deployment.
pub const MAX_CHANGES: usize = 10_000;
/// The longest incident title (characters).
pub const MAX_TITLE: usize = 1_024;
/// The longest incident severity (characters).
pub const MAX_SEVERITY: usize = 64;
/// The longest incident URL (bytes).
pub const MAX_URL: usize = 2_048;
/// Most labels on one incident.
pub const MAX_LABELS: usize = 64;
/// The longest label value (characters).
pub const MAX_LABEL_VALUE: usize = 1_024;
