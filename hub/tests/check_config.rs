//! `throughline check-config`: every problem in a file, each as `file: key: reason`, and a
//! non-zero exit; the shipped example configuration passes.

use std::process::Command;

fn check(config: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
    cmd.args(["check-config", "--config"]).arg(&path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        text.replace(&path.display().to_string(), "FILE"),
    )
}

#[test]
fn reports_every_error_with_file_key_and_reason() {
    let (code, out) = check(
        r#"
[store]
url = "mysql://nope"
colour = "blue"

[[agencies]]
id = "CAMHS North"
role = "health"

[[agencies]]
id = "school"
role = "school"
sink = { type = "webhook", url = "ftp://x", secret = "${THROUGHLINE_TEST_UNSET_SECRET}" }

[[sources]]
id = "s1"
agency = "nobody"
format = "hl7v2"
api_key = "written-in-plain-text-here"

[[routes]]
kinds = ["referral.lost"]
roles = ["astronaut"]

[[sharing_agreements]]
id = "isa"
agency = "school"
kinds = ["*"]
fields = ["nhs_number"]
"#,
        &[],
    );
    assert_eq!(code, 2, "{out}");
    for expected in [
        "FILE: store.colour: unknown key",
        "FILE: agencies[1].sink.secret: environment variable THROUGHLINE_TEST_UNSET_SECRET is not set",
        "FILE: sources[0].api_key: secrets must not be written in the file",
        "FILE: store.url: must start with sqlite: or postgres:",
        "FILE: agencies[0].id: may contain only lowercase letters",
        "FILE: sources[0].agency: no agency with this id is configured",
        "FILE: sources[0].format: unknown format",
        "FILE: routes[0].kinds[0]: unknown event kind `referral.lost`",
        "FILE: routes[0].roles[0]: no agency has this role",
        "FILE: sharing_agreements[0].fields[0]: must be a path starting with subject. or payload.",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(
        !out.contains("written-in-plain-text-here"),
        "a secret's value must never be printed"
    );
}

#[test]
fn a_bad_sink_names_its_key() {
    let (code, out) = check(
        r#"
[[agencies]]
id = "school"
role = "school"
sink = { type = "webhook", url = "ftp://x", secret = "${SECRET}" }
"#,
        &[("SECRET", "long-enough-secret-value")],
    );
    assert_eq!(code, 2);
    assert!(
        out.contains("FILE: agencies[0].sink: `url`: must use http or https"),
        "{out}"
    );
}

#[test]
fn the_shipped_embedded_default_passes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/hub.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["check-config", "--config"])
        .arg(&path)
        .envs([
            ("THROUGHLINE_SCHOOL_API_KEY", "demo-school-key-0123456789"),
            ("THROUGHLINE_CAMHS_API_KEY", "demo-camhs-key-0123456789"),
            ("THROUGHLINE_LA_API_KEY", "demo-la-send-key-0123456789"),
            (
                "THROUGHLINE_SCHOOL_WEBHOOK_SECRET",
                "demo-school-webhook-secret",
            ),
            (
                "THROUGHLINE_CAMHS_WEBHOOK_SECRET",
                "demo-camhs-webhook-secret",
            ),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok (3 agencies, 3 sources"));
}

#[test]
fn the_broker_example_passes_and_a_literal_password_is_refused() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/brokers.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["check-config", "--config"])
        .arg(&path)
        .env(
            "RABBITMQ_URL",
            "amqp://throughline:s3cret@127.0.0.1:5672/%2f",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&path).unwrap().replace(
        "${RABBITMQ_URL}",
        "amqp://throughline:s3cret@127.0.0.1:5672/%2f",
    );
    let (code, out) = check(&text, &[]);
    assert_eq!(code, 2);
    assert!(
        out.contains(
            "FILE: agencies[2].sink.connection.url: a password must not be written in the file"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "FILE: sources[0].amqp.connection.url: a password must not be written in the file"
        ),
        "{out}"
    );
    assert!(!out.contains("s3cret"));
}

#[test]
fn a_source_needs_exactly_one_transport_and_broker_settings_are_checked() {
    let (code, out) = check(
        r#"
[[agencies]]
id = "la"
role = "send"

[[sources]]
id = "both"
agency = "la"
api_key = "${K}"
kafka = { bootstrap_servers = "127.0.0.1:9092", topics = ["t"], group_id = "g" }

[[sources]]
id = "bad-kafka"
agency = "la"
kafka = { bootstrap_servers = "127.0.0.1:9092", topics = [], group_id = "g", client_options = { "enable.auto.commit" = "true" } }

[[sources]]
id = "bad-amqp"
agency = "la"
amqp = { connection = { url = "${U}" }, queue = "", dead_letter_exchange = "dlx", prefetch = 0 }
"#,
        &[
            ("K", "a-key-that-is-long-enough"),
            ("U", "amqp://127.0.0.1"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "FILE: sources[0]: needs exactly one of api_key (HTTP ingest), amqp, kafka, mesh or fhir"
        ),
        "{out}"
    );
    assert!(out.contains("FILE: sources[1].kafka."), "{out}");
    assert!(out.contains("FILE: sources[2].amqp."), "{out}");
}

#[test]
fn the_mesh_example_passes_and_literal_mesh_secrets_and_bad_keys_are_refused() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mesh.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["check-config", "--config"])
        .arg(&path)
        .envs([
            ("MESH_PASSWORD", "mesh-password"),
            ("MESH_SHARED_KEY", "mesh-shared-key"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("${MESH_PASSWORD}", "hunter2-mesh")
        .replace("${MESH_SHARED_KEY}", "hunter3-mesh");
    let (code, out) = check(&text, &[]);
    assert_eq!(code, 2);
    for expected in [
        "FILE: agencies[1].sink.password: secrets must not be written in the file",
        "FILE: agencies[1].sink.shared_key: secrets must not be written in the file",
        "FILE: sources[0].mesh.password: secrets must not be written in the file",
        "FILE: sources[0].mesh.shared_key: secrets must not be written in the file",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(
        !out.contains("hunter2") && !out.contains("hunter3"),
        "{out}"
    );

    let (code, out) = check(
        r#"
[[agencies]]
id = "la"
role = "send"

[[agencies]]
id = "camhs"
role = "health"
sink = { type = "mesh", base_url = "https://mesh.example", mailbox_id = "X26ABC1", password = "${P}", shared_key = "${K}", to_mailbox = "X26:ABC2", workflow_id = "W" }

[[sources]]
id = "plain-http"
agency = "la"
mesh = { base_url = "http://mesh.example", mailbox_id = "X26ABC1", password = "${P}", shared_key = "${K}" }

[[sources]]
id = "too-often"
agency = "la"
mesh = { base_url = "https://mesh.example", mailbox_id = "X26ABC1", password = "${P}", shared_key = "${K}", poll_interval_ms = 1 }
"#,
        &[("P", "mesh-password"), ("K", "mesh-shared-key")],
    );
    assert_eq!(code, 2, "{out}");
    for expected in [
        "FILE: agencies[1].sink.to_mailbox: must be up to 100 ASCII letters",
        "FILE: sources[0].mesh.base_url: must use https",
        "FILE: sources[1].mesh.poll_interval_ms: must be between 100 and 86400000, found 1",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
}

#[test]
fn an_unknown_mesh_key_is_refused_by_name() {
    let (code, out) = check(
        r#"
[[agencies]]
id = "la"
role = "send"

[[sources]]
id = "typo"
agency = "la"
mesh = { base_url = "https://mesh.example", mailbox_id = "X26ABC1", password = "${P}", shared_key = "${K}", poll_intervall_ms = 1000 }
"#,
        &[("P", "mesh-password"), ("K", "mesh-shared-key")],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("poll_intervall_ms"), "{out}");
    assert!(!out.contains("mesh-password"), "{out}");
}

#[test]
fn the_mapping_examples_pass() {
    for (file, summary) in [
        ("mis-webhooks.toml", ": ok (3 agencies, 2 sources"),
        ("social-care.toml", ": ok (4 agencies, 4 sources"),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config")
            .join(file);
        let out = Command::new(env!("CARGO_BIN_EXE_throughline"))
            .args(["check-config", "--config"])
            .arg(&path)
            .envs([
                ("THROUGHLINE_SCHOOL_API_KEY", "demo-school-key-0123456789"),
                ("THROUGHLINE_CAMHS_API_KEY", "demo-camhs-key-0123456789"),
                ("THROUGHLINE_LA_API_KEY", "demo-la-send-key-0123456789"),
                ("THROUGHLINE_CSC_API_KEY", "demo-csc-key-0123456789"),
                ("THROUGHLINE_MOSAIC_API_KEY", "demo-mosaic-key-0123456789"),
                (
                    "THROUGHLINE_SCHOOL_WEBHOOK_SECRET",
                    "demo-school-webhook-secret",
                ),
                (
                    "THROUGHLINE_CAMHS_WEBHOOK_SECRET",
                    "demo-camhs-webhook-secret",
                ),
                ("THROUGHLINE_LA_WEBHOOK_SECRET", "demo-la-webhook-secret"),
                (
                    "THROUGHLINE_RIVERSIDE_WEBHOOK_SECRET",
                    "demo-riverside-webhook-secret",
                ),
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(summary), "{file}: {stdout}");
    }
}

#[test]
fn a_mapping_is_checked_at_start_up_and_named_by_its_keys() {
    let (code, out) = check(
        r#"
[[agencies]]
id = "school"
role = "school"

[[sources]]
id = "mis"
agency = "school"
format = "mapping:mis-events"
api_key = "${KEY}"

[[sources]]
id = "other"
agency = "school"
format = "mapping:nowhere"
api_key = "${OTHER_KEY}"

[[mappings]]
id = "mis-events"
input = "json"
date_formats = ["%d/%m"]

[mappings.subject]
upn = "pupil.upn"

[mappings.kind]
field = "/type"
values = { Joined = "school.joined", Gone = "school.gone" }

[mappings.events."school.joined"]
payload.school_urn = "/urn"
payload.joined = "/on"
"#,
        &[
            ("KEY", "a-key-of-sixteen-chars"),
            ("OTHER_KEY", "another-key-of-sixteen"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    for expected in [
        "FILE: mappings[mis-events].date_formats[0]: must name a day, a month and a year",
        "FILE: mappings[mis-events].subject.upn: must be a JSON pointer starting with `/`",
        "FILE: mappings[mis-events].kind.values.Gone: unknown event kind `school.gone`",
        "FILE: mappings[mis-events].events.\"school.joined\".payload.joined: `school.joined` has no payload field `joined`",
        "FILE: mappings[mis-events].events.\"school.joined\".payload.joined_on: is required by `school.joined` but not mapped",
        "FILE: sources[0].format: its mapping has errors (see mappings)",
        "FILE: sources[1].format: no [[mappings]] table has this id",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }

    // An unknown key in a mapping is refused by name.
    let (code, out) = check(
        r#"
[[mappings]]
id = "m"
input = "json"
[mappings.subject]
upn = { field = "/upn", date = true }
[mappings.kind]
field = "/type"
"#,
        &[],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("FILE: mappings[0].subject.upn.date: unknown field `date`"),
        "{out}"
    );
}

#[test]
fn telemetry_keys_are_checked() {
    let (code, out) = check(
        r#"
[telemetry]
otlp_endpoint = "otel-collector:4318"
sampling_ratio = 1.5
service_name = " "
"#,
        &[],
    );
    assert_eq!(code, 2, "{out}");
    for key in [
        "telemetry.otlp_endpoint",
        "telemetry.sampling_ratio",
        "telemetry.service_name",
    ] {
        assert!(out.contains(&format!("FILE: {key}: ")), "{key} in {out}");
    }
    let (code, out) = check(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nsampling_ratio = 0.25\n",
        &[],
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_operator_key_is_a_secret_long_enough_and_no_sources() {
    let config = |key: &str| {
        format!(
            r#"
[api]
operator_api_key = "{key}"

[[agencies]]
id = "school"
role = "school"

[[sources]]
id = "mis"
agency = "school"
system = "arbor"
api_key = "${{SOURCE_KEY}}"
"#
        )
    };
    let env = [
        ("SOURCE_KEY", "source-key-0123456789"),
        ("SHORT", "short"),
        ("OPERATOR", "operator-key-0123456789"),
    ];
    let (code, out) = check(&config("written-in-plain-text-here"), &env);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("FILE: api.operator_api_key: secrets must not be written in the file"),
        "{out}"
    );
    assert!(!out.contains("written-in-plain-text-here"), "{out}");
    let (code, out) = check(&config("${SHORT}"), &env);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("FILE: api.operator_api_key: must be at least 16 characters"),
        "{out}"
    );
    let (code, out) = check(&config("${SOURCE_KEY}"), &env);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("FILE: api.operator_api_key: the same key is a source's api_key"),
        "{out}"
    );
    let (code, out) = check(&config("${OPERATOR}"), &env);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn extra_la_codes_are_checked_by_key() {
    let (code, out) = check("[identity]\nextra_la_codes = [944, 0, 1000]\n", &[]);
    assert_eq!(code, 2, "{out}");
    for key in ["identity.extra_la_codes[1]", "identity.extra_la_codes[2]"] {
        assert!(
            out.contains(&format!(
                "FILE: {key}: must be a DfE local authority number from 1 to 999"
            )),
            "{key} in {out}"
        );
    }
    assert!(!out.contains("extra_la_codes[0]"), "{out}");
    let (code, out) = check("[identity]\nextra_la_codes = [944]\n", &[]);
    assert_eq!(code, 0, "{out}");
    // Not a number at all: named by its key too.
    let (code, out) = check("[identity]\nextra_la_codes = [\"944\"]\n", &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("FILE: identity.extra_la_codes"), "{out}");
}

#[test]
fn assertion_rules_are_checked_by_key() {
    let (code, out) = check(
        r#"
[[agencies]]
id = "oakfield-primary"
role = "school"

[[sources]]
id = "oakfield-mis"
agency = "oakfield-primary"
api_key = "${KEY}"
may_send = ["school.*", "social_care.no_such_kind", "handoff.reminder", "nope.*"]
may_change_involvement_of = ["camhs-west"]
relays_for = ["oakfield-primary", "Not A Slug"]

[[sources]]
id = "oakfield-other"
agency = "oakfield-primary"
api_key = "${OTHER_KEY}"
may_send = []
"#,
        &[
            ("KEY", "a-long-enough-key-0123"),
            ("OTHER_KEY", "another-long-enough-key-0123"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    for expected in [
        "FILE: sources[0].may_send[1]: `social_care.no_such_kind` is not an event kind",
        "FILE: sources[0].may_send[2]: `handoff.reminder` is not an event kind",
        "FILE: sources[0].may_send[3]: `nope.*` is not an event kind",
        "FILE: sources[0].may_change_involvement_of[0]: no agency with this id is configured",
        "FILE: sources[0].relays_for: lists the source's own agency",
        "FILE: sources[0].relays_for[1]: ",
        "FILE: sources[1].may_send: must list at least one event kind",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
    assert!(!out.contains("sources[0].may_send[0]"), "{out}");
}
