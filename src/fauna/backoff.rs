//! The waits between retries of a query: `backon`'s exponential back-off from `min_delay`
//! with jitter, and never longer than `max_delay` (20 s by default, `spec/errors.md`) — not
//! even when the server asks for a longer one with `Retry-After`.
//!
//! backon's jitter adds up to the current delay again, so its doubling stops at half the cap:
//! base plus jitter stays within it, and [`capped`] bounds what a `Retry-After` asks for.

use std::time::Duration;

use backon::ExponentialBuilder;

use super::RetryPolicy;

/// The back-off of `policy`: delays doubling from `min_delay` up to `max_delay / 2`, each
/// plus a random jitter below itself, at most `max_retries` of them.
pub fn builder(policy: &RetryPolicy) -> ExponentialBuilder {
    bases(policy).with_jitter()
}

/// [`builder`] without the jitter: the base delays.
fn bases(policy: &RetryPolicy) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(policy.min_delay.min(policy.max_delay / 2))
        .with_max_delay(policy.max_delay / 2)
        .with_max_times(policy.max_retries)
}

/// The wait before a retry: backon's `delay`, raised to the server's `retry_after` when it
/// asks for longer, never above `max_delay`.
pub fn capped(policy: &RetryPolicy, delay: Duration, retry_after: Option<Duration>) -> Duration {
    delay
        .max(retry_after.unwrap_or_default())
        .min(policy.max_delay)
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
        use backon::BackoffBuilder;
        let policy = RetryPolicy {
            max_retries: 12,
            ..RetryPolicy::default()
        };
        // Without jitter's randomness: the bases double from 0.2 s and stop at half the cap.
        let bases: Vec<f64> = super::bases(&policy).build().map(secs).collect();
        assert_eq!(
            bases
                .iter()
                .map(|s| (s * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
        );
        // With jitter, 2,000 back-offs of 12 waits: each wait within [base, 2 × base), so
        // never above the 20 s cap (the old policy reached 39.9 s).
        for _ in 0..2_000 {
            for (base, d) in bases.iter().zip(builder(&policy).build()) {
                let d = secs(d);
                assert!(*base <= d && d <= 2.0 * base && d <= 20.0, "{d} for {base}");
            }
        }
        assert_eq!(builder(&policy).build().count(), 12);
    }

    #[test]
    fn a_retry_after_raises_the_wait_but_never_past_the_cap() {
        let policy = RetryPolicy::default();
        let wait = |after: u64| {
            secs(capped(
                &policy,
                Duration::from_millis(300),
                Some(Duration::from_secs(after)),
            ))
        };
        assert_eq!(wait(0), 0.3);
        assert_eq!(wait(3), 3.0);
        assert_eq!(wait(20), 20.0);
        assert_eq!(wait(60), 20.0);
        assert_eq!(wait(u64::MAX), 20.0);
        assert_eq!(secs(capped(&policy, Duration::from_secs(99), None)), 20.0);
        let short = RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        };
        assert_eq!(
            capped(&short, Duration::ZERO, Some(Duration::from_secs(30))),
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
