//! Resolve identity: which child an event is about.
//!
//! Deterministic links only: an NHS number, a UPN or a local id (scoped by agency and system)
//! links to at most one child, and every identifier an input carries together joins one linked
//! set. When one input links two existing records, they are merged. Two rules protect against
//! wrong merges:
//! - a child has at most one value per scheme (one NHS number, one UPN, one id per local
//!   system). An input that would break that is a *conflict*: it is held for review, never
//!   silently resolved either way.
//! - demographics (name, date of birth, postcode) never link. Similar demographics on different
//!   records raise a *possible match* for a person to review, and routing goes on unchanged.
//!
//! One exception to "one value per scheme": a pupil's UPN can change. A school gives a
//! temporary UPN (ending in a letter) while the permanent one is traced, and a later record (a
//! CTF's `FormerUPN`) carries the permanent UPN with the temporary one as former. That is the
//! same child, not a conflict: the input's former UPNs link like any identifier, and a linked
//! UPN an input declares former is kept as the child's former UPN (`former_upn`), of which a
//! child may have several. An input that still knows only the old UPN finds the child by it.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyConnection;
use throughline_contracts::event::Event;
use uuid::Uuid;

use crate::store::identity::FORMER_UPN;
use crate::store::{self, StoreError, audit::AuditEntry};

pub enum Resolution {
    /// The child, with every identifier now linked to it (routing gives each recipient its own).
    Child(Uuid, Vec<(String, String)>),
    /// The reason, naming schemes and never values.
    Conflict(String),
}

/// The identifiers an event carries, as (scheme, value).
pub fn identifiers(event: &Event) -> Vec<(String, String)> {
    let ids = &event.subject.identifiers;
    let mut out = Vec::new();
    if let Some(n) = &ids.nhs_number {
        out.push(("nhs".to_owned(), n.as_str().to_owned()));
    }
    if let Some(u) = &ids.upn {
        out.push(("upn".to_owned(), u.as_str().to_owned()));
    }
    for l in &ids.local_ids {
        out.push((format!("local:{}", l.scope()), l.value().to_owned()));
    }
    out
}

fn scheme_label(scheme: &str) -> &str {
    match scheme {
        "nhs" => "NHS number",
        "upn" => "UPN",
        FORMER_UPN => "former UPN",
        _ => scheme,
    }
}

/// The former UPNs an input declares, other than its current UPN.
fn former_upns(event: &Event) -> BTreeSet<String> {
    let ids = &event.subject.identifiers;
    ids.former_upns
        .iter()
        .filter(|f| ids.upn.as_ref() != Some(*f))
        .map(|f| f.as_str().to_owned())
        .collect()
}

pub async fn resolve(conn: &mut AnyConnection, event: &Event) -> Result<Resolution, StoreError> {
    let incoming = identifiers(event);
    let formers = former_upns(event);
    // Two values for one scheme within the input itself cannot happen for NHS number and UPN
    // (one field each), but can for local ids.
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (scheme, value) in &incoming {
        if let Some(prev) = seen.insert(scheme, value)
            && prev != value
        {
            return Ok(Resolution::Conflict(format!(
                "the input carries two different {} values",
                scheme_label(scheme)
            )));
        }
    }

    // One read: every identifier of every record the input's identifiers link to. A UPN is
    // looked for as current and as former, whichever side of a change the input is on.
    let mut wanted = incoming.clone();
    for f in &formers {
        wanted.push(("upn".to_owned(), f.clone()));
        wanted.push((FORMER_UPN.to_owned(), f.clone()));
    }
    if let Some(upn) = &event.subject.identifiers.upn {
        wanted.push((FORMER_UPN.to_owned(), upn.as_str().to_owned()));
    }
    let records = store::identity::linked_records(conn, &wanted).await?;
    let linked: BTreeSet<Uuid> = records.iter().map(|(_, _, c)| *c).collect();
    let known: BTreeSet<(&str, &str)> = records
        .iter()
        .map(|(s, v, _)| (s.as_str(), v.as_str()))
        .collect();
    // UPNs that are no longer anyone's current one: declared former by this input, or already
    // recorded as former. They never count as a second UPN.
    let former: BTreeSet<&str> = formers
        .iter()
        .map(String::as_str)
        .chain(
            known
                .iter()
                .filter(|(s, _)| *s == FORMER_UPN)
                .map(|(_, v)| *v),
        )
        .collect();
    let is_former_upn = |scheme: &str, value: &str| scheme == "upn" && former.contains(value);
    let unlinked: BTreeSet<&(String, String)> = incoming
        .iter()
        .filter(|(s, v)| !known.contains(&(s.as_str(), v.as_str())) && !is_former_upn(s, v))
        .collect();

    let child = match linked.first().copied() {
        None => store::identity::create_child(conn).await?,
        Some(target) => {
            // Every value per scheme across the linked records and the input.
            let mut values: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (scheme, value) in incoming
                .iter()
                .map(|(s, v)| (s.as_str(), v.as_str()))
                .chain(known.iter().copied())
                .filter(|(s, v)| store::identity::one_per_child(s) && !is_former_upn(s, v))
            {
                values.entry(scheme).or_default().insert(value);
            }
            if let Some((scheme, _)) = values.iter().find(|(_, v)| v.len() > 1) {
                return Ok(Resolution::Conflict(format!(
                    "identifiers conflict: one child would have two different {} values",
                    scheme_label(scheme)
                )));
            }
            for other in linked.iter().skip(1) {
                store::identity::merge(conn, *other, target).await?;
                store::audit::append(
                    conn,
                    &AuditEntry {
                        actor: "hub".into(),
                        action: "identity.merged".into(),
                        event_id: Some(event.id),
                        detail: Some(format!(
                            "child {other} merged into {target}: linked by one input"
                        )),
                        ..Default::default()
                    },
                )
                .await?;
            }
            target
        }
    };
    for (scheme, value) in &unlinked {
        store::identity::link(conn, scheme, value, child).await?;
    }
    let mut identifiers: Vec<(String, String)> = records
        .iter()
        .map(|(scheme, value, _)| {
            let scheme = if is_former_upn(scheme, value) {
                FORMER_UPN
            } else {
                scheme.as_str()
            };
            (scheme.to_owned(), value.clone())
        })
        .collect();
    identifiers.extend(unlinked.into_iter().cloned());
    for f in &formers {
        if known.contains(&("upn", f.as_str())) {
            // The child's UPN until now: a newer one replaced it.
            store::identity::make_former_upn(conn, f).await?;
            store::audit::append(
                conn,
                &AuditEntry {
                    actor: "hub".into(),
                    action: "identity.upn_replaced".into(),
                    event_id: Some(event.id),
                    detail: Some(format!(
                        "child {child}: a UPN is now recorded as former, replaced by a newer UPN"
                    )),
                    ..Default::default()
                },
            )
            .await?;
        } else if !known.contains(&(FORMER_UPN, f.as_str())) {
            store::identity::link(conn, FORMER_UPN, f, child).await?;
            identifiers.push((FORMER_UPN.to_owned(), f.clone()));
        }
    }
    identifiers.sort();
    identifiers.dedup();

    if let Some(key) = event.subject.demographics.match_key() {
        let with_key = store::identity::children_with_evidence(conn, &key).await?;
        for &other in &with_key {
            if other != child && !store::identity::pair_reviewed(conn, child, other).await? {
                store::identity::open_review(
                    conn,
                    "possible_match",
                    Some(child),
                    Some(other),
                    Some(event.id),
                    None,
                    "same family name, date of birth and postcode district; different identifiers",
                )
                .await?;
            }
        }
        if !with_key.contains(&child) {
            store::identity::add_evidence(conn, child, &key).await?;
        }
    }
    Ok(Resolution::Child(child, identifiers))
}
