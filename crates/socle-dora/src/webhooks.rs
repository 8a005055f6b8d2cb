//! GitHub and GitLab webhook payloads to events, and their signature checks.
//!
//! Pure: the HTTP layer hands over the headers it read and the raw body; this module checks the
//! signature or token ([`verify_github`], [`verify_gitlab`]) and maps the payload to the events
//! to store ([`github_events`], [`gitlab_events`]). Payloads Socle does not use (a `ping`, a
//! pending deployment status, an issue that is not an incident, an unknown event type) map to
//! no events. A malformed payload is an [`WebhookError::Invalid`] whose message names the JSON
//! field, e.g. `deployment_status.state: missing`.
//!
//! Deployments carry their `commit` and no `changes`: Socle derives what each one shipped from
//! the commits' `parent` links, which the push events provide.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::events::{
    Change, Deployment, Event, Incident, MAX_NAME, Millis, TimestampError, format_timestamp,
    parse_timestamp,
};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature / token → the HTTP layer answers 401.
    #[error("{0}")]
    Unauthorized(String),
    /// Malformed payload → 400. Message names the JSON field path, e.g. "deployment_status.state: missing".
    #[error("{0}")]
    Invalid(String),
}

/// Largest body accepted: 5 MiB.
pub const MAX_BODY: usize = 5 * 1024 * 1024;

/// Most commits accepted in one push. GitHub documents that a push payload's `commits` "includes
/// a maximum of 2048 commits", so a lower bound would turn away genuine pushes; GitLab sends at
/// most 20.
pub const MAX_PUSH_COMMITS: usize = 2048;

/// The `before` of a push that created the branch.
const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

const GITHUB: &str = "github";
const GITLAB: &str = "gitlab";

type HmacSha256 = Hmac<Sha256>;

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

/// `X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(secret, body)>`, compared in constant time (hmac's verify_slice).
///
/// An empty `secret` is refused: a webhook endpoint without a secret would accept anyone.
pub fn verify_github(
    secret: &[u8],
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), WebhookError> {
    let unauthorized = |m: &str| WebhookError::Unauthorized(m.to_owned());
    if secret.is_empty() {
        return Err(unauthorized("no GitHub webhook secret is configured"));
    }
    let header = signature.ok_or_else(|| unauthorized("X-Hub-Signature-256: missing"))?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or_else(|| unauthorized("X-Hub-Signature-256: expected `sha256=<hex>`"))?;
    let expected = hex::decode(hex_digest)
        .map_err(|_| unauthorized("X-Hub-Signature-256: the digest is not hexadecimal"))?;
    let mut mac = HmacSha256::new_from_slice(secret)
        .map_err(|_| unauthorized("the GitHub webhook secret is not a usable HMAC key"))?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| unauthorized("X-Hub-Signature-256: signature does not match"))
}

/// `X-Gitlab-Token` must equal the configured token (constant-time comparison; different lengths → Unauthorized).
///
/// An empty configured `token` is refused: it would accept a missing or empty header.
pub fn verify_gitlab(token: &str, header: Option<&str>) -> Result<(), WebhookError> {
    let unauthorized = |m: &str| WebhookError::Unauthorized(m.to_owned());
    if token.is_empty() {
        return Err(unauthorized("no GitLab webhook token is configured"));
    }
    let given = header.ok_or_else(|| unauthorized("X-Gitlab-Token: missing"))?;
    if constant_time_eq(token.as_bytes(), given.as_bytes()) {
        Ok(())
    } else {
        Err(unauthorized("X-Gitlab-Token: token does not match"))
    }
}

/// Equality whose time depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

// ---------------------------------------------------------------------------------------------
// JSON navigation with field paths in the errors
// ---------------------------------------------------------------------------------------------

static NULL: Value = Value::Null;

/// A value in the payload with the path that reached it (`commits[1].timestamp`); a missing
/// field is `null`, so "absent" and "null" read the same.
#[derive(Clone, Copy)]
struct At<'a, 'p> {
    value: &'a Value,
    parent: Option<&'p At<'a, 'p>>,
    step: Step<'p>,
}

#[derive(Clone, Copy)]
enum Step<'p> {
    Root,
    Key(&'p str),
    Index(usize),
}

fn invalid(msg: String) -> WebhookError {
    WebhookError::Invalid(msg)
}

impl<'a, 'p> At<'a, 'p> {
    fn root(value: &'a Value) -> Self {
        At {
            value,
            parent: None,
            step: Step::Root,
        }
    }

    fn path(&self) -> String {
        let mut steps = Vec::new();
        let mut cur = Some(self);
        while let Some(at) = cur {
            steps.push(at.step);
            cur = at.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Root => {}
                Step::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if out.is_empty() { "(body)".into() } else { out }
    }

    fn err(&self, what: &str) -> WebhookError {
        invalid(format!("{}: {what}", self.path()))
    }

    fn get(&'p self, key: &'p str) -> At<'a, 'p> {
        At {
            value: self.value.get(key).unwrap_or(&NULL),
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    fn is_missing(&self) -> bool {
        self.value.is_null()
    }

    fn object(&self) -> Result<(), WebhookError> {
        match self.value {
            Value::Object(_) => Ok(()),
            Value::Null => Err(self.err("missing")),
            _ => Err(self.err("expected an object")),
        }
    }

    fn opt_str(&self) -> Result<Option<&'a str>, WebhookError> {
        match self.value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(self.err("expected a string")),
        }
    }

    fn str(&self) -> Result<&'a str, WebhookError> {
        self.opt_str()?.ok_or_else(|| self.err("missing"))
    }

    /// A string that must not be empty (ids, names).
    fn non_empty(&self) -> Result<&'a str, WebhookError> {
        let s = self.str()?;
        if s.is_empty() {
            return Err(self.err("must not be empty"));
        }
        Ok(s)
    }

    fn opt_bool(&self) -> Result<Option<bool>, WebhookError> {
        match self.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            _ => Err(self.err("expected a boolean")),
        }
    }

    /// A numeric (or string) identifier, as a string.
    fn id(&self) -> Result<String, WebhookError> {
        match self.value {
            Value::Null => Err(self.err("missing")),
            Value::Number(n) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(self.err("expected an integer id")),
        }
    }

    fn opt_array(&self) -> Result<&'a [Value], WebhookError> {
        match self.value {
            Value::Null => Ok(&[]),
            Value::Array(a) => Ok(a),
            _ => Err(self.err("expected an array")),
        }
    }

    fn index(&'p self, i: usize) -> At<'a, 'p> {
        At {
            value: self.value.get(i).unwrap_or(&NULL),
            parent: Some(self),
            step: Step::Index(i),
        }
    }

    fn timestamp(
        &self,
        parse: fn(&str) -> Result<Millis, TimestampError>,
    ) -> Result<Millis, WebhookError> {
        parse(self.str()?).map_err(|e| self.err(&e.to_string()))
    }

    fn opt_timestamp(
        &self,
        parse: fn(&str) -> Result<Millis, TimestampError>,
    ) -> Result<Option<Millis>, WebhookError> {
        match self.opt_str()? {
            None => Ok(None),
            Some(s) => parse(s).map(Some).map_err(|e| self.err(&e.to_string())),
        }
    }
}

fn parse_body(body: &[u8]) -> Result<Value, WebhookError> {
    if body.len() > MAX_BODY {
        return Err(invalid(format!(
            "body: {} bytes, more than the {MAX_BODY} accepted",
            body.len()
        )));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("body: not JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("body: expected a JSON object".into()));
    }
    Ok(value)
}

/// A name Socle keys on (service, environment, id): 1 to [`MAX_NAME`] characters.
fn name(at: &At, value: String) -> Result<String, WebhookError> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(at.err(&format!("must be 1 to {MAX_NAME} characters")));
    }
    Ok(value)
}

fn check_resolved(
    at: &At,
    started_at: Millis,
    resolved_at: Option<Millis>,
) -> Result<(), WebhookError> {
    match resolved_at {
        Some(r) if r < started_at => Err(at.err(&format!(
            "{} is before the incident started ({})",
            format_timestamp(r),
            format_timestamp(started_at)
        ))),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Pushes: commits → changes with parent links
// ---------------------------------------------------------------------------------------------

struct Commit {
    id: String,
    committed_at: Millis,
}

fn read_commits(
    root: &At,
    parse: fn(&str) -> Result<Millis, TimestampError>,
) -> Result<Vec<Commit>, WebhookError> {
    let commits = root.get("commits");
    let list = commits.opt_array()?;
    if list.len() > MAX_PUSH_COMMITS {
        return Err(commits.err(&format!(
            "{} commits, more than the {MAX_PUSH_COMMITS} accepted in one push",
            list.len()
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let c = commits.index(i);
        c.object()?;
        let id = c.get("id");
        out.push(Commit {
            id: name(&id, id.non_empty()?.to_owned())?,
            committed_at: c.get("timestamp").timestamp(parse)?,
        });
    }
    Ok(out)
}

/// Changes from commits listed oldest first: each one's parent is the previous one, the first
/// one's is the push's `before` (none when the push created the branch).
fn chain(source: &str, service: &str, before: Option<&str>, commits: Vec<Commit>) -> Vec<Event> {
    let mut parent = before
        .filter(|b| !b.is_empty() && *b != ZERO_SHA)
        .map(str::to_owned);
    commits
        .into_iter()
        .map(|c| {
            let change = Change {
                source: source.to_owned(),
                id: c.id.clone(),
                service: service.to_owned(),
                committed_at: c.committed_at,
                parent: parent.replace(c.id),
            };
            Event::Change(change)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// GitHub
// ---------------------------------------------------------------------------------------------

/// `event` is the `X-GitHub-Event` header value. Returns the events to store (possibly empty: `ping`, pending statuses, issues without the `incident` label, unknown event types → Ok(vec![])).
pub fn github_events(event: &str, body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    if body.len() > MAX_BODY {
        return Err(invalid(format!(
            "body: {} bytes, more than the {MAX_BODY} accepted",
            body.len()
        )));
    }
    match event.trim() {
        "push" => {
            let v = parse_body(body)?;
            github_push(&At::root(&v))
        }
        "deployment_status" => {
            let v = parse_body(body)?;
            github_deployment_status(&At::root(&v))
        }
        "issues" => {
            let v = parse_body(body)?;
            github_issue(&At::root(&v))
        }
        _ => Ok(Vec::new()),
    }
}

fn github_service(root: &At) -> Result<String, WebhookError> {
    let repository = root.get("repository");
    repository.object()?;
    let n = repository.get("name");
    name(&n, n.non_empty()?.to_lowercase())
}

fn github_push(root: &At) -> Result<Vec<Event>, WebhookError> {
    if root.get("deleted").opt_bool()? == Some(true) {
        return Ok(Vec::new());
    }
    let service = github_service(root)?;
    let commits = read_commits(root, parse_timestamp)?;
    if commits.is_empty() {
        return Ok(Vec::new());
    }
    let before = root.get("before").opt_str()?;
    // GitHub lists the pushed commits oldest first.
    Ok(chain(GITHUB, &service, before, commits))
}

fn github_deployment_status(root: &At) -> Result<Vec<Event>, WebhookError> {
    let status = root.get("deployment_status");
    status.object()?;
    let state = status.get("state");
    let outcome = match state.non_empty()?.to_ascii_lowercase().as_str() {
        "success" => "success",
        "failure" | "error" => "failure",
        // pending, queued, in_progress, inactive: not a finished deployment.
        _ => return Ok(Vec::new()),
    };
    let service = github_service(root)?;
    let deployment = root.get("deployment");
    deployment.object()?;
    let id = deployment.get("id");
    let id = name(&id, id.id()?)?;

    let env = deployment.get("environment");
    let env = match env.opt_str()? {
        Some(e) if !e.is_empty() => (env, e),
        _ => {
            let fallback = status.get("environment");
            let e = fallback.opt_str()?.filter(|e| !e.is_empty());
            match e {
                Some(e) => (fallback, e),
                None => return Err(env.err("missing (and deployment_status.environment too)")),
            }
        }
    };
    let environment = name(&env.0, env.1.to_owned())?;

    let updated = status.get("updated_at");
    let finished_at = match updated.opt_timestamp(parse_timestamp)? {
        Some(t) => t,
        None => {
            let created = status.get("created_at");
            if created.is_missing() {
                return Err(updated.err("missing (and deployment_status.created_at too)"));
            }
            created.timestamp(parse_timestamp)?
        }
    };
    let sha = deployment.get("sha");
    let commit = sha.opt_str()?.filter(|s| !s.is_empty()).map(str::to_owned);

    Ok(vec![Event::Deployment(Deployment {
        source: GITHUB.into(),
        id,
        service,
        environment,
        status: outcome.into(),
        finished_at,
        changes: Vec::new(),
        commit,
    })])
}

fn github_issue(root: &At) -> Result<Vec<Event>, WebhookError> {
    let issue = root.get("issue");
    issue.object()?;
    let labels = issue.get("labels");
    let mut incident = false;
    for i in 0..labels.opt_array()?.len() {
        let label = labels.index(i);
        // Labels are objects with a `name`; accept bare strings too.
        let n = match label.value {
            Value::String(s) => Some(s.as_str()),
            _ => label.get("name").opt_str()?,
        };
        incident |= n.is_some_and(|n| n.trim().eq_ignore_ascii_case("incident"));
    }
    if !incident {
        return Ok(Vec::new());
    }
    let service = github_service(root)?;
    let full_name = root.get("repository").get("full_name").non_empty()?;
    let number = issue.get("number");
    let id = format!("{full_name}#{}", number.id()?);
    incident_from_issue(GITHUB, service, &number, id, &issue, parse_timestamp)
}

/// The incident an issue stands for: opened at `created_at`, resolved at `closed_at` once its
/// `state` is closed.
fn incident_from_issue(
    source: &str,
    service: String,
    key: &At,
    id: String,
    issue: &At,
    parse: fn(&str) -> Result<Millis, TimestampError>,
) -> Result<Vec<Event>, WebhookError> {
    let started_at = issue.get("created_at").timestamp(parse)?;
    let state = issue.get("state").opt_str()?;
    let closed = issue.get("closed_at");
    let resolved_at = if state.is_some_and(|s| s.eq_ignore_ascii_case("closed")) {
        Some(closed.timestamp(parse)?)
    } else {
        None
    };
    check_resolved(&closed, started_at, resolved_at)?;
    Ok(vec![Event::Incident(Incident {
        source: source.into(),
        id: name(key, id)?,
        service,
        started_at,
        resolved_at,
        deployment: None,
        title: None,
        severity: None,
        url: None,
        labels: Default::default(),
    })])
}

// ---------------------------------------------------------------------------------------------
// GitLab
// ---------------------------------------------------------------------------------------------

/// `event` is the `X-Gitlab-Event` header value (e.g. "Push Hook", "Deployment Hook", "Issue Hook"); also look at the body's `object_kind`.
///
/// The body's `object_kind` must agree with the header (`push`, `deployment`, `issue`);
/// "Confidential Issue Hook" is read like "Issue Hook".
pub fn gitlab_events(event: &str, body: &[u8]) -> Result<Vec<Event>, WebhookError> {
    if body.len() > MAX_BODY {
        return Err(invalid(format!(
            "body: {} bytes, more than the {MAX_BODY} accepted",
            body.len()
        )));
    }
    let kind = match event.trim() {
        "Push Hook" => "push",
        "Deployment Hook" => "deployment",
        "Issue Hook" | "Confidential Issue Hook" => "issue",
        _ => return Ok(Vec::new()),
    };
    let v = parse_body(body)?;
    let root = At::root(&v);
    let object_kind = root.get("object_kind");
    let got = object_kind.str()?;
    if got != kind {
        return Err(object_kind.err(&format!(
            "{got:?} does not match the {event:?} header (expected {kind:?})"
        )));
    }
    match kind {
        "push" => gitlab_push(&root),
        "deployment" => gitlab_deployment(&root),
        _ => gitlab_issue(&root),
    }
}

/// The project's short name, lowercased: `project.path` when sent, else the last segment of
/// `project.path_with_namespace` (GitLab's `Project#hook_attrs` has no `path`), else
/// `project.name`.
fn gitlab_service(root: &At) -> Result<String, WebhookError> {
    let project = root.get("project");
    project.object()?;
    let path = project.get("path");
    if let Some(p) = path.opt_str()?.filter(|p| !p.is_empty()) {
        return name(&path, p.to_lowercase());
    }
    let full = project.get("path_with_namespace");
    if let Some(last) = full
        .opt_str()?
        .and_then(|f| f.rsplit('/').next())
        .filter(|l| !l.is_empty())
    {
        return name(&full, last.to_lowercase());
    }
    let n = project.get("name");
    match n.opt_str()?.filter(|n| !n.is_empty()) {
        Some(n2) => name(&n, n2.to_lowercase()),
        None => Err(path.err("missing (and project.path_with_namespace, project.name too)")),
    }
}

fn gitlab_push(root: &At) -> Result<Vec<Event>, WebhookError> {
    let mut commits = read_commits(root, parse_timestamp)?;
    if commits.is_empty() {
        return Ok(Vec::new());
    }
    let service = gitlab_service(root)?;
    let before = root.get("before").opt_str()?;
    // GitLab's order is not documented. The newest commit is `after`: when it comes first the
    // list is newest first, so turn it around before the (stable) sort, which then keeps commits
    // with the same timestamp in history order.
    let after = root.get("after").opt_str()?;
    if commits.len() > 1 && after.is_some_and(|a| a == commits[0].id) {
        commits.reverse();
    }
    commits.sort_by_key(|c| c.committed_at);
    Ok(chain(GITLAB, &service, before, commits))
}

fn gitlab_deployment(root: &At) -> Result<Vec<Event>, WebhookError> {
    let status = root.get("status");
    let outcome = match status.non_empty()?.to_ascii_lowercase().as_str() {
        "success" => "success",
        "failed" => "failure",
        // created, running, canceled, blocked…
        _ => return Ok(Vec::new()),
    };
    let service = gitlab_service(root)?;
    let id = root.get("deployment_id");
    let id = name(&id, id.id()?)?;
    let env = root.get("environment");
    let environment = name(&env, env.non_empty()?.to_owned())?;
    let finished_at = root
        .get("status_changed_at")
        .timestamp(parse_gitlab_timestamp)?;
    Ok(vec![Event::Deployment(Deployment {
        source: GITLAB.into(),
        id,
        service,
        environment,
        status: outcome.into(),
        finished_at,
        changes: Vec::new(),
        commit: gitlab_deployment_commit(root)?,
    })])
}

/// The full SHA deployed: `sha` when sent; GitLab's deployment payload itself only has
/// `short_sha` and `commit_url` (`…/-/commit/<sha>`), so take it from the URL. A short SHA
/// would never match a change id: no commit then.
fn gitlab_deployment_commit(root: &At) -> Result<Option<String>, WebhookError> {
    if let Some(sha) = root.get("sha").opt_str()?.filter(|s| !s.is_empty()) {
        return Ok(Some(sha.to_owned()));
    }
    let url = root.get("commit_url").opt_str()?;
    Ok(url
        .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
        .filter(|s| (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase))
}

fn gitlab_issue(root: &At) -> Result<Vec<Event>, WebhookError> {
    let attrs = root.get("object_attributes");
    attrs.object()?;
    let issue_type = attrs.get("issue_type").opt_str()?;
    let work_item_type = attrs.get("type").opt_str()?;
    let incident = [issue_type, work_item_type]
        .into_iter()
        .flatten()
        .any(|t| t.trim().eq_ignore_ascii_case("incident"));
    if !incident {
        return Ok(Vec::new());
    }
    let service = gitlab_service(root)?;
    let full = root.get("project").get("path_with_namespace").non_empty()?;
    let iid = attrs.get("iid");
    let id = format!("{full}#{}", iid.id()?);
    incident_from_issue(GITLAB, service, &iid, id, &attrs, parse_gitlab_timestamp)
}

/// Parses the timestamps GitLab sends: RFC 3339 (`2011-12-12T14:27:31+02:00`), Ruby's
/// `Time#to_s` (`2021-04-28 21:50:00 +0200`, deployment `status_changed_at`) and the older
/// `2013-12-03 17:15:43 UTC`. A timestamp without a zone is an error.
pub fn parse_gitlab_timestamp(s: &str) -> Result<Millis, TimestampError> {
    let s = s.trim();
    if let Ok(ms) = parse_timestamp(s) {
        return Ok(ms);
    }
    let to_ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as Millis;
    let with_offset = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]] [offset_hour sign:mandatory][optional [:]][offset_minute]"
    );
    if let Ok(t) = OffsetDateTime::parse(s, with_offset) {
        return Ok(to_ms(t));
    }
    if let Some(local) = s.strip_suffix(" UTC") {
        let naive = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        if let Ok(t) = PrimitiveDateTime::parse(local, naive) {
            return Ok(to_ms(t.assume_utc()));
        }
    }
    let naive = format_description!(
        "[year]-[month]-[day][first [T][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if PrimitiveDateTime::parse(s, naive).is_ok() {
        return Err(TimestampError::GitlabNoTimezone(s.to_owned()));
    }
    Err(TimestampError::NotGitlab(s.to_owned()))
}
