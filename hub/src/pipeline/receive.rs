//! Receive: the first step. Finds the configured source an input claims to come from, and runs
//! `Source` adapters (brokers, file drops) by feeding each input through the pipeline and
//! settling it with its upstream only after the outcome is durable.

use throughline_contracts::adapter::{RawInput, Source};
use throughline_contracts::event::FieldProblem;

use crate::config::{Source as SourceConfig, Validated};

use super::{Origin, Pipeline};

/// The configured source of an input.
pub fn source_of<'c>(
    config: &'c Validated,
    raw: &RawInput,
) -> Result<&'c SourceConfig, Vec<FieldProblem>> {
    config.sources.get(&raw.source_id).ok_or_else(|| {
        vec![FieldProblem::new(
            "source",
            "no source with this id is configured",
        )]
    })
}

/// Drains a source: each input is processed, then settled with the outcome. Returns when the
/// source shuts down.
pub async fn run_source(pipeline: &Pipeline, source: &mut dyn Source, format: &str) {
    while let Some(input) = source.next().await {
        let outcome = pipeline.process(&input.raw, format, Origin::Fresh).await;
        input.acknowledger.settle(&outcome).await;
    }
}
