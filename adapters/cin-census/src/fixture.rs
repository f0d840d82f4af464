//! Synthetic CIN census files for tests and examples (feature `fixtures`).
//!
//! The shape follows the public fake census files of the Data to Insight CIN validator
//! (`fake_data/CIN_Census_2021.xml`, `_2024`, `_2026`, domain notes §3.1): a `Message` with a
//! header, then children with identifiers, characteristics and one or two episodes of need
//! (`CINdetails`), each with assessments, child in need plans, section 47 enquiries and child
//! protection plans as the case went.
//!
//! Every child is a pure function of the spec and its index ([`FixtureSpec::child`]), so a test
//! can write thousands of children and still know exactly what child 731 holds, and which
//! children were corrupted and how, without keeping anything in memory.
//!
//! UPNs are valid by the contracts' rules: the check letter comes from `Upn::check_letter`,
//! and the LA numbers are the pseudo-LA numbers `001`, `702` and `708` (the domain notes suggest
//! LA 999 for test data, but 999 is not a recognised LA number, so `Upn::parse` would refuse
//! it). The header's LEA is 999. Children under five have no UPN and give `UPNunknown` `UN1`
//! instead, as the census does.

use std::io::{self, Write};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use throughline_safe_xml::fixture::{SplitMix64, corrupted, upn};

const UPN_LA_CODES: [u16; 3] = [1, 702, 708];
const REFERRAL_SOURCES: &[&str] = &[
    "1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B", "5C",
    "5D", "6", "7", "8", "9", "10",
];
const NEEDS: &[&str] = &["N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"];
const CATEGORIES: &[&str] = &["NEG", "PHY", "SAB", "EMO", "MUL"];
const ETHNICITIES: &[&str] = &[
    "WBRI", "WIRI", "MWBC", "AIND", "APKN", "BAFR", "CHNE", "OOTH",
];
const DISABILITIES: &[&str] = &["NONE", "AUT", "HAND", "HEAR", "LD", "MOB", "VIS", "BEH"];
const FACTORS: &[&str] = &["1A", "2A", "3A", "4A", "6A", "8B", "10A", "17A", "21"];

/// How one deliberately corrupted child is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// The UPN's check letter does not match.
    BadCheckLetter,
    /// There is no `LAchildID`.
    MissingLaChildId,
    /// The first episode's `CINreferralDate` is shaped like a date but is not one (30 February).
    BadReferralDate,
    /// The first child protection plan's `InitialCategoryOfAbuse` is not a DfE category.
    UnknownAbuseCategory,
}

impl Corruption {
    const ALL: [Corruption; 4] = [
        Corruption::BadCheckLetter,
        Corruption::MissingLaChildId,
        Corruption::BadReferralDate,
        Corruption::UnknownAbuseCategory,
    ];

    /// The path below `Children.Child[i]` that the rejection must name.
    pub fn field(self) -> &'static str {
        match self {
            Corruption::BadCheckLetter => "ChildIdentifiers.UPN",
            Corruption::MissingLaChildId => "ChildIdentifiers.LAchildID",
            Corruption::BadReferralDate => "CINdetails[0].CINreferralDate",
            Corruption::UnknownAbuseCategory => {
                "CINdetails[0].ChildProtectionPlans[0].InitialCategoryOfAbuse"
            }
        }
    }
}

/// Which element carries the child's sex: the census renamed it in 2024–25.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexElement {
    /// `GenderCurrent` with `1` or `2` (to 2023–24).
    GenderCurrent,
    /// `Sex` with `M` or `F` (from 2024–25).
    Sex,
}

/// One `ChildProtectionPlans`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixturePlan {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// `InitialCategoryOfAbuse` as written (not a category for
    /// [`Corruption::UnknownAbuseCategory`]).
    pub category: String,
}

/// One `CINdetails`: an episode of need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureEpisode {
    pub referral: NaiveDate,
    pub source: &'static str,
    pub need: &'static str,
    /// `ReferralNFA`: the referral needed no further action (no assessment, closed that day).
    pub no_further_action: bool,
    /// Each assessment's start and authorisation dates.
    pub assessments: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// Each child in need plan's start and end dates.
    pub cin_plans: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// A section 47 enquiry's start: written, never mapped.
    pub section47: Option<NaiveDate>,
    pub protection_plans: Vec<FixturePlan>,
    /// `CINclosureDate` and `ReasonForClosure`.
    pub closure: Option<(NaiveDate, &'static str)>,
}

impl FixtureEpisode {
    /// The events the mapping makes of this episode (every date is within the census).
    pub fn events(&self) -> usize {
        1 + self.assessments.len()
            + self.cin_plans.len()
            + self
                .cin_plans
                .iter()
                .filter(|(_, end)| end.is_some())
                .count()
            + self.protection_plans.len()
            + self
                .protection_plans
                .iter()
                .filter(|p| p.end.is_some())
                .count()
            + usize::from(self.closure.is_some())
    }
}

/// Everything a fixture child holds that the mapping reads. Test data, so `Debug` is fine here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureChild {
    pub index: usize,
    /// `None` for [`Corruption::MissingLaChildId`].
    pub la_child_id: Option<String>,
    /// As written (wrong for [`Corruption::BadCheckLetter`]); `None` for a child under five,
    /// who has `UPNunknown` `UN1` instead.
    pub upn: Option<String>,
    pub birth_date: NaiveDate,
    /// `M` or `F`.
    pub sex: char,
    pub ethnicity: &'static str,
    pub episodes: Vec<FixtureEpisode>,
    pub corruption: Option<Corruption>,
}

impl FixtureChild {
    /// The events the mapping makes of this child, or `None` if it is rejected.
    pub fn events(&self) -> Option<usize> {
        match self.corruption {
            Some(_) => None,
            None => Some(self.episodes.iter().map(FixtureEpisode::events).sum()),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureSpec {
    pub children: usize,
    /// `CollectionDetails/Year`.
    pub year: u16,
    /// `CollectionDetails/ReferenceDate`: every date in the file is on or before it.
    pub reference_date: NaiveDate,
    /// `Source/DateTime`.
    pub created: NaiveDateTime,
    /// `Source/LEA`.
    pub lea: String,
    pub sex_element: SexElement,
    /// The share of children to corrupt, 0.0 to 1.0. Exactly `floor(children × fraction)` are,
    /// spread evenly through the file.
    pub corrupt_fraction: f64,
    pub seed: u64,
}

impl FixtureSpec {
    /// A 2024–25 census (`Sex`, reference date 31 March 2025) of `children` children, none
    /// corrupted.
    pub fn new(children: usize) -> Self {
        Self {
            children,
            year: 2025,
            reference_date: NaiveDate::from_ymd_opt(2025, 3, 31).expect("a valid date"),
            created: NaiveDate::from_ymd_opt(2025, 5, 2)
                .and_then(|d| d.and_hms_opt(9, 15, 0))
                .expect("a valid date"),
            lea: "999".to_owned(),
            sex_element: SexElement::Sex,
            corrupt_fraction: 0.0,
            seed: 2025,
        }
    }

    /// How child `index` is corrupted, if it is.
    pub fn corruption(&self, index: usize) -> Option<Corruption> {
        corrupted(self.corrupt_fraction, index).map(|n| Corruption::ALL[n % Corruption::ALL.len()])
    }

    /// Child `index`, exactly as [`FixtureSpec::write`] writes it.
    pub fn child(&self, index: usize) -> FixtureChild {
        let mut rng = SplitMix64::for_record(self.seed, index);
        let corruption = self.corruption(index);
        let census = self.reference_date;

        let age_days = rng.below(17 * 365) as i64;
        let birth_date = census - Duration::days(age_days);
        // A bad check letter needs a UPN to be wrong in, so that child is always of school age.
        let has_upn = age_days >= 5 * 365 || corruption == Some(Corruption::BadCheckLetter);
        let birth_date = if has_upn && age_days < 5 * 365 {
            birth_date - Duration::days(5 * 365)
        } else {
            birth_date
        };
        let upn = has_upn.then(|| {
            let la = UPN_LA_CODES[rng.below(UPN_LA_CODES.len())];
            let estab = 2000 + rng.below(7000);
            let tail = format!(
                "{la:03}{estab:04}{:02}{:03}",
                10 + rng.below(10),
                index % 1000
            );
            upn(&tail, corruption == Some(Corruption::BadCheckLetter))
        });

        let mut episodes = Vec::new();
        let two = rng.below(10) < 3;
        // The first episode starts up to two years before the census date, after birth.
        let earliest = (census - Duration::days(700)).max(birth_date);
        let mut from = earliest + Duration::days(rng.below(200) as i64);
        for n in 0..(1 + usize::from(two)) {
            let must_close = two && n == 0;
            let needs_plan = corruption == Some(Corruption::UnknownAbuseCategory) && n == 0;
            let episode = episode(&mut rng, from.min(census), census, must_close, needs_plan);
            from = episode
                .closure
                .map_or(census, |(closed, _)| closed + Duration::days(30));
            episodes.push(episode);
            if from > census {
                break;
            }
        }
        if corruption == Some(Corruption::UnknownAbuseCategory) {
            episodes[0].protection_plans[0].category = "XYZ".to_owned();
        }

        FixtureChild {
            index,
            la_child_id: (corruption != Some(Corruption::MissingLaChildId))
                .then(|| format!("CIN{:07}", 4_000_000 + index)),
            upn,
            birth_date,
            sex: if rng.below(2) == 0 { 'F' } else { 'M' },
            ethnicity: ETHNICITIES[rng.below(ETHNICITIES.len())],
            episodes,
            corruption,
        }
    }

    /// Writes the whole file, one child at a time (nothing is held in memory).
    pub fn write<W: Write>(&self, out: W) -> io::Result<()> {
        let mut out = io::BufWriter::new(out);
        self.write_header(&mut out)?;
        for index in 0..self.children {
            write_child(&mut out, self, &self.child(index))?;
        }
        out.write_all(b"  </Children>\n</Message>\n")?;
        out.flush()
    }

    /// The whole file in memory, for small tests.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write(&mut bytes).expect("writing to memory");
        bytes
    }

    fn write_header<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(out, "<Message>")?;
        writeln!(out, "  <Header>")?;
        writeln!(out, "    <CollectionDetails>")?;
        writeln!(out, "      <Collection>CIN</Collection>")?;
        writeln!(out, "      <Year>{}</Year>", self.year)?;
        writeln!(
            out,
            "      <ReferenceDate>{}</ReferenceDate>",
            self.reference_date
        )?;
        writeln!(out, "    </CollectionDetails>")?;
        writeln!(out, "    <Source>")?;
        writeln!(out, "      <SourceLevel>L</SourceLevel>")?;
        writeln!(out, "      <LEA>{}</LEA>", self.lea)?;
        writeln!(
            out,
            "      <SoftwareCode>Throughline fixture</SoftwareCode>"
        )?;
        writeln!(out, "      <Release>1.0</Release>")?;
        writeln!(out, "      <SerialNo>001</SerialNo>")?;
        writeln!(
            out,
            "      <DateTime>{}</DateTime>",
            self.created.format("%Y-%m-%dT%H:%M:%S")
        )?;
        writeln!(out, "    </Source>")?;
        writeln!(out, "  </Header>")?;
        writeln!(out, "  <Children>")
    }
}

/// One episode from `from` (on or before `census`), as far as the census date allows.
fn episode(
    rng: &mut SplitMix64,
    from: NaiveDate,
    census: NaiveDate,
    must_close: bool,
    needs_plan: bool,
) -> FixtureEpisode {
    let within = |d: NaiveDate| (d <= census).then_some(d);
    let referral = from;
    let no_further_action = !needs_plan && rng.below(10) == 0;
    let mut e = FixtureEpisode {
        referral,
        source: REFERRAL_SOURCES[rng.below(REFERRAL_SOURCES.len())],
        need: NEEDS[rng.below(NEEDS.len())],
        no_further_action,
        assessments: Vec::new(),
        cin_plans: Vec::new(),
        section47: None,
        protection_plans: Vec::new(),
        closure: None,
    };
    if no_further_action {
        e.closure = Some((referral, "RC8"));
        return e;
    }
    let mut last = referral;
    if let Some(start) = within(referral + Duration::days(rng.below(5) as i64)) {
        let authorised = within(start + Duration::days(10 + rng.below(35) as i64));
        e.assessments.push((start, authorised));
        last = authorised.unwrap_or(start);
    }
    if needs_plan || rng.below(100) < 20 {
        if let Some(s47) = within(last) {
            e.section47 = Some(s47);
        }
        let start = within(last + Duration::days(15 + rng.below(10) as i64)).unwrap_or(census);
        let end = within(start + Duration::days(90 + rng.below(300) as i64));
        e.protection_plans.push(FixturePlan {
            start,
            end,
            category: CATEGORIES[rng.below(CATEGORIES.len())].to_owned(),
        });
        last = end.unwrap_or(start);
    } else if rng.below(100) < 60
        && let Some(start) = within(last + Duration::days(rng.below(20) as i64))
    {
        let end = within(start + Duration::days(60 + rng.below(240) as i64));
        e.cin_plans.push((start, end));
        last = end.unwrap_or(start);
    }
    if must_close || rng.below(2) == 0 {
        let closed = within(last + Duration::days(rng.below(30) as i64)).unwrap_or(census);
        e.closure = Some((closed.max(last), if must_close { "RC2" } else { "RC1" }));
    }
    e
}

/// Writes one `<Child>` element.
pub fn write_child<W: Write>(out: &mut W, spec: &FixtureSpec, c: &FixtureChild) -> io::Result<()> {
    let mut rng = SplitMix64::new(spec.seed.wrapping_add(c.index as u64));
    writeln!(out, "    <Child>")?;
    writeln!(out, "      <ChildIdentifiers>")?;
    if let Some(id) = &c.la_child_id {
        writeln!(out, "        <LAchildID>{id}</LAchildID>")?;
    }
    match &c.upn {
        Some(upn) => writeln!(out, "        <UPN>{upn}</UPN>")?,
        None => writeln!(out, "        <UPNunknown>UN1</UPNunknown>")?,
    }
    writeln!(
        out,
        "        <PersonBirthDate>{}</PersonBirthDate>",
        c.birth_date
    )?;
    match spec.sex_element {
        SexElement::Sex => writeln!(out, "        <Sex>{}</Sex>", c.sex)?,
        SexElement::GenderCurrent => writeln!(
            out,
            "        <GenderCurrent>{}</GenderCurrent>",
            if c.sex == 'M' { 1 } else { 2 }
        )?,
    }
    writeln!(out, "      </ChildIdentifiers>")?;
    writeln!(out, "      <ChildCharacteristics>")?;
    writeln!(out, "        <Ethnicity>{}</Ethnicity>", c.ethnicity)?;
    writeln!(
        out,
        "        <Disabilities>\n          <Disability>{}</Disability>\n        </Disabilities>",
        DISABILITIES[rng.below(DISABILITIES.len())]
    )?;
    writeln!(out, "      </ChildCharacteristics>")?;
    for (n, e) in c.episodes.iter().enumerate() {
        writeln!(out, "      <CINdetails>")?;
        if n == 0 && c.corruption == Some(Corruption::BadReferralDate) {
            writeln!(
                out,
                "        <CINreferralDate>{}-02-30</CINreferralDate>",
                e.referral.format("%Y")
            )?;
        } else {
            writeln!(
                out,
                "        <CINreferralDate>{}</CINreferralDate>",
                e.referral
            )?;
        }
        writeln!(out, "        <ReferralSource>{}</ReferralSource>", e.source)?;
        writeln!(out, "        <PrimaryNeedCode>{}</PrimaryNeedCode>", e.need)?;
        if let Some((closed, reason)) = e.closure {
            writeln!(out, "        <CINclosureDate>{closed}</CINclosureDate>")?;
            writeln!(out, "        <ReasonForClosure>{reason}</ReasonForClosure>")?;
        }
        for (start, authorised) in &e.assessments {
            writeln!(out, "        <Assessments>")?;
            writeln!(
                out,
                "          <AssessmentActualStartDate>{start}</AssessmentActualStartDate>"
            )?;
            if let Some(done) = authorised {
                writeln!(
                    out,
                    "          <AssessmentAuthorisationDate>{done}</AssessmentAuthorisationDate>"
                )?;
                writeln!(
                    out,
                    "          <FactorsIdentifiedAtAssessment>\n            <AssessmentFactors>{}</AssessmentFactors>\n          </FactorsIdentifiedAtAssessment>",
                    FACTORS[rng.below(FACTORS.len())]
                )?;
            }
            writeln!(out, "        </Assessments>")?;
        }
        for (start, end) in &e.cin_plans {
            writeln!(out, "        <CINPlanDates>")?;
            writeln!(
                out,
                "          <CINPlanStartDate>{start}</CINPlanStartDate>"
            )?;
            if let Some(end) = end {
                writeln!(out, "          <CINPlanEndDate>{end}</CINPlanEndDate>")?;
            }
            writeln!(out, "        </CINPlanDates>")?;
        }
        if let Some(s47) = e.section47 {
            writeln!(out, "        <Section47>")?;
            writeln!(
                out,
                "          <S47ActualStartDate>{s47}</S47ActualStartDate>"
            )?;
            writeln!(out, "          <ICPCnotRequired>false</ICPCnotRequired>")?;
            writeln!(out, "        </Section47>")?;
        }
        writeln!(
            out,
            "        <ReferralNFA>{}</ReferralNFA>",
            if e.no_further_action { "true" } else { "false" }
        )?;
        for plan in &e.protection_plans {
            writeln!(out, "        <ChildProtectionPlans>")?;
            writeln!(out, "          <CPPstartDate>{}</CPPstartDate>", plan.start)?;
            if let Some(end) = plan.end {
                writeln!(out, "          <CPPendDate>{end}</CPPendDate>")?;
            }
            writeln!(
                out,
                "          <InitialCategoryOfAbuse>{}</InitialCategoryOfAbuse>",
                plan.category
            )?;
            writeln!(
                out,
                "          <LatestCategoryOfAbuse>{}</LatestCategoryOfAbuse>",
                plan.category
            )?;
            writeln!(
                out,
                "          <NumberOfPreviousCPP>0</NumberOfPreviousCPP>"
            )?;
            writeln!(out, "        </ChildProtectionPlans>")?;
        }
        writeln!(out, "      </CINdetails>")?;
    }
    writeln!(out, "    </Child>")
}

#[cfg(test)]
mod tests {
    use throughline_contracts::identifiers::Upn;

    use super::*;

    #[test]
    fn corrupts_exactly_the_requested_share() {
        let spec = FixtureSpec {
            corrupt_fraction: 0.02,
            ..FixtureSpec::new(1000)
        };
        let corrupted = (0..1000).filter(|&i| spec.corruption(i).is_some()).count();
        assert_eq!(corrupted, 20);
        assert!(FixtureSpec::new(100).corruption(5).is_none());
    }

    #[test]
    fn children_are_reproducible_with_valid_upns_and_dates_within_the_census() {
        let spec = FixtureSpec {
            corrupt_fraction: 0.1,
            ..FixtureSpec::new(500)
        };
        let census = spec.reference_date;
        for i in 0..500 {
            let child = spec.child(i);
            assert_eq!(child, spec.child(i));
            if let Some(upn) = &child.upn {
                let valid = Upn::parse(upn).is_ok();
                assert_eq!(valid, child.corruption != Some(Corruption::BadCheckLetter));
            }
            assert!(!child.episodes.is_empty());
            for e in &child.episodes {
                let mut dates = vec![e.referral];
                dates.extend(
                    e.assessments
                        .iter()
                        .flat_map(|(s, a)| [Some(*s), *a])
                        .flatten(),
                );
                dates.extend(
                    e.cin_plans
                        .iter()
                        .flat_map(|(s, a)| [Some(*s), *a])
                        .flatten(),
                );
                dates.extend(
                    e.protection_plans
                        .iter()
                        .flat_map(|p| [Some(p.start), p.end])
                        .flatten(),
                );
                dates.extend(e.closure.map(|(d, _)| d));
                assert!(
                    dates.iter().all(|d| *d <= census && *d >= child.birth_date),
                    "{child:?}"
                );
            }
        }
    }
}
