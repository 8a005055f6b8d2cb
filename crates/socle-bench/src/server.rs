//! The server under test runs as a child process (`socle serve` on a free loopback port, over a
//! store the benchmark prepared), and HTTP load comes from outside it: `wrk`, or this process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The `socle` binary: `--socle PATH`, else the one next to this executable.
pub fn socle_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        anyhow::ensure!(p.is_file(), "--socle {}: no such file", p.display());
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe()?;
    let next = exe.with_file_name("socle");
    if next.is_file() {
        return Ok(next);
    }
    bail!(
        "no socle binary next to {}: build it first (`cargo build --release -p socle`) or pass --socle PATH",
        exe.display()
    )
}

/// Where the store is, as `socle serve` and `socle dora import` take it.
pub struct StoreLocation {
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (with the benchmark's schema as `search_path`).
    pub database_url: Option<String>,
    /// PostgreSQL: the schema of this store.
    schema: String,
}

impl StoreLocation {
    /// The store the benchmark opens in-process, and the same one for a child `socle`.
    pub fn new(data_dir: PathBuf, database_url: Option<&str>) -> Self {
        let schema = pg_schema();
        let database_url = database_url.map(|url| {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}options=-c%20search_path%3D{schema}")
        });
        Self {
            data_dir,
            database_url,
            schema,
        }
    }

    pub fn config(&self) -> socle_store::StoreConfig {
        let mut config = socle_store::StoreConfig::new(&self.data_dir, self.database_url.clone());
        if self.database_url.is_some() {
            config.pg_schema = Some(self.schema.clone());
        }
        config
    }

    /// `--data-dir … [--database-url …]`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.data_dir.to_string_lossy().into_owned(),
        ];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }
}

/// PostgreSQL: a schema of each store's own (left behind).
fn pg_schema() -> String {
    static STORES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("socle_bench_{}_{n}", std::process::id())
}

/// `socle serve` as a child process; stopped (SIGINT, then killed) when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

/// What one `socle serve` child gets beyond the store: a name (its log is `<name>.log`), more
/// flags and environment variables.
#[derive(Default)]
pub struct ServerExtras {
    pub name: Option<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Server {
    /// Starts `socle serve` over `store` and waits until `/healthz` answers.
    pub fn start(socle: &Path, store: &StoreLocation, work: &Path) -> anyhow::Result<Self> {
        Self::start_with(socle, store, work, &ServerExtras::default())
    }

    /// [`Server::start`] with `extras`: several servers (replicas) over one store.
    pub fn start_with(
        socle: &Path,
        store: &StoreLocation,
        work: &Path,
        extras: &ServerExtras,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = work.join(format!(
            "{}.log",
            extras.name.as_deref().unwrap_or("server")
        ));
        let child = Command::new(socle)
            .args(["--log", "warn", "serve"])
            .args(store.args())
            .args(["--listen", &addr.to_string(), "--refresh-interval", "0"])
            .args(&extras.args)
            .envs(extras.env.iter().map(|(k, v)| (k, v)))
            .env_remove("SOCLE_DATABASE_URL")
            .env_remove("SOCLE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start {}", socle.display()))?;
        let mut server = Self { child, addr, log };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("socle serve exited ({status}):\n{}", server.log_text());
            }
            if matches!(get(addr, "/healthz", &[]), Ok((200, _))) {
                break;
            }
            if started.elapsed() > Duration::from_secs(300) {
                bail!(
                    "socle serve did not answer in 300 s:\n{}",
                    server.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "socle serve (pid {}) is up on http://{addr} after {:.1} s",
            server.pid(),
            started.elapsed().as_secs_f64()
        );
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident set (`VmHWM`), in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        status_mb(&format!("/proc/{}/status", self.pid()), "VmHWM:")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signals our own child process, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A memory figure from a `/proc/<pid>/status` file, in MB (`VmRSS:`, `VmHWM:`).
pub fn status_mb(file: &str, field: &str) -> f64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// One blocking GET on a fresh connection: the status and the body.
pub fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    // HTTP/1.0: the body comes unchunked, so its size is the page's.
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: bench\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = raw[head_end + 4..].to_vec();
    Ok((status, body))
}

/// What `wrk` measured for one list of paths.
#[derive(Serialize)]
pub struct Load {
    pub requests: usize,
    pub errors: usize,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Deserialize)]
struct WrkOut {
    requests: usize,
    duration_us: f64,
    socket_errors: usize,
    status_errors: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

/// Loads `addr` with `wrk` (one thread, `connections` kept-alive connections) sending GETs of
/// `paths` in turn until about `requests` responses have arrived (those in flight then count too).
pub fn wrk(
    addr: SocketAddr,
    paths: &[String],
    headers: &[(&str, &str)],
    requests: usize,
    connections: usize,
) -> anyhow::Result<Load> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("load.lua");
    std::fs::write(&script, include_str!("load.lua"))?;
    let list = dir.path().join("paths");
    std::fs::write(&list, paths.join("\n") + "\n")?;
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c", &connections.max(1).to_string(), "-d", "3600s"])
        .args(["--timeout", "60s", "-s"])
        .arg(&script);
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    cmd.arg(format!("http://{addr}"))
        .arg("--")
        .arg(requests.max(1).to_string())
        .arg(&list);
    let out = match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("wrk is not installed (Debian: apt-get install wrk)")
        }
        r => r.context("cannot run wrk")?,
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        bail!(
            "wrk failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let w: WrkOut = serde_json::from_str(line).context("wrk's summary")?;
    Ok(Load {
        requests: w.requests,
        errors: w.socket_errors + w.status_errors,
        requests_per_second: w.requests as f64 / (w.duration_us / 1e6),
        p50_ms: w.p50_us / 1000.0,
        p99_ms: w.p99_us / 1000.0,
        max_ms: w.max_us / 1000.0,
    })
}
