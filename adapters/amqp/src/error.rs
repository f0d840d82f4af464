//! What can go wrong connecting an AMQP source or sink, and how a broker error is described.
//!
//! Messages name the config key involved and say what the broker answered. They never carry a
//! message body (child data) or the connection URL (it holds a password).

use lapin::ErrorKind;

use crate::config::AmqpConfigError;

/// Why an AMQP source or sink could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmqpError {
    /// The configuration itself is invalid.
    #[error(transparent)]
    Config(#[from] AmqpConfigError),
    /// The broker could not be reached, or refused the connection (e.g. bad credentials).
    #[error("`connection.url`: could not connect to the broker: {reason}")]
    Connect { reason: String },
    /// An exchange, queue or binding under `declare` was refused, typically because it exists
    /// with different properties.
    #[error("`{key}`: the broker refused the declaration: {reason}")]
    Declare { key: String, reason: String },
    /// A configured exchange or queue does not exist on the broker.
    #[error("`{key}`: {reason}")]
    Missing { key: String, reason: String },
    /// The broker refused an operation the adapter needs (opening a channel, setting the
    /// prefetch, consuming).
    #[error("the broker refused {operation}: {reason}")]
    Broker {
        operation: &'static str,
        reason: String,
    },
}

impl AmqpError {
    /// The config key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Config(e) => Some(e.key()),
            Self::Connect { .. } => Some("connection.url"),
            Self::Declare { key, .. } | Self::Missing { key, .. } => Some(key),
            Self::Broker { .. } => None,
        }
    }

    pub(crate) fn broker(operation: &'static str, error: &lapin::Error) -> Self {
        Self::Broker {
            operation,
            reason: describe(error),
        }
    }
}

/// A short description of a lapin error, fit for a reason or a log line: the broker's reply
/// code and text, the I/O error, or the state that made the operation impossible. Never a
/// payload, never the URL.
pub(crate) fn describe(error: &lapin::Error) -> String {
    match error.kind() {
        ErrorKind::ProtocolError(amqp) => {
            format!("{} {}", amqp.get_id(), amqp.get_message())
        }
        ErrorKind::IOError(io) => format!("I/O error: {io}"),
        ErrorKind::InvalidChannelState(state, _) => format!("channel is {state:?}"),
        ErrorKind::InvalidConnectionState(state) => format!("connection is {state:?}"),
        ErrorKind::InvalidChannel(_) => "channel no longer exists".to_owned(),
        ErrorKind::MissingHeartbeatError => "no heartbeat from the broker".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_reported_for_errors_about_one_key() {
        assert_eq!(
            AmqpError::Connect {
                reason: "refused".into()
            }
            .key(),
            Some("connection.url")
        );
        assert_eq!(
            AmqpError::Missing {
                key: "exchange".into(),
                reason: "no such exchange".into()
            }
            .key(),
            Some("exchange")
        );
        let config: AmqpError = AmqpConfigError::invalid("prefetch", "must be positive").into();
        assert_eq!(config.key(), Some("prefetch"));
        assert_eq!(config.to_string(), "`prefetch`: must be positive");
    }

    #[test]
    fn io_and_state_errors_are_described_briefly() {
        let io: lapin::Error = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert!(describe(&io).starts_with("I/O error"), "{}", describe(&io));
        let heartbeat: lapin::Error = ErrorKind::MissingHeartbeatError.into();
        assert_eq!(describe(&heartbeat), "no heartbeat from the broker");
    }
}
