//! The process runner's failures are typed: a caller can tell a program that failed from one
//! that could not start, and each still reads as before.

use serde_json::json;
use socle_deploy::ProcessRunner;
use socle_platform::provision::{CommandError, CommandRunner};

#[cfg(unix)]
#[test]
fn a_failing_program_reports_its_status_and_stderr() {
    let runner = ProcessRunner::new("/");
    let args = [
        "-c".to_owned(),
        "echo 'no quota left' >&2; exit 3".to_owned(),
    ];
    let e = runner.run("sh", &args, &json!({})).unwrap_err();
    assert!(
        matches!(&e, CommandError::Exited { status, stderr }
            if status.code() == Some(3) && stderr == "no quota left"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "exited with exit status: 3: no quota left");
}

#[cfg(unix)]
#[test]
fn a_program_that_cannot_start_is_named_with_its_path() {
    let runner = ProcessRunner::new("/nonexistent-socle-dir");
    let e = runner
        .run("./provisioners/missing", &[], &json!({}))
        .unwrap_err();
    let CommandError::Start { program, source } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(
        program,
        &std::path::Path::new("/nonexistent-socle-dir").join("./provisioners/missing")
    );
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(
        e.to_string()
            .starts_with("cannot start /nonexistent-socle-dir/./provisioners/missing: "),
        "{e}"
    );
}
