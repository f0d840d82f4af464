//! History is not news, end to end: the real `throughline` binary importing a school's Common
//! Transfer File whose SEN history restates plans issued years ago, with the local authority's
//! team configured (it owns annual reviews) and a real receiver for it. The issue's test: "Importing
//! the same school's CTF for a child with a five-year-old EHC plan opens no overdue clock and
//! sends no reminder; a new plan issued this month opens its annual review."

mod common;

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, Utc};
use common::*;
use serde_json::Value;
use throughline_adapter_ctf::fixture::{FixturePupil, FixtureSpec};
use throughline_adapter_ctf::{CtfLimits, CtfReader};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::NormaliseContext;
use throughline_contracts::kind::EventBody;

const PUPILS: usize = 80;
const SOURCE: &str = "oakfield-ctf";
const SENDING_URN: &str = "999991";
const DESTINATION_URN: &str = "999992";

fn hub_config(store_url: &str, port: u16, riverside: &Receiver, la: &Receiver) -> String {
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

[handoffs]
local_authority = "la-send"
tick_ms = 100

[history]
window = "28 days"

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

[[sources]]
id = "la-send-api"
agency = "la-send"
system = "synergy"
api_key = "${{TEST_LA_KEY}}"

[[routes]]
kinds = ["*"]
roles = ["school", "send"]

[[sharing_agreements]]
id = "ISA-transfer"
agency = "riverside-academy"
purpose = "school transfers"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]

[[sharing_agreements]]
id = "ISA-send"
agency = "la-send"
purpose = "statutory SEND duties"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]
"#,
        riverside = riverside.url,
        la = la.url,
    )
}

/// The pupil's one SEN record when it is an EHC plan (and the pupil's only SEN record).
fn only_plan(p: &FixturePupil) -> Option<NaiveDate> {
    match p.sen.as_slice() {
        [sen] if sen.provision == 'E' && p.corruption.is_none() => Some(sen.start),
        _ => None,
    }
}

/// The file with pupil `index`'s plan issued on `on` instead: its `SENhistory/SEN/StartDate`
/// (the pupil's only SEN record, so its only `<StartDate>`).
fn reissue(xml: &str, index: usize, from: NaiveDate, on: NaiveDate) -> String {
    let start = xml.match_indices("<Pupil>").nth(index).unwrap().0;
    let end = start + xml[start..].find("</Pupil>").unwrap();
    let pupil = xml[start..end].replacen(
        &format!("<StartDate>{from}</StartDate>"),
        &format!("<StartDate>{on}</StartDate>"),
        1,
    );
    assert_ne!(pupil, xml[start..end], "pupil {index}'s plan is re-dated");
    format!("{}{pupil}{}", &xml[..start], &xml[end..])
}

/// The events the CTF reader makes of the file, with each one's `occurred_at` and `as_at`.
fn submissions(bytes: &[u8]) -> Vec<throughline_contracts::event::EventSubmission> {
    let ctx = NormaliseContext {
        source_id: SOURCE.into(),
        agency: AgencyId::parse("oakfield-primary").unwrap(),
        system: "sims".into(),
        adapter: "ctf".into(),
    };
    let reader = CtfReader::new(bytes, CtfLimits::default(), ctx).unwrap();
    reader
        .filter_map(|o| match o.unwrap() {
            throughline_safe_xml::RecordOutcome::Accepted { submissions, .. } => Some(submissions),
            _ => None,
        })
        .flatten()
        .collect()
}

fn report(output: &str) -> Value {
    serde_json::Deserializer::from_str(output)
        .into_iter::<Value>()
        .next()
        .expect("a report")
        .unwrap()
}

/// The local authority's open handoffs, as its own system would list them.
async fn open_handoffs(hub: &Hub) -> Vec<Value> {
    let (status, body) = hub.get(LA_KEY, "/v1/handoffs?open=true&limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["handoffs"].as_array().unwrap().clone()
}

/// Deliveries committed for the agency, as the operator command lists them.
fn deliveries_to(hub: &Hub, agency: &str) -> usize {
    hub.cli(&["deliveries", "list", "--limit", "100000"])
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some(agency))
        .count()
}

async fn breached(hub: &Hub) -> u64 {
    let text = reqwest::get(format!("{}/metrics", hub.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("throughline_handoffs_breached "))
        .expect("the breached gauge")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_five_year_old_plan_in_a_ctf_opens_no_overdue_clock_and_a_new_one_opens_its_review() {
    let riverside = Receiver::start(SECRET).await;
    let la = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| hub_config(url, port, &riverside, &la)).await;

    // A CTF written yesterday. Two of its pupils with an EHC plan are re-dated: one plan issued
    // five years ago, one issued three days before the file.
    let now = Utc::now();
    // Written yesterday, in the CTF version current then (the reader refuses older ones).
    let spec = FixtureSpec::dated(PUPILS, (now - Duration::days(1)).naive_utc());
    let file_day = spec.created.date();
    let planned: Vec<(usize, NaiveDate)> = (0..PUPILS)
        .filter_map(|i| only_plan(&spec.pupil(i)).map(|d| (i, d)))
        .collect();
    assert!(planned.len() >= 2, "the fixture has pupils with plans");
    let (old, old_from) = planned[0];
    let (new, new_from) = planned[1];
    let five_years_ago = file_day - Duration::days(5 * 365);
    let this_month = file_day - Duration::days(3);
    let xml = String::from_utf8(spec.to_bytes()).unwrap();
    let xml = reissue(&xml, old, old_from, five_years_ago);
    let xml = reissue(&xml, new, new_from, this_month);
    let path = hub.dir.path().join("oakfield.xml");
    std::fs::write(&path, &xml).unwrap();

    // What the file restates from before the window (28 days before its date) is history.
    let events = submissions(xml.as_bytes());
    let restated_past = events
        .iter()
        .filter(|e| {
            e.as_at
                .is_some_and(|as_at| as_at - e.occurred_at > Duration::days(28))
        })
        .count();
    assert!(restated_past > 0);
    let plans: Vec<(String, NaiveDate)> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::EhcPlanFinal(p) => Some((p.plan_id.clone(), p.issued_on)),
            _ => None,
        })
        .collect();
    let plan_of = |on: NaiveDate| format!("ctf:{SENDING_URN}:{on}");
    assert!(plans.contains(&(plan_of(five_years_ago), five_years_ago)));
    assert!(plans.contains(&(plan_of(this_month), this_month)));

    let output = hub.cli(&["import", "ctf", path.to_str().unwrap(), "--source", SOURCE]);
    let first = report(&output);
    assert_eq!(first["quarantined"].as_array().unwrap().len(), 0, "{first}");
    assert_eq!(first["events"], events.len());
    assert_eq!(first["history"], restated_past, "{first}");

    // Annual reviews: one for each plan whose review (12 months from its issue, Children and
    // Families Act 2014 s. 44) is still ahead, and none overdue.
    let handoffs = open_handoffs(&hub).await;
    let reviews: BTreeSet<String> = handoffs
        .iter()
        .filter(|h| h["kind"] == "annual_review")
        .map(|h| h["reference"].as_str().unwrap().to_owned())
        .collect();
    let due_ahead: BTreeSet<String> = plans
        .iter()
        .filter(|(_, on)| {
            // Due by the end of that day in London: still ahead on the day itself.
            let due = on.checked_add_months(chrono::Months::new(12)).unwrap();
            due >= throughline_calendar::london::civil_date(now)
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(reviews, due_ahead);
    assert!(
        reviews.contains(&plan_of(this_month)),
        "the new plan's review is open"
    );
    assert!(
        !reviews.contains(&plan_of(five_years_ago)),
        "no overdue clock"
    );
    for h in &handoffs {
        let due: chrono::DateTime<Utc> = h["due_at"].as_str().unwrap().parse().unwrap();
        assert!(due > now, "an open handoff is not overdue: {h}");
    }
    let review = handoffs
        .iter()
        .find(|h| h["reference"] == plan_of(this_month))
        .unwrap();
    assert_eq!(review["to_agency"], "la-send");
    assert_eq!(review["period"], "12 months");

    // Nothing is past its deadline, so the clock (ticking every 100 ms) has nothing to send.
    assert_eq!(breached(&hub).await, 0);
    eventually("Riverside hears of the leavers", || {
        riverside
            .delivered()
            .iter()
            .any(|n| n.body["kind"] == "school.left")
    })
    .await;
    let reminders = |r: &Receiver| {
        r.received()
            .iter()
            .filter(|n| {
                let kind = n.body["kind"].as_str().unwrap_or_default();
                kind.starts_with("handoff.")
            })
            .count()
    };
    assert_eq!(reminders(&la), 0);
    assert_eq!(reminders(&riverside), 0);

    // The same school's file again (a copy, so a new file to the hub): every event restates a
    // fact the hub holds. All history: nothing new is opened or sent.
    let sent_before = deliveries_to(&hub, "riverside-academy");
    let again = hub.dir.path().join("oakfield-again.xml");
    std::fs::write(&again, format!("{xml}\n")).unwrap();
    let output = hub.cli(&["import", "ctf", again.to_str().unwrap(), "--source", SOURCE]);
    let second = report(&output);
    assert_eq!(second["duplicates"], 0, "a new file: {second}");
    assert_eq!(second["events"], events.len());
    assert_eq!(second["history"], events.len(), "{second}");
    assert_eq!(open_handoffs(&hub).await.len(), handoffs.len());
    assert_eq!(breached(&hub).await, 0);
    assert_eq!(
        deliveries_to(&hub, "riverside-academy"),
        sent_before,
        "no notification of the past"
    );
    assert_eq!(reminders(&la), 0);
}
