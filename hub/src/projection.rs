//! Field-level projection: a recipient gets only the fields its sharing agreement lists.
//!
//! Paths name fields of the notification document `{"subject": ..., "payload": ...}`:
//! `subject.identifiers.nhs_number`, `payload.referral_id`, or `payload.*` / `subject.*` for a
//! whole part. A listed field the event does not carry is simply absent. What is not listed is
//! never copied: the projection builds a new document rather than deleting from the old one, so
//! a field added to a contract later is withheld until an agreement names it.

use serde_json::{Map, Value};

/// The projected subject and payload, and the paths actually disclosed (for the audit log).
pub struct Projected {
    pub subject: Value,
    pub payload: Value,
    pub disclosed: Vec<String>,
}

pub fn project(subject: &Value, payload: &Value, fields: &[String]) -> Projected {
    let source = {
        let mut m = Map::new();
        m.insert("subject".into(), subject.clone());
        m.insert("payload".into(), payload.clone());
        Value::Object(m)
    };
    let mut out = Value::Object(Map::new());
    let mut disclosed = Vec::new();
    for field in fields {
        let path: Vec<&str> = field.split('.').collect();
        let (lookup, whole) = match path.last() {
            Some(&"*") => (&path[..path.len() - 1], true),
            _ => (&path[..], false),
        };
        if let Some(value) = get(&source, lookup)
            && !(whole && value.as_object().is_some_and(Map::is_empty))
        {
            set(&mut out, lookup, value.clone());
            disclosed.push(field.clone());
        }
    }
    let mut take = |k: &str| {
        out.get_mut(k)
            .map(Value::take)
            .unwrap_or_else(|| Value::Object(Map::new()))
    };
    Projected {
        subject: take("subject"),
        payload: take("payload"),
        disclosed,
    }
}

fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn set(v: &mut Value, path: &[&str], value: Value) {
    let mut cur = v;
    for (i, k) in path.iter().enumerate() {
        let obj = match cur {
            Value::Object(m) => m,
            _ => return,
        };
        if i == path.len() - 1 {
            obj.insert((*k).to_owned(), value);
            return;
        }
        cur = obj
            .entry((*k).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copies_only_listed_fields() {
        let subject = json!({"identifiers": {"nhs_number": "9434765919", "upn": "B801200005001"},
                             "demographics": {"family_name": "X", "date_of_birth": "2015-01-01"}});
        let payload = json!({"referral_id": "R1", "reason": "free text", "urgency": "urgent"});
        let p = project(
            &subject,
            &payload,
            &[
                "subject.identifiers.nhs_number".into(),
                "payload.referral_id".into(),
                "payload.missing".into(),
            ],
        );
        assert_eq!(
            p.subject,
            json!({"identifiers": {"nhs_number": "9434765919"}})
        );
        assert_eq!(p.payload, json!({"referral_id": "R1"}));
        assert_eq!(
            p.disclosed,
            vec!["subject.identifiers.nhs_number", "payload.referral_id"]
        );
    }

    #[test]
    fn a_star_copies_a_whole_part() {
        let p = project(
            &json!({"identifiers": {"upn": "U"}}),
            &json!({"a": 1, "b": 2}),
            &["payload.*".into()],
        );
        assert_eq!(p.payload, json!({"a": 1, "b": 2}));
        assert_eq!(p.subject, json!({}));
    }
}
