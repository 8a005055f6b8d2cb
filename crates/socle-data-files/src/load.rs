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

use std::sync::mpsc::SyncSender;

use crate::stage::Stage;
use crate::stream::Streamed;

/// How a server's files are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv {
        delimiter: u8,
    },
    /// JSON Lines (one object per line) or one JSON array of objects.
    Json,
    /// Apache Parquet: typed columns (the type checks run on them).
    Parquet,
}

impl Format {
    /// The format a file server names (`csv`, `json`, `parquet`); `None` for the others.
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
            "parquet" => Some(Format::Parquet),
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
    pub(crate) fn typed(self, s: &str) -> Cell {
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
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Cell {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A stored value borrowed from where it was read (a Parquet page's bytes, a cell, a batch's
/// text): what the streamed checks count without copying text.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Val<'a> {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl Val<'_> {
    pub fn to_cell(self) -> Cell {
        match self {
            Val::Null => Cell::Null,
            Val::Int(i) => Cell::Int(i),
            Val::Real(r) => Cell::Real(r),
            Val::Text(t) => Cell::Text(t.to_owned()),
        }
    }
}

impl Cell {
    pub fn val(&self) -> Val<'_> {
        match self {
            Cell::Null => Val::Null,
            Cell::Int(i) => Val::Int(*i),
            Cell::Real(r) => Val::Real(*r),
            Cell::Text(t) => Val::Text(t),
        }
    }

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

/// What the reader sends the stage while the files are read: columns as they appear (the
/// declared ones and a file's header first), then rows in batches as wide as the columns known
/// when they were read, or a Parquet file for the stage to read itself.
pub(crate) enum Msg {
    Columns(Vec<(String, Affinity)>),
    Rows(Vec<Vec<Cell>>),
    /// A Parquet file the columnar reader reads, with its columns' positions among the
    /// columns announced.
    Parquet {
        path: PathBuf,
        header: Vec<usize>,
    },
}

/// What the stage sends the database: the table's columns as they are added, then rows of
/// those columns, `width` cells each, one after the other.
pub(crate) enum Out {
    Columns(Vec<(String, Affinity)>),
    Rows { width: usize, cells: Vec<Cell> },
}

/// Rows per batch sent to the database.
pub(crate) const BATCH: usize = 4096;

/// The reader's side: parses on a blocking thread, sends batches, stops when the receiver has
/// gone (an insert failed). Returns the names the files carry (what `field_is_present` sees).
struct Reader {
    columns: Columns,
    sent: usize,
    present: Vec<String>,
    /// Native types of the columns of typed files (Parquet), by name.
    native: Vec<(String, String)>,
    batch: Vec<Vec<Cell>>,
    rows: usize,
    max_rows: usize,
    tx: SyncSender<Msg>,
}

impl Reader {
    fn column(&mut self, name: &str) -> usize {
        if !self.present.iter().any(|p| p == name) {
            self.present.push(name.to_owned());
        }
        self.columns.index_or_add(name)
    }

    /// Sends the columns added since the last call (after flushing rows read before them).
    fn sync_columns(&mut self) -> Result<(), String> {
        if self.columns.names.len() == self.sent {
            return Ok(());
        }
        self.flush()?;
        let new: Vec<(String, Affinity)> = (self.sent..self.columns.names.len())
            .map(|i| (self.columns.names[i].clone(), self.columns.affinity[i]))
            .collect();
        self.sent = self.columns.names.len();
        self.send(Msg::Columns(new))
    }

    /// One row as wide as the columns known (`sent`), as parsed.
    fn push(&mut self, row: Vec<Cell>) -> Result<(), String> {
        if self.rows >= self.max_rows {
            return Err(self.too_many());
        }
        self.rows += 1;
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn too_many(&self) -> String {
        format!(
            "More than {} rows: raise --max-rows to test them",
            self.max_rows
        )
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.batch);
        self.send(Msg::Rows(rows))
    }

    fn send(&self, m: Msg) -> Result<(), String> {
        self.tx.send(m).map_err(|_| "the load stopped".to_owned())
    }

    fn csv(&mut self, file: &Path, delimiter: u8) -> Result<(), String> {
        let shown = file.display();
        let mut r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_path(file)
            .map_err(|e| format!("Could not read {shown}: {e}"))?;
        let names: Vec<String> = r
            .headers()
            .map_err(|e| format!("{shown}:1: {e}"))?
            .iter()
            .map(str::to_owned)
            .collect();
        let header: Vec<usize> = names.iter().map(|h| self.column(h)).collect();
        self.sync_columns()?;
        let mut rec = csv::StringRecord::new();
        let mut line = 1;
        loop {
            line += 1;
            match r.read_record(&mut rec) {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(e) => return Err(format!("{shown}:{line}: {e}")),
            }
            let mut row = vec![Cell::Null; self.sent];
            for (field, &at) in rec.iter().zip(&header) {
                if !field.is_empty() {
                    row[at] = self.columns.affinity[at].typed(field);
                }
            }
            self.push(row)?;
        }
    }

    fn parquet(&mut self, file: &Path) -> Result<(), String> {
        let pq = crate::parquet_read::ParquetFile::open(file)?;
        let columns = pq.columns();
        let mut header = Vec::with_capacity(columns.len());
        for (name, native) in &columns {
            header.push(self.column(name));
            if !self.native.iter().any(|(n, _)| n == name) {
                self.native.push((name.clone(), native.clone()));
            }
        }
        self.sync_columns()?;
        if pq.columnar() {
            // The stage reads it, row groups side by side.
            let rows = pq.num_rows();
            if self.rows.saturating_add(rows) > self.max_rows {
                return Err(self.too_many());
            }
            self.rows += rows;
            self.flush()?;
            return self.send(Msg::Parquet {
                path: file.to_owned(),
                header,
            });
        }
        for values in pq.rows(file)? {
            let values = values?;
            let mut row = vec![Cell::Null; self.sent];
            for ((_, f), &at) in values.get_column_iter().zip(&header) {
                row[at] = crate::parquet_read::cell(f, self.columns.affinity[at]);
            }
            self.push(row)?;
        }
        Ok(())
    }

    fn json_object(&mut self, obj: serde_json::Map<String, Value>) -> Result<(), String> {
        let at: Vec<usize> = obj.keys().map(|k| self.column(k)).collect();
        self.sync_columns()?;
        let mut row = vec![Cell::Null; self.sent];
        for ((_, v), i) in obj.iter().zip(at) {
            row[i] = Cell::of_json(v, self.columns.affinity[i]);
        }
        self.push(row)
    }

    fn json(&mut self, file: &Path) -> Result<(), String> {
        use std::io::BufRead;
        let shown = file.display();
        let f = std::fs::File::open(file).map_err(|e| format!("Could not read {shown}: {e}"))?;
        let mut reader = std::io::BufReader::new(f);
        let starts_array = reader
            .fill_buf()
            .map_err(|e| format!("Could not read {shown}: {e}"))?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            == Some(&b'[');
        if starts_array {
            // A JSON array is read whole (bounded by the file size the caller allows).
            let v: Value = serde_json::from_reader(reader)
                .map_err(|e| format!("{shown}:{}: {e}", e.line()))?;
            for item in v.as_array().into_iter().flatten() {
                if let Value::Object(m) = item {
                    self.json_object(m.clone())?;
                }
            }
            return Ok(());
        }
        let mut text = String::new();
        let mut line = 0;
        loop {
            text.clear();
            line += 1;
            if reader
                .read_line(&mut text)
                .map_err(|e| format!("{shown}:{line}: {e}"))?
                == 0
            {
                return Ok(());
            }
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => self.json_object(m)?,
                Ok(_) => return Err(format!("{shown}:{line}: not a JSON object")),
                Err(e) => return Err(format!("{shown}:{line}: {e}")),
            }
        }
    }
}

/// What the files carried.
pub struct Loaded {
    /// The columns the files carry (what `field_is_present` sees).
    pub present: Vec<String>,
    /// The native type of each column of typed files (Parquet), by name.
    pub native: Vec<(String, String)>,
    /// The streamed checks with what they counted, not yet [finished](Streamed::finish).
    pub stream: Option<Streamed>,
}

/// What a load keeps in the table and counts on the way.
#[derive(Debug, Default)]
pub struct Plan {
    /// Columns the table keeps, by name (`None`: every column; empty: no table).
    pub keep: Option<Vec<String>>,
    pub stream: Option<Streamed>,
}

/// Reads every file on a blocking thread (at most `max_rows` rows) while `table` is created
/// and filled in batches (one transaction).
pub async fn load(
    conn: &mut SqliteConnection,
    table: &str,
    files: Vec<PathBuf>,
    format: Format,
    object: &ObjectSpec,
    max_rows: usize,
    plan: Plan,
) -> Result<Loaded, String> {
    use sqlx::Connection;
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let declared = Columns::declared(object);
    let reader = tokio::task::spawn_blocking(move || {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel(4);
        let stage = Stage::new(plan.keep, plan.stream, tx);
        std::thread::scope(|scope| {
            let staged = scope.spawn(move || stage.run(raw_rx));
            let mut r = Reader {
                columns: declared,
                sent: 0,
                present: Vec::new(),
                native: Vec::new(),
                batch: Vec::new(),
                rows: 0,
                max_rows,
                tx: raw_tx,
            };
            let read = (|| {
                r.sync_columns()?;
                for file in &files {
                    match format {
                        Format::Csv { delimiter } => r.csv(file, delimiter)?,
                        Format::Json => r.json(file)?,
                        Format::Parquet => r.parquet(file)?,
                    }
                }
                r.flush()
            })();
            let (present, native) = (r.present, r.native);
            drop(r.tx);
            let stream = staged
                .join()
                .map_err(|_| "the load's stage stopped".to_owned())?;
            read?;
            Ok::<_, String>(Loaded {
                present,
                native,
                stream: stream?,
            })
        })
    });
    let db = |e: sqlx::Error| format!("Could not load model '{table}': {e}");
    let mut txn = conn.begin().await.map_err(db)?;
    let mut names: Vec<String> = Vec::new();
    let mut written: Result<(), String> = Ok(());
    while let Some(m) = rx.recv().await {
        let step = match m {
            Out::Columns(new) => {
                let done = add_columns(&mut txn, table, names.is_empty(), &new).await;
                names.extend(new.into_iter().map(|(n, _)| n));
                done
            }
            Out::Rows { width, cells } => insert(&mut txn, table, &names, width, &cells).await,
        };
        if let Err(e) = step {
            written = Err(db(e));
            break;
        }
    }
    drop(rx);
    let read = reader
        .await
        .map_err(|e| format!("Could not read model '{table}': {e}"))?;
    written?;
    let present = read.map_err(|e| format!("Could not read model '{table}': {e}"))?;
    txn.commit().await.map_err(db)?;
    Ok(present)
}

type Txn<'c> = sqlx::Transaction<'c, sqlx::Sqlite>;

/// Creates the table with its first columns, or adds columns a later file or object brought.
async fn add_columns(
    txn: &mut Txn<'_>,
    table: &str,
    create: bool,
    new: &[(String, Affinity)],
) -> Result<(), sqlx::Error> {
    let defs: Vec<String> = new
        .iter()
        .map(|(n, a)| format!("{} {}", ident(n), a.sql()))
        .collect();
    let statements: Vec<String> = if create {
        vec![format!(
            "CREATE TABLE {} ({})",
            ident(table),
            defs.join(", ")
        )]
    } else {
        defs.iter()
            .map(|d| format!("ALTER TABLE {} ADD COLUMN {d}", ident(table)))
            .collect()
    };
    for q in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(q))
            .execute(&mut **txn)
            .await?;
    }
    Ok(())
}

/// Inserts rows of `width` cells (values of the first `width` columns of `names`), at most
/// ~30,000 bound values per statement.
async fn insert(
    txn: &mut Txn<'_>,
    table: &str,
    names: &[String],
    width: usize,
    cells: &[Cell],
) -> Result<(), sqlx::Error> {
    if width == 0 || cells.is_empty() {
        return Ok(());
    }
    let cols: Vec<String> = names[..width].iter().map(|n| ident(n)).collect();
    let per = (30_000 / width).clamp(1, 500);
    let one = format!("({})", vec!["?"; width].join(", "));
    let mut full: Option<(usize, String)> = None;
    for chunk in cells.chunks(per * width) {
        let rows = chunk.len() / width;
        let q = match &full {
            Some((n, q)) if *n == rows => q.clone(),
            _ => {
                let q = format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    ident(table),
                    cols.join(", "),
                    vec![one.as_str(); rows].join(", ")
                );
                full = Some((rows, q.clone()));
                q
            }
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        for cell in chunk {
            query = match cell {
                Cell::Null => query.bind(None::<String>),
                Cell::Int(i) => query.bind(*i),
                Cell::Real(f) => query.bind(*f),
                Cell::Text(s) => query.bind(s.as_str()),
            };
        }
        query.execute(&mut **txn).await?;
    }
    Ok(())
}
