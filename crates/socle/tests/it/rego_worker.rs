//! The Rego worker (`socle __rego-worker`): a caller's own policy tests run in a child process
//! whose allocator stops it past a memory ceiling — the attack that took the server down
//! (`numbers.range(0, 1e12)`) ends the child, not the server — and through the API as `socle
//! serve` runs them.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use socle_app::cpu::{CpuGate, RegoRunner, WORKER_MEMORY_EXIT, WorkerRequest, WorkerResponse};

const BOMB: &str =
    "package main\n\ntest_bomb if {\n\tcount(numbers.range(0, 1000000000000)) > 0\n}\n";
const GROWS: &str = "package main\n\ntest_grows if {\n\txs := [x | some x in numbers.range(0, 50000000)]\n\tcount(xs) > 0\n}\n";
const FINE: &str =
    "package main\n\ntest_ok if {\n\t1 + 1 == 2\n}\n\ntest_fails if {\n\t1 == 2\n}\n";

fn worker(files: &[(&str, &str)], memory: u64) -> (Option<i32>, Vec<u8>) {
    let req = WorkerRequest::Test {
        files: files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(["__rego-worker", &memory.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&req).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), out.stdout)
}

#[test]
fn a_huge_range_ends_the_worker_at_its_ceiling() {
    let (code, out) = worker(&[("bomb.rego", BOMB)], 256 << 20);
    assert_eq!(
        code,
        Some(WORKER_MEMORY_EXIT),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn memory_that_grows_step_by_step_ends_the_worker_too() {
    let (code, _) = worker(&[("grows.rego", GROWS)], 64 << 20);
    assert_eq!(code, Some(WORKER_MEMORY_EXIT));
}

#[test]
fn ordinary_tests_pass_and_fail_in_the_worker() {
    let (code, out) = worker(&[("t.rego", FINE)], 256 << 20);
    assert_eq!(code, Some(0));
    let WorkerResponse::Tests(results) = serde_json::from_slice(&out).unwrap() else {
        panic!("{}", String::from_utf8_lossy(&out))
    };
    assert_eq!(
        results,
        [
            ("data.main.test_fails".to_owned(), false),
            ("data.main.test_ok".to_owned(), true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_reports_the_ceiling_as_a_policy_limit() {
    let runner = RegoRunner::Worker {
        exe: env!("CARGO_BIN_EXE_socle").into(),
        memory_bytes: 128 << 20,
        timeout: Duration::from_secs(30),
    };
    let gate = CpuGate::new(1, 1, Duration::from_secs(5));
    let req = WorkerRequest::Test {
        files: vec![("bomb.rego".into(), BOMB.into())],
    };
    let err = runner.run(&gate, req).await.err().expect("refused");
    assert_eq!(err.code.http_status(), 422);
    assert_eq!(err.code, socle_app::ErrorCode::PolicyLimit);
    assert!(err.message.contains("more than 128 MiB"), "{}", err.message);
}
