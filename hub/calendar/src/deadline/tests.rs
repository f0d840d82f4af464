use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("test instant")
}

fn period(text: &str) -> Period {
    text.parse().expect("test period")
}

fn due_unpaused(text: &str, start: &str) -> DateTime<Utc> {
    let calendar = WorkingCalendar::england_and_wales();
    due(&period(text), at(start), &calendar, &[]).expect("no open pause")
}

fn due_paused(text: &str, start: &str, pauses: &[Pause]) -> Option<DateTime<Utc>> {
    let calendar = WorkingCalendar::england_and_wales();
    due(&period(text), at(start), &calendar, pauses)
}

fn closed(from: &str, until: &str) -> Pause {
    Pause {
        from: at(from),
        until: Some(at(until)),
    }
}

#[test]
fn referral_on_friday_with_two_working_days_is_due_end_of_tuesday() {
    assert_eq!(
        due_unpaused("2 working days", "2026-01-09T14:00:00Z"),
        at("2026-01-13T23:59:59.999Z")
    );
}

#[test]
fn working_days_skip_easter_2026() {
    // Thursday 2 April; Good Friday and Easter Monday are holidays; London is on BST.
    assert_eq!(
        due_unpaused("2 working days", "2026-04-02T09:00:00Z"),
        at("2026-04-08T22:59:59.999Z")
    );
}

#[test]
fn working_days_skip_christmas_2026() {
    // Christmas is Friday; Boxing Day (Saturday) is substituted on Monday 28th.
    assert_eq!(
        due_unpaused("2 working days", "2026-12-24T09:00:00Z"),
        at("2026-12-30T23:59:59.999Z")
    );
}

#[test]
fn six_weeks_is_forty_two_calendar_days() {
    assert_eq!(
        due_unpaused("6 weeks", "2026-01-05T10:00:00Z"),
        at("2026-02-16T23:59:59.999Z")
    );
}

#[test]
fn twenty_weeks_ends_in_british_summer_time() {
    assert_eq!(
        due_unpaused("20 weeks", "2026-01-05T10:00:00Z"),
        at("2026-05-25T22:59:59.999Z")
    );
}

#[test]
fn fifteen_days_ending_in_summer_is_due_at_22_59_utc() {
    assert_eq!(
        due_unpaused("15 days", "2026-06-16T08:00:00Z"),
        at("2026-07-01T22:59:59.999Z")
    );
}

#[test]
fn twelve_months_from_29_february_clamps_to_28_february() {
    assert_eq!(
        due_unpaused("12 months", "2028-02-29T10:00:00Z"),
        at("2029-02-28T23:59:59.999Z")
    );
}

#[test]
fn one_month_from_31_january_clamps_to_february_end() {
    assert_eq!(
        due_unpaused("1 month", "2027-01-31T10:00:00Z"),
        at("2027-02-28T23:59:59.999Z")
    );
    assert_eq!(
        due_unpaused("1 month", "2028-01-31T10:00:00Z"),
        at("2028-02-29T23:59:59.999Z")
    );
}

#[test]
fn next_15_february_is_in_the_following_year_from_november() {
    assert_eq!(
        due_unpaused("next 15 February", "2026-11-24T10:00:00Z"),
        at("2027-02-15T23:59:59.999Z")
    );
}

#[test]
fn next_15_february_started_on_15_february_is_a_year_later() {
    assert_eq!(
        due_unpaused("next 15 February", "2027-02-15T10:00:00Z"),
        at("2028-02-15T23:59:59.999Z")
    );
}

#[test]
fn next_31_march_can_fall_in_summer_time() {
    // Summer time 2027 starts on Sunday 28 March.
    assert_eq!(
        due_unpaused("next 31 March", "2026-09-01T10:00:00Z"),
        at("2027-03-31T22:59:59.999Z")
    );
}

#[test]
fn clock_counts_from_the_london_date_of_a_late_evening_start() {
    // 23:30 UTC on 1 July is 00:30 on 2 July in London.
    assert_eq!(
        due_unpaused("1 day", "2026-07-01T23:30:00Z"),
        at("2026-07-03T22:59:59.999Z")
    );
}

#[test]
fn hours_are_exact_from_clock_start() {
    assert_eq!(
        due_unpaused("48 hours", "2026-01-09T14:00:00Z"),
        at("2026-01-11T14:00:00Z")
    );
    let pause = closed("2026-01-10T09:00:00Z", "2026-01-10T10:30:00Z");
    assert_eq!(
        due_paused("48 hours", "2026-01-09T14:00:00Z", &[pause]),
        Some(at("2026-01-11T15:30:00Z"))
    );
}

#[test]
fn ten_day_pause_extends_six_weeks_by_ten_days() {
    let pause = closed("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z");
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &[pause]),
        Some(at("2026-02-26T23:59:59.999Z"))
    );
}

#[test]
fn part_day_pause_rounds_up_to_whole_days() {
    let pause = closed("2026-01-10T00:00:00Z", "2026-01-19T01:00:00Z");
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &[pause]),
        Some(at("2026-02-26T23:59:59.999Z"))
    );
}

#[test]
fn open_pause_means_no_deadline() {
    let pause = Pause {
        from: at("2026-01-10T00:00:00Z"),
        until: None,
    };
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &[pause]),
        None
    );
}

#[test]
fn overlapping_pauses_are_counted_once() {
    // 10–15 January and 12–20 January cover ten days together, not thirteen.
    let pauses = [
        closed("2026-01-10T00:00:00Z", "2026-01-15T00:00:00Z"),
        closed("2026-01-12T00:00:00Z", "2026-01-20T00:00:00Z"),
    ];
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &pauses),
        Some(at("2026-02-26T23:59:59.999Z"))
    );
}

#[test]
fn separate_pauses_add_up() {
    let pauses = [
        closed("2026-01-10T00:00:00Z", "2026-01-13T00:00:00Z"),
        closed("2026-02-01T00:00:00Z", "2026-02-03T00:00:00Z"),
    ];
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &pauses),
        Some(at("2026-02-21T23:59:59.999Z"))
    );
}

#[test]
fn pause_before_clock_start_does_not_count() {
    let pause = closed("2025-12-01T00:00:00Z", "2026-01-05T10:00:00Z");
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &[pause]),
        Some(at("2026-02-16T23:59:59.999Z"))
    );
}

#[test]
fn pause_after_the_deadline_does_not_extend_it() {
    let closed_late = closed("2026-02-20T00:00:00Z", "2026-03-01T00:00:00Z");
    let open_late = Pause {
        from: at("2026-02-20T00:00:00Z"),
        until: None,
    };
    for pause in [closed_late, open_late] {
        assert_eq!(
            due_paused("6 weeks", "2026-01-05T10:00:00Z", &[pause]),
            Some(at("2026-02-16T23:59:59.999Z"))
        );
    }
}

#[test]
fn pause_reached_only_after_an_earlier_extension_counts() {
    // The first pause moves the deadline from 16 February to 26 February, past the start of the
    // second pause on 20 February, which then adds its own two days.
    let pauses = [
        closed("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z"),
        closed("2026-02-20T00:00:00Z", "2026-02-22T00:00:00Z"),
    ];
    assert_eq!(
        due_paused("6 weeks", "2026-01-05T10:00:00Z", &pauses),
        Some(at("2026-02-28T23:59:59.999Z"))
    );
}

#[test]
fn pause_adds_the_working_days_inside_it() {
    // Clock starts Friday 9 January; paused from Monday 12th to Wednesday 14th, which costs the
    // working days Tuesday 13th and Wednesday 14th, so Tuesday 13th becomes Thursday 15th.
    let pause = closed("2026-01-12T09:00:00Z", "2026-01-14T09:00:00Z");
    assert_eq!(
        due_paused("2 working days", "2026-01-09T14:00:00Z", &[pause]),
        Some(at("2026-01-15T23:59:59.999Z"))
    );
}

#[test]
fn zero_working_days_is_due_at_the_end_of_the_start_day() {
    assert_eq!(
        due_unpaused("0 working days", "2026-01-09T14:00:00Z"),
        at("2026-01-09T23:59:59.999Z")
    );
}

#[test]
fn local_closure_day_extends_a_working_day_deadline() {
    let calendar = WorkingCalendar::england_and_wales()
        .with_extra_holidays([NaiveDate::from_ymd_opt(2026, 1, 12).unwrap()]);
    assert_eq!(
        due(
            &period("2 working days"),
            at("2026-01-09T14:00:00Z"),
            &calendar,
            &[]
        ),
        Some(at("2026-01-14T23:59:59.999Z"))
    );
}

#[test]
fn four_working_hours_from_monday_afternoon_are_due_tuesday_morning() {
    // Monday 16 November 2026, 15:00 GMT: 15:00-17:00 on Monday, 09:00-11:00 on Tuesday.
    assert_eq!(
        due_unpaused("4 working hours", "2026-11-16T15:00:00Z"),
        at("2026-11-17T11:00:00Z")
    );
}

#[test]
fn a_pause_gains_a_working_hours_clock_only_the_working_time_inside_it() {
    // Paused from Monday 16:00 to Tuesday 10:00: two working hours (one each day) are lost, so
    // the deadline moves from Tuesday 11:00 to Tuesday 13:00.
    assert_eq!(
        due_paused(
            "4 working hours",
            "2026-11-16T15:00:00Z",
            &[closed("2026-11-16T16:00:00Z", "2026-11-17T10:00:00Z")]
        ),
        Some(at("2026-11-17T13:00:00Z"))
    );
}

#[test]
fn a_start_outside_four_digit_years_is_out_of_range_not_a_panic() {
    let calendar = WorkingCalendar::england_and_wales();
    let far = NaiveDate::MAX.and_hms_opt(0, 0, 0).unwrap().and_utc();
    for text in [
        "12 months",
        "2 working days",
        "4 working hours",
        "next 15 February",
    ] {
        assert_eq!(
            checked_due(&period(text), far, &calendar, &[]),
            Err(OutOfRange)
        );
    }
    let early = NaiveDate::MIN.and_hms_opt(0, 0, 0).unwrap().and_utc();
    assert_eq!(
        checked_due(&period("6 weeks"), early, &calendar, &[]),
        Err(OutOfRange)
    );
    assert_eq!(
        checked_due(
            &period("6 weeks"),
            at("2026-01-05T10:00:00Z"),
            &calendar,
            &[]
        ),
        Ok(Some(at("2026-02-16T23:59:59.999Z")))
    );
}
