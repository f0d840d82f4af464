//! Reading a receiver's `Retry-After` header (RFC 9110 §10.2.3).
//!
//! A receiver that answers 429 or 503 may say when to come back, as a number of seconds or as an
//! HTTP-date. Honouring it is how one busy agency avoids being hammered by the hub's retries; a
//! value that cannot be read is ignored (the hub's own backoff applies) rather than treated as an
//! error, because a receiver's mistake in this header should not change what becomes of the
//! notification.

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value, either delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), relative to `now`.
///
/// An HTTP-date in the past gives `Some(Duration::ZERO)`: retry now. Anything else gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to fit in u64 seconds is not a usable instruction either.
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wed, 21 Oct 2015 07:28:00 GMT.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn parses_delta_seconds() {
        assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
    }

    #[test]
    fn parses_an_http_date_in_the_future() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now()),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn an_http_date_in_the_past_means_retry_now() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_gives_none() {
        for value in [
            "",
            "   ",
            "soon",
            "-5",
            "1.5",
            "7 seconds",
            "99999999999999999999999",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse_retry_after(value, now()), None, "{value:?}");
        }
    }
}
