//! What became of one record: its submissions, or every problem found, with its raw XML either
//! way so a rejected record can be quarantined alone.
//!
//! Why per record: a normaliser turns one input into all of its events or one rejection, so one
//! bad pupil would quarantine a 50,000-pupil file. A record file's unit of quarantine is the
//! record, and the readers hand each one over as it is read.

use std::fmt;

use chrono::{DateTime, Utc};
use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::event::{
    EventSource, EventSubmission, FieldProblem, SCHEMA_VERSION, Subject,
};
use throughline_contracts::kind::EventBody;

/// What became of one record (a pupil, a child). `raw` is the record's element exactly as
/// written in the file, so a rejected record can be quarantined alone.
///
/// `Debug` shows the index, sizes and event kinds, never the raw bytes or any event's subject.
#[derive(Clone, PartialEq)]
pub enum RecordOutcome {
    /// The record mapped cleanly. `submissions` may be empty (a record with nothing to report).
    Accepted {
        /// Position in the list of records, from 0.
        index: usize,
        raw: Vec<u8>,
        submissions: Vec<EventSubmission>,
    },
    /// The record could not be mapped: every problem found, named by element path.
    Rejected {
        index: usize,
        raw: Vec<u8>,
        problems: Vec<FieldProblem>,
    },
}

impl RecordOutcome {
    /// The outcome of record `index` whose mapping came to `mapped`.
    pub fn new(
        index: usize,
        raw: Vec<u8>,
        mapped: Result<Vec<EventSubmission>, Vec<FieldProblem>>,
    ) -> Self {
        match mapped {
            Ok(submissions) => RecordOutcome::Accepted {
                index,
                raw,
                submissions,
            },
            Err(problems) => RecordOutcome::Rejected {
                index,
                raw,
                problems,
            },
        }
    }

    /// Position in the list of records, from 0.
    pub fn index(&self) -> usize {
        match self {
            RecordOutcome::Accepted { index, .. } | RecordOutcome::Rejected { index, .. } => *index,
        }
    }

    /// The record's element as written.
    pub fn raw(&self) -> &[u8] {
        match self {
            RecordOutcome::Accepted { raw, .. } | RecordOutcome::Rejected { raw, .. } => raw,
        }
    }
}

impl fmt::Debug for RecordOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordOutcome::Accepted {
                index,
                raw,
                submissions,
            } => {
                let kinds: Vec<&str> = submissions.iter().map(|s| s.body.kind().as_str()).collect();
                f.debug_struct("Accepted")
                    .field("index", index)
                    .field("raw_bytes", &raw.len())
                    .field("kinds", &kinds)
                    .finish()
            }
            RecordOutcome::Rejected {
                index,
                raw,
                problems,
            } => f
                .debug_struct("Rejected")
                .field("index", index)
                .field("raw_bytes", &raw.len())
                .field("problems", problems)
                .finish(),
        }
    }
}

/// One submission a body. All of a record's events are about its one subject and come from the
/// source `ctx` names; `occurred_at` gives each body's time, and `id` is left to the hub. None is
/// marked as history (`as_at` is absent): see [`restating_submissions`] for a record that
/// restates the child's past.
pub fn submissions(
    ctx: &NormaliseContext,
    subject: Subject,
    bodies: Vec<EventBody>,
    occurred_at: impl Fn(&EventBody) -> DateTime<Utc>,
) -> Vec<EventSubmission> {
    restating_submissions(ctx, subject, bodies, |body| (occurred_at(body), None))
}

/// As [`submissions`], for a file that restates part of the child's record (a transfer file or
/// a census repeats SEN history, plans and care status every time): `times` gives each body's
/// `occurred_at` and its `as_at`, the file's reference date for a restated fact and `None` for
/// the file's news. Why per body: one record mixes both, a CTF's SEN history (restated) with the
/// transfer it exists to announce (news).
pub fn restating_submissions(
    ctx: &NormaliseContext,
    subject: Subject,
    bodies: Vec<EventBody>,
    times: impl Fn(&EventBody) -> (DateTime<Utc>, Option<DateTime<Utc>>),
) -> Vec<EventSubmission> {
    let source = EventSource {
        agency: ctx.agency.clone(),
        system: ctx.system.clone(),
        adapter: ctx.adapter.clone(),
    };
    bodies
        .into_iter()
        .map(|body| {
            let (occurred_at, as_at) = times(&body);
            EventSubmission {
                schema_version: SCHEMA_VERSION,
                id: None,
                occurred_at,
                as_at,
                source: source.clone(),
                subject: subject.clone(),
                body,
                correlation_id: None,
                causation_id: None,
            }
        })
        .collect()
}
