//! Cross-checks the parsed configuration and turns it into the hub's working form.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use throughline_contracts::AgencyId;
use throughline_contracts::kind::EventKind;

use throughline_calendar::{Period, WorkingCalendar};

use super::ConfigError;
use super::model::*;
use crate::handoff::{EscalationStep, HandoffKind};
use crate::pipeline::normalise::Normalisers;

/// A set of event kinds; `None` means every kind (`["*"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSet(Option<BTreeSet<EventKind>>);

impl KindSet {
    pub fn contains(&self, kind: EventKind) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(&kind))
    }
}

#[derive(Debug, Clone)]
pub struct Agency {
    pub id: AgencyId,
    pub name: String,
    pub role: String,
    pub sink: Option<SinkConfig>,
    pub school_urns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub agency: AgencyId,
    pub system: String,
    pub format: String,
    pub transport: Transport,
    /// A folder of files imported as this source (`drop`, or the older `ctf_drop`); its folder
    /// was a directory when the configuration was checked.
    pub drop: Option<DropConfig>,
    /// What it may assert: kinds, whose involvement, whose local ids (`docs/security.md`).
    pub assertions: super::assertions::Assertions,
}

/// How a source's inputs arrive.
#[derive(Debug, Clone)]
pub enum Transport {
    /// `POST /v1/events` and `/v1/ingest/{source}`. Only the SHA-256 of the API key is kept.
    Http {
        api_key_sha256: [u8; 32],
    },
    Amqp(throughline_adapter_amqp::AmqpSourceConfig),
    Kafka(throughline_adapter_kafka::KafkaSourceConfig),
    Mesh(throughline_adapter_mesh::MeshSourceConfig),
    Fhir(throughline_adapter_fhir::FhirSourceConfig),
}

impl Transport {
    /// The adapter's name, recorded as the event's `source.adapter` context and in metrics.
    pub fn adapter(&self) -> &'static str {
        match self {
            Transport::Http { .. } => "http-ingest",
            Transport::Amqp(_) => "amqp",
            Transport::Kafka(_) => "kafka",
            Transport::Mesh(_) => "mesh",
            Transport::Fhir(_) => "fhir",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    pub kinds: KindSet,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SharingAgreement {
    pub id: String,
    pub agency: AgencyId,
    pub purpose: String,
    pub kinds: KindSet,
    pub fields: Vec<String>,
    pub expires: Option<NaiveDate>,
}

impl SharingAgreement {
    /// Whether this agreement lets its agency receive `kind` on `today`.
    pub fn covers(&self, kind: EventKind, today: NaiveDate) -> bool {
        self.kinds.contains(kind) && self.in_force(today)
    }

    /// Whether the agreement has not expired on `today`.
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.expires.is_none_or(|last| today <= last)
    }
}

/// A configuration that passed every check, in the form the hub runs on.
#[derive(Debug, Clone)]
pub struct Validated {
    pub store: StoreConfig,
    pub api: ApiConfig,
    pub log: LogConfig,
    pub telemetry: TelemetryConfig,
    pub delivery: DeliveryConfig,
    pub retention: RetentionConfig,
    pub agencies: BTreeMap<AgencyId, Agency>,
    pub sources: HashMap<String, Source>,
    pub routes: Vec<Route>,
    pub agreements: Vec<SharingAgreement>,
    pub handoffs: HandoffSettings,
    /// `[history]`, checked.
    pub history: HistorySettings,
    /// `[identity]`, checked. `identity.extra_la_codes` takes effect once installed with
    /// `throughline_contracts::identifiers::set_extra_la_codes` (the command line does so).
    pub identity: IdentityConfig,
    /// `api.operator_api_key`, hashed (the key itself is not kept).
    pub operator_key_sha256: Option<[u8; 32]>,
    /// The normaliser for each format a source may name: the static formats and every
    /// `[[mappings]]` table as `mapping:<id>`.
    pub normalisers: Normalisers,
    /// `[[operator_channels]]`, checked.
    pub operator_channels: Vec<crate::alerting::OperatorChannelConfig>,
}

/// `[handoffs]`, validated.
#[derive(Debug, Clone)]
pub struct HandoffSettings {
    pub local_authority: Option<AgencyId>,
    pub tick: std::time::Duration,
    pub deadlines: BTreeMap<HandoffKind, Period>,
    pub calendar: WorkingCalendar,
    pub escalation: Vec<EscalationStep>,
    /// `[handoffs.urgency]`: (emergency, urgent, routine) acknowledgement deadlines.
    pub urgency: crate::config::UrgencyDeadlines,
}

impl HandoffSettings {
    pub fn deadline(&self, kind: HandoffKind) -> Period {
        self.deadlines
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| kind.default_deadline())
    }

    /// How soon a referral of this urgency must be acknowledged: `[handoffs.urgency]`, with a
    /// routine referral on `handoffs.deadlines.referral` unless `urgency.routine` is set.
    pub fn referral_deadline(&self, urgency: throughline_contracts::kind::Urgency) -> Period {
        use throughline_contracts::kind::Urgency;
        match urgency {
            Urgency::Emergency => self.urgency.emergency,
            Urgency::Urgent => self.urgency.urgent,
            Urgency::Routine => self
                .urgency
                .routine
                .unwrap_or_else(|| self.deadline(HandoffKind::Referral)),
        }
    }
}

/// `[history]`, validated.
#[derive(Debug, Clone)]
pub struct HistorySettings {
    /// An event that happened longer than this before its `as_at` is history.
    pub window: Period,
}

impl Validated {
    /// The agency a school URN belongs to, if any configured agency lists it.
    pub fn agency_for_school(&self, urn: &str) -> Option<&Agency> {
        self.agencies
            .values()
            .find(|a| a.school_urns.iter().any(|u| u == urn))
    }

    /// Whether `key` is `api.operator_api_key`, compared without early exit.
    pub fn is_operator_key(&self, key: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        self.operator_key_sha256.is_some_and(|k| {
            k.iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        })
    }

    /// The source whose API key hashes to `key_sha256`, compared without early exit.
    pub fn source_for_key(&self, key: &str) -> Option<&Source> {
        let presented: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        self.sources.values().find(|s| match &s.transport {
            Transport::Http { api_key_sha256 } => {
                api_key_sha256
                    .iter()
                    .zip(presented.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            }
            _ => false,
        })
    }
}

fn kind_set(file: &Path, key: &str, kinds: &[String], errors: &mut Vec<ConfigError>) -> KindSet {
    if kinds.iter().any(|k| k == "*") {
        return KindSet(None);
    }
    if kinds.is_empty() {
        errors.push(ConfigError::new(
            file,
            key,
            "must list at least one event kind, or \"*\"",
        ));
    }
    let mut set = BTreeSet::new();
    for (i, k) in kinds.iter().enumerate() {
        match k.parse::<EventKind>() {
            Ok(kind) => {
                set.insert(kind);
            }
            Err(e) => errors.push(ConfigError::new(
                file,
                &format!("{key}[{i}]"),
                e.to_string(),
            )),
        }
    }
    KindSet(Some(set))
}

pub(super) fn validate(file: &Path, c: HubConfig) -> Result<Validated, Vec<ConfigError>> {
    let mut errors = Vec::new();

    if !(c.store.url.starts_with("sqlite:")
        || c.store.url.starts_with("postgres:")
        || c.store.url.starts_with("postgresql:"))
    {
        errors.push(ConfigError::new(
            file,
            "store.url",
            "must start with sqlite: or postgres:",
        ));
    }
    if !(1..=64).contains(&c.delivery.concurrency) {
        errors.push(ConfigError::new(
            file,
            "delivery.concurrency",
            "must be between 1 and 64",
        ));
    }
    if c.delivery.lease_ms < 1_000 {
        errors.push(ConfigError::new(
            file,
            "delivery.lease_ms",
            "must be at least 1000: a lease renewed more often than it can lapse",
        ));
    }
    if c.delivery.max_attempts == 0 {
        errors.push(ConfigError::new(
            file,
            "delivery.max_attempts",
            "must be at least 1",
        ));
    }
    if c.delivery.initial_backoff_ms == 0
        || c.delivery.initial_backoff_ms > c.delivery.max_backoff_ms
    {
        errors.push(ConfigError::new(
            file,
            "delivery.initial_backoff_ms",
            "must be at least 1 and no more than delivery.max_backoff_ms",
        ));
    }
    telemetry_checks(file, &c.telemetry, &mut errors);
    if c.retention.delivered_days == 0 {
        errors.push(ConfigError::new(
            file,
            "retention.delivered_days",
            "must be at least 1",
        ));
    }

    let mut agencies = BTreeMap::new();
    for (i, a) in c.agencies.iter().enumerate() {
        let id = match AgencyId::parse(&a.id) {
            Ok(id) => id,
            Err(e) => {
                errors.push(ConfigError::new(
                    file,
                    &format!("agencies[{i}].id"),
                    e.to_string(),
                ));
                continue;
            }
        };
        if id.as_str() == crate::handoff::notice::HUB_AGENCY {
            errors.push(ConfigError::new(
                file,
                &format!("agencies[{i}].id"),
                "`throughline` is reserved for the hub's own notices",
            ));
        }
        if a.role.trim().is_empty() {
            errors.push(ConfigError::new(
                file,
                &format!("agencies[{i}].role"),
                "must not be empty",
            ));
        }
        let sink_key = format!("agencies[{i}].sink");
        match &a.sink {
            Some(SinkConfig::Webhook(w)) => {
                if let Err(e) = w.build() {
                    errors.push(ConfigError::new(file, &sink_key, e.to_string()));
                }
            }
            Some(SinkConfig::Amqp(c)) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(
                        file,
                        &format!("{sink_key}.{}", e.key()),
                        e.reason().to_owned(),
                    ));
                }
            }
            Some(SinkConfig::Kafka(c)) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(
                        file,
                        &format!("{sink_key}.{}", e.key()),
                        e.to_string(),
                    ));
                }
            }
            Some(SinkConfig::Mesh(c)) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(file, &mesh_key(&sink_key, &e), e.reason()));
                }
            }
            Some(SinkConfig::Fhir(c)) => super::fhir::check_sink(file, &sink_key, c, &mut errors),
            None => {}
        }
        let agency = Agency {
            id: id.clone(),
            name: if a.name.is_empty() {
                a.id.clone()
            } else {
                a.name.clone()
            },
            role: a.role.clone(),
            sink: a.sink.clone(),
            school_urns: a.school_urns.clone(),
        };
        if agencies.insert(id, agency).is_some() {
            errors.push(ConfigError::new(
                file,
                &format!("agencies[{i}].id"),
                "duplicate agency id",
            ));
        }
    }

    let known_agency = |key: &str, id: &str, errors: &mut Vec<ConfigError>| -> Option<AgencyId> {
        match AgencyId::parse(id) {
            Ok(a) if agencies.contains_key(&a) => Some(a),
            Ok(_) => {
                errors.push(ConfigError::new(
                    file,
                    key,
                    "no agency with this id is configured",
                ));
                None
            }
            Err(e) => {
                errors.push(ConfigError::new(file, key, e.to_string()));
                None
            }
        }
    };

    let normalisers = normalisers(file, &c.mappings, &mut errors);
    let normalisers =
        super::fhir::with_fhir_format(normalisers, file, &c.sources, &agencies, &mut errors);
    let mut sources = HashMap::new();
    let mut key_hashes = BTreeSet::new();
    for (i, s) in c.sources.iter().enumerate() {
        let agency = known_agency(&format!("sources[{i}].agency"), &s.agency, &mut errors);
        if !normalisers.contains(&s.format) {
            errors.push(ConfigError::new(
                file,
                &format!("sources[{i}].format"),
                unknown_format(&s.format, &c.mappings, &normalisers),
            ));
        }
        if let Err(e) = AgencyId::parse(&s.system) {
            // Local ids are scoped by agency and system, so the system must be a slug too.
            errors.push(ConfigError::new(
                file,
                &format!("sources[{i}].system"),
                e.to_string(),
            ));
        }
        let key = |k: &str| format!("sources[{i}].{k}");
        let transport = match (&s.api_key, &s.amqp, &s.kafka, &s.mesh, &s.fhir) {
            (Some(api_key), None, None, None, None) => {
                if api_key.len() < 16 {
                    errors.push(ConfigError::new(
                        file,
                        &key("api_key"),
                        "must be at least 16 characters",
                    ));
                }
                let hash: [u8; 32] = Sha256::digest(api_key.as_bytes()).into();
                if !api_key.is_empty() && !key_hashes.insert(hash) {
                    errors.push(ConfigError::new(
                        file,
                        &key("api_key"),
                        "the same key is used by another source",
                    ));
                }
                Some(Transport::Http {
                    api_key_sha256: hash,
                })
            }
            (None, Some(c), None, None, None) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(
                        file,
                        &key(&format!("amqp.{}", e.key())),
                        e.reason().to_owned(),
                    ));
                }
                Some(Transport::Amqp(c.clone()))
            }
            (None, None, Some(c), None, None) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(
                        file,
                        &key(&format!("kafka.{}", e.key())),
                        e.to_string(),
                    ));
                }
                Some(Transport::Kafka(c.clone()))
            }
            (None, None, None, Some(c), None) => {
                if let Err(e) = c.validate() {
                    errors.push(ConfigError::new(
                        file,
                        &mesh_key(&key("mesh"), &e),
                        e.reason(),
                    ));
                }
                Some(Transport::Mesh(c.clone()))
            }
            (None, None, None, None, Some(c)) => {
                super::fhir::check_source(file, i, s, c, &mut errors);
                Some(Transport::Fhir(c.clone()))
            }
            _ => {
                errors.push(ConfigError::new(
                    file,
                    &format!("sources[{i}]"),
                    "needs exactly one of api_key (HTTP ingest), amqp, kafka, mesh or fhir",
                ));
                None
            }
        };
        let drop = match (&s.drop, &s.ctf_drop) {
            (Some(_), Some(_)) => {
                errors.push(ConfigError::new(
                    file,
                    &key("ctf_drop"),
                    "is the older name of drop (with reader = \"ctf\"): give only one of them",
                ));
                None
            }
            (Some(drop), None) => {
                check_drop(file, &key("drop"), drop, &mut errors);
                Some(drop.clone())
            }
            (None, Some(ctf_drop)) => {
                let drop = DropConfig::from(ctf_drop.clone());
                check_drop(file, &key("ctf_drop"), &drop, &mut errors);
                Some(drop)
            }
            (None, None) => None,
        };
        if let (Some(agency), Some(transport)) = (agency, transport) {
            let assertions = super::assertions::build(
                file,
                super::assertions::Declared {
                    key: &format!("sources[{i}]"),
                    agency: &agency,
                    role: agencies.get(&agency).map_or("", |a| a.role.as_str()),
                    designated_team: c.handoffs.local_authority.as_deref() == Some(agency.as_str()),
                    may_send: s.may_send.as_deref(),
                    may_change_involvement_of: &s.may_change_involvement_of,
                    relays_for: &s.relays_for,
                },
                &|a| agencies.contains_key(a),
                &mut errors,
            );
            let source = Source {
                id: s.id.clone(),
                agency,
                system: s.system.clone(),
                format: s.format.clone(),
                transport,
                drop,
                assertions,
            };
            if sources.insert(s.id.clone(), source).is_some() {
                errors.push(ConfigError::new(
                    file,
                    &format!("sources[{i}].id"),
                    "duplicate source id",
                ));
            }
        }
    }
    let roles: BTreeSet<&str> = agencies.values().map(|a| a.role.as_str()).collect();
    let mut routes = Vec::new();
    for (i, r) in c.routes.iter().enumerate() {
        let kinds = kind_set(file, &format!("routes[{i}].kinds"), &r.kinds, &mut errors);
        for (j, role) in r.roles.iter().enumerate() {
            if !roles.contains(role.as_str()) {
                errors.push(ConfigError::new(
                    file,
                    &format!("routes[{i}].roles[{j}]"),
                    "no agency has this role",
                ));
            }
        }
        routes.push(Route {
            kinds,
            roles: r.roles.clone(),
        });
    }

    let mut agreements = Vec::new();
    let mut agreement_ids = BTreeSet::new();
    for (i, a) in c.sharing_agreements.iter().enumerate() {
        let key = |k: &str| format!("sharing_agreements[{i}].{k}");
        if a.id.trim().is_empty() {
            errors.push(ConfigError::new(file, &key("id"), "must not be empty"));
        } else if !agreement_ids.insert(a.id.clone()) {
            errors.push(ConfigError::new(
                file,
                &key("id"),
                "duplicate sharing agreement id",
            ));
        }
        let agency = known_agency(&key("agency"), &a.agency, &mut errors);
        let kinds = kind_set(file, &key("kinds"), &a.kinds, &mut errors);
        if a.fields.is_empty() {
            errors.push(ConfigError::new(
                file,
                &key("fields"),
                "must list at least one field",
            ));
        }
        for (j, f) in a.fields.iter().enumerate() {
            if !(f.starts_with("subject.") || f.starts_with("payload.")) || f.ends_with('.') {
                errors.push(ConfigError::new(
                    file,
                    &format!("sharing_agreements[{i}].fields[{j}]"),
                    "must be a path starting with subject. or payload.",
                ));
            }
        }
        if let Some(agency) = agency {
            agreements.push(SharingAgreement {
                id: a.id.clone(),
                agency,
                purpose: a.purpose.clone(),
                kinds,
                fields: a.fields.clone(),
                expires: a.expires,
            });
        }
    }

    let handoffs = handoff_settings(file, &c.handoffs, &agencies, &mut errors);
    if let Period::Next(_) = c.history.window {
        errors.push(ConfigError::new(
            file,
            "history.window",
            "must be a length of time such as `28 days`, not a date in the year",
        ));
    }
    let history = HistorySettings {
        window: c.history.window,
    };
    for (i, code) in c.identity.extra_la_codes.iter().enumerate() {
        if !(1..=999).contains(code) {
            errors.push(ConfigError::new(
                file,
                &format!("identity.extra_la_codes[{i}]"),
                "must be a DfE local authority number from 1 to 999 (characters 2 to 4 of a UPN)",
            ));
        }
    }
    let operator_key_sha256 = operator_key(
        file,
        c.api.operator_api_key.as_deref(),
        &key_hashes,
        &mut errors,
    );
    if c.api.file_upload_limit_bytes == 0 {
        errors.push(ConfigError::new(
            file,
            "api.file_upload_limit_bytes",
            "must be at least 1: it bounds every file upload, and 0 would refuse them all",
        ));
    }
    crate::alerting::config::check(file, &c.operator_channels, &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Validated {
        store: c.store,
        api: ApiConfig {
            operator_api_key: None,
            ..c.api
        },
        log: c.log,
        telemetry: c.telemetry,
        delivery: c.delivery,
        retention: c.retention,
        agencies,
        sources,
        routes,
        agreements,
        handoffs,
        history,
        identity: c.identity,
        normalisers,
        operator_key_sha256,
        operator_channels: c.operator_channels,
    })
}

/// `api.operator_api_key`, hashed like a source's key: long enough, and no source's key (a key
/// must say who is calling).
fn operator_key(
    file: &Path,
    key: Option<&str>,
    source_keys: &BTreeSet<[u8; 32]>,
    errors: &mut Vec<ConfigError>,
) -> Option<[u8; 32]> {
    let key = key?;
    if key.len() < 16 {
        errors.push(ConfigError::new(
            file,
            "api.operator_api_key",
            "must be at least 16 characters",
        ));
    }
    let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if source_keys.contains(&hash) {
        errors.push(ConfigError::new(
            file,
            "api.operator_api_key",
            "the same key is a source's api_key",
        ));
    }
    Some(hash)
}

/// The static formats and every configured mapping, each mapping checked against the contracts
/// (`mappings[<id>].<key>: reason`).
fn normalisers(
    file: &Path,
    mappings: &[throughline_adapter_mapping::MappingConfig],
    errors: &mut Vec<ConfigError>,
) -> Normalisers {
    let mut normalisers = Normalisers::with_static_formats();
    let mut ids = BTreeSet::new();
    for (i, m) in mappings.iter().enumerate() {
        if !ids.insert(m.id.as_str()) {
            errors.push(ConfigError::new(
                file,
                &format!("mappings[{i}].id"),
                "duplicate mapping id",
            ));
            continue;
        }
        match throughline_adapter_mapping::Mapping::build(m.clone()) {
            Ok(mapping) => normalisers.register_mapping(mapping),
            Err(e) => errors.extend(
                e.problems()
                    .iter()
                    .map(|p| ConfigError::new(file, &p.key, p.reason.clone())),
            ),
        }
    }
    normalisers
}

/// Why a source's format is not one the hub has.
fn unknown_format(
    format: &str,
    mappings: &[throughline_adapter_mapping::MappingConfig],
    normalisers: &Normalisers,
) -> String {
    if let Some(id) = format.strip_prefix(throughline_adapter_mapping::FORMAT_PREFIX) {
        if mappings.iter().any(|m| m.id == id) {
            // Its own errors are reported under mappings[<id>].
            return "its mapping has errors (see mappings)".to_owned();
        }
        return "no [[mappings]] table has this id".to_owned();
    }
    let formats: Vec<&str> = normalisers.formats().collect();
    format!("unknown format; expected one of: {}", formats.join(", "))
}

/// The config key a MESH configuration error is about, under `prefix`.
fn mesh_key(prefix: &str, e: &throughline_adapter_mesh::MeshConfigError) -> String {
    match e.key() {
        Some(k) => format!("{prefix}.{k}"),
        None => prefix.to_owned(),
    }
}

/// A drop folder must already exist: the hub makes its four subfolders, never the folder itself,
/// so a mistyped path is an error here rather than a new empty folder nobody writes into.
fn check_drop(file: &Path, key: &str, drop: &DropConfig, errors: &mut Vec<ConfigError>) {
    let folder = &drop.folder;
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => errors.push(ConfigError::new(
            file,
            &format!("{key}.folder"),
            format!("`{}` must be a directory, found a file", folder.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => errors.push(ConfigError::new(
            file,
            &format!("{key}.folder"),
            format!(
                "`{}` must be an existing directory, found nothing",
                folder.display()
            ),
        )),
        Err(e) => errors.push(ConfigError::new(
            file,
            &format!("{key}.folder"),
            format!("`{}` cannot be read: {e}", folder.display()),
        )),
    }
    if drop.poll_interval_ms == 0 {
        errors.push(ConfigError::new(
            file,
            &format!("{key}.poll_interval_ms"),
            "must be at least 1",
        ));
    }
}

fn handoff_settings(
    file: &Path,
    c: &HandoffsConfig,
    agencies: &BTreeMap<AgencyId, Agency>,
    errors: &mut Vec<ConfigError>,
) -> HandoffSettings {
    let local_authority = c
        .local_authority
        .as_deref()
        .and_then(|id| match AgencyId::parse(id) {
            Ok(a) if agencies.contains_key(&a) => Some(a),
            Ok(_) => {
                errors.push(ConfigError::new(
                    file,
                    "handoffs.local_authority",
                    "no agency with this id is configured",
                ));
                None
            }
            Err(e) => {
                errors.push(ConfigError::new(
                    file,
                    "handoffs.local_authority",
                    e.to_string(),
                ));
                None
            }
        });
    if c.tick_ms == 0 {
        errors.push(ConfigError::new(
            file,
            "handoffs.tick_ms",
            "must be at least 1",
        ));
    }
    let mut deadlines = BTreeMap::new();
    for (name, period) in &c.deadlines {
        match name.parse::<HandoffKind>() {
            Ok(HandoffKind::PhaseTransfer) => errors.push(ConfigError::new(
                file,
                &format!("handoffs.deadlines.{name}"),
                "is set by law, not config: 15 February, or 31 March for a move into post-16, \
                 of the year of the move (SEND Regulations 2014, reg. 18)",
            )),
            Ok(kind) => {
                deadlines.insert(kind, *period);
            }
            Err(reason) => errors.push(ConfigError::new(
                file,
                &format!("handoffs.deadlines.{name}"),
                reason,
            )),
        }
    }
    if c.escalation.is_empty() {
        errors.push(ConfigError::new(
            file,
            "handoffs.escalation",
            "must have at least one step: silence past a deadline must reach someone",
        ));
    }
    HandoffSettings {
        local_authority,
        tick: std::time::Duration::from_millis(c.tick_ms.max(1)),
        deadlines,
        calendar: WorkingCalendar::england_and_wales()
            .with_extra_holidays(c.extra_holidays.iter().copied())
            .with_working_hours(c.working_hours),
        urgency: c.urgency.clone(),
        escalation: c
            .escalation
            .iter()
            .map(|s| EscalationStep {
                notify: s.notify,
                after: s.after,
            })
            .collect(),
    }
}

/// `[telemetry]`: an endpoint the exporter can post to, and a ratio that is one.
fn telemetry_checks(file: &Path, t: &TelemetryConfig, errors: &mut Vec<ConfigError>) {
    if let Some(endpoint) = &t.otlp_endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        errors.push(ConfigError::new(
            file,
            "telemetry.otlp_endpoint",
            "must be an http:// or https:// URL (OTLP over HTTP)",
        ));
    }
    if !(0.0..=1.0).contains(&t.sampling_ratio) {
        errors.push(ConfigError::new(
            file,
            "telemetry.sampling_ratio",
            "must be between 0.0 and 1.0",
        ));
    }
    if t.service_name.trim().is_empty() {
        errors.push(ConfigError::new(
            file,
            "telemetry.service_name",
            "must not be empty",
        ));
    }
}
