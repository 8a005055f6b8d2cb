//! A real OpenLDAP `slapd` (Debian's `slapd` package) for the org sync tests: its own
//! `slapd.conf` (mdb backend) in a test directory, an LDIF loaded with `slapadd` before it
//! starts, on 127.0.0.1 at a free port — with `ldaps://` and StartTLS when given a [`TestCa`].
//! Absent binaries skip the test, unless `SOCLE_REQUIRE_LDAP` is set (CI), which fails it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::https::TestCa;

/// The organisation fixture: nested groups, users, hostile values (`fixtures/org.ldif`).
pub const ORG_LDIF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/org.ldif");
/// The fixture's suffix.
pub const BASE_DN: &str = "dc=example,dc=org";
/// The directory's administrator (rootdn) and password.
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// A running slapd; stopped when dropped.
pub struct Slapd {
    child: Child,
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    /// `ldaps://127.0.0.1:PORT` when started with TLS.
    pub ldaps_url: Option<String>,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `slapd` and `slapadd`, from PATH or /usr/sbin (not on a user's PATH on Debian).
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str| -> Option<PathBuf> {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    match (find("slapd"), find("slapadd")) {
        (Some(d), Some(a)) => Some((d, a)),
        _ => {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_LDAP").is_none(),
                "slapd and slapadd are required (Debian package slapd)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn config(dir: &Path, tls: Option<&TestCa>) -> String {
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis"] {
        let _ = writeln!(conf, "include /etc/ldap/schema/{schema}.schema");
    }
    let _ = writeln!(conf, "modulepath /usr/lib/ldap\nmoduleload back_mdb");
    let _ = writeln!(conf, "pidfile {}", dir.join("slapd.pid").display());
    if let Some(ca) = tls {
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("a TLS file");
            p
        };
        let ca_file = write("ca.pem", &ca.ca_pem);
        let cert = write("server.pem", &ca.server_cert_pem);
        let key = write("server.key", &ca.server_key_pem);
        let _ = writeln!(conf, "TLSCACertificateFile {}", ca_file.display());
        let _ = writeln!(conf, "TLSCertificateFile {}", cert.display());
        let _ = writeln!(conf, "TLSCertificateKeyFile {}", key.display());
    }
    let _ = writeln!(
        conf,
        "database mdb\nmaxsize 104857600\nsuffix \"{BASE_DN}\"\nrootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PASSWORD}\ndirectory {}",
        dir.join("db").display()
    );
    conf
}

/// Starts slapd in `dir` with `ldif` loaded (and TLS with `tls`'s server certificate); None
/// when slapd is not installed (see the module's note).
pub fn start(dir: &Path, ldif: &Path, tls: Option<&TestCa>) -> Option<Slapd> {
    let (slapd, slapadd) = binaries()?;
    std::fs::create_dir_all(dir.join("db")).expect("a database directory");
    let conf = dir.join("slapd.conf");
    std::fs::write(&conf, config(dir, tls)).expect("slapd.conf");
    let out = Command::new(&slapadd)
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(ldif)
        .output()
        .expect("slapadd runs");
    assert!(
        out.status.success(),
        "slapadd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let url = format!("ldap://127.0.0.1:{port}");
    let mut listen = format!("{url}/");
    let ldaps_url = tls.map(|_| {
        let u = format!("ldaps://127.0.0.1:{}", free_port());
        listen.push_str(&format!(" {u}/"));
        u
    });
    // `-d 0`: in the foreground (a child the test owns), no debug output.
    let child = Command::new(&slapd)
        .arg("-f")
        .arg(&conf)
        .arg("-h")
        .arg(&listen)
        .args(["-d", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("slapd starts");
    let server = Slapd {
        child,
        url,
        ldaps_url,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "slapd did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}
