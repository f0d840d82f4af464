//! Deadlines for handoffs between agencies: referrals, transfers, closures and the statutory SEND
//! steps.
//!
//! Two kinds of clock run through Throughline, and this crate exists so that every part of the hub
//! counts them the same way:
//!
//! - Handoff agreements between agencies in England and Wales count **working days**: Monday to
//!   Friday, minus bank holidays, with the day the referral arrived never counting. A referral
//!   received on a Friday with two working days to respond is due on Tuesday.
//! - Statutory SEND deadlines count **calendar** weeks, days and months, or name a fixed date
//!   (the phase-transfer deadlines of 15 February and 31 March), and can be paused by an
//!   exemption. See section 4 of the domain notes ("SEND statutory process (England): event types
//!   and SLA timers").
//!
//! Deadlines are days in London, so a day's deadline is the end of that day in London time,
//! returned as a UTC instant. London time is approximated by rule (see [`london`]) so the crate
//! needs no timezone database.
//!
//! The crate is pure arithmetic: no clock, no I/O, no configuration files. Callers pass in the
//! instant the clock started and any pauses, which keeps deadlines reproducible when events are
//! replayed.
#![forbid(unsafe_code)]

pub mod bank_holidays;
pub mod deadline;
pub mod london;
pub mod working_days;
pub mod working_hours;

pub use deadline::{AnnualDate, OutOfRange, Pause, Period, PeriodError, checked_due, due};
pub use working_days::WorkingCalendar;
pub use working_hours::{WorkingHours, WorkingHoursError};
