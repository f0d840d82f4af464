//! The read-only operator endpoints (`/v1/deliveries`, `/v1/quarantine`, `/v1/agencies`) end to
//! end: the real `throughline` binary, a temporary SQLite store and real local receivers. They
//! open only to `api.operator_api_key`, and never answer with child data.

mod common;

use common::*;
use serde_json::{Value, json};

const NHS: &str = "9434765919";
const UPN: &str = "B801200005001";
const FAMILY: &str = "Lovelace";
const GIVEN: &str = "Augusta";
const DOB: &str = "2015-12-10";

struct Setup {
    hub: Hub,
    school: Receiver,
    camhs: Receiver,
    _yjs: Receiver,
}

/// The end-to-end tests' three receiving agencies and LA SEND team, with an operator key when
/// `operator_key` (else `api.operator_api_key` is unset).
async fn setup(operator_key: bool) -> Setup {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| {
        let c = config(
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
        if operator_key {
            c.replacen(
                "[api]\n",
                "[api]\noperator_api_key = \"${TEST_OPERATOR_KEY}\"\n",
                1,
            )
        } else {
            c
        }
    })
    .await;
    Setup {
        hub,
        school,
        camhs,
        _yjs: yjs,
    }
}

/// Two deliveries to the school (its own event is not sent back to it; CAMHS's is), then the
/// LA's request to both: three deliveries in all, two agencies.
async fn traffic(s: &Setup) -> String {
    s.hub
        .submit(
            SCHOOL_KEY,
            &event(
                "oakfield-primary",
                json!({"nhs_number": NHS, "upn": UPN}),
                json!({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB}),
                "school.joined",
                json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
            ),
        )
        .await;
    let opened = s
        .hub
        .submit(
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
    eventually("the school hears of the CAMHS episode", || {
        !s.school.delivered_for(&opened).is_empty()
    })
    .await;
    let request = s
        .hub
        .submit(
            LA_KEY,
            &event(
                "la-send",
                json!({"nhs_number": NHS}),
                json!({"family_name": FAMILY, "date_of_birth": DOB}),
                "ehc_needs_assessment.requested",
                json!({"request_id": "EHCNA-77", "requested_by": "parent", "received_on": "2026-11-19"}),
            ),
        )
        .await;
    eventually("both agencies receive the request", || {
        !s.school.delivered_for(&request).is_empty() && !s.camhs.delivered_for(&request).is_empty()
    })
    .await;
    request
}

/// An event whose NHS number fails its check digit: quarantined, with child data in it.
async fn quarantine_one(s: &Setup) -> String {
    let (status, problem) = s
        .hub
        .post(
            LA_KEY,
            "/v1/events",
            &event(
                "la-send",
                json!({"nhs_number": "9434765910"}),
                json!({"given_name": GIVEN, "family_name": FAMILY, "date_of_birth": DOB}),
                "ehc_needs_assessment.requested",
                json!({"request_id": "EHCNA-78", "requested_by": "parent", "received_on": "2026-11-19"}),
            ),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    problem["quarantine_id"].as_str().unwrap().to_owned()
}

fn assert_free_of_child_data(body: &Value) {
    let text = body.to_string();
    for needle in [NHS, "9434765910", UPN, FAMILY, GIVEN, DOB] {
        assert!(!text.contains(needle), "`{needle}` in {text}");
    }
}

#[tokio::test]
async fn only_the_operator_key_opens_the_operator_endpoints() {
    let s = setup(true).await;
    for path in ["/v1/deliveries", "/v1/quarantine", "/v1/agencies"] {
        let (status, _) = s.hub.get(OPERATOR_KEY, path).await;
        assert_eq!(status, 200, "{path}");
        let (status, problem) = s.hub.get(LA_KEY, path).await;
        assert_eq!(status, 403, "{path}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .ends_with("/operator-only")
        );
        let (status, _) = s.hub.get("not-a-key-at-all-0123456789", path).await;
        assert_eq!(status, 401, "{path}");
    }
    let r = reqwest::get(format!("{}/v1/agencies", s.hub.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    // The operator key is not a source's: it cannot submit.
    let (status, _) = s.hub.post(OPERATOR_KEY, "/v1/events", &json!({})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn without_an_operator_key_configured_the_endpoints_are_off() {
    let s = setup(false).await;
    for key in [OPERATOR_KEY, LA_KEY] {
        let (status, problem) = s.hub.get(key, "/v1/deliveries").await;
        assert_eq!(status, 403, "{problem}");
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .ends_with("/operator-api-off"),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn deliveries_filter_by_agency_and_status_and_page_without_gaps() {
    let s = setup(true).await;
    let request = traffic(&s).await;

    let (status, all) = s.hub.get(OPERATOR_KEY, "/v1/deliveries").await;
    assert_eq!(status, 200, "{all}");
    let all = all["deliveries"].as_array().unwrap().clone();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_free_of_child_data(&Value::Array(all.clone()));
    // Newest first: the LA's request is on top.
    assert_eq!(all[0]["event_id"], request.as_str());

    let (_, camhs) = s
        .hub
        .get(OPERATOR_KEY, "/v1/deliveries?agency=camhs-north")
        .await;
    let camhs = camhs["deliveries"].as_array().unwrap();
    assert_eq!(camhs.len(), 1);
    assert_eq!(camhs[0]["agency"], "camhs-north");
    let (_, delivered) = s
        .hub
        .get(
            OPERATOR_KEY,
            "/v1/deliveries?status=delivered&agency=oakfield-primary",
        )
        .await;
    assert_eq!(delivered["deliveries"].as_array().unwrap().len(), 2);
    let (_, dead) = s.hub.get(OPERATOR_KEY, "/v1/deliveries?status=dead").await;
    assert_eq!(dead["deliveries"], json!([]));

    // One at a time: every delivery once, in the same order, and no cursor after the last.
    let mut paged = Vec::new();
    let mut path = "/v1/deliveries?limit=1".to_owned();
    loop {
        let (status, page) = s.hub.get(OPERATOR_KEY, &path).await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["deliveries"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/deliveries?limit=1&cursor={c}"),
            None => break,
        }
        assert!(paged.len() <= 3, "paging does not end");
    }
    let ids = |v: &[Value]| v.iter().map(|d| d["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&all));

    for bad in [
        "?status=lost",
        "?limit=0",
        "?limit=5000",
        "?cursor=nonsense",
        "?colour=red",
    ] {
        let (status, problem) = s
            .hub
            .get(OPERATOR_KEY, &format!("/v1/deliveries{bad}"))
            .await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
}

#[tokio::test]
async fn quarantine_is_listed_and_shown_masked() {
    let s = setup(true).await;
    let first = quarantine_one(&s).await;
    let second = quarantine_one(&s).await;

    let (status, list) = s.hub.get(OPERATOR_KEY, "/v1/quarantine?status=held").await;
    assert_eq!(status, 200, "{list}");
    let items = list["quarantine"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["source_id"], "la-send-system");
    assert!(
        items[0]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["field"] == "subject.identifiers.nhs_number"),
        "{list}"
    );
    assert_free_of_child_data(&list);
    let (_, replayed) = s
        .hub
        .get(OPERATOR_KEY, "/v1/quarantine?status=replayed")
        .await;
    assert_eq!(replayed["quarantine"], json!([]));
    let (_, other_source) = s
        .hub
        .get(OPERATOR_KEY, "/v1/quarantine?source=oakfield-mis")
        .await;
    assert_eq!(other_source["quarantine"], json!([]));

    // Paged one at a time: both, newest first, then no cursor.
    let (_, page1) = s.hub.get(OPERATOR_KEY, "/v1/quarantine?limit=1").await;
    assert_eq!(page1["quarantine"][0]["id"], second.as_str());
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = s
        .hub
        .get(
            OPERATOR_KEY,
            &format!("/v1/quarantine?limit=1&cursor={cursor}"),
        )
        .await;
    assert_eq!(page2["quarantine"][0]["id"], first.as_str());
    let (_, page3) = s
        .hub
        .get(
            OPERATOR_KEY,
            &format!(
                "/v1/quarantine?limit=1&cursor={}",
                page2["next_cursor"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(page3["quarantine"], json!([]));
    assert!(page3.get("next_cursor").is_none(), "{page3}");

    let (status, item) = s
        .hub
        .get(OPERATOR_KEY, &format!("/v1/quarantine/{first}"))
        .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["id"], first.as_str());
    assert_eq!(item["format"], "canonical-json");
    assert_eq!(item["step"], "normalise");
    let raw = item["raw_masked"].as_str().unwrap();
    // The message's own fields stay, so the reasons can be matched to it; the child's go.
    assert!(raw.contains("ehc_needs_assessment.requested") && raw.contains("nhs_number"));
    assert!(raw.contains("•••"), "{raw}");
    assert_free_of_child_data(&item);

    for missing in [
        "/v1/quarantine/not-a-uuid",
        "/v1/quarantine/00000000-0000-7000-8000-000000000000",
    ] {
        let (status, problem) = s.hub.get(OPERATOR_KEY, missing).await;
        assert_eq!(status, 404, "{missing}: {problem}");
    }
    let (status, _) = s
        .hub
        .get(OPERATOR_KEY, "/v1/quarantine?cursor=12_not-a-uuid")
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn agencies_show_role_sink_link_and_backlog() {
    let s = setup(true).await;
    traffic(&s).await;
    // CAMHS's system goes down: the next request for it waits in its queue.
    s.camhs.set_default(Behaviour::Status(503));
    let (status, _) = s
        .hub
        .post(
            LA_KEY,
            "/v1/events",
            &event(
                "la-send",
                json!({"nhs_number": NHS}),
                json!({}),
                "ehc_needs_assessment.requested",
                json!({"request_id": "EHCNA-79", "requested_by": "parent", "received_on": "2026-11-20"}),
            ),
        )
        .await;
    assert_eq!(status, 202);
    let mut camhs = Value::Null;
    for _ in 0..200 {
        let (status, list) = s.hub.get(OPERATOR_KEY, "/v1/agencies").await;
        assert_eq!(status, 200, "{list}");
        camhs = list["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == "camhs-north")
            .cloned()
            .unwrap();
        if camhs["retrying"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(camhs["role"], "health");
    assert_eq!(camhs["sink"], "webhook");
    assert_eq!(camhs["link"], "per_request");
    assert_eq!(camhs["backlog"], 1, "{camhs}");
    assert_eq!(camhs["retrying"], 1, "{camhs}");
    assert_eq!(camhs["paused"], Value::Null);
    assert!(camhs["last_success"].is_string(), "{camhs}");

    let (_, list) = s.hub.get(OPERATOR_KEY, "/v1/agencies").await;
    let la = list["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "la-send")
        .unwrap();
    assert_eq!(la["sink"], Value::Null);
    assert_eq!(la["link"], "none");
    assert_eq!(la["backlog"], 0);
}
