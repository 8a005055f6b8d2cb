//! `socle`: the binary. Parses the command line and wires the crates together; no domain logic.

mod bench;
mod cli;
mod output;

use std::process::ExitCode;

/// mimalloc returns freed memory to the system far better than glibc's per-thread arenas under
/// the parse-in-parallel, then-serve pattern (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
