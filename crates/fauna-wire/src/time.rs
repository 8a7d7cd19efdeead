//! Fauna's `@ts` and `@date` values, parsed and rendered exactly like the Java server.
//!
//! The server renders timestamps with `Instant.toString()` (UTC, `Z`, seconds always, fraction
//! only when non-zero in groups of three digits) and dates with `LocalDate.toString()`. It parses
//! timestamps with `ISO_LOCAL_DATE_TIME` followed by an offset (`Z`, `+HH:MM[:ss]` or `+HHMM`).
//! Both cover Java's full range (years ±999,999,999), which is wider than `chrono`'s, so the
//! calendar arithmetic lives here.

use std::fmt;

use crate::error::TimeError;

const SECS_PER_DAY: i64 = 86_400;
/// Java's `Instant.MIN` / `Instant.MAX` in epoch seconds.
const MIN_SECS: i64 = -31_557_014_167_219_200;
const MAX_SECS: i64 = 31_556_889_864_403_199;
/// Java's `LocalDate` year range.
const MIN_YEAR: i64 = -999_999_999;
const MAX_YEAR: i64 = 999_999_999;

/// A point in time with nanosecond precision (Fauna `@ts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// A calendar date without time zone (Fauna `@date`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// Builds a timestamp from epoch seconds and a nanosecond part (`0..1_000_000_000`).
    pub fn new(secs: i64, nanos: u32) -> Result<Self, TimeError> {
        if nanos >= 1_000_000_000 || !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return Err(TimeError::OutOfRange);
        }
        Ok(Timestamp { secs, nanos })
    }

    /// Microseconds since the epoch, the unit of document `ts` and `x-txn-time`.
    pub fn from_micros(micros: i64) -> Self {
        Timestamp {
            secs: micros.div_euclid(1_000_000),
            nanos: (micros.rem_euclid(1_000_000) * 1000) as u32,
        }
    }

    /// Nanoseconds since the epoch.
    pub fn from_nanos(nanos: i64) -> Self {
        Timestamp {
            secs: nanos.div_euclid(1_000_000_000),
            nanos: nanos.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(&self) -> i64 {
        self.secs
    }

    /// Nanosecond part, `0..1_000_000_000`.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Microseconds since the epoch, truncated towards negative infinity like Java's
    /// `getEpochSecond * 1e6 + getNano / 1000`; `None` if it does not fit an `i64`.
    pub fn to_micros(&self) -> Option<i64> {
        self.secs
            .checked_mul(1_000_000)?
            .checked_add(i64::from(self.nanos / 1000))
    }

    /// Midnight UTC of `date`.
    pub fn at_start_of(date: Date) -> Self {
        Timestamp {
            secs: date.days * SECS_PER_DAY,
            nanos: 0,
        }
    }

    /// The calendar date (UTC) this timestamp falls on.
    pub fn date(&self) -> Date {
        Date {
            days: self.secs.div_euclid(SECS_PER_DAY),
        }
    }

    /// Parses the server's input grammar: `ISO_LOCAL_DATE_TIME` plus a required offset.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let bad = || TimeError::Invalid(text.to_string());
        let mut p = Scanner::new(text);
        let date = p.date().ok_or_else(bad)?;
        if !p.eat(b'T') && !p.eat(b't') {
            return Err(bad());
        }
        let hour = p.fixed(2).ok_or_else(bad)?;
        if !p.eat(b':') {
            return Err(bad());
        }
        let minute = p.fixed(2).ok_or_else(bad)?;
        let mut second = 0;
        let mut nanos = 0u32;
        if p.eat(b':') {
            second = p.fixed(2).ok_or_else(bad)?;
            if p.eat(b'.') {
                let (frac, digits) = p.digits(1, 9).ok_or_else(bad)?;
                nanos = (frac * 10i64.pow(9 - digits as u32)) as u32;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad());
        }
        let offset = p.offset().ok_or_else(bad)?;
        if !p.done() {
            return Err(bad());
        }
        let secs = date.days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset;
        Timestamp::new(secs, nanos).map_err(|_| bad())
    }
}

impl fmt::Display for Timestamp {
    /// Renders like Java's `Instant.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.date();
        let sod = self.secs.rem_euclid(SECS_PER_DAY);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            date,
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if self.nanos != 0 {
            if self.nanos.is_multiple_of(1_000_000) {
                write!(f, ".{:03}", self.nanos / 1_000_000)?;
            } else if self.nanos.is_multiple_of(1000) {
                write!(f, ".{:06}", self.nanos / 1000)?;
            } else {
                write!(f, ".{:09}", self.nanos)?;
            }
        }
        f.write_str("Z")
    }
}

impl Date {
    /// 1970-01-01.
    pub const EPOCH: Date = Date { days: 0 };

    /// Builds a date from its calendar fields, rejecting impossible dates.
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Result<Self, TimeError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(TimeError::OutOfRange);
        }
        Ok(Date {
            days: days_from_civil(year, month, day),
        })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> i64 {
        self.days
    }

    /// The date `days` after 1970-01-01, if within Java's `LocalDate` range.
    pub fn from_days_since_epoch(days: i64) -> Result<Self, TimeError> {
        let (y, _, _) = civil_from_days(days);
        if (MIN_YEAR..=MAX_YEAR).contains(&y) {
            Ok(Date { days })
        } else {
            Err(TimeError::OutOfRange)
        }
    }

    /// `(year, month, day)`.
    pub fn ymd(&self) -> (i64, u32, u32) {
        civil_from_days(self.days)
    }

    /// Parses `ISO_LOCAL_DATE` (`yyyy-MM-dd`, a sign before years of more than four digits).
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let mut p = Scanner::new(text);
        match p.date() {
            Some(d) if p.done() => Ok(d),
            _ => Err(TimeError::Invalid(text.to_string())),
        }
    }
}

impl fmt::Display for Date {
    /// Renders like Java's `LocalDate.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.days);
        if y.abs() < 1000 {
            if y < 0 {
                write!(f, "-{:04}", -y)?;
            } else {
                write!(f, "{y:04}")?;
            }
        } else if y > 9999 {
            write!(f, "+{y}")?;
        } else {
            write!(f, "{y}")?;
        }
        write!(f, "-{m:02}-{d:02}")
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A tiny cursor over ASCII text for the ISO grammars above.
struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn new(s: &'a str) -> Self {
        Scanner {
            s: s.as_bytes(),
            i: 0,
        }
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Between `min` and `max` decimal digits: `(value, count)`.
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() && self.i - start < max {
            v = v * 10 + i64::from(self.s[self.i] - b'0');
            self.i += 1;
        }
        let n = self.i - start;
        (n >= min).then_some((v, n))
    }

    fn fixed(&mut self, n: usize) -> Option<i64> {
        let (v, _) = self.digits(n, n)?;
        Some(v)
    }

    /// `yyyy-MM-dd` with Java's `SignStyle.EXCEEDS_PAD` year: 4 digits, or a sign and 4–9.
    fn date(&mut self) -> Option<Date> {
        let sign = if self.eat(b'+') {
            Some(1)
        } else if self.eat(b'-') {
            Some(-1)
        } else {
            None
        };
        let (year, n) = self.digits(4, 9)?;
        if sign.is_none() && n > 4 || sign == Some(1) && n <= 4 {
            return None;
        }
        let year = year * sign.unwrap_or(1);
        if !self.eat(b'-') {
            return None;
        }
        let month = self.fixed(2)?;
        if !self.eat(b'-') {
            return None;
        }
        let day = self.fixed(2)?;
        Date::from_ymd(year, month as u32, day as u32).ok()
    }

    /// `Z`, `±HH:MM`, `±HH:MM:ss` or `±HHMM`: the offset in seconds east of UTC.
    fn offset(&mut self) -> Option<i64> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let h = self.fixed(2)?;
        let (m, s) = if self.eat(b':') {
            let m = self.fixed(2)?;
            let s = if self.eat(b':') { self.fixed(2)? } else { 0 };
            (m, s)
        } else {
            (self.fixed(2)?, 0)
        };
        (h <= 18 && m <= 59 && s <= 59).then_some(sign * (h * 3600 + m * 60 + s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_java_instant() {
        let cases = [
            ("2022-07-18T23:58:03.585Z", "2022-07-18T23:58:03.585Z"),
            ("1970-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z"),
            ("1970-01-01T00:00Z", "1970-01-01T00:00:00Z"),
            ("2020-01-01T00:00:00.5Z", "2020-01-01T00:00:00.500Z"),
            ("2020-01-01T00:00:00.0001Z", "2020-01-01T00:00:00.000100Z"),
            (
                "2020-01-01T00:00:00.000000001Z",
                "2020-01-01T00:00:00.000000001Z",
            ),
            ("2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00Z"),
            ("2020-01-01T01:30:00+0130", "2020-01-01T00:00:00Z"),
            ("2020-01-01T00:00:00-01:00", "2020-01-01T01:00:00Z"),
            ("+10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
            (
                "-0001-12-31T23:59:59.999999999Z",
                "-0001-12-31T23:59:59.999999999Z",
            ),
            ("1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"),
        ];
        for (input, rendered) in cases {
            let ts = Timestamp::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(ts.to_string(), rendered, "{input}");
            assert_eq!(Timestamp::parse(rendered), Ok(ts));
        }
    }

    #[test]
    fn rejects_what_java_rejects() {
        for bad in [
            "2020-01-01T00:00:00",
            "2020-01-01 00:00:00Z",
            "20200101T000000Z",
            "2020-02-30T00:00:00Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T00:00:60Z",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "10000-01-01T00:00:00Z",
            "2020-01-01T00:00:00.Z",
            "2020-01-01T00:00:00.1234567890Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn micros_round_trip_including_negative() {
        for m in [
            0,
            1,
            -1,
            1_658_188_683_585_000,
            -1_234_567,
            253_370_764_800_000_000,
        ] {
            assert_eq!(Timestamp::from_micros(m).to_micros(), Some(m));
        }
        assert_eq!(
            Timestamp::from_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn dates_render_and_parse_like_java_local_date() {
        for (s, days) in [
            ("1970-01-01", 0),
            ("2012-02-01", 15_371),
            ("2000-02-29", 11_016),
        ] {
            let d = Date::parse(s).unwrap();
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(d.to_string(), s);
        }
        for bad in [
            "19700101",
            "2021-02-29",
            "2020-13-01",
            "2020-1-01",
            "+2020-01-01",
            "x",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Date::from_ymd(-1, 1, 1).unwrap().to_string(), "-0001-01-01");
        assert_eq!(
            Date::from_ymd(12345, 6, 7).unwrap().to_string(),
            "+12345-06-07"
        );
        assert!(Date::from_ymd(MAX_YEAR + 1, 1, 1).is_err());
    }

    #[test]
    fn civil_conversion_is_a_bijection_near_extremes() {
        for days in [-365_243_219_162, 365_241_780_471, -1, 0, 59, 60, 11_016] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let max = Timestamp::new(MAX_SECS, 999_999_999).unwrap();
        assert_eq!(max.to_string(), "+1000000000-12-31T23:59:59.999999999Z");
        let min = Timestamp::new(MIN_SECS, 0).unwrap();
        assert_eq!(min.to_string(), "-1000000000-01-01T00:00:00Z");
    }
}
