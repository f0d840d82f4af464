//! Streaming: a generated file is read from disk through a `BufReader`, one pupil at a time,
//! without the file ever being held in memory (by the generator or the reader).

mod support;

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use support::*;
use throughline_adapter_ctf::fixture::FixtureSpec;
use throughline_adapter_ctf::{CtfLimits, CtfReader, PupilOutcome};

/// Generates `pupils` pupils (1% corrupted) into a temporary file, reads it back and checks the
/// count, the rejections and that each pupil was held alone.
fn stream(pupils: usize) {
    let spec = FixtureSpec {
        corrupt_fraction: 0.01,
        ..FixtureSpec::new(pupils)
    };
    let file = tempfile::NamedTempFile::new().unwrap();
    spec.write(file.reopen().unwrap()).unwrap();
    let bytes = file.as_file().metadata().unwrap().len();

    let started = Instant::now();
    let input = BufReader::new(File::open(file.path()).unwrap());
    let mut reader = CtfReader::new(input, CtfLimits::default(), ctx()).unwrap();
    let mut read = 0;
    let mut rejected = 0;
    let mut largest_raw = 0;
    for outcome in reader.by_ref() {
        let outcome = outcome.unwrap();
        assert_eq!(outcome.index(), read);
        largest_raw = largest_raw.max(outcome.raw().len());
        if let PupilOutcome::Rejected { .. } = outcome {
            rejected += 1;
        }
        read += 1;
    }
    let elapsed = started.elapsed();
    eprintln!(
        "read {read} pupils ({bytes} bytes) in {elapsed:?}; largest pupil {largest_raw} bytes"
    );

    assert_eq!(read, pupils);
    assert_eq!(rejected, pupils / 100);
    let report = reader.into_report();
    assert_eq!(report.pupils, pupils);
    assert_eq!(report.rejected.len(), rejected);
    // Each pupil is held alone: a few kilobytes, against a file a thousand times larger.
    assert!(largest_raw < 8 * 1024, "{largest_raw}");
    assert!(bytes > 1000 * largest_raw as u64, "{bytes}");
}

#[test]
fn reads_5_000_pupils_from_a_file_one_at_a_time() {
    stream(5_000);
}

/// The benchmark-sized file: 50,000 pupils, about 97 MB. Ignored by default because a debug
/// build takes about 11 s to read it (a release build about 1.2 s on a 2-core machine). Run it
/// with `cargo test --release -p throughline-adapter-ctf --test streaming -- --ignored --nocapture`.
#[test]
#[ignore = "slow in debug builds; run in release (see the doc comment)"]
fn reads_50_000_pupils_from_a_file_one_at_a_time() {
    stream(50_000);
}
