//! Single sign-on against a REAL OpenID provider: `oidc-provider` from npm (OpenID Certified),
//! started by each test on 127.0.0.1 from `e2e/oidc/provider.mjs`. The test is the browser: it
//! follows the redirects, fills the provider's login form and brings the code back to Socle.
//! Needs `npm ci` in `e2e/`; skipped without it unless `SOCLE_REQUIRE_BROWSER` is set (CI).

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use hyper::StatusCode;
use socle_app::oidc::{Oidc, OidcConfig};

use crate::harness::{BACKENDS, Resp, Server, start_with};

/// Where the provider sends the browser back (the test carries the answer to Socle itself).
const REDIRECT: &str = "http://127.0.0.1:9/auth/oidc/callback";
const OTHER_REDIRECT: &str = "http://127.0.0.1:9/other/callback";

pub struct Provider {
    child: Child,
    /// Kept open: a provider writing to a closed pipe would die.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    pub issuer: String,
    addr: SocketAddr,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn e2e() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// Starts the provider, or None (skipped) when `npm ci` has not been run in `e2e/`.
pub fn provider() -> Option<Provider> {
    if !e2e().join("node_modules/oidc-provider").is_dir() {
        assert!(
            std::env::var_os("SOCLE_REQUIRE_BROWSER").is_none(),
            "SOCLE_REQUIRE_BROWSER is set but oidc-provider is missing: run `npm ci` in e2e/"
        );
        eprintln!("skipped: run `npm ci` in e2e/ for the OpenID provider");
        return None;
    }
    let config = serde_json::json!({
        "clients": [
            {"client_id": "socle", "client_secret": "socle-secret", "redirect_uris": [REDIRECT],
             "post_logout_redirect_uris": ["http://127.0.0.1:9/"]},
            {"client_id": "other", "client_secret": "other-secret", "redirect_uris": [OTHER_REDIRECT]},
        ],
        "accounts": {
            "alice": {"email": "Alice@Example.com", "groups": ["socle-admins"]},
            "bob": {"email": "bob@example.com", "groups": []},
            "mallory": {"email": "mallory@example.com"},
        },
    });
    let mut child = Command::new("node")
        .arg("oidc/provider.mjs")
        .current_dir(e2e())
        .env("OIDC_TEST_CONFIG", config.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).expect("the provider's issuer");
    let issuer = v["issuer"].as_str().unwrap().to_owned();
    let addr = issuer.trim_start_matches("http://").parse().unwrap();
    Some(Provider {
        child,
        _stdout: stdout,
        issuer,
        addr,
    })
}

/// The provider's settings at Socle for this provider, as `tweak` changes them.
pub fn oidc_config(p: &Provider, tweak: impl FnOnce(&mut OidcConfig)) -> Arc<Oidc> {
    let mut c = OidcConfig::new(&p.issuer, "socle", "socle-secret", REDIRECT);
    c.provider_name = "Test IdP".into();
    c.jwks_min_refetch = std::time::Duration::ZERO;
    tweak(&mut c);
    Arc::new(Oidc::new(c, socle_app::net::TlsRoots::default()).unwrap())
}

pub async fn start(
    backend: &str,
    p: &Provider,
    tweak: impl FnOnce(&mut OidcConfig),
) -> Option<Server> {
    let oidc = oidc_config(p, tweak);
    start_with(backend, move |c| c.oidc = Some(oidc)).await
}

/// Cookies by name (the provider's cookies have distinct names; paths are not needed here).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn absorb(&mut self, headers: &hyper::HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            let gone = val.is_empty() || attrs.contains("expires=Thu, 01 Jan 1970");
            if gone {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_owned(), val.to_owned());
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Provider {
    async fn call(&self, jar: &mut Jar, method: &str, url: &str, body: &str) -> Resp {
        let path = url.strip_prefix(&self.issuer).unwrap_or(url);
        let cookie = jar.header();
        let mut h = vec![("host", self.issuer.trim_start_matches("http://"))];
        if !cookie.is_empty() {
            h.push(("cookie", &cookie));
        }
        if method == "POST" {
            h.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let r = socle_testkit::request(self.addr, method, path, &h, body.as_bytes().to_vec()).await;
        jar.absorb(&r.headers);
        Resp {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }

    /// A person at the provider: from the authorization URL through the login form (devInteractions;
    /// any password) to the redirect back to the client. Returns that redirect URL.
    pub async fn log_in(&self, authorize_url: &str, login: &str) -> String {
        let mut jar = Jar::default();
        let mut url = authorize_url.to_owned();
        let mut logged_in = false;
        for _ in 0..10 {
            let r = if url.contains("/interaction/") && !logged_in {
                logged_in = true;
                let form = format!("prompt=login&login={login}&password=any");
                self.call(&mut jar, "POST", &url, &form).await
            } else {
                self.call(&mut jar, "GET", &url, "").await
            };
            let Some(loc) = r.headers.get("location") else {
                panic!("the provider stopped at {url}: {} {}", r.status, r.body);
            };
            let loc = loc.to_str().unwrap();
            if loc.starts_with("http://127.0.0.1:9/") {
                return loc.to_owned();
            }
            url = if loc.starts_with('/') {
                format!("{}{loc}", self.issuer)
            } else {
                loc.to_owned()
            };
        }
        panic!("too many redirects at the provider");
    }

    /// The ID token the token endpoint issues next is changed: `wrong-audience`, `expired`,
    /// `nonce` (re-signed with the provider's key) or `tampered` (not re-signed).
    pub async fn next_token(&self, mode: &str) {
        let r = self
            .call(
                &mut Jar::default(),
                "POST",
                &format!("/__test/mode?m={mode}"),
                "",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }

    /// A new signing key (published beside the old one) signs from now on.
    pub async fn rotate(&self, alg: &str) -> String {
        let r = self
            .call(
                &mut Jar::default(),
                "POST",
                &format!("/__test/rotate?alg={alg}"),
                "",
            )
            .await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["kid"].as_str().unwrap().to_owned()
    }
}

/// A browser at Socle: the binding cookie of the sign-in it began.
pub struct Login {
    pub authorize_url: String,
    pub binding: String,
}

pub async fn begin(s: &Server, next: &str) -> Login {
    let r = s.get(&format!("/auth/oidc/start?next={next}"), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    let binding = set
        .strip_prefix("socle_oidc=")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Login {
        authorize_url: r
            .headers
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned(),
        binding,
    }
}

/// Brings the provider's redirect back to Socle's callback, with the binding cookie.
pub async fn finish(s: &Server, redirect: &str, binding: Option<&str>) -> Resp {
    let path = redirect.strip_prefix("http://127.0.0.1:9").unwrap();
    let cookie = binding.map(|b| format!("socle_oidc={b}"));
    let h: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
    s.request("GET", path, &h, None).await
}

/// The session secret a successful callback set.
pub fn session_of(r: &Resp) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("socle_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .filter(|v| !v.is_empty())
}

/// The whole sign-in of `login`; Socle's answer at the callback.
pub async fn sign_in(s: &Server, p: &Provider, login: &str) -> Resp {
    let l = begin(s, "/").await;
    let back = p.log_in(&l.authorize_url, login).await;
    finish(s, &back, Some(&l.binding)).await
}

#[tokio::test]
async fn a_person_signs_in_through_the_provider_and_lands_on_their_teams_home() {
    for backend in BACKENDS {
        let Some(p) = provider() else { return };
        let Some(s) = start(backend, &p, |_| {}).await else {
            continue;
        };
        let page = s.get("/signin", None).await;
        assert!(page.body.contains("Sign in with Test IdP"), "{}", page.body);
        let r = sign_in(&s, &p, "alice").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.headers.get("location").unwrap(), "/");
        // Socle's server time of a sign-in (start + callback, with the provider's token endpoint
        // and, the first time, its JWKS), printed for BENCHMARKS.md.
        for round in 0..5 {
            let t0 = std::time::Instant::now();
            let l = begin(&s, "/").await;
            let start = t0.elapsed();
            let back = p.log_in(&l.authorize_url, "alice").await;
            let t1 = std::time::Instant::now();
            let done = finish(&s, &back, Some(&l.binding)).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER);
            eprintln!(
                "{backend}: sign-in round {round}: start {start:?}, callback {:?}",
                t1.elapsed()
            );
        }
        let secret = session_of(&r).expect("a session cookie");
        let home = s.get("/", Some(&secret)).await;
        assert!(
            home.body.contains("user:default/alice · member"),
            "{}",
            home.body
        );
        assert!(
            home.body.contains("team-a"),
            "alice's team on her home page"
        );
    }
}

/// Each refusal: Socle's page says why, and no session cookie is set.
async fn refused_with(s: &Server, r: &Resp, why: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains(why), "expected {why:?} in {}", r.body);
    assert_eq!(session_of(r), None);
    let log = s.state.store.audit_log(5).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "session.open" && e.outcome == "denied"),
        "the refusal is audited: {log:?}"
    );
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    p.next_token("wrong-audience").await;
    let r = sign_in(&s, &p, "alice").await;
    refused_with(&s, &r, "audience is not this Socle").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    p.next_token("expired").await;
    let r = sign_in(&s, &p, "alice").await;
    refused_with(&s, &r, "it has expired").await;
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    p.next_token("tampered").await;
    let r = sign_in(&s, &p, "alice").await;
    refused_with(&s, &r, "signature does not verify").await;
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    p.next_token("nonce").await;
    let r = sign_in(&s, &p, "alice").await;
    refused_with(&s, &r, "nonce does not match").await;
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    for backend in BACKENDS {
        let Some(p) = provider() else { return };
        let Some(s) = start(backend, &p, |_| {}).await else {
            continue;
        };
        let l = begin(&s, "/").await;
        let back = p.log_in(&l.authorize_url, "alice").await;
        let first = finish(&s, &back, Some(&l.binding)).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        let again = finish(&s, &back, Some(&l.binding)).await;
        refused_with(&s, &again, "was already used").await;
    }
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    let l = begin(&s, "/").await;
    let back = p.log_in(&l.authorize_url, "alice").await;
    // An attacker sends the victim's browser a callback the attacker's own browser began.
    let r = finish(&s, &back, None).await;
    refused_with(&s, &r, "started in another browser").await;
    let r = finish(&s, &back, Some("not-the-binding")).await;
    refused_with(&s, &r, "already used").await;
}

#[tokio::test]
async fn an_unknown_person_gets_no_session() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    let r = sign_in(&s, &p, "mallory").await;
    refused_with(
        &s,
        &r,
        "no User of the catalog has the address mallory@example.com",
    )
    .await;
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_refused() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    let l = begin(&s, "/").await;
    let state = l
        .authorize_url
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_owned();
    // A code the provider issued to the client `other` (with its own PKCE), carried to Socle's
    // callback with Socle's state.
    let verifier = "o".repeat(43);
    let url = format!(
        "{}/auth?response_type=code&client_id=other&redirect_uri={}&scope=openid%20email&state=x&nonce=y&code_challenge={}&code_challenge_method=S256",
        p.issuer,
        "http%3A%2F%2F127.0.0.1%3A9%2Fother%2Fcallback",
        socle_app::oidc::pkce_challenge(&verifier)
    );
    let back = p.log_in(&url, "alice").await;
    let code = back
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .unwrap();
    let forged = format!("{REDIRECT}?code={code}&state={state}");
    let r = finish(&s, &forged, Some(&l.binding)).await;
    refused_with(&s, &r, "refused the authorization code: invalid_grant").await;
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_tokens_signed_with_it_are_accepted() {
    let Some(p) = provider() else { return };
    let oidc = oidc_config(&p, |_| {});
    let o = oidc.clone();
    let Some(s) = start_with("sqlite", move |c| c.oidc = Some(o)).await else {
        return;
    };
    let r = sign_in(&s, &p, "alice").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(oidc.jwks_fetches(), 1);
    // The provider moves to a new key — an ES256 one.
    p.rotate("ES256").await;
    let r = sign_in(&s, &p, "bob").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(oidc.jwks_fetches(), 2, "one refetch for the unknown key");
    let r = sign_in(&s, &p, "alice").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(oidc.jwks_fetches(), 2, "the new key is cached");
}

#[tokio::test]
async fn jwks_refetches_are_rate_limited() {
    let Some(p) = provider() else { return };
    let oidc = oidc_config(&p, |c| {
        c.jwks_min_refetch = std::time::Duration::from_secs(3600)
    });
    let o = oidc.clone();
    let Some(s) = start_with("sqlite", move |c| c.oidc = Some(o)).await else {
        return;
    };
    assert_eq!(sign_in(&s, &p, "alice").await.status, StatusCode::SEE_OTHER);
    p.rotate("RS256").await;
    let r = sign_in(&s, &p, "alice").await;
    refused_with(&s, &r, "a key the identity provider does not publish").await;
    assert_eq!(oidc.jwks_fetches(), 1);
}

#[tokio::test]
async fn the_admin_group_of_the_groups_claim_signs_in_as_admin() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |c| {
        c.groups_claim = Some("groups".into());
        c.admin_group = Some("socle-admins".into());
        c.scopes.push("groups".into());
    })
    .await
    else {
        return;
    };
    let alice = session_of(&sign_in(&s, &p, "alice").await).unwrap();
    let bob = session_of(&sign_in(&s, &p, "bob").await).unwrap();
    assert!(
        s.get("/", Some(&alice))
            .await
            .body
            .contains("user:default/alice · admin")
    );
    assert!(
        s.get("/", Some(&bob))
            .await
            .body
            .contains("user:default/bob · member")
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_the_providers() {
    let Some(p) = provider() else { return };
    let Some(s) = start("sqlite", &p, |_| {}).await else {
        return;
    };
    let secret = session_of(&sign_in(&s, &p, "alice").await).unwrap();
    let csrf = s.csrf(&secret).await;
    let r = s
        .post_form("/signout", Some(&secret), &[("csrf", &csrf)], &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let link = format!(
        "href=\"{}/session/end?client_id=socle&amp;post_logout_redirect_uri=http%3A%2F%2F127%2E0%2E0%2E1%3A9%2F\"",
        p.issuer
    );
    assert!(r.body.contains(&link), "{}", r.body);
    assert!(r.body.contains("Sign out of Test IdP too"));
    let home = s.get("/", Some(&secret)).await;
    assert!(
        !home.body.contains("user:default/alice"),
        "the session is gone"
    );
}
