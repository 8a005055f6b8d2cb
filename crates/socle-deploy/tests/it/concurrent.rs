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
