//! Counting checks computed while the files are read, column by column of each row, instead of
//! by SQL over a loaded table: the row count, missing and invalid values, duplicate keys, and
//! the newest and oldest timestamps. Only the checks whose SQL this reproduces exactly are
//! taken (`Streamed::of`): values are compared as the SQL compares them (`stored.rs`), patterns
//! run through the same `regex` crate as the database's `REGEXP`. The rest — sql rules, lists or
//! bounds that are not plain strings or numbers — runs in SQL over only the columns it needs.
//!
//! Duplicate keys are counted from a 128-bit hash (XXH3) of each key: a key is 16 bytes of
//! memory whatever its width, and two different keys of a 10-million-row file share a hash with
//! probability below 10⁻²⁴.

use std::cmp::Ordering;

use regex::Regex;
use serde_json::Value;
use socle_data::quality::evaluate::Measured;
use socle_data::quality::plan::{Check, Metric, Validity};

use crate::load::{Affinity, Cell, Columns, Val};
use crate::stored::{Number, compare_numeric, text_of, unixepoch};

/// What one streamed check counts.
#[derive(Debug, Clone)]
enum Count {
    Rows,
    /// Null, or text among `values`.
    Missing {
        values: Vec<String>,
    },
    Invalid(Box<Rule>),
    /// Hashes of the keys over the item's columns.
    Duplicate {
        hashes: Buckets,
    },
    Extreme(Extreme),
}

/// The newest (or oldest) timestamp of a column as `unixepoch(…, 'subsec')`: computed here for
/// the strict ISO shape, the other values kept for SQLite's own date functions.
#[derive(Debug, Clone)]
pub struct Extreme {
    pub newest: bool,
    pub best: Option<f64>,
    pub odd: Vec<Cell>,
}

impl Extreme {
    fn add(&mut self, v: Val<'_>) {
        let epoch = match v {
            Val::Null => return,
            Val::Text(t) => unixepoch(t),
            _ => None,
        };
        match epoch {
            Some(e) => self.take(e),
            None => self.odd.push(v.to_cell()),
        }
    }

    fn take(&mut self, e: f64) {
        if self.best.is_none_or(|b| self.beats(e, b)) {
            self.best = Some(e);
        }
    }

    fn merge(&mut self, other: Extreme) {
        if let Some(e) = other.best {
            self.take(e);
        }
        self.odd.extend(other.odd);
    }

    /// The same check with nothing seen yet.
    fn fresh(&self) -> Self {
        Extreme {
            newest: self.newest,
            best: None,
            odd: Vec::new(),
        }
    }

    /// Whether `e` is newer (or older) than `b`.
    pub fn beats(&self, e: f64, b: f64) -> bool {
        if self.newest { e > b } else { e < b }
    }
}

/// What a streamed check measured: a count, or a timestamp extreme still to be combined with
/// SQLite's reading of the values it could not read itself.
#[derive(Debug)]
pub enum Outcome {
    Count(Measured),
    Extreme(Extreme),
}

/// A validity as SQL writes it (`sql::invalid`), with only strings and numbers in it.
#[derive(Debug, Clone)]
struct Rule {
    /// `None`: no list; `Some(empty)`: a list without scalars (nothing is valid).
    valid: Option<Vec<String>>,
    pattern: Option<Regex>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    invalid: Vec<String>,
}

#[derive(Debug)]
struct Item {
    key: String,
    /// The columns it reads, by name.
    fields: Vec<String>,
    count: Count,
    value: i64,
}

/// The streamed checks of one table, and what they counted.
#[derive(Debug, Default)]
pub struct Streamed {
    items: Vec<Item>,
    /// Each item's columns as positions in the reader's row (`None`: no file has it yet).
    at: Vec<Vec<Option<usize>>>,
    rows: i64,
    key: Vec<u8>,
}

/// Strings of a value list, when every value is one (`None` otherwise: SQL compares numbers).
fn strings(values: &[Value]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A list as `sql::member` reads it: `Some(strings)` when it compares as text, `Some(empty)`
/// when it holds no scalar, `None` when it would compare numbers.
fn member_list(values: &[Value]) -> Option<Vec<String>> {
    let scalars = values
        .iter()
        .any(|v| v.is_string() || v.is_number() || v.is_boolean());
    if !scalars {
        return Some(vec![]);
    }
    strings(values)
}

fn bound(v: &Option<Value>) -> Result<Option<Number>, ()> {
    match v {
        None => Ok(None),
        Some(Value::Array(_) | Value::Object(_) | Value::Null) => Ok(None),
        Some(v) => Number::of(v).map(Some).ok_or(()),
    }
}

impl Rule {
    fn of(v: &Validity) -> Option<Rule> {
        Some(Rule {
            valid: match &v.valid_values {
                None => None,
                Some(values) => Some(member_list(values)?),
            },
            pattern: match &v.pattern {
                None => None,
                Some(p) => Some(Regex::new(p).ok()?),
            },
            minimum: bound(&v.minimum).ok()?,
            maximum: bound(&v.maximum).ok()?,
            min_length: v.min_length,
            max_length: v.max_length,
            invalid: member_list(&v.invalid_values)?,
        })
    }

    /// Whether a non-null stored value of a numeric column (or of any column, without bounds)
    /// breaks the rule.
    fn breaks(&self, cell: Val<'_>) -> bool {
        if matches!(cell, Val::Null) {
            return false;
        }
        // Bounds first: they need no text.
        let in_bounds = self
            .minimum
            .is_none_or(|m| compare_numeric(cell, m) != Some(Ordering::Less))
            && self
                .maximum
                .is_none_or(|m| compare_numeric(cell, m) != Some(Ordering::Greater));
        if !in_bounds {
            return true;
        }
        let texts = self.valid.is_some()
            || self.pattern.is_some()
            || self.min_length.is_some()
            || self.max_length.is_some()
            || !self.invalid.is_empty();
        if !texts {
            return false;
        }
        let Some(t) = text_of(cell) else {
            return false;
        };
        let chars = || t.chars().count() as u64;
        let valid = self
            .valid
            .as_ref()
            .is_none_or(|list| list.iter().any(|v| *v == *t))
            && self.pattern.as_ref().is_none_or(|p| p.is_match(&t))
            && self.min_length.is_none_or(|n| chars() >= n)
            && self.max_length.is_none_or(|n| chars() <= n);
        !valid || self.invalid.iter().any(|v| *v == *t)
    }
}

impl Streamed {
    /// Takes the checks it can count exactly (`affinity`: of a column, by name). Numeric bounds
    /// on a text column are left to SQL (the literal would compare as text).
    pub fn of(checks: &[&Check], affinity: impl Fn(&str) -> Affinity) -> Self {
        let mut s = Streamed::default();
        for c in checks {
            let field = || c.field.clone().into_iter().collect::<Vec<_>>();
            let (fields, count) = match &c.metric {
                Metric::RowCount => (vec![], Count::Rows),
                Metric::MissingCount { values } => match member_list(values) {
                    Some(values) if c.field.is_some() => (field(), Count::Missing { values }),
                    _ => continue,
                },
                Metric::InvalidCount(v) => match (Rule::of(v), c.field.as_deref()) {
                    (Some(rule), Some(f))
                        if (rule.minimum.is_none() && rule.maximum.is_none())
                            || affinity(f) != Affinity::Text =>
                    {
                        (field(), Count::Invalid(Box::new(rule)))
                    }
                    _ => continue,
                },
                Metric::Freshness { .. } | Metric::Retention { .. } if c.field.is_some() => (
                    field(),
                    Count::Extreme(Extreme {
                        newest: matches!(c.metric, Metric::Freshness { .. }),
                        best: None,
                        odd: Vec::new(),
                    }),
                ),
                Metric::DuplicateCount { columns } if !columns.is_empty() => (
                    columns.clone(),
                    Count::Duplicate {
                        hashes: Buckets::new(),
                    },
                ),
                _ => continue,
            };
            s.items.push(Item {
                key: c.key.clone(),
                fields,
                count,
                value: 0,
            });
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The keys of the checks counted here.
    pub fn keys(&self) -> Vec<String> {
        self.items.iter().map(|i| i.key.clone()).collect()
    }

    /// Whether the check `key` is counted here.
    pub fn has(&self, key: &str) -> bool {
        self.items.iter().any(|i| i.key == key)
    }

    /// Finds each read column among the reader's columns (called when columns are added).
    pub fn resolve(&mut self, columns: &Columns) {
        self.at = self
            .items
            .iter()
            .map(|i| i.fields.iter().map(|f| columns.position(f)).collect())
            .collect();
    }

    /// Counts one row of settled cells (positions as the reader's columns).
    pub fn row(&mut self, row: &[Cell]) {
        self.rows += 1;
        let cell = |p: Option<usize>| p.and_then(|p| row.get(p)).map_or(Val::Null, Cell::val);
        let Streamed { items, at, key, .. } = self;
        for (item, at) in items.iter_mut().zip(at.iter()) {
            match &mut item.count {
                Count::Rows => item.value += 1,
                Count::Missing { values } => item.value += i64::from(missing(values, cell(at[0]))),
                Count::Invalid(rule) => item.value += i64::from(rule.breaks(cell(at[0]))),
                Count::Duplicate { hashes } => {
                    if let Some(h) = key_hash(key, at.iter().map(|&p| cell(p))) {
                        hashes.push(h);
                    }
                }
                Count::Extreme(x) => x.add(cell(at[0])),
            }
        }
    }

    /// Counts `n` rows given column by column (`columns[p]`: the settled values of the reader's
    /// column `p`, row by row; a column shorter than `n` is null in the rows it lacks).
    pub fn columns<'v>(&mut self, columns: &[&[Val<'v>]], n: usize) {
        fn value<'v>(c: &[Val<'v>], r: usize) -> Val<'v> {
            c.get(r).copied().unwrap_or(Val::Null)
        }
        self.rows += n as i64;
        let column = |p: Option<usize>| -> &[Val<'v>] {
            p.and_then(|p| columns.get(p).copied()).unwrap_or(&[])
        };
        let Streamed { items, at, key, .. } = self;
        for (item, at) in items.iter_mut().zip(at.iter()) {
            match &mut item.count {
                Count::Rows => item.value += n as i64,
                Count::Missing { values } => {
                    let c = column(at[0]);
                    let nulls = n.saturating_sub(c.len());
                    let hits = c.iter().take(n).filter(|v| missing(values, **v)).count();
                    item.value += (nulls + hits) as i64;
                }
                Count::Invalid(rule) => {
                    let hits = column(at[0]).iter().take(n).filter(|v| rule.breaks(**v));
                    item.value += hits.count() as i64;
                }
                Count::Duplicate { hashes } => {
                    let parts: Vec<&[Val<'v>]> = at.iter().map(|&p| column(p)).collect();
                    for r in 0..n {
                        if let Some(h) = key_hash(key, parts.iter().map(|c| value(c, r))) {
                            hashes.push(h);
                        }
                    }
                }
                Count::Extreme(x) => {
                    for v in column(at[0]).iter().take(n) {
                        x.add(*v);
                    }
                }
            }
        }
    }

    /// The same checks with nothing counted yet (for a part of the rows counted elsewhere and
    /// [merged](Self::merge) back).
    pub fn fork(&self) -> Streamed {
        let items = self
            .items
            .iter()
            .map(|i| Item {
                key: i.key.clone(),
                fields: i.fields.clone(),
                count: match &i.count {
                    Count::Duplicate { .. } => Count::Duplicate {
                        hashes: Buckets::new(),
                    },
                    Count::Extreme(x) => Count::Extreme(x.fresh()),
                    other => other.clone(),
                },
                value: 0,
            })
            .collect();
        Streamed {
            items,
            at: self.at.clone(),
            rows: 0,
            key: Vec::new(),
        }
    }

    /// Adds what a [fork](Self::fork) counted.
    pub fn merge(&mut self, other: Streamed) {
        self.rows += other.rows;
        for (mine, theirs) in self.items.iter_mut().zip(other.items) {
            mine.value += theirs.value;
            match (&mut mine.count, theirs.count) {
                (Count::Duplicate { hashes }, Count::Duplicate { hashes: more }) => {
                    hashes.append(more);
                }
                (Count::Extreme(x), Count::Extreme(more)) => x.merge(more),
                _ => {}
            }
        }
    }

    /// Makes room for `rows` more keys in each duplicate check (when a file tells its size).
    pub fn reserve(&mut self, rows: usize) {
        for i in &mut self.items {
            if let Count::Duplicate { hashes } = &mut i.count {
                hashes.reserve(rows);
            }
        }
    }

    /// Each streamed check's measurement, by key (duplicates: keys occurring more than once).
    pub fn finish(mut self) -> Vec<(String, Outcome)> {
        use rayon::prelude::*;
        self.items.par_iter_mut().for_each(|item| {
            if let Count::Duplicate { hashes } = &mut item.count {
                item.value = std::mem::take(hashes).duplicated();
            }
        });
        let rows = self.rows;
        self.items
            .into_iter()
            .map(|i| {
                let outcome = match i.count {
                    Count::Extreme(x) => Outcome::Extreme(x),
                    _ => Outcome::Count(Measured::Count {
                        value: i.value,
                        rows,
                    }),
                };
                (i.key, outcome)
            })
            .collect()
    }
}

/// Key hashes split by their top byte into 256 lists: each list is sorted on its own (in
/// parallel, and small enough to sort in cache), and equal hashes always share a list. Hashes
/// counted on several threads stay in their own lists (`more`) until the sort.
#[derive(Debug, Default, Clone)]
struct Buckets {
    lists: Vec<Vec<u128>>,
    more: Vec<Vec<Vec<u128>>>,
}

impl Buckets {
    fn new() -> Self {
        Buckets {
            lists: (0..256).map(|_| Vec::new()).collect(),
            more: Vec::new(),
        }
    }

    fn push(&mut self, h: u128) {
        self.lists[(h >> 120) as usize].push(h);
    }

    /// Takes another thread's hashes (not copied until the sort).
    fn append(&mut self, other: Buckets) {
        self.more.push(other.lists);
        self.more.extend(other.more);
    }

    /// Room for about `rows` more hashes, spread evenly (with an eighth to spare).
    fn reserve(&mut self, rows: usize) {
        let each = rows / 256 + rows / 2048 + 16;
        for b in &mut self.lists {
            b.reserve(each);
        }
    }

    /// Distinct hashes occurring more than once.
    fn duplicated(self) -> i64 {
        use rayon::prelude::*;
        let mut lists: Vec<Vec<Vec<u128>>> = self.lists.into_iter().map(|l| vec![l]).collect();
        for set in self.more {
            for (all, l) in lists.iter_mut().zip(set) {
                all.push(l);
            }
        }
        lists
            .into_par_iter()
            .map(|parts| {
                let mut parts = parts.into_iter().filter(|p| !p.is_empty());
                let mut b = parts.next().unwrap_or_default();
                for p in parts {
                    b.extend_from_slice(&p);
                }
                b.sort_unstable();
                duplicated(&b)
            })
            .sum()
    }
}

/// Distinct values occurring more than once in a sorted list.
fn duplicated(sorted: &[u128]) -> i64 {
    let mut n = 0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        n += i64::from(j - i > 1);
        i = j;
    }
    n
}

/// The hash of a key as SQL's `GROUP BY` tells keys apart (numbers by value, text by bytes),
/// or `None` when a part is null (never a duplicate). Each part is hashed where it lies (a
/// text is not copied; the kind of value seeds its hash); a key of several parts is the hash of
/// its parts' hashes, 16 bytes each, in `buf`.
fn key_hash<'v>(buf: &mut Vec<u8>, parts: impl Iterator<Item = Val<'v>>) -> Option<u128> {
    use twox_hash::XxHash3_128 as H;
    buf.clear();
    let mut first = None;
    for (i, c) in parts.enumerate() {
        let h = match c {
            Val::Null => return None,
            Val::Int(i) => H::oneshot_with_seed(1, &i.to_le_bytes()),
            Val::Real(r) => match crate::stored::integral(r) {
                Some(i) => H::oneshot_with_seed(1, &i.to_le_bytes()),
                None => H::oneshot_with_seed(2, &r.to_bits().to_le_bytes()),
            },
            Val::Text(s) => H::oneshot_with_seed(3, s.as_bytes()),
        };
        match i {
            0 => first = Some(h),
            1 => {
                buf.extend_from_slice(&first.unwrap_or_default().to_le_bytes());
                buf.extend_from_slice(&h.to_le_bytes());
            }
            _ => buf.extend_from_slice(&h.to_le_bytes()),
        }
    }
    if buf.is_empty() {
        first
    } else {
        Some(H::oneshot(buf))
    }
}

/// Whether a value counts as missing: null, or text among `values`.
fn missing(values: &[String], v: Val<'_>) -> bool {
    matches!(v, Val::Null)
        || (!values.is_empty() && text_of(v).is_some_and(|t| values.iter().any(|m| *m == *t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_counts_distinct_repeated_values() {
        assert_eq!(duplicated(&[1, 1, 1, 2, 3, 3, 4]), 2);
        assert_eq!(duplicated(&[]), 0);
        assert_eq!(duplicated(&[5]), 0);
    }

    #[test]
    fn a_key_counted_on_two_threads_is_one_duplicate() {
        let mut main = Buckets::new();
        let (mut a, mut b) = (Buckets::new(), Buckets::new());
        let h = |n: u128| n << 120 | n; // spread over several lists
        for n in [1, 2, 5] {
            a.push(h(n));
        }
        for n in [2, 3, 3, 4] {
            b.push(h(n));
        }
        main.push(h(4));
        main.append(a);
        main.append(b);
        // 2 (one on each thread), 3 (twice on one), 4 (here and on a thread); not 1 nor 5.
        assert_eq!(main.duplicated(), 3);
    }

    #[test]
    fn equal_numbers_hash_alike_and_text_differs() {
        let mut b = Vec::new();
        let one = key_hash(&mut b, [Val::Int(1)].into_iter());
        assert_eq!(one, key_hash(&mut b, [Val::Real(1.0)].into_iter()));
        assert_ne!(one, key_hash(&mut b, [Val::Text("1")].into_iter()));
        assert_eq!(key_hash(&mut b, [Val::Int(1), Val::Null].into_iter()), None);
        // Parts are delimited: ("ab", "c") is not ("a", "bc").
        let ab_c = key_hash(&mut b, [Val::Text("ab"), Val::Text("c")].into_iter());
        let a_bc = key_hash(&mut b, [Val::Text("a"), Val::Text("bc")].into_iter());
        assert_ne!(ab_c, a_bc);
    }
}
