//! Importing a large Common Transfer File: time, and the process's peak memory, for a file of
//! `BENCH_PUPILS` pupils (default 50,000; 3% corrupted) imported through the real pipeline into
//! SQLite (the embedded default). The file is generated to disk first and streamed from there,
//! so the peak shows whether the import holds the file in memory (it must not).
//!
//! `cargo bench -p throughline-hub --bench ctf_import`; `cargo test` runs 300 pupils.
//! Peak memory is the process's VmHWM from /proc (Linux).

use std::io::BufReader;
use std::sync::Arc;
use std::time::Instant;

use throughline_adapter_ctf::fixture::{FixtureDestination, FixtureSpec};
use throughline_hub::config;
use throughline_hub::deliver::Wakers;
use throughline_hub::import::{self, FileDigest};
use throughline_hub::pipeline::Pipeline;
use throughline_hub::store::Store;

/// Peak resident memory of this process so far, in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let pupils: usize = std::env::var("BENCH_PUPILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 50_000 } else { 300 });
    let dir = tempfile::tempdir().unwrap();

    let spec = FixtureSpec {
        corrupt_fraction: 0.03,
        ..FixtureSpec::new(pupils)
    };
    let path = dir.path().join("ctf.xml");
    spec.write(std::io::BufWriter::new(
        std::fs::File::create(&path).unwrap(),
    ))
    .unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();

    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a-benchmark-secret-0123456789").unwrap();
    let text = format!(
        r#"
[store]
url = "sqlite://{db}"
[[agencies]]
id = "sending-school"
role = "school"
school_urns = ["{from}"]
[[agencies]]
id = "receiving-school"
role = "school"
school_urns = ["{to}"]
sink = {{ type = "webhook", url = "http://127.0.0.1:9/none", secret = "${{file:{secret}}}" }}
[[sources]]
id = "sending-mis"
agency = "sending-school"
system = "sims"
api_key = "${{file:{secret}}}"
[[routes]]
kinds = ["*"]
roles = ["school"]
[[sharing_agreements]]
id = "isa-transfer"
agency = "receiving-school"
kinds = ["*"]
fields = ["subject.identifiers.upn", "payload.*"]
"#,
        db = dir.path().join("hub.db").display(),
        from = spec.source.urn.clone().unwrap_or_default(),
        to = match &spec.destination {
            FixtureDestination::School(s) => s.urn.clone().unwrap_or_default(),
            _ => String::new(),
        },
        secret = secret.display(),
    );
    let cfg = Arc::new(config::load_str(&dir.path().join("hub.toml"), &text).unwrap());
    let store = Store::connect(&cfg.store.url).await.unwrap();
    let pipeline = Pipeline::new(
        cfg.clone(),
        store,
        Wakers::for_agencies(cfg.agencies.keys()),
    );

    let before = peak_rss_mib();
    let started = Instant::now();
    let digest = FileDigest::read(std::fs::File::open(&path).unwrap()).unwrap();
    let file = BufReader::new(std::fs::File::open(&path).unwrap());
    let report = import::import_ctf(&pipeline, "sending-mis", digest, file, |_| {})
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let again = Instant::now();
    let file = BufReader::new(std::fs::File::open(&path).unwrap());
    let second = import::import_ctf(&pipeline, "sending-mis", digest, file, |_| {})
        .await
        .unwrap();
    let reimport = again.elapsed();

    println!(
        "ctf_import: pupils={} file={:.1} MB committed={} quarantined={} events={}",
        report.records,
        bytes as f64 / 1e6,
        report.committed,
        report.quarantined.len(),
        report.events
    );
    println!(
        "  import {:.1} s ({:.0} pupils/s); re-import of the same file {:.1} s ({} duplicates)",
        elapsed.as_secs_f64(),
        report.records as f64 / elapsed.as_secs_f64(),
        reimport.as_secs_f64(),
        second.duplicates
    );
    println!(
        "  peak RSS of the whole process {:.1} MiB (before the import {:.1} MiB)",
        peak_rss_mib(),
        before
    );
    assert_eq!(report.records, pupils);
    assert_eq!(report.quarantined.len(), (pupils as f64 * 0.03) as usize);
    assert_eq!(second.committed, 0, "a re-import commits nothing");
}
