//! Reading scorecard files: every YAML document of a file is a `kind: Scorecard`
//! (`apiVersion: socle.dev/v1alpha1`) — or, for campaign files, a `kind: Campaign` (a
//! scorecard without levels, with start and target dates and a brief); errors carry file,
//! line and field path.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use socle_catalog::Limits;
use socle_catalog::yaml::{Node, Seg, parse_documents, path_string};

use crate::builtin;
use crate::eval::check_rego;
use crate::model::{
    CAMPAIGN_LEVEL, Campaign, Check, DEFAULT_LEVELS, Filter, MAX_LEVELS, MAX_REGO_BYTES, MAX_RULES,
    MAX_TEXT, Rule, Scorecard, ScorecardError,
};

pub const API_VERSION: &str = "socle.dev/v1alpha1";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc {
    api_version: String,
    kind: String,
    metadata: Meta,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default)]
    filter: RawFilter,
    #[serde(default)]
    levels: Option<Vec<String>>,
    rules: Vec<RawRule>,
    /// Campaigns only: `YYYY-MM-DD`.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    brief: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    kind: OneOrMany,
    #[serde(default, rename = "type")]
    spec_type: OneOrMany,
    #[serde(default)]
    lifecycle: OneOrMany,
    #[serde(default)]
    tags: OneOrMany,
    #[serde(default)]
    owner: OneOrMany,
    #[serde(default)]
    system: OneOrMany,
}

/// A filter field: one string or a list of them.
#[derive(Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    fixit: Option<String>,
    #[serde(default)]
    facts: Option<Vec<String>>,
    check: RawCheck,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(default)]
    builtin: Option<String>,
    #[serde(default)]
    params: Option<serde_json::Value>,
    #[serde(default)]
    rego: Option<String>,
}

struct Located<'a> {
    file: &'a str,
    node: &'a Node,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

impl Located<'_> {
    fn error(&self, path: &[Seg], message: impl Into<String>) -> ScorecardError {
        ScorecardError {
            file: self.file.to_owned(),
            line: Some(self.node.locate(path).0),
            path: path_string(path),
            message: message.into(),
        }
    }

    fn decode<T: DeserializeOwned>(&self) -> Result<T, ScorecardError> {
        self.node
            .decode()
            .map_err(|e| self.error(&e.path, e.message))
    }
}

/// A lower-case slug: letters, digits and `-`, 1 to 63 bytes, starting with a letter.
pub fn is_slug(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Reads every scorecard of one file's text. `file` names the file in errors.
pub fn load(text: &str, file: &str) -> Result<Vec<Scorecard>, Vec<ScorecardError>> {
    Ok(load_kind(text, file, Kind::Scorecard)?
        .into_iter()
        .map(|(card, _)| card)
        .collect())
}

/// Reads every campaign (`kind: Campaign`) of one file's text.
pub fn load_campaigns(text: &str, file: &str) -> Result<Vec<Campaign>, Vec<ScorecardError>> {
    Ok(load_kind(text, file, Kind::Campaign)?
        .into_iter()
        .filter_map(|(card, dates)| {
            dates.map(|(start, target, brief)| Campaign {
                card,
                start,
                target,
                brief,
            })
        })
        .collect())
}

/// A scorecard or a campaign, as one document of a catalog location defines it.
#[derive(Clone, Debug, PartialEq)]
pub enum Definition {
    Scorecard(Scorecard),
    Campaign(Campaign),
}

/// The catalog kinds (as in entity references: lower case) whose documents are scorecards and
/// campaigns.
pub const DEFINITION_KINDS: &[&str] = &["scorecard", "campaign"];

/// Reads one document — a `kind: Scorecard` or a `kind: Campaign`, by its kind — with the
/// positions of its tree; `file` names it in errors.
pub fn load_definition(node: &Node, file: &str) -> Result<Definition, Vec<ScorecardError>> {
    let doc = Located { file, node };
    let kind = match node
        .to_json()
        .get("kind")
        .and_then(serde_json::Value::as_str)
    {
        Some("Campaign") => Kind::Campaign,
        _ => Kind::Scorecard,
    };
    let (card, parts) = load_document(&doc, kind)?;
    Ok(match parts {
        Some((start, target, brief)) => Definition::Campaign(Campaign {
            card,
            start,
            target,
            brief,
        }),
        None => Definition::Scorecard(card),
    })
}

/// Reads a definition from a catalog entity as stored (its body as JSON, the document at
/// `file`:`line`): the catalog's own metadata (namespace, annotations, labels) is set aside.
pub fn definition_of_entity(
    body: &serde_json::Value,
    file: &str,
    line: u32,
) -> Result<Definition, Vec<ScorecardError>> {
    let mut body = body.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.retain(|k, _| matches!(k.as_str(), "name" | "title" | "description"));
    }
    load_definition(&Node::from_json(&body, line, 1), file)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scorecard,
    Campaign,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Scorecard => "Scorecard",
            Kind::Campaign => "Campaign",
        }
    }
}

type CampaignParts = (time::Date, time::Date, String);

fn load_kind(
    text: &str,
    file: &str,
    kind: Kind,
) -> Result<Vec<(Scorecard, Option<CampaignParts>)>, Vec<ScorecardError>> {
    let limits = Limits::default();
    let whole = |message: String, line: Option<u32>| ScorecardError {
        file: file.to_owned(),
        line,
        path: String::new(),
        message,
    };
    if text.len() > limits.max_file_bytes {
        return Err(vec![whole(
            format!("the file is larger than {} bytes", limits.max_file_bytes),
            None,
        )]);
    }
    let docs = parse_documents(text, &limits)
        .map_err(|e| vec![whole(format!("invalid YAML: {}", e.message), e.line)])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for node in &docs {
        match load_document(&Located { file, node }, kind) {
            Ok(s) => out.push(s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(whole(
            format!("the file holds no {}", kind.name().to_lowercase()),
            None,
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A campaign's dates and brief (`None` for a scorecard, which may not have them).
fn campaign_parts(
    doc: &Located,
    spec: &mut Spec,
    kind: Kind,
    errors: &mut Vec<ScorecardError>,
) -> Option<CampaignParts> {
    let at = |k: &str| [key("spec"), key(k)];
    if kind == Kind::Scorecard {
        for (k, v) in [
            ("start", &spec.start),
            ("target", &spec.target),
            ("brief", &spec.brief),
        ] {
            if v.is_some() {
                errors.push(doc.error(&at(k), format!("{k} is a campaign's field")));
            }
        }
        return None;
    }
    if spec.levels.is_some() {
        errors.push(doc.error(
            &at("levels"),
            "a campaign has no levels: an entity passes all its rules or not",
        ));
    }
    spec.levels = Some(vec![CAMPAIGN_LEVEL.to_owned()]);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut date = |k: &str, v: &Option<String>| match v
        .as_deref()
        .map(|d| time::Date::parse(d.trim(), &format))
    {
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            errors.push(doc.error(&at(k), format!("{k} is a date (YYYY-MM-DD)")));
            None
        }
        None => {
            errors.push(doc.error(&at(k), format!("a campaign needs a {k} date (YYYY-MM-DD)")));
            None
        }
    };
    let start = date("start", &spec.start);
    let target = date("target", &spec.target);
    let brief = spec.brief.take().unwrap_or_default();
    if brief.trim().is_empty() || brief.len() > MAX_TEXT {
        errors.push(doc.error(
            &at("brief"),
            format!("a campaign needs a brief of at most {MAX_TEXT} bytes"),
        ));
    }
    let (start, target) = (start?, target?);
    if target <= start {
        errors.push(doc.error(&at("target"), "the target date comes after the start date"));
    }
    Some((start, target, brief))
}

fn load_document(
    doc: &Located,
    kind: Kind,
) -> Result<(Scorecard, Option<CampaignParts>), Vec<ScorecardError>> {
    let mut raw: Doc = doc.decode().map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    if raw.api_version != API_VERSION || raw.kind != kind.name() {
        errors.push(doc.error(
            &[key("kind")],
            format!(
                "not a {} (apiVersion {:?}, kind {:?}): expected apiVersion {API_VERSION}, kind {}",
                kind.name().to_lowercase(),
                raw.api_version,
                raw.kind,
                kind.name()
            ),
        ));
        return Err(errors);
    }
    let parts = campaign_parts(doc, &mut raw.spec, kind, &mut errors);
    if !is_slug(&raw.metadata.name) {
        errors.push(doc.error(
            &[key("metadata"), key("name")],
            "a scorecard's name is a lower-case slug (letters, digits, '-'; at most 63)",
        ));
    }
    let levels = raw
        .spec
        .levels
        .unwrap_or_else(|| DEFAULT_LEVELS.iter().map(|l| (*l).to_owned()).collect());
    check_levels(doc, &levels, &mut errors);
    if raw.spec.rules.is_empty() || raw.spec.rules.len() > MAX_RULES {
        errors.push(doc.error(
            &[key("spec"), key("rules")],
            format!("a scorecard has 1 to {MAX_RULES} rules"),
        ));
    }
    let mut ids = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, r) in raw.spec.rules.into_iter().enumerate() {
        let at = [key("spec"), key("rules"), Seg::Index(i)];
        if !ids.insert(r.id.clone()) {
            errors.push(doc.error(
                &[&at[..], &[key("id")]].concat(),
                format!("rule id {:?} is repeated", r.id),
            ));
        }
        match load_rule(doc, &at, r, &levels) {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(e),
        }
    }
    for t in [&raw.metadata.title, &raw.metadata.description]
        .into_iter()
        .flatten()
    {
        if t.len() > MAX_TEXT {
            errors.push(doc.error(
                &[key("metadata")],
                format!("texts are at most {MAX_TEXT} bytes"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let f = raw.spec.filter;
    let card = Scorecard {
        title: raw
            .metadata
            .title
            .unwrap_or_else(|| raw.metadata.name.clone()),
        name: raw.metadata.name,
        description: raw.metadata.description,
        filter: Filter {
            kind: f.kind.into_vec(),
            spec_type: f.spec_type.into_vec(),
            lifecycle: f.lifecycle.into_vec(),
            tags: f.tags.into_vec(),
            owner: refs(f.owner.into_vec(), "group"),
            system: refs(f.system.into_vec(), "system"),
        },
        levels,
        rules,
        source: doc.file.to_owned(),
    };
    Ok((card, parts))
}

/// Filter references in full (`team-a` → `group:default/team-a`); a malformed one is kept as
/// written (it then matches nothing).
fn refs(v: Vec<String>, kind: &str) -> Vec<String> {
    v.into_iter()
        .map(|s| {
            socle_catalog::EntityRef::parse(&s, Some(kind), "default")
                .map(|r| r.as_str().to_owned())
                .unwrap_or(s)
        })
        .collect()
}

fn check_levels(doc: &Located, levels: &[String], errors: &mut Vec<ScorecardError>) {
    let at = [key("spec"), key("levels")];
    if levels.is_empty() || levels.len() > MAX_LEVELS {
        errors.push(doc.error(&at, format!("a scorecard has 1 to {MAX_LEVELS} levels")));
    }
    let mut seen = BTreeSet::new();
    for (i, l) in levels.iter().enumerate() {
        if l.trim().is_empty() || l.len() > 64 || !seen.insert(l) {
            errors.push(doc.error(
                &[&at[..], &[Seg::Index(i)]].concat(),
                "level names are distinct, non-empty and at most 64 bytes",
            ));
        }
    }
}

fn load_rule(
    doc: &Located,
    at: &[Seg],
    r: RawRule,
    levels: &[String],
) -> Result<Rule, ScorecardError> {
    let field = |k: &str| [at, &[key(k)]].concat();
    if !is_slug(&r.id) {
        return Err(doc.error(
            &field("id"),
            "a rule id is a lower-case slug (letters, digits, '-')",
        ));
    }
    let level = match &r.level {
        None => 0,
        Some(l) => levels.iter().position(|x| x == l).ok_or_else(|| {
            doc.error(
                &field("level"),
                format!("unknown level {l:?}; the levels are {}", levels.join(", ")),
            )
        })?,
    };
    let check_at = field("check");
    let (check, title, fixit, facts) = match (r.check.builtin, r.check.rego) {
        (Some(name), None) => {
            let params = r.check.params.unwrap_or(serde_json::Value::Null);
            let e = builtin::expand(&name, &params)
                .map_err(|m| doc.error(&[&check_at[..], &[key("params")]].concat(), m))?;
            (
                Check::Builtin { name, params },
                Some(e.title),
                Some(e.fixit),
                e.facts,
            )
        }
        (None, Some(source)) => {
            if r.check.params.is_some() {
                return Err(doc.error(&check_at, "params go with a builtin check only"));
            }
            if source.len() > MAX_REGO_BYTES {
                return Err(doc.error(
                    &check_at,
                    format!("Rego checks are at most {MAX_REGO_BYTES} bytes"),
                ));
            }
            check_rego(&source)
                .map_err(|m| doc.error(&[&check_at[..], &[key("rego")]].concat(), m))?;
            (Check::Rego { source }, None, None, Vec::new())
        }
        _ => {
            return Err(doc.error(
                &check_at,
                "a check is either {builtin: NAME, params: …} or {rego: …}",
            ));
        }
    };
    let title = r
        .title
        .or(title)
        .ok_or_else(|| doc.error(&field("title"), "a Rego rule needs a title"))?;
    let fixit = r
        .fixit
        .or(fixit)
        .ok_or_else(|| doc.error(&field("fixit"), "a Rego rule needs a fix-it text"))?;
    if title.len() > MAX_TEXT || fixit.len() > MAX_TEXT {
        return Err(doc.error(at, format!("texts are at most {MAX_TEXT} bytes")));
    }
    Ok(Rule {
        id: r.id,
        level,
        title,
        fixit,
        facts: r.facts.unwrap_or(facts),
        check,
    })
}
