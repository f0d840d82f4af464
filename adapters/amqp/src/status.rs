//! Whether an AMQP source or sink is connected, for `/readyz` and metrics.
//!
//! The answer has two parts. lapin recovers a lost connection by itself, in the background, and
//! keeps its own connection and channel state; the handle reads that live, so it turns to
//! `Reconnecting` the moment lapin notices a broker restart, even if nobody is calling the
//! source. When lapin gives up and the adapter opens a new connection itself, the handle says
//! `Reconnecting` until that connection is in place, and `Closed` once the adapter was closed.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::{Channel, ChannelStatus, Connection, ConnectionStatus};

/// How long lapin's own recovery may go on before the adapter replaces the connection itself.
///
/// lapin retries TCP 16 times with the backoff set in [`crate::connection`] (at most about 70 s in
/// all) and then stops without changing the connection's state, so only time tells that it gave
/// up.
pub(crate) const LAPIN_RECOVERY_GRACE: Duration = Duration::from_secs(120);

/// The state of an adapter's link to its broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected, with a usable channel.
    Connected,
    /// The connection or channel was lost and is being re-established.
    Reconnecting,
    /// The adapter was closed; it will not reconnect.
    Closed,
}

/// A cheap, cloneable view of one adapter's [`ConnectionState`].
#[derive(Clone, Default)]
pub struct StatusHandle(Arc<Inner>);

#[derive(Default)]
struct Inner {
    closed: AtomicBool,
    replacing: AtomicBool,
    link: Mutex<Option<(ConnectionStatus, ChannelStatus)>>,
}

impl StatusHandle {
    /// The current state.
    pub fn state(&self) -> ConnectionState {
        if self.0.closed.load(Ordering::Acquire) {
            return ConnectionState::Closed;
        }
        if self.0.replacing.load(Ordering::Acquire) {
            return ConnectionState::Reconnecting;
        }
        let link = self.0.link.lock().unwrap_or_else(|e| e.into_inner());
        match &*link {
            Some((connection, channel)) if connection.connected() && channel.connected() => {
                ConnectionState::Connected
            }
            _ => ConnectionState::Reconnecting,
        }
    }

    /// Whether the adapter is connected now.
    pub fn connected(&self) -> bool {
        self.state() == ConnectionState::Connected
    }

    /// Follows lapin's state for this connection and channel from now on.
    pub(crate) fn watch(&self, connection: &Connection, channel: &Channel) {
        *self.0.link.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((connection.status().clone(), channel.status().clone()));
        self.0.replacing.store(false, Ordering::Release);
    }

    /// The adapter is replacing its connection itself.
    pub(crate) fn set_replacing(&self) {
        self.0.replacing.store(true, Ordering::Release);
    }

    pub(crate) fn set_closed(&self) {
        self.0.closed.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }
}

impl fmt::Debug for StatusHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StatusHandle").field(&self.state()).finish()
    }
}

/// What an adapter should do about its connection, judged from lapin's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Connected: use it.
    Healthy,
    /// lapin is recovering it: wait, or answer "retry later".
    Recovering,
    /// Closed, failed, or recovering for longer than [`LAPIN_RECOVERY_GRACE`]: replace it.
    Dead,
}

/// Judges `connection`, remembering in `recovering_since` when recovery was first seen.
pub(crate) fn health(connection: &Connection, recovering_since: &mut Option<Instant>) -> Health {
    let status = connection.status();
    if status.connected() {
        *recovering_since = None;
        return Health::Healthy;
    }
    if status.reconnecting() || status.connecting() {
        let since = *recovering_since.get_or_insert_with(Instant::now);
        if since.elapsed() > LAPIN_RECOVERY_GRACE {
            return Health::Dead;
        }
        return Health::Recovering;
    }
    Health::Dead
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_with_no_connection_yet_is_reconnecting_and_closing_wins() {
        let handle = StatusHandle::default();
        assert_eq!(handle.state(), ConnectionState::Reconnecting);
        assert!(!handle.connected());
        let clone = handle.clone();
        handle.set_closed();
        assert_eq!(clone.state(), ConnectionState::Closed);
        assert_eq!(format!("{clone:?}"), "StatusHandle(Closed)");
    }
}
