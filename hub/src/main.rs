//! The `throughline` binary: `run`, `check-config` and the operator commands.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
