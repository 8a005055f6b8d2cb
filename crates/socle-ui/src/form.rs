//! A golden path's parameters as an HTML form, and the submitted form back into JSON.
//!
//! A Backstage scaffolder template describes its input as `spec.parameters`: a list of JSON
//! Schema objects, one per form page, each with `title`, `description`, `required` and
//! `properties`. [`render_pages`] draws every page as a `<fieldset>` of labelled, accessible
//! fields (widgets chosen from the property's `type`, `enum` and the `ui:widget` / `ui:field`
//! hints Backstage uses), and [`parse_submission`] turns the submitted
//! `application/x-www-form-urlencoded` pairs back into the JSON object the template expects,
//! typed by the same schemas.
//!
//! Field names are [`FIELD_PREFIX`] + the property name, so that other form fields (a CSRF
//! token, buttons) never mix with parameters; field ids are `f-` + the property name (any
//! character other than ASCII letters, digits, `-` and `_` replaced by `-`). Client-side
//! attributes (`pattern`, `required`, `min`…) are a convenience: the schema validator on the
//! server is the authority, which is why [`parse_submission`] keeps values it cannot type
//! (an unparsable number stays a string) for the validator to report.

use std::collections::{BTreeMap, HashMap, HashSet};

use maud::{Markup, html};
use serde_json::{Map, Value};

/// The prefix of every parameter's form field name (`p.name` for the property `name`).
pub const FIELD_PREFIX: &str = "p.";

/// The `ui:field` values drawn as a text input with suggestions from the catalog.
const PICKERS: [&str; 3] = ["OwnerPicker", "EntityPicker", "OwnedEntityPicker"];

/// The placeholder of a `RepoUrlPicker` field: the format Backstage's `publish:*` actions read.
const REPO_URL_PLACEHOLDER: &str = "github.com?owner=ORG&repo=NAME";

/// Validation messages to show with the form.
///
/// Keys are property names (without [`FIELD_PREFIX`]); the empty key holds form-level
/// messages. Messages for a property that is on none of the pages are shown with the
/// form-level ones, prefixed with the property name, so that none is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No messages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a message for a property (`""` for the whole form).
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// The messages of a property (`""` for the whole form).
    pub fn get(&self, field: &str) -> &[String] {
        self.0.get(field).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether there is no message at all.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }
}

/// How a property is drawn (and so how its submitted value is read back).
enum Widget<'s> {
    Text,
    Password,
    Textarea,
    Select(&'s [Value]),
    Checkbox,
    Number {
        integer: bool,
    },
    /// An array of enumerated items: one checkbox per item.
    Checkboxes(&'s [Value]),
    /// A catalog picker (`ui:field` in [`PICKERS`]).
    Picker(&'s str),
    RepoUrl,
    /// Objects and anything else: JSON in a textarea.
    Json,
}

impl<'s> Widget<'s> {
    fn of(schema: &'s Value) -> Self {
        let ui_field = str_at(schema, "ui:field");
        if let Some(field) = ui_field.filter(|field| PICKERS.contains(field)) {
            return Widget::Picker(field);
        }
        if ui_field == Some("RepoUrlPicker") {
            return Widget::RepoUrl;
        }
        if let Some(options) = enum_at(schema) {
            return Widget::Select(options);
        }
        match schema_type(schema) {
            Some("boolean") => Widget::Checkbox,
            Some("integer") => Widget::Number { integer: true },
            Some("number") => Widget::Number { integer: false },
            Some("array") => match schema.get("items").and_then(enum_at) {
                Some(options) => Widget::Checkboxes(options),
                None => Widget::Json,
            },
            Some("string") => match str_at(schema, "ui:widget") {
                Some("password") => Widget::Password,
                Some("textarea") => Widget::Textarea,
                _ => Widget::Text,
            },
            _ => Widget::Json,
        }
    }
}

/// A property of a page.
struct Field<'s> {
    name: &'s str,
    schema: &'s Value,
    required: bool,
}

/// The properties of a page, in document order.
fn page_fields(page: &Value) -> Vec<Field<'_>> {
    let required: HashSet<&str> = page
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    page.get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| Field {
                    name,
                    schema,
                    required: required.contains(name.as_str()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Renders the pages of a template's `spec.parameters` as `<fieldset class="form-page">`
/// elements (the caller wraps them in its `<form>`, with its own buttons and CSRF field).
///
/// * `values`: the current values by property name (a previous submission, or prefilled
///   values); a property without one shows its schema `default`. Passwords are never shown.
/// * `errors`: messages to show with their fields (`aria-invalid="true"` on the input) and,
///   for the `""` key, above the pages.
/// * `options(ui_field, property_schema)`: the suggestions of a catalog picker field
///   (`OwnerPicker`, `EntityPicker`, `OwnedEntityPicker`), typically entity refs.
///
/// Malformed pages or properties are drawn as well as possible, never rejected: a page that
/// is not an object is an empty fieldset, a property schema that is not understood is a JSON
/// textarea.
pub fn render_pages(
    pages: &[Value],
    values: &Map<String, Value>,
    errors: &FieldErrors,
    options: &dyn Fn(&str, &Value) -> Vec<String>,
) -> Markup {
    let pages: Vec<(&Value, Vec<Field<'_>>)> =
        pages.iter().map(|page| (page, page_fields(page))).collect();

    let known: HashSet<&str> = pages
        .iter()
        .flat_map(|(_, fields)| fields.iter().map(|field| field.name))
        .collect();
    let mut form_errors: Vec<String> = errors.get("").to_vec();
    for (field, messages) in &errors.0 {
        if !field.is_empty() && !known.contains(field.as_str()) {
            form_errors.extend(messages.iter().map(|message| format!("{field}: {message}")));
        }
    }

    // Only the first field asking for it gets `autofocus`.
    let autofocus = pages
        .iter()
        .flat_map(|(_, fields)| fields.iter())
        .find(|field| field.schema.get("ui:autofocus") == Some(&Value::Bool(true)))
        .map(|field| field.name);

    html! {
        @if !form_errors.is_empty() {
            div.form-errors role="alert" {
                @for message in &form_errors {
                    p.error { (message) }
                }
            }
        }
        @for (index, (page, fields)) in pages.iter().enumerate() {
            @let number = index + 1;
            fieldset.form-page data-page=(number) {
                legend {
                    @match str_at(page, "title") {
                        Some(title) => (title),
                        None => { "Step " (number) }
                    }
                }
                @if let Some(description) = str_at(page, "description") {
                    p.page-description { (description) }
                }
                @for field in fields {
                    (render_field(field, values, errors, options, autofocus == Some(field.name)))
                }
            }
        }
    }
}

/// What every control of a field shares.
struct Control<'a> {
    id: &'a str,
    name: &'a str,
    required: bool,
    autofocus: bool,
    described_by: Option<&'a str>,
    invalid: bool,
}

fn render_field(
    field: &Field<'_>,
    values: &Map<String, Value>,
    errors: &FieldErrors,
    options: &dyn Fn(&str, &Value) -> Vec<String>,
    autofocus: bool,
) -> Markup {
    let schema = field.schema;
    let widget = Widget::of(schema);
    let id = field_id(field.name);
    let name = format!("{FIELD_PREFIX}{}", field.name);
    let label = str_at(schema, "title").unwrap_or(field.name);
    let value = values
        .get(field.name)
        .or_else(|| schema.get("default"))
        .filter(|value| !value.is_null());

    let mut help: Vec<String> = ["description", "ui:help"]
        .into_iter()
        .filter_map(|key| str_at(schema, key))
        .map(str::to_owned)
        .collect();
    if let Widget::RepoUrl = widget {
        help.push(format!(
            "Format: host?owner=ORG&repo=NAME, for example {REPO_URL_PLACEHOLDER}."
        ));
        let hosts: Vec<&str> = schema
            .pointer("/ui:options/allowedHosts")
            .and_then(Value::as_array)
            .map(|hosts| hosts.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !hosts.is_empty() {
            help.push(format!("Allowed hosts: {}.", hosts.join(", ")));
        }
    }
    let messages = errors.get(field.name);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let described_by: Vec<&str> = [
        (!help.is_empty()).then_some(help_id.as_str()),
        (!messages.is_empty()).then_some(error_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let described_by = described_by.join(" ");
    let control = Control {
        id: &id,
        name: &name,
        required: field.required,
        autofocus,
        described_by: (!described_by.is_empty()).then_some(described_by.as_str()),
        invalid: !messages.is_empty(),
    };
    let footer = html! {
        @if !help.is_empty() {
            p.help id=(help_id) { (lines(&help)) }
        }
        @if !messages.is_empty() {
            p.error id=(error_id) role="alert" { (lines(messages)) }
        }
    };

    match widget {
        Widget::Checkbox => html! {
            div.field.field-checkbox {
                (checkbox(&control, is_checked(value)))
                label for=(id) { (label) }
                (footer)
            }
        },
        Widget::Checkboxes(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            let labels = enum_labels(schema).or_else(|| enum_labels(item_schema));
            let current = value.and_then(Value::as_array);
            html! {
                div.field.field-checkboxes {
                    fieldset.checkbox-group
                        aria-describedby=[control.described_by] {
                        legend { (label) (required_marker(field.required)) }
                        @for (index, item) in items.iter().enumerate() {
                            @let item_id = format!("{id}-{index}");
                            @let checked = current
                                .is_some_and(|current| current.iter().any(|v| same(v, item)));
                            label for=(item_id) {
                                input type="checkbox" id=(item_id) name=(name)
                                    value=(display(item)) checked[checked]
                                    autofocus[autofocus && index == 0]
                                    aria-invalid=[control.invalid.then_some("true")];
                                " " (option_label(labels, index, item))
                            }
                        }
                    }
                    (footer)
                }
            }
        }
        _ => html! {
            div.field {
                label for=(id) { (label) (required_marker(field.required)) }
                (render_control(&control, &widget, schema, value, options))
                (footer)
            }
        },
    }
}

/// The control of a field drawn as label, control, help.
fn render_control(
    control: &Control<'_>,
    widget: &Widget<'_>,
    schema: &Value,
    value: Option<&Value>,
    options: &dyn Fn(&str, &Value) -> Vec<String>,
) -> Markup {
    let text = TextInput {
        kind: "text",
        value: value.map(display),
        pattern: str_at(schema, "pattern").map(html_pattern),
        min_length: schema.get("minLength").and_then(Value::as_u64),
        max_length: schema.get("maxLength").and_then(Value::as_u64),
        placeholder: str_at(schema, "ui:placeholder").map(str::to_owned),
        list: None,
    };
    match *widget {
        Widget::Text => text.render(control),
        Widget::Password => TextInput {
            kind: "password",
            value: None,
            ..text
        }
        .render(control),
        Widget::RepoUrl => TextInput {
            placeholder: text
                .placeholder
                .clone()
                .or_else(|| Some(REPO_URL_PLACEHOLDER.to_owned())),
            ..text
        }
        .render(control),
        Widget::Picker(ui_field) => {
            let list_id = format!("{}-options", control.id);
            html! {
                (TextInput { list: Some(list_id.clone()), ..text }.render(control))
                datalist id=(list_id) {
                    @for option in options(ui_field, schema) {
                        option value=(option) {}
                    }
                }
            }
        }
        Widget::Textarea => html! {
            textarea id=(control.id) name=(control.name)
                minlength=[text.min_length] maxlength=[text.max_length]
                placeholder=[text.placeholder]
                required[control.required] autofocus[control.autofocus]
                aria-describedby=[control.described_by]
                aria-invalid=[control.invalid.then_some("true")] {
                (text.value.unwrap_or_default())
            }
        },
        Widget::Json => {
            let json = match value {
                // A previous submission that was not valid JSON: show it as typed.
                Some(Value::String(raw)) => raw.clone(),
                Some(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
                None => String::new(),
            };
            html! {
                textarea.json id=(control.id) name=(control.name)
                    spellcheck="false"
                    required[control.required] autofocus[control.autofocus]
                    aria-describedby=[control.described_by]
                    aria-invalid=[control.invalid.then_some("true")] {
                    (json)
                }
            }
        }
        Widget::Number { integer } => html! {
            input type="number" id=(control.id) name=(control.name)
                value=[value.map(display)]
                min=[schema.get("minimum").and_then(number)]
                max=[schema.get("maximum").and_then(number)]
                step=(if integer { "1" } else { "any" })
                required[control.required] autofocus[control.autofocus]
                aria-describedby=[control.described_by]
                aria-invalid=[control.invalid.then_some("true")];
        },
        Widget::Select(items) => {
            let labels = enum_labels(schema);
            let empty_option = !control.required && schema.get("default").is_none();
            html! {
                select id=(control.id) name=(control.name)
                    required[control.required] autofocus[control.autofocus]
                    aria-describedby=[control.described_by]
                    aria-invalid=[control.invalid.then_some("true")] {
                    @if empty_option {
                        option value="" selected[value.is_none()] {}
                    }
                    @for (index, item) in items.iter().enumerate() {
                        option value=(display(item))
                            selected[value.is_some_and(|value| same(value, item))] {
                            (option_label(labels, index, item))
                        }
                    }
                }
            }
        }
        // Drawn by `render_field`.
        Widget::Checkbox | Widget::Checkboxes(_) => html! {},
    }
}

/// A one-line text input and its constraints.
struct TextInput {
    kind: &'static str,
    value: Option<String>,
    pattern: Option<String>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    placeholder: Option<String>,
    list: Option<String>,
}

impl TextInput {
    fn render(self, control: &Control<'_>) -> Markup {
        html! {
            input type=(self.kind) id=(control.id) name=(control.name)
                value=[self.value] pattern=[self.pattern]
                minlength=[self.min_length] maxlength=[self.max_length]
                placeholder=[self.placeholder] list=[self.list]
                required[control.required] autofocus[control.autofocus]
                aria-describedby=[control.described_by]
                aria-invalid=[control.invalid.then_some("true")];
        }
    }
}

fn checkbox(control: &Control<'_>, checked: bool) -> Markup {
    // No `required` attribute: a required boolean may well be `false`.
    html! {
        input type="checkbox" id=(control.id) name=(control.name) value="true"
            checked[checked] autofocus[control.autofocus]
            aria-describedby=[control.described_by]
            aria-invalid=[control.invalid.then_some("true")];
    }
}

fn required_marker(required: bool) -> Markup {
    html! {
        @if required {
            " "
            span.required aria-hidden="true" { "*" }
            span.visually-hidden { " (required)" }
        }
    }
}

/// Lines of text separated by `<br>`.
fn lines(lines: &[String]) -> Markup {
    html! {
        @for (index, line) in lines.iter().enumerate() {
            @if index > 0 { br; }
            (line)
        }
    }
}

/// The id of a property's control.
fn field_id(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("f-{name}")
}

/// A JSON Schema `pattern` (unanchored, matches anywhere) as an HTML `pattern` (matched
/// against the whole value): sides that are not anchored accept anything.
fn html_pattern(pattern: &str) -> String {
    let start = if pattern.starts_with('^') { "" } else { ".*" };
    let end = if pattern.ends_with('$') && !pattern.ends_with("\\$") {
        ""
    } else {
        ".*"
    };
    if start.is_empty() && end.is_empty() {
        pattern.to_owned()
    } else {
        format!("{start}(?:{pattern}){end}")
    }
}

/// A value as form text: strings as they are, anything else as JSON.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Whether a current value designates an option (`3` and `"3"` are the same option).
fn same(value: &Value, option: &Value) -> bool {
    value == option || display(value) == display(option)
}

fn is_checked(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(checked)) => *checked,
        Some(Value::String(s)) => is_true(s),
        _ => false,
    }
}

fn is_true(raw: &str) -> bool {
    matches!(raw, "true" | "on")
}

fn number(value: &Value) -> Option<String> {
    value.as_number().map(ToString::to_string)
}

/// The option labels of an enum: `enumNames` or `ui:enumNames`.
fn enum_labels(schema: &Value) -> Option<&[Value]> {
    ["enumNames", "ui:enumNames"]
        .into_iter()
        .find_map(|key| schema.get(key).and_then(Value::as_array))
        .map(Vec::as_slice)
}

fn option_label(labels: Option<&[Value]>, index: usize, item: &Value) -> String {
    labels
        .and_then(|labels| labels.get(index))
        .map(display)
        .unwrap_or_else(|| display(item))
}

fn str_at<'s>(schema: &'s Value, key: &str) -> Option<&'s str> {
    schema.get(key).and_then(Value::as_str)
}

fn enum_at(schema: &Value) -> Option<&[Value]> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// The schema's `type`: the first one other than `null` when it is a list.
fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(kind) => Some(kind),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null"),
        _ => None,
    }
}

/// Reads a submitted form back into parameter values, typed by the pages' schemas.
///
/// Only fields named [`FIELD_PREFIX`] + a property of one of the pages are read; everything
/// else (CSRF token, buttons, unknown names) is ignored. Properties come out in page order:
///
/// * strings: as submitted; an empty string is left out unless the property is required
///   (a field that was not submitted at all is left out);
/// * `enum` values: the enum member whose text was submitted, with its JSON type;
///   an empty selection is left out;
/// * integers and numbers: parsed; text that does not parse is kept as a string for the
///   schema validator to report; empty is left out;
/// * booleans: `true` when submitted as `true` or `on`, `false` otherwise (also when absent:
///   an unchecked checkbox sends nothing);
/// * arrays of enumerated items (checkbox groups): every submitted value (`[]` when none);
///   other arrays: the JSON array typed in their textarea, else every submitted value,
///   typed by `items.type`;
/// * objects and anything else: parsed as JSON, kept as a string when it is not valid JSON;
///   empty is left out.
pub fn parse_submission(pages: &[Value], form: &[(String, String)]) -> Map<String, Value> {
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut seen = HashSet::new();
    for page in pages {
        for field in page_fields(page) {
            if seen.insert(field.name) {
                fields.push(field);
            }
        }
    }

    let mut submitted: HashMap<&str, Vec<&str>> = HashMap::new();
    for (key, value) in form {
        if let Some(name) = key.strip_prefix(FIELD_PREFIX)
            && seen.contains(name)
        {
            submitted.entry(name).or_default().push(value);
        }
    }

    fields
        .iter()
        .filter_map(|field| {
            let raw = submitted
                .get(field.name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            parse_field(field, raw).map(|value| (field.name.to_owned(), value))
        })
        .collect()
}

fn parse_field(field: &Field<'_>, raw: &[&str]) -> Option<Value> {
    let schema = field.schema;
    let first = raw.first().copied();
    match Widget::of(schema) {
        Widget::Checkbox => Some(Value::Bool(raw.iter().any(|raw| is_true(raw)))),
        Widget::Checkboxes(items) => {
            let item_type = schema.get("items").and_then(schema_type);
            Some(Value::Array(
                raw.iter()
                    .map(|raw| enum_member(items, raw).unwrap_or_else(|| coerce(item_type, raw)))
                    .collect(),
            ))
        }
        Widget::Select(items) => {
            let raw = first?;
            enum_member(items, raw)
                .or_else(|| (!raw.is_empty()).then(|| coerce(schema_type(schema), raw)))
        }
        Widget::Number { .. } => {
            let raw = first.filter(|raw| !raw.trim().is_empty())?;
            Some(coerce(schema_type(schema), raw))
        }
        Widget::Json if schema_type(schema) == Some("array") => {
            let values: Vec<&str> = raw
                .iter()
                .copied()
                .filter(|raw| !raw.trim().is_empty())
                .collect();
            if let [single] = values.as_slice()
                && let Ok(array @ Value::Array(_)) = serde_json::from_str(single)
            {
                return Some(array);
            }
            if values.is_empty() {
                return None;
            }
            let item_type = schema.get("items").and_then(schema_type);
            Some(Value::Array(
                values.iter().map(|raw| coerce(item_type, raw)).collect(),
            ))
        }
        Widget::Json => {
            let raw = first.filter(|raw| !raw.trim().is_empty())?;
            Some(serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned())))
        }
        Widget::Text
        | Widget::Password
        | Widget::Textarea
        | Widget::Picker(_)
        | Widget::RepoUrl => {
            let raw = first?;
            (!raw.is_empty() || field.required).then(|| Value::String(raw.to_owned()))
        }
    }
}

/// The member of an enum whose form text is `raw`.
fn enum_member(items: &[Value], raw: &str) -> Option<Value> {
    items.iter().find(|item| display(item) == raw).cloned()
}

/// Submitted text typed as a schema `type`; text that does not fit stays a string.
fn coerce(kind: Option<&str>, raw: &str) -> Value {
    let parsed = match kind {
        Some("integer" | "number") => parse_number(raw.trim()),
        Some("boolean") => match raw {
            "true" | "on" => Some(Value::Bool(true)),
            "false" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
        Some("null") if raw.is_empty() => Some(Value::Null),
        Some("object" | "array") => serde_json::from_str(raw).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// An integer when the text is one, else a finite float.
fn parse_number(raw: &str) -> Option<Value> {
    if let Ok(integer) = raw.parse::<i64>() {
        return Some(Value::from(integer));
    }
    if let Ok(integer) = raw.parse::<u64>() {
        return Some(Value::from(integer));
    }
    // Only decimal notation: Rust also reads `inf` and `NaN`, which JSON has no room for.
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        return None;
    }
    raw.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}
