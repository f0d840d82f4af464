//! Writes a synthetic CIN census file for tests, demonstrations and manual testing.
//!
//! ```text
//! cargo run --release -p throughline-adapter-cin-census --example gen_cin -- 1000 /tmp/cin-1k.xml [corrupt_fraction]
//! ```
//!
//! Children are generated one at a time and streamed to the file, so any size can be written.

use std::process::ExitCode;

use throughline_adapter_cin_census::fixture::FixtureSpec;
use throughline_safe_xml::fixture::generator_main;

fn main() -> ExitCode {
    generator_main("gen_cin", "children", "0.02", |args, file| {
        let spec = FixtureSpec {
            corrupt_fraction: args.corrupt_fraction,
            ..FixtureSpec::new(args.count)
        };
        spec.write(file)
    })
}
