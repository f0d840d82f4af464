//! Hostile and broken files are refused as a whole, with a reason, in bounded memory.

mod support;

use std::io::{BufReader, Read};

use support::*;
use throughline_adapter_ctf::fixture::FixtureSpec;
use throughline_adapter_ctf::{CtfError, CtfLimits, CtfReader, LimitsError};

fn one_pupil() -> String {
    String::from_utf8(ctf(&[&pupil(UPN_A, "")])).unwrap()
}

#[test]
fn a_doctype_with_an_external_entity_is_refused() {
    let xxe = one_pupil().replace(
        "<CTfile>",
        "<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<CTfile>",
    );
    let xxe = xxe.replace("<Surname>LOVELACE</Surname>", "<Surname>&xxe;</Surname>");
    let err = file_error(xxe.as_bytes(), CtfLimits::default());
    assert!(matches!(err, CtfError::DoctypeRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("DOCTYPE"), "{err}");
}

#[test]
fn a_bare_doctype_is_refused_too() {
    let plain = one_pupil().replace("<CTfile>", "<!DOCTYPE CTfile>\n<CTfile>");
    let err = file_error(plain.as_bytes(), CtfLimits::default());
    assert!(matches!(err, CtfError::DoctypeRefused { .. }), "{err:?}");
}

#[test]
fn a_billion_laughs_file_is_refused_before_any_expansion() {
    let mut dtd = String::from("<!DOCTYPE CTfile [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>\n");
    let laughs = one_pupil()
        .replace("<CTfile>", &format!("{dtd}<CTfile>"))
        .replace("<Surname>LOVELACE</Surname>", "<Surname>&lol9;</Surname>");
    let err = file_error(laughs.as_bytes(), CtfLimits::default());
    assert!(matches!(err, CtfError::DoctypeRefused { .. }), "{err:?}");
}

#[test]
fn an_undeclared_entity_in_a_pupil_is_refused_with_its_path() {
    let laughs = one_pupil().replace("<Surname>LOVELACE</Surname>", "<Surname>&lol9;</Surname>");
    let err = file_error(laughs.as_bytes(), CtfLimits::default());
    match &err {
        CtfError::EntityRefused { path, .. } => {
            assert_eq!(path, "CTFpupilData.Pupil[0].Surname")
        }
        other => panic!("{other:?}"),
    }
    assert_free_of(&messages(&err), &["lol9"]);
}

#[test]
fn an_entity_in_an_attribute_is_refused() {
    let attr = one_pupil().replace("<Pupil>", "<Pupil id=\"&xxe;\">");
    let err = file_error(attr.as_bytes(), CtfLimits::default());
    assert!(matches!(err, CtfError::EntityRefused { .. }), "{err:?}");
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let deep = one_pupil().replace(
        "<Sex>F</Sex>",
        &format!("<Sex>F</Sex>{}{}", "<a>".repeat(40), "</a>".repeat(40)),
    );
    let err = file_error(deep.as_bytes(), CtfLimits::default());
    match &err {
        CtfError::TooDeep { path, limit } => {
            assert_eq!(*limit, 32);
            assert!(path.starts_with("CTFpupilData.Pupil[0].a.a."), "{path}");
            // The 33rd element, named from below the root: 32 names.
            assert_eq!(path.split('.').count(), 32, "{path}");
        }
        other => panic!("{other:?}"),
    }
    // Within the limit it reads.
    let ok = one_pupil().replace(
        "<Sex>F</Sex>",
        &format!("<Sex>F</Sex>{}{}", "<a>".repeat(20), "</a>".repeat(20)),
    );
    assert_eq!(outcomes(ok.as_bytes()).len(), 1);
}

#[test]
fn text_longer_than_the_limit_is_refused() {
    let limits = CtfLimits {
        max_text_bytes: 1024,
        ..CtfLimits::default()
    };
    let long = one_pupil().replace(
        "<Sex>F</Sex>",
        &format!("<Sex>F</Sex><Note>{}</Note>", "x".repeat(1025)),
    );
    match file_error(long.as_bytes(), limits) {
        CtfError::TooLong { path, limit } => {
            assert_eq!(path, "CTFpupilData.Pupil[0].Note");
            assert_eq!(limit, 1024);
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the limit is fine, and so is text split by references adding up to it.
    let exact = one_pupil().replace(
        "<Sex>F</Sex>",
        &format!("<Sex>F</Sex><Note>{}</Note>", "x".repeat(1024)),
    );
    let reader = CtfReader::new(exact.as_bytes(), limits, ctx()).unwrap();
    assert_eq!(reader.map(Result::unwrap).count(), 1);
    let split = one_pupil().replace(
        "<Sex>F</Sex>",
        &format!("<Sex>F</Sex><Note>{}</Note>", "x&amp;".repeat(600)),
    );
    assert!(matches!(
        file_error(split.as_bytes(), limits),
        CtfError::TooLong { .. }
    ));
    // A mapped element's text split by child elements adds up, too.
    let pieces = format!("{}<b/>", "y".repeat(600)).repeat(2);
    let split_by_children = one_pupil().replace(
        "<Surname>LOVELACE</Surname>",
        &format!("<Surname>{pieces}</Surname>"),
    );
    match file_error(split_by_children.as_bytes(), limits) {
        CtfError::TooLong { path, .. } => assert_eq!(path, "CTFpupilData.Pupil[0].Surname"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn whitespace_between_many_elements_is_not_one_long_text() {
    let limits = CtfLimits {
        max_text_bytes: 256,
        ..CtfLimits::default()
    };
    let bytes = FixtureSpec::new(200).to_bytes();
    let reader = CtfReader::new(&bytes[..], limits, ctx()).unwrap();
    assert_eq!(reader.map(Result::unwrap).count(), 200);
}

#[test]
fn an_endless_text_is_cut_off_without_buffering_it() {
    // A reader that never ends: the limit must stop it, not memory or patience.
    let head = one_pupil();
    let head = &head[..head.find("<Sex>").unwrap()];
    let endless = head.as_bytes().chain(std::io::repeat(b'x'));
    let reader = CtfReader::new(BufReader::new(endless), CtfLimits::default(), ctx()).unwrap();
    let results: Vec<_> = reader.collect();
    assert_eq!(results.len(), 1);
    match &results[0] {
        Err(CtfError::TooLong { path, .. }) => assert_eq!(path, "CTFpupilData.Pupil[0]"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pupil_larger_than_the_limit_is_refused() {
    let limits = CtfLimits {
        max_pupil_bytes: 4096,
        max_text_bytes: 1024,
        ..CtfLimits::default()
    };
    let notes = "<Note>some text</Note>".repeat(300);
    let big = String::from_utf8(ctf(&[&pupil(UPN_A, ""), &pupil(UPN_B, &notes)])).unwrap();
    let results: Vec<_> = CtfReader::new(big.as_bytes(), limits, ctx())
        .unwrap()
        .collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    match &results[1] {
        Err(CtfError::PupilTooLarge { index, limit }) => {
            assert_eq!((*index, *limit), (1, 4096));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn more_pupils_than_the_limit_is_refused_after_the_limit() {
    let bytes = FixtureSpec::new(6).to_bytes();
    let limits = CtfLimits {
        max_pupils: 5,
        ..CtfLimits::default()
    };
    let results: Vec<_> = CtfReader::new(&bytes[..], limits, ctx()).unwrap().collect();
    assert_eq!(results.len(), 6);
    assert!(results[..5].iter().all(Result::is_ok));
    assert!(matches!(
        results[5],
        Err(CtfError::TooManyPupils { limit: 5 })
    ));
}

#[test]
fn a_truncated_file_fails_after_the_pupils_read_so_far() {
    let bytes = FixtureSpec::new(10).to_bytes();
    let text = std::str::from_utf8(&bytes).unwrap();
    let cut = text.match_indices("<Pupil>").nth(7).unwrap().0 + 40;
    let results: Vec<_> = open(&bytes[..cut]).unwrap().collect();
    assert_eq!(results.len(), 8);
    assert!(results[..7].iter().all(Result::is_ok));
    match &results[7] {
        Err(e @ CtfError::Malformed { path, .. }) => {
            assert!(path.starts_with("CTFpupilData.Pupil[7]"), "{path}");
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_xml_is_refused_with_a_position() {
    let bad = one_pupil().replace("</Surname>", "</Surnam>");
    match file_error(bad.as_bytes(), CtfLimits::default()) {
        CtfError::Malformed { path, offset, .. } => {
            assert_eq!(path, "CTFpupilData.Pupil[0].Surname");
            assert!(offset > 0);
        }
        other => panic!("{other:?}"),
    }
    let trailing = format!("{}<CTfile/>", one_pupil());
    assert!(matches!(
        file_error(trailing.as_bytes(), CtfLimits::default()),
        CtfError::Malformed { .. }
    ));
}

#[test]
fn invalid_utf8_and_other_encodings_are_refused() {
    let mut latin1 = one_pupil().into_bytes();
    let at = latin1.windows(8).position(|w| w == b"LOVELACE").unwrap();
    latin1[at] = 0xC9;
    assert!(matches!(
        file_error(&latin1, CtfLimits::default()),
        CtfError::Malformed { .. }
    ));
    let declared = one_pupil().replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(matches!(
        file_error(declared.as_bytes(), CtfLimits::default()),
        CtfError::Encoding
    ));
}

#[test]
fn other_xml_is_not_a_ctf() {
    for (xml, reason) in [
        ("<Other/>", "the root element is not CTfile"),
        (
            "<CTfile><CTFpupilData/></CTfile>",
            "there is no Header before the pupil data",
        ),
        ("", "the file holds no XML element"),
    ] {
        match file_error(xml.as_bytes(), CtfLimits::default()) {
            CtfError::NotCtf { reason: found } => assert_eq!(found, reason),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn pupils_outside_the_one_pupil_data_are_refused_not_skipped() {
    let valid = String::from_utf8(ctf(&[&pupil(UPN_A, "")])).unwrap();
    for (xml, reason) in [
        (
            valid.replace("<CTFpupilData>", "<Pupil/><CTFpupilData>"),
            "a Pupil element is outside CTFpupilData",
        ),
        (
            valid.replace("</CTfile>", "<Pupil/></CTfile>"),
            "a Pupil element is outside CTFpupilData",
        ),
        (
            valid.replace("</CTfile>", "<CTFpupilData/></CTfile>"),
            "the file has more than one CTFpupilData",
        ),
    ] {
        match file_error(xml.as_bytes(), CtfLimits::default()) {
            CtfError::NotCtf { reason: found } => assert_eq!(found, reason),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn limits_that_cannot_work_are_refused_up_front() {
    let limits = CtfLimits {
        max_depth: 3,
        ..CtfLimits::default()
    };
    assert!(matches!(
        CtfReader::new(&b""[..], limits, ctx()),
        Err(CtfError::Limits(LimitsError::DepthTooSmall(3)))
    ));
}
