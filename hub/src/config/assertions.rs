//! What each source may assert: which event kinds it may send, whose involvement it may change,
//! and in whose namespace it may assert local ids (`docs/security.md`, "Who may assert what").
//!
//! Authentication says who is speaking; these rules say what that speaker may say. A school's
//! key proves the message came from the school, not that the school may end CAMHS's involvement
//! or a child protection plan. Deny by default: a kind is allowed only by the defaults of the
//! source's agency role ([`ROLE_DEFAULTS`], the one table), by the kinds every source may send
//! ([`COMMON_KINDS`]), or by the source's own `may_send`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;

use super::ConfigError;

/// Kinds every source may send, whatever its role, because each is bounded by a rule of its own:
///
/// - `referral.made` and `ehc_needs_assessment.requested`: any agency may ask another to act
///   (SEND Code of Practice 9.9: anyone may bring a child to the local authority's attention);
///   asking changes nothing about the child until the receiver answers.
/// - the referral answers (`accepted`, `declined`, `redirected`, `closed`) and
///   `handoff.acknowledged`: the handoff tracker accepts an answer only from the handoff's
///   receiver, so allowing the kind lets an agency answer only what was sent to it.
/// - `involvement.started` / `involvement.ended`: every agency may say it started or stopped
///   working with a child; whose involvement it may change is a separate rule
///   ([`Assertions::may_change_involvement_of`]).
pub const COMMON_KINDS: &[&str] = &[
    "referral.made",
    "referral.accepted",
    "referral.declined",
    "referral.redirected",
    "referral.closed",
    "ehc_needs_assessment.requested",
    "handoff.acknowledged",
    "involvement.started",
    "involvement.ended",
];

/// The defaults table: the kinds an agency of each role may send on top of [`COMMON_KINDS`].
/// A pattern is a kind, or a family such as `school.*`. A role not listed here (`acute`,
/// `youth_justice`, a local name) sends only the common kinds until its sources say more with
/// `may_send`: a new kind of agency is trusted with nothing by accident.
///
/// The local authority's designated team (`[handoffs] local_authority`) may send every kind
/// agencies may send: it is the statutory owner of a child no one else holds, and answers for
/// any agency that has gone silent (the last step of every escalation).
pub const ROLE_DEFAULTS: &[(&str, &[&str])] = &[
    // A school reports its roll, its SEN support, attendance and exclusions.
    (
        "school",
        &["school.*", "sen_support.*", "attendance.*", "exclusion.*"],
    ),
    // The NHS reports encounters, flags and episodes of care.
    ("health", &["nhs.*", "episode_of_care.*"]),
    // Children's social care reports its own assessments, plans and care status.
    ("social_care", &["social_care.*"]),
    // The local authority's SEND team runs EHC needs assessments and plans.
    ("send", &["ehc_needs_assessment.*", "ehc_plan.*"]),
];

/// Kinds an agency of a role may *restate* (send with `as_at`, the reference date of a file
/// that repeats the child's record) though it may not assert them as news.
///
/// A school's Common Transfer File carries the pupil's SEN history, EHC plan (provision `E`)
/// and looked-after status with every transfer (DfE, "Common transfer file 26: specification",
/// 2026, SEN and LookedAfter containers): the CTF reader restates them as `ehc_plan.final`,
/// `ehc_plan.ceased` and `social_care.looked_after.started`, marked `as_at` the file's date. The
/// school is not the author of those facts (the local authority and children's social care
/// are), so it may not send them as news; but refusing them would quarantine every pupil with a
/// plan or in care, transfer and all. A restatement is bounded by the history rules: once older
/// than `history.window` it opens no handoff and notifies nobody, and the plan and care kinds
/// close only handoffs their sender sent or received (`docs/handoffs.md`).
pub const ROLE_RESTATES: &[(&str, &[&str])] = &[(
    "school",
    &[
        "ehc_plan.final",
        "ehc_plan.ceased",
        "social_care.looked_after.started",
    ],
)];

/// The kinds an agency of this role may restate (see [`ROLE_RESTATES`]).
pub fn role_restates(role: &str) -> BTreeSet<EventKind> {
    ROLE_RESTATES
        .iter()
        .filter(|(r, _)| *r == role)
        .flat_map(|(_, patterns)| expand_all(patterns))
        .collect()
}

/// Kinds matching `pattern`: one kind, a family (`school.*`), or every kind (`*`).
/// Hub notices never match: no source may send them.
pub fn expand(pattern: &str) -> Option<BTreeSet<EventKind>> {
    let agency_kinds = EventKind::ALL
        .iter()
        .copied()
        .filter(|k| !k.is_hub_notice());
    if pattern == "*" {
        return Some(agency_kinds.collect());
    }
    if let Some(family) = pattern.strip_suffix(".*") {
        let prefix = format!("{family}.");
        let set: BTreeSet<EventKind> = agency_kinds
            .filter(|k| k.as_str().starts_with(&prefix))
            .collect();
        return (!set.is_empty()).then_some(set);
    }
    pattern
        .parse::<EventKind>()
        .ok()
        .filter(|k| !k.is_hub_notice())
        .map(|k| BTreeSet::from([k]))
}

fn expand_all(patterns: &[&str]) -> BTreeSet<EventKind> {
    patterns
        .iter()
        .filter_map(|p| expand(p))
        .flatten()
        .collect()
}

/// The kinds a source of this role may send by default, common kinds included.
pub fn role_default(role: &str) -> BTreeSet<EventKind> {
    let mut kinds = expand_all(COMMON_KINDS);
    if let Some((_, patterns)) = ROLE_DEFAULTS.iter().find(|(r, _)| *r == role) {
        kinds.extend(expand_all(patterns));
    }
    kinds
}

/// Where a source's allowed kinds come from: named in every refusal, so the sender and the
/// operator know which rule to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindRule {
    /// The defaults of the agency's role (`ROLE_DEFAULTS`).
    RoleDefault(String),
    /// The local authority's designated team: every kind.
    DesignatedTeam,
    /// The source's own `may_send`.
    Configured,
}

/// Whose involvement a source may change, beyond its own agency's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvolvementRule {
    /// Its own agency only (the default).
    OwnOnly,
    /// Any agency: the local authority's designated team, or `may_change_involvement_of = ["*"]`.
    Any { designated_team: bool },
    /// Its own agency and these (`may_change_involvement_of`).
    Listed(BTreeSet<AgencyId>),
}

/// One source's assertion rules, checked at start-up and applied at the `authorise` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertions {
    /// The source's own agency.
    pub agency: AgencyId,
    /// Every kind it may send.
    pub kinds: BTreeSet<EventKind>,
    /// Where `kinds` came from.
    pub kind_rule: KindRule,
    /// Kinds it may send only as a restatement, with `as_at` (its role's [`ROLE_RESTATES`]).
    pub restates: BTreeSet<EventKind>,
    /// Whose involvement it may change.
    pub involvement: InvolvementRule,
    /// Agencies in whose namespace it may assert local ids besides its own (`relays_for`): a
    /// regional data hub passing on its members' records.
    pub relays_for: BTreeSet<AgencyId>,
}

impl Assertions {
    pub fn may_send(&self, kind: EventKind) -> bool {
        !kind.is_hub_notice() && self.kinds.contains(&kind)
    }

    /// Whether it may send `kind` restating a file's record (with `as_at`).
    pub fn may_restate(&self, kind: EventKind) -> bool {
        self.may_send(kind) || (!kind.is_hub_notice() && self.restates.contains(&kind))
    }

    pub fn may_change_involvement_of(&self, agency: &AgencyId) -> bool {
        *agency == self.agency
            || match &self.involvement {
                InvolvementRule::OwnOnly => false,
                InvolvementRule::Any { .. } => true,
                InvolvementRule::Listed(set) => set.contains(agency),
            }
    }

    pub fn may_assert_local_ids_of(&self, agency: &AgencyId) -> bool {
        *agency == self.agency || self.relays_for.contains(agency)
    }
}

impl fmt::Display for KindRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindRule::RoleDefault(role) => write!(f, "may_send: the defaults of role `{role}`"),
            KindRule::DesignatedTeam => {
                f.write_str("may_send: the local authority's designated team sends any kind")
            }
            KindRule::Configured => f.write_str("may_send: the source's own list"),
        }
    }
}

impl fmt::Display for InvolvementRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvolvementRule::OwnOnly => {
                f.write_str("may_change_involvement_of: its own agency only (the default)")
            }
            InvolvementRule::Any { .. } => f.write_str("may_change_involvement_of: any agency"),
            InvolvementRule::Listed(_) => {
                f.write_str("may_change_involvement_of: its own agency and the source's list")
            }
        }
    }
}

/// What `[[sources]]` says about one source's assertions, before checking.
pub struct Declared<'a> {
    /// `sources[i]`, for error keys.
    pub key: &'a str,
    pub agency: &'a AgencyId,
    pub role: &'a str,
    pub designated_team: bool,
    pub may_send: Option<&'a [String]>,
    pub may_change_involvement_of: &'a [String],
    pub relays_for: &'a [String],
}

/// Checks one source's rules against the configured agencies; every problem names its key.
pub fn build(
    file: &Path,
    d: Declared<'_>,
    known: &dyn Fn(&AgencyId) -> bool,
    errors: &mut Vec<ConfigError>,
) -> Assertions {
    let (kinds, kind_rule) = match d.may_send {
        Some(patterns) => {
            let mut kinds = expand_all(COMMON_KINDS);
            if patterns.is_empty() {
                errors.push(ConfigError::new(
                    file,
                    &format!("{}.may_send", d.key),
                    "must list at least one event kind, a family such as \"school.*\", or \"*\"; \
                     leave it out for the defaults of the agency's role",
                ));
            }
            for (j, p) in patterns.iter().enumerate() {
                match expand(p) {
                    Some(set) => kinds.extend(set),
                    None => errors.push(ConfigError::new(
                        file,
                        &format!("{}.may_send[{j}]", d.key),
                        format!(
                            "`{p}` is not an event kind an agency may send, a family such as \
                             \"school.*\", or \"*\""
                        ),
                    )),
                }
            }
            (kinds, KindRule::Configured)
        }
        None if d.designated_team => (expand_all(&["*"]), KindRule::DesignatedTeam),
        None => (
            role_default(d.role),
            KindRule::RoleDefault(d.role.to_owned()),
        ),
    };
    let agencies = |list: &[String], name: &str, errors: &mut Vec<ConfigError>| {
        let mut set = BTreeSet::new();
        for (j, a) in list.iter().enumerate() {
            let key = format!("{}.{name}[{j}]", d.key);
            match AgencyId::parse(a) {
                Ok(id) if known(&id) => {
                    set.insert(id);
                }
                Ok(_) => errors.push(ConfigError::new(
                    file,
                    &key,
                    "no agency with this id is configured",
                )),
                Err(e) => errors.push(ConfigError::new(file, &key, e.to_string())),
            }
        }
        set
    };
    let involvement = if d.may_change_involvement_of.iter().any(|a| a == "*") {
        InvolvementRule::Any {
            designated_team: false,
        }
    } else if !d.may_change_involvement_of.is_empty() {
        InvolvementRule::Listed(agencies(
            d.may_change_involvement_of,
            "may_change_involvement_of",
            errors,
        ))
    } else if d.designated_team {
        InvolvementRule::Any {
            designated_team: true,
        }
    } else {
        InvolvementRule::OwnOnly
    };
    let relays_for = agencies(d.relays_for, "relays_for", errors);
    if relays_for.contains(d.agency) {
        errors.push(ConfigError::new(
            file,
            &format!("{}.relays_for", d.key),
            "lists the source's own agency, whose namespace it always has",
        ));
    }
    Assertions {
        agency: d.agency.clone(),
        kinds,
        kind_rule,
        restates: role_restates(d.role),
        involvement,
        relays_for,
    }
}

#[cfg(test)]
mod tests;
