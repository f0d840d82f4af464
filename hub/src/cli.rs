//! Command line. The binary's edge: the only place errors become `anyhow` and exit codes.

use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use throughline_contracts::adapter::InputOutcome;
use throughline_hub::config::{self, Validated};
use throughline_hub::deliver::Wakers;
use throughline_hub::import::{self, FileDigest};
use throughline_hub::mapping_test::{self, MappingTestError};
use throughline_hub::pipeline::Pipeline;
use throughline_hub::store::{self, Store};
use throughline_hub::{app, logging, operator, telemetry};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "throughline",
    version,
    about = "Routes children's status changes between agencies, and makes sure each handoff is acknowledged."
)]
struct Cli {
    /// Configuration file (every command reads it: the store URL lives there).
    #[arg(
        long,
        short,
        global = true,
        env = "THROUGHLINE_CONFIG",
        default_value = "config/hub.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

struct ConfigArg {
    config: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Run,
    /// Check a configuration file; prints every error as file: key: reason.
    CheckConfig,
    /// Inspect and act on quarantined inputs.
    Quarantine {
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// Inspect deliveries and requeue dead letters.
    Deliveries {
        #[command(subcommand)]
        action: DeliveriesAction,
    },
    /// List open operator alerts.
    Alerts,
    /// Manage the dashboard's operator accounts.
    Operators {
        #[command(subcommand)]
        action: OperatorsAction,
    },
    /// Run the mapping tests beside the configuration (`<config dir>/tests/*.toml`): each case's
    /// sample input through the pipeline in a temporary store; exit 1 if any case fails.
    Test,
    /// Run a file an agency hands over through the pipeline, record by record.
    Import {
        #[command(subcommand)]
        file: ImportFile,
    },
}

#[derive(Subcommand)]
enum ImportFile {
    /// A DfE Common Transfer File. Each pupil's events are committed alone, or the pupil is
    /// quarantined alone; prints a JSON report. Importing the same file again commits nothing.
    Ctf {
        /// The CTF XML file.
        file: PathBuf,
        /// The configured source it comes from; its agency must list the file's source school
        /// URN in school_urns.
        #[arg(long)]
        source: String,
    },
    /// A DfE Children in Need census. Each child's events are committed alone, or the child is
    /// quarantined alone; prints a JSON report. Importing the same file again commits nothing.
    Cin {
        /// The CIN census XML file.
        file: PathBuf,
        /// The configured source it comes from: the local authority's case management system
        /// (its agency and system scope each child's LAchildID).
        #[arg(long)]
        source: String,
    },
    /// A file in the source's own format. An extract (social-care-csv, mapping:<id>) is read row
    /// by row: each row's events are committed alone, or the row is quarantined alone. Other
    /// formats (canonical-json, fhir) are one input, exactly as `POST /v1/ingest/{source}`
    /// takes a body, and exit 1 if it was quarantined. Prints a JSON report; importing the same
    /// file again commits nothing.
    File {
        /// The file: an extract of any size, or one input of at most api.body_limit_bytes.
        file: PathBuf,
        /// The configured source it comes from; its format reads the file.
        #[arg(long)]
        source: String,
    },
}

#[derive(Subcommand)]
enum QuarantineAction {
    /// List quarantined inputs, newest first.
    List {
        /// held, replayed or discarded.
        #[arg(long, default_value = "held")]
        status: String,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Show one input: its reasons and raw content (the viewing is audited).
    Show { id: Uuid },
    /// Run a held input through the pipeline again.
    Replay { id: Uuid },
    /// Mark a held input discarded (it is kept, and the discard audited).
    Discard {
        id: Uuid,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum OperatorsAction {
    /// Add an account. The password is read from THROUGHLINE_OPERATOR_PASSWORD or, if that is
    /// unset, from the first line of standard input; never from the command line.
    Add {
        #[arg(long)]
        username: String,
        /// operator, admin or auditor (docs/dashboard.md has what each may do).
        #[arg(long)]
        role: String,
    },
    /// List accounts.
    List,
    /// Disable an account and end its sessions.
    Disable { username: String },
}

#[derive(Subcommand)]
enum DeliveriesAction {
    /// List deliveries, newest first.
    List {
        /// pending, delivered or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Requeue every dead-lettered delivery (same idempotency keys).
    RetryDead,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(ConfigArg { config: cli.config }, cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(arg: &ConfigArg) -> Result<Validated, ExitCode> {
    let config = config::load(&arg.config).map_err(|errors| {
        for e in &errors.0 {
            eprintln!("{e}");
        }
        eprintln!("{} configuration error(s)", errors.0.len());
        ExitCode::from(2)
    })?;
    // Before any input or stored event is read: a UPN is checked while it is deserialised,
    // where the configuration cannot be passed in (see `la_codes` in the contracts).
    throughline_contracts::identifiers::set_extra_la_codes(&config.identity.extra_la_codes);
    Ok(config)
}

fn operator_name() -> String {
    std::env::var("THROUGHLINE_OPERATOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

async fn dispatch(arg: ConfigArg, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::CheckConfig => Ok(match load(&arg) {
            Ok(c) => {
                println!(
                    "{}: ok ({} agencies, {} sources, {} routes, {} sharing agreements)",
                    arg.config.display(),
                    c.agencies.len(),
                    c.sources.len(),
                    c.routes.len(),
                    c.agreements.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        }),
        Command::Run => {
            let config = match load(&arg) {
                Ok(c) => Arc::new(c),
                Err(code) => return Ok(code),
            };
            let traces = telemetry::Telemetry::start(&config.telemetry)?;
            logging::init(&config.log, &traces);
            let cancel = CancellationToken::new();
            let on_signal = cancel.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                on_signal.cancel();
            });
            let served = app::serve(config, cancel).await;
            // The last spans are flushed whether the hub stopped cleanly or not.
            let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
            served.context("the hub stopped")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Quarantine { action } => {
            let config = match load(&arg) {
                Ok(c) => Arc::new(c),
                Err(code) => return Ok(code),
            };
            let store = Store::connect(&config.store.url)
                .await
                .context("opening the store")?;
            quarantine(config, &store, action).await
        }
        Command::Deliveries { action } => {
            let config = match load(&arg) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let store = Store::connect(&config.store.url)
                .await
                .context("opening the store")?;
            match action {
                DeliveriesAction::List { status, limit } => {
                    let mut conn = store.pool().acquire().await?;
                    let rows = store::deliveries::list(&mut conn, status.as_deref(), limit).await?;
                    println!(
                        "{:<36}  {:<36}  {:<20}  {:<9}  {:>8}  last error",
                        "delivery", "event", "agency", "status", "attempts"
                    );
                    for d in rows {
                        println!(
                            "{:<36}  {:<36}  {:<20}  {:<9}  {:>8}  {}",
                            d.id,
                            d.event_id,
                            d.agency,
                            d.status,
                            d.attempts,
                            d.last_error.unwrap_or_default()
                        );
                    }
                }
                DeliveriesAction::RetryDead => {
                    let n = operator::retry_dead(&store, &operator_name()).await?;
                    println!("{n} dead-lettered deliveries requeued");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Operators { action } => {
            let config = match load(&arg) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let store = Store::connect(&config.store.url)
                .await
                .context("opening the store")?;
            operators(&store, action).await
        }
        Command::Alerts => {
            let config = match load(&arg) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let store = Store::connect(&config.store.url)
                .await
                .context("opening the store")?;
            let mut conn = store.pool().acquire().await?;
            for a in store::alerts::open(&mut conn).await? {
                println!(
                    "{}  {:<22}  x{:<5}  {}",
                    a.last_at.to_rfc3339(),
                    a.kind,
                    a.occurrences,
                    a.detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Test => {
            let config = match load(&arg) {
                Ok(c) => Arc::new(c),
                Err(code) => return Ok(code),
            };
            mapping_tests(config, &arg.config).await
        }
        Command::Import { file } => {
            let config = match load(&arg) {
                Ok(c) => Arc::new(c),
                Err(code) => return Ok(code),
            };
            let store = Store::connect(&config.store.url)
                .await
                .context("opening the store")?;
            import_file(config, store, file).await
        }
    }
}

async fn mapping_tests(config: Arc<Validated>, path: &Path) -> anyhow::Result<ExitCode> {
    let dir = mapping_test::tests_dir(path);
    let cases = match mapping_test::load_cases(&dir, &config) {
        Ok(c) => c,
        Err(e @ MappingTestError::Invalid(_)) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let results = mapping_test::run(config, &cases).await?;
    let failed = results.iter().filter(|r| !r.passed()).count();
    for r in &results {
        if r.passed() {
            println!("ok   {}: {}", r.file, r.name);
        } else {
            println!("FAIL {}: {}", r.file, r.name);
            for f in &r.failures {
                for line in f.lines() {
                    println!("       {line}");
                }
            }
        }
    }
    println!(
        "{} case(s): {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Progress goes to stderr every this many records, so stdout holds only the report.
const PROGRESS_EVERY: usize = 1_000;

async fn import_file(
    config: Arc<Validated>,
    store: Store,
    what: ImportFile,
) -> anyhow::Result<ExitCode> {
    let (ImportFile::Ctf { file: path, source }
    | ImportFile::Cin { file: path, source }
    | ImportFile::File { file: path, source }) = &what;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // The digest names the file in each record's message id; the same handle is then read again.
    let digest =
        FileDigest::read(&mut file).with_context(|| format!("reading {}", path.display()))?;
    file.rewind()
        .with_context(|| format!("reading {}", path.display()))?;
    // Workers in a running hub poll their queues, so deliveries committed here reach them.
    let pipeline = Pipeline::new(config.clone(), store, Wakers::default());
    let input = BufReader::new(file);
    let progress = |noun: &'static str| {
        move |n: usize| {
            if n.is_multiple_of(PROGRESS_EVERY) {
                eprintln!("{n} {noun} read");
            }
        }
    };
    let imported = match what {
        ImportFile::Ctf { .. } => {
            import::import_ctf(&pipeline, source, digest, input, progress("pupils")).await
        }
        ImportFile::Cin { .. } => {
            import::import_cin(&pipeline, source, digest, input, progress("children")).await
        }
        ImportFile::File { .. } if import::reads_rows(&pipeline, source) => {
            import::import_extract(&pipeline, source, digest, input, progress("rows")).await
        }
        ImportFile::File { .. } => {
            let body = import::single::read_input(input, config.api.body_limit_bytes)
                .with_context(|| format!("reading {}", path.display()))?;
            return match import::import_input(&pipeline, source, digest, body).await {
                Ok(report) => {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                    Ok(match report.outcome {
                        import::single::InputStatus::Quarantined => ExitCode::from(1),
                        _ => ExitCode::SUCCESS,
                    })
                }
                Err(e) => {
                    Err(anyhow::Error::new(e).context(format!("importing {}", path.display())))
                }
            };
        }
    };
    match imported {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if let Some(report) = e.partial_report() {
                println!("{}", serde_json::to_string_pretty(report)?);
            }
            Err(anyhow::Error::new(e).context(format!("importing {}", path.display())))
        }
    }
}

async fn quarantine(
    config: Arc<Validated>,
    store: &Store,
    action: QuarantineAction,
) -> anyhow::Result<ExitCode> {
    let who = operator_name();
    match action {
        QuarantineAction::List { status, limit } => {
            let mut conn = store.pool().acquire().await?;
            let rows = store::quarantine::list(&mut conn, Some(&status), limit).await?;
            println!(
                "{:<36}  {:<25}  {:<20}  {:<10}  fields",
                "id", "received", "source", "step"
            );
            for q in rows {
                let fields: Vec<&str> = q.problems.iter().map(|p| p.field.as_str()).collect();
                println!(
                    "{:<36}  {:<25}  {:<20}  {:<10}  {}",
                    q.id,
                    q.received_at.format("%Y-%m-%d %H:%M:%S%.3f"),
                    q.source_id,
                    q.step,
                    fields.join(", ")
                );
            }
        }
        QuarantineAction::Show { id } => {
            let item = operator::show(store, &who, id).await?;
            let s = &item.summary;
            println!("id:          {}", s.id);
            println!("status:      {}", s.status);
            println!("received:    {}", s.received_at.to_rfc3339());
            println!("source:      {} (format {})", s.source_id, item.format);
            println!("step:        {}", s.step);
            for p in &s.problems {
                println!(
                    "problem:     {}: {}",
                    if p.field.is_empty() {
                        "(input)"
                    } else {
                        &p.field
                    },
                    p.reason
                );
            }
            println!("raw ({} bytes):", item.raw.body.len());
            println!("{}", String::from_utf8_lossy(&item.raw.body));
        }
        QuarantineAction::Replay { id } if is_ctf_pupil(store, id).await? => {
            anyhow::bail!(
                "quarantine item {id} is a CTF pupil (format {}), which cannot be replayed yet: the school corrects its record and sends a new file; discard this item once that is imported",
                import::CTF_PUPIL_FORMAT
            );
        }
        QuarantineAction::Replay { id } if is_cin_child(store, id).await? => {
            anyhow::bail!(
                "quarantine item {id} is a CIN census child (format {}), which cannot be replayed: the local authority corrects its record and sends a new file; discard this item once that is imported",
                import::CIN_CHILD_FORMAT
            );
        }
        QuarantineAction::Replay { id } => match operator::replay(config, store, &who, id).await? {
            InputOutcome::Committed { event_ids, .. } => {
                println!(
                    "replayed: committed {} event(s): {}",
                    event_ids.len(),
                    event_ids
                        .iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            InputOutcome::Quarantined { step, problems, .. } => {
                println!("still rejected at step {step}:");
                for p in problems {
                    println!("  {}: {}", p.field, p.reason);
                }
                return Ok(ExitCode::from(1));
            }
            InputOutcome::Unavailable { reason } => anyhow::bail!(reason),
        },
        QuarantineAction::Discard { id, reason } => {
            operator::discard(store, &who, id, &reason).await?;
            println!("discarded {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a quarantine item is a CTF pupil: its raw `<Pupil>` XML, which no normaliser reads
/// (the pupil alone lacks the file's header). Replaying one would only replace its reasons with
/// "no normaliser for this format".
async fn is_ctf_pupil(store: &Store, id: Uuid) -> anyhow::Result<bool> {
    let mut conn = store.pool().acquire().await?;
    Ok(store::quarantine::get(&mut conn, id)
        .await?
        .is_some_and(|item| item.format == import::CTF_PUPIL_FORMAT))
}

/// Whether a quarantine item is a CIN census child: its raw `<Child>` XML, which no normaliser
/// reads (see [`is_ctf_pupil`]).
async fn is_cin_child(store: &Store, id: Uuid) -> anyhow::Result<bool> {
    let mut conn = store.pool().acquire().await?;
    Ok(store::quarantine::get(&mut conn, id)
        .await?
        .is_some_and(|item| item.format == import::CIN_CHILD_FORMAT))
}

async fn operators(store: &Store, action: OperatorsAction) -> anyhow::Result<ExitCode> {
    use throughline_hub::dashboard::accounts;
    match action {
        OperatorsAction::Add { username, role } => {
            let role: accounts::Role = role.parse()?;
            let password = match std::env::var("THROUGHLINE_OPERATOR_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            accounts::add(store, &operator_name(), &username, role, &password).await?;
            println!("added operator {username} ({})", role.as_str());
        }
        OperatorsAction::List => {
            println!(
                "{:<24}  {:<9}  {:<25}  state",
                "username", "role", "created"
            );
            for o in accounts::list(store).await? {
                println!(
                    "{:<24}  {:<9}  {:<25}  {}",
                    o.username,
                    o.role,
                    o.created_at.format("%Y-%m-%d %H:%M:%S"),
                    if o.disabled { "disabled" } else { "active" }
                );
            }
        }
        OperatorsAction::Disable { username } => {
            accounts::disable(store, &operator_name(), &username).await?;
            println!("disabled operator {username}; their sessions have ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
