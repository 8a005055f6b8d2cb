//! Replicas: two `socle serve` processes on one PostgreSQL schema serve the same data. Traffic
//! goes through both; one is killed with SIGKILL in the middle of an ingest, the other in the
//! middle of a deploy; nothing is lost or half-applied and the survivor carries on. Skipped
//! without PostgreSQL (`SOCLE_TEST_DATABASE_URL`) unless `SOCLE_REQUIRE_POSTGRES` is set.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socle_testkit::{Backend, Reply, request, try_request};

/// Entities of the large catalog (ingested while a replica is killed).
const BULK: usize = 6000;
/// Components per file of the large catalog.
const PER_FILE: usize = 50;

/// A `socle serve` process; SIGKILLed on drop.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Starting {
    fn ready(self) -> Replica {
        let addr = self
            .addr
            .recv_timeout(Duration::from_secs(300))
            .expect("the replica says where it serves")
            .parse()
            .expect("an address");
        Replica {
            child: self.child,
            addr,
        }
    }
}

/// A `socle serve` process started, not yet serving.
struct Starting {
    child: Child,
    addr: std::sync::mpsc::Receiver<String>,
}

impl Replica {
    fn start(data: &Path, url: &str, key: &str) -> Replica {
        Self::spawn(data, url, key, &["--guardrails", "none"]).ready()
    }

    /// Starts `socle serve` with `args`; [`Starting::ready`] waits until it serves.
    fn spawn(data: &Path, url: &str, key: &str, args: &[&str]) -> Starting {
        let mut child = Command::new(env!("CARGO_BIN_EXE_socle"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .args(["--refresh-interval", "0"])
            .arg("--data-dir")
            .arg(data)
            .env("SOCLE_DATABASE_URL", url)
            .env("SOCLE_SECRET_KEY", key)
            .env("SOCLE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("socle serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Shown with the test's output when it fails (the harness captures this
                // thread's output too): what the replica logged at warn and above.
                eprintln!("[replica {pid}] {line}");
                if !sent && let Some(at) = line.find("entities on http://") {
                    let addr = line[at + "entities on http://".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        Starting { child, addr: rx }
    }

    /// SIGKILL: no shutdown, no cleanup.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        request(self.addr, method, path, &headers, body).await
    }

    async fn json(&self, path: &str, token: &str) -> Value {
        let r = self.call("GET", path, token, None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        serde_json::from_str(&r.body).expect("JSON")
    }

    /// How many entities the large catalog's team owns, as this replica serves them.
    async fn bulk_count(&self, token: &str) -> u64 {
        let page = self
            .json(
                "/api/v1/entities?owner=group:default/team-bulk&limit=1",
                token,
            )
            .await;
        page["totalItems"].as_u64().expect("totalItems")
    }
}

fn write_catalogs(root: &Path) -> (PathBuf, PathBuf) {
    let small = root.join("small");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::write(
        small.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-bulk}\nspec: {type: team, children: []}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: shop}\nspec: {type: service, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    let bulk = root.join("bulk");
    for f in 0..BULK / PER_FILE {
        let dir = bulk.join(format!("svc-{f:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        let docs: Vec<String> = (0..PER_FILE)
            .map(|i| {
                format!(
                    "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bulk-{f}-{i}\n  description: service {i} of file {f}\n  tags: [bulk, replica-test]\nspec: {{type: service, lifecycle: production, owner: team-bulk}}\n"
                )
            })
            .collect();
        std::fs::write(dir.join("catalog-info.yaml"), docs.join("---\n")).unwrap();
    }
    (small, bulk)
}

/// Waits until `check` holds (polling), or fails after `within`; returns how long it took.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

const WORKLOAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: ghcr.io/acme/shop:1.0.0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_survive_a_sigkill_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = socle_testkit::store_config(Backend::Postgres, dir.path(), "socle_replicas")
    else {
        eprintln!("skipped: no PostgreSQL (SOCLE_TEST_DATABASE_URL)");
        return;
    };
    // The schema, migrated, and an admin token — as an operator would prepare them.
    let store = socle_store::Store::open(&config).await.expect("the store");
    let (_, token) = store
        .create_token(
            "replica-test",
            "serviceaccount:replica-test",
            socle_store::Role::Admin,
            socle_api::now_ms(),
        )
        .await
        .unwrap();
    let base = config.database_url.clone().unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let schema = config.pg_schema.clone().unwrap();
    let url = format!("{base}{sep}options[search_path]={schema}");
    let key = config.secret_key.as_ref().unwrap().to_base64();
    // One data directory, as a shared volume: the GitOps repositories live there.
    let data = dir.path().join("data");
    let (small, bulk) = write_catalogs(dir.path());
    let a = Replica::start(&data, &url, &key);
    let b = Replica::start(&data, &url, &key);
    let t = token.as_str();

    // Both are ready and say why.
    for r in [&a, &b] {
        let ready = r.json("/readyz", t).await;
        assert_eq!(ready["status"], "ready", "{ready}");
        assert_eq!(ready["checks"]["database"]["status"], "ok", "{ready}");
        assert_eq!(ready["checks"]["database"]["backend"], "postgres");
        assert_eq!(ready["checks"]["read_model"]["status"], "ok", "{ready}");
    }

    // A write through A is read through B once B's read model converges.
    let created = a
        .call(
            "POST",
            "/api/v1/locations",
            t,
            Some(json!({"type": "file", "target": small.to_string_lossy()})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let took = eventually(Duration::from_secs(10), "B serves A's write", || async {
        b.call("GET", "/api/v1/entities/component/default/shop", t, None)
            .await
            .status
            == 200
    })
    .await;
    eprintln!("B converged on A's write in {took:?}");

    // A portal session opened on A works on B (sessions live in the store).
    let signin = request(
        a.addr,
        "POST",
        "/signin",
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("token={t}&next=/").into_bytes(),
    )
    .await;
    assert_eq!(signin.status, 303, "{}", signin.body);
    let cookie = signin.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = request(b.addr, "GET", "/", &[("cookie", &cookie)], Vec::new()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Sign out"),
        "signed in on B: {}",
        page.body
    );

    // SIGKILL A in the middle of ingesting the large catalog.
    let target = bulk.to_string_lossy().into_owned();
    let a_addr = a.addr;
    let auth = format!("Bearer {t}");
    let ingest = tokio::spawn(async move {
        let body = json!({"type": "file", "target": target}).to_string();
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        // The connection dies with the process: no answer is expected (an error, not a panic
        // whose backtrace would crowd the test's output).
        let sent = try_request(
            a_addr,
            "POST",
            "/api/v1/locations",
            &headers,
            body.into_bytes(),
        );
        let _ = tokio::time::timeout(Duration::from_secs(60), sent).await;
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.kill();
    let _ = ingest.await;
    // B carried on, and the large location is all there or not at all.
    let after_kill = b.bulk_count(t).await;
    assert!(
        after_kill == 0 || after_kill == BULK as u64,
        "half an ingest: {after_kill} of {BULK}"
    );
    eprintln!("after SIGKILL mid-ingest B serves {after_kill} of {BULK} bulk entities");
    // The location, if registered, is refreshed through B; if not, registered through B.
    let locations = b.json("/api/v1/locations", t).await;
    let bulk_location = locations
        .as_array()
        .or_else(|| locations["items"].as_array())
        .expect("a list of locations")
        .iter()
        .find(|l| l["key"].as_str().is_some_and(|s| s.ends_with("/bulk")))
        .cloned();
    let redone = match bulk_location {
        Some(l) => {
            let id = l["id"].as_str().expect("an id").to_owned();
            b.call("POST", &format!("/api/v1/locations/{id}/refresh"), t, None)
                .await
        }
        None => {
            b.call(
                "POST",
                "/api/v1/locations",
                t,
                Some(json!({"type": "file", "target": bulk.to_string_lossy()})),
            )
            .await
        }
    };
    assert!(redone.status.is_success(), "{}", redone.body);
    assert_eq!(b.bulk_count(t).await, BULK as u64);

    // A comes back and serves everything.
    let a = Replica::start(&data, &url, &key);
    eventually(Duration::from_secs(10), "A serves the ingest", || async {
        a.bulk_count(t).await == BULK as u64
    })
    .await;
    let found = a.json("/api/v1/search?q=bulk-7-7", t).await;
    assert!(found.to_string().contains("bulk-7-7"), "{found}");

    // SIGKILL B in the middle of a deploy.
    let b_addr = b.addr;
    let auth = format!("Bearer {t}");
    let deploy = tokio::spawn(async move {
        let body =
            json!({"workload": WORKLOAD, "environment": "dev", "image": "ghcr.io/acme/shop:1.0.0"});
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let sent = try_request(
            b_addr,
            "POST",
            "/api/v1/deployments",
            &headers,
            body.to_string().into_bytes(),
        );
        let _ = tokio::time::timeout(Duration::from_secs(60), sent).await;
    });
    tokio::time::sleep(Duration::from_millis(40)).await;
    b.kill();
    let _ = deploy.await;
    // A carries on: the same deploy through A succeeds, and the environment's branch ends at
    // the commit A recorded — no commit without its record, no record without its commit.
    let before = a.json("/api/v1/deployments?service=shop&env=dev", t).await;
    let before = before
        .as_array()
        .or_else(|| before["items"].as_array())
        .map_or(0, Vec::len);
    assert!(before <= 1, "one deploy was started: {before} records");
    let redeploy = a
        .call(
            "POST",
            "/api/v1/deployments",
            t,
            Some(json!({"workload": WORKLOAD, "environment": "dev", "image": "ghcr.io/acme/shop:1.0.0"})),
        )
        .await;
    assert_eq!(redeploy.status, 201, "{}", redeploy.body);
    let record: Value = serde_json::from_str(&redeploy.body).unwrap();
    let head = Command::new("git")
        .arg("--git-dir")
        .arg(data.join("gitops/dev.git"))
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git runs");
    assert!(
        head.status.success(),
        "{}",
        String::from_utf8_lossy(&head.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).trim(),
        record["gitops_commit"]
            .as_str()
            .expect("the record's commit"),
        "{record}"
    );
    let ready = a.json("/readyz", t).await;
    assert_eq!(ready["status"], "ready", "{ready}");
}

/// Two replicas started at the same moment with `--demo` on one new database: the start-up work
/// (the demo organisation, its history and delivery loop, the bootstrap token) runs under the
/// `startup` lease, so it is done once — one bootstrap token, one demo delivery loop — and both
/// serve the same demo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_started_with_the_demo_load_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) =
        socle_testkit::store_config(Backend::Postgres, dir.path(), "socle_demo_race")
    else {
        eprintln!("skipped: no PostgreSQL (SOCLE_TEST_DATABASE_URL)");
        return;
    };
    let store = socle_store::Store::open(&config).await.expect("the store");
    let base = config.database_url.clone().unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let schema = config.pg_schema.clone().unwrap();
    let url = format!("{base}{sep}options[search_path]={schema}");
    let key = config.secret_key.as_ref().unwrap().to_base64();
    let data = dir.path().join("data");
    // Both processes exist before either has started its work.
    let a = Replica::spawn(&data, &url, &key, &["--demo"]);
    let b = Replica::spawn(&data, &url, &key, &["--demo"]);
    let (a, b) = (a.ready(), b.ready());

    assert_eq!(store.token_count().await.unwrap(), 1, "one bootstrap token");
    let deployments = store.list_deployments(None, None, 1000).await.unwrap();
    let per_service = 4; // deploy, promote twice, deploy again
    assert_eq!(
        deployments.len(),
        socle_app::demo::LOOP_SERVICES * per_service + 1 + socle_app::demo::ADOPTING_TEAMS,
        "one delivery loop (and its rollback), and each adopting team's first deploy: {:?}",
        deployments
            .iter()
            .map(|d| (&d.service, &d.environment, &d.kind))
            .collect::<Vec<_>>()
    );
    let locations = store.list_locations().await.unwrap();
    assert_eq!(locations.len(), 1, "one demo location: {locations:?}");
    let count = |r: &Replica| {
        let addr = r.addr;
        async move {
            let page = request(addr, "GET", "/api/v1/entities?limit=1", &[], Vec::new()).await;
            let v: Value = serde_json::from_str(&page.body).expect("JSON");
            v["totalItems"].as_u64().expect("totalItems")
        }
    };
    let on_a = count(&a).await;
    assert!(on_a > 100, "the demo is served: {on_a}");
    assert_eq!(count(&b).await, on_a);
    let leases = store
        .try_lease("startup", "the-test", socle_api::now_ms(), 1)
        .await;
    assert!(leases.unwrap(), "the start-up lease was given back");
}
