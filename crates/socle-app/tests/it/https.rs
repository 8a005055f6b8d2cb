//! Outbound HTTPS against local servers with a private CA: Git locations read over HTTPS from
//! the real `git http-backend` (with and without a token, a wrong CA, a token scoped to another
//! prefix), and mirrors that follow the remote. Host actions over TLS: socle-api's git_hosts tests.

use std::path::Path;

use socle_app::net::{GitHost, GitMirrors, TlsRoots};
use socle_catalog::Limits;
use socle_ingest::{LocationKind, LocationSpec, read_location_with};
use socle_testkit::https::{Seen, TestCa, git_http_backend, serve_tls};

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn component(name: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

/// A work tree with one commit, pushed to a bare repository `root/acme/shop` (the host's).
struct Hosted {
    _dir: tempfile::TempDir,
    work: std::path::PathBuf,
    root: std::path::PathBuf,
}

impl Hosted {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(root.join("acme")).unwrap();
        git(&work, &["init", "-q", "-b", "trunk"]);
        std::fs::write(work.join("catalog-info.yaml"), component("shop")).unwrap();
        git(&work, &["add", "."]);
        git(&work, &["commit", "-qm", "shop"]);
        git(
            &root.join("acme"),
            &["clone", "-q", "--bare", work.to_str().unwrap(), "shop"],
        );
        Self {
            _dir: dir,
            work,
            root,
        }
    }

    /// A second component, committed and pushed.
    fn push_another(&self) {
        std::fs::write(
            self.work.join("catalog-info.yaml"),
            format!("{}---\n{}", component("shop"), component("cart")),
        )
        .unwrap();
        git(&self.work, &["commit", "-qam", "cart"]);
        let bare = self.root.join("acme/shop");
        git(&self.work, &["push", "-q", bare.to_str().unwrap(), "trunk"]);
    }
}

/// A repository `acme/shop` served by `git http-backend` over TLS (with `password`: only to
/// Basic credentials carrying it), with the CA that signed the server's certificate and what the
/// server saw.
async fn host(password: Option<&str>) -> (Hosted, TestCa, Seen, std::net::SocketAddr) {
    let hosted = Hosted::new();
    let ca = TestCa::new();
    let seen = Seen::default();
    let addr = serve_tls(
        git_http_backend(
            hosted.root.clone(),
            password.map(str::to_owned),
            seen.clone(),
        ),
        &ca,
    )
    .await;
    (hosted, ca, seen, addr)
}

fn location(url: &str) -> LocationSpec {
    LocationSpec {
        kind: LocationKind::Git,
        target: url.to_owned(),
        branch: None,
        path: None,
    }
}

fn names(read: &socle_ingest::LocationRead) -> Vec<String> {
    let mut n: Vec<String> = read
        .entities
        .iter()
        .map(|e| e.entity_ref.name().to_owned())
        .collect();
    n.sort();
    n
}

/// Reads `url` through mirrors in a fresh directory on a blocking thread (gix's transport blocks).
async fn read(url: &str, mirrors: std::sync::Arc<GitMirrors>) -> socle_ingest::LocationRead {
    let spec = location(url);
    tokio::task::spawn_blocking(move || {
        read_location_with(&spec, &Limits::default(), None, mirrors.as_ref())
    })
    .await
    .unwrap()
}

fn mirrors(dir: &Path, credentials: &str, roots: TlsRoots) -> std::sync::Arc<GitMirrors> {
    std::sync::Arc::new(GitMirrors::new(
        dir,
        GitHost::parse_list(credentials).unwrap(),
        roots,
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_repository_is_read_over_https_with_its_token_and_follows_the_remote() {
    let (hosted, ca, seen, addr) = host(Some("s3cret")).await;
    let cache = tempfile::tempdir().unwrap();
    let m = mirrors(
        cache.path(),
        &format!("https://127.0.0.1:{}/acme/=s3cret", addr.port()),
        TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
    );
    let url = format!("https://127.0.0.1:{}/acme/shop", addr.port());
    let first = read(&url, m.clone()).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(names(&first), ["shop"]);
    // The location keeps the URL as its name; the commit is the remote's default branch's.
    assert!(first.commit.is_some());
    hosted.push_another();
    let second = read(&url, m.clone()).await;
    assert_eq!(names(&second), ["cart", "shop"]);
    assert_ne!(second.commit, first.commit);
    // Pages (TechDocs) read the mirror as the last refresh left it, without the network.
    let cached = socle_ingest::GitSource::open_cached(&url, "trunk", m.as_ref()).unwrap();
    assert_eq!(Some(cached.commit().to_owned()), second.commit);
    let empty = tempfile::tempdir().unwrap();
    let never = mirrors(empty.path(), "", TlsRoots::default());
    let e = socle_ingest::GitSource::open_cached(&url, "trunk", never.as_ref())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("has not been fetched yet"), "{e}");
    // Every request carried the token, as Basic credentials.
    assert!(
        seen.authorizations()
            .iter()
            .all(|a| a.as_deref().is_some_and(|a| a.starts_with("Basic "))),
        "{:?}",
        seen.authorizations()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_a_private_repository_is_unreadable_and_says_why() {
    let (_hosted, ca, _seen, addr) = host(Some("s3cret")).await;
    let cache = tempfile::tempdir().unwrap();
    let m = mirrors(
        cache.path(),
        "",
        TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
    );
    let read = read(&format!("https://127.0.0.1:{}/acme/shop", addr.port()), m).await;
    assert!(read.unreadable);
    let message = read.errors[0].to_string();
    assert!(message.contains("authentication required"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_whose_certificate_is_not_trusted_is_refused() {
    let (_hosted, _ca, seen, addr) = host(None).await;
    let cache = tempfile::tempdir().unwrap();
    // Another CA than the server's: the handshake fails before any request is sent.
    let other = TestCa::new();
    let m = mirrors(
        cache.path(),
        &format!("https://127.0.0.1:{}/=s3cret", addr.port()),
        TlsRoots::only_pem(other.ca_pem.as_bytes()).unwrap(),
    );
    let read = read(&format!("https://127.0.0.1:{}/acme/shop", addr.port()), m).await;
    assert!(read.unreadable, "{:?}", read.errors);
    let message = read.errors[0].to_string();
    assert!(message.contains("invalid peer certificate"), "{message}");
    assert!(
        seen.authorizations().is_empty(),
        "the token reached a server nobody trusts"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_sent_only_to_the_prefix_it_was_given_for() {
    // A public host (no password needed) that records what it is sent.
    let (_hosted, ca, seen, addr) = host(None).await;
    let cache = tempfile::tempdir().unwrap();
    // The token is for another organisation's prefix on the same host.
    let m = mirrors(
        cache.path(),
        &format!("https://127.0.0.1:{}/other-org/=s3cret", addr.port()),
        TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
    );
    let read = read(&format!("https://127.0.0.1:{}/acme/shop", addr.port()), m).await;
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(names(&read), ["shop"]);
    assert!(!seen.authorizations().is_empty());
    assert!(
        seen.authorizations().iter().all(Option::is_none),
        "{:?}",
        seen.authorizations()
    );
}

/// The application on SQLite with `remotes` (Git hosts over HTTPS).
async fn app_with(
    dir: &Path,
    remotes: std::sync::Arc<GitMirrors>,
) -> std::sync::Arc<socle_app::App> {
    let config = socle_testkit::store_config(socle_testkit::Backend::Sqlite, dir, "socle_app")
        .expect("SQLite");
    let store = socle_store::Store::open(&config).await.unwrap();
    let settings = socle_app::AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        remotes: socle_app::ingest::Remotes(remotes),
        ..Default::default()
    };
    socle_app::App::new(store, settings).await.unwrap()
}

fn member() -> socle_app::Actor {
    socle_app::Actor::Principal(socle_app::Principal {
        token_id: "t".into(),
        subject: "user:default/ana".into(),
        role: socle_store::Role::Member,
    })
}

fn new_location(url: &str) -> socle_app::locations::NewLocation {
    socle_app::locations::NewLocation {
        kind: LocationKind::Git,
        target: url.to_owned(),
        branch: None,
        path: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_registers_a_repository_under_a_configured_git_host_only() {
    let (_hosted, ca, seen, addr) = host(Some("s3cret")).await;
    let dir = tempfile::tempdir().unwrap();
    let m = mirrors(
        &dir.path().join("mirrors"),
        &format!("https://127.0.0.1:{}/acme/=s3cret", addr.port()),
        TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
    );
    let app = app_with(dir.path(), m).await;
    let ok = app
        .create_location(
            &member(),
            new_location(&format!("https://127.0.0.1:{}/acme/shop", addr.port())),
        )
        .await
        .unwrap();
    assert_eq!(ok.outcome.added, 1, "{:?}", ok.outcome.errors);
    assert!(app.snapshot().get("component:default/shop").is_some());
    // Any other URL (another path on the same server, another host) is refused before the
    // server fetches anything: no SSRF through a location.
    let requests = seen.authorizations().len();
    for url in [
        format!("https://127.0.0.1:{}/other/shop", addr.port()),
        format!("https://localhost:{}/acme/shop", addr.port()),
        "https://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let e = app
            .create_location(&member(), new_location(&url))
            .await
            .unwrap_err();
        assert_eq!(e.code, socle_app::ErrorCode::Forbidden, "{url}: {e:?}");
    }
    assert_eq!(seen.authorizations().len(), requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn catalog_register_takes_a_hosts_contents_url_over_https() {
    let (_hosted, ca, _seen, addr) = host(Some("s3cret")).await;
    let dir = tempfile::tempdir().unwrap();
    let m = mirrors(
        &dir.path().join("mirrors"),
        &format!("https://127.0.0.1:{}/acme/=s3cret", addr.port()),
        TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
    );
    let app = app_with(dir.path(), m).await;
    // A template that registers what a publish step would have pushed, by its GitHub-style
    // contents URL (`…/blob/BRANCH`).
    let template = dir.path().join("template");
    std::fs::create_dir_all(template.join("skeleton")).unwrap();
    std::fs::write(
        template.join("skeleton/catalog-info.yaml"),
        component("shop"),
    )
    .unwrap();
    std::fs::write(
        template.join("template.yaml"),
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n    - id: register\n      action: catalog:register\n      input:\n        repoContentsUrl: https://127.0.0.1:{}/acme/shop/blob/trunk\n        catalogInfoPath: /catalog-info.yaml\n",
            addr.port()
        ),
    )
    .unwrap();
    let principal = socle_app::Principal {
        token_id: "t".into(),
        subject: "user:default/ana".into(),
        role: socle_store::Role::Member,
    };
    let out = socle_app::scaffold::run(
        &app,
        Some(principal),
        socle_app::scaffold::RunRequest::new(
            socle_app::scaffold::TemplateRef::Dir(template),
            serde_json::json!({}),
            false,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        out.run.status,
        socle_store::RunStatus::Completed,
        "{:?}",
        out.run.error
    );
    let snapshot = app.snapshot();
    assert!(snapshot.get("component:default/shop").is_some());
    let locations = app.store.list_locations().await.unwrap();
    assert!(
        locations.iter().any(|l| l.spec["target"]
            == format!("https://127.0.0.1:{}/acme/shop", addr.port())
            && l.spec["branch"] == "trunk"),
        "{locations:?}"
    );
}
