//! Writes a synthetic CTF 25 file for benchmarks and manual testing.
//!
//! ```text
//! cargo run --release -p throughline-adapter-ctf --example gen_ctf -- 50000 /tmp/ctf-50k.xml [corrupt_fraction]
//! ```
//!
//! Pupils are generated one at a time and streamed to the file, so any size can be written.

use std::process::ExitCode;

use throughline_adapter_ctf::fixture::FixtureSpec;
use throughline_safe_xml::fixture::generator_main;

fn main() -> ExitCode {
    generator_main("gen_ctf", "pupils", "0.03", |args, file| {
        let spec = FixtureSpec {
            corrupt_fraction: args.corrupt_fraction,
            ..FixtureSpec::new(args.count)
        };
        spec.write(file)
    })
}
