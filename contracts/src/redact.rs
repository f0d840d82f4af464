//! Scrubbing values out of parser messages.
//!
//! serde's messages quote the offending value: strings in double quotes
//! (`invalid type: string "943...", expected u32`), and integers, floats, booleans, characters
//! and unknown enum variants in backticks (``invalid value: integer `9434765919` ``). Where that
//! value may be child data or a secret, the message must not reach a response, a log line or a
//! quarantine reason as it is. [`redact_values`] keeps the message's shape, so it still says what
//! was expected, and replaces every quoted value with `…`.

/// Replaces every value serde quotes in `message` with `…`. Double-quoted spans always go. A
/// backtick span is kept only where serde puts a name from the schema in it: after `field `
/// (``missing field `x` ``), after `expected ` or `one of `, and in the rest of such a list (after
/// `` `, `` or `` ` or ``).
pub fn redact_values(message: &str) -> String {
    const NAME_BEFORE: [&str; 5] = ["field ", "expected ", "one of ", "`, ", "` or "];
    let message = redact_double_quoted(message);
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(open) = rest.find('`') {
        let (before, from_tick) = rest.split_at(open);
        out.push_str(before);
        let Some(close) = from_tick[1..].find('`') else {
            // An unpaired backtick: drop everything after it rather than guess.
            out.push_str("`…");
            return out;
        };
        let span = &from_tick[1..=close];
        let keep = NAME_BEFORE.iter().any(|p| out.ends_with(p));
        out.push('`');
        out.push_str(if keep { span } else { "…" });
        out.push('`');
        rest = &from_tick[close + 2..];
    }
    out.push_str(rest);
    out
}

fn redact_double_quoted(message: &str) -> String {
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
    fn removes_values_and_keeps_schema_names() {
        assert_eq!(
            redact_values(r#"invalid type: string "9434765919", expected u32"#),
            r#"invalid type: string "…", expected u32"#
        );
        assert_eq!(
            redact_values("invalid type: integer `9434765919`, expected u32"),
            "invalid type: integer `…`, expected u32"
        );
        assert_eq!(
            redact_values("unknown variant `Ada`, expected one of `female`, `male`, `other`"),
            "unknown variant `…`, expected one of `female`, `male`, `other`"
        );
        assert_eq!(
            redact_values("unknown variant `x`, expected `assess` or `refuse`"),
            "unknown variant `…`, expected `assess` or `refuse`"
        );
        assert_eq!(redact_values("missing field `on`"), "missing field `on`");
        assert_eq!(redact_values("unknown field `x`"), "unknown field `x`");
        assert_eq!(
            redact_values("invalid value: floating point `1.5`, expected u16"),
            "invalid value: floating point `…`, expected u16"
        );
        assert_eq!(redact_values("odd `9434765919"), "odd `…");
    }
}
