//! Events: deployments, changes (commits) and incidents, identified by `(source, id)`.

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
    /// The id of the deployment that caused it (same source), when known.
    #[serde(default)]
    pub deployment: Option<String>,
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

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
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

/// The longest accepted id, service or environment name.
pub const MAX_NAME: usize = 256;
/// Most changes listed by one deployment.
pub const MAX_CHANGES: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    service: String,
    #[serde(default)]
    source: Option<String>,
    // deployment
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    finished_at: Option<String>,
    #[serde(default)]
    changes: Option<Vec<String>>,
    #[serde(default)]
    commit: Option<String>,
    // change
    #[serde(default)]
    committed_at: Option<String>,
    #[serde(default)]
    parent: Option<String>,
    // incident
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    resolved_at: Option<String>,
    #[serde(default)]
    deployment: Option<String>,
}

/// Why one event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("a {kind} needs `{field}`")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    #[error("`{field}` must be 1 to {max} characters", max = MAX_NAME)]
    NameLength { field: &'static str },
    #[error("`{field}` contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("`{field}`: {source}")]
    Timestamp {
        field: &'static str,
        source: TimestampError,
    },
    #[error("`changes`: at most {max} per deployment", max = MAX_CHANGES)]
    TooManyChanges,
    #[error("`resolved_at` is before `started_at`")]
    ResolvedBeforeStarted,
    #[error("unknown type {0:?}: expected deployment, change or incident")]
    UnknownType(String),
}

fn required<T>(v: Option<T>, field: &'static str, kind: &'static str) -> Result<T, EventError> {
    v.ok_or(EventError::Missing { kind, field })
}

fn check_name(v: &str, field: &'static str) -> Result<(), EventError> {
    if v.is_empty() || v.len() > MAX_NAME {
        return Err(EventError::NameLength { field });
    }
    if v.chars().any(char::is_control) {
        return Err(EventError::ControlCharacter { field });
    }
    Ok(())
}

fn timestamp(s: &str, field: &'static str) -> Result<Millis, EventError> {
    parse_timestamp(s).map_err(|source| EventError::Timestamp { field, source })
}

/// Reads one JSON object as an event; `default_source` applies when it names none.
pub fn parse_event(text: &str, default_source: &str) -> Result<Event, EventError> {
    let l: LineIn = serde_json::from_str(text)?;
    let source = l.source.unwrap_or_else(|| default_source.to_owned());
    check_name(&source, "source")?;
    check_name(&l.id, "id")?;
    check_name(&l.service, "service")?;
    let ts = |v: Option<String>, field: &'static str, kind: &'static str| {
        timestamp(&required(v, field, kind)?, field)
    };
    Ok(match l.kind.as_str() {
        "deployment" => {
            let environment = required(l.environment, "environment", "deployment")?;
            check_name(&environment, "environment")?;
            let changes = l.changes.unwrap_or_default();
            if changes.len() > MAX_CHANGES {
                return Err(EventError::TooManyChanges);
            }
            for c in &changes {
                check_name(c, "changes[]")?;
            }
            Event::Deployment(Deployment {
                finished_at: ts(l.finished_at, "finished_at", "deployment")?,
                status: l.status.unwrap_or_else(|| "success".into()),
                source,
                id: l.id,
                service: l.service,
                environment,
                changes,
                commit: l.commit,
            })
        }
        "change" => Event::Change(Change {
            committed_at: ts(l.committed_at, "committed_at", "change")?,
            source,
            id: l.id,
            service: l.service,
            parent: l.parent,
        }),
        "incident" => {
            let started_at = ts(l.started_at, "started_at", "incident")?;
            let resolved_at = match l.resolved_at {
                Some(r) => Some(timestamp(&r, "resolved_at")?),
                None => None,
            };
            if resolved_at.is_some_and(|r| r < started_at) {
                return Err(EventError::ResolvedBeforeStarted);
            }
            Event::Incident(Incident {
                source,
                id: l.id,
                service: l.service,
                started_at,
                resolved_at,
                deployment: l.deployment,
            })
        }
        other => return Err(EventError::UnknownType(other.to_owned())),
    })
}

/// Parses JSON Lines (blank lines and `#` comments skipped): every event read, and every line
/// that could not be, with its number (1-based).
pub fn parse_jsonl(text: &str, default_source: &str) -> (Vec<Event>, Vec<ParseError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match parse_event(t, default_source) {
            Ok(e) => events.push(e),
            Err(e) => errors.push(ParseError {
                line: i + 1,
                message: e.to_string(),
            }),
        }
    }
    (events, errors)
}

/// [`parse_jsonl`] on `threads` threads: the text is split at line boundaries, each part parsed
/// on its own thread; events and errors come back in file order, line numbers preserved.
pub fn parse_jsonl_parallel(
    text: &str,
    default_source: &str,
    threads: usize,
) -> (Vec<Event>, Vec<ParseError>) {
    let threads = threads.clamp(1, 64);
    if threads == 1 || text.len() < 1 << 20 {
        return parse_jsonl(text, default_source);
    }
    // Cut points at line starts, with the number of lines before each part.
    let mut parts: Vec<(&str, usize)> = Vec::with_capacity(threads);
    let mut start = 0usize;
    let mut lines_before = 0usize;
    for k in 1..=threads {
        let mut end = if k == threads {
            text.len()
        } else {
            (text.len() * k / threads).max(start)
        };
        if end < text.len() {
            // `end` may fall inside a character: look for the newline byte, not a `str` slice.
            end = text.as_bytes()[end..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(text.len(), |i| end + i + 1);
        }
        let part = &text[start..end];
        parts.push((part, lines_before));
        lines_before += part.matches('\n').count();
        start = end;
        if start >= text.len() {
            break;
        }
    }
    let results: Vec<(Vec<Event>, Vec<ParseError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|(part, before)| {
                s.spawn(move || {
                    let (events, mut errors) = parse_jsonl(part, default_source);
                    for e in &mut errors {
                        e.line += before;
                    }
                    (events, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut events = Vec::with_capacity(results.iter().map(|r| r.0.len()).sum());
    let mut errors = Vec::new();
    for (e, x) in results {
        events.extend(e);
        errors.extend(x);
    }
    (events, errors)
}
