//! The DfE Children in Need (CIN) census: the annual XML return in which a local authority's
//! children's social care reports every child in need, with their referrals, assessments, plans
//! and child protection plans. This crate reads one as a stream and turns each child into event
//! submissions. Reference: `docs/adapters/cin-census.md`.
//!
//! It reads the 2021 to 2026 shapes of the file (`GenderCurrent` or `Sex`, with or without
//! `AssessmentInternalReviewDate`, `PreProceedingsandFGDM` and the other later additions, which
//! are passed over). It reads from any [`BufRead`](std::io::BufRead) through
//! `throughline-safe-xml`, and holds one child at a time, so a county's census is read in memory
//! bounded by [`CinLimits`]. A bad child is rejected alone, with its raw XML for quarantine; a bad
//! or hostile file (a DTD, an entity, a limit exceeded) is refused as a whole.
//!
//! - [`config`]: [`CinLimits`], the reader's hard limits.
//! - [`reader`]: [`CinReader`], its [`ChildOutcome`]s and the [`FileReport`].
//! - [`header`]: [`CinHeader`], the collection and the returning local authority.
//! - [`error`]: [`CinError`], the file-level errors.
//! - `child` (private): reading one `Child` element.
//! - `mapping` (private): the CIN census → contracts mapping table, one child at a time.
//! - `fixture` (feature `fixtures`): a generator of realistic synthetic census files for tests.
//!
//! The XML layer, the walk through a file of records (the header, then one child at a time) and
//! the [`ChildOutcome`] are `throughline-safe-xml`, shared with the CTF adapter. This crate keeps
//! what is the census's: its element names, its header, a child's contents and their mapping.
#![forbid(unsafe_code)]

mod child;
pub mod config;
pub mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixture;
pub mod header;
mod mapping;
pub mod reader;

pub use config::{CinLimits, LimitsError};
pub use error::CinError;
pub use header::{CinHeader, CinSource};
pub use reader::{ChildOutcome, CinReader, FileReport};

/// The adapter's name, for [`EventSource::adapter`](throughline_contracts::event::EventSource).
pub const ADAPTER: &str = "cin-census";
