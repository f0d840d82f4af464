//! A school's Common Transfer File imported end to end: the real `throughline` binary (`run`, and
//! `import ctf` beside it), a temporary SQLite store, a generated CTF, and a real local HTTP
//! receiver for the destination school. A file arrives by the command line, by the source's drop
//! folder (a temporary directory), or by `POST /v1/ingest/{source}/ctf`. Every test also scans
//! the hub's log, and the import's own output, for the pupils' data.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use throughline_adapter_ctf::fixture::{FixtureSchool, FixtureSpec};
use throughline_adapter_ctf::{CtfLimits, CtfReader, VersionWindow};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::NormaliseContext;

const PUPILS: usize = 200;
const SOURCE: &str = "oakfield-ctf";
/// The fixture's schools: the sender, and where its pupils go.
const SENDING_URN: &str = "999991";
const DESTINATION_URN: &str = "999992";

/// Oakfield sends the file through its source (or drops it in the source's folder); Riverside,
/// the destination school, lists the file's destination URN, so each pupil's `school.left` hands
/// the pupil to it (a transfer handoff), which makes it involved and routes it the leaving notice.
fn hub_config(store_url: &str, port: u16, riverside: &Receiver, drop: &Path) -> String {
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
ctf_drop = {{ folder = "{drop}", poll_interval_ms = 100 }}
# No may_send: a CTF restates the pupil's EHC plan and care status (as_at the file's date),
# which a school's defaults allow as restatements (docs/security.md).

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
        drop = drop.display(),
    )
}

/// The hub, Riverside's receiver, and the source's drop folder.
async fn start() -> (Hub, Receiver, tempfile::TempDir) {
    let riverside = Receiver::start(SECRET).await;
    let drop = tempfile::tempdir().unwrap();
    let hub = Hub::start(|url, port| hub_config(url, port, &riverside, drop.path())).await;
    (hub, riverside, drop)
}

/// A CTF of `pupils` pupils written yesterday (so every handoff it opens is due in the future),
/// in the version current on that date, `corrupt` of them deliberately broken.
fn spec(pupils: usize, corrupt: f64) -> FixtureSpec {
    FixtureSpec {
        corrupt_fraction: corrupt,
        ..FixtureSpec::dated(
            pupils,
            (chrono::Utc::now() - chrono::Duration::days(1)).naive_utc(),
        )
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
    let (hub, riverside, _drop) = start().await;
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
    assert_eq!(first["ctf_version"], spec.version.as_str());
    assert!(first.get("warnings").is_none(), "{first}");
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
    let (hub, _riverside, _drop) = start().await;
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

/// The pupils the fixture breaks, and how many it does not.
fn corrupted(spec: &FixtureSpec, pupils: usize) -> (Vec<usize>, usize) {
    let corrupted: Vec<usize> = (0..pupils)
        .filter(|&i| spec.corruption(i).is_some())
        .collect();
    assert!(!corrupted.is_empty(), "the fixture breaks some pupils");
    let accepted = pupils - corrupted.len();
    (corrupted, accepted)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()))
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Posts `body` as a CTF upload for the source; returns the status, content type and JSON body.
async fn upload(hub: &Hub, key: &str, source: &str, body: Vec<u8>) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/ingest/{source}/ctf", hub.base))
        .bearer_auth(key)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_file_dropped_in_the_folder_is_imported_and_moved_to_done_with_its_report() {
    let (hub, riverside, drop) = start().await;
    let (incoming, done, failed) = (
        drop.path().join("incoming"),
        drop.path().join("done"),
        drop.path().join("failed"),
    );
    let pupils = 100;
    let spec = spec(pupils, 0.04);
    let bytes = spec.to_bytes();
    let data = pupil_data(&bytes);
    let (corrupted, accepted) = corrupted(&spec, pupils);

    // The school's MIS writes the file under a `.part` name, then renames it when complete. A
    // file still being written is never claimed.
    let still_writing = incoming.join("next.xml.part");
    std::fs::write(&still_writing, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(incoming.join("x.xml.part"), &bytes).unwrap();
    std::fs::rename(incoming.join("x.xml.part"), incoming.join("x.xml")).unwrap();

    eventually("the file is moved to done/", || {
        done.join("x.xml").is_file()
    })
    .await;
    assert_eq!(std::fs::read(done.join("x.xml")).unwrap(), bytes);
    let report_text = std::fs::read_to_string(done.join("x.xml.report.json")).unwrap();
    assert_free_of(&report_text, &data);
    let report = read_json(&done.join("x.xml.report.json"));
    assert_eq!(report["pupils"], pupils);
    assert_eq!(report["committed"], accepted);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["events"], events_in(&bytes));
    let quarantined = report["quarantined"].as_array().unwrap();
    let indices: Vec<usize> = quarantined
        .iter()
        .map(|q| q["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(indices, corrupted);
    assert!(files_in(&drop.path().join("processing")).is_empty());
    assert_eq!(
        files_in(&incoming),
        BTreeSet::from(["next.xml.part".to_owned()]),
        "the half-written file is left alone"
    );

    // Riverside hears of every accepted pupil leaving for it.
    eventually("Riverside hears of every leaver", || {
        riverside
            .delivered()
            .iter()
            .filter(|n| n.body["kind"] == "school.left")
            .count()
            >= accepted
    })
    .await;

    // The operator sees each rejected pupil in quarantine.
    let listed = hub.cli(&["quarantine", "list"]);
    assert_free_of(&listed, &data);
    for q in quarantined {
        let id = q["quarantine_id"].as_str().unwrap();
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(id) && l.contains(SOURCE)),
            "quarantine item {id} is listed:\n{listed}"
        );
    }

    // A file that is not a CTF goes to failed/, with why beside it.
    std::fs::write(incoming.join("garbage.xml"), b"this is not a CTF at all").unwrap();
    eventually("the garbage is moved to failed/", || {
        failed.join("garbage.xml").is_file()
    })
    .await;
    let why = read_json(&failed.join("garbage.xml.error.json"));
    let error = why["error"].as_str().unwrap();
    assert!(
        error.starts_with("the file was refused before any pupil was read: "),
        "{error}"
    );
    assert_eq!(why["source_id"], SOURCE);
    assert!(why["report"].is_null(), "no pupil was read: {why}");

    // The same file dropped again: its pupils are duplicates, and it is done beside the first.
    std::fs::write(incoming.join("x.xml"), &bytes).unwrap();
    eventually("the second copy is moved to done/", || {
        done.join("x.2.xml.report.json").is_file() && done.join("x.2.xml").is_file()
    })
    .await;
    let again = read_json(&done.join("x.2.xml.report.json"));
    assert_eq!(again["committed"], 0);
    assert_eq!(again["duplicates"], accepted);
    assert_eq!(read_json(&done.join("x.xml.report.json")), report);

    let logs = hub.logs();
    assert!(logs.contains("drop folder: file imported"), "{logs}");
    assert!(logs.contains("drop folder: file failed"), "{logs}");
    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_file_left_in_processing_by_a_crash_is_imported_again_at_start_up() {
    let (mut hub, riverside, drop) = start().await;
    let pupils = 40;
    let spec = spec(pupils, 0.0);
    let bytes = spec.to_bytes();
    // As if the hub had claimed the file and died before finishing it.
    std::fs::write(drop.path().join("processing").join("left.xml"), &bytes).unwrap();
    hub.restart().await;

    let done = drop.path().join("done");
    eventually("the interrupted file is finished", || {
        done.join("left.xml.report.json").is_file()
    })
    .await;
    let report = read_json(&done.join("left.xml.report.json"));
    assert_eq!(report["pupils"], pupils);
    assert_eq!(
        report["committed"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(),
        pupils as u64
    );
    eventually("Riverside hears of every leaver", || {
        riverside
            .delivered()
            .iter()
            .filter(|n| n.body["kind"] == "school.left")
            .count()
            >= pupils
    })
    .await;
}

#[tokio::test]
async fn an_uploaded_file_is_imported_and_the_same_bytes_again_are_all_duplicates() {
    let (hub, riverside, _drop) = start().await;
    let pupils = 60;
    let spec = spec(pupils, 0.04);
    let bytes = spec.to_bytes();
    let data = pupil_data(&bytes);
    let (corrupted, accepted) = corrupted(&spec, pupils);

    let (status, _, first) = upload(&hub, SCHOOL_KEY, SOURCE, bytes.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_free_of(&first.to_string(), &data);
    assert_eq!(first["pupils"], pupils);
    assert_eq!(first["committed"], accepted);
    assert_eq!(first["duplicates"], 0);
    assert_eq!(first["events"], events_in(&bytes));
    assert_eq!(
        first["quarantined"].as_array().unwrap().len(),
        corrupted.len()
    );
    eventually("Riverside hears of every leaver", || {
        riverside
            .delivered()
            .iter()
            .filter(|n| n.body["kind"] == "school.left")
            .count()
            >= accepted
    })
    .await;

    let (status, _, second) = upload(&hub, SCHOOL_KEY, SOURCE, bytes.clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["committed"], 0);
    assert_eq!(second["events"], 0);
    assert_eq!(second["duplicates"], accepted);
    assert_eq!(second["file_sha256"], first["file_sha256"]);
    assert_eq!(deliveries_to(&hub, "riverside-academy"), accepted);

    // Without the source's key, nothing is imported.
    let (status, _, _) = upload(&hub, "not-a-key-of-any-source", SOURCE, bytes.clone()).await;
    assert_eq!(status, 401);
    let (status, _, _) = upload(&hub, SCHOOL_KEY, "another-source", bytes.clone()).await;
    assert_eq!(status, 403);

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn an_uploaded_file_that_is_refused_gets_a_problem_naming_the_reason() {
    let (hub, _riverside, _drop) = start().await;
    let spec = spec(50, 0.0);
    let bytes = spec.to_bytes();
    let data = pupil_data(&bytes);
    let text = std::str::from_utf8(&bytes).unwrap();

    // A DOCTYPE, whatever it holds, is refused before anything is read.
    let doctype = text.replacen(
        "<CTfile>",
        "<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<CTfile>",
        1,
    );
    assert_ne!(doctype, text);
    let (status, content_type, problem) = upload(&hub, SCHOOL_KEY, SOURCE, doctype.into()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        problem["type"].as_str().unwrap().ends_with("/ctf-refused"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("refused before any pupil was read") && detail.contains("DOCTYPE"),
        "{detail}"
    );
    assert!(problem.get("report").is_none(), "{problem}");

    // A version two years behind the file's own date is refused, and the problem names it.
    let window = VersionWindow::for_date(spec.created.date());
    let too_old = FixtureSpec {
        version: format!("{}.0", window.previous() - 1),
        ..spec.clone()
    };
    let (status, _, problem) = upload(&hub, SCHOOL_KEY, SOURCE, too_old.to_bytes()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["type"].as_str().unwrap().ends_with("/ctf-refused"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("CTF version {} is not supported", too_old.version)),
        "{detail}"
    );

    // A file from a school the source's agency does not list names the school.
    let other_school = FixtureSpec {
        source: FixtureSchool {
            lea: "999".into(),
            estab: "3999".into(),
            urn: Some("999993".into()),
            name: None,
        },
        ..spec.clone()
    };
    let (status, _, problem) = upload(&hub, SCHOOL_KEY, SOURCE, other_school.to_bytes()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not list the file's source school (URN 999993)"),
        "{problem}"
    );

    // A file cut off inside pupil 30: the problem carries the report of the 30 before it.
    let pupil_30 = text.match_indices("<Pupil>").nth(30).unwrap().0;
    let (status, _, problem) =
        upload(&hub, SCHOOL_KEY, SOURCE, bytes[..pupil_30 + 40].to_vec()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["type"].as_str().unwrap().ends_with("/ctf-stopped"),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("could not be read past its first 30 pupil(s)")
            && detail.contains("malformed XML"),
        "{detail}"
    );
    assert_eq!(problem["report"]["pupils"], 30);
    assert_eq!(problem["report"]["committed"], 30);
    assert_free_of(&problem.to_string(), &data);

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}
