//! The operators' dashboard end to end: the real `throughline` binary, real local receivers,
//! operator accounts made with the CLI, and the browser scenarios in `tests/browser/` driving
//! Debian's headless Chromium. Each scenario is a Node script that exits 0 when its checks held;
//! its screenshots go to `target/browser-artifacts/<scenario>-<step>.png`.
//!
//! Needs `/usr/bin/chromium`, Node and `tests/browser/node_modules` (`scripts/services` installs
//! all three).

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::json;
use throughline_hub::store::{self, Store};

const NHS: &str = "9434765919";
const BAD_NHS: &str = "9434765910";
const UPN: &str = "B801200005001";
const FAMILY: &str = "Lovelace";
const DOB: &str = "2015-12-10";

const OPERATOR: (&str, &str) = ("ada", "operator-password-0123");
const ADMIN: (&str, &str) = ("root", "admin-password-0123456");
const AUDITOR: (&str, &str) = ("audrey", "auditor-password-0123");

fn child_data() -> Vec<&'static str> {
    vec![NHS, BAD_NHS, UPN, FAMILY, DOB]
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn artifacts() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("browser-artifacts")
}

struct Dash {
    hub: Hub,
    school: Receiver,
    camhs: Receiver,
    _yjs: Receiver,
}

/// A hub with three receiving agencies and an operator, an admin and an auditor account.
async fn start() -> Dash {
    start_with("").await
}

/// [`start`], with `extra` appended to the hub's configuration.
async fn start_with(extra: &str) -> Dash {
    let school = Receiver::start(SECRET).await;
    let camhs = Receiver::start(SECRET).await;
    let yjs = Receiver::start(SECRET).await;
    let hub = Hub::start(|url, port| {
        let base = config(
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
        format!("{base}\n{extra}\n")
    })
    .await;
    for ((user, password), role) in [
        (OPERATOR, "operator"),
        (ADMIN, "admin"),
        (AUDITOR, "auditor"),
    ] {
        let out = hub.cli_with_env(
            &["operators", "add", "--username", user, "--role", role],
            &[("THROUGHLINE_OPERATOR_PASSWORD", password)],
        );
        assert!(out.contains(&format!("added operator {user}")), "{out}");
    }
    Dash {
        hub,
        school,
        camhs,
        _yjs: yjs,
    }
}

/// Makes the school and CAMHS involved with the child, so the LA's next event reaches both.
async fn involve_school_and_camhs(d: &Dash) {
    d.hub
        .submit(
            SCHOOL_KEY,
            &event(
                "oakfield-primary",
                json!({"nhs_number": NHS, "upn": UPN}),
                json!({"family_name": FAMILY, "date_of_birth": DOB}),
                "school.joined",
                json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
            ),
        )
        .await;
    let opened = d
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
        !d.school.delivered_for(&opened).is_empty()
    })
    .await;
}

fn assessment_request() -> serde_json::Value {
    event(
        "la-send",
        json!({"nhs_number": NHS}),
        json!({"family_name": FAMILY, "date_of_birth": DOB}),
        "ehc_needs_assessment.requested",
        json!({"request_id": "EHCNA-77", "requested_by": "parent", "received_on": "2026-11-19"}),
    )
}

/// Runs `tests/browser/<name>.mjs` against the hub and fails the test, with the script's
/// output, unless it exits 0.
async fn scenario(d: &Dash, name: &str, extra: &[(&str, String)]) {
    let script = workspace().join(format!("tests/browser/{name}.mjs"));
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && workspace()
                .join("tests/browser/node_modules/playwright-core")
                .exists(),
        "the browser tests need /usr/bin/chromium and tests/browser/node_modules: run scripts/services"
    );
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(&script)
        .current_dir(workspace())
        .env("HUB_URL", &d.hub.base)
        .env("ARTIFACTS", artifacts())
        .env("OPERATOR_USER", OPERATOR.0)
        .env("OPERATOR_PASSWORD", OPERATOR.1)
        .env("ADMIN_USER", ADMIN.0)
        .env("ADMIN_PASSWORD", ADMIN.1)
        .env("AUDITOR_USER", AUDITOR.0)
        .env("AUDITOR_PASSWORD", AUDITOR.1);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("browser scenario {name} did not finish"))
        .expect("run node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "browser scenario {name} failed:\n{text}\nhub log:\n{}",
        d.hub.logs()
    );
    println!("{text}");
}

/// (actor, action) of every audit entry, oldest first, read from the hub's store directly.
async fn audit(d: &Dash) -> Vec<(String, String)> {
    let url = format!("sqlite://{}", d.hub.dir.path().join("store.db").display());
    let store = Store::connect(&url).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    let mut entries: Vec<_> = store::audit::recent(&mut conn, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    entries.reverse();
    entries
}

fn has(entries: &[(String, String)], actor: &str, action: &str) -> bool {
    entries.iter().any(|(a, b)| a == actor && b == action)
}

#[tokio::test]
async fn operators_log_in_and_a_wrong_password_is_refused() {
    let d = start().await;
    scenario(&d, "login", &[]).await;
    let entries = audit(&d).await;
    for action in [
        "dashboard.login_failed",
        "dashboard.login",
        "dashboard.logout",
    ] {
        assert!(
            has(&entries, "operator:ada", action),
            "{action} not audited: {entries:?}"
        );
    }
    d.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn a_posted_events_deliveries_appear_live_on_the_overview() {
    let d = start().await;
    involve_school_and_camhs(&d).await;
    scenario(
        &d,
        "live_overview",
        &[
            ("SOURCE_KEY", LA_KEY.to_owned()),
            ("EVENT_JSON", assessment_request().to_string()),
            ("EXPECTED_DELIVERIES", "2".to_owned()),
        ],
    )
    .await;
    d.hub.assert_logs_free_of(&child_data());
}

#[tokio::test]
async fn a_dead_letter_is_requeued_from_the_dashboard_and_delivered() {
    let d = start().await;
    involve_school_and_camhs(&d).await;
    d.school.set_default(Behaviour::Status(400));
    let id = d.hub.submit(LA_KEY, &assessment_request()).await;
    eventually("the school's delivery is dead-lettered", || {
        d.hub
            .cli(&["deliveries", "list", "--status", "dead"])
            .contains(&id)
    })
    .await;
    let refused = d.school.attempts_for(&id);
    assert_eq!(refused.len(), 1, "a 400 is not retried");
    d.school.set_default(Behaviour::Status(200));

    scenario(
        &d,
        "dead_letter",
        &[("EVENT_ID", id.clone()), ("CHILD_UPN", UPN.to_owned())],
    )
    .await;
    let delivered = d.school.delivered_for(&id);
    assert_eq!(delivered.len(), 1, "delivered once after the requeue");
    assert_eq!(
        delivered[0].idempotency_key, refused[0].idempotency_key,
        "the requeued delivery keeps its idempotency key"
    );
    assert!(has(&audit(&d).await, "operator:ada", "delivery.requeued"));
    d.hub.assert_logs_free_of(&child_data());
}

/// Posts an event with a wrong NHS check digit; returns its quarantine id.
async fn quarantined(d: &Dash) -> String {
    let (status, body) = d
        .hub
        .post(
            LA_KEY,
            "/v1/events",
            &event(
                "la-send",
                json!({"nhs_number": BAD_NHS}),
                json!({"family_name": FAMILY, "date_of_birth": DOB}),
                "referral.made",
                json!({"referral_id": "REF-2", "to_agency": "camhs-north"}),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    body["quarantine_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn operators_see_quarantined_child_data_masked_and_admins_unmasked() {
    let d = start().await;
    let qid = quarantined(&d).await;
    scenario(
        &d,
        "masking",
        &[
            ("QUARANTINE_ID", qid),
            ("CHILD_DATA", [BAD_NHS, FAMILY, DOB].join("|")),
        ],
    )
    .await;
    let entries = audit(&d).await;
    assert!(
        has(&entries, "operator:root", "quarantine.shown"),
        "the admin's viewing is audited: {entries:?}"
    );
    assert!(
        !has(&entries, "operator:ada", "quarantine.shown"),
        "the operator saw nothing to audit"
    );
    d.hub.assert_logs_free_of(&child_data());
}

fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A client that does not follow redirects, so each answer is seen as sent.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in over HTTP; returns the `Cookie` header value.
async fn login_cookie(d: &Dash, (user, password): (&str, &str)) -> String {
    let r = client()
        .post(format!("{}/dashboard/login", d.hub.base))
        .header("Origin", &d.hub.base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("username", user), ("password", password)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {user}");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// The CSRF token in a page's forms.
async fn csrf_token(d: &Dash, cookie: &str, path: &str) -> String {
    let page = client()
        .get(format!("{}{path}", d.hub.base))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    page[start..start + 64].to_owned()
}

#[tokio::test]
async fn dashboard_posts_need_the_csrf_token_the_origin_and_a_role_that_may_act() {
    let d = start().await;
    let qid = quarantined(&d).await;
    let item = format!("/dashboard/quarantine/{qid}");
    let cookie = login_cookie(&d, OPERATOR).await;
    let token = csrf_token(&d, &cookie, &item).await;
    let discard = |origin: Option<&str>, body: String| {
        let mut r = client()
            .post(format!("{}{item}/discard", d.hub.base))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send()
    };
    let base = d.hub.base.as_str();
    let no_token = discard(Some(base), form(&[("reason", "dup")]))
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403, "no token");
    let wrong = discard(
        Some(base),
        form(&[("csrf", &"0".repeat(64)), ("reason", "dup")]),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 403, "a wrong token");
    let cross = discard(
        Some("http://attacker.invalid"),
        form(&[("csrf", &token), ("reason", "dup")]),
    )
    .await
    .unwrap();
    assert_eq!(cross.status(), 403, "the right token from another origin");
    let nowhere = discard(None, form(&[("csrf", &token), ("reason", "dup")]))
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 403, "no Origin or Referer");
    assert!(
        d.hub.cli(&["quarantine", "list"]).contains(&qid),
        "still held after the refused posts"
    );

    // An auditor with a valid token and origin still may not act.
    let auditor = login_cookie(&d, AUDITOR).await;
    let auditor_token = csrf_token(&d, &auditor, &item).await;
    let r = client()
        .post(format!("{}{item}/discard", d.hub.base))
        .header("Cookie", &auditor)
        .header("Origin", base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("csrf", &auditor_token), ("reason", "dup")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an auditor may not discard");

    let ok = discard(
        Some(base),
        form(&[("csrf", &token), ("reason", "sender resent it")]),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 303, "the operator's own form is accepted");
    assert!(
        d.hub
            .cli(&["quarantine", "list", "--status", "discarded"])
            .contains(&qid)
    );

    // A login posted from another site is refused before any password is checked.
    let forged = client()
        .post(format!("{}/dashboard/login", d.hub.base))
        .header("Origin", "http://attacker.invalid")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("username", OPERATOR.0), ("password", OPERATOR.1)]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Without a session, pages and the event stream send the browser to the login form.
    for path in [
        "/dashboard",
        "/dashboard/events?watch=overview",
        item.as_str(),
    ] {
        let r = client()
            .get(format!("{}{path}", d.hub.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/dashboard/login", "{path}");
    }
    let entries = audit(&d).await;
    assert!(has(&entries, "operator:ada", "quarantine.discarded"));
    d.hub.assert_logs_free_of(&child_data());
}

/// Every action route of the dashboard, and whether only an admin may use it (the reveals of
/// child data); the others are for any role that may act. Kept in step with the router in
/// `hub/src/dashboard.rs`.
const ACTIONS: [(&str, bool); 12] = [
    ("/dashboard/agencies/{id}/pause", false),
    ("/dashboard/agencies/{id}/resume", false),
    ("/dashboard/deliveries/{id}/reveal", true),
    ("/dashboard/deliveries/{id}/requeue", false),
    ("/dashboard/deliveries/{id}/discard", false),
    ("/dashboard/children/{id}/reveal", true),
    ("/dashboard/identity/{id}/reveal", true),
    ("/dashboard/identity/{id}/confirm", false),
    ("/dashboard/identity/{id}/reject", false),
    ("/dashboard/quarantine/{id}/reveal", true),
    ("/dashboard/quarantine/{id}/replay", false),
    ("/dashboard/quarantine/{id}/discard", false),
];

#[tokio::test]
async fn every_dashboard_action_refuses_a_forged_or_unauthorised_post() {
    let d = start().await;
    let base = d.hub.base.as_str();
    let operator = login_cookie(&d, OPERATOR).await;
    let operator_token = csrf_token(&d, &operator, "/dashboard").await;
    let auditor = login_cookie(&d, AUDITOR).await;
    let auditor_token = csrf_token(&d, &auditor, "/dashboard").await;
    let admin = login_cookie(&d, ADMIN).await;
    let admin_token = csrf_token(&d, &admin, "/dashboard").await;
    let wrong_token = "0".repeat(64);
    // The checks come before an action reads its id, so one that names nothing will do.
    let id = "0190a6f2-0000-7000-8000-000000000001";

    let post = |path: String, cookie: Option<&str>, origin: Option<&str>, token: Option<&str>| {
        let mut r = client()
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            r = r.header("Cookie", cookie);
        }
        if let Some(origin) = origin {
            r = r.header("Origin", origin);
        }
        let mut fields = vec![("reason", "checked by a test")];
        if let Some(token) = token {
            fields.push(("csrf", token));
        }
        r.body(form(&fields)).send()
    };

    for (action, admin_only) in ACTIONS {
        let path = action.replace("{id}", id);
        let r = post(path.clone(), None, Some(base), Some(&operator_token))
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{action} without a session");
        assert_eq!(r.headers()["location"], "/dashboard/login", "{action}");

        let forged: [(&str, Option<&str>, Option<&str>); 5] = [
            ("no token", Some(base), None),
            ("a wrong token", Some(base), Some(&wrong_token)),
            ("another session's token", Some(base), Some(&admin_token)),
            (
                "another origin",
                Some("http://attacker.invalid"),
                Some(&operator_token),
            ),
            ("no Origin or Referer", None, Some(&operator_token)),
        ];
        for (what, origin, token) in forged {
            let r = post(path.clone(), Some(&operator), origin, token)
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{action} with {what}");
        }

        // A valid post from a role that may not do it.
        let (role, cookie, token) = if admin_only {
            ("an operator", &operator, &operator_token)
        } else {
            ("an auditor", &auditor, &auditor_token)
        };
        let r = post(path.clone(), Some(cookie), Some(base), Some(token))
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{action} by {role}");

        // And the one that may gets past every check to the action itself, which finds nothing.
        let (cookie, token) = if admin_only {
            (&admin, &admin_token)
        } else {
            (&operator, &operator_token)
        };
        let r = post(path.clone(), Some(cookie), Some(base), Some(token))
            .await
            .unwrap();
        assert_ne!(r.status(), 403, "{action} by a role that may");
    }
}

async fn post_form(
    d: &Dash,
    cookie: &str,
    path: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(format!("{}{path}", d.hub.base))
        .header("Cookie", cookie)
        .header("Origin", &d.hub.base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_paused_agency_receives_nothing_until_resumed_even_across_a_restart() {
    let mut d = start().await;
    involve_school_and_camhs(&d).await;
    let cookie = login_cookie(&d, OPERATOR).await;
    let token = csrf_token(&d, &cookie, "/dashboard/agencies").await;

    let auditor = login_cookie(&d, AUDITOR).await;
    let auditor_token = csrf_token(&d, &auditor, "/dashboard/agencies").await;
    let refused = post_form(
        &d,
        &auditor,
        "/dashboard/agencies/oakfield-primary/pause",
        &[("csrf", &auditor_token), ("reason", "x")],
    )
    .await;
    assert_eq!(refused.status(), 403, "an auditor may not pause");

    let paused = post_form(
        &d,
        &cookie,
        "/dashboard/agencies/oakfield-primary/pause",
        &[
            ("csrf", &token),
            ("reason", "school's receiver is being replaced"),
        ],
    )
    .await;
    assert_eq!(paused.status(), 303);

    // The pause is a row in the store: it holds after the hub restarts (and the session too).
    d.hub.restart().await;
    let id = d.hub.submit(LA_KEY, &assessment_request()).await;
    eventually("CAMHS, not paused, receives the request", || {
        !d.camhs.delivered_for(&id).is_empty()
    })
    .await;
    // The school's worker polls every 100 ms; give it several chances to (wrongly) send.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(
        d.school.attempts_for(&id).is_empty(),
        "nothing is sent to a paused agency"
    );
    let page = client()
        .get(format!("{}/dashboard/agencies", d.hub.base))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"data-agency="oakfield-primary" data-state="paused""#),
        "{page}"
    );

    let resumed = post_form(
        &d,
        &cookie,
        "/dashboard/agencies/oakfield-primary/resume",
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(resumed.status(), 303);
    eventually("the school receives the request once resumed", || {
        d.school.delivered_for(&id).len() == 1
    })
    .await;
    let entries = audit(&d).await;
    for action in ["agency.paused", "agency.resumed"] {
        assert!(has(&entries, "operator:ada", action), "{action}");
    }
    d.hub.assert_logs_free_of(&child_data());
}

/// The hub's store, opened beside the running hub (SQLite allows both).
async fn hub_store(d: &Dash) -> Store {
    let url = format!("sqlite://{}", d.hub.dir.path().join("store.db").display());
    Store::connect(&url).await.unwrap()
}

#[tokio::test]
async fn an_operator_confirms_a_possible_match_and_the_records_become_one_child() {
    let d = start().await;
    // The LA knows the child by NHS number, the school by UPN: no shared identifier, but the
    // same family name, date of birth and postcode district.
    d.hub
        .submit(
            LA_KEY,
            &event(
                "la-send",
                json!({"nhs_number": NHS}),
                json!({"family_name": FAMILY, "date_of_birth": DOB, "postcode": "LS1 4AP"}),
                "ehc_needs_assessment.requested",
                json!({"request_id": "EHCNA-78", "requested_by": "parent", "received_on": "2026-11-19"}),
            ),
        )
        .await;
    d.hub
        .submit(
            SCHOOL_KEY,
            &event(
                "oakfield-primary",
                json!({"upn": UPN}),
                json!({"family_name": FAMILY, "date_of_birth": DOB, "postcode": "LS1 9ZZ"}),
                "school.joined",
                json!({"school_urn": "100001", "joined_on": "2026-09-01"}),
            ),
        )
        .await;
    let store = hub_store(&d).await;
    let children = |store: Store| async move {
        let mut conn = store.acquire().await.unwrap();
        (
            store::identity::lookup(&mut conn, "nhs", NHS)
                .await
                .unwrap(),
            store::identity::lookup(&mut conn, "upn", UPN)
                .await
                .unwrap(),
        )
    };
    let (by_nhs, by_upn) = children(store.clone()).await;
    assert!(
        by_nhs.is_some() && by_nhs != by_upn,
        "two children before the review"
    );
    let reviews = {
        let mut conn = store.acquire().await.unwrap();
        store::reviews::open_possible_matches(&mut conn, 10)
            .await
            .unwrap()
    };
    assert_eq!(reviews.len(), 1, "one possible match raised");

    scenario(
        &d,
        "possible_match",
        &[
            ("REVIEW_ID", reviews[0].id.clone()),
            ("CHILD_DATA", [NHS, UPN, FAMILY, DOB, "LS1"].join("|")),
        ],
    )
    .await;
    let (by_nhs, by_upn) = children(store.clone()).await;
    assert!(
        by_nhs.is_some() && by_nhs == by_upn,
        "one child after the confirmation"
    );
    let entries = audit(&d).await;
    for action in ["identity.merged", "identity_review.confirmed"] {
        assert!(
            has(&entries, "operator:ada", action),
            "{action} audited: {entries:?}"
        );
    }
    d.hub.assert_logs_free_of(&child_data());
}

/// A page's HTML, fetched with a session cookie; panics unless it answers 200.
async fn page(d: &Dash, cookie: &str, path: &str) -> String {
    let r = client()
        .get(format!("{}{path}", d.hub.base))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_handoff_near_its_deadline_is_listed_with_the_childs_timeline_and_audit_log() {
    // A referral must be answered within two hours: well inside one working day.
    let d = start_with("[handoffs.deadlines]\nreferral = \"2 hours\"").await;
    let id = d
        .hub
        .submit(
            LA_KEY,
            &event(
                "la-send",
                json!({"nhs_number": NHS}),
                json!({"family_name": FAMILY, "date_of_birth": DOB}),
                "referral.made",
                json!({"referral_id": "REF-9", "to_agency": "camhs-north"}),
            ),
        )
        .await;
    eventually("CAMHS receives the referral", || {
        !d.camhs.delivered_for(&id).is_empty()
    })
    .await;
    let child = {
        let store = hub_store(&d).await;
        let mut conn = store.acquire().await.unwrap();
        store::identity::lookup(&mut conn, "nhs", NHS)
            .await
            .unwrap()
            .unwrap()
    };

    for who in [OPERATOR, AUDITOR, ADMIN] {
        let cookie = login_cookie(&d, who).await;
        let list = page(&d, &cookie, "/dashboard/handoffs").await;
        assert!(
            list.contains("data-status=\"approaching\"") && list.contains("camhs-north"),
            "{} sees the referral approaching its deadline: {list}",
            who.0
        );
        let timeline = format!("/dashboard/children/{child}");
        assert!(list.contains(&timeline), "the row links to the child");
        let html = page(&d, &cookie, &timeline).await;
        for part in [
            "referral.made",
            "camhs-north",
            "REF-9",
            "id=\"child-handoffs\"",
        ] {
            if part == "REF-9" {
                assert!(
                    !html.contains(part),
                    "the referral id is child data, masked"
                );
            } else {
                assert!(html.contains(part), "the timeline shows {part}");
            }
        }
        for secret in child_data() {
            assert!(
                !html.contains(secret),
                "{} sees no child data unasked",
                who.0
            );
        }
        assert_eq!(
            html.contains("id=\"reveal\""),
            who == ADMIN,
            "only the admin may reveal"
        );

        // The audit log, filtered by the child and by the agency, read-only for every role.
        let audit = page(&d, &cookie, &format!("/dashboard/audit?child={child}")).await;
        assert!(
            audit.contains("route.allowed") && audit.contains(&id),
            "{audit}"
        );
        assert!(
            !audit.contains("dashboard.login"),
            "only the child's entries"
        );
        let by_agency = page(&d, &cookie, "/dashboard/audit?agency=camhs-north").await;
        assert!(by_agency.contains(&id), "the referral's entries name CAMHS");
        assert!(
            !by_agency.contains("dashboard.login")
                && !by_agency.contains("<td>oakfield-primary</td>"),
            "only entries naming CAMHS"
        );
        assert!(!audit.contains("method=\"post\" action=\"/dashboard/audit"));
        let future = page(&d, &cookie, "/dashboard/audit?from=2099-01-01T00%3A00").await;
        assert!(
            future.contains("No entries."),
            "a time range with nothing in it"
        );
    }
    let bad = client()
        .get(format!("{}/dashboard/audit?from=yesterday", d.hub.base))
        .header("Cookie", login_cookie(&d, OPERATOR).await)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a malformed time is refused");

    // The admin reveals the timeline; the viewing is audited.
    let cookie = login_cookie(&d, ADMIN).await;
    let path = format!("/dashboard/children/{child}");
    let token = csrf_token(&d, &cookie, &path).await;
    let shown = post_form(&d, &cookie, &format!("{path}/reveal"), &[("csrf", &token)]).await;
    assert_eq!(shown.status(), 200);
    assert!(shown.text().await.unwrap().contains("REF-9"));
    let operator = login_cookie(&d, OPERATOR).await;
    let token = csrf_token(&d, &operator, &path).await;
    let refused = post_form(
        &d,
        &operator,
        &format!("{path}/reveal"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(refused.status(), 403, "an operator may not reveal");
    let entries = audit(&d).await;
    assert!(has(&entries, "operator:root", "child.shown"));
    assert!(!has(&entries, "operator:ada", "child.shown"));
    d.hub.assert_logs_free_of(&child_data());
}
