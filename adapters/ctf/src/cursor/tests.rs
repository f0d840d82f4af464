use super::*;

fn cursor(xml: &str) -> Cursor<&[u8]> {
    Cursor::new(xml.as_bytes(), CtfLimits::default())
}

/// Every step as text: `+name`, `"text"`, `-name`, with the path at each start.
fn trace(xml: &str) -> Result<Vec<String>, CtfError> {
    let mut c = cursor(xml);
    let mut out = Vec::new();
    loop {
        match c.next()? {
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
        Err(CtfError::Malformed { .. })
    ));
    assert!(matches!(
        trace("<CTfile>&#0;</CTfile>"),
        Err(CtfError::Malformed { .. })
    ));
}

#[test]
fn cuts_unsafe_characters_and_long_names_out_of_paths() {
    let long = "N".repeat(100);
    let xml = format!("<CTfile><é{long}>&bad;</é{long}></CTfile>");
    match trace(&xml) {
        Err(CtfError::EntityRefused { path, .. }) => {
            assert_eq!(path.len(), MAX_NAME_IN_PATH);
            assert!(path.starts_with("?NNN"), "{path}");
        }
        other => panic!("{other:?}"),
    }
}
