//! Connection state of every broker link, for `/readyz` and `/metrics`.
//!
//! Adapters expose a cheap `connected()` check; the hub registers one per source and sink at
//! start-up. Readiness is "the store answers and every broker link is up", so a load balancer
//! stops sending HTTP inputs to a hub whose store is gone, and operators see which link is down.

use std::sync::{Arc, Mutex};

type Check = Arc<dyn Fn() -> bool + Send + Sync>;

/// One broker link.
#[derive(Clone)]
pub struct Link {
    /// `amqp`, `kafka` or `mesh`.
    pub adapter: &'static str,
    /// `source` or `sink`.
    pub direction: &'static str,
    /// The source id or agency id.
    pub name: String,
    check: Check,
}

impl Link {
    pub fn connected(&self) -> bool {
        (self.check)()
    }
}

/// Every registered link; cheap to clone.
#[derive(Clone, Default)]
pub struct Links(Arc<Mutex<Vec<Link>>>);

impl Links {
    pub fn register(
        &self,
        adapter: &'static str,
        direction: &'static str,
        name: impl Into<String>,
        check: impl Fn() -> bool + Send + Sync + 'static,
    ) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(Link {
            adapter,
            direction,
            name: name.into(),
            check: Arc::new(check),
        });
    }

    pub fn all(&self) -> Vec<Link> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
