//! A lock on the shared test broker, across test binaries and processes.
//!
//! Cargo runs test binaries one after another but the tests inside one binary in parallel, and
//! other crates' or top-level end-to-end tests may use the same RabbitMQ at the same time. Most
//! tests only need the broker to stay up, so they take the lock *shared* and run together. A
//! test that restarts the broker takes it *exclusive*, and so waits for every other test that
//! uses the broker to finish, and holds off new ones until the broker is back.
//!
//! The lock is an advisory `flock` on [`LOCK_PATH`] (`File::lock`/`lock_shared`, stable since
//! Rust 1.89), released when the guard drops or the process dies, so a crashed test never
//! leaves it held. Any test suite can join in by locking the same path the same way.

use std::fs::{File, OpenOptions};

/// The file every RabbitMQ-using test locks.
pub const LOCK_PATH: &str = "/tmp/throughline-rabbitmq.lock";

/// Held while a test uses the broker; the lock is released on drop.
#[derive(Debug)]
pub struct BrokerLock {
    _file: File,
}

impl BrokerLock {
    /// For a test that needs the broker up: runs alongside other such tests.
    pub async fn shared() -> BrokerLock {
        Self::take(false).await
    }

    /// For a test that stops or restarts the broker: waits until no other test holds the lock.
    pub async fn exclusive() -> BrokerLock {
        Self::take(true).await
    }

    async fn take(exclusive: bool) -> BrokerLock {
        let file = tokio::task::spawn_blocking(move || {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(LOCK_PATH)?;
            if exclusive {
                file.lock()?;
            } else {
                file.lock_shared()?;
            }
            Ok::<_, std::io::Error>(file)
        })
        .await
        .expect("the lock task does not panic")
        .unwrap_or_else(|e| panic!("could not lock {LOCK_PATH}: {e}"));
        BrokerLock { _file: file }
    }
}
