//! CPU-heavy work (Rego evaluation, policy tests) off the async workers, a few at a time, and a
//! caller's own Rego in a child process with a memory ceiling.
//!
//! [`CpuGate`] runs a closure on the blocking pool behind a semaphore one smaller than the cores; when
//! every slot is busy and the queue is full, a request is refused at once (503) instead of piling
//! up. The async workers stay free, so `/healthz` and reads answer during a flood.
//!
//! [`RegoRunner`] decides where *caller-supplied* Rego runs (`POST /api/v1/policy/test`): a timer
//! alone does not bound memory — builtins such as `numbers.range` allocate before the timer can
//! stop them — so the server runs it in `socle __rego-worker`, a child process whose allocator
//! refuses to grow past a ceiling, killed at a deadline.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::error::{AppError, ErrorCode};

/// The exit code of a worker whose allocator hit its ceiling.
pub const WORKER_MEMORY_EXIT: i32 = 86;
/// At most this much of a worker's output is read.
const WORKER_OUTPUT_BYTES: u64 = 8 * 1024 * 1024;

/// Slots for CPU-heavy work and a bounded queue in front of them.
#[derive(Debug)]
pub struct CpuGate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    queue_timeout: Duration,
}

impl CpuGate {
    /// One slot fewer than the cores (at least one): a core is always left for the async
    /// workers — requests, probes, IO. Up to `4 ×` the cores wait, each at most 10 s.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.saturating_sub(1), cores * 4, Duration::from_secs(10))
    }

    pub fn new(slots: usize, max_waiting: usize, queue_timeout: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            queue_timeout,
        }
    }

    fn busy() -> AppError {
        AppError::new(
            ErrorCode::Busy,
            "the server is busy with other evaluations; retry in a few seconds",
        )
    }

    /// A slot, once one is free (or 503 when the queue is full or the wait too long).
    pub async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Self::busy());
        }
        let acquired =
            tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match acquired {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Self::busy()),
        }
    }

    /// Runs `f` on the blocking pool once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(AppError::internal)
    }
}

/// What a worker is asked to do.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WorkerRequest {
    /// Run the `test_*` rules of these files.
    Test { files: Vec<(String, String)> },
}

/// What a worker answers.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerResponse {
    Tests(Vec<(String, bool)>),
    /// The policies did not compile or could not run.
    PolicyError(String),
}

/// Runs a request in this process (the worker's own body, and the tests' runner).
pub fn run_request(req: WorkerRequest) -> WorkerResponse {
    match req {
        WorkerRequest::Test { files } => {
            match socle_policy::PolicySet::load(&files, "main").and_then(|s| s.run_tests(&files)) {
                Ok(results) => WorkerResponse::Tests(results),
                Err(e) => WorkerResponse::PolicyError(e.to_string()),
            }
        }
    }
}

/// Where caller-supplied Rego runs.
#[derive(Clone, Debug, Default)]
pub enum RegoRunner {
    /// In this process, on the blocking pool: time-bounded by regorus' timer only. For tests and
    /// embedding; `socle serve` uses [`RegoRunner::Worker`].
    #[default]
    InProcess,
    /// In `<exe> __rego-worker <memory_bytes>`: the child's allocator stops it past the ceiling;
    /// it is killed at the deadline.
    Worker {
        exe: PathBuf,
        memory_bytes: u64,
        timeout: Duration,
    },
}

impl RegoRunner {
    /// `socle serve`'s runner: this executable, 512 MiB, 30 s.
    pub fn this_executable() -> Option<Self> {
        Some(Self::Worker {
            exe: std::env::current_exe().ok()?,
            memory_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        })
    }

    /// Runs `req` where this runner says, behind the CPU gate.
    pub async fn run(
        &self,
        gate: &CpuGate,
        req: WorkerRequest,
    ) -> Result<WorkerResponse, AppError> {
        match self {
            Self::InProcess => gate.run(move || run_request(req)).await,
            Self::Worker {
                exe,
                memory_bytes,
                timeout,
            } => {
                // The slot is held while the child runs: it is CPU work all the same.
                let (exe, memory_bytes, timeout) = (exe.clone(), *memory_bytes, *timeout);
                gate.run(move || run_worker(&exe, memory_bytes, timeout, &req))
                    .await?
            }
        }
    }
}

fn limit_error(message: String) -> AppError {
    AppError::new(ErrorCode::PolicyLimit, message)
}

/// Runs the worker and waits for it (on a blocking thread): input written and output read by
/// two helper threads, the child polled until it exits or the deadline kills it.
fn run_worker(
    exe: &std::path::Path,
    memory_bytes: u64,
    timeout: Duration,
    req: &WorkerRequest,
) -> Result<WorkerResponse, AppError> {
    let input = serde_json::to_vec(req).map_err(AppError::internal)?;
    let mut child = std::process::Command::new(exe)
        .arg("__rego-worker")
        .arg(memory_bytes.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(AppError::internal)?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| AppError::internal("no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| AppError::internal("no stdout"))?;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(WORKER_OUTPUT_BYTES).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(AppError::internal)? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(limit_error(format!(
            "the policies ran longer than {} s and were stopped",
            timeout.as_secs()
        )));
    };
    if status.code() == Some(WORKER_MEMORY_EXIT) {
        return Err(limit_error(format!(
            "the policies needed more than {} MiB and were stopped",
            memory_bytes / (1024 * 1024)
        )));
    }
    if !status.success() {
        return Err(AppError::internal(format!(
            "the Rego worker failed: {status}"
        )));
    }
    serde_json::from_slice(&out).map_err(AppError::internal)
}
