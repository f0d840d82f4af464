//! Where the pupil went: a known school, an unknown destination (the Lost Pupil Database case,
//! which must reach someone), a school outside the maintained sector, a school without a URN, or
//! no move at all.

mod support;

use support::*;
use throughline_adapter_ctf::fixture::{FixtureDestination, FixtureSchool, FixtureSpec};
use throughline_adapter_ctf::{CtfDestination, UnknownDestination};
use throughline_contracts::kind::{Destination, EventBody, EventKind};

fn left_destination(bytes: &[u8]) -> (Vec<EventKind>, Option<Destination>) {
    let all = outcomes(bytes);
    let subs = accepted(&all[0]);
    let destination = subs.iter().find_map(|s| match &s.body {
        EventBody::SchoolLeft(left) => Some(left.destination.clone()),
        _ => None,
    });
    (kinds(subs), destination)
}

/// DfE School to School guidance (2019, p. 15): "when a pupil transfers out of a school and the
/// destination school is not known, the school should create a CTF file using XXX for the
/// destination LA and XXXX as the destination school number".
#[test]
fn xxx_xxxx_is_an_unknown_destination_and_no_school_is_joined() {
    let bytes = ctf_with(
        "24.0",
        "<DestSchool><LEA>XXX</LEA><Estab>XXXX</Estab></DestSchool>",
        &[&pupil(UPN_A, "")],
    );
    assert_eq!(
        open(&bytes).unwrap().header().destination,
        CtfDestination::Unknown(UnknownDestination::LostPupil)
    );
    assert_eq!(
        left_destination(&bytes),
        (vec![EventKind::SchoolLeft], Some(Destination::Unknown))
    );
}

/// The same guidance's `MMM`/`MMMM`: the pupil left for a school outside the maintained sector
/// in England and Wales (abroad, independent). Known, so not unknown; no school is joined.
#[test]
fn mmm_mmmm_is_outside_the_maintained_sector_and_no_school_is_joined() {
    let bytes = ctf_with(
        "24.0",
        "<DestSchool><LEA>MMM</LEA><Estab>MMMM</Estab></DestSchool>",
        &[&pupil(UPN_A, "")],
    );
    assert_eq!(
        open(&bytes).unwrap().header().destination,
        CtfDestination::OutsideMaintainedSector
    );
    assert_eq!(
        left_destination(&bytes),
        (
            vec![EventKind::SchoolLeft],
            Some(Destination::OutsideMaintainedSector)
        )
    );
}

/// Either code alone says which case the school meant; a file that mixes the two is read as
/// "not known", the case that must reach someone.
#[test]
fn one_code_is_enough_and_not_known_wins_a_mix() {
    for (dest, want) in [
        (
            "<DestSchool><LEA>XXX</LEA></DestSchool>",
            CtfDestination::Unknown(UnknownDestination::LostPupil),
        ),
        (
            "<DestSchool><LEA>MMM</LEA><Estab>MMMM</Estab><URN>999992</URN></DestSchool>",
            CtfDestination::OutsideMaintainedSector,
        ),
        (
            "<DestSchool><LEA>MMM</LEA><Estab>XXXX</Estab></DestSchool>",
            CtfDestination::Unknown(UnknownDestination::LostPupil),
        ),
    ] {
        let bytes = ctf_with("24.0", dest, &[]);
        assert_eq!(open(&bytes).unwrap().header().destination, want, "{dest}");
    }
}

#[test]
fn a_missing_dest_school_is_an_unknown_destination() {
    let bytes = ctf_with("24.0", "", &[&pupil(UPN_A, "")]);
    assert_eq!(
        open(&bytes).unwrap().header().destination,
        CtfDestination::Unknown(UnknownDestination::NoDestSchool)
    );
    assert_eq!(
        left_destination(&bytes),
        (vec![EventKind::SchoolLeft], Some(Destination::Unknown))
    );
}

#[test]
fn a_generated_lost_pupil_file_leaves_every_pupil_to_an_unknown_destination() {
    let spec = FixtureSpec {
        destination: FixtureDestination::LostPupil,
        ..FixtureSpec::new(40)
    };
    for outcome in outcomes(&spec.to_bytes()) {
        let subs = accepted(&outcome);
        let last = subs.last().unwrap();
        assert!(
            matches!(&last.body, EventBody::SchoolLeft(l) if l.destination == Destination::Unknown)
        );
        assert!(!kinds(subs).contains(&EventKind::SchoolJoined));
    }
}

#[test]
fn a_generated_out_of_sector_file_leaves_every_pupil_outside_the_maintained_sector() {
    let spec = FixtureSpec {
        destination: FixtureDestination::OutsideMaintainedSector,
        ..FixtureSpec::new(40)
    };
    for outcome in outcomes(&spec.to_bytes()) {
        let subs = accepted(&outcome);
        let last = subs.last().unwrap();
        assert!(matches!(
            &last.body,
            EventBody::SchoolLeft(l) if l.destination == Destination::OutsideMaintainedSector
        ));
        assert!(!kinds(subs).contains(&EventKind::SchoolJoined));
    }
}

#[test]
fn a_school_without_a_urn_is_named_by_its_dfe_number() {
    let bytes = ctf_with(
        "24.0",
        "<DestSchool><LEA>801</LEA><Estab>2000</Estab></DestSchool>",
        &[&pupil(UPN_A, "")],
    );
    assert_eq!(
        left_destination(&bytes),
        (
            vec![EventKind::SchoolLeft],
            Some(Destination::Other {
                description: "school with DfE number 801/2000; the CTF gives no URN".into()
            })
        )
    );
}

#[test]
fn a_file_back_to_its_own_school_is_not_a_move() {
    let spec = FixtureSpec {
        destination: FixtureDestination::School(FixtureSchool {
            lea: "999".into(),
            estab: "1999".into(),
            urn: Some("999991".into()),
            name: None,
        }),
        ..FixtureSpec::new(30)
    };
    let bytes = spec.to_bytes();
    assert_eq!(
        open(&bytes).unwrap().header().destination,
        CtfDestination::SameAsSource
    );
    for outcome in outcomes(&bytes) {
        let k = kinds(accepted(&outcome));
        assert!(!k.contains(&EventKind::SchoolLeft) && !k.contains(&EventKind::SchoolJoined));
    }
}

#[test]
fn a_partial_file_is_not_a_move_but_still_carries_sen() {
    let bytes = String::from_utf8(ctf(&[&pupil(
        UPN_A,
        "<SENhistory><SEN><StartDate>2024-01-08</StartDate><SENprovision>K</SENprovision></SEN></SENhistory>",
    )]))
    .unwrap()
    .replace(">full<", ">partial<");
    assert_eq!(
        left_destination(bytes.as_bytes()),
        (vec![EventKind::SenSupportStarted], None)
    );
}
