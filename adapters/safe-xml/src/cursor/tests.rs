use super::*;

const LIMITS: XmlLimits = XmlLimits {
    max_depth: 32,
    max_text_bytes: 64 * 1024,
    max_record_bytes: 4 * 1024 * 1024,
};

fn cursor(xml: &str) -> Cursor<&[u8]> {
    Cursor::new(xml.as_bytes(), LIMITS, &["Pupil", "SEN"])
}

/// Every step as text: `+name`, `"text"`, `-name`, with the path at each start.
fn trace(xml: &str) -> Result<Vec<String>, XmlError> {
    let mut c = cursor(xml);
    let mut out = Vec::new();
    loop {
        match c.step()? {
            Step::Start => out.push(format!("+{} @{}", c.name, path_of(&c.frames))),
            Step::Text => out.push(format!("{:?}", c.text)),
            Step::End => out.push(format!("-{}", c.name)),
            Step::Eof => return Ok(out),
        }
    }
}

#[test]
fn paths_leave_out_the_root_and_index_repeated_elements() {
    let steps =
        trace("<CTfile><D><Pupil/><Pupil><SEN/><SEN><X/></SEN></Pupil></D></CTfile>").unwrap();
    let starts: Vec<&str> = steps
        .iter()
        .filter(|s| s.starts_with('+'))
        .map(String::as_str)
        .collect();
    assert_eq!(
        starts,
        vec![
            "+CTfile @CTfile",
            "+D @D",
            "+Pupil @D.Pupil[0]",
            "+Pupil @D.Pupil[1]",
            "+SEN @D.Pupil[1].SEN[0]",
            "+SEN @D.Pupil[1].SEN[1]",
            "+X @D.Pupil[1].SEN[1].X",
        ]
    );
}

#[test]
fn passes_over_declarations_comments_and_instructions_and_reads_cdata() {
    let steps = trace(
        "\u{feff}<?xml version=\"1.0\"?>\n<!-- a comment --><?pi x?>\n<CTfile><A><![CDATA[<b>&amp;]]></A><!-- c --></CTfile>\n",
    )
    .unwrap();
    assert_eq!(
        steps,
        vec!["+CTfile @CTfile", "+A @A", "\"<b>&amp;\"", "-A", "-CTfile"]
    );
}

#[test]
fn resolves_predefined_and_character_references_one_step_each() {
    let steps = trace("<CTfile><A>x&lt;&#65;&#x42;&quot;</A></CTfile>").unwrap();
    assert_eq!(
        steps[2..6],
        ["\"x\"", "\"<\"", "\"A\"", "\"B\""].map(String::from)
    );
}

#[test]
fn refuses_text_outside_the_root_and_bad_character_references() {
    assert!(matches!(
        trace("<CTfile/>junk"),
        Err(XmlError::Malformed { .. })
    ));
    assert!(matches!(
        trace("<CTfile>&#0;</CTfile>"),
        Err(XmlError::Malformed { .. })
    ));
}

#[test]
fn cuts_unsafe_characters_and_long_names_out_of_paths() {
    let long = "N".repeat(100);
    let xml = format!("<CTfile><é{long}>&bad;</é{long}></CTfile>");
    match trace(&xml) {
        Err(XmlError::EntityRefused { path, .. }) => {
            assert_eq!(path.len(), MAX_NAME_IN_PATH);
            assert!(path.starts_with("?NNN"), "{path}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn refuses_a_doctype_whatever_it_holds_and_an_empty_document() {
    assert!(matches!(
        trace("<!DOCTYPE a []><a/>"),
        Err(XmlError::DoctypeRefused { .. })
    ));
    assert!(matches!(trace(""), Err(XmlError::NoElement)));
    assert!(matches!(
        trace("<?xml version=\"1.0\"?><!-- only a comment -->"),
        Err(XmlError::NoElement)
    ));
}

#[test]
fn a_record_larger_than_its_limit_is_refused_naming_its_index() {
    let limits = XmlLimits {
        max_record_bytes: 20,
        max_text_bytes: 10,
        ..LIMITS
    };
    let mut c = Cursor::new(
        &b"<R><Pupil><A>0123456789</A><B>x</B></Pupil></R>"[..],
        limits,
        &["Pupil"],
    );
    assert_eq!(c.step().unwrap(), Step::Start);
    c.record_next_element(7);
    assert_eq!(c.step().unwrap(), Step::Start);
    match c.skip_element() {
        Err(XmlError::RecordTooLarge {
            index: 7,
            limit: 20,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_recording_is_the_element_exactly_as_written() {
    let mut c = Cursor::new(
        &b"<R>\n  <!-- c --> <Pupil a=\"1\"><X>&amp;</X></Pupil> <Pupil/></R>"[..],
        LIMITS,
        &["Pupil"],
    );
    assert_eq!(c.step().unwrap(), Step::Start);
    c.record_next_element(0);
    loop {
        if c.step().unwrap() == Step::Start {
            break;
        }
    }
    assert_eq!(c.index(), Some(0));
    c.skip_element().unwrap();
    assert_eq!(c.take_recording(), b"<Pupil a=\"1\"><X>&amp;</X></Pupil>");
}
