//! Cross-site request forgery: every POST must come from a page of this hub.
//!
//! Two independent checks, either of which stops a forged request: the session's secret token,
//! which every dashboard form carries in a hidden field, and the browser's `Origin` (or, when
//! a browser omits it, `Referer`) naming the host the request was sent to. `SameSite=Strict` on
//! the session cookie is a third layer, but not one to rely on alone.
//!
//! Behind a reverse proxy, the proxy must pass the `Host` header through unchanged.

use axum::http::{HeaderMap, header};

use super::page::PageError;

/// The host (and port) an `Origin` or `Referer` value names, if it is an http(s) URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// The request's `Origin` (or `Referer`) is this hub, as the `Host` header names it.
pub fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let host = get(header::HOST).ok_or(PageError::Forbidden("the request names no host"))?;
    let from = get(header::ORIGIN)
        .filter(|o| *o != "null")
        .or_else(|| get(header::REFERER))
        .and_then(authority)
        .ok_or(PageError::Forbidden(
            "the request does not say which page it came from",
        ))?;
    if from.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(PageError::Forbidden("the request came from another site"))
    }
}

/// Compares in time that does not depend on where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Both checks for a logged-in POST.
pub fn check(headers: &HeaderMap, expected: &str, got: &str) -> Result<(), PageError> {
    same_origin(headers)?;
    if same_secret(expected.as_bytes(), got.as_bytes()) {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "the form's security token is missing or stale: reload the page and try again",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_name_the_host() {
        let ok = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080"),
        ]);
        assert!(same_origin(&ok).is_ok());
        let other = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8081"),
        ]);
        assert!(same_origin(&other).is_err());
        let referer = headers(&[
            (header::HOST, "hub.example:443"),
            (
                header::REFERER,
                "https://hub.example:443/dashboard/quarantine?x=1",
            ),
        ]);
        assert!(same_origin(&referer).is_ok());
        let neither = headers(&[(header::HOST, "127.0.0.1:8080")]);
        assert!(same_origin(&neither).is_err());
        let null = headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, "null")]);
        assert!(same_origin(&null).is_err());
    }

    #[test]
    fn the_token_must_match_exactly() {
        let h = headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080"),
        ]);
        assert!(check(&h, "abc123", "abc123").is_ok());
        assert!(check(&h, "abc123", "abc124").is_err());
        assert!(check(&h, "abc123", "").is_err());
    }
}
