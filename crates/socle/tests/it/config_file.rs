//! `socle.yaml` through the binary: a flag beats its environment variable, which beats the
//! file, which beats the default; a bad file stops the command with `FILE:LINE: message`.

use std::path::Path;
use std::process::{Command, Output};

fn socle(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .env_remove("SOCLE_LISTEN")
        .env_remove("SOCLE_CONFIG")
        .env_remove("SOCLE_DATA_DIR")
        .env_remove("SOCLE_DATABASE_URL")
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("socle runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn flag_then_environment_then_file_then_default() {
    let dir = tempfile::tempdir().unwrap();
    // Addresses that cannot be listened on: the error names the one that won, before
    // anything is created.
    std::fs::write(
        dir.path().join("socle.yaml"),
        "# Socle's settings\nlisten: from-the-file\ndata-dir: ./from-file-data\n",
    )
    .unwrap();
    let file_only = socle(dir.path(), &["serve", "--config", "socle.yaml"], &[]);
    assert_eq!(file_only.status.code(), Some(1));
    assert!(
        stderr(&file_only).contains("cannot listen on from-the-file"),
        "{}",
        stderr(&file_only)
    );
    let by_env_file = socle(dir.path(), &["serve"], &[("SOCLE_CONFIG", "socle.yaml")]);
    assert!(
        stderr(&by_env_file).contains("cannot listen on from-the-file"),
        "{}",
        stderr(&by_env_file)
    );
    let env = socle(
        dir.path(),
        &["serve", "--config", "socle.yaml"],
        &[("SOCLE_LISTEN", "from-the-environment")],
    );
    assert!(
        stderr(&env).contains("cannot listen on from-the-environment"),
        "{}",
        stderr(&env)
    );
    let flag = socle(
        dir.path(),
        &[
            "serve",
            "--config",
            "socle.yaml",
            "--listen",
            "from-the-flag",
        ],
        &[("SOCLE_LISTEN", "from-the-environment")],
    );
    assert!(
        stderr(&flag).contains("cannot listen on from-the-flag"),
        "{}",
        stderr(&flag)
    );
    assert!(
        !dir.path().join("from-file-data").exists(),
        "nothing created"
    );
    // The store settings reach the CLI's other commands too.
    let tokens = socle(
        dir.path(),
        &["token", "list"],
        &[("SOCLE_CONFIG", "socle.yaml")],
    );
    assert_eq!(tokens.status.code(), Some(1));
    assert!(
        stderr(&tokens).contains("from-file-data"),
        "{}",
        stderr(&tokens)
    );
    // A setting that had no environment variable before has one now.
    let interval = socle(
        dir.path(),
        &["serve", "--config", "socle.yaml"],
        &[("SOCLE_REFRESH_INTERVAL", "often")],
    );
    assert_eq!(interval.status.code(), Some(2), "{}", stderr(&interval));
    assert!(stderr(&interval).contains("often"), "{}", stderr(&interval));
}

#[test]
fn a_bad_file_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("socle.yaml"),
        "listen: 0.0.0.0:7007\nauth-reads: true\nrefresh-intervall: 60\n",
    )
    .unwrap();
    let out = socle(dir.path(), &["serve", "--config", "socle.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: socle.yaml:3: unknown key `refresh-intervall` (did you mean `refresh-interval`?); keys are the flags of `socle serve --help` without `--`"
    );
    assert!(out.stdout.is_empty());
    let missing = socle(dir.path(), &["serve", "--config", "nope.yaml"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).starts_with("error: cannot read nope.yaml: "),
        "{}",
        stderr(&missing)
    );
}
