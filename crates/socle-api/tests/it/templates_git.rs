//! A `Template` entity registered from a Git location runs with its skeleton read from the Git
//! tree (gix) — a bare repository, no checkout anywhere — at the commit the catalog read, until
//! the location is refreshed. On SQLite and PostgreSQL.

use std::path::Path;
use std::process::Command;

use hyper::StatusCode;
use serde_json::json;

use crate::harness::{Server, both};

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
";

const HELLO: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello-git
  title: Hello from Git
spec:
  owner: team-a
  type: documentation
  parameters:
    required: [who]
    properties:
      who: {type: string}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {who: '${{ parameters.who }}'}
    - id: read
      action: fs:read
      input:
        path: docs/README.md
  output:
    text:
      - title: README
        content: ${{ steps.read.output.content }}
";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// Commits `readme` as the skeleton's README in `work` and pushes it to `bare`.
fn commit_readme(work: &Path, readme: &str) {
    std::fs::write(work.join("templates/hello/skeleton/docs/README.md"), readme).unwrap();
    git(work, &["add", "."]);
    git(work, &["commit", "-q", "-m", "readme"]);
    git(work, &["push", "-q", "origin", "main"]);
}

/// A bare repository holding the template and its skeleton; (bare, work clone).
fn template_repo(s: &Server) -> (std::path::PathBuf, std::path::PathBuf) {
    let root = s.dir.path().join("repos");
    let bare = root.join("templates.git");
    let work = root.join("work");
    std::fs::create_dir_all(work.join("templates/hello/skeleton/docs")).unwrap();
    git(
        &root,
        &["init", "-q", "--bare", "-b", "main", "templates.git"],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["remote", "add", "origin", &bare.to_string_lossy()]);
    std::fs::write(work.join("templates/hello/template.yaml"), HELLO).unwrap();
    commit_readme(&work, "Hello ${{ values.who }}!\n");
    (bare, work)
}

async fn readme_of_a_dry_run(s: &Server, token: &str) -> String {
    let (status, run) = s
        .call(
            "POST",
            "/api/v1/templates/hello-git/runs",
            Some(token),
            Some(json!({"values": {"who": "world"}, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(
        run["files"],
        json!([{"path": "docs/README.md", "size": run["files"][0]["size"]}])
    );
    run["output"]["text"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_template_from_git_runs_from_the_tree_the_catalog_read(s: &Server) {
    s.register_catalog(ORG).await;
    let ann = s.token("ann", "member").await;
    let (bare, work) = template_repo(s);
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&s.admin),
            Some(
                json!({"type": "git", "target": bare.to_string_lossy(), "branch": "main",
                        "path": "templates/hello/template.yaml"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let location = body["location"]["id"].as_str().unwrap().to_owned();
    let (_, list) = s.call("GET", "/api/v1/templates", None, None).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "hello-git"),
        "{list}"
    );
    assert_eq!(readme_of_a_dry_run(s, &ann).await, "Hello world!\n");

    // The branch moves on: runs keep the commit the catalog read (template and skeleton from
    // one tree) until the location is refreshed.
    commit_readme(&work, "Bye ${{ values.who }}!\n");
    assert_eq!(readme_of_a_dry_run(s, &ann).await, "Hello world!\n");
    s.refresh(&location).await;
    assert_eq!(readme_of_a_dry_run(s, &ann).await, "Bye world!\n");
}
both!(a_template_from_git_runs_from_the_tree_the_catalog_read);

async fn a_git_template_whose_skeleton_is_missing_fails_at_its_step(s: &Server) {
    s.register_catalog(ORG).await;
    let ann = s.token("ann", "member").await;
    let (bare, work) = template_repo(s);
    std::fs::write(
        work.join("templates/hello/template.yaml"),
        HELLO.replace("./skeleton", "./nowhere"),
    )
    .unwrap();
    git(&work, &["commit", "-q", "-am", "broken"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&s.admin),
            Some(
                json!({"type": "git", "target": bare.to_string_lossy(), "branch": "main",
                        "path": "templates/hello/template.yaml"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/templates/hello-git/runs",
            Some(&ann),
            Some(json!({"values": {"who": "world"}, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let message = e["error"]["details"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"./nowhere\" not found next to the template"),
        "{message}"
    );
}
both!(a_git_template_whose_skeleton_is_missing_fails_at_its_step);
