//! What commands open and load, in one place: the store (`--data-dir`, `--database-url`), input
//! limits, the platform configuration (`--platform`), guardrail policies (`--guardrails`,
//! `--policy`) and the Git hosts golden paths publish to.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use socle_catalog::Limits;
use socle_ingest::Source;
use socle_store::{Store, StoreConfig};

/// Where the store is: shared by the server and every CLI command.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data directory (SQLite database, demo files).
    #[arg(long, env = "SOCLE_DATA_DIR", default_value = ".socle")]
    pub data_dir: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL (default: SQLite in the data directory).
    #[arg(long, env = "SOCLE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A file holding the database URL (a mounted Secret: the URL carries the password),
    /// instead of --database-url.
    #[arg(long, env = "SOCLE_DATABASE_URL_FILE", conflicts_with = "database_url")]
    pub database_url_file: Option<PathBuf>,
}

impl StoreArgs {
    pub async fn open(&self) -> anyhow::Result<Store> {
        self.open_with(false).await
    }

    /// The database URL: --database-url, or the contents of --database-url-file (trailing
    /// newline ignored); None for SQLite in the data directory.
    pub fn url(&self) -> anyhow::Result<Option<String>> {
        if let Some(path) = &self.database_url_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the database URL from {}", path.display()))?;
            return Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()));
        }
        Ok(self.database_url.clone())
    }

    /// The store if one exists here, opened read-only (nothing written, not even a
    /// checkpoint); None otherwise. For previews.
    pub async fn open_existing_read_only(&self) -> anyhow::Result<Option<Store>> {
        if !self.exists() {
            return Ok(None);
        }
        self.open_with(true).await.map(Some)
    }

    /// Whether a store is there: a database URL, or a database file in the data directory.
    pub fn exists(&self) -> bool {
        self.database_url.is_some()
            || self.database_url_file.is_some()
            || self.data_dir.join("socle.db").is_file()
    }

    async fn open_with(&self, read_only: bool) -> anyhow::Result<Store> {
        let url = self.url()?;
        let external = url.is_some();
        let mut config = StoreConfig::new(&self.data_dir, url);
        config.read_only = read_only;
        // The key sealing secrets at rest: SOCLE_SECRET_KEY (shared by replicas), else a key file
        // created in the data directory.
        // (Read-only: a missing key file is not created; sealed tables are then unavailable.)
        let key_file = self.data_dir.join("secret.key");
        // SOCLE_SECRET_KEY_FILE: the same key from a file (a mounted Secret).
        let from_file = match std::env::var_os("SOCLE_SECRET_KEY_FILE") {
            Some(path) => Ok(std::fs::read_to_string(&path)
                .with_context(|| format!("SOCLE_SECRET_KEY_FILE {}", path.to_string_lossy()))?
                .trim()
                .to_owned()),
            None => std::env::var("SOCLE_SECRET_KEY"),
        };
        config.secret_key = match from_file {
            Ok(k) => Some(socle_store::SecretKey::from_base64(&k).context("SOCLE_SECRET_KEY")?),
            Err(_) if read_only && !key_file.is_file() => None,
            Err(_) => Some(socle_store::SecretKey::load_or_create(&key_file)?),
        };
        Store::open(&config).await.with_context(|| {
            if external {
                "cannot open the database given by --database-url".to_owned()
            } else {
                format!("cannot open the store in {}", self.data_dir.display())
            }
        })
    }

    /// The existing store, for a command that only reads: a missing one is an error that says
    /// where it was looked for, not an empty store created on the spot.
    pub async fn open_to_read(&self) -> anyhow::Result<Store> {
        if self.exists() {
            return self.open().await;
        }
        Err(anyhow::anyhow!(
            "no Socle store in {}: pass --data-dir (or SOCLE_DATA_DIR) of a server's data \
                 directory, or --database-url; `socle serve --demo` creates one",
            self.data_dir.display()
        ))
    }
}

/// Input bounds for catalog files.
#[derive(Args, Clone, Debug)]
pub struct LimitArgs {
    /// Largest catalog file read, in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: usize,
    /// Deepest YAML nesting accepted.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    max_depth: usize,
    /// Most YAML nodes in one file.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    max_nodes: usize,
    /// Most YAML documents (`---`-separated entities) in one file.
    #[arg(long, default_value_t = Limits::default().max_documents)]
    max_documents: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.max_file_bytes,
            max_depth: self.max_depth,
            max_nodes: self.max_nodes,
            max_documents: self.max_documents,
            ..Limits::default()
        }
    }
}

/// Outbound HTTPS: the extra trusted CA and the tokens of Git over HTTPS.
#[derive(Args, Clone, Default)]
pub struct NetArgs {
    /// PEM certificates trusted for outbound HTTPS besides the system's store (a private CA).
    #[arg(long, env = "SOCLE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Git hosts over HTTPS, comma-separated URL prefixes each with an optional token:
    /// `PREFIX`, `PREFIX=TOKEN` or `PREFIX=USER:TOKEN` (e.g. `https://github.com/acme/=ghp_…`).
    /// Members may register repositories under them; a token is sent only to its prefix, over TLS.
    #[arg(long, env = "SOCLE_GIT_HOSTS", hide_env_values = true)]
    pub git_hosts: Option<String>,
}

impl NetArgs {
    /// The trust roots: the system's plus --ca-file.
    pub fn tls(&self) -> anyhow::Result<socle_app::net::TlsRoots> {
        match &self.ca_file {
            None => Ok(socle_app::net::TlsRoots::default()),
            Some(path) => {
                super::must_exist(path)?;
                Ok(socle_app::net::TlsRoots::system_and(Some(path))?)
            }
        }
    }

    /// `https://` Git locations, mirrored under `DATA_DIR/git-mirrors`.
    pub fn remotes(&self, data_dir: &Path) -> anyhow::Result<socle_app::ingest::Remotes> {
        let hosts = match &self.git_hosts {
            None => Vec::new(),
            Some(list) => socle_app::net::GitHost::parse_list(list)
                .map_err(|e| anyhow::anyhow!("--git-hosts: {e}"))?,
        };
        Ok(socle_app::ingest::Remotes(std::sync::Arc::new(
            socle_app::net::GitMirrors::new(data_dir.join("git-mirrors"), hosts, self.tls()?),
        )))
    }
}

/// Where `publish:github` and `publish:gitlab` create repositories.
#[derive(Args, Clone)]
pub struct GitHostArgs {
    /// GitHub's REST API (https://, or http:// for a local mirror or proxy).
    #[arg(
        long,
        env = "SOCLE_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    github_api_url: String,
    /// Token for publish:github.
    #[arg(long, env = "SOCLE_GITHUB_TOKEN", hide_env_values = true)]
    github_token: Option<String>,
    /// GitLab's REST API (v4).
    #[arg(
        long,
        env = "SOCLE_GITLAB_API_URL",
        default_value = "https://gitlab.com/api/v4"
    )]
    gitlab_api_url: String,
    /// Token for publish:gitlab.
    #[arg(long, env = "SOCLE_GITLAB_TOKEN", hide_env_values = true)]
    gitlab_token: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl GitHostArgs {
    /// The GitHub and GitLab APIs that have a token, trusting the system's roots plus --ca-file.
    pub fn apis(
        &self,
    ) -> anyhow::Result<(
        Option<socle_app::git_hosts::HostApi>,
        Option<socle_app::git_hosts::HostApi>,
    )> {
        let tls = self.net.tls()?;
        let api = |base: &str, token: &Option<String>| {
            token.clone().map(|token| socle_app::git_hosts::HostApi {
                base: base.to_owned(),
                token,
                tls: tls.clone(),
            })
        };
        Ok((
            api(&self.github_api_url, &self.github_token),
            api(&self.gitlab_api_url, &self.gitlab_token),
        ))
    }
}

/// What a command's application is built from: the store's directory, `--platform`,
/// `--guardrails` and input limits. The server adds its own settings on top.
pub struct AppSetup<'a> {
    pub store: &'a StoreArgs,
    pub platform: Option<&'a PathBuf>,
    pub guardrails: &'a str,
    pub limits: Limits,
}

impl AppSetup<'_> {
    /// The application's settings: the platform and guardrails loaded, GitOps repositories in
    /// the data directory, command provisioners run from the platform directory.
    pub fn config(&self) -> anyhow::Result<socle_app::AppConfig> {
        Ok(socle_app::AppConfig {
            platform: read_platform(self.platform, &self.limits)?,
            guardrails: load_guardrails(self.guardrails, self.platform.map(PathBuf::as_path))?,
            provisioner_dir: self.platform.cloned().unwrap_or_else(|| PathBuf::from(".")),
            gitops_root: self.store.data_dir.clone(),
            limits: self.limits.clone(),
            refresh_interval: None,
            scorecards: load_scorecards(self.platform, &self.limits)?,
            surveys: load_surveys(self.platform, &self.limits)?,
            data_access: load_data_access(self.platform.map(PathBuf::as_path))?,
            ..Default::default()
        })
    }
}

/// The scorecards: the built-in ones and the `scorecards/*.yaml` of the platform directory
/// (an admin-trusted source), and the campaigns of its `campaigns/*.yaml`, each error at its
/// file and line.
pub fn load_scorecards(
    dir: Option<&PathBuf>,
    limits: &Limits,
) -> anyhow::Result<socle_app::scorecards::Scorecards> {
    let mut cards = Vec::new();
    let mut campaigns = Vec::new();
    if let Some(dir) = dir {
        let source = platform_source(dir)?;
        let files = read_files(source.as_ref(), limits.max_file_bytes, |rel| {
            (rel.starts_with("scorecards/") || rel.starts_with("campaigns/"))
                && (rel.ends_with(".yaml") || rel.ends_with(".yml"))
        })?;
        let mut errors = 0;
        let mut report = |es: Vec<socle_scorecard::ScorecardError>| {
            for e in &es {
                eprintln!("{e}");
            }
            errors += es.len();
        };
        for (name, text) in &files {
            if name.starts_with("campaigns/") {
                match socle_scorecard::load_campaigns(text, name) {
                    Ok(mut c) => campaigns.append(&mut c),
                    Err(es) => report(es),
                }
            } else {
                match socle_scorecard::load(text, name) {
                    Ok(mut c) => cards.append(&mut c),
                    Err(es) => report(es),
                }
            }
        }
        if errors > 0 {
            anyhow::bail!(
                "the scorecards and campaigns in {} are invalid ({errors} errors)",
                dir.display()
            );
        }
    }
    socle_app::scorecards::Scorecards::with_campaigns(cards, campaigns)
        .map_err(|e| anyhow::anyhow!(e))
}

/// The surveys: the built-in DevEx survey and the `surveys/*.yaml` of the platform directory
/// (an admin-trusted source), each error at its file and line.
pub fn load_surveys(
    dir: Option<&PathBuf>,
    limits: &Limits,
) -> anyhow::Result<socle_app::surveys::Surveys> {
    let mut surveys = Vec::new();
    if let Some(dir) = dir {
        let source = platform_source(dir)?;
        let files = read_files(source.as_ref(), limits.max_file_bytes, |rel| {
            rel.starts_with("surveys/") && (rel.ends_with(".yaml") || rel.ends_with(".yml"))
        })?;
        let mut errors = 0;
        for (name, text) in &files {
            match socle_survey::load(text, name) {
                Ok(mut s) => surveys.append(&mut s),
                Err(es) => {
                    for e in &es {
                        eprintln!("{e}");
                    }
                    errors += es.len();
                }
            }
        }
        if errors > 0 {
            anyhow::bail!(
                "the surveys in {}/surveys are invalid ({errors} errors)",
                dir.display()
            );
        }
    }
    socle_app::surveys::Surveys::new(surveys).map_err(|e| anyhow::anyhow!(e))
}

/// The application over `store` with `config` (the catalog loaded).
pub async fn open_app(
    store: Store,
    config: socle_app::AppConfig,
) -> anyhow::Result<std::sync::Arc<socle_app::App>> {
    socle_app::App::new(store, config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the catalog: {e}"))
}

/// The platform configuration (`--platform DIR`; default: the shipped one).
pub fn read_platform(
    dir: Option<&PathBuf>,
    limits: &Limits,
) -> anyhow::Result<socle_platform::PlatformConfig> {
    let Some(dir) = dir else {
        return Ok(socle_platform::default_config());
    };
    let source = platform_source(dir)?;
    // `policies/` holds guardrails (Rego and their data), not platform documents.
    let files = read_files(source.as_ref(), limits.max_file_bytes, |rel| {
        !rel.starts_with("policies/")
            && !rel.starts_with("scorecards/")
            && !rel.starts_with("surveys/")
            && !rel.starts_with("data-access/")
            && (rel.ends_with(".yaml") || rel.ends_with(".yml"))
    })?;
    socle_platform::load_config(&files, limits).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        anyhow::anyhow!(
            "the platform configuration in {} is invalid ({} errors)",
            dir.display(),
            errors.len()
        )
    })
}

/// `--guardrails`: `none`, `builtin`, `platform` (the pack plus the `policies/` of `--platform`) or a
/// policy directory.
pub fn load_guardrails(
    spec: &str,
    platform: Option<&Path>,
) -> anyhow::Result<Option<socle_policy::PolicySet>> {
    let set = match spec {
        "none" => return Ok(None),
        "builtin" => socle_policy::PolicySet::builtin(None),
        // The built-in pack plus the platform's own policies and data (which configure the pack:
        // `socle.disabled_rules`, `socle.allowed_registries`, …).
        "platform" => {
            let dir = platform.context("--guardrails platform needs --platform DIR")?;
            let mut files = socle_policy::builtin_files();
            let source = platform_source(dir)?;
            files.extend(read_files(source.as_ref(), 4 << 20, |rel| {
                rel.starts_with("policies/") && is_policy_file(rel)
            })?);
            socle_policy::PolicySet::load(&files, "main")
        }
        dir => socle_policy::PolicySet::load(&policy_files(Path::new(dir))?, "main"),
    };
    Ok(Some(set.map_err(|e| anyhow::anyhow!("{e}"))?))
}

/// The data access policy: Socle's built-in rules plus the platform's `data-access/*.rego` and
/// data (package `socle.data.access`); None when the platform adds none.
pub fn load_data_access(
    platform: Option<&Path>,
) -> anyhow::Result<Option<std::sync::Arc<socle_policy::PolicySet>>> {
    let Some(dir) = platform else {
        return Ok(None);
    };
    let source = platform_source(dir)?;
    let files = read_files(source.as_ref(), 4 << 20, |rel| {
        rel.starts_with("data-access/") && is_policy_file(rel)
    })?;
    if files.is_empty() {
        return Ok(None);
    }
    let set = socle_app::data_access::access_policy(&files).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(std::sync::Arc::new(set)))
}

/// A policy directory's Rego and data files, named as `dir/…`.
pub fn policy_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    super::must_exist(dir)?;
    let source = socle_ingest::FsSource::new(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut files = Vec::new();
    for rel in source.files().map_err(|e| anyhow::anyhow!("{e}"))? {
        if hidden(&rel) || !is_policy_file(&rel) {
            continue;
        }
        let path = dir.join(&rel);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    files.sort();
    Ok(files)
}

fn is_policy_file(rel: &str) -> bool {
    [".rego", ".json", ".yaml", ".yml"]
        .iter()
        .any(|e| rel.ends_with(e))
}

fn hidden(rel: &str) -> bool {
    rel.split('/').any(|p| p.starts_with('.'))
}

/// The platform configuration directory as a source. A Git repository (bare, or a checkout) is
/// read at its HEAD commit — the reviewed configuration, not whatever is in the working tree; a
/// plain directory as it is.
fn platform_source(dir: &Path) -> anyhow::Result<Box<dyn Source>> {
    let is_git =
        dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir());
    Ok(if is_git {
        Box::new(
            socle_ingest::GitSource::open(&dir.to_string_lossy(), None)
                .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?,
        )
    } else {
        Box::new(
            socle_ingest::FsSource::new(dir)
                .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?,
        )
    })
}

/// The platform configuration's files that `wanted` keeps (never hidden ones), as UTF-8 text,
/// sorted by name.
fn read_files(
    source: &dyn Source,
    max_bytes: usize,
    wanted: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for rel in source
        .files()
        .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?
    {
        if hidden(&rel) || !wanted(&rel) {
            continue;
        }
        let bytes = source
            .read(&rel, max_bytes)
            .map_err(|e| anyhow::anyhow!("platform configuration {rel}: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("platform configuration {rel} is not UTF-8"))?;
        files.push((source.display(&rel), text));
    }
    files.sort();
    Ok(files)
}
