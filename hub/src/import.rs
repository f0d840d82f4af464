//! Imports: whole files an agency hands over outside any live feed, run through the pipeline one
//! record at a time. Today there is one kind, a school's Common Transfer File (CTF): see
//! `docs/adapters/ctf.md`, "Importing". A CTF arrives by the command line (`throughline import
//! ctf`), by `POST /v1/ingest/{source}/ctf`, or through a source's [`drop_folder`]; all three
//! call [`import_ctf`].
//!
//! Why each pupil is its own input and not the file: the pipeline keeps an input whole, so one
//! unreadable pupil would hold back a whole school's transfer. Each pupil's events are committed
//! in their own transaction, or the pupil is kept in quarantine alone.
//!
//! Why importing the same file again is harmless: each pupil's input carries the message id
//! `ctf:<file SHA-256>:<pupil index>`, and the commit step answers a message id it has already
//! committed as a duplicate without committing anything. A corrected file is a different file:
//! its pupils are new inputs, and their events are committed (and sent) again.

use std::fmt;
use std::io::{self, BufRead, Read};

use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use throughline_adapter_ctf::{CtfError, CtfLimits, CtfReader, PupilOutcome};
use throughline_contracts::adapter::{InputOutcome, NormaliseContext, RawInput};
use throughline_contracts::event::FieldProblem;
use uuid::Uuid;

use crate::pipeline::{Pipeline, step};

pub mod drop_folder;

/// The format an accepted pupil's events are committed in: the canonical envelope, as an array.
const PUPIL_EVENTS_FORMAT: &str = "canonical-json";

/// The format a rejected pupil's raw `<Pupil>` XML is quarantined under. No normaliser reads it
/// yet, so such an item cannot be replayed: the pupil alone lacks the header the mapping needs.
pub const CTF_PUPIL_FORMAT: &str = "ctf-pupil";

/// A file's SHA-256: names the file in each of its pupils' message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest([u8; 32]);

impl FileDigest {
    /// Reads `input` to its end. The caller then reads the same bytes again to import them, so
    /// the file must not change in between.
    pub fn read(mut input: impl Read) -> io::Result<Self> {
        let mut hasher = Sha256::new();
        io::copy(&mut input, &mut hasher)?;
        Ok(Self(hasher.finalize().into()))
    }

    /// The digest of bytes already in memory (an uploaded file).
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for FileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// What an import did, pupil by pupil. Counts and field paths only: never a pupil's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// `CTFversion` as written in the header, e.g. `25.0`.
    pub ctf_version: String,
    /// The file's SHA-256, in hex: part of every pupil's message id.
    pub file_sha256: String,
    /// Pupils read, whatever became of them.
    pub pupils: usize,
    /// Pupils whose events this import committed.
    pub committed: usize,
    /// Pupils an earlier import of the same file already committed: nothing new was committed.
    pub duplicates: usize,
    /// Pupils read cleanly with nothing to report (a partial CTF, no SEN, not looked after).
    pub without_events: usize,
    /// Pupils kept in quarantine, in file order.
    pub quarantined: Vec<QuarantinedPupil>,
    /// Events this import committed (duplicates not counted).
    pub events: usize,
}

/// One pupil kept in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedPupil {
    /// Position in `CTFpupilData`, from 0.
    pub index: usize,
    pub quarantine_id: Uuid,
    /// `normalise` for a pupil the CTF reader could not map (format `ctf-pupil`); a later step
    /// for events the pipeline refused (format `canonical-json`, which can be replayed).
    pub step: String,
    /// Each problem, named by its element path (`CTFpupilData.Pupil[17].DOB`) or JSON path.
    pub problems: Vec<FieldProblem>,
}

/// Why an import stopped. Pupils handled before it stay committed or quarantined; where the
/// error carries a report, it says which.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("no source with id `{0}` is configured")]
    UnknownSource(String),

    /// The file's events would be the sending school's, under another agency's name.
    #[error(
        "source `{source_id}` speaks for agency `{agency}`, which does not list the file's source school (URN {urn}) in its school_urns: a CTF's events are the sending school's"
    )]
    NotTheSendingSchool {
        source_id: String,
        agency: String,
        urn: String,
    },

    /// The header or the start of the file is unusable: nothing was imported.
    #[error("the file was refused before any pupil was read")]
    Refused(#[source] CtfError),

    /// The rest of the file cannot be read (malformed, truncated, hostile, over a limit).
    #[error(
        "the file could not be read past its first {} pupil(s), which stay committed or quarantined as reported",
        .report.pupils
    )]
    Stopped {
        report: Box<ImportReport>,
        #[source]
        source: CtfError,
    },

    /// The store could not take a pupil: importing the file again carries on where this
    /// stopped, as the pupils already committed are duplicates.
    #[error(
        "pupil {index} could not be committed ({reason}); the pupils before it stay committed, and importing the file again skips them"
    )]
    Unavailable {
        index: usize,
        reason: String,
        report: Box<ImportReport>,
    },

    /// A pupil's events could not be written as JSON (a bug, not a problem with the file).
    #[error("pupil {index}'s events could not be encoded as canonical JSON")]
    Encode {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl ImportError {
    /// What was done before the import stopped, when pupils had been read.
    pub fn partial_report(&self) -> Option<&ImportReport> {
        match self {
            ImportError::Stopped { report, .. } | ImportError::Unavailable { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }

    /// The message and each of its causes, joined by `: `, as an operator or a school reads it.
    /// Like every message here, it names where and why, never a pupil's data.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            message.push_str(": ");
            message.push_str(&e.to_string());
            cause = e.source();
        }
        message
    }
}

/// Imports a CTF from `input` for the configured source `source_id`, whose agency must list the
/// file's source school among its `school_urns`. `digest` is the SHA-256 of exactly the bytes
/// `input` yields ([`FileDigest::read`]). `progress` is called with the number of pupils read
/// after each one.
///
/// Each pupil is one input: its events (as a canonical JSON array) are committed by
/// [`Pipeline::process_batch`] (several pupils per transaction, each all-or-nothing), or, when the CTF reader rejects it, its raw XML is kept in quarantine
/// alone (format [`CTF_PUPIL_FORMAT`], step `normalise`). A file-level error stops the import:
/// the pupils before it stay committed or quarantined, and the error's report says which.
///
/// Reading `input` blocks the task. The command line does not mind; the HTTP upload passes bytes
/// already in memory; the drop folder reads a local file, which blocks one of the runtime's
/// workers while the file is read (see [`drop_folder`]).
pub async fn import_ctf(
    pipeline: &Pipeline,
    source_id: &str,
    digest: FileDigest,
    input: impl BufRead,
    mut progress: impl FnMut(usize),
) -> Result<ImportReport, ImportError> {
    let config = pipeline.config();
    let source = config
        .sources
        .get(source_id)
        .ok_or_else(|| ImportError::UnknownSource(source_id.to_owned()))?;
    let ctx = NormaliseContext {
        source_id: source.id.clone(),
        agency: source.agency.clone(),
        system: source.system.clone(),
        adapter: throughline_adapter_ctf::ADAPTER.into(),
    };
    let mut reader =
        CtfReader::new(input, CtfLimits::default(), ctx).map_err(ImportError::Refused)?;

    let header = reader.header();
    let sends_it = config
        .agencies
        .get(&source.agency)
        .is_some_and(|a| a.school_urns.contains(&header.source.urn));
    if !sends_it {
        return Err(ImportError::NotTheSendingSchool {
            source_id: source.id.clone(),
            agency: source.agency.to_string(),
            urn: header.source.urn.clone(),
        });
    }

    let mut report = ImportReport {
        ctf_version: header.version.to_string(),
        file_sha256: digest.to_string(),
        pupils: 0,
        committed: 0,
        duplicates: 0,
        without_events: 0,
        quarantined: Vec::new(),
        events: 0,
    };
    // Accepted pupils are committed in groups (one transaction and one fsync per group, each
    // pupil still all-or-nothing on its own: see `Pipeline::process_batch`).
    let mut group: Vec<(usize, RawInput)> = Vec::with_capacity(GROUP);
    for item in reader.by_ref() {
        let pupil = match item {
            Ok(pupil) => pupil,
            Err(source) => {
                commit_group(pipeline, &mut group, &mut report).await?;
                return Err(ImportError::Stopped {
                    report: Box::new(report),
                    source,
                });
            }
        };
        report.pupils += 1;
        let index = pupil.index();
        let message_id = format!("ctf:{digest}:{index}");
        match pupil {
            PupilOutcome::Accepted { submissions, .. } if submissions.is_empty() => {
                report.without_events += 1;
            }
            PupilOutcome::Accepted { submissions, .. } => {
                let body = serde_json::to_vec(&submissions)
                    .map_err(|source| ImportError::Encode { index, source })?;
                group.push((
                    index,
                    raw_input(source_id, "application/json", body, message_id),
                ));
                if group.len() == GROUP {
                    commit_group(pipeline, &mut group, &mut report).await?;
                }
            }
            PupilOutcome::Rejected { raw, problems, .. } => {
                // Committed pupils before it first, so the report stays in file order.
                commit_group(pipeline, &mut group, &mut report).await?;
                let raw = raw_input(source_id, "application/xml", raw, message_id);
                let outcome = pipeline
                    .quarantine_input(&raw, CTF_PUPIL_FORMAT, step::NORMALISE, problems)
                    .await;
                tally(&mut report, index, outcome).map_err(|reason| ImportError::Unavailable {
                    index,
                    reason,
                    report: Box::new(report.clone()),
                })?;
            }
        }
        progress(report.pupils);
    }
    commit_group(pipeline, &mut group, &mut report).await?;

    tracing::info!(
        source_id,
        file_sha256 = %report.file_sha256,
        pupils = report.pupils,
        committed = report.committed,
        duplicates = report.duplicates,
        quarantined = report.quarantined.len(),
        "CTF imported"
    );
    Ok(report)
}

/// Pupils committed per transaction.
const GROUP: usize = 64;

/// Commits the pupils held in `group` together and tallies each one's outcome.
async fn commit_group(
    pipeline: &Pipeline,
    group: &mut Vec<(usize, RawInput)>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    if group.is_empty() {
        return Ok(());
    }
    let raws: Vec<RawInput> = group.iter().map(|(_, raw)| raw.clone()).collect();
    let outcomes = pipeline.process_batch(&raws, PUPIL_EVENTS_FORMAT).await;
    for ((index, _), outcome) in group.drain(..).zip(outcomes) {
        tally(report, index, outcome).map_err(|reason| ImportError::Unavailable {
            index,
            reason,
            report: Box::new(report.clone()),
        })?;
    }
    Ok(())
}

fn raw_input(source_id: &str, content_type: &str, body: Vec<u8>, message_id: String) -> RawInput {
    RawInput {
        source_id: source_id.to_owned(),
        content_type: Some(content_type.to_owned()),
        body: body.into(),
        received_at: Utc::now(),
        message_id: Some(message_id),
    }
}

/// Adds one pupil's outcome to the report, or says why the store could not take it.
fn tally(report: &mut ImportReport, index: usize, outcome: InputOutcome) -> Result<(), String> {
    match outcome {
        InputOutcome::Committed {
            duplicate: true, ..
        } => report.duplicates += 1,
        InputOutcome::Committed { event_ids, .. } => {
            report.committed += 1;
            report.events += event_ids.len();
        }
        InputOutcome::Quarantined {
            quarantine_id,
            step,
            problems,
        } => report.quarantined.push(QuarantinedPupil {
            index,
            quarantine_id,
            step,
            problems,
        }),
        InputOutcome::Unavailable { reason } => return Err(reason),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_digest_is_the_sha256_of_its_bytes_in_hex() {
        let digest = FileDigest::read(&b"abc"[..]).unwrap();
        assert_eq!(
            digest.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_digest_of_bytes_in_memory_is_the_digest_of_the_same_bytes_read() {
        let bytes = b"<CTfile/>";
        assert_eq!(FileDigest::of(bytes), FileDigest::read(&bytes[..]).unwrap());
    }

    #[test]
    fn a_full_message_names_the_cause() {
        let e =
            ImportError::Refused(throughline_adapter_ctf::CtfError::DoctypeRefused { offset: 0 });
        let message = e.full_message();
        assert!(message.starts_with("the file was refused before any pupil was read: "));
        assert!(message.contains("DOCTYPE"), "{message}");
    }

    #[test]
    fn a_store_failure_stops_the_tally_and_other_outcomes_are_counted() {
        let mut report = ImportReport {
            ctf_version: "25.0".into(),
            file_sha256: String::new(),
            pupils: 3,
            committed: 0,
            duplicates: 0,
            without_events: 0,
            quarantined: Vec::new(),
            events: 0,
        };
        let committed = InputOutcome::Committed {
            event_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
            duplicate: false,
        };
        let duplicate = InputOutcome::Committed {
            event_ids: vec![Uuid::now_v7()],
            duplicate: true,
        };
        tally(&mut report, 0, committed).unwrap();
        tally(&mut report, 1, duplicate).unwrap();
        let unavailable = InputOutcome::Unavailable {
            reason: "down".into(),
        };
        assert_eq!(tally(&mut report, 2, unavailable), Err("down".into()));
        assert_eq!((report.committed, report.duplicates), (1, 1));
        assert_eq!(
            report.events, 2,
            "a duplicate's events are not counted again"
        );
    }
}
