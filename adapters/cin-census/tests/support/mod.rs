//! Shared helpers for the CIN census reader's integration tests.
#![allow(dead_code, unused_imports)] // Each test binary uses a different subset.

use throughline_adapter_cin_census::{ChildOutcome, CinError, CinLimits, CinReader};
use throughline_contracts::AgencyId;
use throughline_contracts::adapter::NormaliseContext;
use throughline_safe_xml::testing;
/// What every record reader's tests ask of an outcome.
pub use throughline_safe_xml::testing::{accepted, kinds, rejected};

pub fn ctx() -> NormaliseContext {
    NormaliseContext {
        source_id: "northshire-csc-census".into(),
        agency: AgencyId::parse("northshire-csc").unwrap(),
        system: "liquidlogic".into(),
        adapter: throughline_adapter_cin_census::ADAPTER.into(),
    }
}

/// Opens a reader over `bytes` with default limits.
pub fn open(bytes: &[u8]) -> Result<CinReader<&[u8]>, CinError> {
    CinReader::new(bytes, CinLimits::default(), ctx())
}

/// Every outcome of a file that must open and read to the end without a file-level error.
pub fn outcomes(bytes: &[u8]) -> Vec<ChildOutcome> {
    testing::read_all(open(bytes))
}

/// The first file-level error met, whether on opening or while reading.
pub fn file_error(bytes: &[u8], limits: CinLimits) -> CinError {
    testing::first_error(CinReader::new(bytes, limits, ctx()))
}

/// A census of these children, with the header of the public 2024 sample (reference date 31
/// March 2024, LA 201).
pub fn census(children: &[&str]) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Message>
  <Header>
    <CollectionDetails>
      <Collection>CIN</Collection>
      <Year>2024</Year>
      <ReferenceDate>2024-03-31</ReferenceDate>
    </CollectionDetails>
    <Source>
      <SourceLevel>L</SourceLevel>
      <LEA>201</LEA>
      <SoftwareCode>Local Authority</SoftwareCode>
      <Release>ver 3.1.21</Release>
      <SerialNo>001</SerialNo>
      <DateTime>2024-05-23T11:14:05</DateTime>
    </Source>
  </Header>
  <Children>
"#,
    );
    for child in children {
        xml.push_str(child);
        xml.push('\n');
    }
    xml.push_str("  </Children>\n</Message>\n");
    xml.into_bytes()
}

/// A valid UPN with this 12-digit tail (a recognised LA number first, e.g. `702`).
pub fn upn(tail: &str) -> String {
    let letter = throughline_contracts::identifiers::Upn::check_letter(tail).unwrap();
    format!("{letter}{tail}")
}

/// A child with these identifiers and this inner content after them.
pub fn child(identifiers: &str, details: &str) -> String {
    format!(
        "<Child><ChildIdentifiers>{identifiers}</ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>{details}</Child>"
    )
}
