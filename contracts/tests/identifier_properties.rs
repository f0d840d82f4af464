//! Property tests for the child identifiers.
//!
//! The fixed test vectors beside the code show the algorithms are right on known cases; these
//! show the guarantees the rest of the hub leans on hold for every value: what the checksums
//! catch, that separators never change the meaning, and that no identifier value leaks through
//! `Debug` or an error message.

use proptest::prelude::*;
use throughline_contracts::AgencyId;
use throughline_contracts::identifiers::{
    IdentifierError, LocalId, NhsNumber, RULE_1530_LA_CODES, Upn,
};

const UPN_LETTERS: &str = "ABCDEFGHJKLMNPQRTUVWXYZ";

fn digits_to_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Nine digits with a usable check value, then the check digit. Half the cases come from the
/// 999 range the NHS reserves for test data.
fn valid_nhs_digits() -> impl Strategy<Value = [u8; 10]> {
    let any9 = proptest::array::uniform9(0u8..=9);
    let test_range = proptest::array::uniform6(0u8..=9)
        .prop_map(|d| [9, 9, 9, d[0], d[1], d[2], d[3], d[4], d[5]]);
    prop_oneof![any9, test_range].prop_filter_map("check value is 10", |first9| {
        NhsNumber::check_digit(&first9).map(|check| {
            let mut all = [0u8; 10];
            all[..9].copy_from_slice(&first9);
            all[9] = check;
            all
        })
    })
}

fn valid_nhs_string() -> impl Strategy<Value = String> {
    valid_nhs_digits().prop_map(|d| digits_to_string(&d))
}

/// Interleaves up to two separators (spaces or hyphens) before, between and after characters.
fn with_separators(s: &str, seps: &[String]) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        out.push_str(&seps[i % seps.len()]);
        out.push(c);
    }
    out.push_str(&seps[s.len() % seps.len()]);
    out
}

fn separators() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[ -]{0,2}", 14)
}

/// A valid UPN: a recognised LA number, eight digits, then a digit or (temporary) a table
/// letter, with the computed check letter in front.
fn valid_upn_string() -> impl Strategy<Value = String> {
    let last = prop_oneof![
        (0u8..=9).prop_map(|d| char::from(b'0' + d)),
        proptest::sample::select(UPN_LETTERS.chars().collect::<Vec<_>>()),
    ];
    (
        proptest::sample::select(
            RULE_1530_LA_CODES
                .iter()
                .flat_map(|&(first, last)| first..=last)
                .collect::<Vec<u16>>(),
        ),
        proptest::array::uniform8(0u8..=9),
        last,
    )
        .prop_map(|(la, middle, last)| {
            let tail = format!("{la:03}{}{last}", digits_to_string(&middle));
            let check = Upn::check_letter(&tail).expect("generated tail is well formed");
            format!("{check}{tail}")
        })
}

fn assert_error_hides(err: &IdentifierError, inputs: &[&str]) -> Result<(), TestCaseError> {
    let msg = err.to_string();
    let debug = format!("{err:?}");
    for input in inputs {
        prop_assert!(
            !msg.contains(input),
            "message {msg:?} contains input {input:?}"
        );
        prop_assert!(
            !debug.contains(input),
            "debug {debug:?} contains input {input:?}"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn valid_nhs_numbers_parse_and_round_trip(s in valid_nhs_string(), seps in separators()) {
        let n = NhsNumber::parse(&s).unwrap();
        prop_assert_eq!(n.as_str(), s.as_str());
        prop_assert_eq!(NhsNumber::parse(&n.formatted()).unwrap(), n.clone());
        prop_assert_eq!(n.formatted().replace(' ', ""), s.clone());

        let json = serde_json::to_string(&n).unwrap();
        prop_assert_eq!(&json, &format!("\"{s}\""));
        prop_assert_eq!(serde_json::from_str::<NhsNumber>(&json).unwrap(), n.clone());

        let separated = with_separators(&s, &seps);
        prop_assert_eq!(NhsNumber::parse(&separated).unwrap(), n.clone());
        let json = serde_json::to_string(&separated).unwrap();
        prop_assert_eq!(serde_json::from_str::<NhsNumber>(&json).unwrap(), n);
    }

    /// Modulus 11 with distinct weights below 11 catches every single-digit substitution,
    /// including of the check digit itself.
    #[test]
    fn changing_one_nhs_digit_fails_the_check(
        digits in valid_nhs_digits(),
        position in 0usize..10,
        delta in 1u8..=9,
    ) {
        let mut corrupted = digits;
        corrupted[position] = (digits[position] + delta) % 10;
        let s = digits_to_string(&corrupted);
        let err = NhsNumber::parse(&s).unwrap_err();
        prop_assert!(
            matches!(err, IdentifierError::NhsCheckDigit | IdentifierError::NhsCheckValueTen),
            "unexpected error {:?}", err
        );
        assert_error_hides(&err, &[&s, &s[..9], &digits_to_string(&digits)])?;
    }

    /// Adjacent weights differ by 1 (the check digit acts as weight 1), so swapping two
    /// different neighbouring digits always changes the sum modulo 11.
    #[test]
    fn swapping_adjacent_nhs_digits_fails_the_check(
        digits in valid_nhs_digits(),
        position in 0usize..9,
    ) {
        prop_assume!(digits[position] != digits[position + 1]);
        let mut swapped = digits;
        swapped.swap(position, position + 1);
        let s = digits_to_string(&swapped);
        let err = NhsNumber::parse(&s).unwrap_err();
        prop_assert!(
            matches!(err, IdentifierError::NhsCheckDigit | IdentifierError::NhsCheckValueTen),
            "unexpected error {:?}", err
        );
        assert_error_hides(&err, &[&s])?;
    }

    #[test]
    fn nhs_debug_never_shows_the_digits(s in valid_nhs_string()) {
        let n = NhsNumber::parse(&s).unwrap();
        for shown in [format!("{n:?}"), format!("{n:#?}"), format!("{:?}", Some(&n))] {
            prop_assert!(!shown.contains(&s));
            prop_assert!(!shown.contains(&n.formatted()));
            prop_assert!(!shown.chars().any(|c| c.is_ascii_digit()), "{}", shown);
        }
    }

    #[test]
    fn valid_upns_parse_and_round_trip(s in valid_upn_string(), seps in separators()) {
        let upn = Upn::parse(&s).unwrap();
        prop_assert_eq!(upn.as_str(), s.as_str());
        prop_assert_eq!(upn.is_temporary(), s.ends_with(|c: char| c.is_ascii_alphabetic()));
        prop_assert_eq!(upn.la_code(), s[1..4].parse::<u16>().unwrap());

        let json = serde_json::to_string(&upn).unwrap();
        prop_assert_eq!(serde_json::from_str::<Upn>(&json).unwrap(), upn.clone());

        let loose = with_separators(&s.to_ascii_lowercase(), &seps);
        prop_assert_eq!(Upn::parse(&loose).unwrap(), upn);
    }

    #[test]
    fn a_different_upn_check_letter_fails(s in valid_upn_string(), index in 0usize..22) {
        let letters: Vec<char> = UPN_LETTERS.chars().filter(|&c| !s.starts_with(c)).collect();
        let corrupted = format!("{}{}", letters[index], &s[1..]);
        let err = Upn::parse(&corrupted).unwrap_err();
        prop_assert_eq!(&err, &IdentifierError::UpnCheckLetter);
        assert_error_hides(&err, &[&corrupted, &s[1..], &s[4..12]])?;
    }

    /// Weights 5 to 12 are below the prime 23, so a changed digit always changes the sum.
    #[test]
    fn changing_one_upn_serial_digit_fails(
        s in valid_upn_string(),
        position in 5usize..=12,
        delta in 1u8..=9,
    ) {
        let mut bytes = s.clone().into_bytes();
        let i = position - 1;
        bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
        let corrupted = String::from_utf8(bytes).unwrap();
        let err = Upn::parse(&corrupted).unwrap_err();
        prop_assert_eq!(&err, &IdentifierError::UpnCheckLetter);
        assert_error_hides(&err, &[&corrupted, &corrupted[4..12]])?;
    }

    #[test]
    fn upn_debug_never_shows_the_value(s in valid_upn_string()) {
        let upn = Upn::parse(&s).unwrap();
        for shown in [format!("{upn:?}"), format!("{upn:#?}")] {
            prop_assert!(!shown.contains(&s));
            prop_assert!(!shown.contains(&s[1..]));
            prop_assert!(!shown.chars().any(|c| c.is_ascii_digit()), "{}", shown);
        }
    }

    /// Arbitrary garbage: whatever the parser says, it does not say the input back. Inputs are
    /// at least six characters without lower case, so a match cannot be a coincidence with a
    /// count or a word in the message.
    #[test]
    fn errors_never_contain_the_input(raw in "[0-9A-Z .#/-]{6,24}") {
        let stripped: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let mut inputs = vec![raw.as_str()];
        if stripped.len() >= 6 {
            inputs.push(&stripped);
        }
        if let Err(err) = NhsNumber::parse(&raw) {
            assert_error_hides(&err, &inputs)?;
        }
        if let Err(err) = Upn::parse(&raw) {
            assert_error_hides(&err, &inputs)?;
            let upper = stripped.to_ascii_uppercase();
            if upper.len() >= 6 {
                assert_error_hides(&err, &[&upper])?;
            }
        }
        let agency = AgencyId::parse("school-17").unwrap();
        if let Err(err) = LocalId::new(agency, "sims", &raw) {
            assert_error_hides(&err, &inputs)?;
        }
    }

    #[test]
    fn local_id_debug_and_errors_hide_the_value(
        value in "[A-Z0-9]{8,40}",
        system in "[a-z][a-z0-9._-]{0,20}",
    ) {
        let agency = AgencyId::parse("camhs-north").unwrap();
        let id = LocalId::new(agency.clone(), &system, &value).unwrap();
        prop_assert_eq!(id.value(), value.as_str());
        prop_assert_eq!(id.scope(), format!("camhs-north/{system}"));
        let shown = format!("{id:?}");
        prop_assert!(!shown.contains(&value), "{}", shown);
        prop_assert!(shown.contains(&system));

        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<LocalId>(&json).unwrap(), id);

        let spaced = format!("{} {}", &value[..4], &value[4..]);
        let err = LocalId::new(agency, &system, &spaced).unwrap_err();
        prop_assert_eq!(&err, &IdentifierError::LocalValueWhitespace);
        assert_error_hides(&err, &[&value, &value[..4], &value[4..]])?;
    }
}
