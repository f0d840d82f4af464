//! Normalise: turns a native format into canonical event submissions, through the normaliser
//! the input's format names.

pub use throughline_adapter_http_ingest::{FORMATS, normaliser_for};
use throughline_contracts::adapter::{NormaliseContext, RawInput, Rejection};
use throughline_contracts::event::EventSubmission;

pub fn normalise(
    raw: &RawInput,
    format: &str,
    ctx: &NormaliseContext,
) -> Result<Vec<EventSubmission>, Rejection> {
    let normaliser = normaliser_for(format)
        .ok_or_else(|| Rejection::one("format", "no normaliser for this format"))?;
    let submissions = normaliser.normalise(raw, ctx)?;
    if submissions.is_empty() {
        return Err(Rejection::one("", "the input holds no events"));
    }
    Ok(submissions)
}
