//! The Kafka sink against a real Kafka-protocol broker (tansu in development; see `common`).

mod common;

use common::{TestTopic, broker, read_all, within};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use serde_json::json;
use throughline_adapter_kafka::headers::header_str;
use throughline_adapter_kafka::{KafkaConnectError, KafkaSink, KafkaSinkConfig};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::{DeliveryOutcome, Sink};
use throughline_contracts::kind::EventKind;
use throughline_contracts::notification::Notification;
use uuid::Uuid;

fn notification(child_id: Uuid) -> Notification {
    let event_id = Uuid::now_v7();
    Notification {
        schema_version: 1,
        notification_id: Uuid::now_v7(),
        idempotency_key: format!("{event_id}/camhs-north"),
        recipient: AgencyId::parse("camhs-north").unwrap(),
        sharing_agreement: "north-isa-2026".to_owned(),
        event_id,
        kind: EventKind::ReferralMade,
        occurred_at: chrono::Utc::now(),
        source_agency: AgencyId::parse("st-marys-primary").unwrap(),
        child_id,
        subject: json!({ "given_name": "Amelia" }),
        payload: json!({ "reason": "worried about attendance" }),
    }
}

fn header<'a>(message: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    message.headers().and_then(|h| header_str(h, name))
}

async fn sink_for(topic: &TestTopic) -> KafkaSink {
    KafkaSink::connect(&KafkaSinkConfig::new(broker(), &topic.name))
        .await
        .expect("sink connects")
}

#[tokio::test]
async fn delivered_notification_is_on_the_topic_keyed_by_child_with_headers() {
    within(async {
        let topic = TestTopic::create(3).await;
        let sink = sink_for(&topic).await;
        assert!(sink.status_handle().connected());
        let sent = notification(Uuid::now_v7());

        assert_eq!(sink.deliver(&sent).await, DeliveryOutcome::Delivered);

        let records = read_all(&topic.name, 3, 1).await;
        let record = &records[0];
        assert_eq!(record.key(), Some(sent.child_id.to_string().as_bytes()));
        let received: Notification = serde_json::from_slice(record.payload().unwrap()).unwrap();
        assert_eq!(received, sent);
        assert_eq!(
            header(record, "throughline-event-id"),
            Some(sent.event_id.to_string().as_str())
        );
        assert_eq!(
            header(record, "throughline-event-kind"),
            Some(sent.kind.as_str())
        );
        assert_eq!(
            header(record, "idempotency-key"),
            Some(sent.idempotency_key.as_str())
        );
        assert_eq!(header(record, "throughline-schema-version"), Some("1"));
        assert_eq!(header(record, "content-type"), Some("application/json"));
        assert_eq!(header(record, "traceparent"), None, "an untraced attempt");
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn a_traced_attempt_carries_its_traceparent_header() {
    within(async {
        let topic = TestTopic::create(1).await;
        let sink = sink_for(&topic).await;
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        assert_eq!(
            sink.deliver_traced(&notification(Uuid::now_v7()), Some(traceparent))
                .await,
            DeliveryOutcome::Delivered
        );

        let records = read_all(&topic.name, 1, 1).await;
        assert_eq!(header(&records[0], "traceparent"), Some(traceparent));
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn one_childs_notifications_land_in_one_partition_in_order() {
    within(async {
        let topic = TestTopic::create(3).await;
        let sink = sink_for(&topic).await;
        let child = Uuid::now_v7();
        let others = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let mut childs_ids = Vec::new();
        for round in 0..4 {
            let mine = notification(child);
            childs_ids.push(mine.notification_id);
            assert_eq!(sink.deliver(&mine).await, DeliveryOutcome::Delivered);
            let other = notification(others[round % others.len()]);
            assert_eq!(sink.deliver(&other).await, DeliveryOutcome::Delivered);
        }

        let records = read_all(&topic.name, 3, 8).await;
        let mut childs: Vec<&OwnedMessage> = records
            .iter()
            .filter(|r| r.key() == Some(child.to_string().as_bytes()))
            .collect();
        assert_eq!(childs.len(), 4);
        let partition = childs[0].partition();
        assert!(childs.iter().all(|r| r.partition() == partition));
        childs.sort_by_key(|r| r.offset());
        let in_offset_order: Vec<Uuid> = childs
            .iter()
            .map(|r| {
                serde_json::from_slice::<Notification>(r.payload().unwrap())
                    .unwrap()
                    .notification_id
            })
            .collect();
        assert_eq!(in_offset_order, childs_ids);
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn connecting_to_a_missing_topic_fails_naming_it() {
    within(async {
        let missing = common::unique("throughline-missing");
        let error = KafkaSink::connect(&KafkaSinkConfig::new(broker(), &missing))
            .await
            .expect_err("a missing topic is a start-up error");
        assert_eq!(
            error,
            KafkaConnectError::MissingTopic {
                key: "topic",
                topic: missing.clone()
            }
        );
        assert!(error.to_string().contains(&missing), "{error}");
    })
    .await;
}
