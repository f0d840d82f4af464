//! NHS England's `mesh-sandbox` for the hub's end-to-end tests: the MESH crate's own test
//! support (its `sandbox` feature), so both suites start it the same way.

pub use throughline_adapter_mesh::sandbox::{PASSWORD, SHARED_KEY, Sandbox};
