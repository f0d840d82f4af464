//! Child data masked for roles that may not see it.
//!
//! Masking allows rather than denies: a value is shown only if its path is on a short list of
//! fields that describe the message rather than the child (its kind, source, ids, recipient,
//! agreement). Every other value, in `subject`, `payload` or anywhere a future format puts it,
//! becomes `•••`. The structure stays, so an operator can still see which fields were sent and
//! match them to the reasons on the page; only an admin sees the values, and that is audited.

use serde_json::Value;

pub const MASK: &str = "•••";

/// Field paths (array indexes left out) whose values are never child data.
const SHOWN: &[&str] = &[
    "schema_version",
    "id",
    "kind",
    "occurred_at",
    "source",
    "source.agency",
    "source.system",
    "source.adapter",
    "payload.to_agency",
    "payload.from_agency",
    "payload.new_owner",
    "payload.urgency",
    "payload.outcome",
    "notification_id",
    "event_id",
    "recipient",
    "source_agency",
    "sharing_agreement",
    "idempotency_key",
    "child_id",
];

fn mask_value(v: &mut Value, path: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                mask_value(child, &p);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask_value(i, path)),
        Value::Null | Value::Bool(_) => {}
        Value::String(_) | Value::Number(_) if SHOWN.contains(&path) => {}
        _ => *v = Value::String(MASK.into()),
    }
}

/// A raw input or notification as a role without access to child data may see it: JSON with
/// every value off the list masked; CSV with its header row and every cell masked; anything
/// else (XML, say) withheld whole, with its size.
pub fn mask(raw: &[u8], format: &str) -> String {
    if let Ok(mut v) = serde_json::from_slice::<Value>(raw) {
        mask_value(&mut v, "");
        return serde_json::to_string_pretty(&v).unwrap_or_default();
    }
    let text = String::from_utf8_lossy(raw);
    if format.contains("csv") {
        let mut lines = text.lines();
        let mut out = lines.next().unwrap_or_default().to_owned();
        for line in lines {
            let cells = line.split(',').count();
            out.push('\n');
            out.push_str(&vec![MASK; cells].join(","));
        }
        return out;
    }
    format!(
        "({} bytes in format {format} withheld: your role may not see child data)",
        raw.len()
    )
}

/// The same input unmasked, for an admin: pretty-printed when it is JSON.
pub fn unmasked(raw: &[u8]) -> String {
    serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_message_fields_and_masks_the_child() {
        let raw = br#"{"schema_version": 1, "kind": "referral.made",
            "source": {"agency": "la-send", "system": "capita-one"},
            "subject": {"identifiers": {"nhs_number": "9434765919", "local": [{"agency": "x", "id": "CASE-1"}]},
                        "demographics": {"family_name": "Lovelace", "date_of_birth": "2015-12-10"}},
            "payload": {"referral_id": "REF-1", "to_agency": "camhs-north", "note": "Augusta"}}"#;
        let m = mask(raw, "canonical-json");
        for hidden in [
            "9434765919",
            "CASE-1",
            "Lovelace",
            "2015-12-10",
            "REF-1",
            "Augusta",
        ] {
            assert!(!m.contains(hidden), "{hidden} shown in {m}");
        }
        for shown in [
            "referral.made",
            "la-send",
            "capita-one",
            "camhs-north",
            "nhs_number",
            "family_name",
        ] {
            assert!(m.contains(shown), "{shown} missing from {m}");
        }
    }

    #[test]
    fn an_array_of_events_is_masked_element_by_element() {
        let m = mask(
            br#"[{"kind": "school.joined", "subject": {"identifiers": {"upn": "B801200005001"}}}]"#,
            "canonical-json",
        );
        assert!(
            m.contains("school.joined") && !m.contains("B801200005001"),
            "{m}"
        );
    }

    #[test]
    fn csv_keeps_the_header_only_and_other_formats_are_withheld() {
        let m = mask(
            b"nhs_number,family_name\n9434765919,Lovelace\n",
            "social-care-csv",
        );
        assert_eq!(m, "nhs_number,family_name\n•••,•••");
        let x = mask(b"<Pupil><Surname>Lovelace</Surname></Pupil>", "ctf-pupil");
        assert!(!x.contains("Lovelace") && x.contains("withheld"), "{x}");
    }
}
