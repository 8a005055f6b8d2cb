//! Files into the in-memory database: a contract object's files found (its server's `path`,
//! `{model}` filled in, a glob allowed), read on a blocking thread (CSV with a header row, JSON
//! Lines, or a JSON array of objects), each value typed by the column's logical type, and
//! inserted in batches. Columns are matched by name across files (like DuckDB's
//! `union_by_name`): a column a file lacks is null in its rows.

use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_data::quality::spec::{ObjectSpec, ServerSpec};
use socle_data::quality::sql::ident;
use sqlx::sqlite::SqliteConnection;

/// How a server's files are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv {
        delimiter: u8,
    },
    /// JSON Lines (one object per line) or one JSON array of objects.
    Json,
}

impl Format {
    /// The format a file server names (`csv`, `json`); `None` for the others.
    pub fn of(server: &ServerSpec) -> Option<Self> {
        match server.format.as_deref()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv {
                delimiter: match server.delimiter.as_deref() {
                    Some(d) if d.len() == 1 => d.as_bytes()[0],
                    Some("tab" | "\\t") => b'\t',
                    _ => b',',
                },
            }),
            "json" | "jsonl" | "ndjson" => Some(Format::Json),
            _ => None,
        }
    }
}

/// The files of `object`: `path` with `{model}` replaced by the object's name, relative to
/// `base` unless absolute; a glob (`*`, `?`, `[…]`) lists every match, sorted.
pub fn files_of(
    base: &Path,
    server: &ServerSpec,
    object: &ObjectSpec,
) -> Result<Vec<PathBuf>, String> {
    let raw = server
        .path
        .as_deref()
        .or(server.location.as_deref())
        .ok_or_else(|| format!("Server '{}' names no path", server.server))?;
    let path = raw.replace("{model}", &object.name);
    let full = if Path::new(&path).is_absolute() {
        PathBuf::from(&path)
    } else {
        base.join(&path)
    };
    if !path.contains(['*', '?', '[']) {
        return if full.is_file() {
            Ok(vec![full])
        } else {
            Err(format!("No file at {}", full.display()))
        };
    }
    let pattern = full.to_string_lossy().into_owned();
    let mut found: Vec<PathBuf> = glob::glob(&pattern)
        .map_err(|e| format!("Bad path pattern {path:?}: {e}"))?
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!("No file matches {pattern}"));
    }
    Ok(found)
}

/// How a column's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    Integer,
    Real,
    Boolean,
    Text,
}

impl Affinity {
    /// From a contract's logical type (`integer`, `number`, `boolean`; the rest is text).
    pub fn of(logical: Option<&str>) -> Self {
        match logical.map(str::to_ascii_lowercase).as_deref() {
            Some("integer" | "int" | "long" | "bigint") => Affinity::Integer,
            Some("number" | "decimal" | "double" | "float" | "numeric") => Affinity::Real,
            Some("boolean" | "bool") => Affinity::Boolean,
            _ => Affinity::Text,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Affinity::Integer | Affinity::Boolean => "INTEGER",
            Affinity::Real => "REAL",
            Affinity::Text => "TEXT",
        }
    }

    /// A text value (a CSV field, a JSON string) as this column stores it: an integer, a
    /// float, a boolean as 1/0 when it reads as one, else the text itself.
    fn typed(self, s: &str) -> Cell {
        let t = s.trim();
        match self {
            Affinity::Integer => t
                .parse()
                .map(Cell::Int)
                .unwrap_or_else(|_| Cell::Text(s.into())),
            Affinity::Real => t
                .parse()
                .map(Cell::Real)
                .unwrap_or_else(|_| Cell::Text(s.into())),
            Affinity::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" => Cell::Int(1),
                "false" | "f" | "0" | "no" => Cell::Int(0),
                _ => Cell::Text(s.into()),
            },
            Affinity::Text => Cell::Text(s.into()),
        }
    }
}

/// One stored value.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Cell {
    fn of_json(v: &Value, a: Affinity) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Int(i64::from(*b)),
            Value::Number(n) => n
                .as_i64()
                .map(Cell::Int)
                .or_else(|| n.as_f64().map(Cell::Real))
                .unwrap_or_else(|| Cell::Text(n.to_string())),
            Value::String(s) if a == Affinity::Text => Cell::Text(s.clone()),
            Value::String(s) => a.typed(s),
            other => Cell::Text(other.to_string()),
        }
    }
}

/// The table's columns, in order, with how each is stored.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub names: Vec<String>,
    pub affinity: Vec<Affinity>,
}

impl Columns {
    /// The contract's columns with their affinities; data columns are added as files show them.
    pub fn declared(object: &ObjectSpec) -> Self {
        let mut c = Columns::default();
        for p in &object.properties {
            c.names.push(p.column().to_owned());
            c.affinity.push(Affinity::of(p.logical_type.as_deref()));
        }
        c
    }

    fn index_or_add(&mut self, name: &str) -> usize {
        self.position(name).unwrap_or_else(|| {
            self.names.push(name.to_owned());
            self.affinity.push(Affinity::Text);
            self.names.len() - 1
        })
    }

    /// A column by name: exactly, else case-insensitively.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .or_else(|| self.names.iter().position(|n| n.eq_ignore_ascii_case(name)))
    }
}

/// What the files hold: the columns present in the data (what `field_is_present` sees), and
/// the rows, typed.
pub struct Data {
    pub columns: Columns,
    /// Names the files carry (a declared column no file has is absent).
    pub present: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Reads every file (blocking: call it off the async workers), at most `max_rows` rows.
pub fn read(
    files: &[PathBuf],
    format: Format,
    object: &ObjectSpec,
    max_rows: usize,
) -> Result<Data, String> {
    let mut columns = Columns::declared(object);
    let mut present: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for file in files {
        let shown = file.display();
        match format {
            Format::Csv { delimiter } => {
                let mut r = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_path(file)
                    .map_err(|e| format!("Could not read {shown}: {e}"))?;
                let header: Vec<usize> = r
                    .headers()
                    .map_err(|e| format!("{shown}:1: {e}"))?
                    .iter()
                    .map(|h| {
                        if !present.iter().any(|p| p == h) {
                            present.push(h.to_owned());
                        }
                        columns.index_or_add(h)
                    })
                    .collect();
                for (n, rec) in r.records().enumerate() {
                    let rec = rec.map_err(|e| format!("{shown}:{}: {e}", n + 2))?;
                    let mut row = vec![Cell::Null; columns.names.len()];
                    for (field, &at) in rec.iter().zip(&header) {
                        if !field.is_empty() {
                            row[at] = columns.affinity[at].typed(field);
                        }
                    }
                    push(&mut rows, row, max_rows)?;
                }
            }
            Format::Json => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("Could not read {shown}: {e}"))?;
                let objects: Vec<(usize, serde_json::Map<String, Value>)> = if text
                    .trim_start()
                    .starts_with('[')
                {
                    match serde_json::from_str::<Value>(&text) {
                        Ok(Value::Array(a)) => a
                            .into_iter()
                            .enumerate()
                            .filter_map(|(i, v)| match v {
                                Value::Object(m) => Some((i + 1, m)),
                                _ => None,
                            })
                            .collect(),
                        Ok(_) => vec![],
                        Err(e) => return Err(format!("{shown}:{}: {e}", e.line())),
                    }
                } else {
                    let mut out = Vec::new();
                    for (i, line) in text.lines().enumerate() {
                        if line.trim().is_empty() {
                            continue;
                        }
                        match serde_json::from_str::<Value>(line) {
                            Ok(Value::Object(m)) => out.push((i + 1, m)),
                            Ok(_) => return Err(format!("{shown}:{}: not a JSON object", i + 1)),
                            Err(e) => return Err(format!("{shown}:{}: {e}", i + 1)),
                        }
                    }
                    out
                };
                for (_, obj) in objects {
                    let mut row = vec![Cell::Null; columns.names.len()];
                    for (k, v) in &obj {
                        if !present.iter().any(|p| p == k) {
                            present.push(k.clone());
                        }
                        let at = columns.index_or_add(k);
                        if at >= row.len() {
                            row.resize(at + 1, Cell::Null);
                        }
                        row[at] = Cell::of_json(v, columns.affinity[at]);
                    }
                    push(&mut rows, row, max_rows)?;
                }
            }
        }
    }
    let width = columns.names.len();
    for r in &mut rows {
        r.resize(width, Cell::Null);
    }
    Ok(Data {
        columns,
        present,
        rows,
    })
}

fn push(rows: &mut Vec<Vec<Cell>>, row: Vec<Cell>, max_rows: usize) -> Result<(), String> {
    if rows.len() >= max_rows {
        return Err(format!(
            "More than {max_rows} rows: raise --max-rows to test them"
        ));
    }
    rows.push(row);
    Ok(())
}

/// Creates `table` with the data's columns and inserts every row (one transaction, batches of
/// at most ~30,000 bound values).
pub async fn insert(
    conn: &mut SqliteConnection,
    table: &str,
    data: &Data,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let cols = &data.columns;
    let defs: Vec<String> = cols
        .names
        .iter()
        .zip(&cols.affinity)
        .map(|(n, a)| format!("{} {}", ident(n), a.sql()))
        .collect();
    let create = format!("CREATE TABLE {} ({})", ident(table), defs.join(", "));
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&mut *conn)
        .await?;
    let width = cols.names.len().max(1);
    let per = (30_000 / width).clamp(1, 500);
    let one = format!("({})", vec!["?"; width].join(", "));
    let mut tx = conn.begin().await?;
    for chunk in data.rows.chunks(per) {
        let q = format!(
            "INSERT INTO {} VALUES {}",
            ident(table),
            vec![one.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for row in chunk {
            for cell in row {
                query = match cell {
                    Cell::Null => query.bind(None::<String>),
                    Cell::Int(i) => query.bind(*i),
                    Cell::Real(f) => query.bind(*f),
                    Cell::Text(s) => query.bind(s.as_str()),
                };
            }
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}
