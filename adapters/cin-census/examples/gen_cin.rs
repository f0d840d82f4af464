//! Writes a synthetic CIN census file for tests, demonstrations and manual testing.
//!
//! ```text
//! cargo run --release -p throughline-adapter-cin-census --example gen_cin -- 1000 /tmp/cin-1k.xml [corrupt_fraction]
//! ```
//!
//! Children are generated one at a time and streamed to the file, so any size can be written.

use std::fs::File;
use std::process::ExitCode;

use throughline_adapter_cin_census::fixture::FixtureSpec;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(children), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: gen_cin <children> <path> [corrupt_fraction, e.g. 0.02]");
        return ExitCode::from(2);
    };
    let Ok(children) = children.parse::<usize>() else {
        eprintln!("children must be a whole number");
        return ExitCode::from(2);
    };
    let corrupt_fraction = match args.get(2).map(|f| f.parse::<f64>()) {
        None => 0.0,
        Some(Ok(f)) if (0.0..=1.0).contains(&f) => f,
        Some(_) => {
            eprintln!("corrupt_fraction must be a number from 0 to 1");
            return ExitCode::from(2);
        }
    };
    let spec = FixtureSpec {
        corrupt_fraction,
        ..FixtureSpec::new(children)
    };
    let written = File::create(path).and_then(|file| spec.write(file));
    match written {
        Ok(()) => {
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!("wrote {children} children ({bytes} bytes) to {path}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not write {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
