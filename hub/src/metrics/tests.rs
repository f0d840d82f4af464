use std::time::Duration;

use super::*;

fn render(h: &Histogram) -> Vec<(String, f64)> {
    let mut out = String::new();
    h.render(&mut out, "t", "a=\"b\"");
    out.lines()
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn each_observation_lands_in_its_bucket_and_the_buckets_are_cumulative() {
    let h = Histogram::default();
    h.observe(Duration::from_micros(500)); // ≤ 0.001
    h.observe(Duration::from_millis(3)); // ≤ 0.005
    h.observe(Duration::from_millis(5)); // on the bound: ≤ 0.005
    h.observe(Duration::from_secs(60)); // above every bound
    let lines = render(&h);
    let value = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no line {name} in {lines:?}"))
            .1
    };
    assert_eq!(value("t_bucket{a=\"b\",le=\"0.001\"}"), 1.0);
    assert_eq!(value("t_bucket{a=\"b\",le=\"0.0025\"}"), 1.0);
    assert_eq!(value("t_bucket{a=\"b\",le=\"0.005\"}"), 3.0);
    assert_eq!(value("t_bucket{a=\"b\",le=\"30\"}"), 3.0);
    assert_eq!(value("t_bucket{a=\"b\",le=\"+Inf\"}"), 4.0);
    assert_eq!(value("t_count{a=\"b\"}"), 4.0);
    let sum = value("t_sum{a=\"b\"}");
    assert!((sum - 60.0085).abs() < 1e-9, "sum {sum}");
}

#[test]
fn outcomes_have_the_documented_names() {
    let committed = InputOutcome::Committed {
        event_ids: vec![],
        duplicate: false,
    };
    let duplicate = InputOutcome::Committed {
        event_ids: vec![],
        duplicate: true,
    };
    assert_eq!(input_outcome(&committed), "committed");
    assert_eq!(input_outcome(&duplicate), "duplicate");
    assert_eq!(
        attempt_outcome(&DeliveryOutcome::Retryable {
            reason: "HTTP 503".into(),
            retry_after: None
        }),
        "retryable"
    );
    assert_eq!(
        attempt_outcome(&DeliveryOutcome::Permanent {
            reason: "HTTP 400".into()
        }),
        "permanent"
    );
}

#[test]
fn a_label_value_cannot_break_out_of_its_quotes() {
    assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
    assert_eq!(escape("a\nb"), r"a\nb");
}
