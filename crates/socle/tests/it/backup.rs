//! `socle backup` and `socle restore` through the binary: a demo-sized store backed up while a
//! token and a location are in it, restored into a new data directory with the same data;
//! PostgreSQL is pg_dump's job.

use super::cli::socle;

#[test]
fn backup_then_restore_into_a_new_data_directory() {
    let src = tempfile::tempdir().unwrap();
    let data = src.path().join("data");
    let out = socle(
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--subject",
            "serviceaccount:ci",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = src.path().join("backup.db");
    let out = socle(
        &["backup", "--to", file.to_str().unwrap(), "-o", "json"],
        &data,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["tokens"], 1);

    let dst = tempfile::tempdir().unwrap();
    let restored = dst.path().join("data");
    let out = socle(
        &["restore", "--from", file.to_str().unwrap(), "-o", "json"],
        &restored,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = socle(&["token", "list", "-o", "json"], &restored);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"][0]["name"], "ci");

    // A second restore over the data it now holds needs --force.
    let out = socle(&["restore", "--from", file.to_str().unwrap()], &restored);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
}

#[test]
fn a_postgresql_store_is_pg_dumps_job() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in [
        &["backup", "--to", "b.db"][..],
        &["restore", "--from", "b.db"][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--database-url", "postgres://socle@127.0.0.1:9/socle"]);
        let out = socle(&args, tmp.path());
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("pg_dump"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
