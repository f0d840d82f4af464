use super::*;
use serde::de::IntoDeserializer;
use serde::de::value::{Error as ValueError, StrDeserializer};

fn parse(input: &str) -> Result<Period, PeriodError> {
    input.parse()
}

#[test]
fn parses_every_form() {
    assert_eq!(parse("2 working days"), Ok(Period::WorkingDays(2)));
    assert_eq!(parse("1 working day"), Ok(Period::WorkingDays(1)));
    assert_eq!(parse("15 days"), Ok(Period::Days(15)));
    assert_eq!(parse("6 weeks"), Ok(Period::Weeks(6)));
    assert_eq!(parse("12 months"), Ok(Period::Months(12)));
    assert_eq!(parse("48 hours"), Ok(Period::Hours(48)));
    assert_eq!(parse("4 working hours"), Ok(Period::WorkingHours(4)));
    assert_eq!(parse("1 Working Hour"), Ok(Period::WorkingHours(1)));
    assert_eq!(
        parse("next 15 February"),
        Ok(Period::Next(AnnualDate::new(15, 2).unwrap()))
    );
    assert_eq!(
        parse("next 31 March"),
        Ok(Period::Next(AnnualDate::new(31, 3).unwrap()))
    );
}

#[test]
fn accepts_case_spacing_and_number_variations() {
    assert_eq!(parse("  2  Working   Days "), Ok(Period::WorkingDays(2)));
    assert_eq!(parse("1 weeks"), Ok(Period::Weeks(1)));
    assert_eq!(parse("6 week"), Ok(Period::Weeks(6)));
    assert_eq!(parse("NEXT 15 feb"), parse("next 15 February"));
}

#[test]
fn display_round_trips_through_from_str() {
    for text in [
        "2 working days",
        "1 working day",
        "15 days",
        "1 day",
        "6 weeks",
        "20 weeks",
        "12 months",
        "1 month",
        "48 hours",
        "0 hours",
        "4 working hours",
        "1 working hour",
        "next 15 February",
        "next 31 March",
    ] {
        let period = parse(text).unwrap();
        assert_eq!(period.to_string(), text);
        assert_eq!(parse(&period.to_string()), Ok(period));
    }
}

#[test]
fn rejects_words_for_numbers_with_expected_shape() {
    let error = parse("six weeks").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected `<number> <unit>` where unit is one of working days, days, weeks, \
         months, hours, working hours, or `next <day> <month>`; found `six weeks`"
    );
}

#[test]
fn rejects_malformed_periods() {
    assert_eq!(parse("   "), Err(PeriodError::Empty));
    assert!(matches!(parse("6"), Err(PeriodError::Shape { .. })));
    assert!(matches!(parse("-6 weeks"), Err(PeriodError::Shape { .. })));
    assert!(matches!(
        parse("2 fortnights"),
        Err(PeriodError::UnknownUnit { .. })
    ));
    assert!(matches!(
        parse("20000 days"),
        Err(PeriodError::TooLarge { .. })
    ));
    assert!(matches!(
        parse("99999999999 days"),
        Err(PeriodError::TooLarge { .. })
    ));
    assert!(matches!(
        parse("next February"),
        Err(PeriodError::FixedDate { .. })
    ));
    assert!(matches!(
        parse("next 15 Febuary"),
        Err(PeriodError::FixedDate { .. })
    ));
    assert_eq!(
        parse("next 29 February"),
        Err(PeriodError::NoSuchDay { day: 29, month: 2 })
    );
    assert_eq!(
        parse("next 31 April"),
        Err(PeriodError::NoSuchDay { day: 31, month: 4 })
    );
}

#[test]
fn unknown_unit_message_names_the_unit() {
    assert_eq!(
        parse("2 fortnights").unwrap_err().to_string(),
        "expected a unit of working days, days, weeks, months, hours or working hours; found `fortnights` \
         in `2 fortnights`"
    );
}

#[test]
fn next_after_is_strictly_after() {
    let feb15 = AnnualDate::new(15, 2).unwrap();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(feb15.next_after(date(2026, 11, 24)), date(2027, 2, 15));
    assert_eq!(feb15.next_after(date(2027, 2, 14)), date(2027, 2, 15));
    assert_eq!(feb15.next_after(date(2027, 2, 15)), date(2028, 2, 15));
}

#[test]
fn deserializes_from_a_config_string() {
    let de: StrDeserializer<'_, ValueError> = "6 weeks".into_deserializer();
    assert_eq!(Period::deserialize(de), Ok(Period::Weeks(6)));
}

#[test]
fn deserialize_error_carries_the_parse_message() {
    let de: StrDeserializer<'_, ValueError> = "six weeks".into_deserializer();
    let error = Period::deserialize(de).unwrap_err();
    assert!(error.to_string().contains("found `six weeks`"), "{error}");
}
