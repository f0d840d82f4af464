//! The Kafka source against a real Kafka-protocol broker (tansu in development; see `common`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestTopic, broker, committed_offset, produce, producer, unique, within};
use throughline_adapter_kafka::{KafkaConnectError, KafkaSource, KafkaSourceConfig};
use throughline_contracts::adapter::{InputOutcome, Source, SourceInput};
use tokio::sync::watch;
use uuid::Uuid;

fn committed() -> InputOutcome {
    InputOutcome::Committed {
        event_ids: vec![Uuid::now_v7()],
        duplicate: false,
    }
}

fn quarantined() -> InputOutcome {
    InputOutcome::Quarantined {
        quarantine_id: Uuid::now_v7(),
        step: "validate".to_owned(),
        problems: Vec::new(),
    }
}

fn unavailable() -> InputOutcome {
    InputOutcome::Unavailable {
        reason: "the store is unavailable".to_owned(),
    }
}

async fn source(topics: &[&str], group: &str) -> KafkaSource {
    KafkaSource::connect(
        "school-feed",
        &KafkaSourceConfig::new(broker(), topics.iter().copied(), group),
    )
    .await
    .expect("source connects")
}

async fn next(source: &mut KafkaSource) -> SourceInput {
    source.next().await.expect("the source yields an input")
}

fn body(input: &SourceInput) -> &str {
    std::str::from_utf8(&input.raw.body).unwrap()
}

#[tokio::test]
async fn yields_records_in_partition_order_with_message_ids() {
    within(async {
        let topic = TestTopic::create(2).await;
        let producer = producer();
        for i in 0..3 {
            produce(
                &producer,
                &topic.name,
                0,
                &format!("p0-{i}"),
                Some("text/csv"),
            )
            .await;
            produce(&producer, &topic.name, 1, &format!("p1-{i}"), None).await;
        }
        let mut source = source(&[&topic.name], &unique("group")).await;

        let mut seen: Vec<Vec<(String, String)>> = vec![Vec::new(), Vec::new()];
        for _ in 0..6 {
            let input = next(&mut source).await;
            assert_eq!(input.raw.source_id, "school-feed");
            let body = body(&input).to_owned();
            let partition: usize = if body.starts_with("p0") { 0 } else { 1 };
            let expected_type = (partition == 0).then(|| "text/csv".to_owned());
            assert_eq!(input.raw.content_type, expected_type);
            seen[partition].push((body, input.raw.message_id.clone().unwrap()));
            input.acknowledger.settle(&committed()).await;
        }
        for (partition, records) in seen.iter().enumerate() {
            let expected: Vec<(String, String)> = (0..3)
                .map(|i| {
                    (
                        format!("p{partition}-{i}"),
                        format!("{}/{partition}/{i}", topic.name),
                    )
                })
                .collect();
            assert_eq!(records, &expected);
        }
        assert!(source.status_handle().connected());
        source.close().await.expect("close commits");
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn a_new_source_in_the_group_resumes_after_the_last_settled_input() {
    within(async {
        let topic = TestTopic::create(1).await;
        let producer = producer();
        for i in 0..6 {
            produce(&producer, &topic.name, 0, &format!("m{i}"), None).await;
        }
        let group = unique("group");

        let mut first = source(&[&topic.name], &group).await;
        for (i, outcome) in [committed(), quarantined(), committed()].iter().enumerate() {
            let input = next(&mut first).await;
            assert_eq!(body(&input), format!("m{i}"));
            input.acknowledger.settle(outcome).await;
        }
        // Read but never settled: must not be committed, so it is not skipped.
        let unsettled = next(&mut first).await;
        assert_eq!(body(&unsettled), "m3");
        first.close().await.expect("close commits");
        drop(unsettled);
        assert_eq!(committed_offset(&group, &topic.name, 0), Some(3));

        let mut second = source(&[&topic.name], &group).await;
        for i in 3..6 {
            let input = next(&mut second).await;
            assert_eq!(body(&input), format!("m{i}"));
            assert_eq!(input.raw.message_id, Some(format!("{}/0/{i}", topic.name)));
            input.acknowledger.settle(&committed()).await;
        }
        second.close().await.expect("close commits");
        assert_eq!(committed_offset(&group, &topic.name, 0), Some(6));
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn unavailable_yields_the_same_record_again() {
    within(async {
        let topic = TestTopic::create(1).await;
        let producer = producer();
        for i in 0..3 {
            produce(&producer, &topic.name, 0, &format!("m{i}"), None).await;
        }
        let mut source = source(&[&topic.name], &unique("group")).await;

        let input = next(&mut source).await;
        assert_eq!(body(&input), "m0");
        input.acknowledger.settle(&unavailable()).await;

        let again = next(&mut source).await;
        assert_eq!(body(&again), "m0");
        assert_eq!(again.raw.message_id, Some(format!("{}/0/0", topic.name)));
        again.acknowledger.settle(&committed()).await;

        let input = next(&mut source).await;
        assert_eq!(body(&input), "m1");
        input.acknowledger.settle(&unavailable()).await;
        let again = next(&mut source).await;
        assert_eq!(body(&again), "m1");
        again.acknowledger.settle(&committed()).await;

        assert_eq!(body(&next(&mut source).await), "m2");
        source.close().await.expect("close commits");
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn an_input_dropped_unsettled_is_yielded_again() {
    within(async {
        let topic = TestTopic::create(1).await;
        let producer = producer();
        for i in 0..2 {
            produce(&producer, &topic.name, 0, &format!("m{i}"), None).await;
        }
        let mut source = source(&[&topic.name], &unique("group")).await;

        drop(next(&mut source).await);
        let again = next(&mut source).await;
        assert_eq!(body(&again), "m0");
        again.acknowledger.settle(&committed()).await;
        assert_eq!(body(&next(&mut source).await), "m1");
        source.close().await.expect("close commits");
        topic.delete().await;
    })
    .await;
}

type Seen = Arc<Mutex<Vec<(i32, i64, &'static str)>>>;

/// The partition and offset in a message id (`{topic}/{partition}/{offset}`).
fn position(input: &SourceInput) -> (i32, i64) {
    let id = input.raw.message_id.as_deref().unwrap();
    let mut parts = id.rsplitn(3, '/');
    let offset = parts.next().unwrap().parse().unwrap();
    let partition = parts.next().unwrap().parse().unwrap();
    (partition, offset)
}

/// Runs a source the way the hub does (next, settle `Committed`, next...), recording what it
/// was given, until `stop` turns true.
async fn consume_until(
    mut source: KafkaSource,
    who: &'static str,
    seen: Seen,
    mut stop: watch::Receiver<bool>,
) -> KafkaSource {
    loop {
        tokio::select! {
            input = source.next() => {
                let input = input.expect("the source yields an input");
                let (partition, offset) = position(&input);
                seen.lock().unwrap().push((partition, offset, who));
                input.acknowledger.settle(&committed()).await;
            }
            _ = stop.changed() => return source,
        }
    }
}

#[tokio::test]
async fn a_rebalance_hands_over_partitions_without_rereading_settled_inputs() {
    within(async {
        let topic = TestTopic::create(2).await;
        let producer = producer();
        let group = unique("group");
        let seen: Seen = Arc::default();
        let mut produced = Vec::new();
        for partition in 0..2 {
            let offset = produce(&producer, &topic.name, partition, "before", None).await;
            produced.push((partition, offset));
        }

        // The first member owns both partitions and settles both records before anyone joins.
        let mut first = source(&[&topic.name], &group).await;
        for _ in 0..2 {
            let input = next(&mut first).await;
            let (partition, offset) = position(&input);
            seen.lock().unwrap().push((partition, offset, "first"));
            input.acknowledger.settle(&committed()).await;
        }

        // A second member joins. Both keep consuming while records keep arriving, until the
        // group has rebalanced and the second member has been given something.
        let second = source(&[&topic.name], &group).await;
        let (stop, stopped) = watch::channel(false);
        let first_task = tokio::spawn(consume_until(first, "first", seen.clone(), stopped.clone()));
        let second_task = tokio::spawn(consume_until(second, "second", seen.clone(), stopped));
        let second_has_some = || {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(_, _, who)| *who == "second")
        };
        while !second_has_some() {
            for partition in 0..2 {
                let offset = produce(&producer, &topic.name, partition, "during", None).await;
                produced.push((partition, offset));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        while seen.lock().unwrap().len() < produced.len() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Give a wrongly re-read record the chance to show up before stopping.
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.send(true).unwrap();
        let (first, second) = (first_task.await.unwrap(), second_task.await.unwrap());
        first.close().await.expect("close commits");
        second.close().await.expect("close commits");

        let seen = seen.lock().unwrap().clone();
        let mut records: Vec<(i32, i64)> = seen.iter().map(|(p, o, _)| (*p, *o)).collect();
        records.sort();
        produced.sort();
        assert_eq!(records, produced, "every record exactly once: {seen:?}");
        for partition in 0..2 {
            let count = produced.iter().filter(|(p, _)| *p == partition).count() as i64;
            assert_eq!(
                committed_offset(&group, &topic.name, partition),
                Some(count)
            );
        }
        topic.delete().await;
    })
    .await;
}

#[tokio::test]
async fn a_missing_topic_is_a_start_up_error_naming_it() {
    within(async {
        let topic = TestTopic::create(1).await;
        let missing = unique("throughline-missing");
        let error = KafkaSource::connect(
            "school-feed",
            &KafkaSourceConfig::new(broker(), [topic.name.as_str(), &missing], unique("group")),
        )
        .await
        .expect_err("a missing topic is a start-up error");
        assert_eq!(
            error,
            KafkaConnectError::MissingTopic {
                key: "topics",
                topic: missing.clone()
            }
        );
        assert!(error.to_string().contains(&missing), "{error}");
        topic.delete().await;
    })
    .await;
}
