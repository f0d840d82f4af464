//! The DfE local authority numbers a UPN may carry in characters 2 to 4.
//!
//! Why check them at all: the UPN check letter catches typing errors, but a number made up to
//! pass it (or one copied from another field) usually names no local authority. Rejecting it at
//! the edge stops a made-up "UPN" from becoming a matching key.
//!
//! Source: DfE school census validation rule 1530 (2023/24 business and technical
//! specification), which lists "the valid post-April-1998 LA codes and pseudo-LA codes". The list
//! below is that rule's, range for range, with 942 (Cumberland) and 943 (Westmorland and
//! Furness) as added for 2023/24. It replaces an earlier list copied from python-stdnum, which
//! dated from January 2011 and so refused every UPN issued by an authority created or renumbered
//! since (838 Dorset, 839 Bournemouth, Christchurch and Poole, 940 and 941 Northamptonshire's
//! two unitaries, 942, 943), and the Welsh 660 to 681.
//!
//! Authorities are still created and renumbered. So that a new one does not need a release, the
//! hub's configuration adds numbers (`identity.extra_la_codes`), installed once at start-up with
//! [`set_extra_la_codes`].
//!
//! Why a process-wide setting rather than a parameter: `Upn::parse` runs inside
//! deserialisation (`SubjectIdentifiers` is read by serde from every input, and from the store),
//! where nothing can be passed in. The additions are a fact about England's local government
//! shared by every part of one hub, not a per-call choice, so one set per process is the honest
//! shape; a lock (rather than a `OnceLock`) lets tests and a restarted configuration replace it.

use std::sync::RwLock;

/// The LA numbers of census rule 1530, as inclusive ranges in ascending order, without overlaps
/// (checked at compile time below), so that [`is_recognised_la_code`] can binary-search them.
#[rustfmt::skip] // Keep the rule's ranges as it lays them out.
pub const RULE_1530_LA_CODES: &[(u16, u16)] = &[
    (1, 5),                         // pseudo-LA codes
    (201, 213), (301, 320),         // City of London, London boroughs
    (330, 336), (340, 344), (350, 359), (370, 373), (380, 384), (390, 394), // metropolitan
    (420, 420),                     // Isles of Scilly
    (660, 681),                     // Wales
    (701, 708),                     // pseudo-LA codes
    (800, 803), (805, 808), (810, 813), (815, 816), (820, 823), (825, 826), (830, 831),
    (835, 837), (838, 839), (840, 841), (845, 846), (850, 852), (855, 857), (860, 861),
    (865, 896),
    (908, 909), (916, 916), (919, 919), (921, 921), (925, 926), (928, 929), (931, 931),
    (933, 933), (935, 938), (940, 941),
    (942, 943),                     // added for 2023/24: Cumberland; Westmorland and Furness
];

const fn ascending_ranges(ranges: &[(u16, u16)]) -> bool {
    let mut i = 0;
    while i < ranges.len() {
        if ranges[i].0 > ranges[i].1 {
            return false;
        }
        if i > 0 && ranges[i - 1].1 >= ranges[i].0 {
            return false;
        }
        i += 1;
    }
    true
}

// Binary search is only correct on sorted, disjoint ranges: make a bad edit a compile error.
const _: () = assert!(ascending_ranges(RULE_1530_LA_CODES));

/// Numbers added by the hub's configuration (`identity.extra_la_codes`), sorted.
static EXTRA_LA_CODES: RwLock<Vec<u16>> = RwLock::new(Vec::new());

/// Installs the numbers the configuration adds to census rule 1530's list, replacing any set
/// before. The hub calls it once at start-up, before it reads any input.
pub fn set_extra_la_codes(codes: &[u16]) {
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    *EXTRA_LA_CODES
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = sorted;
}

/// Whether `code` is a recognised DfE LA number (the number as an integer, so `001` is `1`):
/// in census rule 1530's list, or added by the configuration.
pub fn is_recognised_la_code(code: u16) -> bool {
    in_rule_1530(code)
        || EXTRA_LA_CODES
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .binary_search(&code)
            .is_ok()
}

/// Whether census rule 1530 itself lists `code` (the configuration's additions aside).
pub fn in_rule_1530(code: u16) -> bool {
    RULE_1530_LA_CODES
        .binary_search_by(|&(first, last)| {
            if last < code {
                std::cmp::Ordering::Less
            } else if first > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule 1530's wording, range by range: "001-005, 201-213, 301-320, 330-336, 340-344,
    /// 350-359, 370-373, 380-384, 390-394, 420, 660-681, 701-708, 800-803, 805-808, 810-813,
    /// 815, 816, 820-823, 825, 826, 830, 831, 835-837, 838-839, 840, 841, 845, 846, 850-852,
    /// 855-857, 860, 861, 865-896, 908, 909, 916, 919, 921, 925, 926, 928, 929, 931, 933,
    /// 935-938, 940-941", with 942 and 943 added for 2023/24.
    const RULE_1530_WORDING: &str = "001-005, 201-213, 301-320, 330-336, 340-344, 350-359, \
        370-373, 380-384, 390-394, 420, 660-681, 701-708, 800-803, 805-808, 810-813, 815, 816, \
        820-823, 825, 826, 830, 831, 835-837, 838-839, 840, 841, 845, 846, 850-852, 855-857, \
        860, 861, 865-896, 908, 909, 916, 919, 921, 925, 926, 928, 929, 931, 933, 935-938, \
        940-941, 942, 943";

    fn from_wording() -> Vec<u16> {
        let mut codes = Vec::new();
        for item in RULE_1530_WORDING.split(',').map(str::trim) {
            let (first, last) = item.split_once('-').unwrap_or((item, item));
            let (first, last): (u16, u16) = (first.parse().unwrap(), last.parse().unwrap());
            codes.extend(first..=last);
        }
        codes
    }

    #[test]
    fn recognises_exactly_the_codes_rule_1530_lists() {
        let listed = from_wording();
        for code in 0..=999 {
            assert_eq!(
                in_rule_1530(code),
                listed.contains(&code),
                "LA number {code:03}"
            );
        }
    }

    #[test]
    fn the_authorities_created_since_2011_are_recognised() {
        for code in [838, 839, 940, 941, 942, 943, 660, 681, 820, 875] {
            assert!(in_rule_1530(code), "{code}");
        }
        for code in [0, 6, 200, 214, 419, 421, 700, 709, 804, 900, 939, 944, 999] {
            assert!(!in_rule_1530(code), "{code}");
        }
    }

    #[test]
    fn the_configuration_adds_numbers_and_replacing_removes_them() {
        // 990 and 991 name no authority; no other test in this crate uses them.
        assert!(!is_recognised_la_code(990));
        set_extra_la_codes(&[991, 990, 990]);
        assert!(is_recognised_la_code(990) && is_recognised_la_code(991));
        set_extra_la_codes(&[]);
        assert!(!is_recognised_la_code(990) && !is_recognised_la_code(991));
        assert!(is_recognised_la_code(943), "the rule's own list stays");
    }
}
