//! Pauses: spans during which a statutory clock stands still.
//!
//! Why: the SEND Regulations excuse the local authority from a deadline while an exemption
//! applies (the child is away for four weeks or more, the institution is closed, exceptional
//! personal circumstances). Exemptions are recorded as they start and end, may overlap, and may
//! still be running, so this module turns the raw list into disjoint spans the deadline code can
//! add up without counting any time twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A span during which the clock is stopped, for example an exemption under the SEND
/// Regulations. `until: None` means the clock is still stopped, so there is no deadline yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// When the clock stopped.
    pub from: DateTime<Utc>,
    /// When the clock restarted, or `None` while it is still stopped.
    pub until: Option<DateTime<Utc>>,
}

/// The pauses that matter to a clock started at `clock_start`, clipped to start no earlier than
/// the clock, sorted, with overlapping or touching pauses merged into one. Time before the clock
/// started was never on the clock, so it cannot extend the deadline. A pause that ends before it
/// starts, or before the clock starts, covers no time and is dropped. An open pause absorbs every
/// pause that starts after it.
pub(super) fn merged(pauses: &[Pause], clock_start: DateTime<Utc>) -> Vec<Pause> {
    let mut clipped: Vec<Pause> = pauses
        .iter()
        .map(|p| Pause {
            from: p.from.max(clock_start),
            until: p.until,
        })
        .filter(|p| p.until.is_none_or(|until| until > p.from))
        .collect();
    clipped.sort_by_key(|p| p.from);

    let mut spans: Vec<Pause> = Vec::with_capacity(clipped.len());
    for pause in clipped {
        match spans.last_mut() {
            Some(last) if last.until.is_none_or(|until| pause.from <= until) => {
                last.until = match (last.until, pause.until) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => spans.push(pause),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("test instant")
    }

    fn closed(from: &str, until: &str) -> Pause {
        Pause {
            from: at(from),
            until: Some(at(until)),
        }
    }

    const START: &str = "2026-01-05T10:00:00Z";

    #[test]
    fn overlapping_and_touching_pauses_merge() {
        let pauses = [
            closed("2026-01-12T00:00:00Z", "2026-01-20T00:00:00Z"),
            closed("2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z"),
            closed("2026-01-20T00:00:00Z", "2026-01-21T00:00:00Z"),
            closed("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"),
        ];
        assert_eq!(
            merged(&pauses, at(START)),
            vec![
                closed("2026-01-10T00:00:00Z", "2026-01-21T00:00:00Z"),
                closed("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"),
            ]
        );
    }

    #[test]
    fn pauses_are_clipped_to_the_clock_start() {
        let pauses = [
            closed("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            closed("2026-01-01T00:00:00Z", "2026-01-07T10:00:00Z"),
        ];
        assert_eq!(
            merged(&pauses, at(START)),
            vec![closed(START, "2026-01-07T10:00:00Z")]
        );
    }

    #[test]
    fn backwards_pause_is_dropped() {
        let pauses = [closed("2026-01-20T00:00:00Z", "2026-01-10T00:00:00Z")];
        assert!(merged(&pauses, at(START)).is_empty());
    }

    #[test]
    fn open_pause_absorbs_later_pauses() {
        let open = Pause {
            from: at("2026-01-10T00:00:00Z"),
            until: None,
        };
        let pauses = [closed("2026-01-12T00:00:00Z", "2026-01-20T00:00:00Z"), open];
        assert_eq!(merged(&pauses, at(START)), vec![open]);
    }
}
