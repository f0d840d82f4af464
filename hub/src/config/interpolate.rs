//! `${NAME}` reads an environment variable; `${file:/path}` reads a secret file (trimmed).
//!
//! Interpolation happens on parsed TOML string values, never on the raw text, so a secret cannot
//! change the file's structure. Keys that hold secrets must be written as a reference: a literal
//! value there is an error, so keys never sit in plain config.

use std::path::Path;

use super::ConfigError;

/// Keys whose values are secrets and must come from the environment or a secret file.
/// (`password`, `shared_key` and `tls_client_identity_pem`: a MESH mailbox's credentials;
/// `token`: a FHIR server's bearer token.)
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "operator_api_key",
    "secret",
    "password",
    "shared_key",
    "tls_client_identity_pem",
    "token",
];

pub(super) fn interpolate_table(
    file: &Path,
    table: &mut toml::Table,
    prefix: &str,
    errors: &mut Vec<ConfigError>,
) {
    for (k, v) in table.iter_mut() {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if SECRET_KEYS.contains(&k.as_str())
            && let toml::Value::String(s) = v
            && !is_reference(s)
        {
            errors.push(ConfigError::new(
                file,
                &path,
                "secrets must not be written in the file: use \"${ENV_VAR}\" or \"${file:/path/to/secret}\"",
            ));
            *s = String::new();
            continue;
        }
        if k == "url"
            && let toml::Value::String(s) = v
            && has_literal_password(s)
        {
            errors.push(ConfigError::new(
                file,
                &path,
                "a password must not be written in the file: write the URL (or its password) as \"${ENV_VAR}\" or \"${file:/path}\"",
            ));
            *s = String::new();
            continue;
        }
        interpolate_value(file, v, &path, errors);
    }
}

/// Whether a URL carries `user:password@` with the password written out rather than referenced.
fn has_literal_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return false;
    };
    match userinfo.split_once(':') {
        Some((_, password)) => !password.is_empty() && !password.contains("${"),
        None => false,
    }
}

fn interpolate_value(file: &Path, v: &mut toml::Value, path: &str, errors: &mut Vec<ConfigError>) {
    match v {
        toml::Value::String(s) => match expand(s) {
            Ok(expanded) => *s = expanded,
            Err(reason) => errors.push(ConfigError::new(file, path, reason)),
        },
        toml::Value::Table(t) => interpolate_table(file, t, path, errors),
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(file, item, &format!("{path}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

fn is_reference(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("${") && s.ends_with('}') && s[2..].find('}') == Some(s.len() - 3)
}

/// Expands every `${...}` in `s`. Errors name the variable or file, never its contents.
fn expand(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated \"${\": expected a closing \"}\"".to_owned())?;
        let name = &after[..end];
        if let Some(path) = name.strip_prefix("file:") {
            let content = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read secret file {path}: {e}"))?;
            out.push_str(content.trim_end_matches(['\n', '\r']));
        } else {
            let value = std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_recognised() {
        assert!(is_reference("${A}"));
        assert!(is_reference("${file:/run/secrets/x}"));
        assert!(!is_reference("abc"));
        assert!(!is_reference("${A}${B}"));
    }

    #[test]
    fn literal_passwords_in_urls_are_spotted() {
        assert!(has_literal_password(
            "amqp://guest:guest@127.0.0.1:5672/%2f"
        ));
        assert!(!has_literal_password(
            "amqp://guest:${RABBITMQ_PASSWORD}@127.0.0.1/%2f"
        ));
        assert!(!has_literal_password("${RABBITMQ_URL}"));
        assert!(!has_literal_password("https://example.org/hook?a=b"));
        assert!(!has_literal_password(
            "postgres://throughline@127.0.0.1:5432/db"
        ));
    }

    #[test]
    fn missing_variables_are_named() {
        let err = expand("${THROUGHLINE_SURELY_UNSET_VAR}").unwrap_err();
        assert!(err.contains("THROUGHLINE_SURELY_UNSET_VAR"));
    }
}
