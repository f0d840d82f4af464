//! Receive: the first step. Finds the configured source an input claims to come from, and runs
//! `Source` adapters (brokers, file drops) by feeding each input through the pipeline and
//! settling it with its upstream only after the outcome is durable.

use throughline_contracts::adapter::{RawInput, Source};
use throughline_contracts::event::FieldProblem;

use crate::config::{Source as SourceConfig, Validated};

use super::Pipeline;

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

/// The most inputs committed together; a broker source's prefetch bounds it too.
const MAX_GROUP: usize = 64;

/// Drains a source. Inputs already waiting are taken together (up to [`MAX_GROUP`]) and
/// committed in one transaction; then each is settled with its upstream, in order. Returns when
/// the source shuts down.
pub async fn run_source(pipeline: &Pipeline, source: &mut dyn Source, format: &str) {
    use futures_util::FutureExt;
    while let Some(first) = source.next().await {
        let mut inputs = vec![first];
        while inputs.len() < MAX_GROUP {
            // Only what is ready now: a group never waits for more input.
            match source.next().now_or_never() {
                Some(Some(input)) => inputs.push(input),
                _ => break,
            }
        }
        let raws: Vec<_> = inputs.iter().map(|i| i.raw.clone()).collect();
        let outcomes = pipeline.process_batch(&raws, format).await;
        for (input, outcome) in inputs.into_iter().zip(outcomes) {
            input.acknowledger.settle(&outcome).await;
        }
    }
}
