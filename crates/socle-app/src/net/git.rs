//! Git over HTTPS: a local bare mirror per remote repository, fetched with gix's HTTP transport
//! (reqwest, handed Socle's rustls configuration), so that `https://` Git locations are read
//! like local ones ([`socle_ingest::RemoteRepos`]). A token is sent only to the URL prefix it
//! was configured for, only over TLS, and only in a header; redirects are then refused by gix.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use socle_ingest::{RemoteRepos, SourceError};

use super::{Endpoint, TlsRoots};

/// A Git host prefix the platform configured (`https://git.example.com/` or
/// `https://github.com/acme/`): members may register repositories under it, and its token (if
/// any) is sent to it.
#[derive(Clone)]
pub struct GitHost {
    pub prefix: String,
    /// (user name, token); hosts accept any user name with a personal or app token.
    pub auth: Option<(String, String)>,
}

impl std::fmt::Debug for GitHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.auth {
            Some((user, _)) => write!(f, "GitHost({} as {user}, token hidden)", self.prefix),
            None => write!(f, "GitHost({}, no token)", self.prefix),
        }
    }
}

impl GitHost {
    /// `PREFIX`, `PREFIX=TOKEN` or `PREFIX=USER:TOKEN` (the form of `SOCLE_GIT_HOSTS`). The
    /// prefix is an `https://` URL with a host; a `/` is added at its end if missing.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (prefix, secret) = match s.split_once('=') {
            Some((p, t)) => (p, Some(t)),
            None => (s, None),
        };
        let prefix = if prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        let endpoint = Endpoint::of(&prefix).map_err(|e| e.to_string())?;
        if !endpoint.tls {
            return Err(format!(
                "{prefix}: Git hosts are reached over https:// only"
            ));
        }
        let auth = match secret {
            None => None,
            Some(secret) => {
                let (user, token) = match secret.split_once(':') {
                    Some((u, t)) if !u.is_empty() => (u.to_owned(), t.to_owned()),
                    _ => ("x-access-token".to_owned(), secret.to_owned()),
                };
                if token.is_empty() {
                    return Err(format!("{prefix}: empty token"));
                }
                Some((user, token))
            }
        };
        Ok(Self { prefix, auth })
    }

    /// Every host of a list separated by newlines or commas.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, String> {
        s.split(['\n', ','])
            .filter(|l| !l.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    /// `url` is under the prefix (compared as written; the prefix ends with `/`, so
    /// `https://git.example.com.evil.io/` is not under `https://git.example.com/`).
    fn covers(&self, url: &str) -> bool {
        url.starts_with(&self.prefix) || format!("{url}/") == self.prefix
    }
}

/// The local mirrors of remote repositories, in one directory.
pub struct GitMirrors {
    dir: PathBuf,
    hosts: Vec<GitHost>,
    tls: TlsRoots,
    /// Longest a fetch may take (then it is interrupted).
    timeout: Duration,
    /// One fetch at a time per process (mirrors are shared by every location of a repository).
    lock: Mutex<()>,
}

impl GitMirrors {
    pub fn new(dir: impl Into<PathBuf>, hosts: Vec<GitHost>, tls: TlsRoots) -> Self {
        Self {
            dir: dir.into(),
            hosts,
            tls,
            timeout: Duration::from_secs(300),
            lock: Mutex::new(()),
        }
    }

    /// A shorter (or longer) fetch timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Where the mirror of `url` lives (a name derived from the URL, never the URL itself).
    pub fn mirror_path(&self, url: &str) -> PathBuf {
        let digest = hex::encode(Sha256::digest(url.as_bytes()));
        self.dir.join(format!("{}.git", &digest[..32]))
    }

    /// The most specific configured host `url` is under.
    fn host(&self, url: &str) -> Option<&GitHost> {
        self.hosts
            .iter()
            .filter(|c| c.covers(url))
            .max_by_key(|c| c.prefix.len())
    }

    fn fetch(&self, url: &str) -> Result<PathBuf, String> {
        let endpoint = Endpoint::of(url).map_err(|e| e.to_string())?;
        if url.contains(['?', '#']) {
            return Err(format!("{url}: a repository URL has no query or fragment"));
        }
        let path = self.mirror_path(url);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let repo = if path.join("HEAD").exists() {
            gix::open(&path).map_err(|e| format!("mirror of {url}: {e}"))?
        } else {
            std::fs::create_dir_all(&self.dir)
                .map_err(|e| format!("{}: {e}", self.dir.display()))?;
            gix::init_bare(&path).map_err(|e| format!("mirror of {url}: {e}"))?
        };
        let auth = self
            .host(url)
            .filter(|_| endpoint.tls)
            .and_then(|h| h.auth.as_ref());
        let outcome = fetch_into(&repo, url, auth, &self.tls, self.timeout)?;
        set_head(&repo, &outcome);
        Ok(path)
    }
}

impl RemoteRepos for GitMirrors {
    fn local(&self, url: &str, _branch: Option<&str>) -> Result<PathBuf, SourceError> {
        self.fetch(url)
            .map_err(|e| SourceError::Git(format!("cannot fetch {url}: {e}")))
    }

    fn open_to_members(&self, url: &str) -> bool {
        Endpoint::of(url).is_ok_and(|e| e.tls) && self.host(url).is_some()
    }

    fn cached(&self, url: &str) -> Option<PathBuf> {
        let path = self.mirror_path(url);
        path.join("HEAD").exists().then_some(path)
    }
}

/// Fetches every branch of `url` into `repo` (`+refs/heads/*:refs/heads/*`: the mirror's
/// branches are the remote's).
fn fetch_into(
    repo: &gix::Repository,
    url: &str,
    auth: Option<&(String, String)>,
    tls: &TlsRoots,
    timeout: Duration,
) -> Result<gix::remote::fetch::Outcome, String> {
    use gix::protocol::transport::client::blocking_io::http;
    let remote = repo
        .remote_at(url)
        .map_err(|e| e.to_string())?
        .with_refspecs(
            ["+refs/heads/*:refs/heads/*"],
            gix::remote::Direction::Fetch,
        )
        .map_err(|e| e.to_string())?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let config = tls.client_config();
    let backend = http::reqwest::Options {
        configure_client: Some(Box::new(move |builder| {
            Ok(builder
                .tls_backend_preconfigured((*config).clone())
                .timeout(timeout))
        })),
        configure_request: None,
    };
    let mut options = http::Options {
        user_agent: Some("socle".into()),
        connect_timeout: Some(super::http::CONNECT_TIMEOUT),
        backend: Some(Arc::new(Mutex::new(backend))),
        ..Default::default()
    };
    if let Some((user, token)) = auth {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        options
            .extra_headers
            .push(format!("Authorization: Basic {basic}"));
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    let _watchdog = Watchdog::start(interrupt.clone(), timeout);
    let connection = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| e.to_string())?
        .with_transport_options(Box::new(options))
        // Never ask a credential helper or a terminal: a missing or refused token is an error.
        .with_credentials(|_| {
            Err(gix::Error::from_error(std::io::Error::other(
                "authentication required: configure a token for this URL (SOCLE_GIT_HOSTS)",
            )))
        });
    let outcome = connection
        .prepare_fetch(gix::progress::Discard, ref_map_options()?)
        .map_err(|e| error_chain(&e))?
        .receive(gix::progress::Discard, &interrupt)
        .map_err(|e| {
            if interrupt.load(Ordering::Relaxed) {
                format!("timed out after {} s", timeout.as_secs())
            } else {
                error_chain(&e)
            }
        })?;
    Ok(outcome)
}

/// The remote's HEAD is listed too (not fetched): the mirror's HEAD follows it.
fn ref_map_options() -> Result<gix::remote::ref_map::Options, String> {
    let head = gix::refspec::parse("HEAD".into(), gix::refspec::parse::Operation::Fetch)
        .map_err(|e| e.to_string())?
        .to_owned();
    Ok(gix::remote::ref_map::Options {
        extra_refspecs: vec![head],
        ..Default::default()
    })
}

/// The mirror's HEAD follows the remote's default branch.
fn set_head(repo: &gix::Repository, outcome: &gix::remote::fetch::Outcome) {
    use gix::protocol::handshake::Ref;
    let target = outcome.ref_map.remote_refs.iter().find_map(|r| match r {
        Ref::Symbolic {
            full_ref_name,
            target,
            ..
        } if full_ref_name == "HEAD" => Some(target.clone()),
        _ => None,
    });
    let Some(target) = target else { return };
    let Ok(target) = gix::refs::FullName::try_from(target) else {
        return;
    };
    let edit = gix::refs::transaction::RefEdit {
        change: gix::refs::transaction::Change::Update {
            log: Default::default(),
            expected: gix::refs::transaction::PreviousValue::Any,
            new: gix::refs::Target::Symbolic(target),
        },
        name: "HEAD".try_into().expect("a valid name"),
        deref: false,
    };
    if let Err(e) = repo.edit_reference(edit) {
        tracing::warn!(error = %e, "cannot point the mirror's HEAD at the remote's default branch");
    }
}

/// The message of an error and of its causes.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

/// Sets a flag when a deadline passes, unless dropped first.
struct Watchdog {
    done: Option<std::sync::mpsc::Sender<()>>,
}

impl Watchdog {
    fn start(flag: Arc<AtomicBool>, after: Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(after) {
                flag.store(true, Ordering::Relaxed);
            }
        });
        Self { done: Some(tx) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(h: &GitHost) -> Option<(&str, &str)> {
        h.auth.as_ref().map(|(u, t)| (u.as_str(), t.as_str()))
    }

    #[test]
    fn hosts_parse_with_a_token_a_user_or_nothing() {
        let h = GitHost::parse("https://git.example.com=tok").unwrap();
        assert_eq!(h.prefix, "https://git.example.com/");
        assert_eq!(auth(&h), Some(("x-access-token", "tok")));
        let h = GitHost::parse("https://gitlab.local/acme/=oauth2:glpat").unwrap();
        assert_eq!(auth(&h), Some(("oauth2", "glpat")));
        assert_eq!(auth(&GitHost::parse("https://github.com/").unwrap()), None);
        assert_eq!(
            GitHost::parse_list("https://a.example/=x, https://b.example/\n")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_git_host_over_plain_http_or_with_an_empty_token_is_refused() {
        assert!(
            GitHost::parse("http://git.example.com/=tok")
                .unwrap_err()
                .contains("https:// only")
        );
        assert!(GitHost::parse("https://git.example.com/=").is_err());
    }

    #[test]
    fn a_host_covers_its_prefix_only() {
        let m = GitMirrors::new(
            "/nowhere",
            GitHost::parse_list("https://git.example.com/acme/=a,https://git.example.com/=b")
                .unwrap(),
            TlsRoots::default(),
        );
        let token = |url: &str| {
            m.host(url)
                .and_then(|h| h.auth.as_ref())
                .map(|(_, t)| t.clone())
        };
        assert_eq!(token("https://git.example.com/acme/shop"), Some("a".into()));
        assert_eq!(token("https://git.example.com/other/x"), Some("b".into()));
        // Another host that merely starts with the same text is not covered.
        assert_eq!(token("https://git.example.com.evil.io/acme/shop"), None);
        assert_eq!(token("https://evil.io/https://git.example.com/acme/"), None);
        assert!(m.open_to_members("https://git.example.com/acme/shop"));
        assert!(!m.open_to_members("https://evil.io/acme/shop"));
    }
}
