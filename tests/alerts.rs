//! Operator alerts end to end: the real `throughline` binary, a real local HTTP receiver as the
//! operators' webhook channel, and a real SMTP server (aiosmtpd, from PyPI; `scripts/services`
//! installs it) as their email channel, writing each message it accepts to a Maildir.
//!
//! An agency's webhook fails until its deliveries are dead-lettered: each alert opens once, on
//! each channel, however many failures there were. The email channel is down when the alerts
//! open and comes up later: its notices still arrive, once. The receiver recovers and the dead
//! letters are requeued and delivered: each alert resolves once, on each channel, and the
//! dashboard's alerts page lists it as resolved.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::json;

const NHS: &str = "9434765919";
const FAMILY: &str = "Lovelace";
const DOB: &str = "2015-12-10";

/// aiosmtpd on a loopback port, saving messages to a Maildir; killed on drop.
struct SmtpServer {
    child: Child,
}

impl SmtpServer {
    async fn start(port: u16, maildir: &Path) -> Self {
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (scripts/services installs it)");
        let addr = format!("127.0.0.1:{port}");
        eventually("aiosmtpd listens", || {
            std::net::TcpStream::connect(&addr).is_ok()
        })
        .await;
        Self { child }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every message in the Maildir, as text.
fn emails(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect()
}

fn emails_about(maildir: &Path, transition: &str, kind: &str) -> usize {
    let subject = format!("Subject: [throughline] {transition}: {kind} (camhs-north)");
    emails(maildir)
        .iter()
        .filter(|m| m.contains(&subject))
        .count()
}

fn notices_about(receiver: &Receiver, transition: &str, kind: &str) -> usize {
    receiver
        .delivered()
        .iter()
        .filter(|r| {
            r.signature_ok
                && r.body["kind"] == format!("alert.{transition}")
                && r.body["alert"]["kind"] == kind
                && r.body["alert"]["agency"] == "camhs-north"
        })
        .count()
}

fn assessment_request(n: usize) -> serde_json::Value {
    event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({"family_name": FAMILY, "date_of_birth": DOB}),
        "ehc_needs_assessment.requested",
        json!({"request_id": format!("EHCNA-{n}"), "requested_by": "parent", "received_on": "2026-11-19"}),
    )
}

#[tokio::test]
async fn each_alert_opens_and_resolves_once_on_every_channel() {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    let ops = Receiver::start(SECRET).await;
    let smtp_port = free_port();
    let mail = tempfile::tempdir().unwrap();
    let maildir: PathBuf = mail.path().join("ops");
    let hub = Hub::start(|url, port| {
        let mut c = config(
            url,
            port,
            &Agencies {
                school: &school,
                camhs: &camhs,
                youth_justice: &yjs,
                school_timeout_ms: 5000,
                camhs_timeout_ms: 5000,
            },
        );
        c.push_str(&format!(
            r#"
[[operator_channels]]
type = "webhook"
id = "ops-chat"
url = "{ops}"
secret = "${{TEST_WEBHOOK_SECRET}}"
dashboard_url = "https://hub.example.org/dashboard"

[[operator_channels]]
type = "smtp"
id = "ops-email"
host = "127.0.0.1"
port = {smtp_port}
starttls = false
from = "Throughline <throughline@example.org>"
to = ["duty-manager@example.org", "ops@example.org"]
"#,
            ops = ops.url,
        ));
        c
    })
    .await;

    // CAMHS is involved with the child, so the LA's requests go to it.
    hub.submit(
        CAMHS_KEY,
        &event(
            "camhs-north",
            json!({"nhs_number": NHS}),
            json!({}),
            "episode_of_care.opened",
            json!({"episode_id": "E1", "service": "camhs", "on": "2026-10-01"}),
        ),
    )
    .await;
    // CAMHS's endpoint fails every attempt: three requests, five attempts each, all dead-lettered.
    camhs.set_default(Behaviour::Status(503));
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(hub.submit(LA_KEY, &assessment_request(n)).await);
    }
    eventually("every CAMHS delivery is dead-lettered", || {
        let dead = hub.cli(&["deliveries", "list", "--status", "dead"]);
        ids.iter().all(|id| dead.contains(id))
    })
    .await;
    eventually("the webhook channel hears both alerts open", || {
        notices_about(&ops, "opened", "dead_letter") >= 1
            && notices_about(&ops, "opened", "agency_failing") >= 1
    })
    .await;
    assert!(
        camhs.received().len() >= 10,
        "many failures: {}",
        camhs.received().len()
    );

    // The email channel was down all along; it comes up and gets each notice once.
    let smtp = SmtpServer::start(smtp_port, &maildir).await;
    eventually("the email channel hears both alerts open", || {
        emails_about(&maildir, "opened", "dead_letter") >= 1
            && emails_about(&maildir, "opened", "agency_failing") >= 1
    })
    .await;

    // CAMHS recovers; an operator requeues the dead letters, which are delivered.
    camhs.set_default(Behaviour::Status(200));
    hub.cli(&["deliveries", "retry-dead"]);
    eventually("the requeued deliveries arrive", || {
        ids.iter().all(|id| !camhs.delivered_for(id).is_empty())
    })
    .await;
    eventually("both channels hear both alerts resolve", || {
        notices_about(&ops, "resolved", "dead_letter") >= 1
            && notices_about(&ops, "resolved", "agency_failing") >= 1
            && emails_about(&maildir, "resolved", "dead_letter") >= 1
            && emails_about(&maildir, "resolved", "agency_failing") >= 1
    })
    .await;
    // Anything extra would have been sent by now: the notifier ticks every 100 ms.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    for kind in ["dead_letter", "agency_failing"] {
        for transition in ["opened", "resolved"] {
            assert_eq!(
                notices_about(&ops, transition, kind),
                1,
                "one {transition} {kind} notice on the webhook channel"
            );
            assert_eq!(
                emails_about(&maildir, transition, kind),
                1,
                "one {transition} {kind} email"
            );
        }
    }
    // (The LA's requests also raise `no_local_authority`: this configuration has none.)
    let webhook_notices: Vec<_> = ops
        .delivered()
        .into_iter()
        .filter(|r| r.body["alert"]["agency"] == "camhs-north")
        .collect();
    assert_eq!(
        webhook_notices.len(),
        4,
        "no other notices about CAMHS: {webhook_notices:?}"
    );
    let keys: std::collections::HashSet<_> = webhook_notices
        .iter()
        .map(|r| r.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 4, "each notice has its own idempotency key");
    assert_eq!(
        webhook_notices[0].body["dashboard_link"],
        "https://hub.example.org/dashboard/alerts"
    );
    let mails: Vec<_> = emails(&maildir)
        .into_iter()
        .filter(|m| m.contains("(camhs-north)"))
        .collect();
    assert_eq!(mails.len(), 4, "no other emails about CAMHS");
    assert!(mails.iter().all(|m| m.contains("duty-manager@example.org")));

    // No child data in any notice, nor in the hub's logs.
    for text in webhook_notices
        .iter()
        .map(|r| r.body.to_string())
        .chain(mails.iter().cloned())
    {
        for needle in [NHS, FAMILY, DOB] {
            assert!(!text.contains(needle), "child data in a notice: {text}");
        }
    }
    hub.assert_logs_free_of(&[NHS, FAMILY, DOB]);

    // The CLI lists nothing open any more.
    let open = hub.cli(&["alerts"]);
    assert!(!open.contains("camhs-north"), "{open}");

    // The dashboard lists it among the recently resolved.
    let page = dashboard_page(&hub, "/dashboard/alerts").await;
    let resolved = &page[page.find("alerts-resolved").expect("resolved table")..];
    assert!(
        resolved.contains("dead_letter") && resolved.contains("camhs-north"),
        "{page}"
    );
    assert!(!page.contains(NHS) && !page.contains(FAMILY));
    drop(smtp);
}

/// Logs in as a new operator (made with the CLI) and fetches a dashboard page's HTML.
async fn dashboard_page(hub: &Hub, path: &str) -> String {
    let password = "a long enough password";
    hub.cli_with_env(
        &[
            "operators",
            "add",
            "--username",
            "ops",
            "--role",
            "operator",
        ],
        &[("THROUGHLINE_OPERATOR_PASSWORD", password)],
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/dashboard/login", hub.base))
        .header("origin", &hub.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ops&password=a+long+enough+password")
        .send()
        .await
        .unwrap();
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("throughline_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let page = http
        .get(format!("{}{path}", hub.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}
