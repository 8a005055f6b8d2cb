//! A real Prometheus for tests and benchmarks: history written as OpenMetrics is backfilled
//! with `promtool tsdb create-blocks-from openmetrics`, and the `prometheus` binary (Debian's
//! `prometheus` package) serves it on a free loopback port.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The `prometheus` and `promtool` binaries, if installed. Without them this is `None`, unless
/// SOCLE_REQUIRE_PROMETHEUS is set (CI), where it panics.
pub fn binaries() -> Option<(String, String)> {
    let found = |b: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {b}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match (found("prometheus"), found("promtool")) {
        (Some(p), Some(t)) => Some((p, t)),
        _ => {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_PROMETHEUS").is_none(),
                "prometheus and promtool are required (Debian package prometheus)"
            );
            None
        }
    }
}

/// A running Prometheus (stopped when dropped).
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Errors starting Prometheus.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl Prometheus {
    /// Backfills `openmetrics` (ending with `# EOF`) into a TSDB under `dir` and starts
    /// `prometheus` on it. It may not answer yet: poll it before use.
    pub fn start(
        (prometheus, promtool): &(String, String),
        openmetrics: &str,
        dir: &Path,
    ) -> Result<Self, StartError> {
        let io = |e: std::io::Error| StartError(e.to_string());
        let om = dir.join("history.om");
        std::fs::write(&om, openmetrics).map_err(io)?;
        let data = dir.join("data");
        let out = Command::new(promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&data)
            .output()
            .map_err(io)?;
        if !out.status.success() {
            return Err(StartError(format!(
                "promtool: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").map_err(io)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io)?
            .port();
        let child = Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io)?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}
