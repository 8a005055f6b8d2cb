//! Reading survey files: every YAML document of a file is a `kind: Survey`
//! (`apiVersion: socle.dev/v1alpha1`); errors carry file, line and field path.

use std::collections::BTreeSet;

use serde::Deserialize;
use socle_catalog::Limits;
use socle_catalog::yaml::{Node, Seg, parse_documents, path_string};

use crate::model::{
    Audience, MAX_OPTIONS, MAX_QUESTIONS, MAX_TEXT, MIN_THRESHOLD, Question, QuestionKind,
    Recurrence, Schedule, Survey, SurveyError,
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
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    /// `everyone` (the default) or `{teams: [team-a, …]}`.
    #[serde(default)]
    audience: Option<RawAudience>,
    opens: String,
    #[serde(default)]
    closes: Option<String>,
    #[serde(default)]
    recurrence: Option<String>,
    #[serde(default)]
    open_for_days: Option<u32>,
    #[serde(default)]
    threshold: Option<u32>,
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAudience {
    Word(String),
    Teams { teams: Vec<String> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    text: String,
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    required: Option<bool>,
    #[serde(default)]
    options: Option<Vec<String>>,
}

struct Located<'a> {
    file: &'a str,
    node: &'a Node,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

impl Located<'_> {
    fn error(&self, path: &[Seg], message: impl Into<String>) -> SurveyError {
        SurveyError {
            file: self.file.to_owned(),
            line: Some(self.node.locate(path).0),
            path: path_string(path),
            message: message.into(),
        }
    }
}

/// A lower-case slug: letters, digits and `-`, 1 to 63 bytes, starting with a letter.
pub fn is_slug(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A date written `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Reads every survey of one file's text. `file` names the file in errors.
pub fn load(text: &str, file: &str) -> Result<Vec<Survey>, Vec<SurveyError>> {
    let limits = Limits::default();
    let whole = |message: String, line: Option<u32>| SurveyError {
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
        match load_document(&Located { file, node }) {
            Ok(s) => out.push(s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(whole("the file holds no survey".into(), None));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn load_document(doc: &Located) -> Result<Survey, Vec<SurveyError>> {
    let mut raw: Doc = doc
        .node
        .decode()
        .map_err(|e| vec![doc.error(&e.path, e.message)])?;
    if raw.api_version != API_VERSION || raw.kind != "Survey" {
        return Err(vec![doc.error(
            &[key("kind")],
            format!(
                "not a survey (apiVersion {:?}, kind {:?}): expected apiVersion {API_VERSION}, kind Survey",
                raw.api_version, raw.kind
            ),
        )]);
    }
    let mut errors = Vec::new();
    if !is_slug(&raw.metadata.name) {
        errors.push(doc.error(
            &[key("metadata"), key("name")],
            "a survey's name is a lower-case slug (letters, digits, '-'; at most 63)",
        ));
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
    let audience = audience(doc, raw.spec.audience.take(), &mut errors);
    let schedule = schedule(doc, &raw.spec, &mut errors);
    if let Some(t) = raw.spec.threshold
        && t < MIN_THRESHOLD
    {
        errors.push(doc.error(
            &[key("spec"), key("threshold")],
            format!("the respondent threshold is at least {MIN_THRESHOLD}: fewer would let answers be told apart"),
        ));
    }
    let questions = questions(doc, raw.spec.questions, &mut errors);
    match (schedule, errors.is_empty()) {
        (Some(schedule), true) => Ok(Survey {
            title: raw
                .metadata
                .title
                .unwrap_or_else(|| raw.metadata.name.clone()),
            name: raw.metadata.name,
            description: raw.metadata.description,
            audience,
            schedule,
            threshold: raw.spec.threshold,
            questions,
            source: doc.file.to_owned(),
        }),
        _ => Err(errors),
    }
}

fn audience(doc: &Located, raw: Option<RawAudience>, errors: &mut Vec<SurveyError>) -> Audience {
    let at = [key("spec"), key("audience")];
    match raw {
        None => Audience::Everyone,
        Some(RawAudience::Word(w)) if w == "everyone" => Audience::Everyone,
        Some(RawAudience::Word(w)) => {
            errors.push(doc.error(
                &at,
                format!("audience {w:?}: `everyone` or `{{teams: [TEAM, …]}}`"),
            ));
            Audience::Everyone
        }
        Some(RawAudience::Teams { teams }) => {
            if teams.is_empty() || teams.len() > 500 {
                errors.push(doc.error(&at, "an audience names 1 to 500 teams"));
            }
            let mut out = Vec::new();
            for (i, t) in teams.iter().enumerate() {
                match socle_catalog::EntityRef::parse(t, Some("group"), "default") {
                    Ok(r) if r.as_str().starts_with("group:") => out.push(r.as_str().to_owned()),
                    _ => errors.push(doc.error(
                        &[&at[..], &[key("teams"), Seg::Index(i)]].concat(),
                        format!(
                            "{t:?} is not a group reference (`team-a`, `group:default/team-a`)"
                        ),
                    )),
                }
            }
            out.sort();
            out.dedup();
            Audience::Teams(out)
        }
    }
}

fn schedule(doc: &Located, spec: &Spec, errors: &mut Vec<SurveyError>) -> Option<Schedule> {
    let date = |field: &str, s: &str, errors: &mut Vec<SurveyError>| {
        let d = parse_date(s);
        if d.is_none() {
            errors.push(doc.error(
                &[key("spec"), key(field)],
                format!("{s:?} is not a date (YYYY-MM-DD)"),
            ));
        }
        d
    };
    let opens = date("opens", &spec.opens, errors);
    let closes = match &spec.closes {
        Some(c) => Some(date("closes", c, errors)?),
        None => None,
    };
    let recurrence = match &spec.recurrence {
        None => Recurrence::Once,
        Some(r) => match Recurrence::ALL.iter().find(|(n, _)| n == r) {
            Some((_, v)) => *v,
            None => {
                errors.push(doc.error(
                    &[key("spec"), key("recurrence")],
                    format!("recurrence {r:?}: one of once, monthly, quarterly, yearly"),
                ));
                return None;
            }
        },
    };
    let opens = opens?;
    if let Some(c) = closes
        && c < opens
    {
        errors.push(doc.error(
            &[key("spec"), key("closes")],
            "a survey closes on or after the day it opens",
        ));
    }
    let open_for_days = match (recurrence, spec.open_for_days) {
        (Recurrence::Once, Some(_)) => {
            errors.push(doc.error(
                &[key("spec"), key("openForDays")],
                "openForDays is for recurring surveys; a survey run once is open from opens to closes",
            ));
            0
        }
        (Recurrence::Once, None) => {
            if closes.is_none() {
                errors.push(doc.error(
                    &[key("spec")],
                    "a survey run once needs a closing date (closes: YYYY-MM-DD)",
                ));
            }
            0
        }
        (r, days) => {
            let days = days.unwrap_or(14);
            let most = r.months() * 28;
            if days == 0 || days > most {
                errors.push(doc.error(
                    &[key("spec"), key("openForDays")],
                    format!(
                            "a {} round is open for 1 to {most} days",
                            Recurrence::ALL
                                .iter()
                                .find(|x| x.1 == r)
                                .map_or("", |x| x.0)
                        ),
                ));
            }
            if opens.day() > 28 {
                errors.push(doc.error(
                    &[key("spec"), key("opens")],
                    "a recurring survey opens on day 1 to 28 of a month (every month has that day)",
                ));
            }
            days
        }
    };
    Some(Schedule {
        opens,
        closes,
        recurrence,
        open_for_days,
    })
}

fn questions(doc: &Located, raw: Vec<RawQuestion>, errors: &mut Vec<SurveyError>) -> Vec<Question> {
    if raw.is_empty() || raw.len() > MAX_QUESTIONS {
        errors.push(doc.error(
            &[key("spec"), key("questions")],
            format!("a survey has 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for (i, q) in raw.into_iter().enumerate() {
        let at = [key("spec"), key("questions"), Seg::Index(i)];
        let field = |k: &str| [&at[..], &[key(k)]].concat();
        if !is_slug(&q.id) {
            errors.push(doc.error(
                &field("id"),
                "a question id is a lower-case slug (letters, digits, '-')",
            ));
        } else if !ids.insert(q.id.clone()) {
            errors.push(doc.error(&field("id"), format!("question id {:?} is repeated", q.id)));
        }
        if q.text.trim().is_empty() || q.text.len() > MAX_TEXT {
            errors.push(doc.error(
                &field("text"),
                format!("a question's text is 1 to {MAX_TEXT} bytes"),
            ));
        }
        if q.theme.as_ref().is_some_and(|t| !is_slug(t)) {
            errors.push(doc.error(
                &field("theme"),
                "a theme is a lower-case slug (letters, digits, '-')",
            ));
        }
        let with_options = matches!(q.kind.as_str(), "single" | "multiple");
        let options = q.options.unwrap_or_default();
        if with_options {
            let distinct: BTreeSet<&String> = options.iter().collect();
            if options.len() < 2
                || options.len() > MAX_OPTIONS
                || distinct.len() != options.len()
                || options.iter().any(|o| o.trim().is_empty() || o.len() > 200)
            {
                errors.push(doc.error(
                    &field("options"),
                    format!("a choice question has 2 to {MAX_OPTIONS} distinct options of 1 to 200 bytes"),
                ));
            }
        } else if !options.is_empty() {
            errors.push(doc.error(
                &field("options"),
                "options go with single and multiple questions only",
            ));
        }
        let kind = match q.kind.as_str() {
            "likert" => QuestionKind::Likert,
            "enps" => QuestionKind::Enps,
            "single" => QuestionKind::Single(options),
            "multiple" => QuestionKind::Multiple(options),
            "text" => QuestionKind::Text,
            other => {
                errors.push(doc.error(
                    &field("type"),
                    format!(
                        "question type {other:?}: one of {}",
                        QuestionKind::NAMES.join(", ")
                    ),
                ));
                continue;
            }
        };
        out.push(Question {
            // Free text is optional unless said otherwise; every other question is required.
            required: q.required.unwrap_or(kind != QuestionKind::Text),
            id: q.id,
            text: q.text,
            theme: q.theme,
            kind,
        });
    }
    out
}
