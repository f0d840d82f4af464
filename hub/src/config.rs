//! Hub configuration: one TOML file, secrets interpolated from the environment or secret files.
//!
//! Loading never stops at the first problem: [`load`] returns every error it can find, each naming
//! the file, the key and the reason, so `throughline check-config` can print them all at once.
//! Unknown keys are errors (a misspelt key silently ignored is how a route goes missing).

pub mod assertions;
mod error;
mod fhir;
mod interpolate;
mod model;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigErrors};
pub use model::*;
pub use validate::{
    Agency, HistorySettings, KindSet, Route, SharingAgreement, Source, Transport, Validated,
};

/// Reads, interpolates, parses and validates the configuration at `path`.
pub fn load(path: &Path) -> Result<Validated, ConfigErrors> {
    let file = path.to_path_buf();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::new(
            &file,
            "",
            format!("cannot read the file: {e}"),
        )])
    })?;
    load_str(&file, &text)
}

/// As [`load`], from text already read; `file` is only used in error messages.
pub fn load_str(file: &Path, text: &str) -> Result<Validated, ConfigErrors> {
    let mut errors = Vec::new();
    let mut table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let e: toml::de::Error = e;
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].lines().count().max(1);
                    format!("line {line}")
                })
                .unwrap_or_default();
            return Err(ConfigErrors(vec![ConfigError::new(
                file,
                &at,
                e.message().to_owned(),
            )]));
        }
    };
    interpolate::interpolate_table(file, &mut table, "", &mut errors);

    let mut unknown: Vec<String> = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(toml::Value::Table(table), &mut record);
    let parsed: Result<HubConfig, _> = serde_path_to_error::deserialize(de);
    for key in unknown {
        errors.push(ConfigError::new(file, &key, "unknown key"));
    }
    let config = match parsed {
        Ok(c) => c,
        Err(e) => {
            let key = e.path().to_string();
            let message = e.inner().to_string();
            let first_line = message.lines().next().unwrap_or_default();
            let reason = throughline_contracts::redact::redact_values(first_line);
            errors.push(ConfigError::new(file, &key, reason));
            return Err(ConfigErrors(errors));
        }
    };
    match validate::validate(file, config) {
        Ok(v) if errors.is_empty() => Ok(v),
        Ok(_) => Err(ConfigErrors(errors)),
        Err(mut more) => {
            errors.append(&mut more);
            Err(ConfigErrors(errors))
        }
    }
}

/// The configuration file used when none is given.
pub fn default_path() -> PathBuf {
    PathBuf::from("config/hub.toml")
}
