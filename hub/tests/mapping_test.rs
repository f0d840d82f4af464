//! `throughline test`: the shipped cases for config/hub.toml pass; a wrong expectation fails
//! with exit 1 and a FAIL line naming the case and the field.

use std::path::Path;
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
];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn run_tests(config: &Path) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_throughline"));
    cmd.current_dir(workspace())
        .args(["test", "--config"])
        .arg(config);
    for (k, v) in DEMO_ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
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
