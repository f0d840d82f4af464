//! A `BufRead` between the caller's input and the XML parser that enforces size limits *before*
//! bytes are buffered, and keeps a copy of the bytes of the record (a pupil, a child) being read.
//!
//! Why here and not after each event: quick-xml gathers a whole text node or tag into its buffer
//! before returning it, so a check on the finished event would come after a gigabyte of text had
//! already been buffered. The tap hands the parser at most one byte more than the per-event
//! budget and then fails the read, so memory is bounded by the budget whatever the input.
//!
//! The copy is how a rejected record's raw XML reaches quarantine without the file being held in
//! memory or read twice: the parser consumes exactly the bytes of each event (it never reads
//! ahead past what it consumes), so the bytes consumed from the `<Pupil>` event to the
//! `</Pupil>` event are exactly that element as written.

use std::io::{self, BufRead, Read};

pub(crate) struct Tap<R> {
    inner: R,
    /// Bytes consumed since the current event began.
    event_bytes: usize,
    /// Most bytes one event may consume.
    event_budget: usize,
    /// The copy being recorded, if any.
    record: Option<Vec<u8>>,
    record_limit: usize,
    /// The copy would have exceeded `record_limit`; it has stopped growing.
    record_overflowed: bool,
}

/// The error the tap returns once an event is over budget; the caller reports it as a limit.
#[derive(Debug)]
struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("text or markup longer than the limit")
    }
}

impl std::error::Error for OverBudget {}

impl<R: BufRead> Tap<R> {
    pub(crate) fn new(inner: R, event_budget: usize, record_limit: usize) -> Self {
        Self {
            inner,
            event_bytes: 0,
            event_budget,
            record: None,
            record_limit,
            record_overflowed: false,
        }
    }

    /// Marks the start of a new event: its budget starts afresh.
    pub(crate) fn start_event(&mut self) {
        self.event_bytes = 0;
    }

    /// Whether the event just read consumed more than the budget.
    pub(crate) fn event_over_budget(&self) -> bool {
        self.event_bytes > self.event_budget
    }

    /// Starts (or restarts) recording: the copy is emptied.
    pub(crate) fn record_from_here(&mut self) {
        let mut record = self.record.take().unwrap_or_default();
        record.clear();
        self.record = Some(record);
        self.record_overflowed = false;
    }

    /// Stops recording and returns the copy.
    pub(crate) fn take_record(&mut self) -> Vec<u8> {
        self.record.take().unwrap_or_default()
    }

    pub(crate) fn record_overflowed(&self) -> bool {
        self.record_overflowed
    }

    /// Whether a read error came from this tap's budget rather than from the input.
    pub(crate) fn is_over_budget(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|e| e.is::<OverBudget>())
    }
}

impl<R: BufRead> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tap<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.event_bytes > self.event_budget {
            return Err(io::Error::other(OverBudget));
        }
        // One byte past the budget may be seen (and even consumed), so that an event of exactly
        // the budget can find its end; consuming it is caught by `event_over_budget`.
        let allowed = self.event_budget - self.event_bytes + 1;
        let available = self.inner.fill_buf()?;
        let n = available.len().min(allowed);
        Ok(&available[..n])
    }

    fn consume(&mut self, amount: usize) {
        if let Some(record) = self.record.as_mut()
            && amount > 0
        {
            if self.record_overflowed || record.len() + amount > self.record_limit {
                self.record_overflowed = true;
            } else {
                // The bytes being consumed are still in the inner buffer: `fill_buf` returns
                // them again without reading.
                match self.inner.fill_buf() {
                    Ok(available) if available.len() >= amount => {
                        record.extend_from_slice(&available[..amount]);
                    }
                    _ => self.record_overflowed = true,
                }
            }
        }
        self.event_bytes = self.event_bytes.saturating_add(amount);
        self.inner.consume(amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_reads_once_an_event_is_over_budget() {
        let mut tap = Tap::new(&b"abcdefghij"[..], 4, 100);
        tap.start_event();
        assert_eq!(tap.fill_buf().unwrap(), b"abcde");
        tap.consume(5);
        assert!(tap.event_over_budget());
        let err = tap.fill_buf().unwrap_err();
        assert!(Tap::<&[u8]>::is_over_budget(&err));
        tap.start_event();
        assert_eq!(tap.fill_buf().unwrap(), b"fghij");
    }

    #[test]
    fn records_exactly_the_consumed_bytes_up_to_its_limit() {
        let mut tap = Tap::new(&b"<a>xy</a>"[..], 100, 5);
        tap.consume(3);
        tap.record_from_here();
        tap.consume(2);
        tap.consume(4);
        assert!(tap.record_overflowed());
        tap.record_from_here();
        assert!(!tap.record_overflowed());
        assert_eq!(tap.take_record(), b"");

        let mut tap = Tap::new(&b"<a>xy</a>"[..], 100, 100);
        tap.consume(3);
        tap.record_from_here();
        tap.consume(6);
        assert_eq!(tap.take_record(), b"xy</a>");
    }
}
