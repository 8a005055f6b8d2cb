//! How Go prints what Sloth prints: floats as `%g`/`%v` (`strconv.FormatFloat(x, 'g', -1, 64)`)
//! and `'f'`, and Prometheus durations (`model.Duration`, e.g. `30d`, `4w`, `1d12h`).

use std::fmt::Write;

/// Go's `strconv.FormatFloat(x, 'g', -1, 64)` (what `fmt.Sprintf("%g")` and `%v` print): the
/// shortest digits that read back as `x`, in exponent form (`1e-05`, `1.5e+06`) when the decimal
/// exponent is below -4 or at least 6 (the shortest form decides with a precision of 6).
pub fn go_g(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d.ddddde-X`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.abs());
        return out;
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

/// Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn go_f(x: f64) -> String {
    // Rust's `Display` for f64 is the shortest round-trip form without an exponent.
    format!("{x}")
}

/// A Prometheus duration (`model.Duration`), kept in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub u64);

const MS_UNITS: [(&str, u64); 7] = [
    ("y", 1000 * 60 * 60 * 24 * 365),
    ("w", 1000 * 60 * 60 * 24 * 7),
    ("d", 1000 * 60 * 60 * 24),
    ("h", 1000 * 60 * 60),
    ("m", 1000 * 60),
    ("s", 1000),
    ("ms", 1),
];

/// A duration that is not in Prometheus' `1y2w3d4h5m6s7ms` form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected a Prometheus duration such as 30d, 4w or 1h30m")]
pub struct DurationError(pub String);

impl PromDuration {
    pub const fn days(d: u64) -> Self {
        Self(d * 24 * 60 * 60 * 1000)
    }
    pub const fn hours(h: u64) -> Self {
        Self(h * 60 * 60 * 1000)
    }
    pub const fn minutes(m: u64) -> Self {
        Self(m * 60 * 1000)
    }

    /// Parses `30d`, `4w`, `1h30m`, `0`: each unit at most once, from the largest to the smallest.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let err = || DurationError(text.to_owned());
        if text == "0" {
            return Ok(Self(0));
        }
        if text.is_empty() {
            return Err(err());
        }
        let mut rest = text;
        let mut total: u64 = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let n_len = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
            if n_len == 0 {
                return Err(err());
            }
            let n: u64 = rest[..n_len].parse().map_err(|_| err())?;
            rest = &rest[n_len..];
            // `ms` before `m`: the longest unit name that matches.
            let (idx, (unit, mult)) = MS_UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .ok_or_else(err)?;
            rest = &rest[unit.len()..];
            next_unit = idx + 1;
            total = n
                .checked_mul(*mult)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(err)?;
        }
        Ok(Self(total))
    }

    /// Go's `time.Duration.Hours()` of this duration.
    pub fn hours_f64(self) -> f64 {
        let ns = self.0 as u128 * 1_000_000;
        let hour = 3_600_000_000_000u128;
        (ns / hour) as f64 + (ns % hour) as f64 / 3.6e12
    }
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for PromDuration {
    /// Prometheus' `model.Duration.String()`: years and weeks only when exact.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (i, (unit, mult)) in MS_UNITS.iter().enumerate() {
            let exact_only = i < 2;
            if exact_only && !ms.is_multiple_of(*mult) {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_matches_go_for_sloth_values() {
        assert_eq!(go_g(99.9 / 100.0), "0.9990000000000001");
        assert_eq!(go_g((100.0 - 99.9) / 100.0), "0.0009999999999999432");
        assert_eq!(go_g(14.4), "14.4");
        assert_eq!(go_g(6.0), "6");
        assert_eq!(go_g(30.0), "30");
        assert_eq!(go_g(0.95), "0.95");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(1_000_000.0), "1e+06");
        assert_eq!(go_g(123456.0), "123456");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(-2.5), "-2.5");
    }

    #[test]
    fn durations_print_as_prometheus_does() {
        assert_eq!(PromDuration::days(30).to_string(), "30d");
        assert_eq!(PromDuration::days(28).to_string(), "4w");
        assert_eq!(PromDuration::days(7).to_string(), "1w");
        assert_eq!(PromDuration::hours(24).to_string(), "1d");
        assert_eq!(PromDuration::hours(72).to_string(), "3d");
        assert_eq!(PromDuration::hours(36).to_string(), "1d12h");
        assert_eq!(PromDuration::days(365).to_string(), "1y");
        assert_eq!(PromDuration::minutes(5).to_string(), "5m");
    }

    #[test]
    fn durations_parse_in_unit_order() {
        assert_eq!(PromDuration::parse("30d"), Ok(PromDuration::days(30)));
        assert_eq!(PromDuration::parse("4w"), Ok(PromDuration::days(28)));
        assert_eq!(PromDuration::parse("1h30m").unwrap().0, 90 * 60 * 1000);
        assert_eq!(PromDuration::parse("1m500ms").unwrap().0, 60_500);
        assert!(PromDuration::parse("30m1h").is_err());
        assert!(PromDuration::parse("1d1d").is_err());
        assert!(PromDuration::parse("d").is_err());
        assert!(PromDuration::parse("").is_err());
        assert!(PromDuration::parse("1.5h").is_err());
        assert!(PromDuration::parse("99999999999999999999d").is_err());
    }
}
