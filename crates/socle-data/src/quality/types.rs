//! Column types: a contract's type name (logical or physical) reduced to one of ODCS's logical
//! categories, and a declared physical type compared with the server's native one (aliases and
//! unstated parameters allowed), as datacontract-cli compares them.

/// ODCS's logical categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    String,
    Integer,
    Number,
    Boolean,
    Timestamp,
    Date,
    Time,
    Object,
    Array,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Timestamp => "timestamp",
            Self::Date => "date",
            Self::Time => "time",
            Self::Object => "object",
            Self::Array => "array",
        }
    }
}

/// The name without parameters (`varchar(10)` → `varchar`), lower-cased, spaces collapsed.
fn base(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let cut = lower
        .find(['(', '<'])
        .map_or(lower.as_str(), |i| &lower[..i]);
    let mut out = cut.split_whitespace().collect::<Vec<_>>().join(" ");
    // format_type's `timestamp(6) with time zone` keeps words after the parameters.
    if let Some(i) = lower.find(')') {
        let rest = lower[i + 1..].trim();
        if !rest.is_empty() && !rest.starts_with('[') {
            out = format!(
                "{out} {}",
                rest.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }
    out
}

/// The category a type name falls in, or `None` for types ODCS has no category for
/// (binary, interval, …), which no check can confirm.
pub fn category(name: &str) -> Option<Category> {
    let b = base(name);
    if b.ends_with("[]") || name.trim().ends_with("[]") {
        return Some(Category::Array);
    }
    Some(match b.as_str() {
        "varchar" | "varchar2" | "char" | "character" | "character varying" | "nvarchar"
        | "nvarchar2" | "nchar" | "text" | "string" | "str" | "clob" | "nclob" | "uuid"
        | "enum" | "bpchar" | "citext" | "name" => Category::String,
        "int" | "integer" | "bigint" | "smallint" | "tinyint" | "long" | "short" | "int2"
        | "int4" | "int8" | "serial" | "bigserial" | "smallserial" | "int64" | "int32"
        | "int16" | "byteint" => Category::Integer,
        "decimal" | "numeric" | "dec" | "float" | "double" | "double precision" | "real"
        | "float4" | "float8" | "float32" | "float64" | "number" => Category::Number,
        "bool" | "boolean" | "bit" | "logical" => Category::Boolean,
        "timestamp"
        | "timestamptz"
        | "timestamp without time zone"
        | "timestamp with time zone"
        | "datetime"
        | "datetime2"
        | "smalldatetime" => Category::Timestamp,
        "date" => Category::Date,
        "time" | "time without time zone" | "time with time zone" | "timetz" => Category::Time,
        "struct" | "record" | "object" | "row" => Category::Object,
        "array" | "list" => Category::Array,
        _ => return None,
    })
}

/// Whether a column of native type `actual` satisfies the declared logical type `expected`.
/// An expected type without a category passes; an actual one without a category (json,
/// binary, …) fails; integer and number are one another's.
pub fn logical_matches(expected: &str, actual: &str) -> bool {
    let Some(e) = category(expected) else {
        return true;
    };
    let Some(a) = category(actual) else {
        return false;
    };
    let numeric = |c| matches!(c, Category::Integer | Category::Number);
    e == a || (numeric(e) && numeric(a))
}

/// PostgreSQL's canonical name of a base type (what `format_type` prints), for aliases.
fn canonical(base: &str) -> &str {
    match base {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "float8" | "double precision" | "double" => "double precision",
        "float4" | "real" => "real",
        "decimal" | "numeric" => "numeric",
        "bool" | "boolean" => "boolean",
        "varchar" | "character varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "timestamptz"
        | "timestamp with time zone"
        | "timestamp"
        | "timestamp without time zone"
        | "datetime" => "timestamp",
        "timetz" | "time with time zone" | "time" | "time without time zone" => "time",
        other => other,
    }
}

/// The parameters of a type (`numeric(12,2)` → `["12", "2"]`).
fn params(name: &str) -> Vec<String> {
    let Some(open) = name.find('(') else {
        return vec![];
    };
    let close = name[open..].find(')').map_or(name.len(), |i| open + i);
    name[open + 1..close]
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Whether the declared physical type matches the native one: same base up to aliases (the
/// timestamp family is one), and, when the contract states parameters, the same parameters
/// (`numeric(12)` is `numeric(12,0)`). Parameters of timestamps are precision, not checked.
pub fn physical_matches(expected: &str, actual: &str) -> bool {
    let (eb, ab) = (base(expected), base(actual));
    let (ec, ac) = (canonical(&eb), canonical(&ab));
    if ec != ac {
        return false;
    }
    let mut ep = params(expected);
    if ep.is_empty() || ec == "timestamp" || ec == "time" {
        return true;
    }
    let mut ap = params(actual);
    if ec == "numeric" {
        for p in [&mut ep, &mut ap] {
            if p.len() == 1 {
                p.push("0".into());
            }
        }
    }
    ep == ap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_postgres_names_fall_in_their_categories() {
        assert_eq!(category("character varying(20)"), Some(Category::String));
        assert_eq!(
            category("timestamp(6) with time zone"),
            Some(Category::Timestamp)
        );
        assert_eq!(category("numeric(12,2)"), Some(Category::Number));
        assert_eq!(category("integer[]"), Some(Category::Array));
        assert_eq!(category("jsonb"), None);
        assert_eq!(category("bytea"), None);
    }

    #[test]
    fn integer_and_number_accept_each_other_but_not_text() {
        assert!(logical_matches("number", "integer"));
        assert!(logical_matches("integer", "numeric(12,2)"));
        assert!(!logical_matches("integer", "text"));
        assert!(!logical_matches("date", "timestamp with time zone"));
        assert!(!logical_matches("object", "jsonb"));
        assert!(logical_matches("binary", "text"));
    }

    #[test]
    fn physical_types_match_up_to_aliases_and_unstated_parameters() {
        assert!(physical_matches("timestamptz", "timestamp with time zone"));
        assert!(physical_matches("int4", "integer"));
        assert!(physical_matches("varchar", "character varying(20)"));
        assert!(physical_matches("numeric(12,2)", "numeric(12,2)"));
        assert!(physical_matches("decimal(12)", "numeric(12,0)"));
        assert!(!physical_matches("numeric(10,2)", "numeric(12,2)"));
        assert!(!physical_matches("bigint", "integer"));
        assert!(!physical_matches("uuid", "text"));
    }
}
