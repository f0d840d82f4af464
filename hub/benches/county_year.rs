//! A simulated county year: thousands of children and handoffs through the real pipeline and
//! store (SQLite, the embedded default), with the handoff clock driven by a simulated clock.
//!
//! The year is 2025, hour by hour. Schools refer children to CAMHS, paediatrics and children's
//! social care; receivers accept, decline, redirect, answer late or never; pupils move schools
//! or leave for nowhere; social care closes cases; the local authority runs EHC needs
//! assessments. Agencies go dark for weeks (an outage: nothing they would have sent arrives).
//! After the year, the clock runs on until every escalation chain has finished, and the run
//! checks three things:
//! - no handoff is unaccounted for: each ended answered or escalated;
//! - every escalation step was sent at or after its time and within one scheduler tick of it;
//! - every child the simulation left without a lead agency was alerted and handed to the
//!   local authority.
//!
//! `cargo bench -p throughline-hub --bench county_year` runs the full year
//! (`SIM_CHILDREN`, default 3000); `cargo test` runs a small one (60 children) as a smoke test.
//! Deliveries are queued but not sent (no workers run): this measures tracking and escalation.

#[path = "../../tests/common/nhs.rs"]
mod nhs;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use throughline_contracts::adapter::{InputOutcome, RawInput};
use throughline_hub::config;
use throughline_hub::deliver::Wakers;
use throughline_hub::handoff::scheduler;
use throughline_hub::pipeline::{Origin, Pipeline};
use throughline_hub::store::{self, Store};

/// The scheduler's tick in simulated time.
const TICK: Duration = Duration::hours(1);
const SCHOOLS: usize = 12;
const RECEIVERS: [&str; 3] = ["camhs", "paediatrics", "csc"];

/// A small deterministic generator (xorshift64*), so every run simulates the same year.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn hours(&mut self, max: i64) -> Duration {
        Duration::hours(self.below(max as u64) as i64)
    }
}

/// One thing an agency will send, at a simulated time.
#[derive(Clone)]
enum Action {
    /// An ordinary event.
    Event {
        agency: String,
        kind: &'static str,
        payload: Value,
    },
    /// The local authority acknowledges the open closure handoff about the child.
    AcknowledgeClosure,
}

struct Planned {
    at: DateTime<Utc>,
    child: usize,
    action: Action,
}

fn school(i: usize) -> String {
    format!("school-{:02}", i % SCHOOLS)
}

fn urn(i: usize) -> String {
    format!("1{:05}", i % SCHOOLS)
}

fn config_text(dir: &std::path::Path) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, "a-simulation-secret-0123456789").unwrap();
    let sink = format!(
        "{{ type = \"webhook\", url = \"http://127.0.0.1:9/none\", secret = \"${{file:{}}}\" }}",
        secret.display()
    );
    let mut agencies = Vec::new();
    for i in 0..SCHOOLS {
        agencies.push((school(i), "school", Some(urn(i))));
    }
    for r in RECEIVERS {
        agencies.push((r.to_owned(), "service", None));
    }
    agencies.push(("la-send".to_owned(), "send", None));
    let mut text = format!(
        "[store]\nurl = \"sqlite://{}\"\n[handoffs]\nlocal_authority = \"la-send\"\ntick_ms = {}\n",
        dir.join("county.db").display(),
        TICK.num_milliseconds()
    );
    for (n, (id, role, urn)) in agencies.iter().enumerate() {
        let key = dir.join(format!("key-{id}"));
        std::fs::write(&key, format!("simulation-key-{id}-0123456789")).unwrap();
        // The services here record their own work: children's social care its referrals and
        // closures, which a `service` role's defaults do not cover (docs/security.md).
        let may_send = if *role == "service" {
            "may_send = [\"social_care.*\", \"episode_of_care.*\", \"nhs.*\"]\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "[[agencies]]\nid = \"{id}\"\nrole = \"{role}\"\nsink = {sink}\n{}\
             [[sources]]\nid = \"{id}-api\"\nagency = \"{id}\"\nsystem = \"sim{n}\"\napi_key = \"${{file:{}}}\"\n{may_send}\
             [[sharing_agreements]]\nid = \"isa-{id}\"\nagency = \"{id}\"\nkinds = [\"*\"]\nfields = [\"subject.identifiers.nhs_number\", \"payload.*\"]\n",
            urn.as_ref().map(|u| format!("school_urns = [\"{u}\"]\n")).unwrap_or_default(),
            key.display()
        ));
    }
    text.push_str("[[routes]]\nkinds = [\"*\"]\nroles = [\"school\", \"service\", \"send\"]\n");
    text
}

/// Agencies that go dark: nothing they would send in the window arrives.
fn outages() -> Vec<(&'static str, DateTime<Utc>, DateTime<Utc>)> {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    vec![
        (
            "camhs",
            t("2025-03-03T00:00:00Z"),
            t("2025-03-24T00:00:00Z"),
        ),
        ("csc", t("2025-07-14T00:00:00Z"), t("2025-07-28T00:00:00Z")),
        (
            "la-send",
            t("2025-08-04T00:00:00Z"),
            t("2025-08-25T00:00:00Z"),
        ),
        (
            "school-03",
            t("2025-10-20T00:00:00Z"),
            t("2025-11-03T00:00:00Z"),
        ),
    ]
}

fn date(at: DateTime<Utc>) -> String {
    at.date_naive().to_string()
}

/// Plans the year. Returns the actions and the children the plan leaves without a lead agency.
fn plan(children: usize, rng: &mut Rng) -> (Vec<Planned>, BTreeSet<usize>) {
    let start: DateTime<Utc> = "2025-01-06T08:00:00Z".parse().unwrap();
    let mut out = Vec::new();
    let mut orphans = BTreeSet::new();
    let ev = |agency: &str, kind: &'static str, payload: Value| Action::Event {
        agency: agency.to_owned(),
        kind,
        payload,
    };
    for c in 0..children {
        let home = c % SCHOOLS;
        let joined = start + rng.hours(24 * 20);
        // One child in ten is known only to children's social care.
        if c % 10 == 9 {
            let opened = joined + rng.hours(24 * 120);
            out.push(Planned {
                at: opened,
                child: c,
                action: ev(
                    "csc",
                    "social_care.referral",
                    json!({"referral_on": date(opened)}),
                ),
            });
            let closed = opened + Duration::days(20) + rng.hours(24 * 100);
            out.push(Planned {
                at: closed,
                child: c,
                action: ev(
                    "csc",
                    "social_care.case_closed",
                    json!({"on": date(closed)}),
                ),
            });
            orphans.insert(c);
            if rng.chance(70) {
                out.push(Planned {
                    at: closed + rng.hours(72),
                    child: c,
                    action: Action::AcknowledgeClosure,
                });
            }
            continue;
        }
        out.push(Planned {
            at: joined,
            child: c,
            action: ev(
                &school(home),
                "school.joined",
                json!({"school_urn": urn(home), "joined_on": date(joined)}),
            ),
        });
        // Referrals: most children have none, some one or two.
        let referrals = [0, 0, 1, 1, 2][rng.below(5) as usize];
        for r in 0..referrals {
            let made = joined + Duration::days(10) + rng.hours(24 * 250);
            let to = RECEIVERS[rng.below(3) as usize];
            let id = format!("R{c}-{r}");
            out.push(Planned {
                at: made,
                child: c,
                action: ev(
                    &school(home),
                    "referral.made",
                    json!({"referral_id": id, "to_agency": to}),
                ),
            });
            let answer = made + rng.hours(40);
            match rng.below(100) {
                0..=59 => out.push(Planned {
                    at: answer,
                    child: c,
                    action: ev(to, "referral.accepted", json!({"referral_id": id})),
                }),
                60..=64 => out.push(Planned {
                    at: answer,
                    child: c,
                    action: ev(to, "referral.declined", json!({"referral_id": id})),
                }),
                65..=74 => {
                    let other = RECEIVERS.iter().find(|o| **o != to).unwrap();
                    out.push(Planned {
                        at: answer,
                        child: c,
                        action: ev(
                            to,
                            "referral.redirected",
                            json!({"referral_id": id, "to_agency": other}),
                        ),
                    });
                    if rng.chance(60) {
                        out.push(Planned {
                            at: answer + rng.hours(40),
                            child: c,
                            action: ev(other, "referral.accepted", json!({"referral_id": id})),
                        });
                    }
                }
                75..=79 => out.push(Planned {
                    // Late: after the reminder, before the chain ends, or after it.
                    at: made + Duration::days(3) + rng.hours(24 * 4),
                    child: c,
                    action: ev(to, "referral.accepted", json!({"referral_id": id})),
                }),
                _ => {} // silence
            }
        }
        // Moves: one in ten changes school; one in fifty leaves for nowhere.
        let roll = rng.below(100);
        if roll < 10 {
            let left = joined + Duration::days(60) + rng.hours(24 * 200);
            let dest = (home + 1 + rng.below(SCHOOLS as u64 - 1) as usize) % SCHOOLS;
            out.push(Planned {
                at: left,
                child: c,
                action: ev(
                    &school(home),
                    "school.left",
                    json!({"school_urn": urn(home), "left_on": date(left),
                           "destination": {"type": "school", "school_urn": urn(dest)}}),
                ),
            });
            if rng.chance(80) {
                let arrived = left + rng.hours(24 * 4);
                out.push(Planned {
                    at: arrived,
                    child: c,
                    action: ev(
                        &school(dest),
                        "school.joined",
                        json!({"school_urn": urn(dest), "joined_on": date(arrived)}),
                    ),
                });
            }
        } else if roll < 12 {
            let left = joined + Duration::days(60) + rng.hours(24 * 200);
            out.push(Planned {
                at: left,
                child: c,
                action: ev(
                    &school(home),
                    "school.left",
                    json!({"school_urn": urn(home), "left_on": date(left), "destination": {"type": "unknown"}}),
                ),
            });
            orphans.insert(c);
            if rng.chance(70) {
                out.push(Planned {
                    at: left + rng.hours(72),
                    child: c,
                    action: Action::AcknowledgeClosure,
                });
            }
        }
        // EHC needs assessments: one child in twenty.
        if rng.chance(5) {
            let asked = joined + Duration::days(5) + rng.hours(24 * 150);
            let id = format!("EHC{c}");
            out.push(Planned {
                at: asked,
                child: c,
                action: ev(
                    &school(home),
                    "ehc_needs_assessment.requested",
                    json!({"request_id": id, "requested_by": "school", "received_on": date(asked)}),
                ),
            });
            if rng.chance(85) {
                let decided = asked + Duration::days(20) + rng.hours(24 * 20);
                out.push(Planned {
                    at: decided,
                    child: c,
                    action: ev("la-send", "ehc_needs_assessment.decision",
                        json!({"request_id": id, "decision": "assess", "decided_on": date(decided)})),
                });
                if rng.chance(80) {
                    let issued = decided + Duration::days(60) + rng.hours(24 * 40);
                    out.push(Planned {
                        at: issued,
                        child: c,
                        action: ev(
                            "la-send",
                            "ehc_plan.final",
                            json!({"plan_id": format!("P{c}"), "issued_on": date(issued)}),
                        ),
                    });
                }
            }
        }
    }
    // An agency in an outage sends nothing: its planned answers never arrive.
    let dark = outages();
    let end: DateTime<Utc> = "2025-12-31T23:00:00Z".parse().unwrap();
    out.retain(|p| {
        let agency = match &p.action {
            Action::Event { agency, .. } => agency.as_str(),
            Action::AcknowledgeClosure => "la-send",
        };
        p.at <= end
            && !dark
                .iter()
                .any(|(a, from, to)| *a == agency && p.at >= *from && p.at < *to)
    });
    // Orphans whose own closing event fell outside the year (or in an outage) are not orphans.
    let closing: BTreeSet<usize> = out
        .iter()
        .filter(|p| matches!(&p.action, Action::Event { kind, .. } if *kind == "social_care.case_closed" || *kind == "school.left"))
        .map(|p| p.child)
        .collect();
    orphans.retain(|c| {
        closing.contains(c)
            && out.iter().any(|p| {
                p.child == *c
                    && matches!(&p.action, Action::Event { kind, payload, .. }
                        if *kind == "social_care.case_closed"
                            || (*kind == "school.left" && payload["destination"]["type"] == "unknown"))
            })
    });
    out.sort_by_key(|p| p.at);
    (out, orphans)
}

async fn submit(
    p: &Pipeline,
    nhs: &str,
    at: DateTime<Utc>,
    agency: &str,
    kind: &str,
    payload: Value,
) -> InputOutcome {
    let body = json!({
        "schema_version": 1,
        "occurred_at": at,
        "source": {"agency": agency, "system": "sim", "adapter": "sim"},
        "subject": {"identifiers": {"nhs_number": nhs}},
        "kind": kind,
        "payload": payload,
    });
    let raw = RawInput {
        source_id: format!("{agency}-api"),
        content_type: Some("application/json".into()),
        body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        received_at: at,
        message_id: None,
    };
    p.process(&raw, "canonical-json", Origin::Fresh).await
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let children: usize = std::env::var("SIM_CHILDREN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 3000 } else { 60 });
    let dir = tempfile::tempdir().unwrap();
    let cfg = Arc::new(
        config::load_str(&dir.path().join("county.toml"), &config_text(dir.path())).unwrap(),
    );
    let store = Store::connect(&cfg.store.url).await.unwrap();
    let pipeline = Pipeline::new(
        cfg.clone(),
        store.clone(),
        Wakers::for_agencies(cfg.agencies.keys()),
    );
    let nhs = nhs::test_nhs_numbers(300_000, children);
    let mut rng = Rng(0x5eed_2025);
    let (planned, orphans) = plan(children, &mut rng);

    let started = Instant::now();
    let mut clock: DateTime<Utc> = "2025-01-06T00:00:00Z".parse().unwrap();
    // Run on past the year until every chain started in it has had time to finish.
    let stop: DateTime<Utc> = "2026-02-15T00:00:00Z".parse().unwrap();
    let mut next = 0;
    let mut events = 0usize;
    let mut quarantined = 0usize;
    let mut steps = 0usize;
    let mut ticks = 0usize;
    while clock <= stop {
        while next < planned.len() && planned[next].at <= clock {
            let p = &planned[next];
            next += 1;
            let outcome = match &p.action {
                Action::Event {
                    agency,
                    kind,
                    payload,
                } => {
                    submit(
                        &pipeline,
                        &nhs[p.child],
                        p.at,
                        agency,
                        kind,
                        payload.clone(),
                    )
                    .await
                }
                Action::AcknowledgeClosure => {
                    let mut conn = store.acquire().await.unwrap();
                    let child = store::identity::lookup(&mut conn, "nhs", &nhs[p.child])
                        .await
                        .unwrap();
                    let open = match child {
                        Some(c) => store::handoffs::for_child(&mut conn, c)
                            .await
                            .unwrap()
                            .into_iter()
                            .find(|h| {
                                h.kind == "closure" && store::handoffs::state::is_open(&h.state)
                            }),
                        None => None,
                    };
                    drop(conn);
                    let Some(h) = open else { continue };
                    submit(
                        &pipeline,
                        &nhs[p.child],
                        p.at,
                        "la-send",
                        "handoff.acknowledged",
                        json!({"handoff_id": h.id, "outcome": "accepted"}),
                    )
                    .await
                }
            };
            match outcome {
                InputOutcome::Committed { .. } => events += 1,
                // An answer to a handoff already answered (or escalated and then closed) is
                // refused and kept for an operator; the simulation counts them.
                InputOutcome::Quarantined { .. } => quarantined += 1,
                InputOutcome::Unavailable { reason } => panic!("store unavailable: {reason}"),
            }
        }
        steps += scheduler::tick(&pipeline, clock).await.unwrap().steps;
        ticks += 1;
        clock += TICK;
    }
    let elapsed = started.elapsed();

    // The checks.
    let mut conn = store.acquire().await.unwrap();
    use sqlx::Row;
    let rows = sqlx::query("SELECT id, kind, state, escalated_at, next_check_at FROM handoffs")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_end: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unaccounted = Vec::new();
    for r in &rows {
        let kind: String = r.get("kind");
        let state: String = r.get("state");
        let escalated: Option<i64> = r.get("escalated_at");
        *by_kind.entry(kind).or_default() += 1;
        let end = match (store::handoffs::state::is_open(&state), escalated.is_some()) {
            (false, false) => "answered",
            (false, true) => "answered after escalation",
            (true, true) => "escalated, unanswered",
            (true, false) => {
                // Still inside its deadline when the run ends (a 20-week plan or an annual
                // review made late in the year): pending, and its timer is set.
                let timer: Option<i64> = r.get("next_check_at");
                if timer.is_some_and(|t| t > stop.timestamp_millis()) {
                    "pending, deadline after the run"
                } else {
                    unaccounted.push(r.get::<String, _>("id"));
                    "unaccounted"
                }
            }
        };
        *by_end.entry(end).or_default() += 1;
    }
    let escalations = store::handoffs::escalations(&mut conn).await.unwrap();
    let mut worst_lateness = Duration::zero();
    let mut early = 0;
    let mut late = 0;
    for e in escalations.iter().filter(|e| e.step > 0) {
        let lateness = e.sent_at - e.scheduled_at;
        worst_lateness = worst_lateness.max(lateness);
        if lateness < Duration::zero() {
            early += 1;
        }
        if lateness > TICK {
            late += 1;
        }
    }
    let immediate = escalations.iter().filter(|e| e.step == 0).count();
    let alerts: Vec<String> = store::alerts::open(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "no_lead_agency")
        .map(|a| a.detail)
        .collect();
    let mut orphans_unalerted = Vec::new();
    for c in &orphans {
        let child = store::identity::lookup(&mut conn, "nhs", &nhs[*c])
            .await
            .unwrap();
        let alerted = child.is_some_and(|id| {
            let id = id.to_string();
            alerts.iter().any(|detail| detail.contains(&id))
        });
        if !alerted {
            orphans_unalerted.push(*c);
        }
    }
    let closures = by_kind.get("closure").copied().unwrap_or_default();

    println!(
        "county_year: children={children} simulated 2025-01-06 .. 2026-02-15, tick {} h",
        TICK.num_hours()
    );
    println!(
        "  inputs committed {events}, refused to quarantine {quarantined}, scheduler ticks {ticks}"
    );
    println!("  handoffs {} by kind {by_kind:?}", rows.len());
    println!("  handoffs by end {by_end:?}");
    println!(
        "  escalation steps sent on the clock {steps} (recorded {}), at once on a decline {immediate}",
        escalations.len() - immediate
    );
    println!(
        "  escalation lateness (sent minus due): worst {:.1} s; before time {early}; later than one tick {late}",
        worst_lateness.num_milliseconds() as f64 / 1000.0
    );
    println!(
        "  children left without a lead agency {}: alerted {}; closure handoffs {closures}",
        orphans.len(),
        orphans.len() - orphans_unalerted.len()
    );
    println!(
        "  wall time {:.1} s ({:.0} inputs/s including the clock)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );

    assert!(
        unaccounted.is_empty(),
        "handoffs unaccounted for: {unaccounted:?}"
    );
    assert_eq!(early, 0, "an escalation was sent before its time");
    assert_eq!(
        late, 0,
        "an escalation was sent more than one tick after its time"
    );
    assert_eq!(
        steps,
        escalations.len() - immediate,
        "each clocked step recorded once"
    );
    assert!(
        orphans_unalerted.is_empty(),
        "children left without a lead agency and not alerted: {orphans_unalerted:?}"
    );
    // In this plan every closure has a planned cause: more would mean children handed to the
    // local authority who still had a lead.
    assert_eq!(
        closures,
        orphans.len(),
        "closure handoffs without a child left without a lead"
    );
    assert!(
        !orphans.is_empty() && steps > 0,
        "the simulation exercised orphans and escalations"
    );
}
