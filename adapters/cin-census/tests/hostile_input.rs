//! Files that must be refused as a whole, and why: entity attacks, limits, truncation, other XML
//! and unusable headers. Children read before a mid-file error stay handed over.

mod support;

use support::*;
use throughline_adapter_cin_census::{CinError, CinLimits, LimitsError};

fn good_child(id: &str) -> String {
    child(
        &format!("<LAchildID>{id}</LAchildID><PersonBirthDate>2019-02-01</PersonBirthDate>"),
        "<CINdetails><CINreferralDate>2023-02-01</CINreferralDate></CINdetails>",
    )
}

fn text(file: &[u8]) -> String {
    String::from_utf8(file.to_vec()).unwrap()
}

#[test]
fn a_doctype_is_refused_whatever_it_holds() {
    let file = text(&census(&[&good_child("A")]));
    for doctype in [
        "<!DOCTYPE Message>",
        "<!DOCTYPE Message [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "<!DOCTYPE Message [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>",
    ] {
        let hostile = file.replacen("<Message>", &format!("{doctype}\n<Message>"), 1);
        let err = file_error(hostile.as_bytes(), CinLimits::default());
        assert!(matches!(err, CinError::DoctypeRefused { .. }), "{err:?}");
        assert!(err.to_string().contains("DOCTYPE"), "{err}");
    }
}

#[test]
fn an_entity_other_than_the_predefined_five_is_refused_naming_where() {
    let hostile = census(&[&child(
        "<LAchildID>&xxe;</LAchildID><PersonBirthDate>2019-02-01</PersonBirthDate>",
        "",
    )]);
    match file_error(&hostile, CinLimits::default()) {
        CinError::EntityRefused { path, .. } => {
            assert_eq!(path, "Children.Child[0].ChildIdentifiers.LAchildID")
        }
        other => panic!("{other:?}"),
    }
    // The predefined five and character references are fine.
    let fine = census(&[&good_child("A&amp;&#66;")]);
    assert_eq!(outcomes(&fine).len(), 1);
}

#[test]
fn limits_refuse_deep_long_large_and_numerous_input() {
    let deep = census(&[&child(
        "<LAchildID>A</LAchildID>",
        &format!("{}{}", "<X>".repeat(40), "</X>".repeat(40)),
    )]);
    assert!(matches!(
        file_error(&deep, CinLimits::default()),
        CinError::TooDeep { limit: 32, .. }
    ));

    let limits = CinLimits {
        max_text_bytes: 64,
        max_child_bytes: 400,
        max_children: 2,
        ..CinLimits::default()
    };
    let long = census(&[&child(
        &format!("<LAchildID>{}</LAchildID>", "x".repeat(100)),
        "",
    )]);
    match file_error(&long, limits) {
        CinError::TooLong { path, limit: 64 } => {
            assert_eq!(path, "Children.Child[0].ChildIdentifiers.LAchildID")
        }
        other => panic!("{other:?}"),
    }
    let padding = "<X>padding</X>".repeat(40);
    let large = census(&[
        &good_child("A"),
        &child("<LAchildID>B</LAchildID>", &padding),
    ]);
    assert!(matches!(
        file_error(&large, limits),
        CinError::ChildTooLarge {
            index: 1,
            limit: 400
        }
    ));
    let many = census(&[&good_child("A"), &good_child("B"), &good_child("C")]);
    assert!(matches!(
        file_error(&many, limits),
        CinError::TooManyChildren { limit: 2 }
    ));
    let shallow = CinLimits {
        max_depth: 3,
        ..CinLimits::default()
    };
    assert!(matches!(
        file_error(&many, shallow),
        CinError::Limits(LimitsError::DepthTooSmall(3))
    ));
}

#[test]
fn a_truncated_file_keeps_the_children_before_the_cut() {
    let file = census(&[&good_child("A"), &good_child("B"), &good_child("C")]);
    // Cut inside the third child's LAchildID text.
    let third = text(&file).find("<LAchildID>C").unwrap();
    let cut = &file[..third + "<LAchildID>C".len()];
    let mut reader = open(cut).unwrap();
    assert!(reader.next().unwrap().is_ok());
    assert!(reader.next().unwrap().is_ok());
    match reader.next().unwrap() {
        Err(e @ CinError::Malformed { .. }) => {
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(reader.next().is_none(), "the iterator ends after an error");
    assert_eq!(reader.report().children, 2);
}

#[test]
fn other_xml_is_not_a_census() {
    let valid = text(&census(&[&good_child("A")]));
    for (xml, reason) in [
        ("<Other/>".to_owned(), "the root element is not Message"),
        (
            "<Message><Children/></Message>".to_owned(),
            "there is no Header before the children",
        ),
        (String::new(), "the file holds no XML element"),
        (
            valid.replace("<Children>", "<Child/><Children>"),
            "a Child element is outside Children",
        ),
        (
            valid.replace("</Message>", "<Children/></Message>"),
            "the file has more than one Children",
        ),
    ] {
        match file_error(xml.as_bytes(), CinLimits::default()) {
            CinError::NotCinCensus { reason: found } => assert_eq!(found, reason),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_unusable_header_is_refused_with_every_problem() {
    let file = text(&census(&[&good_child("A")]))
        .replace(
            "<Collection>CIN</Collection>",
            "<Collection>SSDA903</Collection>",
        )
        .replace("<ReferenceDate>2024-03-31</ReferenceDate>", "")
        .replace("<LEA>201</LEA>", "<LEA>20</LEA>")
        .replace("2024-05-23T11:14:05", "yesterday");
    match file_error(file.as_bytes(), CinLimits::default()) {
        CinError::Header { problems } => {
            let found: Vec<(&str, &str)> = problems
                .iter()
                .map(|p| (p.field.as_str(), p.reason.as_str()))
                .collect();
            assert_eq!(
                found,
                vec![
                    ("Header.CollectionDetails.Collection", "must be CIN"),
                    ("Header.CollectionDetails.ReferenceDate", "is required"),
                    ("Header.Source.LEA", "must be 3 digits"),
                    (
                        "Header.Source.DateTime",
                        "must be a date and time such as 2024-05-23T11:14:05"
                    ),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let latin = text(&census(&[&good_child("A")])).replace("UTF-8", "ISO-8859-1");
    assert!(matches!(
        file_error(latin.as_bytes(), CinLimits::default()),
        CinError::Encoding
    ));
}
