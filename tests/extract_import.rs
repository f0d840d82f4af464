//! Extracts imported row by row, end to end: the real `throughline` binary (`run`, and `import
//! file` beside it), a temporary SQLite store, and generated files. A 10,000-row social care CSV
//! extract (a byte order mark, CRLF, dd/mm/yyyy) with a few bad rows arrives by the command line,
//! by the source's drop folder and by `POST /v1/ingest/{source}/file`: every good row is
//! committed, each bad row is quarantined alone with its header line and the column named, and
//! the same file again commits nothing. Whole-file uploads are bounded by
//! `api.file_upload_limit_bytes`, not `api.body_limit_bytes`. Every test scans the hub's log and
//! the reports for the child data used.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use common::*;
use serde_json::Value;
use throughline_adapter_ctf::fixture::FixtureSpec;

const ROWS: usize = 10_000;
const EXTRACT: &str = "csc-extract";
const MAPPED: &str = "csc-mapped";
const MAPPED_KEY: &str = "test-csc-mapped-key-0123456789";
const CTF: &str = "oakfield-ctf";
const SENDING_URN: &str = "999991";
/// A valid NHS number that fails Modulus 11 by one digit: the bad rows' typo.
const BAD_NHS: &str = "9434765910";

/// Children's social care sends its nightly extract (`social-care-csv`, with a drop folder) and a
/// report in its own columns (a mapping); a school sends CTFs. Files over 1 MiB are routine, so
/// the upload limit is raised well past `api.body_limit_bytes`, and set to `upload_limit`.
fn hub_config(
    store_url: &str,
    port: u16,
    drop: &Path,
    key_file: &Path,
    upload_limit: usize,
) -> String {
    format!(
        r#"
[store]
url = "{store_url}"

[api]
listen = "127.0.0.1:{port}"
body_limit_bytes = 1048576
file_upload_limit_bytes = {upload_limit}

[log]
format = "json"
level = "info"

[[agencies]]
id = "csc"
role = "social_care"

[[agencies]]
id = "oakfield-primary"
role = "school"
school_urns = ["{SENDING_URN}"]

[[sources]]
id = "{EXTRACT}"
agency = "csc"
system = "liquidlogic"
format = "social-care-csv"
api_key = "${{TEST_CSC_KEY}}"
drop = {{ folder = "{drop}", poll_interval_ms = 100 }}

[[sources]]
id = "{MAPPED}"
agency = "csc"
system = "mosaic"
format = "mapping:mosaic-report"
api_key = "${{file:{key_file}}}"

[[sources]]
id = "{CTF}"
agency = "oakfield-primary"
system = "sims"
api_key = "${{TEST_SCHOOL_KEY}}"

[[mappings]]
id = "mosaic-report"
input = "csv"
date_formats = ["%d/%m/%Y"]

[mappings.subject]
local_id = "Person ID"
nhs_number = "NHS Number"

[mappings.kind]
field = "Event"

[mappings.kind.values]
"CP Plan Start" = "social_care.child_protection_plan.started"

[mappings.events."social_care.child_protection_plan.started"]
payload.on = "Event Date"
payload.category = "Category"
"#,
        drop = drop.display(),
        key_file = key_file.display(),
    )
}

struct Setup {
    hub: Hub,
    drop: tempfile::TempDir,
    _keys: tempfile::TempDir,
}

async fn start(upload_limit: usize) -> Setup {
    let drop = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("mapped.key");
    std::fs::write(&key_file, MAPPED_KEY).unwrap();
    let hub =
        Hub::start(|url, port| hub_config(url, port, drop.path(), &key_file, upload_limit)).await;
    Setup {
        hub,
        drop,
        _keys: keys,
    }
}

/// Which rows (numbered from 1 after the header) are broken, and how: a typo in the NHS number,
/// or no child id at all.
fn broken(row: usize) -> Option<&'static str> {
    match row {
        17 | 4_242 | 9_999 => Some("nhs_number"),
        5_000 | 7_777 => Some("la_child_id"),
        _ => None,
    }
}

/// A social care extract of `ROWS` child protection plan starts, as a case system writes it: a
/// byte order mark, CRLF, dd/mm/yyyy, demographic columns, and one blank row (counted, skipped).
/// `night` makes each night's file different (its category), so its rows are new inputs.
fn extract(night: u32) -> Vec<u8> {
    let mut text = String::from(
        "\u{feff}la_child_id,nhs_number,event,date,code,given_name,family_name,postcode,date_of_birth\r\n",
    );
    for row in 1..=ROWS {
        let (id, nhs) = match broken(row) {
            Some("nhs_number") => (format!("LL-{row:06}"), BAD_NHS),
            Some(_) => (String::new(), ""),
            None => (format!("LL-{row:06}"), ""),
        };
        if row == 3 {
            text.push_str("\r\n");
        }
        text.push_str(&format!(
            "{id},{nhs},cp_plan_start,{:02}/11/2026,N{night},Given{row:06} Middlename,Surname{row:06}-Hyphenated,LS{} 4AP,{:02}/03/2015\r\n",
            1 + row % 28,
            row % 30,
            1 + row % 28,
        ));
    }
    text.into_bytes()
}

/// Row numbers after the blank line at row 3 move one down: the number a bad row has in file.
fn row_number(row: usize) -> usize {
    if row >= 3 { row + 1 } else { row }
}

fn bad_rows() -> BTreeSet<usize> {
    (1..=ROWS)
        .filter(|&r| broken(r).is_some())
        .map(row_number)
        .collect()
}

/// The report at the start of the command's output (progress lines follow on stderr).
fn report(output: &str) -> Value {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .next()
        .expect("a report")
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{output}"))
}

/// Every good row committed, each bad row quarantined alone with its column named.
fn assert_every_row_accounted_for(report: &Value) {
    let good = ROWS - bad_rows().len();
    assert_eq!(report["format"], "social-care-csv", "{report}");
    assert_eq!(report["rows"], ROWS);
    assert_eq!(report["committed"], good);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["events"], good);
    let quarantined = report["quarantined"].as_array().unwrap();
    let rows: BTreeSet<usize> = quarantined
        .iter()
        .map(|q| q["index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(rows, bad_rows());
    let ids: BTreeSet<&str> = quarantined
        .iter()
        .map(|q| q["quarantine_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), quarantined.len(), "each row is its own item");
    for q in quarantined {
        let row = q["index"].as_u64().unwrap();
        let problems = q["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{q}");
        let field = problems[0]["field"].as_str().unwrap();
        assert!(
            field == format!("row {row}.nhs_number") || field == format!("row {row}.la_child_id"),
            "{q}"
        );
        assert_eq!(q["step"], "normalise");
    }
    assert!(!report.to_string().contains(BAD_NHS));
}

fn assert_a_second_import_commits_nothing(report: &Value) {
    assert_eq!(report["committed"], 0, "{report}");
    assert_eq!(report["events"], 0);
    assert_eq!(report["duplicates"], ROWS - bad_rows().len());
}

async fn upload(hub: &Hub, key: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", hub.base))
        .bearer_auth(key)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status >= 400 {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_ten_thousand_row_extract_commits_every_good_row_and_quarantines_each_bad_row_alone_by_every_way_in()
 {
    let Setup { hub, drop, _keys } = start(256 * 1024 * 1024).await;

    // The command line.
    let path = hub.dir.path().join("extract-night-1.csv");
    std::fs::write(&path, extract(1)).unwrap();
    let path = path.to_str().unwrap();
    let started = Instant::now();
    let first = report(&hub.cli(&["import", "file", path, "--source", EXTRACT]));
    eprintln!(
        "{ROWS}-row extract imported by the command line in {:?}",
        started.elapsed()
    );
    assert_every_row_accounted_for(&first);
    let started = Instant::now();
    let again = report(&hub.cli(&["import", "file", path, "--source", EXTRACT]));
    eprintln!("imported again (all duplicates) in {:?}", started.elapsed());
    assert_a_second_import_commits_nothing(&again);
    assert_eq!(again["file_sha256"], first["file_sha256"]);

    // The drop folder: the next night's file.
    let incoming = drop.path().join("incoming");
    std::fs::write(incoming.join("night-2.csv.part"), extract(2)).unwrap();
    let started = Instant::now();
    std::fs::rename(
        incoming.join("night-2.csv.part"),
        incoming.join("night-2.csv"),
    )
    .unwrap();
    let done = drop.path().join("done").join("night-2.csv.report.json");
    eventually("the dropped extract is done", || done.is_file()).await;
    eprintln!(
        "{ROWS}-row extract imported from the drop folder in {:?}",
        started.elapsed()
    );
    let dropped: Value = serde_json::from_slice(&std::fs::read(&done).unwrap()).unwrap();
    assert_every_row_accounted_for(&dropped);

    // The upload: the third night's file, over 1 MiB, under the file upload limit.
    let body = extract(3);
    assert!(
        body.len() > 1024 * 1024,
        "the extract is {} bytes",
        body.len()
    );
    let started = Instant::now();
    let (status, uploaded) = upload(
        &hub,
        CSC_KEY,
        &format!("/v1/ingest/{EXTRACT}/file"),
        body.clone(),
    )
    .await;
    eprintln!(
        "{ROWS}-row extract ({} bytes) uploaded in {:?}",
        body.len(),
        started.elapsed()
    );
    assert_eq!(status, 200, "{uploaded}");
    assert_every_row_accounted_for(&uploaded);
    let (status, again) = upload(&hub, CSC_KEY, &format!("/v1/ingest/{EXTRACT}/file"), body).await;
    assert_eq!(status, 200, "{again}");
    assert_a_second_import_commits_nothing(&again);

    // A quarantined row is kept with its header line, so it can be read; the problem names the
    // column, never the value.
    let qid = first["quarantined"][0]["quarantine_id"].as_str().unwrap();
    let shown = hub.cli(&["quarantine", "show", qid]);
    assert!(shown.contains("format social-care-csv"), "{shown}");
    assert!(
        shown.contains("la_child_id,nhs_number,event,date"),
        "{shown}"
    );
    assert!(shown.contains("row 18.nhs_number"), "{shown}");

    hub.assert_logs_free_of(&[BAD_NHS, "Surname000017", "LL-000017"]);
}

#[tokio::test]
async fn a_quarantined_row_is_replayed_alone_once_the_source_can_read_it() {
    let Setup {
        hub,
        drop: _drop,
        _keys,
    } = start(1024 * 1024).await;
    // The report in the case system's own columns. The mapping reads "CP Plan Start" only, so a
    // row naming the end of a plan is rejected until the mapping learns it; a typo in an NHS
    // number or a row with no identifier stays rejected whatever the mapping says.
    let text = "\u{feff}Person ID,NHS Number,Event,Event Date,Category\r\n\
                MO-1,,CP Plan Start,20/11/2026,N\r\n\
                MO-2,9434765919,CP Plan Start,20/11/2026,E\r\n\
                MO-3,9434765910,CP Plan Start,21/11/2026,P\r\n\
                ,,CP Plan Start,21/11/2026,P\r\n\
                MO-5,,CP Plan End,22/11/2026,\r\n";
    let path = hub.dir.path().join("mosaic.csv");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap();
    let first = report(&hub.cli(&["import", "file", path, "--source", MAPPED]));
    assert_eq!(first["format"], "mapping:mosaic-report");
    assert_eq!(first["rows"], 5);
    assert_eq!(first["committed"], 2);
    let quarantined = first["quarantined"].as_array().unwrap();
    assert_eq!(
        quarantined
            .iter()
            .map(|q| q["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert_eq!(
        quarantined[0]["problems"][0]["field"],
        "row 3, column \"NHS Number\""
    );
    assert_eq!(quarantined[1]["problems"][0]["field"], "row 4");
    assert_eq!(
        quarantined[2]["problems"][0]["field"],
        "row 5, column \"Event\""
    );

    // Replayed as it is, a row is read alone with its header line: still the same problem.
    let typo = quarantined[0]["quarantine_id"].as_str().unwrap();
    let (replayed, output) = replay(&hub, typo);
    assert!(!replayed, "{output}");
    assert!(
        output.contains("still rejected at step normalise"),
        "{output}"
    );
    assert!(output.contains("NHS Number"), "{output}");
    assert!(!output.contains("9434765910"), "{output}");

    // Once the mapping knows the end of a plan, the row it could not read commits alone.
    let config = std::fs::read_to_string(&hub.config_path).unwrap();
    let config = config.replace(
        "\"CP Plan Start\" = \"social_care.child_protection_plan.started\"\n",
        "\"CP Plan Start\" = \"social_care.child_protection_plan.started\"\n\"CP Plan End\" = \"social_care.child_protection_plan.ended\"\n",
    ) + "\n[mappings.events.\"social_care.child_protection_plan.ended\"]\npayload.on = \"Event Date\"\n";
    std::fs::write(&hub.config_path, config).unwrap();
    let ended = quarantined[2]["quarantine_id"].as_str().unwrap();
    let (replayed, output) = replay(&hub, ended);
    assert!(replayed, "{output}");
    assert!(
        output.contains("replayed: committed 1 event(s)"),
        "{output}"
    );

    // The file again: the rows committed, by import or by replay, are duplicates.
    let again = report(&hub.cli(&["import", "file", path, "--source", MAPPED]));
    assert_eq!(again["committed"], 0, "{again}");
    assert_eq!(again["duplicates"], 3);
    hub.assert_logs_free_of(&["9434765910", "9434765919", "MO-3"]);
}

/// Runs `quarantine replay`; returns whether it succeeded and its output.
fn replay(hub: &Hub, id: &str) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["quarantine", "replay", id, "--config"])
        .arg(&hub.config_path)
        .env("TEST_CSC_KEY", CSC_KEY)
        .env("TEST_SCHOOL_KEY", SCHOOL_KEY)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn whole_files_are_bounded_by_the_file_upload_limit_and_inputs_by_the_body_limit() {
    // 4 MiB for files; 1 MiB, the default, for inputs.
    let limit = 4 * 1024 * 1024;
    let Setup {
        hub,
        drop: _drop,
        _keys,
    } = start(limit).await;

    // A CTF of two thousand pupils, over 1 MiB (a secondary school's year 11 is about 200): accepted.
    let ctf = FixtureSpec {
        version: "25.0".to_owned(),
        created: (chrono::Utc::now() - chrono::Duration::days(1)).naive_utc(),
        ..FixtureSpec::new(2_000)
    }
    .to_bytes();
    assert!(
        ctf.len() > 1024 * 1024 && ctf.len() < limit,
        "the CTF is {} bytes",
        ctf.len()
    );
    let started = Instant::now();
    let (status, report) = upload(&hub, SCHOOL_KEY, &format!("/v1/ingest/{CTF}/ctf"), ctf).await;
    eprintln!("2,000-pupil CTF uploaded in {:?}", started.elapsed());
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["pupils"], 2_000);
    let count = |key: &str| report[key].as_u64().unwrap();
    let quarantined = report["quarantined"].as_array().unwrap().len() as u64;
    assert_eq!(
        count("committed") + count("without_events") + quarantined,
        2_000
    );
    assert!(count("committed") > 1_000, "{report}");

    // An input over api.body_limit_bytes is still refused.
    let big_event = serde_json::json!({"padding": "x".repeat(1024 * 1024 + 1)});
    let (status, problem) = hub.post(CSC_KEY, "/v1/events", &big_event).await;
    assert_eq!(status, 413, "{problem}");

    // A file over the upload limit is refused, naming the limit: by its Content-Length before a
    // byte of it is read, and without one (chunked) as soon as it passes the limit. Either way
    // the hub answers before the client has sent it all.
    let path = format!("/v1/ingest/{EXTRACT}/file");
    for declared in [true, false] {
        let answer = send_raw(&hub, &path, declared, limit + 1024 * 1024).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("/too-large"), "{answer}");
        assert!(
            answer.contains(&format!("api.file_upload_limit_bytes ({limit} bytes)")),
            "{answer}"
        );
    }
    // Nothing was imported from either.
    let listed = hub.cli(&["quarantine", "list"]);
    assert!(!listed.contains(EXTRACT), "{listed}");
}

/// Sends a body of `total` bytes, with its `Content-Length` (`declared`) or chunked, stopping
/// if the hub closes the connection first, and returns the hub's answer as text.
async fn send_raw(hub: &Hub, path: &str, declared: bool, total: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = hub.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let framing = if declared {
        format!("Content-Length: {total}")
    } else {
        "Transfer-Encoding: chunked".to_owned()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {CSC_KEY}\r\n{framing}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    // A declared length is refused from the head alone: nothing of the body need be sent.
    let to_send = if declared { 0 } else { total };
    let mut sent = 0;
    while sent < to_send {
        let frame = if declared {
            chunk.clone()
        } else {
            [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat()
        };
        if stream.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    if !declared {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}
