//! `throughline test`: the shipped cases of every example configuration pass; a wrong
//! expectation fails with exit 1 and a FAIL line naming the case and the field.

use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO_ENV: &[(&str, &str)] = &[
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
    // config/mis-webhooks.toml and config/social-care.toml.
    ("THROUGHLINE_LA_WEBHOOK_SECRET", "demo-la-webhook-secret"),
    (
        "THROUGHLINE_RIVERSIDE_WEBHOOK_SECRET",
        "demo-riverside-webhook-secret",
    ),
    ("THROUGHLINE_CSC_API_KEY", "demo-csc-key-0123456789"),
    ("THROUGHLINE_MOSAIC_API_KEY", "demo-mosaic-key-0123456789"),
    // config/brokers.toml and config/mesh.toml (nothing connects in a mapping test).
    ("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
    ("MESH_PASSWORD", "demo-mesh-password"),
    ("MESH_SHARED_KEY", "demo-mesh-shared-key"),
    // config/fhir.toml (its private key file is generated: see `fhir_private_key`).
    ("THROUGHLINE_LA_FHIR_TOKEN", "demo-la-fhir-token-0123456789"),
    ("THROUGHLINE_FHIR_CLIENT_ID", "demo-fhir-client"),
    (
        "THROUGHLINE_TRUST_FHIR_API_KEY",
        "demo-trust-key-0123456789",
    ),
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// config/fhir.toml signs its token requests with a private key file, which must exist and be a
/// key for the configuration to load: one is generated for the test run (never committed).
fn fhir_private_key() -> &'static Path {
    static KEY: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fhir-client.pem");
        let status = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl genpkey failed");
        (dir, path)
    });
    path
}

fn run_tests(config: &Path) -> (i32, String) {
    // config/cin.toml watches a drop folder, which must exist for the configuration to load.
    std::fs::create_dir_all(workspace().join("data/drops/northshire-census")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
    cmd.current_dir(workspace())
        .args(["test", "--config"])
        .arg(config);
    for (k, v) in DEMO_ENV {
        cmd.env(k, v);
    }
    cmd.env("THROUGHLINE_FHIR_PRIVATE_KEY_FILE", fhir_private_key());
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `config/<stem>.toml` for every `config/tests/<stem>/` folder: each example configuration
/// that ships mapping tests.
fn configs_with_cases() -> Vec<PathBuf> {
    let root = workspace();
    let mut configs: Vec<PathBuf> = std::fs::read_dir(root.join("config/tests"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .map(|dir| {
            let stem = dir.file_name().unwrap().to_string_lossy().into_owned();
            Path::new("config").join(format!("{stem}.toml"))
        })
        .collect();
    configs.sort();
    for c in &configs {
        assert!(
            root.join(c).is_file(),
            "tests with no configuration: {}",
            c.display()
        );
    }
    configs
}

#[test]
fn every_example_configurations_cases_pass() {
    let configs = configs_with_cases();
    // Every example configuration ships cases.
    let root = workspace();
    for entry in std::fs::read_dir(root.join("config")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                root.join("config/tests").join(&stem).is_dir(),
                "config/{stem}.toml ships no mapping test cases (config/tests/{stem}/)"
            );
        }
    }
    for expected in ["hub", "mis-webhooks", "social-care"] {
        assert!(
            configs.contains(&Path::new("config").join(format!("{expected}.toml"))),
            "{configs:?}"
        );
    }
    for config in configs {
        let (code, out) = run_tests(&config);
        assert_eq!(code, 0, "{}:\n{out}", config.display());
        assert!(!out.contains("FAIL"), "{out}");
        assert!(out.contains(" passed, 0 failed"), "{out}");
    }
}

#[test]
fn shipped_cases_pass() {
    let (code, out) = run_tests(Path::new("config/hub.toml"));
    assert_eq!(code, 0, "{out}");
    for name in [
        "ok   config/tests/hub/referrals.toml: a referral to CAMHS reaches camhs-north with only the agreement's fields",
        "ok   config/tests/hub/referrals.toml: a bad NHS number is quarantined, naming the field",
        "ok   config/tests/hub/referrals.toml: the school hears of a referral of its pupil",
    ] {
        assert!(out.contains(name), "missing `{name}` in:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn a_wrong_expectation_fails_naming_the_case_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace();
    std::fs::copy(root.join("config/hub.toml"), dir.path().join("hub.toml")).unwrap();
    std::fs::create_dir_all(dir.path().join("tests/hub")).unwrap();
    // The school's agreement does not let it see the NHS number.
    let cases = std::fs::read_to_string(root.join("config/tests/hub/referrals.toml"))
        .unwrap()
        .replacen(
            "  \"subject.identifiers.upn\",\n",
            "  \"subject.identifiers.upn\",\n  \"subject.identifiers.nhs_number\",\n",
            1,
        );
    assert!(cases.contains("\"subject.identifiers.nhs_number\",\n  \"payload.referral_id\""));
    std::fs::write(dir.path().join("tests/hub/referrals.toml"), cases).unwrap();

    let (code, out) = run_tests(&dir.path().join("hub.toml"));
    assert_eq!(code, 1, "{out}");
    let fail = out
        .lines()
        .find(|l| l.starts_with("FAIL "))
        .unwrap_or_else(|| panic!("no FAIL line in:\n{out}"));
    assert!(
        fail.contains("the school hears of a referral of its pupil"),
        "{out}"
    );
    assert!(
        out.contains("missing:  subject.identifiers.nhs_number"),
        "{out}"
    );
    assert!(out.contains("2 passed, 1 failed"), "{out}");
}

#[test]
fn a_malformed_case_is_a_file_key_reason_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace();
    std::fs::copy(root.join("config/hub.toml"), dir.path().join("hub.toml")).unwrap();
    std::fs::create_dir_all(dir.path().join("tests/hub")).unwrap();
    std::fs::write(
        dir.path().join("tests/hub/bad.toml"),
        "[[case]]\nname = \"x\"\nsource = \"nowhere\"\ninput = \"{}\"\nexpect.outcome = \"committed\"\n",
    )
    .unwrap();
    let (code, out) = run_tests(&dir.path().join("hub.toml"));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("bad.toml: case[0].source: no source `nowhere`"),
        "{out}"
    );
}
