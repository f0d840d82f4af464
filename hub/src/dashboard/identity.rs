//! Identity review: possible matches (two children with the same family name, date of birth
//! and postcode district but no shared identifier) waiting for a person to decide. Operators
//! and admins **Confirm** (one child: merged as a linking input would merge them) or
//! **Reject** (two children: the pair is never proposed again); both are audited
//! (`store::reviews`). Auditors only look.
//!
//! The evidence is child data, so it follows the masking matrix: an operator sees, field by
//! field, whether the two records agree (`same`, `differs`, `same district`, `one side only`)
//! with every value masked. That is what deciding needs (the comparison, not the values), and
//! it discloses nothing. An admin may press "Show child data (audited)" to see the values,
//! which writes `identity_review.shown` before the page is rendered.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use throughline_contracts::demographics::Demographics;
use uuid::Uuid;

use super::DashState;
use super::action::{Action, Outcome, Reveal, done};
use super::masking::MASK;
use super::page::{Nav, PageError, render, when};
use super::session::Session;
use crate::operator;
use crate::store::{
    self, StoreError,
    reviews::{Decided, Evidence},
};

/// Reviews listed on one page, oldest first.
const LIST_LIMIT: i64 = 200;

pub struct Row {
    pub id: String,
    pub created: String,
    pub child_id: String,
    pub other_child_id: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/identity.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    limit: i64,
}

pub async fn list(State(state): State<DashState>, session: Session) -> Result<Response, PageError> {
    let mut conn = state.store().acquire().await?;
    let reviews = store::reviews::open_possible_matches(&mut conn, LIST_LIMIT).await?;
    Ok(render(&ListPage {
        nav: Some(Nav::new(&session, "identity")),
        rows: reviews
            .into_iter()
            .map(|r| Row {
                created: when(r.created_at),
                child_id: r.child_id.unwrap_or_default(),
                other_child_id: r.other_child_id.unwrap_or_default(),
                detail: r.detail,
                id: r.id,
            })
            .collect(),
        limit: LIST_LIMIT,
    }))
}

/// One line of the side-by-side comparison.
pub struct Line {
    pub field: String,
    pub left: String,
    pub right: String,
    /// `same`, `same district`, `differs`, `one side only` or `neither`.
    pub verdict: &'static str,
    /// An identifier scheme rather than a demographic field: if it differs, the two cannot be
    /// one child.
    pub identifier: bool,
}

fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The outward code of a normalised postcode: all but the last three characters.
fn district(p: &str) -> &str {
    p.get(..p.len().saturating_sub(3)).unwrap_or("")
}

fn verdict(left: &[String], right: &[String], postcode: bool) -> &'static str {
    match (left.is_empty(), right.is_empty()) {
        (true, true) => "neither",
        (true, false) | (false, true) => "one side only",
        _ => {
            let (l, r): (Vec<String>, Vec<String>) = (
                left.iter().map(|s| norm(s)).collect(),
                right.iter().map(|s| norm(s)).collect(),
            );
            if l.iter().any(|v| r.contains(v)) {
                "same"
            } else if postcode
                && l.iter()
                    .any(|v| r.iter().any(|w| district(v) == district(w)))
            {
                "same district"
            } else {
                "differs"
            }
        }
    }
}

fn shown(values: &[String], revealed: bool) -> String {
    match (values.is_empty(), revealed) {
        (true, _) => "–".into(),
        (false, true) => values.join(" / "),
        (false, false) => vec![MASK; values.len()].join(" / "),
    }
}

fn field(e: &Evidence, get: impl Fn(&Demographics) -> Option<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in e.demographics.iter().filter_map(&get) {
        if !out.iter().any(|o| norm(o) == norm(&v)) {
            out.push(v);
        }
    }
    out
}

/// The comparison, masked unless `revealed`. Identifier schemes are shown (they say which
/// systems know the child); their values are child data.
pub fn compare(a: &Evidence, b: &Evidence, revealed: bool) -> Vec<Line> {
    type Get = fn(&Demographics) -> Option<String>;
    let fields: [(&str, Get, bool); 5] = [
        ("family name", |d| d.family_name.clone(), false),
        ("given name", |d| d.given_name.clone(), false),
        (
            "date of birth",
            |d| d.date_of_birth.map(|x| x.to_string()),
            false,
        ),
        (
            "sex",
            |d| {
                d.sex
                    .and_then(|s| serde_json::to_value(s).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
            },
            false,
        ),
        ("postcode", |d| d.postcode.clone(), true),
    ];
    let mut lines = Vec::new();
    for (name, get, postcode) in fields {
        let (l, r) = (field(a, get), field(b, get));
        lines.push(Line {
            field: name.to_owned(),
            verdict: verdict(&l, &r, postcode),
            identifier: false,
            left: shown(&l, revealed),
            right: shown(&r, revealed),
        });
    }
    let mut schemes: Vec<&str> = a
        .identifiers
        .iter()
        .chain(&b.identifiers)
        .map(|(s, _)| s.as_str())
        .collect();
    schemes.sort();
    schemes.dedup();
    for scheme in schemes {
        let values = |e: &Evidence| -> Vec<String> {
            e.identifiers
                .iter()
                .filter(|(s, _)| s == scheme)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (l, r) = (values(a), values(b));
        lines.push(Line {
            field: match scheme {
                "nhs" => "NHS number".to_owned(),
                "upn" => "UPN".to_owned(),
                crate::store::identity::FORMER_UPN => "former UPN".to_owned(),
                s => format!("local id ({})", s.trim_start_matches("local:")),
            },
            verdict: verdict(&l, &r, false),
            identifier: true,
            left: shown(&l, revealed),
            right: shown(&r, revealed),
        });
    }
    lines
}

#[derive(Template)]
#[template(path = "dashboard/identity_review.html")]
struct ReviewPage {
    nav: Option<Nav>,
    id: String,
    status: String,
    created: String,
    detail: String,
    left: String,
    right: String,
    lines: Vec<Line>,
    conflict: bool,
    open: bool,
    revealed: bool,
    may_act: bool,
    may_reveal: bool,
    csrf: String,
    result: Option<&'static str>,
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::NotFound("no such identity review"))
}

fn child(id: Option<&str>) -> Result<Uuid, PageError> {
    id.and_then(|c| Uuid::parse_str(c).ok())
        .ok_or(PageError::NotFound("the review does not name two children"))
}

async fn review_page(
    state: &DashState,
    session: &Session,
    id: Uuid,
    revealed: bool,
    result: Option<&'static str>,
) -> Result<Response, PageError> {
    let mut conn = state.store().acquire().await?;
    let r = store::reviews::get(&mut conn, id)
        .await?
        .filter(|r| r.kind == store::reviews::POSSIBLE_MATCH)
        .ok_or(PageError::NotFound("no such identity review"))?;
    let (a, b) = (
        child(r.child_id.as_deref())?,
        child(r.other_child_id.as_deref())?,
    );
    let (ea, eb) = (
        store::reviews::evidence(&mut conn, a).await?,
        store::reviews::evidence(&mut conn, b).await?,
    );
    let lines = compare(&ea, &eb, revealed);
    let open = r.status == store::reviews::OPEN;
    Ok(render(&ReviewPage {
        nav: Some(Nav::new(session, "identity")),
        conflict: lines.iter().any(|l| l.identifier && l.verdict == "differs"),
        id: r.id,
        status: r.status,
        created: when(r.created_at),
        detail: r.detail,
        left: a.to_string(),
        right: b.to_string(),
        lines,
        open,
        revealed,
        may_act: session.role.may_act(),
        may_reveal: session.role.sees_child_data() && !revealed,
        csrf: session.csrf.clone(),
        result,
    }))
}

/// The notices for the `?result=` codes the actions below redirect with.
const RESULTS: [(&str, &str); 2] = [
    (
        "confirmed",
        "Confirmed: the two records are now one child; the merge is audited.",
    ),
    (
        "rejected",
        "Rejected: they are two children, and this pair will not be proposed again.",
    ),
];

pub async fn show(
    State(state): State<DashState>,
    session: Session,
    Path(id): Path<String>,
    Query(outcome): Query<Outcome>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    review_page(&state, &session, id, false, outcome.notice(&RESULTS)).await
}

/// Shows the evidence unmasked to an admin; the viewing is audited first.
pub async fn reveal(State(state): State<DashState>, post: Reveal) -> Result<Response, PageError> {
    let session = post.session;
    let id = parse_id(&post.id)?;
    {
        let mut conn = state.store().acquire().await?;
        store::reviews::get(&mut conn, id)
            .await?
            .ok_or(PageError::NotFound("no such identity review"))?;
        store::audit::append(
            &mut conn,
            &operator::entry(
                &session.username,
                "identity_review.shown",
                format!("evidence of identity review {id} shown unmasked"),
            ),
        )
        .await?;
    }
    review_page(&state, &session, id, true, None).await
}

async fn decide(
    state: &DashState,
    session: &Session,
    id: Uuid,
    confirm: bool,
) -> Result<Response, PageError> {
    let actor = format!("operator:{}", session.username);
    let mut tx = state.store().begin().await?;
    let decided = if confirm {
        store::reviews::confirm(&mut tx, id, &actor).await?
    } else {
        store::reviews::reject(&mut tx, id, &actor).await?
    };
    let result = match decided {
        Decided::Merged { .. } => "confirmed",
        Decided::Rejected => "rejected",
        Decided::NotFound => return Err(PageError::NotFound("no such identity review")),
        Decided::NotOpen(_) => {
            return Err(PageError::BadRequest(
                "someone has already decided this review",
            ));
        }
        Decided::Conflict(_) => {
            return Err(PageError::BadRequest(
                "the two records hold different values for one identifier, so they cannot be one child: reject the match, or correct the sending system",
            ));
        }
    };
    tx.commit().await.map_err(StoreError::from)?;
    Ok(done(&format!("/dashboard/identity/{id}"), result))
}

pub async fn confirm(State(state): State<DashState>, act: Action) -> Result<Response, PageError> {
    decide(&state, &act.session, parse_id(&act.id)?, true).await
}

pub async fn reject(State(state): State<DashState>, act: Action) -> Result<Response, PageError> {
    decide(&state, &act.session, parse_id(&act.id)?, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(family: &str, postcode: &str, ids: &[(&str, &str)]) -> Evidence {
        Evidence {
            child: Uuid::now_v7(),
            identifiers: ids
                .iter()
                .map(|(s, v)| ((*s).to_owned(), (*v).to_owned()))
                .collect(),
            demographics: vec![Demographics {
                family_name: Some(family.into()),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(2015, 12, 10),
                postcode: Some(postcode.into()),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn masked_comparison_says_what_agrees_and_shows_no_value() {
        let a = evidence("Lovelace", "LS1 4AP", &[("nhs", "9434765919")]);
        let b = evidence("LOVELACE ", "LS1 9ZZ", &[("upn", "B801200005001")]);
        let lines = compare(&a, &b, false);
        let v = |f: &str| lines.iter().find(|l| l.field == f).unwrap().verdict;
        assert_eq!(v("family name"), "same");
        assert_eq!(v("date of birth"), "same");
        assert_eq!(v("postcode"), "same district");
        assert_eq!(v("given name"), "neither");
        assert_eq!(v("NHS number"), "one side only");
        assert_eq!(v("UPN"), "one side only");
        for l in &lines {
            for secret in [
                "Lovelace",
                "LOVELACE",
                "2015-12-10",
                "LS1",
                "9434765919",
                "B8012",
            ] {
                assert!(
                    !l.left.contains(secret) && !l.right.contains(secret),
                    "{secret}"
                );
            }
        }
        let shown = compare(&a, &b, true);
        assert!(shown.iter().any(|l| l.left.contains("Lovelace")));
    }

    #[test]
    fn two_different_values_for_one_scheme_differ() {
        let a = evidence("Lovelace", "LS1 4AP", &[("nhs", "9434765919")]);
        let b = evidence("Lovelace", "M1 1AA", &[("nhs", "9434765870")]);
        let lines = compare(&a, &b, false);
        let v = |f: &str| lines.iter().find(|l| l.field == f).unwrap().verdict;
        assert_eq!(v("NHS number"), "differs");
        assert_eq!(v("postcode"), "differs");
    }
}
