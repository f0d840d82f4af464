use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::Value;

use super::document;
use crate::import::{FileDigest, FileFacts, ImportReport, QuarantinedRecord};

/// Every `.route("<path>", <methods>)` in `api.rs`, as (method, path). The router cannot list
/// its own routes, so this reads the source that registers them: a route added there without
/// documentation fails `every_route_under_v1_is_documented`.
fn registered_routes() -> BTreeSet<(String, String)> {
    let src = include_str!("../../api.rs");
    for unsupported in [".nest(", ".merge(", ".route_service(", ".nest_service("] {
        assert!(
            !src.contains(unsupported),
            "api.rs uses `{unsupported}`: teach registered_routes() to read it, so its routes are checked too"
        );
    }
    let mut routes = BTreeSet::new();
    for (at, _) in src.match_indices(".route(") {
        let args = &src[at + ".route(".len()..];
        let end = closing_paren(args);
        let args = &args[..end];
        let path = args
            .trim_start()
            .strip_prefix('"')
            .and_then(|rest| rest.split('"').next())
            .expect("a route's first argument is its path, a string literal");
        for method in ["get", "post", "put", "patch", "delete"] {
            let call = format!("{method}(");
            let called = args.match_indices(&call).any(|(i, _)| {
                i == 0
                    || !args[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if called {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

/// The index of the `)` that closes an argument list starting just after its `(`.
fn closing_paren(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unbalanced parentheses in api.rs")
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

#[test]
fn the_route_reader_finds_the_routes_it_should() {
    let routes = registered_routes();
    for expected in [
        ("post", "/v1/events"),
        ("get", "/v1/handoffs/{id}"),
        ("post", "/v1/handoffs/{id}/exemption/end"),
        ("get", "/healthz"),
    ] {
        assert!(
            routes.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not found in {routes:?}"
        );
    }
}

#[test]
fn every_route_under_v1_is_documented() {
    let documented = documented_routes(&document());
    let missing: Vec<_> = registered_routes()
        .into_iter()
        .filter(|(_, path)| path.starts_with("/v1/") || path == "/healthz" || path == "/readyz")
        .filter(|r| !documented.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes registered in api.rs but missing from the OpenAPI document (api/openapi.rs): {missing:?}"
    );
}

#[test]
fn every_documented_route_is_registered() {
    let registered = registered_routes();
    let stale: Vec<_> = documented_routes(&document())
        .into_iter()
        .filter(|r| !registered.contains(r))
        .collect();
    assert!(stale.is_empty(), "documented but not served: {stale:?}");
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_within_the_document() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} points outside the document"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn the_event_contracts_are_the_ones_the_contracts_crate_publishes() {
    let doc = document();
    let published = throughline_contracts::schema::contract_schemas()
        .into_iter()
        .find(|(stem, _)| *stem == "event-submission")
        .unwrap()
        .1;
    let ours = &doc["components"]["schemas"]["EventSubmission"];
    assert_eq!(
        ours["properties"].as_object().map(|m| m.len()),
        published["properties"].as_object().map(|m| m.len())
    );
    assert_eq!(ours["required"], published["required"]);
    // Every definition the published schema has is in the document, described the same way
    // up to where references point.
    for (name, schema) in published["$defs"].as_object().unwrap() {
        let text = serde_json::to_string(schema)
            .unwrap()
            .replace("#/$defs/", "#/components/schemas/");
        let mine = serde_json::to_string(&doc["components"]["schemas"][name]).unwrap();
        assert_eq!(mine, text, "{name} differs from contracts/schema");
    }
}

#[test]
fn every_error_answer_is_a_problem_document() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || (status.starts_with('5') && path.starts_with("/v1/"))
                {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

#[test]
fn query_parameters_come_from_the_query_types_without_null() {
    let doc = document();
    let params = doc["paths"]["/v1/deliveries"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let status = params.iter().find(|p| p["name"] == "status").unwrap();
    assert_eq!(status["in"], "query");
    assert_eq!(status["required"], false);
    let values = status["schema"]["enum"].as_array().unwrap();
    assert!(
        values.contains(&"dead".into()) && !values.contains(&Value::Null),
        "{status}"
    );
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["type"], "integer", "{limit}");
    assert_eq!(limit["schema"]["maximum"], 1000, "{limit}");
}

/// `ImportReport` has a hand-written `Serialize`; its hand-written schema must match it.
#[test]
fn import_report_schema_matches_both_kinds_of_report() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["ImportReport"];
    let properties: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let required = |v: &Value| -> Vec<String> {
        v["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let report = |file| ImportReport {
        file,
        file_sha256: FileDigest::of(b"file").to_string(),
        records: 2,
        committed: 1,
        duplicates: 0,
        without_events: 0,
        quarantined: vec![QuarantinedRecord {
            index: 1,
            quarantine_id: uuid::Uuid::now_v7(),
            step: "normalise".into(),
            problems: vec![],
        }],
        events: 1,
        history: 0,
        warnings: vec!["CTF version 27.0 is newer than CTF 26".into()],
    };
    let reports = [
        report(FileFacts::Ctf {
            ctf_version: "25.0".into(),
        }),
        report(FileFacts::CinCensus {
            collection_year: 2026,
            reference_date: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            lea: "201".into(),
        }),
        report(FileFacts::Extract {
            format: "social-care-csv".into(),
            media_type: "text/csv",
        }),
    ];
    let branches = schema["oneOf"].as_array().unwrap();
    assert_eq!(
        branches.len(),
        reports.len(),
        "one branch per kind of report"
    );
    for (report, branch) in reports.iter().zip(branches) {
        let json = serde_json::to_value(report).unwrap();
        let keys: BTreeSet<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            keys.is_subset(&properties),
            "{keys:?} not all in {properties:?}"
        );
        for r in required(schema).into_iter().chain(required(branch)) {
            assert!(keys.contains(r.as_str()), "{r} missing from {json}");
        }
    }
}
