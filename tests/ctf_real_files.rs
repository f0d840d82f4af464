//! Real files from real agencies (issue 12), end to end through the real `throughline` binary:
//! a CTF of a version one newer than its school year knows, a lost-pupil CTF (`XXX`/`XXXX`), a
//! CTF to a school outside the maintained sector (`MMM`/`MMMM`), UPNs issued by the local
//! authorities created since 2011, a temporary UPN replaced by a permanent one (`FormerUPN`),
//! and a pupil whose SEN history holds pre-2014 codes.
//!
//! Each test starts a hub with a temporary SQLite store, a local authority (`la-send`, the
//! configured `handoffs.local_authority`) and the destination school (`riverside-academy`), each
//! with a real local HTTP receiver, and imports CTFs with `throughline import ctf`.

mod common;

use common::*;
use serde_json::Value;
use throughline_adapter_ctf::VersionWindow;
use throughline_adapter_ctf::fixture::{FixtureDestination, FixtureSpec};
use throughline_contracts::identifiers::Upn;

const SOURCE: &str = "oakfield-ctf";
const SENDING_URN: &str = "999991";
const DESTINATION_URN: &str = "999992";

/// Oakfield sends; Riverside lists the destination URN; `la-send` is the local authority every
/// closure and every out-of-sector leaver is handed to. `extra` is appended (an `[identity]`
/// table, say).
fn hub_config(
    store_url: &str,
    port: u16,
    riverside: &Receiver,
    la: &Receiver,
    extra: &str,
) -> String {
    let kinds = r#"["school.left", "school.joined", "sen_support.started", "sen_support.ended", "ehc_plan.final", "ehc_plan.ceased", "social_care.looked_after.started", "child.no_lead_agency"]"#;
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
sink = {{ type = "webhook", url = "{riverside}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[agencies]]
id = "la-send"
role = "send"
sink = {{ type = "webhook", url = "{la}", secret = "${{TEST_WEBHOOK_SECRET}}" }}

[[sources]]
id = "{SOURCE}"
agency = "oakfield-primary"
system = "sims"
api_key = "${{TEST_SCHOOL_KEY}}"
# No may_send: the school's defaults allow the plan and care status a CTF restates
# (docs/security.md).

[[sources]]
id = "la-send-system"
agency = "la-send"
system = "capita-one"
api_key = "${{TEST_LA_KEY}}"

[[routes]]
kinds = {kinds}
roles = ["school", "send"]

[[sharing_agreements]]
id = "ISA-transfer"
agency = "riverside-academy"
purpose = "school transfers"
kinds = {kinds}
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-la"
agency = "la-send"
purpose = "children leaving school, and children without a lead agency"
kinds = {kinds}
fields = ["subject.identifiers.upn", "payload.*"]

[handoffs]
local_authority = "la-send"
{extra}
"#,
        riverside = riverside.url,
        la = la.url,
    )
}

struct Setup {
    hub: Hub,
    riverside: Receiver,
    la: Receiver,
}

async fn start(extra: &str) -> Setup {
    let riverside = Receiver::start(SECRET).await;
    let la = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| hub_config(url, port, &riverside, &la, extra)).await;
    Setup { hub, riverside, la }
}

/// Yesterday, so every handoff the file opens is due in the future.
fn yesterday() -> chrono::NaiveDateTime {
    (chrono::Utc::now() - chrono::Duration::days(1)).naive_utc()
}

/// Imports `bytes` as a CTF from Oakfield and returns the report.
fn import(hub: &Hub, name: &str, bytes: &[u8]) -> Value {
    let path = hub.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let output = hub.cli(&["import", "ctf", path.to_str().unwrap(), "--source", SOURCE]);
    report(&output)
}

fn report(output: &str) -> Value {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .next()
        .expect("a report")
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{output}"))
}

/// A valid UPN: the check letter computed for `tail12` as the contracts compute it.
fn upn(tail12: &str) -> String {
    let letter = Upn::check_letter(tail12).expect("a UPN tail");
    format!("{letter}{tail12}")
}

/// A hand-written CTF from Oakfield to Riverside, dated yesterday in the version current then.
fn ctf(pupils: &[String]) -> Vec<u8> {
    let created = yesterday();
    let version = VersionWindow::for_date(created.date()).current();
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>{version}.0</CTFversion>
    <DateTime>{}</DateTime>
    <DocumentQualifier>full</DocumentQualifier>
    <SourceSchool><LEA>999</LEA><Estab>1999</Estab><URN>{SENDING_URN}</URN></SourceSchool>
    <DestSchool><LEA>999</LEA><Estab>4999</Estab><URN>{DESTINATION_URN}</URN></DestSchool>
  </Header>
  <CTFpupilData>
"#,
        created.format("%Y-%m-%dT%H:%M:%S")
    );
    for pupil in pupils {
        xml.push_str(pupil);
        xml.push('\n');
    }
    xml.push_str("  </CTFpupilData>\n</CTfile>\n");
    xml.into_bytes()
}

/// A pupil with this UPN and `extra` elements.
fn pupil(upn: &str, extra: &str) -> String {
    format!(
        "<Pupil><UPN>{upn}</UPN><Surname>LOVELACE</Surname><Forename>AUGUSTA</Forename>\
         <DOB>2015-12-10</DOB><Sex>F</Sex>{extra}</Pupil>"
    )
}

/// The open handoffs addressed to or sent by the local authority.
async fn la_handoffs(hub: &Hub) -> Vec<Value> {
    let (status, list) = hub.get(LA_KEY, "/v1/handoffs?open=true").await;
    assert_eq!(status, 200, "{list}");
    list["handoffs"].as_array().unwrap().clone()
}

fn kinds_of(r: &Receiver) -> Vec<String> {
    r.delivered()
        .iter()
        .map(|d| d.body["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A file one version newer than its school year's is read, and the report says so; its
/// pupils' events are delivered like any other's.
#[tokio::test]
async fn a_file_one_version_newer_is_imported_with_a_warning_in_its_report() {
    let s = start("").await;
    let created = yesterday();
    let current = VersionWindow::for_date(created.date()).current();
    let spec = FixtureSpec {
        version: format!("{}.0", current + 1),
        ..FixtureSpec::dated(20, created)
    };
    let report = import(&s.hub, "newer.xml", &spec.to_bytes());
    assert_eq!(report["ctf_version"], spec.version.as_str());
    assert_eq!(report["committed"], 20, "{report}");
    let warnings = report["warnings"].as_array().expect("a warning");
    assert_eq!(warnings.len(), 1, "{report}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.contains(&format!("CTF version {}", spec.version))
            && warning.contains(&format!("CTF {current}")),
        "{warning}"
    );
    eventually("Riverside hears of every leaver", || {
        kinds_of(&s.riverside)
            .iter()
            .filter(|k| *k == "school.left")
            .count()
            == 20
    })
    .await;
}

/// DfE School to School guidance (2019, p. 15): "when a pupil transfers out of a school and the
/// destination school is not known, the school should create a CTF file using XXX for the
/// destination LA and XXXX as the destination school number". The child may be missing from
/// education: the local authority gets a closure handoff and operators an alert.
#[tokio::test]
async fn a_lost_pupil_file_hands_the_child_to_the_local_authority_as_missing_education() {
    let s = start("").await;
    let spec = FixtureSpec {
        destination: FixtureDestination::LostPupil,
        ..FixtureSpec::dated(1, yesterday())
    };
    let bytes = spec.to_bytes();
    assert!(
        std::str::from_utf8(&bytes)
            .unwrap()
            .contains("<LEA>XXX</LEA>")
    );
    let report = import(&s.hub, "lost.xml", &bytes);
    assert_eq!(report["committed"], 1, "{report}");

    let handoffs = la_handoffs(&s.hub).await;
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");
    assert_eq!(handoffs[0]["kind"], "closure");
    assert_eq!(handoffs[0]["to_agency"], "la-send");
    let alerts = s.hub.cli(&["alerts"]);
    assert!(alerts.contains("no_lead_agency"), "{alerts}");
    assert!(
        alerts.contains("left school with no known destination"),
        "{alerts}"
    );
    eventually("the local authority is told the child has no lead", || {
        s.la.delivered().iter().any(|n| {
            n.body["kind"] == "child.no_lead_agency"
                && n.body["payload"]["reason"] == "missing_education"
        })
    })
    .await;
}

/// The same guidance's `MMM`/`MMMM`: the pupil left for a school outside the maintained sector
/// in England and Wales (abroad, independent). The local authority is told, with a tracked
/// transfer, and there is no missing-education alarm: the destination is known.
#[tokio::test]
async fn an_out_of_sector_file_tells_the_local_authority_without_a_missing_education_alert() {
    let s = start("").await;
    let spec = FixtureSpec {
        destination: FixtureDestination::OutsideMaintainedSector,
        ..FixtureSpec::dated(1, yesterday())
    };
    let report = import(&s.hub, "abroad.xml", &spec.to_bytes());
    assert_eq!(report["committed"], 1, "{report}");

    // Handoffs and alerts are written in the pupil's own transaction, which the import has
    // committed before it printed its report: what is not there now never will be.
    let handoffs = la_handoffs(&s.hub).await;
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");
    assert_eq!(handoffs[0]["kind"], "transfer");
    assert_eq!(handoffs[0]["reference"], "outside-maintained-sector");
    assert_eq!(handoffs[0]["from_agency"], "oakfield-primary");
    assert_eq!(handoffs[0]["to_agency"], "la-send");
    let alerts = s.hub.cli(&["alerts"]);
    assert!(!alerts.contains("no_lead_agency"), "{alerts}");
    assert!(!alerts.contains("lead_agency_lost"), "{alerts}");

    eventually("the local authority hears of the leaver", || {
        s.la.delivered().iter().any(|n| {
            n.body["kind"] == "school.left"
                && n.body["payload"]["destination"]["type"] == "outside_maintained_sector"
        })
    })
    .await;
    assert!(
        !kinds_of(&s.la).contains(&"child.no_lead_agency".to_owned()),
        "{:?}",
        kinds_of(&s.la)
    );
}

/// DfE census validation rule 1530: the LA numbers of authorities created or renumbered since
/// 2011 (838 Dorset, 839 Bournemouth, Christchurch and Poole, 940 North Northamptonshire, 941
/// West Northamptonshire, and 942 Cumberland and 943 Westmorland and Furness added for 2023/24)
/// issue valid UPNs.
#[tokio::test]
async fn upns_from_authorities_created_since_2011_are_accepted() {
    let s = start("").await;
    let pupils: Vec<String> = [838, 839, 940, 941, 942, 943]
        .iter()
        .map(|la| pupil(&upn(&format!("{la}200025001")), ""))
        .collect();
    let report = import(&s.hub, "new-authorities.xml", &ctf(&pupils));
    assert_eq!(report["pupils"], 6);
    assert_eq!(report["committed"], 6, "{report}");
    assert_eq!(report["quarantined"], Value::Array(vec![]));
}

/// A new authority does not need a release: `identity.extra_la_codes` adds its number.
#[tokio::test]
async fn an_la_number_added_in_the_config_is_accepted_and_others_are_not() {
    let s = start("\n[identity]\nextra_la_codes = [944]\n").await;
    let added = upn("944200025001");
    let unknown = upn("945200025001");
    let report = import(
        &s.hub,
        "added-authority.xml",
        &ctf(&[pupil(&added, ""), pupil(&unknown, "")]),
    );
    assert_eq!(report["committed"], 1, "{report}");
    let quarantined = report["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 1, "{report}");
    assert_eq!(quarantined[0]["index"], 1);
    assert_eq!(
        quarantined[0]["problems"][0]["field"],
        "CTFpupilData.Pupil[1].UPN"
    );
    let text = report.to_string();
    assert!(!text.contains(&unknown) && !text.contains(&added), "{text}");
}

/// A school gives a pupil a temporary UPN while the permanent one is traced (DfE UPN guidance:
/// a temporary UPN ends in a letter, `G80120000101A` is its example); the next file carries the
/// permanent UPN with the temporary one as `FormerUPN`. It is the same child: linked, not
/// quarantined as "two UPNs".
#[tokio::test]
async fn a_temporary_upn_replaced_by_a_permanent_one_is_the_same_child() {
    let s = start("").await;
    let temporary = "G80120000101A";
    let permanent = upn("801200001002");
    assert!(Upn::parse(temporary).unwrap().is_temporary());

    // Each file brings news Riverside is sent (a leaver, then SEN support and a plan starting
    // the day the file was written), so every file's child can be seen in what it receives.
    let today = yesterday().date().format("%Y-%m-%d").to_string();
    let sen = |code: &str| {
        format!(
            "<SENhistory><SEN><StartDate>{today}</StartDate><SENprovision>{code}</SENprovision></SEN></SENhistory>"
        )
    };
    let first = import(&s.hub, "temporary.xml", &ctf(&[pupil(temporary, "")]));
    assert_eq!(first["committed"], 1, "{first}");
    let second = import(
        &s.hub,
        "permanent.xml",
        &ctf(&[pupil(
            &permanent,
            &format!(
                "<BasicDetails><FormerUPN>{temporary}</FormerUPN></BasicDetails>{}",
                sen("K")
            ),
        )]),
    );
    assert_eq!(second["committed"], 1, "{second}");
    assert_eq!(second["quarantined"], Value::Array(vec![]), "{second}");

    // A third input that still knows only the temporary UPN finds the same child.
    let third = import(
        &s.hub,
        "temporary-again.xml",
        &ctf(&[pupil(temporary, &sen("E"))]),
    );
    assert_eq!(third["committed"], 1, "{third}");
    assert_eq!(third["quarantined"], Value::Array(vec![]), "{third}");

    eventually("Riverside hears the news of all three files", || {
        let kinds = kinds_of(&s.riverside);
        ["school.left", "sen_support.started", "ehc_plan.final"]
            .iter()
            .all(|k| kinds.iter().any(|got| got == k))
    })
    .await;
    let children: std::collections::BTreeSet<String> = s
        .riverside
        .delivered()
        .iter()
        .map(|n| n.body["child_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(children.len(), 1, "one child: {children:?}");
    // Riverside knows the child by the permanent UPN from the second file on.
    let plan = s
        .riverside
        .delivered()
        .into_iter()
        .find(|n| n.body["kind"] == "ehc_plan.final")
        .unwrap();
    assert_eq!(
        plan.body["subject"]["identifiers"]["upn"],
        permanent.as_str(),
        "{}",
        plan.body
    );
    s.hub.assert_logs_free_of(&[temporary, &permanent]);
}

/// Before 2014 a pupil had School Action (`A`), School Action Plus (`P`) or a statement (`S`).
/// A history holding them is read without error; only the current record (`K`) makes an event.
#[tokio::test]
async fn a_pupil_with_pre_2014_sen_codes_in_their_history_is_read() {
    let s = start("").await;
    let history = "<SENhistory>\
        <SEN><StartDate>2011-09-05</StartDate><EndDate>2012-09-03</EndDate><SENprovision>A</SENprovision></SEN>\
        <SEN><StartDate>2012-09-03</StartDate><EndDate>2013-11-01</EndDate><SENprovision>P</SENprovision></SEN>\
        <SEN><StartDate>2013-11-01</StartDate><EndDate>2015-06-01</EndDate><SENprovision>S</SENprovision></SEN>\
        <SEN><StartDate>2015-06-01</StartDate><SENprovision>K</SENprovision></SEN>\
        </SENhistory>";
    let report = import(
        &s.hub,
        "history.xml",
        &ctf(&[pupil(&upn("801200005001"), history)]),
    );
    assert_eq!(report["committed"], 1, "{report}");
    assert_eq!(report["quarantined"], Value::Array(vec![]));
    // SEN support started, joined, left: nothing from the old codes.
    assert_eq!(report["events"], 3, "{report}");
}
