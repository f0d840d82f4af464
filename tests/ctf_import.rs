//! A school's Common Transfer File imported end to end: the real `throughline` binary (`run`, and
//! `import ctf` beside it), a temporary SQLite store, a generated CTF, and a real local HTTP
//! receiver for the destination school. Every test also scans the hub's log, and the import's own
//! output, for the pupils' data.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use throughline_adapter_ctf::fixture::{FixtureSchool, FixtureSpec};
use throughline_adapter_ctf::{CtfLimits, CtfReader};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::NormaliseContext;

const PUPILS: usize = 200;
const SOURCE: &str = "oakfield-ctf";
/// The fixture's schools: the sender, and where its pupils go.
const SENDING_URN: &str = "999991";
const DESTINATION_URN: &str = "999992";

/// Oakfield sends the file through its source; Riverside, the destination school, lists the
/// file's destination URN, so each pupil's `school.left` hands the pupil to it (a transfer
/// handoff), which makes it involved and routes it the leaving notice.
fn hub_config(store_url: &str, port: u16, riverside: &Receiver) -> String {
    let kinds = r#"["school.left", "school.joined", "sen_support.started", "sen_support.ended", "ehc_plan.final", "ehc_plan.ceased", "social_care.looked_after.started"]"#;
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"

[log]
format = "json"
level = "info"

[delivery]
initial_backoff_ms = 50
max_backoff_ms = 400
poll_interval_ms = 100

[[agencies]]
id = "oakfield-primary"
role = "school"
school_urns = ["{SENDING_URN}"]

[[agencies]]
id = "riverside-academy"
role = "school"
school_urns = ["{DESTINATION_URN}"]
sink = {{ type = "webhook", url = "{url}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "{SOURCE}"
agency = "oakfield-primary"
system = "sims"
api_key = "${{TEST_SCHOOL_KEY}}"

[[routes]]
kinds = {kinds}
roles = ["school"]

[[sharing_agreements]]
id = "ISA-transfer"
agency = "riverside-academy"
purpose = "school transfers"
kinds = {kinds}
fields = ["subject.identifiers.upn", "payload.*"]
"#,
        url = riverside.url,
    )
}

async fn start() -> (Hub, Receiver) {
    let riverside = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| hub_config(url, port, &riverside)).await;
    (hub, riverside)
}

/// A CTF of `pupils` pupils written yesterday (so every handoff it opens is due in the future),
/// `corrupt` of them deliberately broken.
fn spec(pupils: usize, corrupt: f64) -> FixtureSpec {
    FixtureSpec {
        corrupt_fraction: corrupt,
        created: (chrono::Utc::now() - chrono::Duration::days(1)).naive_utc(),
        ..FixtureSpec::new(pupils)
    }
}

fn write(spec: &FixtureSpec, path: &Path) -> Vec<u8> {
    let bytes = spec.to_bytes();
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// The texts of every `<name>` element in the file, as a reader would see them.
fn element_texts(xml: &[u8], name: &str) -> BTreeSet<String> {
    let xml = std::str::from_utf8(xml).unwrap();
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.match_indices(&open)
        .map(|(at, _)| {
            let start = at + open.len();
            let end = start + xml[start..].find(&close).unwrap();
            xml[start..end].replace("&apos;", "'")
        })
        .collect()
}

/// The pupils' data a log or report must never hold: UPNs, surnames and postcodes.
fn pupil_data(xml: &[u8]) -> Vec<String> {
    let mut data: Vec<String> = element_texts(xml, "UPN").into_iter().collect();
    data.extend(element_texts(xml, "Surname"));
    data.extend(element_texts(xml, "PostCode"));
    assert!(data.len() > 50, "the fixture holds pupil data to look for");
    data
}

fn assert_free_of(text: &str, data: &[String]) {
    for d in data {
        assert!(
            !text.contains(d.as_str()),
            "pupil data `{d}` appeared in:\n{text}"
        );
    }
}

/// The JSON report at the start of the command's output (progress lines follow on stderr).
fn report(output: &str) -> Value {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .next()
        .expect("a report")
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{output}"))
}

/// How many events the CTF reader itself makes of the file's accepted pupils.
fn events_in(bytes: &[u8]) -> usize {
    let ctx = NormaliseContext {
        source_id: SOURCE.into(),
        agency: AgencyId::parse("oakfield-primary").unwrap(),
        system: "sims".into(),
        adapter: "ctf".into(),
    };
    let mut reader = CtfReader::new(bytes, CtfLimits::default(), ctx).unwrap();
    for outcome in reader.by_ref() {
        outcome.unwrap();
    }
    reader.into_report().events
}

/// Runs a CLI command that is expected to fail; returns (stdout, stderr).
fn cli_failing(hub: &Hub, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(args)
        .arg("--config")
        .arg(&hub.config_path)
        .env("TEST_SCHOOL_KEY", SCHOOL_KEY)
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "throughline {args:?} should have failed:\n{stdout}{stderr}"
    );
    (stdout, stderr)
}

/// Deliveries committed for the agency, as the operator command lists them.
fn deliveries_to(hub: &Hub, agency: &str) -> usize {
    hub.cli(&["deliveries", "list", "--limit", "100000"])
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some(agency))
        .count()
}

#[tokio::test]
async fn each_pupil_is_committed_or_quarantined_alone_and_a_second_import_commits_nothing() {
    let (hub, riverside) = start().await;
    let spec = spec(PUPILS, 0.02);
    let path = hub.dir.path().join("oakfield-leavers.xml");
    let bytes = write(&spec, &path);
    let path = path.to_str().unwrap();
    let data = pupil_data(&bytes);
    let corrupted: Vec<usize> = (0..PUPILS)
        .filter(|&i| spec.corruption(i).is_some())
        .collect();
    assert_eq!(corrupted.len(), 4, "one pupil broken each way");
    let accepted = PUPILS - corrupted.len();

    let output = hub.cli(&["import", "ctf", path, "--source", SOURCE]);
    assert_free_of(&output, &data);
    let first = report(&output);
    assert_eq!(first["ctf_version"], "25.0");
    assert_eq!(first["pupils"], PUPILS);
    assert_eq!(first["committed"], accepted);
    assert_eq!(first["duplicates"], 0);
    assert_eq!(first["without_events"], 0);
    assert_eq!(first["events"], events_in(&bytes));
    let quarantined = first["quarantined"].as_array().unwrap();
    let indices: Vec<usize> = quarantined
        .iter()
        .map(|q| q["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(indices, corrupted);
    for q in quarantined {
        let i = q["index"].as_u64().unwrap() as usize;
        let field = format!(
            "CTFpupilData.Pupil[{i}].{}",
            spec.corruption(i).unwrap().field()
        );
        assert_eq!(q["step"], "normalise");
        assert!(
            q["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == field),
            "pupil {i} is quarantined naming {field}: {q}"
        );
    }

    // Riverside hears of every accepted pupil leaving for it, once each, with the UPN it needs.
    eventually("Riverside hears of every leaver", || {
        riverside
            .delivered()
            .iter()
            .filter(|n| n.body["kind"] == "school.left")
            .count()
            >= accepted
    })
    .await;
    let leavers: Vec<Received> = riverside
        .delivered()
        .into_iter()
        .filter(|n| n.body["kind"] == "school.left")
        .collect();
    let upns: BTreeSet<String> = leavers
        .iter()
        .map(|n| {
            n.body["subject"]["identifiers"]["upn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = (0..PUPILS)
        .filter(|i| !corrupted.contains(i))
        .map(|i| spec.pupil(i).upn)
        .collect();
    assert_eq!(upns, expected, "one leaving notice per accepted pupil");
    assert_eq!(leavers.len(), accepted);
    for n in &leavers {
        assert!(n.signature_ok);
        assert_eq!(n.body["source_agency"], "oakfield-primary");
        assert_eq!(n.body["sharing_agreement"], "ISA-transfer");
        assert_eq!(n.body["payload"]["school_urn"], SENDING_URN);
        assert_eq!(
            n.body["payload"]["destination"]["school_urn"],
            DESTINATION_URN
        );
    }

    // The operator sees each rejected pupil in quarantine, by its element path.
    let listed = hub.cli(&["quarantine", "list"]);
    assert_free_of(&listed, &data);
    for q in quarantined {
        let i = q["index"].as_u64().unwrap() as usize;
        let id = q["quarantine_id"].as_str().unwrap();
        let line = listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("quarantine item {id} is listed:\n{listed}"));
        assert!(line.contains(SOURCE));
        assert!(line.contains(&format!("CTFpupilData.Pupil[{i}].")));
    }
    // A pupil cannot be replayed yet (it lacks the file's header): refused, reasons kept.
    let held = quarantined[0]["quarantine_id"].as_str().unwrap();
    let (_, stderr) = cli_failing(&hub, &["quarantine", "replay", held]);
    assert!(stderr.contains("cannot be replayed yet"), "{stderr}");
    assert_eq!(hub.cli(&["quarantine", "list"]), listed);

    // The same file again: every accepted pupil is a duplicate, and nothing new is committed or
    // sent. Rejected pupils are quarantined again, as any resubmitted rejected input is.
    let sent = deliveries_to(&hub, "riverside-academy");
    assert_eq!(sent, accepted);
    let output = hub.cli(&["import", "ctf", path, "--source", SOURCE]);
    let second = report(&output);
    assert_eq!(second["pupils"], PUPILS);
    assert_eq!(second["committed"], 0);
    assert_eq!(second["events"], 0);
    assert_eq!(second["duplicates"], accepted);
    assert_eq!(second["file_sha256"], first["file_sha256"]);
    assert_eq!(
        second["quarantined"].as_array().unwrap().len(),
        corrupted.len()
    );
    assert_eq!(deliveries_to(&hub, "riverside-academy"), sent);

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_file_that_cannot_be_imported_says_why_and_keeps_the_pupils_before_the_problem() {
    let (hub, _riverside) = start().await;
    let dir = hub.dir.path();

    // A file cut off inside pupil 30: the 30 before it are committed, the error says where.
    let spec = spec(50, 0.0);
    let bytes = spec.to_bytes();
    let data = pupil_data(&bytes);
    let pupil_30 = std::str::from_utf8(&bytes)
        .unwrap()
        .match_indices("<Pupil>")
        .nth(30)
        .unwrap()
        .0;
    let truncated = dir.join("truncated.xml");
    std::fs::write(&truncated, &bytes[..pupil_30 + 40]).unwrap();
    let (stdout, stderr) = cli_failing(
        &hub,
        &[
            "import",
            "ctf",
            truncated.to_str().unwrap(),
            "--source",
            SOURCE,
        ],
    );
    assert!(
        stderr.contains("could not be read past its first 30 pupil(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("malformed XML"), "{stderr}");
    let partial = report(&stdout);
    assert_eq!(partial["pupils"], 30);
    assert_eq!(partial["committed"], 30);
    assert_free_of(&stdout, &data);
    assert_free_of(&stderr, &data);

    // A source that is not configured is named.
    let whole = dir.join("whole.xml");
    write(&spec, &whole);
    let whole = whole.to_str().unwrap();
    let (_, stderr) = cli_failing(&hub, &["import", "ctf", whole, "--source", "no-such-mis"]);
    assert!(
        stderr.contains("no source with id `no-such-mis` is configured"),
        "{stderr}"
    );

    // A file from a school the source's agency does not list is not imported in its name.
    let other_school = FixtureSpec {
        source: FixtureSchool {
            lea: "999".into(),
            estab: "3999".into(),
            urn: Some("999993".into()),
            name: None,
        },
        ..spec.clone()
    };
    let elsewhere = dir.join("elsewhere.xml");
    write(&other_school, &elsewhere);
    let (stdout, stderr) = cli_failing(
        &hub,
        &[
            "import",
            "ctf",
            elsewhere.to_str().unwrap(),
            "--source",
            SOURCE,
        ],
    );
    assert!(stdout.is_empty(), "nothing was imported: {stdout}");
    assert!(
        stderr.contains("does not list the file's source school (URN 999993)"),
        "{stderr}"
    );

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}
