//! The global allocator, with an optional ceiling on live heap bytes.
//!
//! Off by default: the server pays one relaxed load per allocation. `socle __rego-worker` (the
//! child process that runs a caller's own Rego, see `socle_api::cpu`) turns it on first thing:
//! an allocation that would take the process past the ceiling ends it at once with exit code
//! [`socle_app::cpu::WORKER_MEMORY_EXIT`] — before the memory is asked of the system, so even a
//! single huge request (`numbers.range(0, 1e12)` reserves its whole array up front) is stopped.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct Ceiling;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Starts counting live bytes and enforcing `limit` from now on.
pub fn enforce(limit: usize) {
    LIMIT.store(limit, Ordering::SeqCst);
    ON.store(true, Ordering::SeqCst);
}

#[cold]
fn exceeded() -> ! {
    const MSG: &[u8] = b"socle: memory ceiling reached\n";
    // SAFETY: write(2) and _exit(2) with a static buffer: no allocation, no unwinding.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::_exit(socle_app::cpu::WORKER_MEMORY_EXIT)
    }
}

fn charge(size: usize) {
    if ON.load(Ordering::Relaxed) {
        let before = LIVE.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) > LIMIT.load(Ordering::Relaxed) {
            exceeded();
        }
    }
}

fn release(size: usize) {
    if ON.load(Ordering::Relaxed) {
        // Memory allocated before counting started is released without having been charged.
        let _ = LIVE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(size))
        });
    }
}

// SAFETY: every call is forwarded to mimalloc unchanged; the counters never touch the memory.
unsafe impl GlobalAlloc for Ceiling {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        release(layout.size());
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            charge(new_size - layout.size());
        } else {
            release(layout.size() - new_size);
        }
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

/// `socle __rego-worker <memory-bytes>`: reads a `socle_app::cpu::WorkerRequest` (JSON) on stdin,
/// runs it under the ceiling and writes the `WorkerResponse` on stdout.
pub fn rego_worker(memory: &str) -> std::process::ExitCode {
    use std::io::{Read, Write};
    let Ok(limit) = memory.parse::<usize>() else {
        eprintln!("usage: socle __rego-worker <memory-bytes>");
        return std::process::ExitCode::from(2);
    };
    enforce(limit);
    let mut input = Vec::new();
    if std::io::stdin().read_to_end(&mut input).is_err() {
        return std::process::ExitCode::from(2);
    }
    let Ok(req) = serde_json::from_slice::<socle_app::cpu::WorkerRequest>(&input) else {
        eprintln!("socle __rego-worker: the request is not valid JSON");
        return std::process::ExitCode::from(2);
    };
    drop(input);
    let resp = socle_app::cpu::run_request(req);
    let out = serde_json::to_vec(&resp).unwrap_or_default();
    if std::io::stdout().write_all(&out).is_err() {
        return std::process::ExitCode::from(2);
    }
    std::process::ExitCode::SUCCESS
}
