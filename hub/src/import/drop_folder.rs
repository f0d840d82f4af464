//! A source's drop folder (`sources.drop`, or the older `sources.ctf_drop`): an agency's system,
//! or a job that downloads its files, writes files into `<folder>/incoming/`, and the hub imports
//! each one as that source with the folder's reader: a Common Transfer File pupil by pupil, a CIN
//! census child by child, or a file in the source's own format (an extract row by row, any other
//! format as one input). See
//! `docs/adapters/import.md`, "Drop folders".
//!
//! ```text
//! <folder>/incoming/    written by the agency; `.part`, `.tmp` and `.hidden` names are not touched
//! <folder>/processing/  claimed, being imported (or interrupted: imported again at start-up)
//! <folder>/done/        imported, each with `<name>.report.json` (the import report)
//! <folder>/failed/      refused or unreadable, each with `<name>.error.json` (why, and what was done)
//! ```
//!
//! Why a claim is a rename: renaming within one filesystem is atomic, so a file is either still
//! in `incoming/` or wholly in `processing/`. A file another instance, or an earlier run, already
//! moved is no longer there, and is skipped. Writers write `name.part` (or `name.tmp`, or a name
//! starting with `.`) and rename it when it is complete, so a half-written file is never claimed.
//!
//! Why a crash loses nothing: a file leaves `processing/` only once every record in it is
//! committed or quarantined (to `done/`), or once the file is refused (to `failed/`). A file still
//! in `processing/` at start-up was interrupted, and is imported again; the records it had
//! committed are duplicates, because every import is idempotent by file digest (and record
//! index). A store failure leaves the file in `processing/` too, and it is tried again at the
//! next poll.
//!
//! Why the file is read with `std::fs` inside the async task: the readers read a `BufRead`. Each
//! read of a local file is short, but a whole import holds one runtime worker while it runs
//! (about a minute for 50,000 pupils on 2 cores); the other workers carry on serving the API and
//! delivering. Running the import on its own thread is the next step if that ever matters.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::single::read_input;
use super::{
    FileDigest, ImportReport, InputReport, import_cin, import_ctf, import_extract, import_input,
    reads_rows,
};
use crate::config::DropReader;
use crate::pipeline::Pipeline;

/// The four subfolders of a drop folder.
pub const INCOMING: &str = "incoming";
pub const PROCESSING: &str = "processing";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Beside an imported file in `done/`.
pub const REPORT_SUFFIX: &str = ".report.json";
/// Beside a refused file in `failed/`.
pub const ERROR_SUFFIX: &str = ".error.json";

/// A drop folder whose four subfolders exist.
#[derive(Debug, Clone)]
pub struct DropFolder {
    incoming: PathBuf,
    processing: PathBuf,
    done: PathBuf,
    failed: PathBuf,
}

/// What `<name>.error.json` holds: the error, and what was done before it. Never child data.
#[derive(Debug, Serialize)]
struct FailedFile<'a> {
    source_id: &'a str,
    error: &'a str,
    /// The records committed or quarantined before the error, when any were read.
    report: Option<&'a ImportReport>,
}

/// What `<name>.report.json` holds: the import report of a file of many records, or what became
/// of a file imported as one input.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum DoneReport {
    Records(ImportReport),
    Input(InputReport),
}

/// What became of one claimed file.
enum Outcome {
    Done(DoneReport),
    Failed {
        error: String,
        report: Option<ImportReport>,
    },
    /// The store could not take a record: the file stays in `processing/`.
    Retry(String),
    /// The file was no longer there.
    Gone,
}

/// What the watcher does after one file.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// On to the next file.
    Carry,
    /// The store is failing: wait for the next poll, and try `processing/` again then.
    Pause,
    /// Cancelled.
    Stop,
}

impl DropFolder {
    /// The drop folder at `root` (which must exist), creating any missing subfolder.
    pub fn open(root: &Path) -> io::Result<Self> {
        let folder = Self {
            incoming: root.join(INCOMING),
            processing: root.join(PROCESSING),
            done: root.join(DONE),
            failed: root.join(FAILED),
        };
        for dir in [
            &folder.incoming,
            &folder.processing,
            &folder.done,
            &folder.failed,
        ] {
            match fs::create_dir(dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot create {}: {e}", dir.display()),
                    ));
                }
                _ => {}
            }
        }
        Ok(folder)
    }

    /// Moves `incoming/<name>` to `processing/<name>`. `None` when another instance claimed it
    /// first, or while a file of the same name is still in `processing/` (it is claimed once that
    /// one is finished: a rename would replace it).
    fn claim(&self, name: &OsStr) -> io::Result<Option<PathBuf>> {
        let to = self.processing.join(name);
        if fs::symlink_metadata(&to).is_ok() {
            return Ok(None);
        }
        match fs::rename(self.incoming.join(name), &to) {
            Ok(()) => Ok(Some(to)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the report, then moves the file beside it: a crash in between leaves the file in
    /// `processing/`, imported again (as duplicates) at start-up.
    fn move_done(&self, from: &Path, name: &OsStr, report: &DoneReport) -> io::Result<PathBuf> {
        let name = free_name(&self.done, name, REPORT_SUFFIX);
        let report_path = self.done.join(with_suffix(&name, REPORT_SUFFIX));
        write_json(&report_path, report)?;
        let to = self.done.join(&name);
        fs::rename(from, &to).inspect_err(|_| {
            let _ = fs::remove_file(&report_path);
        })?;
        Ok(to)
    }

    fn move_failed(&self, from: &Path, name: &OsStr, why: &FailedFile<'_>) -> io::Result<PathBuf> {
        let name = free_name(&self.failed, name, ERROR_SUFFIX);
        let error_path = self.failed.join(with_suffix(&name, ERROR_SUFFIX));
        write_json(&error_path, why)?;
        let to = self.failed.join(&name);
        fs::rename(from, &to).inspect_err(|_| {
            let _ = fs::remove_file(&error_path);
        })?;
        Ok(to)
    }

    /// Imports `processing/<name>` and moves it on.
    async fn process(
        &self,
        pipeline: &Pipeline,
        source_id: &str,
        reader: DropReader,
        name: &OsStr,
        cancel: &CancellationToken,
    ) -> Next {
        let path = self.processing.join(name);
        let file = name.to_string_lossy();
        let reader_name = reader.as_str();
        let outcome = tokio::select! {
            _ = cancel.cancelled() => {
                // Dropping the import rolls back the transaction in progress; the records already
                // committed are duplicates when the file is imported again at start-up.
                tracing::info!(source_id, reader = reader_name, %file, "drop folder: stopped mid-import; the file stays in processing/");
                return Next::Stop;
            }
            outcome = import_file(pipeline, source_id, reader, &path) => outcome,
        };
        match outcome {
            Outcome::Done(report) => match self.move_done(&path, name, &report) {
                Ok(to) => match &report {
                    DoneReport::Records(report) => tracing::info!(
                        source_id,
                        reader = reader_name,
                        %file,
                        to = %to.display(),
                        records = report.records,
                        committed = report.committed,
                        duplicates = report.duplicates,
                        quarantined = report.quarantined.len(),
                        events = report.events,
                        "drop folder: file imported"
                    ),
                    DoneReport::Input(report) => tracing::info!(
                        source_id,
                        reader = reader_name,
                        %file,
                        to = %to.display(),
                        outcome = ?report.outcome,
                        events = report.event_ids.len(),
                        "drop folder: file imported"
                    ),
                },
                Err(e) => tracing::error!(
                    source_id,
                    reader = reader_name,
                    %file,
                    error = %e,
                    "drop folder: file imported but not moved to done/; it stays in processing/ and is imported again (as duplicates) at start-up"
                ),
            },
            Outcome::Failed { error, report } => {
                let why = FailedFile {
                    source_id,
                    error: &error,
                    report: report.as_ref(),
                };
                match self.move_failed(&path, name, &why) {
                    Ok(to) => tracing::warn!(
                        source_id,
                        reader = reader_name,
                        %file,
                        to = %to.display(),
                        records = report.as_ref().map_or(0, |r| r.records),
                        committed = report.as_ref().map_or(0, |r| r.committed),
                        quarantined = report.as_ref().map_or(0, |r| r.quarantined.len()),
                        error = %error,
                        "drop folder: file failed"
                    ),
                    Err(e) => tracing::error!(
                        source_id,
                        reader = reader_name,
                        %file,
                        error = %error,
                        move_error = %e,
                        "drop folder: file failed and could not be moved to failed/; it stays in processing/"
                    ),
                }
            }
            Outcome::Retry(reason) => {
                tracing::warn!(
                    source_id,
                    reader = reader_name,
                    %file,
                    reason = %reason,
                    "drop folder: the store could not take the file; it stays in processing/ and is tried again"
                );
                return Next::Pause;
            }
            Outcome::Gone => {}
        }
        Next::Carry
    }
}

/// Watches `folder` for `source_id` until `cancel` fires: first the files an earlier run left in
/// `processing/`, then every `every`, each finished file in `incoming/`, in name order. Each file
/// is imported with `reader`.
pub async fn run(
    pipeline: Arc<Pipeline>,
    source_id: String,
    folder: DropFolder,
    reader: DropReader,
    every: Duration,
    cancel: CancellationToken,
) {
    // At start-up, `processing/` holds only files an earlier run did not finish.
    let mut look_in_processing = true;
    loop {
        let mut next = Next::Carry;
        if look_in_processing {
            look_in_processing = false;
            for name in listing(&source_id, &folder.processing) {
                next = folder
                    .process(&pipeline, &source_id, reader, &name, &cancel)
                    .await;
                if next != Next::Carry {
                    break;
                }
            }
        }
        if next == Next::Carry {
            for name in listing(&source_id, &folder.incoming) {
                if cancel.is_cancelled() {
                    return;
                }
                match folder.claim(&name) {
                    Ok(Some(_)) => {}
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(source_id, file = %name.to_string_lossy(), error = %e, "drop folder: cannot claim the file");
                        continue;
                    }
                }
                next = folder
                    .process(&pipeline, &source_id, reader, &name, &cancel)
                    .await;
                if next != Next::Carry {
                    break;
                }
            }
        }
        match next {
            Next::Stop => return,
            Next::Pause => look_in_processing = true,
            Next::Carry => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Reads the file twice through one handle (its digest, then its records): see the module's note
/// on blocking.
async fn import_file(
    pipeline: &Pipeline,
    source_id: &str,
    reader: DropReader,
    path: &Path,
) -> Outcome {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Outcome::Gone,
        Err(e) => {
            return Outcome::Failed {
                error: format!("the file could not be opened: {e}"),
                report: None,
            };
        }
    };
    let digest = match FileDigest::read(&mut file).and_then(|d| file.rewind().map(|()| d)) {
        Ok(digest) => digest,
        Err(e) => {
            return Outcome::Failed {
                error: format!("the file could not be read: {e}"),
                report: None,
            };
        }
    };
    let input = BufReader::new(file);
    let imported = match reader {
        DropReader::Ctf => import_ctf(pipeline, source_id, digest, input, |_| {})
            .await
            .map(DoneReport::Records),
        DropReader::CinCensus => import_cin(pipeline, source_id, digest, input, |_| {})
            .await
            .map(DoneReport::Records),
        DropReader::SourceFormat if reads_rows(pipeline, source_id) => {
            import_extract(pipeline, source_id, digest, input, |_| {})
                .await
                .map(DoneReport::Records)
        }
        DropReader::SourceFormat => {
            let limit = pipeline.config().api.body_limit_bytes;
            let body = match read_input(input, limit) {
                Ok(body) => body,
                Err(e) => {
                    return Outcome::Failed {
                        error: format!("the file could not be read: {e}"),
                        report: None,
                    };
                }
            };
            import_input(pipeline, source_id, digest, body)
                .await
                .map(DoneReport::Input)
        }
    };
    match imported {
        Ok(report) => Outcome::Done(report),
        Err(e) if e.is_unavailable() => Outcome::Retry(e.full_message()),
        Err(e) => Outcome::Failed {
            report: e.partial_report().cloned(),
            error: e.full_message(),
        },
    }
}

/// The finished regular files in `dir`, by name. A folder that cannot be listed is logged and
/// looked at again at the next poll.
fn listing(source_id: &str, dir: &Path) -> Vec<OsString> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(source_id, folder = %dir.display(), error = %e, "drop folder: cannot list the folder");
            return Vec::new();
        }
    };
    let mut names: Vec<OsString> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|name| is_finished(name))
        .collect();
    names.sort();
    names
}

/// Whether a writer has finished the file: names starting with `.` or ending with `.part` or
/// `.tmp` are still being written, and are left alone.
pub fn is_finished(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    !(name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp"))
}

/// `name`, or when it (or its companion `<name><suffix>`) is taken in `dir` by a file dropped
/// earlier under the same name, `stem.2.ext`, `stem.3.ext`…: nothing earlier is replaced.
fn free_name(dir: &Path, name: &OsStr, suffix: &str) -> OsString {
    let taken = |n: &OsStr| {
        fs::symlink_metadata(dir.join(n)).is_ok()
            || fs::symlink_metadata(dir.join(with_suffix(n, suffix))).is_ok()
    };
    if !taken(name) {
        return name.to_owned();
    }
    let path = Path::new(name);
    let stem = path.file_stem().unwrap_or(name);
    (2u64..)
        .map(|n| {
            let mut candidate = stem.to_owned();
            candidate.push(format!(".{n}"));
            if let Some(ext) = path.extension() {
                candidate.push(".");
                candidate.push(ext);
            }
            candidate
        })
        .find(|candidate| !taken(candidate))
        .expect("some number is free")
}

fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut name = name.to_owned();
    name.push(suffix);
    name
}

/// Written under a hidden temporary name, then renamed: a reader never sees half a file.
fn write_json(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    let tmp = path.with_file_name(format!(".{}.tmp", Uuid::now_v7()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_temporaries_and_hidden_files_are_left_for_their_writer() {
        for name in ["x.xml.part", "x.xml.tmp", ".x.xml", ".part"] {
            assert!(!is_finished(OsStr::new(name)), "{name}");
        }
        for name in ["x.xml", "801_LA_802_001.XML", "x.partial"] {
            assert!(is_finished(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn opening_makes_the_four_subfolders_and_keeps_what_is_there() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join(INCOMING)).unwrap();
        fs::write(root.path().join(INCOMING).join("x.xml"), b"x").unwrap();
        DropFolder::open(root.path()).unwrap();
        for dir in [INCOMING, PROCESSING, DONE, FAILED] {
            assert!(root.path().join(dir).is_dir(), "{dir}");
        }
        assert!(root.path().join(INCOMING).join("x.xml").is_file());
    }

    #[test]
    fn a_file_is_claimed_once_and_never_over_one_still_being_imported() {
        let root = tempfile::tempdir().unwrap();
        let folder = DropFolder::open(root.path()).unwrap();
        let name = OsStr::new("x.xml");
        fs::write(folder.incoming.join(name), b"first").unwrap();
        let claimed = folder.claim(name).unwrap().expect("claimed");
        assert_eq!(claimed, folder.processing.join(name));
        assert_eq!(folder.claim(name).unwrap(), None, "already moved: skipped");

        fs::write(folder.incoming.join(name), b"second").unwrap();
        assert_eq!(folder.claim(name).unwrap(), None, "waits for the first");
        assert_eq!(fs::read(&claimed).unwrap(), b"first");
        assert!(folder.incoming.join(name).is_file());
    }

    #[test]
    fn a_second_file_of_the_same_name_is_done_beside_the_first() {
        let root = tempfile::tempdir().unwrap();
        let folder = DropFolder::open(root.path()).unwrap();
        let name = OsStr::new("leavers.xml");
        fs::write(folder.done.join(name), b"first").unwrap();
        assert_eq!(
            free_name(&folder.done, name, REPORT_SUFFIX),
            OsString::from("leavers.2.xml")
        );
        fs::write(folder.done.join("leavers.2.xml.report.json"), b"{}").unwrap();
        assert_eq!(
            free_name(&folder.done, name, REPORT_SUFFIX),
            OsString::from("leavers.3.xml")
        );
        assert_eq!(
            free_name(&folder.done, OsStr::new("other.xml"), REPORT_SUFFIX),
            OsString::from("other.xml")
        );
    }

    #[test]
    fn a_drop_folder_that_does_not_exist_is_a_configuration_error_under_either_name() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("no-such-folder");
        let a_file = root.path().join("a-file");
        fs::write(&a_file, b"").unwrap();
        let (key_0, key_1) = (root.path().join("key-0"), root.path().join("key-1"));
        fs::write(&key_0, b"a-key-that-is-long-enough").unwrap();
        fs::write(&key_1, b"another-key-that-is-long-enough").unwrap();
        let config = format!(
            r#"
[[agencies]]
id = "oakfield-primary"
role = "school"

[[sources]]
id = "oakfield-ctf"
agency = "oakfield-primary"
api_key = "${{file:{}}}"
ctf_drop = {{ folder = "{}" }}

[[sources]]
id = "oakfield-ctf-2"
agency = "oakfield-primary"
api_key = "${{file:{}}}"
drop = {{ folder = "{}", poll_interval_ms = 0, reader = "cin-census" }}
"#,
            key_0.display(),
            missing.display(),
            key_1.display(),
            a_file.display()
        );
        let errors = crate::config::load_str(Path::new("hub.toml"), &config)
            .unwrap_err()
            .to_string();
        assert!(
            errors.contains(&format!(
                "hub.toml: sources[0].ctf_drop.folder: `{}` must be an existing directory, found nothing",
                missing.display()
            )),
            "{errors}"
        );
        assert!(
            errors.contains("hub.toml: sources[1].drop.folder: ")
                && errors.contains("must be a directory, found a file"),
            "{errors}"
        );
        assert!(
            errors.contains("hub.toml: sources[1].drop.poll_interval_ms: must be at least 1"),
            "{errors}"
        );

        let config = config
            .replace(
                &missing.display().to_string(),
                &root.path().display().to_string(),
            )
            .replace(
                &a_file.display().to_string(),
                &root.path().display().to_string(),
            )
            .replace("poll_interval_ms = 0", "poll_interval_ms = 100");
        let valid = crate::config::load_str(Path::new("hub.toml"), &config).unwrap();
        let drop = valid.sources["oakfield-ctf"].drop.as_ref().unwrap();
        assert_eq!(drop.folder, root.path());
        assert_eq!(drop.poll_interval_ms, 2_000, "the default");
        assert_eq!(drop.reader, DropReader::Ctf, "ctf_drop reads CTFs");
        let drop = valid.sources["oakfield-ctf-2"].drop.as_ref().unwrap();
        assert_eq!(drop.reader, DropReader::CinCensus);
    }

    #[test]
    fn a_drop_reads_the_source_format_unless_told_and_takes_one_name_only() {
        let root = tempfile::tempdir().unwrap();
        let key = root.path().join("key");
        fs::write(&key, b"a-key-that-is-long-enough").unwrap();
        let config = |drops: &str| {
            format!(
                r#"
[[agencies]]
id = "northshire-csc"
role = "social_care"

[[sources]]
id = "northshire-extract"
agency = "northshire-csc"
format = "social-care-csv"
api_key = "${{file:{}}}"
{drops}
"#,
                key.display()
            )
        };
        let folder = root.path().display();
        let valid = crate::config::load_str(
            Path::new("hub.toml"),
            &config(&format!(r#"drop = {{ folder = "{folder}" }}"#)),
        )
        .unwrap();
        let drop = valid.sources["northshire-extract"].drop.as_ref().unwrap();
        assert_eq!(drop.reader, DropReader::SourceFormat);

        let errors = crate::config::load_str(
            Path::new("hub.toml"),
            &config(&format!(
                "drop = {{ folder = \"{folder}\" }}\nctf_drop = {{ folder = \"{folder}\" }}"
            )),
        )
        .unwrap_err()
        .to_string();
        assert!(
            errors.contains("hub.toml: sources[0].ctf_drop: is the older name of drop"),
            "{errors}"
        );
        let errors = crate::config::load_str(
            Path::new("hub.toml"),
            &config(&format!(
                r#"drop = {{ folder = "{folder}", reader = "sen2" }}"#
            )),
        )
        .unwrap_err()
        .to_string();
        assert!(errors.contains("sources"), "{errors}");
    }
}
