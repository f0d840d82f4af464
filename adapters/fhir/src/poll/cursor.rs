//! The poll's cursors: where each resource type's search resumes, and the rule that moves it.
//!
//! A [`Lane`] is one resource type's window of resources handed to the hub (or skipped) in
//! search order. Each waits there until it is settled; the cursor then moves over the settled
//! prefix only, to the newest `lastUpdated` in it, so a resource settled ahead of an earlier one
//! never carries the cursor past the earlier one. [`CursorStore`] keeps the cursor across
//! restarts (the hub implements it over its store).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::DateTime;
use reqwest::Url;

use crate::config::PolledResource;

/// Why a cursor could not be loaded or saved (the hub's store is unavailable, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor store: {0}")]
pub struct CursorError(pub String);

/// Where a poll source keeps its cursors: the hub implements it over its store.
#[async_trait]
pub trait CursorStore: Send + Sync {
    /// The saved cursor of `source_id`'s `resource_type`, if any.
    async fn load(
        &self,
        source_id: &str,
        resource_type: &str,
    ) -> Result<Option<String>, CursorError>;
    /// Saves the cursor (a FHIR instant: the newest settled `meta.lastUpdated`).
    async fn save(
        &self,
        source_id: &str,
        resource_type: &str,
        cursor: &str,
    ) -> Result<(), CursorError>;
}

/// Cursors in memory: for tests, and for a source that should start over on every restart.
#[derive(Debug, Default)]
pub struct MemoryCursorStore(Mutex<HashMap<(String, String), String>>);

impl MemoryCursorStore {
    /// The cursor saved for `source_id`'s `resource_type`.
    pub fn get(&self, source_id: &str, resource_type: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(source_id.to_owned(), resource_type.to_owned()))
            .cloned()
    }
}

#[async_trait]
impl CursorStore for MemoryCursorStore {
    async fn load(
        &self,
        source_id: &str,
        resource_type: &str,
    ) -> Result<Option<String>, CursorError> {
        Ok(self.get(source_id, resource_type))
    }

    async fn save(
        &self,
        source_id: &str,
        resource_type: &str,
        cursor: &str,
    ) -> Result<(), CursorError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(
            (source_id.to_owned(), resource_type.to_owned()),
            cursor.to_owned(),
        );
        Ok(())
    }
}

/// One resource handed out (or skipped), waiting for the cursor to pass it.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) seq: u64,
    pub(super) last_updated: Option<String>,
    pub(super) message_id: Option<String>,
    pub(super) settled: bool,
}

/// One resource type's search and cursor.
#[derive(Debug)]
pub(super) struct Lane {
    pub(super) resource: PolledResource,
    /// The newest settled `lastUpdated`: where the next search starts.
    pub(super) cursor: Option<String>,
    /// Whether `cursor` has been read from the store yet.
    pub(super) loaded: bool,
    /// Bumped when the hub was unavailable: settlements of older inputs no longer count, and
    /// their queued inputs are dropped.
    pub(super) generation: u64,
    pub(super) next_seq: u64,
    pub(super) window: VecDeque<Slot>,
    /// Message ids settled at exactly `cursor`: a `ge` search returns them again.
    pub(super) at_cursor: HashSet<String>,
    /// Whether this poll still has pages to read for this type.
    pub(super) active: bool,
    /// Whether this poll's first page has been read (then `next_page` is the rest).
    pub(super) started: bool,
    pub(super) next_page: Option<Url>,
}

impl Lane {
    pub(super) fn new(resource: PolledResource) -> Self {
        Self {
            resource,
            cursor: None,
            loaded: false,
            generation: 0,
            next_seq: 0,
            window: VecDeque::new(),
            at_cursor: HashSet::new(),
            active: false,
            started: false,
            next_page: None,
        }
    }

    /// Adds a resource in search order; `settled` for one that never goes to the hub.
    pub(super) fn push(
        &mut self,
        last_updated: Option<String>,
        message_id: Option<String>,
        settled: bool,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.window.push_back(Slot {
            seq,
            last_updated,
            message_id,
            settled,
        });
        seq
    }

    /// Moves the cursor over every settled resource at the front of the window. Returns the new
    /// cursor if it moved.
    pub(super) fn fold(&mut self) -> Option<String> {
        let mut moved = false;
        while self.window.front().is_some_and(|s| s.settled) {
            let slot = self.window.pop_front().expect("front exists");
            let Some(at) = slot.last_updated else {
                continue;
            };
            match self.cursor.as_deref().map(|c| compare(&at, c)) {
                Some(std::cmp::Ordering::Less) => {}
                Some(std::cmp::Ordering::Equal) => {
                    self.at_cursor.extend(slot.message_id);
                }
                _ => {
                    self.cursor = Some(at);
                    self.at_cursor = slot.message_id.into_iter().collect();
                    moved = true;
                }
            }
        }
        if moved { self.cursor.clone() } else { None }
    }

    /// Whether `message_id` at `last_updated` already settled at the cursor.
    pub(super) fn seen(&self, last_updated: Option<&str>, message_id: Option<&str>) -> bool {
        Settled {
            cursor: self.cursor.clone(),
            at_cursor: self.at_cursor.clone(),
        }
        .contains(last_updated, message_id)
    }

    /// The hub could not commit: forget what is in flight and start again from the cursor.
    pub(super) fn rewind(&mut self) {
        self.generation += 1;
        self.window.clear();
        self.active = false;
        self.started = false;
        self.next_page = None;
    }
}

/// What a lane had settled when a page read started: a `ge` search returns the resources at
/// the cursor again, and those need no Patient read.
#[derive(Debug, Clone, Default)]
pub(super) struct Settled {
    pub(super) cursor: Option<String>,
    pub(super) at_cursor: HashSet<String>,
}

impl Settled {
    pub(super) fn contains(&self, last_updated: Option<&str>, message_id: Option<&str>) -> bool {
        match (last_updated, message_id, self.cursor.as_deref()) {
            (Some(at), Some(mid), Some(cursor)) => {
                compare(at, cursor) == std::cmp::Ordering::Equal && self.at_cursor.contains(mid)
            }
            _ => false,
        }
    }
}

/// Compares two FHIR instants by time (`.000Z` and `Z` are the same instant), falling back to
/// the text when one does not parse.
pub(super) fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane() -> Lane {
        Lane::new(PolledResource::ServiceRequest)
    }

    #[test]
    fn the_cursor_moves_only_over_a_settled_prefix() {
        let mut l = lane();
        let a = l.push(Some("2026-01-01T00:00:01Z".into()), Some("a".into()), false);
        let b = l.push(Some("2026-01-01T00:00:02Z".into()), Some("b".into()), false);
        let settle = |l: &mut Lane, seq| {
            l.window.iter_mut().find(|s| s.seq == seq).unwrap().settled = true;
            l.fold()
        };
        // b settles first: nothing moves until a has.
        assert_eq!(settle(&mut l, b), None);
        assert_eq!(l.cursor, None);
        assert_eq!(settle(&mut l, a).as_deref(), Some("2026-01-01T00:00:02Z"));
        assert!(l.window.is_empty());
    }

    #[test]
    fn skipped_resources_move_the_cursor_with_their_neighbours() {
        let mut l = lane();
        let a = l.push(Some("2026-01-01T00:00:01Z".into()), Some("a".into()), false);
        l.push(
            Some("2026-01-01T00:00:03Z".into()),
            Some("skipped".into()),
            true,
        );
        l.window.iter_mut().find(|s| s.seq == a).unwrap().settled = true;
        assert_eq!(l.fold().as_deref(), Some("2026-01-01T00:00:03Z"));
    }

    #[test]
    fn resources_settled_at_the_cursor_are_recognised_when_read_again() {
        let mut l = lane();
        l.push(
            Some("2026-01-01T00:00:01.000Z".into()),
            Some("a".into()),
            true,
        );
        l.push(Some("2026-01-01T00:00:01Z".into()), Some("b".into()), true);
        assert_eq!(l.fold().as_deref(), Some("2026-01-01T00:00:01.000Z"));
        assert!(l.seen(Some("2026-01-01T00:00:01Z"), Some("a")));
        assert!(l.seen(Some("2026-01-01T00:00:01Z"), Some("b")));
        assert!(!l.seen(Some("2026-01-01T00:00:01Z"), Some("c")));
        assert!(!l.seen(Some("2026-01-01T00:00:02Z"), Some("a")));
    }

    #[test]
    fn a_rewind_forgets_what_was_in_flight() {
        let mut l = lane();
        l.cursor = Some("2026-01-01T00:00:00Z".into());
        l.push(Some("2026-01-01T00:00:05Z".into()), Some("a".into()), false);
        l.rewind();
        assert_eq!(l.generation, 1);
        assert!(l.window.is_empty());
        assert_eq!(l.cursor.as_deref(), Some("2026-01-01T00:00:00Z"));
    }
}
