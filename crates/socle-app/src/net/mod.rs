//! Outbound network access: TLS trust roots ([`tls`]), one HTTP/1.1 exchange over TCP or TLS
//! ([`http`], the host actions' REST calls) and Git over HTTPS into local mirrors ([`git`]).

pub mod git;
pub mod http;
pub mod otlp;
pub mod tls;

pub use git::{GitHost, GitMirrors};
pub use http::{Endpoint, ExchangeError, NetError, exchange};
pub use tls::{TlsError, TlsRoots};
