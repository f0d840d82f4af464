//! Log set-up: human or JSON lines on stdout, filtered by config (`RUST_LOG` overrides).
//!
//! No log line in this crate carries child data: they name events, deliveries, agencies and
//! sources by id. The end-to-end suite checks that by scanning a whole run's output.

use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat};
use crate::telemetry::{self, Telemetry};

/// fhir-sdk (under the FHIR adapter) logs every request's URL at `info`, and a FHIR server may
/// use NHS numbers as Patient ids (NHS England's PDS does), so those URLs can be child data. It
/// logs nothing above `info`: capped at `warn` unless the filter names it.
const QUIET_FHIR_SDK: &str = "fhir_sdk=warn";

/// Installs the log lines and, when `[telemetry]` exports traces, the layer that exports the
/// hub's spans. Trace spans never appear in log lines (the lines stay as they were).
pub fn init(config: &LogConfig, traces: &Telemetry) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    let named = std::env::var("RUST_LOG")
        .unwrap_or_default()
        .contains("fhir_sdk")
        || config.level.contains("fhir_sdk");
    let filter = if named {
        filter
    } else {
        filter.add_directive(QUIET_FHIR_SDK.parse().expect("a valid directive"))
    };
    let lines = match config.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_target(false)
            .boxed(),
        LogFormat::Human => tracing_subscriber::fmt::layer().with_target(false).boxed(),
    };
    let lines = lines.with_filter(filter.and(filter_fn(|m| m.target() != telemetry::TARGET)));
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(traces.layer())
        .try_init();
}
