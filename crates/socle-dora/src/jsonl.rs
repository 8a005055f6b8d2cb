//! JSON Lines events: one JSON object a line, strict where a value matters, lenient about
//! fields Socle does not read.
//!
//! A line that is not JSON, lacks a required field, repeats a field or holds a bad value is a
//! [`ParseError`] with its line number. A field Socle does not read — one no event type has
//! (PagerDuty's `urgency`), or one of another type (`environment` on a change) — is ignored and
//! reported once per field name for the whole text ([`UnknownFields`] → [`Warning`]), never
//! once per line. Incidents keep what every incident tool sends: `title`, `severity`, `url`
//! and `labels`, each bounded.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::events::{
    Change, Deployment, Event, Incident, MAX_CHANGES, MAX_LABEL_VALUE, MAX_LABELS, MAX_NAME,
    MAX_SEVERITY, MAX_TITLE, MAX_URL, Millis, TimestampError, parse_timestamp,
};

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Why one event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("{article} {kind} needs `{field}`", article = if kind.starts_with('i') { "an" } else { "a" })]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    #[error("`{field}` must be 1 to {max} characters", max = MAX_NAME)]
    NameLength { field: &'static str },
    #[error("`{field}` must be at most {max} characters")]
    TextLength { field: &'static str, max: usize },
    #[error("`{field}` contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("`{field}`: {source}")]
    Timestamp {
        field: &'static str,
        source: TimestampError,
    },
    #[error("`changes`: at most {max} per deployment", max = MAX_CHANGES)]
    TooManyChanges,
    #[error("`labels`: at most {max} per incident", max = MAX_LABELS)]
    TooManyLabels,
    #[error("`resolved_at` is before `started_at`")]
    ResolvedBeforeStarted,
    #[error("unknown type {0:?}: expected deployment, change or incident")]
    UnknownType(String),
}

/// The fields Socle reads, each a bit of [`LineIn::present`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Id,
    Service,
    Source,
    Environment,
    Status,
    FinishedAt,
    Changes,
    Commit,
    CommittedAt,
    Parent,
    StartedAt,
    ResolvedAt,
    Deployment,
    Title,
    Severity,
    Url,
    Labels,
}

/// Every field, in bit order.
const FIELDS: [Field; 18] = [
    Field::Type,
    Field::Id,
    Field::Service,
    Field::Source,
    Field::Environment,
    Field::Status,
    Field::FinishedAt,
    Field::Changes,
    Field::Commit,
    Field::CommittedAt,
    Field::Parent,
    Field::StartedAt,
    Field::ResolvedAt,
    Field::Deployment,
    Field::Title,
    Field::Severity,
    Field::Url,
    Field::Labels,
];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::Id => "id",
            Field::Service => "service",
            Field::Source => "source",
            Field::Environment => "environment",
            Field::Status => "status",
            Field::FinishedAt => "finished_at",
            Field::Changes => "changes",
            Field::Commit => "commit",
            Field::CommittedAt => "committed_at",
            Field::Parent => "parent",
            Field::StartedAt => "started_at",
            Field::ResolvedAt => "resolved_at",
            Field::Deployment => "deployment",
            Field::Title => "title",
            Field::Severity => "severity",
            Field::Url => "url",
            Field::Labels => "labels",
        }
    }

    fn from_name(s: &str) -> Option<Field> {
        // A match, as serde's derive writes it: the compiler sorts the names by length.
        Some(match s {
            "type" => Field::Type,
            "id" => Field::Id,
            "service" => Field::Service,
            "source" => Field::Source,
            "environment" => Field::Environment,
            "status" => Field::Status,
            "finished_at" => Field::FinishedAt,
            "changes" => Field::Changes,
            "commit" => Field::Commit,
            "committed_at" => Field::CommittedAt,
            "parent" => Field::Parent,
            "started_at" => Field::StartedAt,
            "resolved_at" => Field::ResolvedAt,
            "deployment" => Field::Deployment,
            "title" => Field::Title,
            "severity" => Field::Severity,
            "url" => Field::Url,
            "labels" => Field::Labels,
            _ => return None,
        })
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The fields each type of event reads (besides `type`, `id`, `service` and `source`).
fn read_by(kind: &str) -> u32 {
    let bits = |fields: &[Field]| fields.iter().fold(0, |acc, f| acc | f.bit());
    let common = bits(&[Field::Type, Field::Id, Field::Service, Field::Source]);
    common
        | match kind {
            "deployment" => bits(&[
                Field::Environment,
                Field::Status,
                Field::FinishedAt,
                Field::Changes,
                Field::Commit,
            ]),
            "change" => bits(&[Field::CommittedAt, Field::Parent]),
            "incident" => bits(&[
                Field::StartedAt,
                Field::ResolvedAt,
                Field::Deployment,
                Field::Title,
                Field::Severity,
                Field::Url,
                Field::Labels,
            ]),
            _ => 0,
        }
}

/// A key of a line's object: a field Socle reads, or any other name.
enum Key {
    Known(Field),
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Field::from_name(v).map_or_else(|| Key::Other(v.to_owned()), Key::Known))
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// One line's object as written: every field Socle reads, and the names of the others.
#[derive(Default)]
struct LineIn {
    kind: String,
    id: String,
    service: String,
    source: Option<String>,
    environment: Option<String>,
    status: Option<String>,
    finished_at: Option<String>,
    changes: Option<Vec<String>>,
    commit: Option<String>,
    committed_at: Option<String>,
    parent: Option<String>,
    started_at: Option<String>,
    resolved_at: Option<String>,
    deployment: Option<String>,
    title: Option<String>,
    severity: Option<String>,
    url: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    /// Fields present with a value other than `null`.
    present: u32,
    /// Names that are no field of any event, in order (repeats included).
    unknown: Vec<String>,
}

impl<'de> Deserialize<'de> for LineIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

/// Stores an optional value; whether it was given (not `null`).
fn put<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    *slot = value;
    slot.is_some()
}

impl<'de> Visitor<'de> for LineVisitor {
    type Value = LineIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineIn, A::Error> {
        let mut l = LineIn::default();
        let mut seen = 0u32;
        while let Some(key) = map.next_key::<Key>()? {
            let field = match key {
                Key::Known(f) => f,
                Key::Other(name) => {
                    map.next_value::<IgnoredAny>()?;
                    l.unknown.push(name);
                    continue;
                }
            };
            if seen & field.bit() != 0 {
                return Err(de::Error::duplicate_field(field.name()));
            }
            seen |= field.bit();
            let given = match field {
                // Required: `null` is a type error, as a missing field is an error.
                Field::Type => {
                    l.kind = map.next_value()?;
                    true
                }
                Field::Id => {
                    l.id = map.next_value()?;
                    true
                }
                Field::Service => {
                    l.service = map.next_value()?;
                    true
                }
                Field::Source => put(&mut l.source, map.next_value()?),
                Field::Environment => put(&mut l.environment, map.next_value()?),
                Field::Status => put(&mut l.status, map.next_value()?),
                Field::FinishedAt => put(&mut l.finished_at, map.next_value()?),
                Field::Changes => put(&mut l.changes, map.next_value()?),
                Field::Commit => put(&mut l.commit, map.next_value()?),
                Field::CommittedAt => put(&mut l.committed_at, map.next_value()?),
                Field::Parent => put(&mut l.parent, map.next_value()?),
                Field::StartedAt => put(&mut l.started_at, map.next_value()?),
                Field::ResolvedAt => put(&mut l.resolved_at, map.next_value()?),
                Field::Deployment => put(&mut l.deployment, map.next_value()?),
                Field::Title => put(&mut l.title, map.next_value()?),
                Field::Severity => put(&mut l.severity, map.next_value()?),
                Field::Url => put(&mut l.url, map.next_value()?),
                Field::Labels => put(&mut l.labels, map.next_value()?),
            };
            if given {
                l.present |= field.bit();
            }
        }
        for required in [Field::Type, Field::Id, Field::Service] {
            if seen & required.bit() == 0 {
                return Err(de::Error::missing_field(required.name()));
            }
        }
        Ok(l)
    }
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

/// Free text: at most `max` characters, no control character.
fn check_text(v: &str, field: &'static str, max: usize) -> Result<(), EventError> {
    if v.chars().count() > max {
        return Err(EventError::TextLength { field, max });
    }
    if v.chars().any(char::is_control) {
        return Err(EventError::ControlCharacter { field });
    }
    Ok(())
}

/// Optional free text; empty is none.
fn text(v: Option<String>, field: &'static str, max: usize) -> Result<Option<String>, EventError> {
    let v = v.filter(|v| !v.is_empty());
    if let Some(v) = &v {
        check_text(v, field, max)?;
    }
    Ok(v)
}

/// A URL: at most [`MAX_URL`] bytes (so as many characters at most), no control character.
fn url(v: Option<String>) -> Result<Option<String>, EventError> {
    let v = text(v, "url", MAX_URL)?;
    if v.as_ref().is_some_and(|u| u.len() > MAX_URL) {
        return Err(EventError::TextLength {
            field: "url",
            max: MAX_URL,
        });
    }
    Ok(v)
}

/// Labels: names as ids are, values as free text.
fn labels(v: Option<BTreeMap<String, String>>) -> Result<BTreeMap<String, String>, EventError> {
    let v = v.unwrap_or_default();
    if v.len() > MAX_LABELS {
        return Err(EventError::TooManyLabels);
    }
    for (name, value) in &v {
        check_name(name, "labels")?;
        check_text(value, "labels", MAX_LABEL_VALUE)?;
    }
    Ok(v)
}

fn timestamp(s: &str, field: &'static str) -> Result<Millis, EventError> {
    parse_timestamp(s).map_err(|source| EventError::Timestamp { field, source })
}

/// An event read from one JSON object, with the names of the fields it held that Socle does
/// not read for its type (in order, repeats included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEvent {
    pub event: Event,
    pub ignored: Vec<String>,
}

/// Reads one JSON object as an event; `default_source` applies when it names none.
pub fn parse_event(text: &str, default_source: &str) -> Result<ReadEvent, EventError> {
    let mut l: LineIn = serde_json::from_str(text)?;
    let mut ignored = Vec::new();
    let not_read = l.present & !read_by(&l.kind);
    if not_read != 0 {
        ignored.extend(
            FIELDS
                .iter()
                .filter(|f| not_read & f.bit() != 0)
                .map(|f| f.name().to_owned()),
        );
    }
    ignored.append(&mut l.unknown);
    let event = event(l, default_source)?;
    Ok(ReadEvent { event, ignored })
}

/// The event a line's fields describe.
fn event(l: LineIn, default_source: &str) -> Result<Event, EventError> {
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
                title: text(l.title, "title", MAX_TITLE)?,
                severity: text(l.severity, "severity", MAX_SEVERITY)?,
                url: url(l.url)?,
                labels: labels(l.labels)?,
            })
        }
        other => return Err(EventError::UnknownType(other.to_owned())),
    })
}

/// Most field names [`UnknownFields`] lists one by one; the others are counted together.
pub const MAX_UNKNOWN_FIELDS: usize = 100;
/// Field names are shown up to this many characters.
const SHOWN_NAME: usize = 64;

/// Where a field name was seen: how many lines, the first and the last of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    lines: usize,
    first_line: usize,
    last_line: usize,
}

impl Seen {
    fn at(line: usize) -> Self {
        Self {
            lines: 1,
            first_line: line,
            last_line: line,
        }
    }

    fn add(&mut self, line: usize) {
        if line != self.last_line {
            self.lines += 1;
            self.last_line = line;
        }
    }

    /// Another part of the text (its lines are not these).
    fn merge(&mut self, o: Seen) {
        self.lines += o.lines;
        self.first_line = self.first_line.min(o.first_line);
        self.last_line = self.last_line.max(o.last_line);
    }
}

/// The fields of a text that Socle does not read, by name: how many lines held each and the
/// first of them. The first [`MAX_UNKNOWN_FIELDS`] names (in order of appearance) are listed;
/// the names past them are counted together.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnknownFields {
    listed: BTreeMap<String, Seen>,
    unlisted: Option<Seen>,
}

/// A field Socle ignored, once for the whole text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The field's name (its first 64 characters); none for the names past the first
    /// [`MAX_UNKNOWN_FIELDS`], counted together.
    pub field: Option<String>,
    /// How many lines held it.
    pub lines: usize,
    /// The first of them (1-based).
    pub first_line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl UnknownFields {
    /// `name` was on line `line`.
    pub fn record(&mut self, name: &str, line: usize) {
        let name = match name.char_indices().nth(SHOWN_NAME) {
            Some((cut, _)) => &name[..cut],
            None => name,
        };
        if let Some(seen) = self.listed.get_mut(name) {
            seen.add(line);
        } else if self.listed.len() < MAX_UNKNOWN_FIELDS {
            self.listed.insert(name.to_owned(), Seen::at(line));
        } else {
            match &mut self.unlisted {
                Some(seen) => seen.add(line),
                None => self.unlisted = Some(Seen::at(line)),
            }
        }
    }

    /// The fields of the text that follows this one (its line numbers already counted from
    /// the start of the whole text).
    pub fn merge(&mut self, other: UnknownFields) {
        let mut names: Vec<(String, Seen)> = other.listed.into_iter().collect();
        names.sort_by_key(|(_, s)| s.first_line);
        let mut unlisted = other.unlisted;
        for (name, seen) in names {
            if let Some(mine) = self.listed.get_mut(&name) {
                mine.merge(seen);
            } else if self.listed.len() < MAX_UNKNOWN_FIELDS {
                self.listed.insert(name, seen);
            } else {
                match &mut unlisted {
                    Some(u) => u.merge(seen),
                    None => unlisted = Some(seen),
                }
            }
        }
        match (&mut self.unlisted, unlisted) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, theirs) => self.unlisted = theirs,
            (Some(_), None) => {}
        }
    }

    /// Moves every line number `by` lines down (a part read on its own).
    pub fn shift(&mut self, by: usize) {
        for s in self.listed.values_mut().chain(self.unlisted.as_mut()) {
            s.first_line += by;
            s.last_line += by;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.unlisted.is_none()
    }

    /// One warning per field name, in order of first appearance; the unlisted names last.
    pub fn warnings(&self) -> Vec<Warning> {
        let where_ = |s: &Seen| {
            let plural = if s.lines == 1 { "" } else { "s" };
            format!(
                "ignored on {} line{plural}, the first line {}",
                s.lines, s.first_line
            )
        };
        let mut out: Vec<Warning> = self
            .listed
            .iter()
            .map(|(name, s)| Warning {
                field: Some(name.clone()),
                lines: s.lines,
                first_line: s.first_line,
                message: format!("field {name:?} is not read by Socle: {}", where_(s)),
            })
            .collect();
        out.sort_by_key(|w| w.first_line);
        out.extend(self.unlisted.iter().map(|s| Warning {
            field: None,
            lines: s.lines,
            first_line: s.first_line,
            message: format!(
                "more fields Socle does not read (past the first {MAX_UNKNOWN_FIELDS} names): {}",
                where_(s)
            ),
        }));
        out
    }
}

/// What a JSON Lines text held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Every event read, in file order.
    pub events: Vec<Event>,
    /// Every line that could not be read, in file order.
    pub errors: Vec<ParseError>,
    /// The fields of the lines read that Socle ignored.
    pub unknown_fields: UnknownFields,
}

/// Parses JSON Lines (blank lines and `#` comments skipped): every event read, every line that
/// could not be, with its number (1-based), and the fields ignored.
pub fn parse_jsonl(text: &str, default_source: &str) -> Parsed {
    let mut out = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match parse_event(t, default_source) {
            Ok(read) => {
                for name in &read.ignored {
                    out.unknown_fields.record(name, i + 1);
                }
                out.events.push(read.event);
            }
            Err(e) => out.errors.push(ParseError {
                line: i + 1,
                message: e.to_string(),
            }),
        }
    }
    out
}

/// [`parse_jsonl`] on `threads` threads: the text is split at line boundaries, each part parsed
/// on its own thread; events and errors come back in file order, line numbers preserved.
pub fn parse_jsonl_parallel(text: &str, default_source: &str, threads: usize) -> Parsed {
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
    let results: Vec<Parsed> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|(part, before)| {
                s.spawn(move || {
                    let mut p = parse_jsonl(part, default_source);
                    for e in &mut p.errors {
                        e.line += before;
                    }
                    p.unknown_fields.shift(*before);
                    p
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out = Parsed {
        events: Vec::with_capacity(results.iter().map(|r| r.events.len()).sum()),
        ..Parsed::default()
    };
    for p in results {
        out.events.extend(p.events);
        out.errors.extend(p.errors);
        out.unknown_fields.merge(p.unknown_fields);
    }
    out
}
