//! The exchanges, queues and bindings an AMQP source or sink declares at start-up.
//!
//! Declaring is idempotent in AMQP: declaring an exchange or queue that already exists with the
//! same properties does nothing, so every start (and every reopened channel) declares the whole
//! topology again rather than checking first. Declaring one that exists with *different*
//! properties (another kind, durability or dead-letter arguments) is refused by the broker; that
//! is reported at connect with the entity's config key, because it means the configuration and
//! the broker disagree and only a person can say which is right.
//!
//! Declarations are made on the channel the adapter then uses, so lapin replays them when it
//! recovers the connection after a broker restart (durable entities survive a restart anyway;
//! replaying matters for non-durable ones).

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};
use serde::Deserialize;

use crate::config::{AmqpConfigError, check_name};
use crate::error::{AmqpError, describe};

/// What to declare on the broker at start-up. Empty by default: the adapter then only uses
/// entities that already exist.
///
/// ```toml
/// [declare]
/// exchanges = [{ name = "throughline.dead-letter", kind = "fanout" }]
/// queues = [
///   { name = "referrals", dead_letter_exchange = "throughline.dead-letter" },
///   { name = "referrals.dead-letter" },
/// ]
/// bindings = [{ queue = "referrals.dead-letter", exchange = "throughline.dead-letter", routing_key = "" }]
/// ```
#[derive(Clone, Default, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    /// Exchanges to declare, in order, before the queues.
    #[serde(default)]
    pub exchanges: Vec<ExchangeConfig>,
    /// Queues to declare, in order, after the exchanges.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// Queue-to-exchange bindings to declare, in order, after the queues.
    #[serde(default)]
    pub bindings: Vec<BindingConfig>,
}

/// One exchange to declare.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// The exchange's name (1 to 255 bytes; names starting `amq.` are reserved by the broker).
    pub name: String,
    /// How the exchange routes: `direct`, `topic`, `fanout` or `headers`.
    pub kind: ExchangeKindConfig,
    /// Whether the exchange survives a broker restart (default `true`).
    #[serde(default = "default_true")]
    pub durable: bool,
}

/// The AMQP 0-9-1 exchange types RabbitMQ always has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeKindConfig {
    /// Routes to the queues bound with exactly the message's routing key.
    Direct,
    /// Routes by routing-key pattern (`*` one word, `#` zero or more words).
    Topic,
    /// Routes to every bound queue, ignoring the routing key.
    Fanout,
    /// Routes by message header values instead of the routing key.
    Headers,
}

impl ExchangeKindConfig {
    fn to_lapin(self) -> ExchangeKind {
        match self {
            Self::Direct => ExchangeKind::Direct,
            Self::Topic => ExchangeKind::Topic,
            Self::Fanout => ExchangeKind::Fanout,
            Self::Headers => ExchangeKind::Headers,
        }
    }
}

/// One queue to declare.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The queue's name (1 to 255 bytes; names starting `amq.` are reserved by the broker).
    pub name: String,
    /// Whether the queue survives a broker restart (default `true`). Persistent messages
    /// survive a restart only in a durable queue.
    #[serde(default = "default_true")]
    pub durable: bool,
    /// The exchange RabbitMQ dead-letters this queue's rejected or expired messages to
    /// (the `x-dead-letter-exchange` queue argument). None: no broker-side dead lettering.
    #[serde(default)]
    pub dead_letter_exchange: Option<String>,
    /// The routing key for broker-side dead letters (`x-dead-letter-routing-key`); the
    /// message's own routing key when absent. Only with `dead_letter_exchange`.
    #[serde(default)]
    pub dead_letter_routing_key: Option<String>,
}

/// One binding of a queue to an exchange.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingConfig {
    /// The queue that receives the routed messages.
    pub queue: String,
    /// The exchange the messages are published to.
    pub exchange: String,
    /// The binding key (a pattern for topic exchanges; ignored by fanout exchanges).
    #[serde(default)]
    pub routing_key: String,
}

fn default_true() -> bool {
    true
}

impl TopologyConfig {
    /// Checks names and combinations; `prefix` is the config key this topology sits under
    /// (`declare`), so errors name the full key (`declare.queues[1].name`).
    pub fn validate(&self, prefix: &str) -> Result<(), AmqpConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, exchange) in self.exchanges.iter().enumerate() {
            let key = format!("{prefix}.exchanges[{i}].name");
            check_declared_name(&key, &exchange.name)?;
            if !seen.insert(("exchange", exchange.name.as_str())) {
                return Err(AmqpConfigError::invalid(
                    key,
                    "declares the same exchange twice",
                ));
            }
        }
        for (i, queue) in self.queues.iter().enumerate() {
            let key = format!("{prefix}.queues[{i}]");
            check_declared_name(&format!("{key}.name"), &queue.name)?;
            if !seen.insert(("queue", queue.name.as_str())) {
                return Err(AmqpConfigError::invalid(
                    format!("{key}.name"),
                    "declares the same queue twice",
                ));
            }
            if let Some(exchange) = &queue.dead_letter_exchange {
                check_name(&format!("{key}.dead_letter_exchange"), exchange, true)?;
            }
            if let Some(routing_key) = &queue.dead_letter_routing_key {
                if queue.dead_letter_exchange.is_none() {
                    return Err(AmqpConfigError::invalid(
                        format!("{key}.dead_letter_routing_key"),
                        "is only meaningful with `dead_letter_exchange`",
                    ));
                }
                check_name(&format!("{key}.dead_letter_routing_key"), routing_key, true)?;
            }
        }
        for (i, binding) in self.bindings.iter().enumerate() {
            let key = format!("{prefix}.bindings[{i}]");
            check_name(&format!("{key}.queue"), &binding.queue, false)?;
            check_name(&format!("{key}.exchange"), &binding.exchange, false)?;
            check_name(&format!("{key}.routing_key"), &binding.routing_key, true)?;
        }
        Ok(())
    }

    /// Declares everything on `channel`: exchanges, then queues, then bindings. Assumes
    /// [`validate`](Self::validate) passed.
    pub(crate) async fn declare(&self, channel: &Channel, prefix: &str) -> Result<(), AmqpError> {
        for (i, exchange) in self.exchanges.iter().enumerate() {
            let options = ExchangeDeclareOptions {
                durable: exchange.durable,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    short(&exchange.name),
                    exchange.kind.to_lapin(),
                    options,
                    FieldTable::default(),
                )
                .await
                .map_err(|e| AmqpError::Declare {
                    key: format!("{prefix}.exchanges[{i}]"),
                    reason: describe(&e),
                })?;
        }
        for (i, queue) in self.queues.iter().enumerate() {
            let options = QueueDeclareOptions {
                durable: queue.durable,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(short(&queue.name), options, queue_arguments(queue))
                .await
                .map_err(|e| AmqpError::Declare {
                    key: format!("{prefix}.queues[{i}]"),
                    reason: describe(&e),
                })?;
        }
        for (i, binding) in self.bindings.iter().enumerate() {
            channel
                .queue_bind(
                    short(&binding.queue),
                    short(&binding.exchange),
                    short(&binding.routing_key),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| AmqpError::Declare {
                    key: format!("{prefix}.bindings[{i}]"),
                    reason: describe(&e),
                })?;
        }
        Ok(())
    }
}

/// The queue's `x-dead-letter-*` arguments, when configured.
fn queue_arguments(queue: &QueueConfig) -> FieldTable {
    let mut arguments = FieldTable::default();
    if let Some(exchange) = &queue.dead_letter_exchange {
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(exchange.as_str().into()),
        );
    }
    if let Some(routing_key) = &queue.dead_letter_routing_key {
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(routing_key.as_str().into()),
        );
    }
    arguments
}

/// A name to declare: non-empty, and not in the broker's reserved `amq.` namespace.
fn check_declared_name(key: &str, name: &str) -> Result<(), AmqpConfigError> {
    check_name(key, name, false)?;
    if name.starts_with("amq.") {
        return Err(AmqpConfigError::invalid(
            key,
            "names starting `amq.` are reserved by the broker and cannot be declared",
        ));
    }
    Ok(())
}

/// A validated name as an AMQP short string. Validation has bounded it to 255 bytes.
pub(crate) fn short(name: &str) -> ShortString {
    ShortString::try_new(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> TopologyConfig {
        TopologyConfig {
            exchanges: vec![ExchangeConfig {
                name: "dlx".into(),
                kind: ExchangeKindConfig::Fanout,
                durable: true,
            }],
            queues: vec![QueueConfig {
                name: "inputs".into(),
                durable: true,
                dead_letter_exchange: Some("dlx".into()),
                dead_letter_routing_key: Some("inputs".into()),
            }],
            bindings: vec![BindingConfig {
                queue: "inputs.dead".into(),
                exchange: "dlx".into(),
                routing_key: String::new(),
            }],
        }
    }

    #[test]
    fn a_consistent_topology_is_valid() {
        assert_eq!(topology().validate("declare"), Ok(()));
        assert_eq!(TopologyConfig::default().validate("declare"), Ok(()));
    }

    #[test]
    fn reserved_and_empty_names_are_rejected_with_their_key() {
        let mut t = topology();
        t.exchanges[0].name = "amq.direct".into();
        let err = t.validate("declare").unwrap_err();
        assert_eq!(err.key(), "declare.exchanges[0].name");
        assert!(err.to_string().contains("reserved"), "{err}");

        let mut t = topology();
        t.queues[0].name = String::new();
        assert_eq!(
            t.validate("declare").unwrap_err().key(),
            "declare.queues[0].name"
        );

        let mut t = topology();
        t.bindings[0].exchange = String::new();
        assert_eq!(
            t.validate("declare").unwrap_err().key(),
            "declare.bindings[0].exchange"
        );
    }

    #[test]
    fn a_dead_letter_routing_key_needs_a_dead_letter_exchange() {
        let mut t = topology();
        t.queues[0].dead_letter_exchange = None;
        let err = t.validate("declare").unwrap_err();
        assert_eq!(err.key(), "declare.queues[0].dead_letter_routing_key");
    }

    #[test]
    fn duplicate_declarations_are_rejected() {
        let mut t = topology();
        t.queues.push(t.queues[0].clone());
        assert_eq!(
            t.validate("declare").unwrap_err().key(),
            "declare.queues[1].name"
        );
    }

    #[test]
    fn names_longer_than_a_short_string_are_rejected() {
        let mut t = topology();
        t.queues[0].name = "q".repeat(256);
        let err = t.validate("declare").unwrap_err();
        assert!(err.to_string().contains("255"), "{err}");
    }

    #[test]
    fn queue_arguments_carry_the_dead_letter_settings() {
        let args = queue_arguments(&topology().queues[0]);
        assert_eq!(
            args.inner().get("x-dead-letter-exchange"),
            Some(&AMQPValue::LongString("dlx".into()))
        );
        assert_eq!(
            args.inner().get("x-dead-letter-routing-key"),
            Some(&AMQPValue::LongString("inputs".into()))
        );
        let plain = QueueConfig {
            name: "q".into(),
            durable: true,
            dead_letter_exchange: None,
            dead_letter_routing_key: None,
        };
        assert!(queue_arguments(&plain).inner().is_empty());
    }

    #[test]
    fn deserialises_with_defaults_and_lowercase_kinds() {
        let t: TopologyConfig = serde_json::from_value(serde_json::json!({
            "exchanges": [{ "name": "x", "kind": "topic" }],
            "queues": [{ "name": "q" }],
            "bindings": [{ "queue": "q", "exchange": "x", "routing_key": "a.#" }],
        }))
        .unwrap();
        assert!(t.exchanges[0].durable);
        assert_eq!(t.exchanges[0].kind, ExchangeKindConfig::Topic);
        assert!(t.queues[0].durable);
        assert!(
            serde_json::from_value::<TopologyConfig>(serde_json::json!({
                "exchanges": [{ "name": "x", "kind": "x-delayed" }],
            }))
            .is_err()
        );
    }
}
