//! Log set-up: human or JSON lines on stdout, filtered by config (`RUST_LOG` overrides).
//!
//! No log line in this crate carries child data: they name events, deliveries, agencies and
//! sources by id. The end-to-end suite checks that by scanning a whole run's output.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}
