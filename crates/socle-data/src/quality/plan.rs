//! From a contract to the list of checks `socle data test` runs: the schema checks each column
//! implies (present, type, required, unique, primary key, logical-type options), the `quality[]`
//! rules of columns and tables, and the freshness and retention service levels. Keys, types and
//! names are datacontract-cli's (1.2.x), so the two tools' results compare check by check.

use serde::Serialize;
use serde_json::Value;

use super::guard;
use super::spec::{ObjectSpec, PropertySpec, QualitySpec, ServerSpec, SlaSpec, TestSpec};
use super::threshold::{Op, Threshold, Verdict};

/// Where a check comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Schema,
    Quality,
    Servicelevel,
}

/// What a non-missing value must satisfy (an `invalid_count` check): every bound present.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Validity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_values: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_values: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// What a check measures.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Metric {
    RowCount,
    /// Rows whose value is null or one of `values`.
    MissingCount {
        values: Vec<Value>,
    },
    /// Distinct non-null keys (over `columns`) that occur more than once.
    DuplicateCount {
        columns: Vec<String>,
    },
    /// Non-missing rows that break the validity.
    InvalidCount(Box<Validity>),
    FieldPresent,
    /// The column's type is of this logical category (`string`, `integer`, …).
    FieldType {
        expected: String,
    },
    /// The column's native type is this one (aliases and unstated parameters allowed).
    FieldPhysicalType {
        expected: String,
    },
    /// Age of the newest value under `seconds`.
    Freshness {
        seconds: i64,
    },
    /// Age of the oldest value under `seconds`.
    Retention {
        seconds: i64,
    },
    /// The first column of the first row of a read-only query.
    CustomSql {
        query: String,
    },
    /// Not run: decided when planned.
    NotRun {
        verdict: Verdict,
        reason: String,
    },
}

impl Metric {
    /// Whether the metric counts rows, so a percent threshold applies and samples can be shown.
    pub fn counts_bad_rows(&self) -> bool {
        matches!(self, Self::MissingCount { .. } | Self::InvalidCount(_))
    }

    /// The name datacontract-cli reports it under (`missing_count`, …).
    pub fn label(&self) -> &'static str {
        match self {
            Self::RowCount => "row_count",
            Self::MissingCount { .. } => "missing_count",
            Self::DuplicateCount { .. } => "duplicate_count",
            Self::InvalidCount(_) => "invalid_count",
            Self::FieldPresent => "field_present",
            Self::FieldType { .. } => "field_type",
            Self::FieldPhysicalType { .. } => "field_physical_type",
            Self::Freshness { .. } => "freshness",
            Self::Retention { .. } => "retention",
            Self::CustomSql { .. } => "custom_sql",
            Self::NotRun { .. } => "unsupported",
        }
    }
}

/// One planned check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// Stable id: `orders__amount__field_minimum`.
    pub key: String,
    pub category: Category,
    /// Stable type: `field_required`, `field_quality_library`' s metric types, …
    #[serde(rename = "type")]
    pub check_type: String,
    pub name: String,
    /// The table on the server.
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(flatten)]
    pub metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// The threshold compares a percentage of the rows (`unit: percent`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub percent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// How the server reads its data, which decides the type checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// A database whose catalog reports native types (PostgreSQL).
    Database,
    /// Files read into typed columns (Parquet).
    TypedFiles,
    /// Files whose types are the contract's own (CSV, JSON Lines).
    TextFiles,
}

impl ServerKind {
    pub fn of(server: &ServerSpec) -> Self {
        match server.server_type.as_str() {
            "local" | "s3" | "gcs" | "azure" if server.carries_types() => Self::TypedFiles,
            "local" | "s3" | "gcs" | "azure" => Self::TextFiles,
            _ => Self::Database,
        }
    }
}

/// Whether the peer reads this file server's data cast into the contract's own types (CSV,
/// JSON, Parquet, XML, Excel), so that a type check would compare the contract with itself:
/// datacontract-cli 1.2 reports those checks as warnings, not run, and so does Socle.
fn casts_into_contract(server: &ServerSpec) -> bool {
    matches!(
        server
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("csv" | "json" | "parquet" | "xml" | "xlsx")
    )
}

/// Every check of the contract on `server`, in datacontract-cli's order.
pub fn plan(spec: &TestSpec, server: &ServerSpec) -> Vec<Check> {
    let kind = ServerKind::of(server);
    let mut out = Vec::new();
    for object in &spec.schema {
        object_checks(object, server, kind, &mut out);
    }
    for sla in &spec.sla_properties {
        if let Some(c) = sla_check(spec, sla) {
            out.push(c);
        }
    }
    unique_keys(&mut out);
    out
}

/// Two rules of one metric on one column share datacontract-cli's key; Socle keeps both, the
/// second as `…__2` (datacontract-cli reports only one of them).
fn unique_keys(checks: &mut [Check]) {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in checks {
        let n = seen.entry(c.key.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            c.key = format!("{}__{n}", c.key);
        }
    }
}

fn check(table: &str, field: Option<&str>, check_type: &str, category: Category) -> Check {
    let key = match field {
        Some(f) => format!("{table}__{f}__{check_type}"),
        None => format!("{table}__{check_type}"),
    };
    Check {
        key,
        category,
        check_type: check_type.into(),
        name: String::new(),
        table: table.into(),
        field: field.map(str::to_owned),
        metric: Metric::RowCount,
        threshold: None,
        percent: false,
        severity: None,
    }
}

fn named(mut c: Check, name: String, metric: Metric, threshold: Option<Threshold>) -> Check {
    c.name = name;
    c.metric = metric;
    c.threshold = threshold;
    c
}

fn zero() -> Option<Threshold> {
    Some(Threshold::new(Op::Eq, 0))
}

fn object_checks(o: &ObjectSpec, server: &ServerSpec, kind: ServerKind, out: &mut Vec<Check>) {
    let table = o.table();
    let mut keys: Vec<&PropertySpec> = o.properties.iter().filter(|p| p.primary_key).collect();
    keys.sort_by_key(|p| p.primary_key_position.unwrap_or(0));
    let composite = keys.len() > 1;
    for p in &o.properties {
        let first = out.len();
        property_checks(table, p, composite, kind, out);
        for (i, q) in p.quality.iter().enumerate() {
            out.extend(quality_check(table, Some(p.column()), q, i, server));
        }
        if kind == ServerKind::TextFiles
            || (kind == ServerKind::TypedFiles && casts_into_contract(server))
        {
            for c in &mut out[first..] {
                if matches!(
                    c.metric,
                    Metric::FieldType { .. } | Metric::FieldPhysicalType { .. }
                ) {
                    let reason = format!(
                        "Checking types in {} files is not supported yet.",
                        server.format.as_deref().unwrap_or_default()
                    );
                    c.metric = Metric::NotRun {
                        verdict: Verdict::Warning,
                        reason,
                    };
                }
            }
        }
    }
    if composite {
        let columns: Vec<String> = keys.iter().map(|p| p.column().to_owned()).collect();
        let name = format!(
            "Check that primary key ({}) has no duplicate values",
            columns.join(", ")
        );
        let c = check(table, None, "primary_key_unique", Category::Schema);
        out.push(named(c, name, Metric::DuplicateCount { columns }, zero()));
    }
    for (i, q) in o.quality.iter().enumerate() {
        out.extend(quality_check(table, None, q, i, server));
    }
}

fn property_checks(
    table: &str,
    p: &PropertySpec,
    composite_key: bool,
    kind: ServerKind,
    out: &mut Vec<Check>,
) {
    let f = p.column();
    let c = |t: &str| check(table, Some(f), t, Category::Schema);
    out.push(named(
        c("field_is_present"),
        format!("Check that field '{f}' is present"),
        Metric::FieldPresent,
        None,
    ));
    // On text files a type check is planned, then reported as not run (object_checks).
    match (&p.physical_type, &p.logical_type) {
        (Some(pt), _) if kind == ServerKind::Database => out.push(named(
            c("field_physical_type"),
            format!("Check that field {f} has physical type {pt}"),
            Metric::FieldPhysicalType {
                expected: pt.clone(),
            },
            None,
        )),
        (_, Some(lt)) => out.push(named(
            c("field_type"),
            format!("Check that field {f} has type {lt}"),
            Metric::FieldType {
                expected: lt.clone(),
            },
            None,
        )),
        _ => {}
    }
    let missing = || Metric::MissingCount { values: vec![] };
    let duplicate = || Metric::DuplicateCount {
        columns: vec![f.to_owned()],
    };
    if p.required {
        let name = format!("Check that field {f} has no missing values");
        out.push(named(c("field_required"), name, missing(), zero()));
    }
    if p.unique {
        let name = format!("Check that unique field {f} has no duplicate values");
        out.push(named(c("field_unique"), name, duplicate(), zero()));
    }
    if p.primary_key {
        if !p.required {
            let name = format!("Check that primary key field {f} has no missing values");
            out.push(named(
                c("field_primary_key_required"),
                name,
                missing(),
                zero(),
            ));
        }
        if !composite_key && !p.unique {
            let name = format!("Check that primary key field {f} has no duplicate values");
            out.push(named(
                c("field_primary_key_unique"),
                name,
                duplicate(),
                zero(),
            ));
        }
    }
    option_checks(table, p, out);
}

/// The checks `logicalTypeOptions` imply (lengths, bounds, pattern, enum).
fn option_checks(table: &str, p: &PropertySpec, out: &mut Vec<Check>) {
    let f = p.column();
    let mut push = |t: &str, name: String, v: Validity| {
        let c = check(table, Some(f), t, Category::Schema);
        out.push(named(c, name, Metric::InvalidCount(Box::new(v)), zero()));
    };
    let length = |k: &str| p.option(k).and_then(Value::as_u64);
    if let Some(n) = length("minLength") {
        let v = Validity {
            min_length: Some(n),
            ..Validity::default()
        };
        push(
            "field_min_length",
            format!("Check that field {f} has a min length of {n}"),
            v,
        );
    }
    if let Some(n) = length("maxLength") {
        let v = Validity {
            max_length: Some(n),
            ..Validity::default()
        };
        push(
            "field_max_length",
            format!("Check that field {f} has a max length of {n}"),
            v,
        );
    }
    let bound = |k: &str| p.option(k).cloned();
    if let Some(m) = bound("minimum") {
        let name = format!(
            "Check that field {f} has a minimum of {}",
            super::threshold::show(&m)
        );
        push(
            "field_minimum",
            name,
            Validity {
                minimum: Some(m),
                ..Validity::default()
            },
        );
    }
    if let Some(m) = bound("maximum") {
        let name = format!(
            "Check that field {f} has a maximum of {}",
            super::threshold::show(&m)
        );
        push(
            "field_maximum",
            name,
            Validity {
                maximum: Some(m),
                ..Validity::default()
            },
        );
    }
    for (key, kind) in [
        ("exclusiveMinimum", "field_minimum"),
        ("exclusiveMaximum", "field_maximum"),
    ] {
        let Some(m) = bound(key) else { continue };
        let shown = super::threshold::show(&m);
        let (name, v) = if kind == "field_minimum" {
            let v = Validity {
                minimum: Some(m.clone()),
                ..Validity::default()
            };
            (format!("Check that field {f} has a minimum of {shown}"), v)
        } else {
            let v = Validity {
                maximum: Some(m.clone()),
                ..Validity::default()
            };
            (format!("Check that field {f} has a maximum of {shown}"), v)
        };
        push(kind, name, v);
        let v = Validity {
            invalid_values: vec![m],
            ..Validity::default()
        };
        push(
            "field_not_equal",
            format!("Check that field {f} is not equal to {shown}"),
            v,
        );
    }
    if let Some(pattern) = p.option("pattern").and_then(Value::as_str) {
        let name = format!("Check that field {f} matches regex pattern {pattern}");
        let v = Validity {
            pattern: Some(pattern.to_owned()),
            ..Validity::default()
        };
        push("field_regex", name, v);
    }
}

fn not_run(mut c: Check, name: String, verdict: Verdict, reason: impl Into<String>) -> Check {
    c.name = name;
    c.metric = Metric::NotRun {
        verdict,
        reason: reason.into(),
    };
    c
}

const LIBRARY: [(&str, &[&str]); 5] = [
    ("rowCount", &["schema"]),
    ("duplicateValues", &["schema", "property"]),
    ("nullValues", &["property"]),
    ("missingValues", &["property"]),
    ("invalidValues", &["property"]),
];

/// Why a library rule cannot run as written.
fn unrunnable(q: &QualitySpec, metric: &str, field: Option<&str>) -> Option<String> {
    let Some((_, levels)) = LIBRARY.iter().find(|(m, _)| *m == metric) else {
        let names: Vec<&str> = LIBRARY.iter().map(|(m, _)| *m).collect();
        return Some(format!(
            "Metric {metric} is not supported. Supported metrics are {}.",
            names.join(", ")
        ));
    };
    let level = if field.is_some() {
        "property"
    } else {
        "schema"
    };
    if !levels.contains(&level) {
        return Some(format!(
            "Metric {metric} is only supported at {} level, but this rule is declared at {level} level.",
            levels.join(" or ")
        ));
    }
    if q.is_percent() && !matches!(metric, "nullValues" | "missingValues" | "invalidValues") {
        return Some(
            "'unit:percent' has to be combined with 'nullValues', 'missingValues' or 'invalidValues'."
                .into(),
        );
    }
    if metric == "invalidValues"
        && q.arguments.get("validValues").is_none_or(Value::is_null)
        && q.arguments.get("pattern").is_none_or(Value::is_null)
    {
        return Some("Metric invalidValues needs a validValues or a pattern argument.".into());
    }
    None
}

fn fallback_name(q: &QualitySpec, table: &str, field: Option<&str>) -> String {
    q.description.clone().unwrap_or_else(|| match field {
        Some(f) => format!("Quality rule on {table}.{f} cannot be tested"),
        None => format!("Quality rule on {table} cannot be tested"),
    })
}

/// The check of one `quality[]` rule (`i` is its index in its list).
fn quality_check(
    table: &str,
    field: Option<&str>,
    q: &QualitySpec,
    i: usize,
    server: &ServerSpec,
) -> Option<Check> {
    let rule_type = q.rule_type.as_deref().unwrap_or("library");
    let at = |t: &str, model_t: &str, suffix: &str| {
        let mut c = check(
            table,
            field,
            if field.is_some() { t } else { model_t },
            Category::Quality,
        );
        c.key = match field {
            Some(f) => format!("{table}__{f}__{suffix}_{i}"),
            None => format!("{table}__{suffix}_{i}"),
        };
        c.severity = q.severity.clone();
        c
    };
    if rule_type == "custom" {
        let c = at(
            "field_quality_custom",
            "model_quality_custom",
            "quality_custom_check",
        );
        let reason = "Custom quality engines are not supported; write the rule as type: sql.";
        return Some(not_run(
            c,
            fallback_name(q, table, field),
            Verdict::Warning,
            reason,
        ));
    }
    if rule_type == "sql" {
        let c = at("field_quality_sql", "model_quality_sql", "quality_sql");
        let name = q
            .description
            .clone()
            .unwrap_or_else(|| "Quality Check".into());
        let Some(query) = q.query.as_deref() else {
            return Some(not_run(
                c,
                fallback_name(q, table, field),
                Verdict::Warning,
                "The rule has no query.",
            ));
        };
        let Some(threshold) = Threshold::of(q) else {
            let reason = "The rule has no valid comparator.";
            return Some(not_run(
                c,
                fallback_name(q, table, field),
                Verdict::Warning,
                reason,
            ));
        };
        let query = guard::substitute(query, table, field, server.schema.as_deref());
        if let Some(reason) = guard::refusal(&query) {
            return Some(not_run(c, name, Verdict::Failed, reason));
        }
        return Some(named(c, name, Metric::CustomSql { query }, Some(threshold)));
    }
    let metric = q.metric_name()?;
    let c = at(
        "field_quality_library",
        "model_quality_library",
        "quality_library",
    );
    if let Some(reason) = unrunnable(q, metric, field) {
        return Some(not_run(
            c,
            fallback_name(q, table, field),
            Verdict::Warning,
            reason,
        ));
    }
    let Some(t) = Threshold::of(q) else {
        let reason = "The rule has no valid comparator.";
        return Some(not_run(
            c,
            fallback_name(q, table, field),
            Verdict::Warning,
            reason,
        ));
    };
    Some(library_check(table, field, q, metric, t))
}

fn library_check(
    table: &str,
    field: Option<&str>,
    q: &QualitySpec,
    metric: &str,
    t: Threshold,
) -> Check {
    let described = t.describe();
    let f = field.unwrap_or_default();
    let c = |check_type: &str, key_field: Option<&str>| {
        let mut c = check(table, key_field, check_type, Category::Quality);
        c.severity = q.severity.clone();
        c.percent =
            q.is_percent() && matches!(metric, "nullValues" | "missingValues" | "invalidValues");
        c
    };
    match (metric, field) {
        ("rowCount", _) => named(
            c("row_count", None),
            format!("Check that model {table} has row_count {described}"),
            Metric::RowCount,
            Some(t),
        ),
        ("duplicateValues", None) => {
            let columns: Vec<String> = q
                .list_argument("properties")
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            let name = format!(
                "Check that model {table} has duplicate_count {described} for columns {}",
                columns.join(", ")
            );
            named(
                c("model_duplicate_values", None),
                name,
                Metric::DuplicateCount { columns },
                Some(t),
            )
        }
        ("duplicateValues", Some(_)) => named(
            c("field_duplicate_values", field),
            format!("Check that field {f} has duplicate_count {described}"),
            Metric::DuplicateCount {
                columns: vec![f.to_owned()],
            },
            Some(t),
        ),
        ("nullValues", _) => named(
            c("field_null_values", field),
            format!("Check that field {f} has missing_count {described}"),
            Metric::MissingCount { values: vec![] },
            Some(t),
        ),
        ("missingValues", _) => named(
            c("field_missing_values", field),
            format!("Check that field {f} has missing_count {described}"),
            Metric::MissingCount {
                values: q.list_argument("missingValues").unwrap_or_default(),
            },
            Some(t),
        ),
        _ => {
            let v = Validity {
                valid_values: q.list_argument("validValues"),
                pattern: q
                    .arguments
                    .get("pattern")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                ..Validity::default()
            };
            named(
                c("field_invalid_values", field),
                format!("Check that field {f} has invalid_count {described}"),
                Metric::InvalidCount(Box::new(v)),
                Some(t),
            )
        }
    }
}

/// A freshness or retention service level on `object.field`.
fn sla_check(spec: &TestSpec, sla: &SlaSpec) -> Option<Check> {
    let retention = match sla.property.as_str() {
        "freshness" => false,
        "retention" => true,
        _ => return None,
    };
    if sla.value.is_null() {
        return None;
    }
    let (object, field) = sla.element.as_deref()?.split_once('.')?;
    if field.contains('.') {
        return None;
    }
    let o = spec.schema.iter().find(|o| o.name == object)?;
    let column = o
        .properties
        .iter()
        .find(|p| p.name == field)
        .map_or(field, PropertySpec::column);
    let table = o.table();
    if retention {
        let seconds = super::duration::retention_seconds(&sla.value, sla.unit.as_deref())?;
        let c = check(
            table,
            Some(column),
            "servicelevel_retention",
            Category::Servicelevel,
        );
        let name = format!("Retention of {table}.{column} < {seconds}s");
        return Some(named(c, name, Metric::Retention { seconds }, None));
    }
    let c = check(
        table,
        Some(column),
        "servicelevel_freshness",
        Category::Servicelevel,
    );
    let unit = sla.unit.as_deref().unwrap_or("d").to_ascii_lowercase();
    let unit = if unit.is_empty() {
        "d".to_owned()
    } else {
        unit
    };
    let Some(seconds) = super::duration::freshness_seconds(&sla.value, &unit) else {
        let reason = format!(
            "Cannot evaluate the freshness service level: value {} with unit {} is neither a number with a supported unit (d, h, m) nor an ISO-8601 duration.",
            super::duration::python_repr(&sla.value),
            sla.unit
                .as_deref()
                .map_or("None".into(), |u| format!("'{u}'")),
        );
        return Some(not_run(
            c,
            format!("Freshness of {table}.{column}"),
            Verdict::Failed,
            reason,
        ));
    };
    let shown = if sla.value.is_number() {
        format!("{}{}", super::threshold::show(&sla.value), &unit[..1])
    } else {
        format!("{seconds}s")
    };
    let name = format!("Freshness of {table}.{column} < {shown}");
    Some(named(c, name, Metric::Freshness { seconds }, None))
}
