//! [`FhirInputs`]: the hub source that polls a FHIR server, and the cursor it keeps.
//!
//! For each configured resource type the source searches
//! `{type}?_lastUpdated=ge{cursor}&_sort=_lastUpdated&_count={page_size}` and follows the
//! Bundle's `next` links to the end, then waits for the poll interval. Each matching resource
//! becomes one input: a `collection` Bundle holding the resource and its subject Patient (read
//! once per poll and cached), content type `application/fhir+json`, which the `fhir` format
//! maps. Resources that map to no event (a draft referral, an outpatient encounter: see
//! [`disposition`]) are not handed to the hub at all; they only move the cursor.
//!
//! Why `ge` and not `gt`: two resources can share a `lastUpdated` to the millisecond. With `gt`
//! the cursor would skip the second one if it was written after the first was read; with `ge`
//! both are read again next time, and the repeat is harmless because each input's message id is
//! `{type}/{id}/_history/{versionId}`, on which the hub deduplicates (and the source itself
//! skips the resources it already saw settle at the cursor).
//!
//! The cursor (per source and resource type) is the `lastUpdated` of the newest resource the
//! hub has *settled*: committed, or rejected and kept in quarantine. It moves only in order
//! (a resource settled ahead of an earlier one waits for it) and never on `Unavailable`: then
//! the source drops what it had queued for that type and searches again from the cursor at the
//! next interval. It is kept in memory and saved through [`CursorStore`] (the hub's store) each
//! time it moves, so a restart resumes where the hub left off; a failed save is logged, and the
//! worst it costs is a re-read the hub deduplicates.
//!
//! Logs carry the source id, resource types, ids and counts; never a body or a patient.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use reqwest::Url;
use serde_json::{Value, json};
use throughline_contracts::adapter::{Acknowledger, InputOutcome, RawInput, Source, SourceInput};
use tokio_util::sync::CancellationToken;

use crate::client::{FHIR_JSON, FhirClient};
use crate::config::{FhirSourceConfig, PolledResource};
use crate::error::FhirError;
use crate::mapping::{Disposition, disposition};

mod cursor;

pub use cursor::{CursorError, CursorStore, MemoryCursorStore};
use cursor::{Lane, Settled};

/// Whether a link's last request worked, for the hub's `/readyz`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LinkStatus(Arc<std::sync::atomic::AtomicBool>);

impl LinkStatus {
    pub(crate) fn new(up: bool) -> Self {
        Self(Arc::new(std::sync::atomic::AtomicBool::new(up)))
    }

    pub(crate) fn set(&self, up: bool) {
        self.0.store(up, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the last request to the server succeeded.
    pub fn connected(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One resource read from a page.
struct Entry {
    resource: Value,
    patient: Option<(String, Value)>,
    message_id: Option<String>,
    last_updated: Option<String>,
    mapped: bool,
}

/// One page read for one lane.
struct Fetched {
    lane: usize,
    generation: u64,
    entries: Vec<Entry>,
    next: Option<Url>,
}

type PageFuture = Pin<Box<dyn Future<Output = Result<Fetched, FhirError>> + Send>>;

/// An input queued for the hub.
struct Pending {
    lane: usize,
    generation: u64,
    seq: u64,
    message_id: Option<String>,
    body: Bytes,
}

/// Patients read during one poll, by id (`None`: the server has no such Patient).
type PatientCache = Arc<tokio::sync::Mutex<HashMap<String, Option<Value>>>>;

/// A hub source polling one FHIR server (see the module doc).
pub struct FhirInputs {
    source_id: String,
    client: FhirClient,
    cursors: Arc<dyn CursorStore>,
    lanes: Arc<Mutex<Vec<Lane>>>,
    page_size: u32,
    interval: std::time::Duration,
    start_from: Option<String>,
    pending: VecDeque<Pending>,
    next_poll: tokio::time::Instant,
    /// The page being read. Kept here, not in `next`'s stack, so a `next` dropped part-way
    /// (the hub only takes inputs that are ready) loses no request and no state.
    in_flight: Option<PageFuture>,
    patients: PatientCache,
    status: LinkStatus,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for FhirInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirInputs")
            .field("source_id", &self.source_id)
            .field("base_url", &self.client.base_url().as_str())
            .field("interval", &self.interval)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl FhirInputs {
    /// Validates `config`, builds the client and checks the server (its CapabilityStatement,
    /// and a first token with signed-JWT auth), so a wrong URL or credential stops start-up
    /// with an error naming it.
    pub async fn connect(
        source_id: String,
        config: &FhirSourceConfig,
        cursors: Arc<dyn CursorStore>,
    ) -> Result<Self, FhirError> {
        config.validate()?;
        let client = FhirClient::build(&config.server)?;
        client.capabilities().await?;
        tracing::info!(
            source_id = %source_id,
            base_url = %client.base_url(),
            auth = config.server.auth.kind(),
            "FHIR server answered"
        );
        Ok(Self {
            source_id,
            client,
            cursors,
            lanes: Arc::new(Mutex::new(
                config.resources.iter().copied().map(Lane::new).collect(),
            )),
            page_size: config.page_size,
            interval: config.poll_interval(),
            start_from: config
                .start_from
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            pending: VecDeque::new(),
            next_poll: tokio::time::Instant::now(),
            in_flight: None,
            patients: PatientCache::default(),
            status: LinkStatus::new(true),
            shutdown: CancellationToken::new(),
        })
    }

    /// A cheap handle on whether the last request worked, for `/readyz`.
    pub fn status_handle(&self) -> LinkStatus {
        self.status.clone()
    }

    /// A token that ends the source when cancelled: a waiting `next` returns `None`.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Vec<Lane>> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next queued input whose type has not been rewound since it was queued.
    fn pop_pending(&mut self) -> Option<Pending> {
        while let Some(p) = self.pending.pop_front() {
            if self.lanes()[p.lane].generation == p.generation {
                return Some(p);
            }
        }
        None
    }

    /// Reads the stored cursor of the first active lane that has not read it yet. Returns
    /// false if the store failed (the poll is then abandoned until the next interval).
    ///
    /// Done here, never inside the page read kept in `in_flight`: that read can sit suspended
    /// between two calls of `next` while the hub commits, and must not hold one of the store's
    /// connections meanwhile (SQLite has one).
    async fn load_cursor(&mut self) -> bool {
        let pending = {
            let lanes = self.lanes();
            lanes
                .iter()
                .position(|l| l.active && !l.loaded)
                .map(|i| (i, lanes[i].resource))
        };
        let Some((i, resource)) = pending else {
            return true;
        };
        match self.cursors.load(&self.source_id, resource.as_str()).await {
            Ok(cursor) => {
                let mut lanes = self.lanes();
                lanes[i].cursor = cursor;
                lanes[i].loaded = true;
                true
            }
            Err(error) => {
                for lane in self.lanes().iter_mut() {
                    lane.active = false;
                }
                tracing::warn!(
                    source_id = %self.source_id,
                    resource = %resource,
                    error = %error,
                    "FHIR cursor could not be read; polling again at the next interval"
                );
                false
            }
        }
    }

    /// The next page to read, if this poll has one: a lane's first search or its `next` link.
    fn next_request(&mut self) -> Option<PageFuture> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let (i, lane) = lanes.iter_mut().enumerate().find(|(_, l)| l.active)?;
        let url = if lane.started {
            match lane.next_page.take() {
                Some(url) => Some(url),
                None => {
                    lane.active = false;
                    return None;
                }
            }
        } else {
            None
        };
        let job = PageJob {
            lane: i,
            generation: lane.generation,
            resource: lane.resource,
            url,
            cursor: lane.cursor.clone(),
            settled: Settled {
                cursor: lane.cursor.clone(),
                at_cursor: lane.at_cursor.clone(),
            },
            start_from: self.start_from.clone(),
            page_size: self.page_size,
            client: self.client.clone(),
            patients: self.patients.clone(),
        };
        Some(Box::pin(job.run()))
    }

    /// Starts a poll: every lane searches again from its cursor; Patients are read afresh.
    fn start_poll(&mut self) {
        for lane in self.lanes().iter_mut() {
            lane.active = true;
            lane.started = false;
            lane.next_page = None;
        }
        self.patients = PatientCache::default();
        self.next_poll = tokio::time::Instant::now() + self.interval;
    }

    /// Takes a page read: queues its mapped resources, passes the cursor over the others.
    async fn apply(&mut self, fetched: Fetched) {
        let base = self.client.base_url().clone();
        let mut advanced = None;
        {
            let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
            let lane = &mut lanes[fetched.lane];
            if lane.generation != fetched.generation {
                return;
            }
            lane.started = true;
            lane.next_page = fetched.next;
            let (mut queued, mut skipped) = (0usize, 0usize);
            for entry in fetched.entries {
                if lane.seen(entry.last_updated.as_deref(), entry.message_id.as_deref()) {
                    continue;
                }
                let seq = lane.push(
                    entry.last_updated.clone(),
                    entry.message_id.clone(),
                    !entry.mapped,
                );
                if !entry.mapped {
                    skipped += 1;
                    continue;
                }
                queued += 1;
                self.pending.push_back(Pending {
                    lane: fetched.lane,
                    generation: lane.generation,
                    seq,
                    message_id: entry.message_id,
                    body: input_body(&base, lane.resource, entry.resource, entry.patient),
                });
            }
            tracing::debug!(
                source_id = %self.source_id,
                resource = %lane.resource,
                queued,
                skipped,
                more = lane.next_page.is_some(),
                "FHIR search page read"
            );
            if let Some(cursor) = lane.fold() {
                advanced = Some((lane.resource, cursor));
            }
        }
        if let Some((resource, cursor)) = advanced {
            save(&*self.cursors, &self.source_id, resource, &cursor).await;
        }
    }

    fn input(&self, p: Pending) -> SourceInput {
        SourceInput {
            raw: RawInput {
                source_id: self.source_id.clone(),
                content_type: Some(FHIR_JSON.to_owned()),
                body: p.body,
                received_at: Utc::now(),
                message_id: p.message_id.clone(),
            },
            acknowledger: Box::new(FhirAcknowledger {
                source_id: self.source_id.clone(),
                lanes: self.lanes.clone(),
                cursors: self.cursors.clone(),
                lane: p.lane,
                generation: p.generation,
                seq: p.seq,
                message_id: p.message_id,
            }),
        }
    }
}

#[async_trait]
impl Source for FhirInputs {
    async fn next(&mut self) -> Option<SourceInput> {
        loop {
            if self.shutdown.is_cancelled() {
                return None;
            }
            if let Some(p) = self.pop_pending() {
                return Some(self.input(p));
            }
            if self.in_flight.is_none() {
                if !self.load_cursor().await {
                    continue;
                }
                self.in_flight = self.next_request();
            }
            let shutdown = self.shutdown.clone();
            let Some(page) = self.in_flight.as_mut() else {
                if self.lanes().iter().any(|l| l.active) {
                    continue;
                }
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep_until(self.next_poll) => {}
                }
                self.start_poll();
                continue;
            };
            let result = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return None,
                r = page => r,
            };
            self.in_flight = None;
            match result {
                Ok(fetched) => {
                    self.status.set(true);
                    self.apply(fetched).await;
                }
                Err(error) => {
                    // A refusal means the server answered; only a transport failure is "down".
                    self.status
                        .set(!matches!(error, FhirError::Transport { .. }));
                    for lane in self.lanes().iter_mut() {
                        lane.active = false;
                    }
                    tracing::warn!(
                        source_id = %self.source_id,
                        error = %error,
                        retriable = error.is_retriable(),
                        "FHIR poll failed; searching again from the cursor at the next interval"
                    );
                }
            }
        }
    }
}

/// Everything one page read needs, owned, so the read can outlive one call of `next`.
struct PageJob {
    lane: usize,
    generation: u64,
    resource: PolledResource,
    /// A `next` link; `None` for the lane's first search of this poll.
    url: Option<Url>,
    /// Where the lane's first search starts.
    cursor: Option<String>,
    settled: Settled,
    start_from: Option<String>,
    page_size: u32,
    client: FhirClient,
    patients: PatientCache,
}

impl PageJob {
    async fn run(mut self) -> Result<Fetched, FhirError> {
        let ty = self.resource.as_str();
        let url = match self.url.take() {
            Some(url) => url,
            None => {
                let cursor = self.cursor.take();
                let mut url = self.client.url(&[ty]);
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(from) = cursor.or_else(|| self.start_from.clone()) {
                        q.append_pair("_lastUpdated", &format!("ge{from}"));
                    }
                    q.append_pair("_sort", "_lastUpdated");
                    q.append_pair("_count", &self.page_size.to_string());
                }
                url
            }
        };
        let page = self.client.search_page(url).await?;
        let mut entries = Vec::with_capacity(page.matches.len());
        for resource in page.matches {
            if resource.get("resourceType").and_then(Value::as_str) != Some(ty) {
                continue;
            }
            let meta = resource.get("meta");
            let last_updated = meta
                .and_then(|m| m.get("lastUpdated"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let id = resource.get("id").and_then(Value::as_str);
            let version = meta
                .and_then(|m| m.get("versionId"))
                .and_then(Value::as_str)
                .or(last_updated.as_deref());
            let message_id = match (id, version) {
                (Some(id), Some(v)) => Some(format!("{ty}/{id}/_history/{v}")),
                _ => None,
            };
            if self
                .settled
                .contains(last_updated.as_deref(), message_id.as_deref())
            {
                continue;
            }
            let mapped = disposition(&resource) == Disposition::Events;
            let patient = if mapped {
                self.patient_of(&resource, &page.included).await?
            } else {
                None
            };
            entries.push(Entry {
                resource,
                patient,
                message_id,
                last_updated,
                mapped,
            });
        }
        Ok(Fetched {
            lane: self.lane,
            generation: self.generation,
            entries,
            next: page.next,
        })
    }

    /// The Patient a resource is about, when it references one on this server: from the page's
    /// `_include`s, the poll's cache, or a read. `None` when it names the patient only by
    /// identifier, points elsewhere, or the server has no such Patient (the mapping then
    /// rejects the input, naming the field).
    async fn patient_of(
        &self,
        resource: &Value,
        included: &[Value],
    ) -> Result<Option<(String, Value)>, FhirError> {
        let field = if self.resource == PolledResource::EpisodeOfCare {
            "patient"
        } else {
            "subject"
        };
        let Some(reference) = resource
            .get(field)
            .and_then(|r| r.get("reference"))
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let Some(id) = local_patient_id(reference, self.client.base_url()) else {
            return Ok(None);
        };
        if let Some(p) = included.iter().find(|p| {
            p.get("resourceType").and_then(Value::as_str) == Some("Patient")
                && p.get("id").and_then(Value::as_str) == Some(id.as_str())
        }) {
            return Ok(Some((id, p.clone())));
        }
        let mut cache = self.patients.lock().await;
        if let Some(known) = cache.get(&id) {
            return Ok(known.clone().map(|p| (id, p)));
        }
        let read = self.client.read("Patient", &id).await?;
        cache.insert(id.clone(), read.clone());
        Ok(read.map(|p| (id, p)))
    }
}

/// The Patient id a reference names on the server at `base`: `Patient/{id}`, or
/// `{base}/Patient/{id}` (a version suffix ignored). Ids are FHIR ids: 1 to 64 of
/// `A-Za-z0-9-.`.
fn local_patient_id(reference: &str, base: &Url) -> Option<String> {
    let base = base.as_str().trim_end_matches('/');
    let relative = reference
        .strip_prefix(base)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(reference);
    let mut parts = relative.split('/');
    let (ty, id) = (parts.next()?, parts.next()?);
    let rest: Vec<&str> = parts.collect();
    let valid_id = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (ty == "Patient" && valid_id && (rest.is_empty() || rest.len() == 2 && rest[0] == "_history"))
        .then(|| id.to_owned())
}

/// The input handed to the hub: a `collection` Bundle of the resource and its Patient, with
/// the server's URLs as `fullUrl`s so the resource's `Patient/{id}` reference resolves.
fn input_body(
    base: &Url,
    resource: PolledResource,
    value: Value,
    patient: Option<(String, Value)>,
) -> Bytes {
    let base = base.as_str().trim_end_matches('/');
    let id = value.get("id").and_then(Value::as_str).unwrap_or("");
    let mut entry =
        vec![json!({ "fullUrl": format!("{base}/{resource}/{id}"), "resource": value })];
    if let Some((pid, p)) = patient {
        entry.push(json!({ "fullUrl": format!("{base}/Patient/{pid}"), "resource": p }));
    }
    Bytes::from(
        json!({ "resourceType": "Bundle", "type": "collection", "entry": entry }).to_string(),
    )
}

async fn save(cursors: &dyn CursorStore, source_id: &str, resource: PolledResource, cursor: &str) {
    match cursors.save(source_id, resource.as_str(), cursor).await {
        Ok(()) => tracing::debug!(
            source_id = %source_id,
            resource = %resource,
            cursor = %cursor,
            "FHIR cursor moved"
        ),
        Err(error) => tracing::warn!(
            source_id = %source_id,
            resource = %resource,
            error = %error,
            "FHIR cursor not saved; a restart reads again from the last saved cursor and the hub deduplicates"
        ),
    }
}

/// Settles one polled resource: moves its type's cursor once the hub has kept it.
struct FhirAcknowledger {
    source_id: String,
    lanes: Arc<Mutex<Vec<Lane>>>,
    cursors: Arc<dyn CursorStore>,
    lane: usize,
    generation: u64,
    seq: u64,
    message_id: Option<String>,
}

#[async_trait]
impl Acknowledger for FhirAcknowledger {
    async fn settle(self: Box<Self>, outcome: &InputOutcome) {
        let advanced = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
            let lane = &mut lanes[self.lane];
            if lane.generation != self.generation {
                return;
            }
            match outcome {
                InputOutcome::Committed { .. } | InputOutcome::Quarantined { .. } => {
                    if let Some(slot) = lane.window.iter_mut().find(|s| s.seq == self.seq) {
                        slot.settled = true;
                    }
                    lane.fold().map(|c| (lane.resource, c))
                }
                InputOutcome::Unavailable { reason } => {
                    tracing::warn!(
                        source_id = %self.source_id,
                        resource = %lane.resource,
                        message_id = self.message_id.as_deref().unwrap_or("-"),
                        reason = %reason,
                        "hub unavailable; the cursor stays, and this type is searched again from it at the next interval"
                    );
                    lane.rewind();
                    None
                }
            }
        };
        if let Some((resource, cursor)) = advanced {
            save(&*self.cursors, &self.source_id, resource, &cursor).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_references_on_this_server_are_recognised() {
        let base: Url = "http://127.0.0.1:9/fhir/R4".parse().unwrap();
        assert_eq!(
            local_patient_id("Patient/p-1", &base).as_deref(),
            Some("p-1")
        );
        assert_eq!(
            local_patient_id("http://127.0.0.1:9/fhir/R4/Patient/p1/_history/2", &base).as_deref(),
            Some("p1")
        );
        assert_eq!(
            local_patient_id("https://other.example/Patient/p1", &base),
            None
        );
        assert_eq!(local_patient_id("Group/g1", &base), None);
        assert_eq!(local_patient_id("Patient/../../x", &base), None);
        assert_eq!(local_patient_id("urn:uuid:1234", &base), None);
    }

    #[test]
    fn an_input_is_the_resource_and_its_patient_with_server_full_urls() {
        let base: Url = "http://127.0.0.1:9/fhir/R4".parse().unwrap();
        let body = input_body(
            &base,
            PolledResource::Flag,
            json!({"resourceType": "Flag", "id": "f1"}),
            Some(("p1".into(), json!({"resourceType": "Patient", "id": "p1"}))),
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "collection");
        assert_eq!(
            v["entry"][0]["fullUrl"],
            "http://127.0.0.1:9/fhir/R4/Flag/f1"
        );
        assert_eq!(
            v["entry"][1]["fullUrl"],
            "http://127.0.0.1:9/fhir/R4/Patient/p1"
        );
    }
}
