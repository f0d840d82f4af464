//! Scrubbing values out of parser messages.
//!
//! serde's messages quote the offending value (`invalid type: string "943...", expected u32`).
//! Where that value may be child data or a secret, the message must not reach a response, a log
//! line or a quarantine reason as it is. [`redact_values`] keeps the message's shape (so it still
//! says what was expected) and replaces every quoted value with `…`.

/// Replaces the contents of every double-quoted span with `…`.
pub fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    for c in message.chars() {
        if c == '"' {
            if in_quotes {
                out.push('…');
            }
            in_quotes = !in_quotes;
            out.push(c);
        } else if !in_quotes {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn replaces_quoted_values_and_keeps_the_rest() {
        assert_eq!(
            redact_values(r#"invalid type: string "9434765919", expected u32"#),
            r#"invalid type: string "…", expected u32"#
        );
        assert_eq!(redact_values("unknown field `x`"), "unknown field `x`");
    }
}
