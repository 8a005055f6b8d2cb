//! `socle`: the binary. Parses the command line and wires the crates together; no domain logic.

mod ceiling;
mod commands;
mod output;
mod telemetry;

use std::process::ExitCode;

/// mimalloc returns freed memory to the system far better than glibc's per-thread arenas under
/// the parse-in-parallel, then-serve pattern (measured in BENCHMARKS.md); `Ceiling` adds an
/// optional limit on live bytes, used only by the Rego worker process.
#[global_allocator]
static GLOBAL: ceiling::Ceiling = ceiling::Ceiling;

/// `mi_option_purge_delay` in mimalloc v2's `mi_option_t` enum (the sys crate does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Return freed memory to the system at once (default: after 10 ms). A catalog ingest frees a
    // few hundred MB in bursts; without this the process keeps it mapped. `MIMALLOC_PURGE_DELAY`
    // in the environment still wins.
    // SAFETY: sets a documented mimalloc option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0) };
    // The child process that runs a caller's own Rego (see `socle_api::cpu`): not a command.
    let args: Vec<String> = std::env::args().take(3).collect();
    if args.get(1).map(String::as_str) == Some("__rego-worker") {
        return ceiling::rego_worker(args.get(2).map_or("", String::as_str));
    }
    match commands::run() {
        Ok(code) => code,
        // A command that fails exits 1; 2 is for usage errors only (clap exits with it itself).
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
