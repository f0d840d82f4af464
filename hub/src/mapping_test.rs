//! `throughline test`: mapping tests kept beside the configuration, for the people who write it.
//!
//! Each `<config dir>/tests/<config name>/*.toml` file holds `[[case]]` tables: a sample native input for a
//! configured source and what should become of it (committed with these event kinds and these
//! recipients seeing exactly these fields, or quarantined naming these fields). Every case runs
//! the real pipeline against a fresh temporary SQLite store with the file's agencies, routes
//! and sharing agreements, but without sources or delivery workers: deliveries stay in the
//! store, where the runner reads what each recipient would be sent. Nothing leaves the process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use throughline_contracts::adapter::{InputOutcome, RawInput};
use uuid::Uuid;

use crate::config::{ConfigError, Validated};
use crate::deliver::Wakers;
use crate::pipeline::{Origin, Pipeline};
use crate::store::{self, Store, StoreError};

/// Why the tests could not be run (as opposed to a case failing).
#[derive(Debug, thiserror::Error)]
pub enum MappingTestError {
    /// A test file is unreadable or malformed; each as `file: key: reason`.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigError>),
    #[error("the temporary test store failed: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    case: Vec<Case>,
}

/// One test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub source: String,
    pub input: String,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Inputs processed first, e.g. a `school.joined` that makes an agency involved.
    #[serde(default)]
    pub before: Vec<Input>,
    pub expect: Expect,
}

/// An earlier input of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub source: String,
    pub input: String,
    #[serde(default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Committed,
    Quarantined,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub outcome: Outcome,
    /// Quarantined: the problem field paths, as a set.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Committed: the event kinds, in order.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// Committed: every recipient of the input's events (no others may receive them).
    #[serde(default)]
    pub deliveries: Option<Vec<ExpectedDelivery>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDelivery {
    pub agency: String,
    /// The exact set of `subject.…` and `payload.…` leaf paths the agency is sent.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Paths the agency must not be sent.
    #[serde(default)]
    pub absent: Vec<String>,
}

/// A case with the test file it came from, as shown in the report.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub file: String,
    pub case: Case,
}

/// What became of one case: no failures means it passed.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub failures: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The folder the test files for this configuration file live in: `tests/<config name>/`
/// beside it, so configurations sharing a folder keep their cases apart.
pub fn tests_dir(config_path: &Path) -> PathBuf {
    let stem = config_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    config_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("tests")
        .join(stem)
}

/// Reads every `*.toml` in `dir` (sorted by name) and checks each case against the
/// configuration: every problem in every file, or every case.
pub fn load_cases(dir: &Path, config: &Validated) -> Result<Vec<LoadedCase>, MappingTestError> {
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            return Err(MappingTestError::Invalid(vec![ConfigError::new(
                dir,
                "",
                format!("cannot read the test folder: {e}"),
            )]));
        }
    };
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(ConfigError::new(&path, "", format!("cannot read: {e}")));
                continue;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let e: toml::de::Error = e;
                let at = e
                    .span()
                    .map(|s| format!("line {}", text[..s.start].lines().count().max(1)))
                    .unwrap_or_default();
                errors.push(ConfigError::new(&path, &at, e.message().to_owned()));
                continue;
            }
        };
        let parsed: Result<TestFile, _> =
            serde_path_to_error::deserialize(toml::Value::Table(table));
        let file = match parsed {
            Ok(f) => f,
            Err(e) => {
                let reason = e.inner().to_string();
                let reason = reason.lines().next().unwrap_or_default().to_owned();
                errors.push(ConfigError::new(&path, &e.path().to_string(), reason));
                continue;
            }
        };
        if file.case.is_empty() {
            errors.push(ConfigError::new(&path, "case", "no [[case]] in this file"));
        }
        let shown = path.display().to_string();
        for (i, case) in file.case.into_iter().enumerate() {
            check_case(&path, i, &case, config, &mut errors);
            cases.push(LoadedCase {
                file: shown.clone(),
                case,
            });
        }
    }
    if cases.is_empty() && errors.is_empty() {
        errors.push(ConfigError::new(
            dir,
            "",
            "no test files (*.toml with [[case]])",
        ));
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(MappingTestError::Invalid(errors))
    }
}

/// What a case's shape alone can get wrong: an unknown source, expectations for the other
/// outcome.
fn check_case(
    path: &Path,
    i: usize,
    case: &Case,
    config: &Validated,
    errors: &mut Vec<ConfigError>,
) {
    let key = |k: &str| format!("case[{i}].{k}");
    if !config.sources.contains_key(&case.source) {
        errors.push(ConfigError::new(
            path,
            &key("source"),
            format!("no source `{}` is configured", case.source),
        ));
    }
    for (j, b) in case.before.iter().enumerate() {
        if !config.sources.contains_key(&b.source) {
            errors.push(ConfigError::new(
                path,
                &key(&format!("before[{j}].source")),
                format!("no source `{}` is configured", b.source),
            ));
        }
    }
    let e = &case.expect;
    match e.outcome {
        Outcome::Committed if e.fields.is_some() => errors.push(ConfigError::new(
            path,
            &key("expect.fields"),
            "only for outcome = \"quarantined\" (use expect.deliveries[].fields)",
        )),
        Outcome::Quarantined if e.kinds.is_some() || e.deliveries.is_some() => {
            errors.push(ConfigError::new(
                path,
                &key("expect"),
                "kinds and deliveries are only for outcome = \"committed\"",
            ))
        }
        _ => {}
    }
}

/// Runs every case, each against its own temporary store.
pub async fn run(
    config: Arc<Validated>,
    cases: &[LoadedCase],
) -> Result<Vec<CaseResult>, MappingTestError> {
    let mut results = Vec::with_capacity(cases.len());
    for loaded in cases {
        let db = TempDb::new();
        let outcome = run_case(config.clone(), &db.url(), &loaded.case).await;
        drop(db);
        results.push(CaseResult {
            file: loaded.file.clone(),
            name: loaded.case.name.clone(),
            failures: outcome?,
        });
    }
    Ok(results)
}

/// A SQLite file in the system's temporary folder, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let name = format!("throughline-test-{}.db", Uuid::new_v4());
        Self(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

fn raw(source: &str, input: &str, content_type: &Option<String>) -> RawInput {
    RawInput {
        source_id: source.to_owned(),
        content_type: content_type.clone(),
        body: Bytes::from(input.to_owned()),
        received_at: chrono::Utc::now(),
        message_id: None,
    }
}

async fn run_case(
    config: Arc<Validated>,
    url: &str,
    case: &Case,
) -> Result<Vec<String>, MappingTestError> {
    let store = Store::connect(url).await?;
    let pipeline = Pipeline::new(config.clone(), store.clone(), Wakers::default());
    let format = |source: &str| {
        config
            .sources
            .get(source)
            .map(|s| s.format.clone())
            .unwrap_or_default()
    };
    let mut failures = Vec::new();
    for (j, b) in case.before.iter().enumerate() {
        let outcome = pipeline
            .process(
                &raw(&b.source, &b.input, &b.content_type),
                &format(&b.source),
                Origin::Fresh,
            )
            .await;
        if !matches!(outcome, InputOutcome::Committed { .. }) {
            failures.push(format!(
                "before[{j}] was not committed: {}",
                describe(&outcome)
            ));
            store.pool().close().await;
            return Ok(failures);
        }
    }
    let outcome = pipeline
        .process(
            &raw(&case.source, &case.input, &case.content_type),
            &format(&case.source),
            Origin::Fresh,
        )
        .await;
    let expect = &case.expect;
    match (&outcome, expect.outcome) {
        (InputOutcome::Quarantined { problems, .. }, Outcome::Quarantined) => {
            if let Some(fields) = &expect.fields {
                let found: BTreeSet<String> = problems.iter().map(|p| p.field.clone()).collect();
                let wanted: BTreeSet<String> = fields.iter().cloned().collect();
                diff_sets("problem fields", &wanted, &found, &mut failures);
            }
        }
        (InputOutcome::Committed { event_ids, .. }, Outcome::Committed) => {
            check_committed(&store, event_ids, expect, &mut failures).await?;
        }
        (found, Outcome::Committed) => failures.push(format!(
            "expected: committed\n  found:    {}",
            describe(found)
        )),
        (found, Outcome::Quarantined) => failures.push(format!(
            "expected: quarantined\n  found:    {}",
            describe(found)
        )),
    }
    store.pool().close().await;
    Ok(failures)
}

async fn check_committed(
    store: &Store,
    event_ids: &[Uuid],
    expect: &Expect,
    failures: &mut Vec<String>,
) -> Result<(), MappingTestError> {
    let mut conn = store.acquire().await?;
    let mut kinds = Vec::new();
    // Per recipient, every leaf path sent to it about this input's events.
    let mut sent: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in event_ids {
        if let Some(event) = store::events::get(&mut conn, *id).await? {
            kinds.push(event.kind().as_str().to_owned());
        }
        for n in store::deliveries::notifications_for_event(&mut conn, *id).await? {
            let paths = sent.entry(n.recipient.as_str().to_owned()).or_default();
            leaves("subject", &n.subject, paths);
            leaves("payload", &n.payload, paths);
        }
    }
    if let Some(wanted) = &expect.kinds
        && *wanted != kinds
    {
        failures.push(format!(
            "event kinds differ\n  expected: {}\n  found:    {}",
            list(wanted),
            list(&kinds)
        ));
    }
    let Some(deliveries) = &expect.deliveries else {
        return Ok(());
    };
    let wanted: BTreeSet<String> = deliveries.iter().map(|d| d.agency.clone()).collect();
    let found: BTreeSet<String> = sent.keys().cloned().collect();
    diff_sets("recipients", &wanted, &found, failures);
    for d in deliveries {
        let Some(paths) = sent.get(&d.agency) else {
            continue;
        };
        if let Some(fields) = &d.fields {
            let wanted: BTreeSet<String> = fields.iter().cloned().collect();
            diff_sets(
                &format!("fields sent to {}", d.agency),
                &wanted,
                paths,
                failures,
            );
        }
        for a in &d.absent {
            if paths.contains(a) || paths.iter().any(|p| p.starts_with(&format!("{a}."))) {
                failures.push(format!("{} was sent {a}, expected absent", d.agency));
            }
        }
    }
    Ok(())
}

/// Leaf paths of a JSON value (arrays count as one leaf; empty objects as none).
fn leaves(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                leaves(&format!("{prefix}.{k}"), v, out);
            }
        }
        serde_json::Value::Null => {}
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

fn diff_sets(
    what: &str,
    wanted: &BTreeSet<String>,
    found: &BTreeSet<String>,
    failures: &mut Vec<String>,
) {
    if wanted == found {
        return;
    }
    let missing: Vec<String> = wanted.difference(found).cloned().collect();
    let extra: Vec<String> = found.difference(wanted).cloned().collect();
    let mut text = format!(
        "{what} differ\n  expected: {}\n  found:    {}",
        list(&wanted.iter().cloned().collect::<Vec<_>>()),
        list(&found.iter().cloned().collect::<Vec<_>>())
    );
    if !missing.is_empty() {
        text.push_str(&format!("\n  missing:  {}", list(&missing)));
    }
    if !extra.is_empty() {
        text.push_str(&format!("\n  extra:    {}", list(&extra)));
    }
    failures.push(text);
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".into()
    } else {
        items.join(", ")
    }
}

/// An outcome in one line; problem reasons never hold values (the pipeline redacts them).
fn describe(outcome: &InputOutcome) -> String {
    match outcome {
        InputOutcome::Committed { event_ids, .. } => {
            format!("committed ({} event(s))", event_ids.len())
        }
        InputOutcome::Quarantined { step, problems, .. } => format!(
            "quarantined at {step}: {}",
            problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        InputOutcome::Unavailable { reason } => format!("unavailable: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_walk_objects_only() {
        let mut out = BTreeSet::new();
        let v =
            serde_json::json!({"identifiers": {"upn": "X", "n": null}, "list": [1, 2], "e": {}});
        leaves("subject", &v, &mut out);
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(got, ["subject.identifiers.upn", "subject.list"]);
    }
}
