use super::*;

#[test]
fn every_pattern_in_the_defaults_table_names_at_least_one_kind() {
    for (role, patterns) in ROLE_DEFAULTS {
        for p in *patterns {
            assert!(expand(p).is_some(), "role `{role}`: `{p}` matches no kind");
        }
    }
    for p in COMMON_KINDS {
        assert!(expand(p).is_some(), "common kind `{p}` is not a kind");
    }
}

#[test]
fn a_school_may_not_send_social_care_or_nhs_kinds_by_default() {
    let school = role_default("school");
    assert!(school.contains(&EventKind::SchoolLeft));
    assert!(school.contains(&EventKind::AttendanceConcern));
    assert!(!school.contains(&EventKind::SocialCareChildProtectionPlanEnded));
    assert!(!school.contains(&EventKind::NhsAdmission));
    assert!(!school.contains(&EventKind::EhcPlanFinal));
}

#[test]
fn an_unknown_role_sends_only_the_common_kinds() {
    assert_eq!(role_default("youth_justice"), expand_all(COMMON_KINDS));
}

#[test]
fn no_pattern_ever_admits_a_hub_notice() {
    for kinds in [expand("*").unwrap(), expand("handoff.*").unwrap()] {
        assert!(kinds.iter().all(|k| !k.is_hub_notice()));
    }
    assert!(expand("handoff.reminder").is_none());
    assert!(expand("child.*").is_none());
}

#[test]
fn a_school_may_restate_a_plan_and_care_status_but_not_assert_them() {
    let restates = role_restates("school");
    assert!(restates.contains(&EventKind::EhcPlanFinal));
    assert!(restates.contains(&EventKind::SocialCareLookedAfterStarted));
    assert!(!restates.contains(&EventKind::SocialCareChildProtectionPlanEnded));
    assert!(!role_default("school").contains(&EventKind::EhcPlanFinal));
    assert!(role_restates("health").is_empty());
    for (role, patterns) in ROLE_RESTATES {
        for p in *patterns {
            assert!(expand(p).is_some(), "role `{role}`: `{p}` matches no kind");
        }
    }
}
