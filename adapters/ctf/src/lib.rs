//! Common Transfer File (CTF): the DfE's XML file that carries a pupil's record from one school
//! to the next (or, when the destination is unknown, to the Lost Pupil Database). This crate
//! reads one as a stream and turns each pupil into event submissions. Reference:
//! `docs/adapters/ctf.md`.
//!
//! It accepts the CTF major versions of the school year the file is dated in (this year's and
//! last year's, and one newer with a warning: [`VersionWindow`]), reads
//! from any [`BufRead`](std::io::BufRead) with quick-xml, and holds one pupil at a time, so a
//! 50,000-pupil file is read in memory bounded by [`CtfLimits`]. A bad pupil is rejected alone,
//! with its raw XML for quarantine; a bad or hostile file (a DTD, an entity, a limit exceeded)
//! is refused as a whole.
//!
//! - [`config`]: [`CtfLimits`], the reader's hard limits.
//! - [`reader`]: [`CtfReader`], its [`PupilOutcome`]s and the [`FileReport`].
//! - [`header`]: [`CtfHeader`], the version, the source school and the destination.
//! - [`version`]: [`VersionWindow`], which versions a file of a given date may carry.
//! - [`error`]: [`CtfError`], the file-level errors.
//! - `mapping` (private): the CTF → contracts mapping table, one pupil at a time.
//! - `fixture` (feature `fixtures`): a generator of realistic synthetic CTFs for tests and
//!   benchmarks.
//!
//! The XML layer (DTD and entity refusal, the limits, the copy of each pupil), the walk through
//! a file of records (the header, then one pupil at a time) and the [`PupilOutcome`] are
//! `throughline-safe-xml`, shared with the other XML file adapters. This crate keeps what is the
//! CTF's: its element names, its header, a pupil's contents and their mapping.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixture;
pub mod header;
mod mapping;
mod pupil;
pub mod reader;
pub mod version;

pub use config::{CtfLimits, LimitsError};
pub use error::CtfError;
pub use header::{CtfDestination, CtfHeader, DocumentQualifier, SourceSchool, UnknownDestination};
pub use reader::{CtfReader, FileReport, PupilOutcome};
pub use version::{CtfVersion, VersionStatus, VersionWindow};

/// The adapter's name, for [`EventSource::adapter`](throughline_contracts::event::EventSource).
pub const ADAPTER: &str = "ctf";
