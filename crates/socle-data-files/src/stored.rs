//! Values exactly as the in-memory SQLite table stores them, and SQLite's reading of them, so
//! that counting checks computed in Rust while the files stream (`stream.rs`) measure what the
//! same checks measure in SQL.
//!
//! The loader binds every cell already *settled* ([`settle`]): in the form SQLite's column
//! affinity would give it, so that SQLite converts nothing on insert and both paths see the same
//! values. What SQLite does with those values in the checks' SQL — `CAST(x AS TEXT)`, a
//! comparison with a numeric literal — is reproduced here and checked against SQLite itself by
//! property tests (`tests/it/stored.rs`).

use std::borrow::Cow;
use std::cmp::Ordering;

pub use crate::load::{Affinity, Cell, Val};

/// A text SQLite reads as a number under numeric affinity (`sqlite3AtoF`'s grammar: spaces,
/// sign, digits with at most one point, an exponent with digits, spaces; at least one digit):
/// `Some(Int)` for an integer that fits, `Some(Real)` otherwise.
fn numeric(text: &str) -> Option<Cell> {
    let s = text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r'));
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    let mut integer = true;
    if i < b.len() && b[i] == b'.' {
        integer = false;
        i += 1;
        let frac = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        integer = false;
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if integer && let Ok(n) = s.parse::<i64>() {
        return Some(Cell::Int(n));
    }
    s.parse::<f64>().ok().map(Cell::Real)
}

/// A float as an integer when SQLite's integer affinity would store it as one.
pub(crate) fn integral(r: f64) -> Option<i64> {
    // Like sqlite3VdbeIntegerAffinity: exact, strictly inside the i64 range (`as` saturates).
    let i = r as i64;
    (i as f64 == r && i != i64::MIN && i != i64::MAX).then_some(i)
}

/// The cell as a column of affinity `a` stores it: numbers in text columns become text,
/// numeric text in numeric columns becomes a number, integral floats in integer columns
/// integers, integers in real columns floats, NaN null.
pub fn settle(cell: Cell, a: Affinity) -> Cell {
    let cell = match cell {
        Cell::Real(r) if r.is_nan() => return Cell::Null,
        Cell::Text(s) if a != Affinity::Text => match numeric(&s) {
            Some(n) => n,
            None => return Cell::Text(s),
        },
        other => other,
    };
    match (cell, a) {
        (Cell::Int(i), Affinity::Text) => Cell::Text(i.to_string()),
        (Cell::Real(r), Affinity::Text) => Cell::Text(real_text(r)),
        (Cell::Real(r), Affinity::Integer | Affinity::Boolean) => {
            integral(r).map_or(Cell::Real(r), Cell::Int)
        }
        (Cell::Int(i), Affinity::Real) => Cell::Real(i as f64),
        (c, _) => c,
    }
}

/// `CAST(x AS TEXT)` of a stored value (`None` for null).
pub fn text(cell: &Cell) -> Option<Cow<'_, str>> {
    text_of(cell.val())
}

/// `CAST(x AS TEXT)` of a stored value (`None` for null).
pub fn text_of(v: Val<'_>) -> Option<Cow<'_, str>> {
    match v {
        Val::Null => None,
        Val::Int(i) => Some(Cow::Owned(i.to_string())),
        Val::Real(r) => Some(Cow::Owned(real_text(r))),
        Val::Text(s) => Some(Cow::Borrowed(s)),
    }
}

/// SQLite's text of a float: `printf("%!.15g")` — 15 significant digits, trailing zeros
/// dropped but a `.0` kept, an exponent (`e+NN`) below 1e-4 or from 1e15. The digits are
/// SQLite's own (`sqlite3FpDecode`, reimplemented in [`decode`]), which round differently from
/// an exact conversion in a few last places.
pub fn real_text(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r < 0.0 { "-Inf" } else { "Inf" }.into();
    }
    let mut out = String::new();
    if r < 0.0 {
        out.push('-');
    }
    let (digits, point) = decode(r.abs(), 15);
    let digit = |j: usize| char::from(*digits.get(j).unwrap_or(&b'0'));
    let exp = point - 1;
    let mut j = 0;
    if !(-4..=14).contains(&exp) {
        out.push(digit(0));
        out.push('.');
        for k in 1..15 {
            out.push(digit(k));
        }
        trim_zeros(&mut out);
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
        return out;
    }
    let mut precision = 14 - exp;
    if exp < 0 {
        out.push('0');
    } else {
        for _ in 0..=exp {
            out.push(digit(j));
            j += 1;
        }
    }
    out.push('.');
    let mut e2 = exp + 1;
    while e2 < 0 && precision > 0 {
        out.push('0');
        precision -= 1;
        e2 += 1;
    }
    for _ in 0..precision {
        out.push(digit(j));
        j += 1;
    }
    trim_zeros(&mut out);
    out
}

/// Drops trailing zeros after the point, keeping one digit after it.
fn trim_zeros(out: &mut String) {
    while out.ends_with('0') {
        out.pop();
    }
    if out.ends_with('.') {
        out.push('0');
    }
}

/// The significant digits of `r` (positive or zero, finite) rounded to `round` of them, and
/// where the decimal point goes (digits before it), as SQLite's `sqlite3FpDecode` computes
/// them: the value scaled into [1e17, 1e19) in double-double arithmetic, its integer's
/// digits, then rounded half up.
#[allow(clippy::excessive_precision)] // the constants as SQLite writes them
fn decode(r: f64, round: usize) -> (Vec<u8>, i32) {
    if r == 0.0 {
        return (b"0".to_vec(), 1);
    }
    let mut rr = [r, 0.0];
    let mut exp = 0i32;
    if rr[0] > 9.223_372_036_854_774_784e18 {
        while rr[0] > 9.223_372_036_854_774_784e118 {
            exp += 100;
            dekker_mul2(&mut rr, 1.0e-100, -1.999_189_980_260_288_361_96e-117);
        }
        while rr[0] > 9.223_372_036_854_774_784e28 {
            exp += 10;
            dekker_mul2(&mut rr, 1.0e-10, -3.643_219_731_549_774_157_9e-27);
        }
        while rr[0] > 9.223_372_036_854_774_784e18 {
            exp += 1;
            dekker_mul2(&mut rr, 1.0e-01, -5.551_115_123_125_782_702_1e-18);
        }
    } else {
        while rr[0] < 9.223_372_036_854_774_784e-83 {
            exp -= 100;
            dekker_mul2(&mut rr, 1.0e100, -1.590_289_110_975_991_804_6e83);
        }
        while rr[0] < 9.223_372_036_854_774_784e7 {
            exp -= 10;
            dekker_mul2(&mut rr, 1.0e10, 0.0);
        }
        while rr[0] < 9.223_372_036_854_774_78e17 {
            exp -= 1;
            dekker_mul2(&mut rr, 1.0e1, 0.0);
        }
    }
    let v = if rr[1] < 0.0 {
        (rr[0] as u64).wrapping_sub((-rr[1]) as u64)
    } else {
        (rr[0] as u64).wrapping_add(rr[1] as u64)
    };
    let mut digits = v.to_string().into_bytes();
    let mut point = digits.len() as i32 + exp;
    if round < digits.len() {
        let up = digits[round] >= b'5';
        digits.truncate(round);
        if up {
            let mut j = round;
            loop {
                if j == 0 {
                    digits.insert(0, b'1');
                    digits.truncate(round);
                    point += 1;
                    break;
                }
                j -= 1;
                if digits[j] < b'9' {
                    digits[j] += 1;
                    break;
                }
                digits[j] = b'0';
            }
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, point)
}

/// `x * (y + yy)` in double-double arithmetic (Dekker), as SQLite's `dekkerMul2`.
fn dekker_mul2(x: &mut [f64; 2], y: f64, yy: f64) {
    const HIGH: u64 = 0xffff_ffff_fc00_0000;
    let hx = f64::from_bits(x[0].to_bits() & HIGH);
    let tx = x[0] - hx;
    let hy = f64::from_bits(y.to_bits() & HIGH);
    let ty = y - hy;
    let p = hx * hy;
    let q = hx * ty + tx * hy;
    let c = p + q;
    let cc = p - c + q + tx * ty;
    let cc = x[0] * yy + x[1] * y + cc;
    x[0] = c + cc;
    x[1] = c - x[0];
    x[1] += cc;
}

/// `unixepoch(text, 'subsec')` of a timestamp in the strict ISO-8601 shape files use —
/// `YYYY-MM-DD`, then optionally `T` or a space and `HH:MM[:SS[.fff…]]`, then optionally `Z`
/// or `±HH:MM` — computed as SQLite's date functions compute it (`computeJD`: a Julian day in
/// milliseconds, fractions of a second truncated to 0.999). `None` for any other text, which
/// SQLite's own functions then read.
pub fn unixepoch(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > days_in[(mo - 1) as usize] {
        return None;
    }
    let mut at = 10;
    let mut time: Option<(i64, i64, f64)> = None;
    if at < b.len() && (b[at] == b'T' || b[at] == b' ') {
        at += 1;
        if b.get(at + 2) != Some(&b':') {
            return None;
        }
        let (h, mi) = (num(at, 2)?, num(at + 3, 2)?);
        at += 5;
        let mut sec = 0.0;
        if b.get(at) == Some(&b':') {
            sec = num(at + 1, 2)? as f64;
            at += 3;
            if b.get(at) == Some(&b'.') && b.get(at + 1).is_some_and(u8::is_ascii_digit) {
                at += 1;
                let (mut ms, mut scale) = (0.0f64, 1.0f64);
                while at < b.len() && b[at].is_ascii_digit() {
                    ms = ms * 10.0 + f64::from(b[at] - b'0');
                    scale *= 10.0;
                    at += 1;
                }
                ms /= scale;
                sec += ms.min(0.999);
            }
        }
        if h > 23 || mi > 59 || sec >= 60.0 {
            return None;
        }
        time = Some((h, mi, sec));
    }
    let tz = match b.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == b.len() && time.is_some() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() && time.is_some() => {
            if b[at + 3] != b':' {
                return None;
            }
            let (th, tm) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if th > 14 || tm > 59 {
                return None;
            }
            (th * 60 + tm) * if sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    // computeJD (Meeus), as SQLite computes it.
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 12) } else { (y, mo) };
    let a = (yy + 4800) / 100;
    let bb = 38 - a + a / 4;
    let x1 = 36525 * (yy + 4716) / 100;
    let x2 = 306_001 * (mm + 1) / 10_000;
    let mut jd = (((x1 + x2 + d + bb) as f64 - 1524.5) * 86_400_000.0) as i64;
    if let Some((h, mi, sec)) = time {
        jd += h * 3_600_000 + mi * 60_000 + (sec * 1000.0 + 0.5) as i64;
        jd -= tz * 60_000;
    }
    Some((jd - 210_866_760_000_000) as f64 / 1000.0)
}

/// A numeric literal of the checks' SQL as SQLite reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Real(f64),
}

impl Number {
    /// The contract value as the literal the SQL writes (`sql::literal`), when it is a number.
    pub fn of(v: &serde_json::Value) -> Option<Number> {
        let serde_json::Value::Number(n) = v else {
            return None;
        };
        let lit = n.to_string();
        match numeric(&lit)? {
            Cell::Int(i) if !lit.contains(['.', 'e', 'E']) => Some(Number::Int(i)),
            Cell::Int(i) => Some(Number::Real(i as f64)),
            Cell::Real(r) => Some(Number::Real(r)),
            _ => None,
        }
    }
}

/// An integer against a float, exactly (sqlite3IntFloatCompare).
fn int_float(i: i64, r: f64) -> Ordering {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if r < -TWO_63 {
        return Ordering::Greater;
    }
    if r >= TWO_63 {
        return Ordering::Less;
    }
    let y = r as i64; // truncates toward zero, in range
    match i.cmp(&y) {
        Ordering::Equal => 0.0f64
            .partial_cmp(&(r - y as f64))
            .unwrap_or(Ordering::Equal),
        o => o,
    }
}

/// How a stored non-null value of a numeric-affinity column compares with a numeric literal
/// (numbers by value, text after every number); `None` for null.
pub fn compare_numeric(v: Val<'_>, n: Number) -> Option<Ordering> {
    Some(match (v, n) {
        (Val::Null, _) => return None,
        (Val::Int(a), Number::Int(b)) => a.cmp(&b),
        (Val::Int(a), Number::Real(b)) => int_float(a, b),
        (Val::Real(a), Number::Int(b)) => int_float(b, a).reverse(),
        (Val::Real(a), Number::Real(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (Val::Text(_), _) => Ordering::Greater,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_as_sqlite_prints_them() {
        for (r, t) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1e15, "1.0e+15"),
            (123456789012345.0, "123456789012345.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1.0 / 3.0, "0.333333333333333"),
            (2e300, "2.0e+300"),
            (9.999999999999999e14, "1.0e+15"),
        ] {
            assert_eq!(real_text(r), t, "{r}");
        }
    }

    #[test]
    fn numeric_text_follows_sqlites_grammar() {
        assert_eq!(numeric(" 12 "), Some(Cell::Int(12)));
        assert_eq!(numeric("1."), Some(Cell::Real(1.0)));
        assert_eq!(numeric(".5"), Some(Cell::Real(0.5)));
        assert_eq!(numeric("3e2"), Some(Cell::Real(300.0)));
        assert_eq!(numeric("99999999999999999999"), Some(Cell::Real(1e20)));
        for bad in [".", "1e", "inf", "NaN", "0x10", "1 2", "", "+", "1_000"] {
            assert_eq!(numeric(bad), None, "{bad}");
        }
    }

    #[test]
    fn settled_cells_take_the_columns_affinity() {
        assert_eq!(
            settle(Cell::Text("3e2".into()), Affinity::Integer),
            Cell::Int(300)
        );
        assert_eq!(settle(Cell::Real(2.0), Affinity::Integer), Cell::Int(2));
        assert_eq!(settle(Cell::Int(2), Affinity::Real), Cell::Real(2.0));
        assert_eq!(
            settle(Cell::Real(2.5), Affinity::Text),
            Cell::Text("2.5".into())
        );
        assert_eq!(settle(Cell::Real(f64::NAN), Affinity::Real), Cell::Null);
    }

    #[test]
    fn integers_compare_with_floats_exactly() {
        assert_eq!(
            int_float(i64::MAX, 9_223_372_036_854_775_808.0),
            Ordering::Less
        );
        assert_eq!(int_float(3, 3.5), Ordering::Less);
        assert_eq!(int_float(-3, -3.5), Ordering::Greater);
        assert_eq!(int_float(4, 4.0), Ordering::Equal);
    }
}
