//! `socle`: the binary. Parses the command line and wires the crates together; no domain logic.

mod bench;
mod cli;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
