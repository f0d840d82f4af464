//! A local authority's Children in Need census, and a social care CSV extract, imported end to
//! end: the real `throughline` binary (`run`, and `import cin|file` beside it), a temporary
//! SQLite store, generated census files, and a real local HTTP receiver for a school. A census
//! arrives by the command line, by the source's drop folder (a temporary directory), or by
//! `POST /v1/ingest/{source}/cin`; an extract by its source's drop folder. Every test also scans
//! the hub's log, and the import's own output, for the children's identifiers.
//!
//! The school hears of the children it already knows: it posts `school.joined` for its pupils
//! first (which makes it involved with them), and a route and a sharing agreement then send it
//! their social care events, linked on the UPN.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{Value, json};
use throughline_adapter_cin_census::fixture::{FixtureChild, FixtureSpec};

const CENSUS_SOURCE: &str = "northshire-census";
const EXTRACT_SOURCE: &str = "northshire-extract";
const SCHOOL: &str = "riverside-academy";
const KINDS: &str = r#"["social_care.referral", "social_care.assessment", "social_care.child_in_need_plan", "social_care.child_in_need_plan.ended", "social_care.child_protection_plan.started", "social_care.child_protection_plan.ended", "social_care.case_closed"]"#;

/// Northshire's children's social care sends a census (from its case management system) and a
/// CSV extract, each source with its own drop folder; Riverside, a school with a webhook, posts
/// its own events and receives social care events about its pupils.
fn hub_config(store_url: &str, port: u16, school: &Receiver, census: &Path, csv: &Path) -> String {
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

# These tests read and route a census; a census restates the child's year as at its reference
# date, and what is older than the history window is history (routed to nobody: see
# tests/history.rs). A window wider than the fixture's years keeps every event news here.
[history]
window = "10000 days"

[[agencies]]
id = "northshire-csc"
role = "social_care"

[[agencies]]
id = "{SCHOOL}"
role = "school"
school_urns = ["999992"]
sink = {{ type = "webhook", url = "{url}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "riverside-mis"
agency = "{SCHOOL}"
system = "arbor"
api_key = "${{TEST_SCHOOL_KEY}}"

[[sources]]
id = "{CENSUS_SOURCE}"
agency = "northshire-csc"
system = "liquidlogic"
api_key = "${{TEST_CSC_KEY}}"
drop = {{ folder = "{census}", poll_interval_ms = 100, reader = "cin-census" }}

[[sources]]
id = "{EXTRACT_SOURCE}"
agency = "northshire-csc"
system = "liquidlogic"
format = "social-care-csv"
api_key = "${{TEST_LA_KEY}}"
drop = {{ folder = "{csv}", poll_interval_ms = 100 }}

[[routes]]
kinds = {KINDS}
roles = ["school"]

[[sharing_agreements]]
id = "ISA-csc-schools"
agency = "{SCHOOL}"
purpose = "children in need and child protection, for designated safeguarding leads"
kinds = {KINDS}
fields = ["subject.identifiers.upn", "payload.*"]
"#,
        url = school.url,
        census = census.display(),
        csv = csv.display(),
    )
}

struct Setup {
    hub: Hub,
    school: Receiver,
    census_drop: tempfile::TempDir,
    csv_drop: tempfile::TempDir,
}

async fn start() -> Setup {
    let school = Receiver::start(SECRET).await;
    let census_drop = tempfile::tempdir().unwrap();
    let csv_drop = tempfile::tempdir().unwrap();
    let hub =
        Hub::start(|url, port| hub_config(url, port, &school, census_drop.path(), csv_drop.path()))
            .await;
    Setup {
        hub,
        school,
        census_drop,
        csv_drop,
    }
}

/// A census of `children` children, `corrupt` of them deliberately broken.
fn spec(children: usize, corrupt: f64) -> FixtureSpec {
    FixtureSpec {
        corrupt_fraction: corrupt,
        ..FixtureSpec::new(children)
    }
}

/// Every child of the file, as the generator wrote them.
fn children(spec: &FixtureSpec) -> Vec<FixtureChild> {
    (0..spec.children).map(|i| spec.child(i)).collect()
}

/// The children's identifiers, which no log, report or problem may hold.
fn child_data(children: &[FixtureChild]) -> Vec<String> {
    let mut data: Vec<String> = children
        .iter()
        .flat_map(|c| [c.la_child_id.clone(), c.upn.clone()])
        .flatten()
        .collect();
    data.sort();
    data.dedup();
    assert!(data.len() > 50, "the fixture holds child data to look for");
    data
}

fn assert_free_of(text: &str, data: &[String]) {
    for d in data {
        assert!(
            !text.contains(d.as_str()),
            "child data `{d}` appeared in:\n{text}"
        );
    }
}

/// The school posts `school.joined` for these pupils: it is then involved with them.
async fn school_knows(hub: &Hub, upns: &[&str]) {
    let events: Vec<Value> = upns
        .iter()
        .map(|upn| {
            event(
                SCHOOL,
                json!({ "upn": upn }),
                json!({}),
                "school.joined",
                json!({ "school_urn": "999992", "joined_on": "2024-09-04" }),
            )
        })
        .collect();
    let (status, body) = hub.post(SCHOOL_KEY, "/v1/events", &json!(events)).await;
    assert_eq!(status, 202, "{body}");
}

/// The accepted children the school knows (those with a UPN), and how many events it should hear
/// of them.
fn known_to_school(children: &[FixtureChild]) -> (Vec<&str>, usize) {
    let known: Vec<&FixtureChild> = children
        .iter()
        .filter(|c| c.corruption.is_none() && c.upn.is_some())
        .collect();
    let events = known.iter().map(|c| c.events().unwrap()).sum();
    (
        known.iter().map(|c| c.upn.as_deref().unwrap()).collect(),
        events,
    )
}

/// The JSON report at the start of the command's output (progress lines follow on stderr).
fn report(output: &str) -> Value {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .next()
        .expect("a report")
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{output}"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()))
}

/// Deliveries committed for the agency, as the operator command lists them.
fn deliveries_to(hub: &Hub, agency: &str) -> usize {
    hub.cli(&["deliveries", "list", "--limit", "100000"])
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some(agency))
        .count()
}

/// Runs a CLI command that is expected to fail; returns (stdout, stderr, exit code).
fn cli_failing(hub: &Hub, args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(args)
        .arg("--config")
        .arg(&hub.config_path)
        .env("TEST_SCHOOL_KEY", SCHOOL_KEY)
        .env("TEST_CSC_KEY", CSC_KEY)
        .env("TEST_LA_KEY", LA_KEY)
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "throughline {args:?} should have failed:\n{stdout}{stderr}"
    );
    (stdout, stderr, out.status.code())
}

/// Each quarantined child in a report is the corrupted one, named by its element path.
fn assert_quarantined_as_corrupted(report: &Value, spec: &FixtureSpec) -> Vec<usize> {
    let corrupted: Vec<usize> = (0..spec.children)
        .filter(|&i| spec.corruption(i).is_some())
        .collect();
    let quarantined = report["quarantined"].as_array().unwrap();
    let indices: Vec<usize> = quarantined
        .iter()
        .map(|q| q["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(indices, corrupted);
    for q in quarantined {
        let i = q["index"].as_u64().unwrap() as usize;
        let field = format!(
            "Children.Child[{i}].{}",
            spec.corruption(i).unwrap().field()
        );
        assert_eq!(q["step"], "normalise");
        assert!(
            q["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == field),
            "child {i} is quarantined naming {field}: {q}"
        );
    }
    corrupted
}

#[tokio::test]
async fn each_child_is_committed_or_quarantined_alone_and_a_second_import_commits_nothing() {
    let Setup {
        hub,
        school,
        census_drop: _census_drop,
        csv_drop: _csv_drop,
    } = start().await;
    let spec = spec(200, 0.02);
    let children = children(&spec);
    let data = child_data(&children);
    let (pupils, expected) = known_to_school(&children);
    school_knows(&hub, &pupils).await;

    let path = hub.dir.path().join("northshire-cin-2025.xml");
    std::fs::write(&path, spec.to_bytes()).unwrap();
    let path = path.to_str().unwrap();
    let output = hub.cli(&["import", "cin", path, "--source", CENSUS_SOURCE]);
    assert_free_of(&output, &data);
    let first = report(&output);
    assert_eq!(first["collection_year"], 2025);
    assert_eq!(first["reference_date"], "2025-03-31");
    assert_eq!(first["lea"], "999");
    assert_eq!(first["children"], 200);
    let corrupted = assert_quarantined_as_corrupted(&first, &spec);
    assert_eq!(corrupted.len(), 4, "one child broken each way");
    let accepted = 200 - corrupted.len();
    assert_eq!(first["committed"], accepted);
    assert_eq!(first["duplicates"], 0);
    assert_eq!(first["without_events"], 0);
    let events: usize = children.iter().filter_map(FixtureChild::events).sum();
    assert_eq!(first["events"], events);

    // The school hears every event about each of its pupils, signed, with the UPN it knows them
    // by and nothing it may not see.
    eventually("the school hears of its pupils", || {
        school.delivered().len() >= expected
    })
    .await;
    let delivered = school.delivered();
    assert_eq!(delivered.len(), expected);
    let known: BTreeSet<&str> = pupils.iter().copied().collect();
    for n in &delivered {
        assert!(n.signature_ok);
        assert!(n.body["kind"].as_str().unwrap().starts_with("social_care."));
        assert_eq!(n.body["source_agency"], "northshire-csc");
        assert_eq!(n.body["sharing_agreement"], "ISA-csc-schools");
        let upn = n.body["subject"]["identifiers"]["upn"].as_str().unwrap();
        assert!(known.contains(upn));
        assert!(
            n.body["subject"]["identifiers"].get("local_ids").is_none(),
            "the agreement does not share the LA's child id: {}",
            n.body
        );
    }

    // The operator sees each rejected child in quarantine, by its element path; it cannot be
    // replayed (the local authority sends a corrected file instead).
    let listed = hub.cli(&["quarantine", "list"]);
    assert_free_of(&listed, &data);
    for q in first["quarantined"].as_array().unwrap() {
        let i = q["index"].as_u64().unwrap();
        let id = q["quarantine_id"].as_str().unwrap();
        let line = listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("quarantine item {id} is listed:\n{listed}"));
        assert!(line.contains(CENSUS_SOURCE));
        assert!(line.contains(&format!("Children.Child[{i}].")));
    }
    let held = first["quarantined"][0]["quarantine_id"].as_str().unwrap();
    let (_, stderr, _) = cli_failing(&hub, &["quarantine", "replay", held]);
    assert!(stderr.contains("CIN census child"), "{stderr}");
    assert!(stderr.contains("cannot be replayed"), "{stderr}");

    // The same file again: every accepted child is a duplicate, and nothing new is sent.
    let sent = deliveries_to(&hub, SCHOOL);
    assert_eq!(sent, expected);
    let second = report(&hub.cli(&["import", "cin", path, "--source", CENSUS_SOURCE]));
    assert_eq!(second["children"], 200);
    assert_eq!(second["committed"], 0);
    assert_eq!(second["events"], 0);
    assert_eq!(second["duplicates"], accepted);
    assert_eq!(second["file_sha256"], first["file_sha256"]);
    assert_eq!(deliveries_to(&hub, SCHOOL), sent);

    // A file that is not a census says why, and imports nothing.
    let ctf = hub.dir.path().join("not-a-census.xml");
    std::fs::write(&ctf, "<CTfile><Header/></CTfile>").unwrap();
    let (stdout, stderr, _) = cli_failing(
        &hub,
        &[
            "import",
            "cin",
            ctf.to_str().unwrap(),
            "--source",
            CENSUS_SOURCE,
        ],
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("refused before any child was read")
            && stderr.contains("the root element is not Message"),
        "{stderr}"
    );

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_census_dropped_in_the_folder_is_imported_and_a_hostile_one_fails() {
    let Setup {
        hub,
        school,
        census_drop,
        csv_drop: _csv_drop,
    } = start().await;
    let (incoming, done, failed) = (
        census_drop.path().join("incoming"),
        census_drop.path().join("done"),
        census_drop.path().join("failed"),
    );
    let spec = spec(100, 0.04);
    let children = children(&spec);
    let data = child_data(&children);
    let (pupils, expected) = known_to_school(&children);
    school_knows(&hub, &pupils).await;

    // The case management system writes the file under a `.part` name, then renames it.
    let bytes = spec.to_bytes();
    std::fs::write(incoming.join("census.xml.part"), &bytes).unwrap();
    std::fs::rename(
        incoming.join("census.xml.part"),
        incoming.join("census.xml"),
    )
    .unwrap();
    eventually("the census is moved to done/", || {
        done.join("census.xml").is_file()
    })
    .await;
    assert_eq!(std::fs::read(done.join("census.xml")).unwrap(), bytes);
    let report_text = std::fs::read_to_string(done.join("census.xml.report.json")).unwrap();
    assert_free_of(&report_text, &data);
    let report = read_json(&done.join("census.xml.report.json"));
    assert_eq!(report["children"], 100);
    let corrupted = assert_quarantined_as_corrupted(&report, &spec);
    assert_eq!(report["committed"], 100 - corrupted.len());
    eventually("the school hears of its pupils", || {
        school.delivered().len() >= expected
    })
    .await;
    assert_eq!(school.delivered().len(), expected);
    let listed = hub.cli(&["quarantine", "list"]);
    for q in report["quarantined"].as_array().unwrap() {
        let id = q["quarantine_id"].as_str().unwrap();
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(id) && l.contains(CENSUS_SOURCE)),
            "quarantine item {id} is listed:\n{listed}"
        );
    }

    // A DOCTYPE, whatever it holds, refuses the file before any child is read.
    let hostile = String::from_utf8(bytes).unwrap().replacen(
        "<Message>",
        "<!DOCTYPE Message [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<Message>",
        1,
    );
    std::fs::write(incoming.join("hostile.xml"), hostile).unwrap();
    eventually("the hostile file is moved to failed/", || {
        failed.join("hostile.xml.error.json").is_file()
    })
    .await;
    let why = read_json(&failed.join("hostile.xml.error.json"));
    let error = why["error"].as_str().unwrap();
    assert!(
        error.starts_with("the file was refused before any child was read: ")
            && error.contains("DOCTYPE"),
        "{error}"
    );
    assert!(why["report"].is_null(), "{why}");
    assert_eq!(school.delivered().len(), expected, "nothing more was sent");

    let logs = hub.logs();
    assert!(logs.contains("drop folder: file imported"), "{logs}");
    assert!(logs.contains("drop folder: file failed"), "{logs}");
    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_csv_extract_dropped_in_the_folder_reaches_the_school_and_a_bad_row_is_quarantined_alone()
{
    let Setup {
        hub,
        school,
        census_drop: _census_drop,
        csv_drop,
    } = start().await;
    let (incoming, done) = (
        csv_drop.path().join("incoming"),
        csv_drop.path().join("done"),
    );
    let fixture = FixtureSpec::new(50);
    let pupil = (0..50)
        .find_map(|i| fixture.child(i).upn)
        .expect("a fixture child of school age");
    school_knows(&hub, &[&pupil]).await;

    let extract = format!(
        "la_child_id,upn,event,date,code\r\nCSC-77,{pupil},referral,2025-01-10,1A\r\nCSC-77,{pupil},cp_plan_start,2025-01-20,NEG\r\n"
    );
    std::fs::write(incoming.join("extract.csv.tmp"), &extract).unwrap();
    std::fs::rename(
        incoming.join("extract.csv.tmp"),
        incoming.join("extract.csv"),
    )
    .unwrap();
    eventually("the extract is moved to done/", || {
        done.join("extract.csv.report.json").is_file() && done.join("extract.csv").is_file()
    })
    .await;
    // An extract is read row by row: each row is its own input.
    let first = read_json(&done.join("extract.csv.report.json"));
    assert_eq!(first["format"], "social-care-csv", "{first}");
    assert_eq!(first["rows"], 2);
    assert_eq!(first["committed"], 2);
    assert_eq!(first["events"], 2);
    assert_eq!(first["quarantined"], serde_json::json!([]));
    eventually("the school hears of the referral and the plan", || {
        school.delivered().len() >= 2
    })
    .await;
    let kinds: Vec<String> = school
        .delivered()
        .iter()
        .map(|n| n.body["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "social_care.referral",
            "social_care.child_protection_plan.started"
        ]
    );
    assert_eq!(
        school.delivered()[0].body["subject"]["identifiers"]["upn"],
        pupil.as_str()
    );

    // The same extract again is all duplicates: nothing new is committed or sent.
    std::fs::write(incoming.join("extract.csv"), &extract).unwrap();
    eventually("the copy is moved to done/", || {
        done.join("extract.2.csv.report.json").is_file()
    })
    .await;
    let again = read_json(&done.join("extract.2.csv.report.json"));
    assert_eq!(again["duplicates"], 2, "{again}");
    assert_eq!(again["committed"], 0);
    assert_eq!(again["file_sha256"], first["file_sha256"]);

    // A bad row is quarantined alone (with the header line, so it can be replayed).
    let bad = format!("la_child_id,upn,event,date\r\nCSC-78,{pupil},adopted,2025-01-10\r\n");
    std::fs::write(incoming.join("bad.csv"), &bad).unwrap();
    eventually("the bad extract is moved to done/", || {
        done.join("bad.csv.report.json").is_file()
    })
    .await;
    let rejected = read_json(&done.join("bad.csv.report.json"));
    assert_eq!(rejected["rows"], 1, "{rejected}");
    assert_eq!(rejected["committed"], 0);
    let row = &rejected["quarantined"][0];
    assert_eq!(row["index"], 1);
    assert_eq!(row["step"], "normalise");
    assert_eq!(row["problems"][0]["field"], "row 1.event");
    let id = row["quarantine_id"].as_str().unwrap();
    let listed = hub.cli(&["quarantine", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(id) && l.contains(EXTRACT_SOURCE)),
        "{listed}"
    );
    assert_eq!(school.delivered().len(), 2);

    // The same CSV through the command line is the same file: its rows are duplicates.
    let file = hub.dir.path().join("extract.csv");
    std::fs::write(&file, &extract).unwrap();
    let output = hub.cli(&[
        "import",
        "file",
        file.to_str().unwrap(),
        "--source",
        EXTRACT_SOURCE,
    ]);
    assert_eq!(report(&output)["duplicates"], 2, "{output}");
    // A bad row is listed in the report, with where it is kept.
    std::fs::write(&file, &bad).unwrap();
    let output = hub.cli(&[
        "import",
        "file",
        file.to_str().unwrap(),
        "--source",
        EXTRACT_SOURCE,
    ]);
    let quarantined = &report(&output)["quarantined"];
    assert_eq!(quarantined.as_array().unwrap().len(), 1, "{output}");
    assert_eq!(quarantined[0]["problems"][0]["field"], "row 1.event");

    hub.assert_logs_free_of(&[pupil.as_str(), "CSC-77", "CSC-78"]);
}

/// Posts `body` as a census upload for the source; returns the status, content type and body.
async fn upload(hub: &Hub, key: &str, source: &str, body: Vec<u8>) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/ingest/{source}/cin", hub.base))
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
async fn an_uploaded_census_is_imported_and_a_refused_one_gets_a_problem() {
    let Setup {
        hub,
        school,
        census_drop: _census_drop,
        csv_drop: _csv_drop,
    } = start().await;
    let spec = spec(50, 0.04);
    let children = children(&spec);
    let data = child_data(&children);
    let (pupils, expected) = known_to_school(&children);
    school_knows(&hub, &pupils).await;
    let bytes = spec.to_bytes();

    let (status, _, first) = upload(&hub, CSC_KEY, CENSUS_SOURCE, bytes.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_free_of(&first.to_string(), &data);
    assert_eq!(first["children"], 50);
    let corrupted = assert_quarantined_as_corrupted(&first, &spec);
    assert_eq!(first["committed"], 50 - corrupted.len());
    eventually("the school hears of its pupils", || {
        school.delivered().len() >= expected
    })
    .await;

    let (status, _, second) = upload(&hub, CSC_KEY, CENSUS_SOURCE, bytes.clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["committed"], 0);
    assert_eq!(second["duplicates"], 50 - corrupted.len());
    assert_eq!(deliveries_to(&hub, SCHOOL), expected);

    // Only the source's own key may upload to it.
    let (status, _, _) = upload(
        &hub,
        "not-a-key-of-any-source",
        CENSUS_SOURCE,
        bytes.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = upload(&hub, LA_KEY, CENSUS_SOURCE, bytes.clone()).await;
    assert_eq!(status, 403);

    // A DOCTYPE is refused before anything is read, as a problem naming why.
    let hostile = String::from_utf8(bytes).unwrap().replacen(
        "<Message>",
        "<!DOCTYPE Message [<!ENTITY a \"aaaa\">]>\n<Message>",
        1,
    );
    let (status, content_type, problem) =
        upload(&hub, CSC_KEY, CENSUS_SOURCE, hostile.into_bytes()).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(content_type, "application/problem+json");
    assert!(
        problem["type"].as_str().unwrap().ends_with("/cin-refused"),
        "{problem}"
    );
    assert_eq!(problem["title"], "CIN census refused");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("refused before any child was read") && detail.contains("DOCTYPE"),
        "{detail}"
    );

    hub.assert_logs_free_of(&data.iter().map(String::as_str).collect::<Vec<_>>());
}

/// `config/cin.toml` passes `check-config` once its drop folder exists, and says which folder is
/// missing before that.
#[test]
fn the_cin_example_configuration_passes_once_its_drop_folder_exists() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/cin.toml");
    let cwd = tempfile::tempdir().unwrap();
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_throughline"))
            .args(["check-config", "--config"])
            .arg(&config)
            .current_dir(cwd.path())
            .env("THROUGHLINE_SCHOOL_API_KEY", "demo-school-key-0123456789")
            .env("THROUGHLINE_CSC_API_KEY", "demo-csc-key-0123456789")
            .env(
                "THROUGHLINE_SCHOOL_WEBHOOK_SECRET",
                "demo-school-webhook-secret",
            )
            .output()
            .unwrap()
    };
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "sources[1].drop.folder: `data/drops/northshire-census` must be an existing directory"
        ),
        "{stderr}"
    );
    std::fs::create_dir_all(cwd.path().join("data/drops/northshire-census")).unwrap();
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok (2 agencies, 2 sources"));
}
