//! The single sign-on part of `socle-bench replicas`: the real `oidc-provider` (npm, certified)
//! of `e2e/oidc/provider.mjs` started as a child process, both replicas configured for it, and
//! sign-ins begun on one replica and finished on the other. Timed: Socle's `/auth/oidc/start`
//! (discovery cached, the login row written) and `/auth/oidc/callback` (the login row taken, the
//! code redeemed at the provider's token endpoint, the ID token checked, the User resolved, the
//! session written, audited), each from the request sent to the answer received over loopback.
//! The person's steps at the provider (its login form) are not Socle's time and are not counted.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::replicas::percentile;
use crate::server::Server;

/// Where the provider sends the person back; the benchmark carries the answer to a replica.
const REDIRECT: &str = "http://127.0.0.1:9/auth/oidc/callback";
/// A User of the generated organisation (`socle_demo::generate` makes `user-0`).
const LOGIN: &str = "user-0";
const EMAIL: &str = "user-0@example.com";

/// The provider child process; killed on drop.
pub struct Provider {
    child: Child,
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    issuer: String,
    addr: SocketAddr,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider from `e2e`, or None when no rounds are asked for or `npm ci` was not
/// run there (the report says why).
pub fn provider(e2e: &Path, rounds: usize) -> anyhow::Result<Option<Provider>> {
    if rounds == 0 || !e2e.join("node_modules/oidc-provider").is_dir() {
        return Ok(None);
    }
    let config = serde_json::json!({
        "clients": [{"client_id": "socle", "client_secret": "socle-secret", "redirect_uris": [REDIRECT]}],
        "accounts": {LOGIN: {"email": EMAIL, "groups": []}},
    });
    let mut child = Command::new("node")
        .arg("oidc/provider.mjs")
        .current_dir(e2e)
        .env("OIDC_TEST_CONFIG", config.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run node (Debian: apt-get install nodejs)")?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().context("stdout")?);
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let v: serde_json::Value =
        serde_json::from_str(&line).with_context(|| format!("the provider said {line:?}"))?;
    let issuer = v["issuer"].as_str().context("the issuer")?.to_owned();
    let addr = issuer.trim_start_matches("http://").parse()?;
    eprintln!("oidc-provider is up at {issuer}");
    Ok(Some(Provider {
        child,
        _stdout: stdout,
        issuer,
        addr,
    }))
}

impl Provider {
    /// `socle serve`'s flags for this provider.
    pub fn serve_args(&self) -> Vec<String> {
        [
            "--oidc-issuer",
            &self.issuer,
            "--oidc-client-id",
            "socle",
            "--oidc-redirect-url",
            REDIRECT,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// The client secret, as a variable (never a flag).
    pub fn serve_env(&self) -> Vec<(String, String)> {
        vec![("SOCLE_OIDC_CLIENT_SECRET".into(), "socle-secret".into())]
    }

    /// The person at the provider: from the authorization URL through its login form (any
    /// password) to the redirect back; returns that redirect's path and query.
    async fn log_in(&self, authorize_url: &str) -> anyhow::Result<String> {
        let mut jar: BTreeMap<String, String> = BTreeMap::new();
        let mut url = authorize_url.to_owned();
        let mut logged_in = false;
        for _ in 0..10 {
            let path = url.strip_prefix(&self.issuer).unwrap_or(&url).to_owned();
            let cookie = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let host = self.issuer.trim_start_matches("http://");
            let mut h = vec![("host", host)];
            if !cookie.is_empty() {
                h.push(("cookie", cookie.as_str()));
            }
            let (method, body) = if url.contains("/interaction/") && !logged_in {
                logged_in = true;
                h.push(("content-type", "application/x-www-form-urlencoded"));
                ("POST", format!("prompt=login&login={LOGIN}&password=any"))
            } else {
                ("GET", String::new())
            };
            let r = socle_testkit::request(self.addr, method, &path, &h, body.into_bytes()).await;
            for v in r.headers.get_all("set-cookie") {
                let v = v.to_str().unwrap_or_default();
                let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
                if let Some((k, val)) = kv.split_once('=') {
                    if val.is_empty() || attrs.contains("expires=Thu, 01 Jan 1970") {
                        jar.remove(k);
                    } else {
                        jar.insert(k.to_owned(), val.to_owned());
                    }
                }
            }
            let Some(loc) = r.headers.get("location").and_then(|l| l.to_str().ok()) else {
                bail!("the provider stopped at {url}: {} {}", r.status, r.body);
            };
            if let Some(back) = loc.strip_prefix("http://127.0.0.1:9") {
                return Ok(back.to_owned());
            }
            url = if loc.starts_with('/') {
                format!("{}{loc}", self.issuer)
            } else {
                loc.to_owned()
            };
        }
        bail!("too many redirects at the provider")
    }
}

/// The sign-in figures (or why there are none).
#[derive(Serialize)]
pub struct SignIns {
    pub rounds: usize,
    pub start_p50_ms: f64,
    pub start_p99_ms: f64,
    pub callback_p50_ms: f64,
    pub callback_p99_ms: f64,
    pub skipped: Option<String>,
}

impl SignIns {
    pub fn skipped(e2e: &Path, rounds: usize) -> Self {
        let why = if rounds == 0 {
            "--sign-ins 0".to_owned()
        } else {
            format!(
                "no oidc-provider in {}: run `npm ci` there, or pass --e2e DIR",
                e2e.display()
            )
        };
        Self {
            rounds: 0,
            start_p50_ms: 0.0,
            start_p99_ms: 0.0,
            callback_p50_ms: 0.0,
            callback_p99_ms: 0.0,
            skipped: Some(why),
        }
    }

    pub fn table(&self) -> String {
        match &self.skipped {
            Some(why) => format!("  sign-in round trip           not measured: {why}\n"),
            None => format!(
                "  sign-in /auth/oidc/start     p50 {:.2} ms, p99 {:.2} ms\n  sign-in /auth/oidc/callback  p50 {:.2} ms, p99 {:.2} ms (incl. the provider's token endpoint; {} rounds, begun on one replica, finished on the other)\n",
                self.start_p50_ms,
                self.start_p99_ms,
                self.callback_p50_ms,
                self.callback_p99_ms,
                self.rounds
            ),
        }
    }
}

/// One sign-in begun on `first` and finished on `second`: Socle's two times.
async fn round(p: &Provider, first: &Server, second: &Server) -> anyhow::Result<[Duration; 2]> {
    let t = Instant::now();
    let r = socle_testkit::request(
        first.addr,
        "GET",
        "/auth/oidc/start?next=/",
        &[],
        Vec::new(),
    )
    .await;
    let start = t.elapsed();
    anyhow::ensure!(r.status == 303, "start: {} {}", r.status, r.body);
    let binding = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("socle_oidc="))
        .and_then(|v| v.split(';').next())
        .context("the binding cookie")?
        .to_owned();
    let authorize = r
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .context("the authorization URL")?
        .to_owned();
    let back = p.log_in(&authorize).await?;
    let cookie = format!("socle_oidc={binding}");
    let t = Instant::now();
    let done = socle_testkit::request(
        second.addr,
        "GET",
        &back,
        &[("cookie", &cookie)],
        Vec::new(),
    )
    .await;
    let callback = t.elapsed();
    anyhow::ensure!(
        done.status == 303,
        "callback: {} {}",
        done.status,
        done.body
    );
    Ok([start, callback])
}

/// `rounds` sign-ins after two not counted (each replica fetches discovery and JWKS once),
/// alternating which replica begins.
pub async fn sign_ins(
    p: &Provider,
    a: &Server,
    b: &Server,
    rounds: usize,
) -> anyhow::Result<SignIns> {
    round(p, a, b).await?;
    round(p, b, a).await?;
    let (mut starts, mut callbacks) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let [s, c] = if i % 2 == 0 {
            round(p, a, b).await?
        } else {
            round(p, b, a).await?
        };
        starts.push(s);
        callbacks.push(c);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(SignIns {
        rounds,
        start_p50_ms: ms(percentile(&mut starts, 50.0)),
        start_p99_ms: ms(percentile(&mut starts, 99.0)),
        callback_p50_ms: ms(percentile(&mut callbacks, 50.0)),
        callback_p99_ms: ms(percentile(&mut callbacks, 99.0)),
        skipped: None,
    })
}
