//! The configuration's shape. Every field's doc comment is its reference documentation
//! (README, "Configuration reference"); defaults run with no external service.
//!
//! The structs do not use `deny_unknown_fields`: that would stop parsing at the first unknown key.
//! Instead `config::load_str` collects *every* unknown key (with `serde_ignored`) and reports
//! each as an error, so unknown keys are still refused, all at once.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Deserialize;

/// The whole hub configuration (`config/hub.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct HubConfig {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// OpenTelemetry traces over OTLP (README, "Telemetry"). Absent: no exporter.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Every agency the hub knows: those that send, those that receive, or both.
    #[serde(default)]
    pub agencies: Vec<AgencyConfig>,
    /// Inputs: each source belongs to one agency and speaks one format.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Which agency roles receive which event kinds.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// What each agency may receive. Deny by default: no agreement, no delivery.
    #[serde(default)]
    pub sharing_agreements: Vec<SharingAgreementConfig>,
    /// Handoff tracking: deadlines, the escalation chain, the local authority's team.
    #[serde(default)]
    pub handoffs: HandoffsConfig,
    /// How the hub tells a record that restates the child's past from news.
    #[serde(default)]
    pub history: HistoryConfig,
    /// What the hub recognises in a child's identifiers beyond the standards' own lists.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Field mappings from agency systems' own JSON or CSV to canonical events; a source uses
    /// one with `format = "mapping:<id>"` (see `docs/adapters/mapping.md`).
    #[serde(default)]
    pub mappings: Vec<throughline_adapter_mapping::MappingConfig>,
    /// Where operators hear about alerts: one notice when a problem opens and one when it
    /// resolves (README, "Operator alerts"). Absent: alerts are only on the dashboard and CLI.
    #[serde(default)]
    pub operator_channels: Vec<crate::alerting::OperatorChannelConfig>,
}

/// `[handoffs]`: every referral, transfer and closure notice is tracked until the receiver
/// answers; silence past the deadline escalates along `escalation`.
#[derive(Debug, Clone, Deserialize)]
pub struct HandoffsConfig {
    /// The agency id of the local authority's designated team: it receives closure notices
    /// (a child left with no lead agency, a child missing education), EHC needs assessment
    /// requests, and the last step of every escalation. Without one, those become operator
    /// alerts only.
    #[serde(default)]
    pub local_authority: Option<String>,
    /// How often the scheduler looks for handoffs past their deadline, in milliseconds. An
    /// escalation is sent at most this long after it falls due.
    #[serde(default = "default_handoff_tick_ms")]
    pub tick_ms: u64,
    /// Deadline per handoff kind, e.g. `referral = "2 working days"`, `ehc_plan = "20 weeks"`,
    /// `annual_review = "12 months"`, `transfer = "next 15 February"`. Kinds not listed keep
    /// their statutory or default deadline (see `docs/handoffs.md`).
    #[serde(default)]
    pub deadlines: std::collections::BTreeMap<String, throughline_calendar::Period>,
    /// Extra non-working days on top of the England and Wales bank holidays (local closures).
    #[serde(default)]
    pub extra_holidays: Vec<NaiveDate>,
    /// The escalation chain, in order. Default: a reminder to the receiver at the deadline,
    /// a notice to the sender one working day later, then the local authority one working day
    /// after that. Every step is also an operator alert; a `local_authority` step with no
    /// `local_authority` configured is an operator alert only.
    #[serde(default = "default_escalation")]
    pub escalation: Vec<EscalationStepConfig>,
    /// The hours of a working day, London time, for deadlines in working hours: `"09:00-17:00"`
    /// by default. No statute sets them; this is a local-agreement default.
    #[serde(default)]
    pub working_hours: throughline_calendar::WorkingHours,
    /// How soon a referral's receiver must acknowledge it, by the referral's `urgency`. Local
    /// agreement, not statute; a referral's own `respond_by` still wins.
    #[serde(default)]
    pub urgency: UrgencyDeadlines,
}

/// `[handoffs.urgency]`: the acknowledgement deadline of a referral for each `urgency`.
#[derive(Debug, Clone, Deserialize)]
pub struct UrgencyDeadlines {
    /// `emergency`: `"4 working hours"` by default.
    #[serde(default = "default_emergency")]
    pub emergency: throughline_calendar::Period,
    /// `urgent`: `"1 working day"` by default.
    #[serde(default = "default_urgent")]
    pub urgent: throughline_calendar::Period,
    /// `routine`: `handoffs.deadlines.referral` when that is set, else `"2 working days"`.
    #[serde(default)]
    pub routine: Option<throughline_calendar::Period>,
}

fn default_emergency() -> throughline_calendar::Period {
    throughline_calendar::Period::WorkingHours(4)
}

fn default_urgent() -> throughline_calendar::Period {
    throughline_calendar::Period::WorkingDays(1)
}

impl Default for UrgencyDeadlines {
    fn default() -> Self {
        Self {
            emergency: default_emergency(),
            urgent: default_urgent(),
            routine: None,
        }
    }
}

/// `[history]`: a record that only restates the child's past (a transfer file's SEN history, a
/// census's plans started years ago) updates the child's record and timeline but opens no
/// handoff or clock and notifies nobody (`docs/handoffs.md`, "History is not news").
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryConfig {
    /// How long before its `as_at` an event may have happened and still be news, e.g.
    /// `"28 days"`: older is history. Counted like a deadline from when the event happened.
    #[serde(default = "default_history_window")]
    pub window: throughline_calendar::Period,
}

fn default_history_window() -> throughline_calendar::Period {
    throughline_calendar::Period::Days(28)
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            window: default_history_window(),
        }
    }
}

/// `[identity]`: additions to the lists identifiers are checked against.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdentityConfig {
    /// DfE local authority numbers to accept in a UPN (characters 2 to 4) beyond census
    /// validation rule 1530's list (2023/24, with 942 and 943), e.g. `[944]`: an authority
    /// created or renumbered since, so that its pupils' UPNs are not refused until a release.
    /// Each is a number from 1 to 999. Remove one only if no stored event carries it: events are
    /// read back through the same check.
    #[serde(default)]
    pub extra_la_codes: Vec<u16>,
}

/// One step of the escalation chain.
#[derive(Debug, Clone, Deserialize)]
pub struct EscalationStepConfig {
    /// `receiver`, `sender` or `local_authority`.
    pub notify: crate::handoff::Party,
    /// How long after the deadline, e.g. `"0 hours"`, `"1 working day"`.
    pub after: throughline_calendar::Period,
}

fn default_handoff_tick_ms() -> u64 {
    10_000
}

fn default_escalation() -> Vec<EscalationStepConfig> {
    use throughline_calendar::Period;
    vec![
        EscalationStepConfig {
            notify: crate::handoff::Party::Receiver,
            after: Period::Hours(0),
        },
        EscalationStepConfig {
            notify: crate::handoff::Party::Sender,
            after: Period::WorkingDays(1),
        },
        EscalationStepConfig {
            notify: crate::handoff::Party::LocalAuthority,
            after: Period::WorkingDays(2),
        },
    ]
}

impl Default for HandoffsConfig {
    fn default() -> Self {
        Self {
            local_authority: None,
            tick_ms: default_handoff_tick_ms(),
            deadlines: Default::default(),
            extra_holidays: Vec::new(),
            escalation: default_escalation(),
            working_hours: Default::default(),
            urgency: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` (created if missing, WAL mode) or
    /// `postgres://user@host:5432/db`.
    #[serde(default = "default_store_url")]
    pub url: String,
}

fn default_store_url() -> String {
    "sqlite://data/throughline.db".into()
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: default_store_url(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiConfig {
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger bodies get 413. Bounds every input
    /// (`/v1/events`, `/v1/ingest/{source}`), not whole-file uploads.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// Largest whole file accepted by upload (`/v1/ingest/{source}/ctf`, `/cin`, `/file`), in
    /// bytes; larger files get 413, refused without being read whole. An upload is written to a
    /// temporary file (the system's temporary folder, `TMPDIR`) as it arrives, then read record
    /// by record, so it is bounded by disk, not memory. 256 MiB: a county's CIN census or a
    /// secondary school's CTF is tens of MB.
    #[serde(default = "default_file_upload_limit")]
    pub file_upload_limit_bytes: usize,
    /// The key for the read-only operator endpoints (`/v1/deliveries`, `/v1/quarantine`,
    /// `/v1/agencies`), at least 16 characters, written as `${ENV}` or `${file:...}` and kept
    /// only as a SHA-256 hash. Unset: those endpoints answer 403. A source's key never opens
    /// them, because they show every agency's traffic.
    #[serde(default)]
    pub operator_api_key: Option<String>,
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().expect("a valid literal address")
}

fn default_body_limit() -> usize {
    1024 * 1024
}

fn default_file_upload_limit() -> usize {
    256 * 1024 * 1024
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            body_limit_bytes: default_body_limit(),
            file_upload_limit_bytes: default_file_upload_limit(),
            operator_api_key: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogConfig {
    /// `human` or `json`.
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `throughline_hub=debug,info`. `RUST_LOG` overrides it.
    #[serde(default = "default_log_level")]
    pub level: String,
}

fn default_log_level() -> String {
    "info".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: default_log_level(),
        }
    }
}

/// `[telemetry]`: traces of every input, from ingest through each delivery attempt, exported
/// over OTLP. Spans carry ids (events, deliveries, the hub's child id, agencies, sources), never
/// child data.
#[derive(Debug, Clone, Deserialize)]
pub struct TelemetryConfig {
    /// Base URL of an OTLP/HTTP (protobuf) receiver, e.g. `http://127.0.0.1:4318` (an
    /// OpenTelemetry collector); spans go to `<endpoint>/v1/traces`. Absent: no exporter, and
    /// tracing costs the hub nothing but a disabled span per step.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute the spans carry.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// The share of inputs traced, 0.0 to 1.0. An input's delivery attempts follow its decision
    /// (and an incoming `traceparent`'s sampled flag is honoured), so a trace is whole or absent.
    #[serde(default = "default_sampling_ratio")]
    pub sampling_ratio: f64,
}

fn default_service_name() -> String {
    "throughline-hub".into()
}

fn default_sampling_ratio() -> f64 {
    1.0
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: default_service_name(),
            sampling_ratio: default_sampling_ratio(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryConfig {
    /// Attempts before a delivery goes to dead letter.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// How many of one agency's notifications may be in flight at once (1 to 64). Never more
    /// than one per child, so each child's notifications still arrive in order; 1 delivers an
    /// agency's queue strictly one at a time.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// First retry delay; doubles each attempt, with jitter.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest retry delay (also caps a receiver's Retry-After).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// How often an idle agency queue looks for work it was not told about (another process,
    /// such as an operator's replay, may have added it).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// How long an instance's hold on an agency's queue lasts without renewal, in milliseconds.
    /// Several hub instances may share one store: one at a time delivers each agency's queue,
    /// and another takes it over this long after the holder stops.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

fn default_lease_ms() -> u64 {
    30_000
}

fn default_max_attempts() -> u32 {
    10
}
fn default_concurrency() -> u32 {
    1
}
fn default_initial_backoff_ms() -> u64 {
    1_000
}
fn default_max_backoff_ms() -> u64 {
    300_000
}
fn default_poll_interval_ms() -> u64 {
    1_000
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            concurrency: default_concurrency(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            poll_interval_ms: default_poll_interval_ms(),
            lease_ms: default_lease_ms(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RetentionConfig {
    /// Delivered notifications (and events all of whose deliveries are done) older than this
    /// many days are pruned. Undelivered, dead-lettered and quarantined data is never pruned.
    #[serde(default = "default_delivered_days")]
    pub delivered_days: u32,
    /// How often the retention sweep runs, in seconds.
    #[serde(default = "default_sweep_secs")]
    pub sweep_interval_secs: u64,
}

fn default_delivered_days() -> u32 {
    30
}
fn default_sweep_secs() -> u64 {
    3600
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            delivered_days: default_delivered_days(),
            sweep_interval_secs: default_sweep_secs(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgencyConfig {
    /// Short id, e.g. `camhs-north` (lowercase letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Human name, for dashboards and alerts.
    #[serde(default)]
    pub name: String,
    /// The agency's role, matched by routes: e.g. `school`, `health`, `social_care`, `send`.
    pub role: String,
    /// Where its notifications go. An agency without a sink only sends.
    #[serde(default)]
    pub sink: Option<SinkConfig>,
    /// For a school: its URN(s). A pupil leaving another school for one of these is a transfer
    /// handoff to this agency, answered by its `school.joined`.
    #[serde(default)]
    pub school_urns: Vec<String>,
}

/// How notifications reach an agency.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// Signed JSON over HTTPS (see `docs/adapters/webhook.md`).
    Webhook(throughline_adapter_webhook::WebhookConfig),
    /// Publish to a RabbitMQ exchange with publisher confirms (see `docs/adapters/amqp.md`).
    Amqp(throughline_adapter_amqp::AmqpSinkConfig),
    /// Produce to a Kafka topic, keyed by child (see `docs/adapters/kafka.md`).
    Kafka(throughline_adapter_kafka::KafkaSinkConfig),
    /// Send each notification as a message to the agency's MESH mailbox (see
    /// `docs/adapters/mesh.md`, "In the hub").
    Mesh(throughline_adapter_mesh::MeshSinkConfig),
    /// Write each notification to the agency's FHIR server as a `Communication` about the
    /// patient (see `docs/adapters/fhir.md`, "Sink").
    Fhir(throughline_adapter_fhir::FhirSinkConfig),
}

impl SinkConfig {
    /// The adapter's name, as used in logs, metrics and `/readyz`.
    pub fn adapter(&self) -> &'static str {
        match self {
            SinkConfig::Webhook(_) => "webhook",
            SinkConfig::Amqp(_) => "amqp",
            SinkConfig::Kafka(_) => "kafka",
            SinkConfig::Mesh(_) => "mesh",
            SinkConfig::Fhir(_) => "fhir",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Source id, used in `POST /v1/ingest/{id}` and in quarantine records.
    pub id: String,
    /// The agency this source speaks for; events it submits must name this agency.
    pub agency: String,
    /// The agency's system, e.g. `arbor`, `liquidlogic`.
    #[serde(default = "default_system")]
    pub system: String,
    /// Native format: `canonical-json`, `social-care-csv`, `fhir` (FHIR R4 resources and
    /// Bundles), or `mapping:<id>` for a configured `[[mappings]]` table.
    #[serde(default = "default_format")]
    pub format: String,
    /// For HTTP ingest: the source's API key, as `"${ENV_VAR}"` or `"${file:/path}"`; held only
    /// as a SHA-256 hash. A source has exactly one of `api_key`, `amqp`, `kafka`, `mesh` and
    /// `fhir`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Consume this source's inputs from a RabbitMQ queue (see `docs/adapters/amqp.md`).
    #[serde(default)]
    pub amqp: Option<throughline_adapter_amqp::AmqpSourceConfig>,
    /// Consume this source's inputs from Kafka topics (see `docs/adapters/kafka.md`).
    #[serde(default)]
    pub kafka: Option<throughline_adapter_kafka::KafkaSourceConfig>,
    /// Poll this source's inputs from a MESH mailbox, acknowledging each message once it is
    /// committed or quarantined (see `docs/adapters/mesh.md`, "In the hub").
    #[serde(default)]
    pub mesh: Option<throughline_adapter_mesh::MeshSourceConfig>,
    /// Poll this source's inputs from a FHIR R4 server by `_lastUpdated`, moving a stored cursor
    /// once each is committed or quarantined; the source's format must be `fhir` (see
    /// `docs/adapters/fhir.md`, "Poll").
    #[serde(default)]
    pub fhir: Option<throughline_adapter_fhir::FhirSourceConfig>,
    /// For a source whose format is `fhir` (pushed or polled): which hub agency each ODS code
    /// is, and which service each EpisodeOfCare type is (see `docs/adapters/fhir.md`,
    /// "Mapping").
    #[serde(default)]
    pub fhir_mapping: Option<throughline_adapter_fhir::FhirMappingConfig>,
    /// Import the files written into a drop folder, as this source: Common Transfer Files, CIN
    /// census files, or files in the source's own format (see `docs/adapters/import.md`, "Drop
    /// folders"). Independent of the transport above.
    #[serde(default)]
    pub drop: Option<DropConfig>,
    /// The older name of `drop` for Common Transfer Files: `ctf_drop = { folder, ... }` is
    /// `drop = { folder, ..., reader = "ctf" }`. A source has at most one of the two.
    #[serde(default)]
    pub ctf_drop: Option<CtfDropConfig>,
    /// Which event kinds this source may send (`docs/security.md`): kinds, families such as
    /// `"school.*"`, or `"*"`. It replaces the defaults of the agency's role; the kinds every
    /// source may send (referrals, their answers, handoff acknowledgements, involvement) stay
    /// allowed. Absent: the role's defaults (the local authority's designated team: any kind).
    #[serde(default)]
    pub may_send: Option<Vec<String>>,
    /// Agencies besides its own whose involvement this source may start or end with
    /// `involvement.started`/`ended`, or `["*"]`. Absent: its own agency only (the local
    /// authority's designated team: any agency).
    #[serde(default)]
    pub may_change_involvement_of: Vec<String>,
    /// Agencies this source relays for (a regional data hub passing on its members' records):
    /// it may assert local ids in their namespaces as well as its own agency's. Absent: none.
    #[serde(default)]
    pub relays_for: Vec<String>,
}

/// `sources.drop`: a folder an agency's system (or a job that downloads its files) writes files
/// into, each imported as this source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DropConfig {
    /// The drop folder. It must exist and be a directory; the hub creates `incoming/`,
    /// `processing/`, `done/` and `failed/` in it. A relative path is taken from the hub's
    /// working directory, as `store.url` is.
    pub folder: PathBuf,
    /// How often `incoming/` is looked at, in milliseconds.
    #[serde(default = "default_ctf_drop_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// What the files are: `ctf` (Common Transfer Files, pupil by pupil), `cin-census` (CIN
    /// census files, child by child) or `source-format` (each file one input in the source's
    /// `format`, as `POST /v1/ingest/{source}` takes it).
    #[serde(default)]
    pub reader: DropReader,
}

/// How a drop folder's files are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReader {
    /// A school's Common Transfer File, each pupil its own input.
    Ctf,
    /// A Children in Need census, each child its own input.
    CinCensus,
    /// One input in the source's own `format`.
    #[default]
    SourceFormat,
}

impl DropReader {
    /// The name configuration and logs use.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReader::Ctf => "ctf",
            DropReader::CinCensus => "cin-census",
            DropReader::SourceFormat => "source-format",
        }
    }
}

impl From<CtfDropConfig> for DropConfig {
    fn from(c: CtfDropConfig) -> Self {
        Self {
            folder: c.folder,
            poll_interval_ms: c.poll_interval_ms,
            reader: DropReader::Ctf,
        }
    }
}

/// `sources.ctf_drop`: a folder a school's MIS (or an S2S download job) writes CTFs into; the
/// older form of `drop` with `reader = "ctf"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CtfDropConfig {
    /// The drop folder. It must exist and be a directory; the hub creates `incoming/`,
    /// `processing/`, `done/` and `failed/` in it. A relative path is taken from the hub's
    /// working directory, as `store.url` is.
    pub folder: PathBuf,
    /// How often `incoming/` is looked at, in milliseconds.
    #[serde(default = "default_ctf_drop_poll_interval_ms")]
    pub poll_interval_ms: u64,
}

fn default_ctf_drop_poll_interval_ms() -> u64 {
    2_000
}

fn default_system() -> String {
    "unknown".into()
}
fn default_format() -> String {
    "canonical-json".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct RouteConfig {
    /// Event kinds this route covers (e.g. `referral.made`), or `["*"]` for all.
    pub kinds: Vec<String>,
    /// Agency roles that receive them, when involved with the child.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SharingAgreementConfig {
    /// The agreement's reference, recorded with every disclosure made under it.
    pub id: String,
    /// The recipient agency it covers.
    pub agency: String,
    /// Purpose and lawful basis, for the audit trail.
    #[serde(default)]
    pub purpose: String,
    /// Event kinds the agency may receive, or `["*"]`.
    pub kinds: Vec<String>,
    /// Fields it may receive, as paths into the notification: `subject.identifiers.nhs_number`,
    /// `subject.demographics.date_of_birth`, `payload.referral_id`, `payload.*`, `subject.*`.
    pub fields: Vec<String>,
    /// Last day the agreement is in force; after it, deliveries are denied and alerted.
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}
