//! Two writers of one GitOps branch (two processes or replicas: separate repository handles)
//! committing at once: every commit lands, none is lost to the other's ref update.

use std::collections::BTreeMap;

use socle_deploy::gitops;

#[test]
fn concurrent_writers_of_one_branch_lose_no_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitops.git");
    gitops::open_or_init(&path).unwrap();
    let writers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let repo = gix::open(&path).unwrap();
                for i in 0..10 {
                    let file = format!("{w}/{i}.yaml");
                    let files = BTreeMap::from([(file.clone(), format!("{w} {i}\n").into_bytes())]);
                    let out = gitops::commit(
                        &repo,
                        "main",
                        &[],
                        &files,
                        &format!("{w} {i}"),
                        ("t", "t@example.com"),
                        1_700_000_000,
                    )
                    .unwrap();
                    assert!(out.changed);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let repo = gix::open(&path).unwrap();
    assert_eq!(gitops::log(&repo, "main").unwrap().len(), 30);
    let files = gitops::files_at(&repo, "main", "").unwrap();
    assert_eq!(files.len(), 30, "{:?}", files.keys().collect::<Vec<_>>());
}

/// Plants `main`'s lock file, as a writer killed while updating the branch leaves it, aged `age`.
fn plant_lock(path: &std::path::Path, age: std::time::Duration) -> std::path::PathBuf {
    let lock = path.join("refs/heads/main.lock");
    let file = std::fs::File::create(&lock).unwrap();
    file.set_modified(std::time::SystemTime::now() - age)
        .unwrap();
    lock
}

fn commit_one(path: &std::path::Path, name: &str) -> Result<gitops::CommitOutcome, String> {
    let repo = gix::open(path).unwrap();
    let files = BTreeMap::from([(format!("{name}.yaml"), b"x: 1\n".to_vec())]);
    gitops::commit(
        &repo,
        "main",
        &[],
        &files,
        name,
        ("t", "t@example.com"),
        1_700_000_000,
    )
    .map_err(|e| e.to_string())
}

/// A repository whose `main` holds one commit.
fn one_commit() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitops.git");
    gitops::open_or_init(&path).unwrap();
    commit_one(&path, "first").unwrap();
    (dir, path)
}

#[test]
fn a_lock_left_by_a_dead_writer_does_not_block_the_branch_forever() {
    let (_dir, path) = one_commit();
    let lock = plant_lock(
        &path,
        gitops::STALE_LOCK + std::time::Duration::from_secs(1),
    );
    let out = commit_one(&path, "second").expect("the stale lock is removed");
    assert!(out.changed);
    assert!(!lock.exists());
    let repo = gix::open(&path).unwrap();
    assert_eq!(gitops::log(&repo, "main").unwrap().len(), 2);
}

#[test]
fn a_fresh_lock_is_respected() {
    let (_dir, path) = one_commit();
    let lock = plant_lock(&path, std::time::Duration::ZERO);
    let err = commit_one(&path, "second").expect_err("a live writer's lock is not taken");
    assert!(err.contains("prepare reference edit"), "{err}");
    assert!(lock.exists());
    let repo = gix::open(&path).unwrap();
    assert_eq!(gitops::log(&repo, "main").unwrap().len(), 1);
}
