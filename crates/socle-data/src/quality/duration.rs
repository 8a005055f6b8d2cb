//! Service-level durations: a number with a unit (`1` `d`) or an ISO-8601 duration (`P1DT12H`),
//! in seconds, read as datacontract-cli reads them (a month is 30 days, a year 365).

use serde_json::Value;

const ISO_UNITS: [i64; 7] = [365 * 86_400, 30 * 86_400, 7 * 86_400, 86_400, 3_600, 60, 1];

/// `P[nY][nM][nW][nD][T[nH][nM][nS]]`, at least one component, decimals allowed.
pub fn iso8601_seconds(text: &str) -> Option<i64> {
    let s = text.trim().to_ascii_uppercase();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut any = false;
    let mut read = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        let mut next = 0;
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                number.push(ch);
                continue;
            }
            let pos = units[next..].iter().position(|(u, _)| *u == ch)? + next;
            let n: f64 = number.parse().ok()?;
            total += n * units[pos].1 as f64;
            any = true;
            number.clear();
            next = pos + 1;
        }
        number.is_empty().then_some(())
    };
    let date_units = [
        ('Y', ISO_UNITS[0]),
        ('M', ISO_UNITS[1]),
        ('W', ISO_UNITS[2]),
        ('D', ISO_UNITS[3]),
    ];
    read(date, &date_units)?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        read(
            t,
            &[
                ('H', ISO_UNITS[4]),
                ('M', ISO_UNITS[5]),
                ('S', ISO_UNITS[6]),
            ],
        )?;
    }
    any.then(|| total.round() as i64)
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// A freshness threshold: a number in `d`, `h` or `m` (and their long names), a string of
/// digits read the same way, or an ISO-8601 duration.
pub fn freshness_seconds(value: &Value, unit: &str) -> Option<i64> {
    let n = match value {
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return iso8601_seconds(t);
            }
            t.parse::<i64>().ok()?
        }
        other => integer(other)?,
    };
    let factor = match unit {
        "d" | "day" | "days" => 86_400,
        "h" | "hr" | "hour" | "hours" => 3_600,
        "m" | "min" | "minute" | "minutes" => 60,
        _ => return None,
    };
    Some(n * factor)
}

/// A retention period: a number with a unit from years to seconds (default days), or an
/// ISO-8601 duration.
pub fn retention_seconds(value: &Value, unit: Option<&str>) -> Option<i64> {
    if let Value::String(s) = value {
        return iso8601_seconds(s);
    }
    let n = integer(value)?;
    let factor = match unit.unwrap_or("d").to_ascii_lowercase().as_str() {
        "y" | "yr" | "year" | "years" => 365 * 86_400,
        "m" | "mo" | "month" | "months" => 30 * 86_400,
        "d" | "day" | "days" => 86_400,
        "h" | "hr" | "hour" | "hours" => 3_600,
        "min" | "minute" | "minutes" => 60,
        "s" | "sec" | "second" | "seconds" => 1,
        _ => return None,
    };
    Some(n * factor)
}

/// A value as Python's `repr()` shows it (for messages worded like the peer's).
pub fn python_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => super::threshold::show(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iso_durations_sum_their_components() {
        assert_eq!(iso8601_seconds("P1DT12H"), Some(129_600));
        assert_eq!(iso8601_seconds("P1Y"), Some(31_536_000));
        assert_eq!(iso8601_seconds("PT1.5H"), Some(5_400));
        assert_eq!(iso8601_seconds("P2W"), Some(1_209_600));
    }

    #[test]
    fn malformed_iso_durations_are_refused() {
        for bad in ["P", "PT", "1D", "P1H", "PD", "P1D2", "P1M1Y"] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn freshness_reads_numbers_and_digit_strings_with_units() {
        assert_eq!(freshness_seconds(&json!(1), "d"), Some(86_400));
        assert_eq!(freshness_seconds(&json!("3"), "h"), Some(10_800));
        assert_eq!(freshness_seconds(&json!(5), "minutes"), Some(300));
        assert_eq!(freshness_seconds(&json!(1), "w"), None);
        assert_eq!(freshness_seconds(&json!("PT2H"), "d"), Some(7_200));
    }

    #[test]
    fn retention_defaults_to_days_and_reads_years_and_months() {
        assert_eq!(retention_seconds(&json!(1), Some("y")), Some(31_536_000));
        assert_eq!(
            retention_seconds(&json!(2), Some("months")),
            Some(5_184_000)
        );
        assert_eq!(retention_seconds(&json!(7), None), Some(604_800));
        assert_eq!(retention_seconds(&json!(7), Some("fortnight")), None);
    }
}
