//! One column of a Parquet batch as the table stores it: the values `ColumnReader` decoded
//! (numbers, text bytes borrowed from the page; definition levels for nulls) and how each
//! becomes a stored value — read off the value itself, written once into the batch's text
//! (timestamps, dates: the same text the `time` crate writes, by a formatter of its own), or
//! settled one by one (every other pairing of a file's type and a column's affinity). Buffers
//! are kept from batch to batch.

use parquet::basic::{ConvertedType, LogicalType, Type as Physical};

use crate::load::{Affinity, Cell, Val};

/// The civil date of a day count since 1970-01-01 (proleptic Gregorian; Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Years the text forms below carry (as the `time` crate's default range): outside them a
/// value reads as the range's floor (dates) or the epoch (timestamps), as it did before.
const YEARS: std::ops::RangeInclusive<i64> = -9999..=9999;

/// Writes `v` as `width` digits (zero-padded) at `at` of `b`.
fn put(b: &mut [u8], at: usize, width: usize, mut v: u64) {
    for i in (at..at + width).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `YYYY-MM-DD` of a date in [`YEARS`] (a year below zero signed, its digits as a positive
/// year's), appended to `out`.
fn push_date(out: &mut String, (y, m, d): (i64, u32, u32)) {
    if y < 0 {
        out.push('-');
    }
    let mut b = *b"0000-00-00";
    put(&mut b, 0, 4, y.unsigned_abs());
    put(&mut b, 5, 2, u64::from(m));
    put(&mut b, 8, 2, u64::from(d));
    out.push_str(std::str::from_utf8(&b).unwrap_or_default());
}

/// `micros` since the epoch as `2026-12-04T10:00:00.000000Z`, appended to `out`.
fn push_timestamp(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let (days, second) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let mut date = civil(days);
    let (mut second, mut sub) = (second, micros.rem_euclid(1_000_000));
    if !YEARS.contains(&date.0) {
        (date, second, sub) = ((1970, 1, 1), 0, 0);
    }
    push_date(out, date);
    let mut b = *b"T00:00:00.000000Z";
    put(&mut b, 1, 2, (second / 3600) as u64);
    put(&mut b, 4, 2, (second / 60 % 60) as u64);
    put(&mut b, 7, 2, (second % 60) as u64);
    put(&mut b, 10, 6, sub as u64);
    out.push_str(std::str::from_utf8(&b).unwrap_or_default());
}

/// Days since the epoch as `YYYY-MM-DD`, appended to `out`.
fn push_day(out: &mut String, days: i32) {
    let date = civil(i64::from(days));
    push_date(
        out,
        if YEARS.contains(&date.0) {
            date
        } else {
            (-9999, 1, 1)
        },
    );
}

pub(crate) fn timestamp(micros: i64) -> String {
    let mut s = String::with_capacity(27);
    push_timestamp(&mut s, micros);
    s
}

pub(crate) fn date(days: i32) -> String {
    let mut s = String::with_capacity(10);
    push_day(&mut s, days);
    s
}

/// How one leaf column's values become cells (None: only the record API reads it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Decode {
    Bool,
    Int,
    Float,
    Date,
    /// Timestamps in this many nanoseconds per unit (1,000,000 for millis, 1,000 micros, 1 nanos).
    Timestamp(i64),
    Text,
}

pub(crate) fn decode_of(c: &parquet::schema::types::ColumnDescriptor) -> Option<Decode> {
    let logical = c.logical_type_ref();
    if matches!(logical, Some(LogicalType::Decimal { .. }))
        || c.converted_type() == ConvertedType::DECIMAL
    {
        return None;
    }
    Some(match (c.physical_type(), logical) {
        (Physical::BOOLEAN, _) => Decode::Bool,
        (Physical::INT32, Some(LogicalType::Date)) => Decode::Date,
        (
            Physical::INT32,
            None
            | Some(LogicalType::Integer {
                is_signed: true, ..
            }),
        ) => Decode::Int,
        (Physical::INT64, Some(LogicalType::Timestamp { unit, .. })) => {
            Decode::Timestamp(match unit {
                parquet::basic::TimeUnit::MILLIS => 1_000_000,
                parquet::basic::TimeUnit::MICROS => 1_000,
                parquet::basic::TimeUnit::NANOS => 1,
            })
        }
        (
            Physical::INT64,
            Some(LogicalType::Integer {
                is_signed: true, ..
            }),
        )
        | (Physical::INT64, None) => Decode::Int,
        (Physical::FLOAT | Physical::DOUBLE, None) => Decode::Float,
        (
            Physical::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Decode::Text,
        (Physical::BYTE_ARRAY, None) if c.converted_type() == ConvertedType::UTF8 => Decode::Text,
        _ => return None,
    })
}

/// One column of a batch as read: the non-null values and, for an optional column, the
/// definition levels (below `max_def`: null).
enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<parquet::data_type::ByteArray>),
}

/// How a batch's values become stored values: read off the values themselves (numbers, text
/// borrowed from the page), written once into one text (timestamps, dates), or settled one by
/// one (every other pairing of a file's type and a column's affinity).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Direct,
    /// Each value's text in `text`, ending at `ends[i]`.
    Written,
    /// Each value in `settled`.
    Settled,
}

/// A decoded column of one batch. Its buffers are kept from batch to batch (a batch allocates
/// nothing once the first has grown them).
pub(crate) struct Batch {
    values: Values,
    defs: Option<Vec<i16>>,
    max_def: i16,
    decode: Decode,
    affinity: Affinity,
    mode: Mode,
    text: String,
    ends: Vec<usize>,
    settled: Vec<Cell>,
    /// Set when a text read straight off the page is not UTF-8.
    not_utf8: std::cell::Cell<bool>,
}

impl Batch {
    pub(crate) fn new(max_def: i16, decode: Decode, affinity: Affinity) -> Self {
        Batch {
            values: Values::Bool(Vec::new()),
            // A required column has no definition levels: every value is there.
            defs: (max_def > 0).then(Vec::new),
            max_def,
            decode,
            affinity,
            mode: Mode::Direct,
            text: String::new(),
            ends: Vec::new(),
            settled: Vec::new(),
            not_utf8: std::cell::Cell::new(false),
        }
    }

    /// The next `n` rows of the column; how many were read.
    pub(crate) fn refill(
        &mut self,
        reader: &mut parquet::column::reader::ColumnReader,
        n: usize,
    ) -> Result<usize, String> {
        use parquet::column::reader::ColumnReader as R;
        if let Some(d) = &mut self.defs {
            d.clear();
        }
        macro_rules! go {
            ($r:expr, $variant:ident) => {{
                if !matches!(self.values, Values::$variant(_)) {
                    self.values = Values::$variant(Vec::with_capacity(n));
                }
                let Values::$variant(values) = &mut self.values else {
                    unreachable!("set just above")
                };
                values.clear();
                let (records, _, _) = $r
                    .read_records(n, self.defs.as_mut(), None, values)
                    .map_err(|e| e.to_string())?;
                records
            }};
        }
        let records = match reader {
            R::BoolColumnReader(r) => go!(r, Bool),
            R::Int32ColumnReader(r) => go!(r, I32),
            R::Int64ColumnReader(r) => go!(r, I64),
            R::FloatColumnReader(r) => go!(r, F32),
            R::DoubleColumnReader(r) => go!(r, F64),
            R::ByteArrayColumnReader(r) => go!(r, Bytes),
            _ => return Err("a column type the columnar reader does not decode".into()),
        };
        self.render();
        Ok(records)
    }

    /// The `i`th non-null value as the record API gives it, before settling.
    fn raw(&self, i: usize) -> Cell {
        let a = self.affinity;
        match (&self.values, self.decode) {
            (Values::Bool(v), _) => Cell::Int(i64::from(v[i])),
            (Values::I32(v), Decode::Date) => Cell::Text(date(v[i])),
            (Values::I32(v), _) => Cell::Int(i64::from(v[i])),
            (Values::I64(v), Decode::Timestamp(nanos)) => {
                Cell::Text(timestamp(v[i].saturating_mul(nanos) / 1_000))
            }
            (Values::I64(v), _) => Cell::Int(v[i]),
            (Values::F32(v), _) => Cell::Real(f64::from(v[i])),
            (Values::F64(v), _) => Cell::Real(v[i]),
            (Values::Bytes(v), _) => {
                let s = String::from_utf8_lossy(v[i].data());
                if a == Affinity::Text {
                    Cell::Text(s.into_owned())
                } else {
                    a.typed(&s)
                }
            }
        }
    }

    fn len(&self) -> usize {
        match &self.values {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bytes(v) => v.len(),
        }
    }

    fn render(&mut self) {
        let numeric = self.affinity != Affinity::Text;
        self.not_utf8.set(false);
        self.text.clear();
        self.ends.clear();
        self.settled.clear();
        self.mode = match (&self.values, self.decode) {
            (Values::I32(v), Decode::Date) => {
                for d in v {
                    push_day(&mut self.text, *d);
                    self.ends.push(self.text.len());
                }
                Mode::Written
            }
            (Values::I64(v), Decode::Timestamp(nanos)) => {
                for t in v {
                    push_timestamp(&mut self.text, t.saturating_mul(nanos) / 1_000);
                    self.ends.push(self.text.len());
                }
                Mode::Written
            }
            (Values::Bool(_) | Values::I32(_) | Values::I64(_), _) if numeric => Mode::Direct,
            (Values::F32(_) | Values::F64(_), _) if numeric => Mode::Direct,
            // Checked to be UTF-8 as the values are read (`value`).
            (Values::Bytes(_), _) if !numeric => Mode::Direct,
            _ => {
                self.settle_each();
                Mode::Settled
            }
        };
    }

    /// Every value settled one by one into `settled` (texts that are not UTF-8 read lossily,
    /// as the record API reads them).
    fn settle_each(&mut self) {
        self.settled = (0..self.len())
            .map(|i| crate::stored::settle(self.raw(i), self.affinity))
            .collect();
    }

    /// The `i`th non-null value as the table stores it.
    fn value(&self, i: usize) -> Val<'_> {
        match self.mode {
            Mode::Settled => return self.settled[i].val(),
            Mode::Written => {
                let from = if i == 0 { 0 } else { self.ends[i - 1] };
                return Val::Text(&self.text[from..self.ends[i]]);
            }
            Mode::Direct => {}
        }
        let real = |r: f64| {
            if r.is_nan() {
                Val::Null
            } else if self.affinity == Affinity::Real {
                Val::Real(r)
            } else {
                crate::stored::integral(r).map_or(Val::Real(r), Val::Int)
            }
        };
        let int = |n: i64| {
            if self.affinity == Affinity::Real {
                Val::Real(n as f64)
            } else {
                Val::Int(n)
            }
        };
        match &self.values {
            Values::Bool(v) => int(i64::from(v[i])),
            Values::I32(v) => int(i64::from(v[i])),
            Values::I64(v) => int(v[i]),
            Values::F32(v) => real(f64::from(v[i])),
            Values::F64(v) => real(v[i]),
            Values::Bytes(v) => match std::str::from_utf8(v[i].data()) {
                Ok(t) => Val::Text(t),
                Err(_) => {
                    self.not_utf8.set(true);
                    Val::Null
                }
            },
        }
    }

    /// Each of the first `n` rows' stored value, appended to `out`; false when a text is not
    /// UTF-8 (then [`Self::lossy`] and again).
    pub(crate) fn values<'a>(&'a self, n: usize, out: &mut Vec<Val<'a>>) -> bool {
        match &self.defs {
            None => {
                for i in 0..n.min(self.len()) {
                    out.push(self.value(i));
                }
            }
            Some(defs) => {
                let mut next = 0;
                for d in defs.iter().take(n) {
                    out.push(if *d < self.max_def || next >= self.len() {
                        Val::Null
                    } else {
                        next += 1;
                        self.value(next - 1)
                    });
                }
            }
        }
        !self.not_utf8.get()
    }

    /// Reads the batch again value by value, settled (texts that are not UTF-8 lossily).
    pub(crate) fn lossy(&mut self) {
        self.settle_each();
        self.mode = Mode::Settled;
        self.not_utf8.set(false);
    }
}

/// An emptied vector's buffer, for values of another lifetime: the standard library's in-place
/// `collect` keeps the allocation when the layouts are the same, as here.
pub(crate) fn recycle<'b>(mut v: Vec<Val<'_>>) -> Vec<Val<'b>> {
    v.clear();
    v.into_iter().map(|_| Val::Null).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_vector_keeps_its_buffer() {
        let text = String::from("x");
        let mut v = vec![Val::Text(&text); 100];
        v.push(Val::Null);
        let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
        let again: Vec<Val<'static>> = recycle(v);
        assert_eq!((again.as_ptr() as usize, again.capacity()), (ptr, cap));
        assert!(again.is_empty());
    }

    /// The text forms as the `time` crate writes them (what the reader wrote before).
    fn by_time(micros: i64) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        t.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap()
    }

    fn day_by_time(days: i32) -> String {
        let d = 2_440_588i32
            .checked_add(days)
            .and_then(|j| time::Date::from_julian_day(j).ok())
            .unwrap_or(time::Date::MIN);
        d.format(time::macros::format_description!("[year]-[month]-[day]"))
            .unwrap()
    }

    proptest::proptest! {
        #[test]
        fn timestamps_are_written_as_the_time_crate_writes_them(
            micros in proptest::prop_oneof![
                proptest::prelude::any::<i64>(),
                -400_000_000_000_000_000i64..400_000_000_000_000_000,
                -1_000_000_000_000i64..1_000_000_000_000,
            ]
        ) {
            proptest::prop_assert_eq!(timestamp(micros), by_time(micros));
        }

        #[test]
        fn dates_are_written_as_the_time_crate_writes_them(
            days in proptest::prop_oneof![
                proptest::prelude::any::<i32>(),
                -4_000_000i32..4_000_000,
                -1_000i32..1_000,
            ]
        ) {
            proptest::prop_assert_eq!(date(days), day_by_time(days));
        }
    }

    #[test]
    fn edges_of_the_years_are_written_as_before() {
        for micros in [
            0,
            -1,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
            -377_705_116_800_000_000,
            -377_705_116_800_000_001,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(timestamp(micros), by_time(micros), "{micros}");
        }
        for days in [
            0,
            -1,
            2_932_896,
            2_932_897,
            -4_371_587,
            -4_371_588,
            i32::MIN,
            i32::MAX,
        ] {
            assert_eq!(date(days), day_by_time(days), "{days}");
        }
    }
}
