//! The trust roots of every outbound TLS connection Socle makes (the host actions' REST calls,
//! Git over HTTPS): the system's certificate store plus the PEM certificates of an extra CA
//! file (`SOCLE_CA_FILE`, read by the binary), in one rustls client configuration built once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// Why the trust roots could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    CaFile {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificate in the file", path.display())]
    EmptyCaFile { path: PathBuf },
    #[error("{what}: {source}")]
    Certificate { what: String, source: rustls::Error },
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

/// A rustls client configuration and the roots it trusts (cheap to clone).
#[derive(Clone)]
pub struct TlsRoots {
    config: Arc<rustls::ClientConfig>,
    /// How many roots are trusted (for messages and tests).
    roots: usize,
}

impl std::fmt::Debug for TlsRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsRoots({} roots)", self.roots)
    }
}

impl Default for TlsRoots {
    /// The system's roots (read once per process).
    fn default() -> Self {
        static SYSTEM: OnceLock<TlsRoots> = OnceLock::new();
        SYSTEM
            .get_or_init(|| Self::from_store(system_roots()).expect("a rustls configuration"))
            .clone()
    }
}

impl TlsRoots {
    /// The system's roots plus every certificate of `ca_file` (a PEM bundle), when given.
    pub fn system_and(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        let mut store = system_roots();
        if let Some(path) = ca_file {
            add_pem_file(&mut store, path)?;
        }
        Self::from_store(store)
    }

    /// Only the certificates of a PEM text (tests: a private CA and nothing else).
    pub fn only_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut store = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|source| TlsError::CaFile {
                path: PathBuf::from("<pem>"),
                source,
            })?;
            store.add(cert).map_err(|source| TlsError::Certificate {
                what: "<pem>".into(),
                source,
            })?;
        }
        Self::from_store(store)
    }

    fn from_store(store: RootCertStore) -> Result<Self, TlsError> {
        let roots = store.len();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            roots,
        })
    }

    /// The client configuration (HTTP/1.1 only: the host actions speak HTTP/1).
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }

    /// How many roots are trusted.
    pub fn len(&self) -> usize {
        self.roots
    }

    pub fn is_empty(&self) -> bool {
        self.roots == 0
    }
}

/// The system's certificate store; certificates it cannot parse are skipped (as every TLS
/// client does), an unreadable store gives no roots.
fn system_roots() -> RootCertStore {
    let mut store = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "system certificate store");
    }
    store.add_parsable_certificates(found.certs);
    store
}

fn add_pem_file(store: &mut RootCertStore, path: &Path) -> Result<(), TlsError> {
    let mut added = 0;
    for cert in CertificateDer::pem_file_iter(path).map_err(|source| TlsError::CaFile {
        path: path.to_owned(),
        source,
    })? {
        let cert = cert.map_err(|source| TlsError::CaFile {
            path: path.to_owned(),
            source,
        })?;
        store.add(cert).map_err(|source| TlsError::Certificate {
            what: path.display().to_string(),
            source,
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(TlsError::EmptyCaFile {
            path: path.to_owned(),
        });
    }
    Ok(())
}
