//! Doubles rendered like Java's `Double.toString`, which is how the server writes them.
//!
//! The shortest digits that round-trip (Rust and Java ≥ 19 agree on them) laid out in Java's
//! style: plain notation with at least one fractional digit for `1e-3 <= |x| < 1e7`,
//! otherwise `d.dddE±n`. The result always holds `.` or `E`, so a reader can tell a double from
//! an integer by its lexical form alone.

/// Renders a finite double like Java; NaN and infinities as `NaN`, `Infinity`, `-Infinity`.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // `{:e}` gives the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int, frac) = padded.split_at(int_len);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{sign}{int}.{frac}")
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else if digits.len() == 1 {
        // Java prints at least two significant digits here, the closest to the exact value
        // (it differs from `d.0` only for subnormals, e.g. 4.9E-324).
        let two = format!("{:.1e}", abs);
        let (mantissa, exp) = two.split_once('e').unwrap_or((&two, "0"));
        format!("{sign}{mantissa}E{exp}")
    } else {
        let (first, rest) = digits.split_at(1);
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::java_double;

    #[test]
    fn matches_java_double_to_string() {
        let cases = [
            (1.0, "1.0"),
            (3.25, "3.25"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e10, "1.0E10"),
            (1e-5, "1.0E-5"),
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (0.001, "0.001"),
            (0.000_999, "9.99E-4"),
            (123_456.789, "123456.789"),
            (1.234_567_8e20, "1.2345678E20"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (100.0, "100.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, s) in cases {
            assert_eq!(java_double(x), s, "{x:?}");
        }
    }

    #[test]
    fn round_trips_through_parse() {
        for x in [
            1.5e300,
            7.0e-300,
            0.1,
            2.0 / 3.0,
            12345.0,
            1e-3,
            6.02214076e23,
        ] {
            let s = java_double(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
            assert!(s.contains('.') || s.contains('E'));
        }
    }
}
