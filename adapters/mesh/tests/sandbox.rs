//! The MESH client against NHS England's real `mesh-sandbox` (PyPI), which each test starts on its
//! own loopback port with an in-memory store and full `NHSMESH` HMAC checking, so tests share no
//! state. `scripts/services` installs the sandbox; without it these tests fail with a message
//! saying so.
//!
//! The sandbox's pre-configured mailboxes are X26ABC1, X26ABC2 and X26ABC3, all with password
//! `password` (its `store/data/mailboxes.jsonl`); `TEST_WORKFLOW` goes from X26ABC1 to X26ABC2.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use throughline_adapter_mesh::sandbox::{PASSWORD, SHARED_KEY, Sandbox};
use throughline_adapter_mesh::{
    MeshConfig, MeshError, MeshSink, MeshSource, MessageType, Operation, OutboundMessage,
};

const SENDER: &str = "X26ABC1";
const RECIPIENT: &str = "X26ABC2";
const WORKFLOW: &str = "TEST_WORKFLOW";

/// A source acting as `mailbox_id`.
fn source(sandbox: &Sandbox, mailbox_id: &str) -> MeshSource {
    MeshSource::new(sandbox.client(mailbox_id))
}

/// A sink sending as `mailbox_id`.
fn sink(sandbox: &Sandbox, mailbox_id: &str) -> MeshSink {
    MeshSink::new(sandbox.client(mailbox_id))
}

/// Bytes that would expose any text re-encoding or truncation: every byte value, repeated.
fn binary_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[tokio::test]
async fn handshake_succeeds_with_the_mailbox_credentials() {
    let sandbox = Sandbox::start().await;
    source(&sandbox, SENDER)
        .client()
        .handshake()
        .await
        .expect("handshake");
}

#[tokio::test]
async fn sent_message_is_downloaded_byte_for_byte_then_acknowledged_and_gone() {
    let sandbox = Sandbox::start().await;
    let body = binary_body(4_096);
    let message_id = sink(&sandbox, SENDER)
        .send(RECIPIENT, WORKFLOW, body.clone(), "delivery-0001")
        .await
        .expect("send");

    let source = source(&sandbox, RECIPIENT);
    source.client().handshake().await.expect("handshake");
    let messages = source.poll_once().await.expect("poll");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message.id, message_id);
    assert_eq!(message.body.as_ref(), body.as_slice());
    assert_eq!(message.sender.as_deref(), Some(SENDER));
    assert_eq!(message.recipient.as_deref(), Some(RECIPIENT));
    assert_eq!(message.workflow_id.as_deref(), Some(WORKFLOW));
    assert_eq!(message.local_id.as_deref(), Some("delivery-0001"));
    assert_eq!(message.message_type, MessageType::Data);
    assert_eq!(message.chunks, 1);
    assert_eq!(message.status.code.as_deref(), Some("00"));

    source.acknowledge(&message.id).await.expect("acknowledge");
    assert!(source.poll_once().await.expect("poll").is_empty());
    // Acknowledging again is harmless, so a retried acknowledgement is safe.
    source
        .acknowledge(&message.id)
        .await
        .expect("second acknowledge");
}

#[tokio::test]
async fn large_message_is_sent_in_chunks_and_reassembled_in_order() {
    let sandbox = Sandbox::start().await;
    let mut sender_config = sandbox.config(SENDER);
    sender_config.chunk_size_bytes = 1_000;
    let sink = MeshSink::new(sender_config.build().expect("valid config"));
    // 4,500 bytes in 1,000-byte chunks: five chunks, the last one short.
    let body = binary_body(4_500);
    let mut outbound = OutboundMessage::new(RECIPIENT, WORKFLOW, body.clone());
    outbound.local_id = Some("delivery-chunked".into());
    outbound.content_type = "application/json".into();
    outbound.subject = Some("Throughline test".into());
    let message_id = sink.send_message(&outbound).await.expect("chunked send");

    let source = source(&sandbox, RECIPIENT);
    let messages = source.poll_once().await.expect("poll");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message.id, message_id);
    assert_eq!(message.chunks, 5);
    assert_eq!(message.body.len(), body.len());
    assert_eq!(message.body.as_ref(), body.as_slice());
    assert_eq!(message.content_type.as_deref(), Some("application/json"));
    assert_eq!(message.subject.as_deref(), Some("Throughline test"));
    source.acknowledge(&message.id).await.expect("acknowledge");
    assert!(source.poll_once().await.expect("poll").is_empty());
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_that_names_no_secret() {
    let sandbox = Sandbox::start().await;
    let mut config = sandbox.config(RECIPIENT);
    config.password = "not-the-password-hunter2".into();
    let source = MeshSource::new(config.build().expect("valid config"));

    for err in [
        source.client().handshake().await.unwrap_err(),
        source.poll_once().await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, MeshError::Auth { status: 403, mailbox_id, .. } if mailbox_id == RECIPIENT),
            "{err:?}"
        );
        assert!(!err.is_retriable());
        let text = err.to_string();
        assert!(text.contains("authentication failed"), "{text}");
        assert!(text.contains("`password`"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains(SHARED_KEY), "{text}");
    }

    let mut config = sandbox.config(RECIPIENT);
    config.shared_key = "wrong-shared-key".into();
    let err = config.build().unwrap().handshake().await.unwrap_err();
    assert!(matches!(err, MeshError::Auth { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong-shared-key"), "{err}");
}

#[tokio::test]
async fn unacknowledged_message_is_downloaded_again_after_a_restart() {
    let sandbox = Sandbox::start().await;
    let body = b"{\"event\":\"at-least-once\"}".to_vec();
    let message_id = sink(&sandbox, SENDER)
        .send(RECIPIENT, WORKFLOW, body.clone(), "delivery-0002")
        .await
        .expect("send");

    // First run: download, then "crash" before committing and acknowledging.
    let first = source(&sandbox, RECIPIENT).poll_once().await.expect("poll");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, message_id);

    // After the restart the same message, with the same id and bytes, comes again.
    let restarted = source(&sandbox, RECIPIENT);
    let again = restarted.poll_once().await.expect("poll");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, message_id);
    assert_eq!(again[0].body.as_ref(), body.as_slice());

    restarted
        .acknowledge(&message_id)
        .await
        .expect("acknowledge");
    assert!(restarted.poll_once().await.expect("poll").is_empty());
}

#[tokio::test]
async fn sending_to_an_unknown_mailbox_is_rejected_with_the_mesh_error_code() {
    let sandbox = Sandbox::start().await;
    let err = sink(&sandbox, SENDER)
        .send("X99NOPE1", WORKFLOW, b"payload".to_vec(), "delivery-0003")
        .await
        .unwrap_err();
    match &err {
        MeshError::Rejected {
            operation: Operation::Send,
            status: 417,
            code,
            ..
        } => assert_eq!(code.as_deref(), Some("12"), "{err}"),
        other => panic!("expected a 417 rejection, got {other:?}"),
    }
    assert!(!err.is_retriable());
    assert!(!err.to_string().contains("payload"), "{err}");
}

#[tokio::test]
async fn acknowledging_an_unknown_message_is_not_found() {
    let sandbox = Sandbox::start().await;
    let err = source(&sandbox, RECIPIENT)
        .acknowledge("20240101000000000000_NOSUCH")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            MeshError::NotFound {
                operation: Operation::Acknowledge,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_mesh_is_a_retriable_transport_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut config = MeshConfig::new(
        format!("http://127.0.0.1:{port}"),
        RECIPIENT,
        PASSWORD,
        SHARED_KEY,
    );
    config.timeout_ms = 2_000;
    let err = MeshSource::new(config.build().unwrap())
        .poll_once()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            MeshError::Transport {
                operation: Operation::ListInbox,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retriable());
}

/// The sandbox's own chunked message `CHUNKED_MESSAGE_GZ` (two gzip-compressed chunks, in
/// X26ABC2's inbox in canned mode), decompressed and concatenated by Python as the reference.
fn canned_chunked_message() -> Vec<u8> {
    let script = "import gzip, os, sys, mesh_sandbox\n\
        d = os.path.join(os.path.dirname(mesh_sandbox.__file__), \
        'store', 'data', 'mailboxes', 'X26ABC2', 'in', 'CHUNKED_MESSAGE_GZ')\n\
        sys.stdout.buffer.write(b''.join(gzip.decompress(open(os.path.join(d, n), 'rb').read()) \
        for n in ('1', '2')))";
    let out = Command::new("python3")
        .args(["-c", script])
        .stderr(Stdio::inherit())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "reading the canned chunked message failed"
    );
    out.stdout
}

#[tokio::test]
async fn sandbox_created_chunked_message_is_reassembled_in_order() {
    let sandbox = Sandbox::start_with_store("canned").await;
    let expected = canned_chunked_message();
    let client = sandbox.config(RECIPIENT).build().expect("valid config");
    let ids = client.list_inbox().await.expect("list");
    assert!(ids.iter().any(|id| id == "CHUNKED_MESSAGE_GZ"), "{ids:?}");

    let message = client
        .download("CHUNKED_MESSAGE_GZ")
        .await
        .expect("download");
    assert_eq!(message.chunks, 2);
    assert_eq!(message.sender.as_deref(), Some(SENDER));
    assert_eq!(message.body.len(), expected.len());
    assert_eq!(message.body.as_ref(), expected.as_slice());
}
