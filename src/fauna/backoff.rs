//! The waits between retries of a query: exponential from `min_delay` with jitter, and never
//! longer than `max_delay` (20 s by default, `spec/errors.md`) — not even when the server asks
//! for a longer one with `Retry-After`.

use std::time::Duration;

use super::RetryPolicy;

/// The wait before retry number `retry` (1 = the first): the base `min_delay · 2^(retry−1)`,
/// at most `max_delay / 2`, times `1 + jitter` (`jitter` in `[0, 1)`), raised to the server's
/// `retry_after` when it asks for longer, and never above `max_delay`.
pub fn retry_delay(
    policy: &RetryPolicy,
    retry: u32,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Duration {
    let half = policy.max_delay / 2;
    let doubling = 2u32.saturating_pow(retry.saturating_sub(1));
    let base = policy
        .min_delay
        .checked_mul(doubling)
        .unwrap_or(half)
        .min(half);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    base.mul_f64(1.0 + jitter)
        .max(retry_after.unwrap_or_default())
        .min(policy.max_delay)
}

/// A random jitter in `[0, 1)` (from the standard library's randomly keyed hasher).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a `Retry-After` header asks for: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, counted from `now`; a date in the past is no wait).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn waits_double_from_the_minimum_and_never_pass_the_cap_whatever_the_jitter() {
        let policy = RetryPolicy::default();
        let least: Vec<f64> = (1..=10)
            .map(|n| secs(retry_delay(&policy, n, 0.0, None)))
            .collect();
        assert_eq!(
            least,
            [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0, 10.0]
        );
        let most: Vec<f64> = (1..=10)
            .map(|n| secs(retry_delay(&policy, n, 0.999_999, None)))
            .collect();
        assert_eq!(
            most.iter()
                .map(|s| (s * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            [0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 20.0, 20.0, 20.0, 20.0]
        );
        assert!(most.iter().all(|s| *s < 20.0), "{most:?}");
        // A retry count far beyond the doubling's range, and jitter out of range.
        assert_eq!(
            retry_delay(&policy, 100, 1.0, None),
            Duration::from_secs(20)
        );
        assert_eq!(
            retry_delay(&policy, u32::MAX, f64::NAN, None),
            Duration::from_secs(10)
        );
        for _ in 0..10_000 {
            let d = retry_delay(&policy, 9, jitter(), None);
            assert!(
                (Duration::from_secs(10)..Duration::from_secs(20)).contains(&d),
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_retry_after_raises_the_wait_but_never_past_the_cap() {
        let policy = RetryPolicy::default();
        let wait = |after: u64| {
            secs(retry_delay(
                &policy,
                1,
                0.5,
                Some(Duration::from_secs(after)),
            ))
        };
        assert_eq!(wait(0), 0.3);
        assert_eq!(wait(3), 3.0);
        assert_eq!(wait(20), 20.0);
        assert_eq!(wait(60), 20.0);
        assert_eq!(wait(u64::MAX), 20.0);
        let short = RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        };
        assert_eq!(
            retry_delay(&short, 1, 0.0, Some(Duration::from_secs(30))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:37 GMT", now),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
