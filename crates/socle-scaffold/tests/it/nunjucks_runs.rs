//! Runs that rely on Backstage's behaviour: `copyWithoutTemplating` naming directories, output
//! links and text dropped by their `if`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use socle_scaffold::{MemWorkspace, RunOptions, RunResult, RunStatus};

use crate::memory::{MemSource, source, texts};

async fn run(template: &str, src: &MemSource, values: Value) -> (RunResult, Arc<MemWorkspace>) {
    let engine = crate::engine();
    let t = engine.load(template, "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let opts = RunOptions {
        workspace: ws.clone(),
        dry_run: true,
        user: json!({"ref": "user:default/ann"}),
        secrets: json!({}),
        live: None,
        cancel: None,
    };
    (engine.run(&t, src, values, opts).await, ws)
}

fn fetch(verbatim: &str) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  parameters:
    properties:
      name: {{type: string}}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        copyWithoutTemplating: [{verbatim:?}]
        values:
          name: ${{{{ parameters.name }}}}
"
    )
}

fn workflow_skeleton() -> MemSource {
    source(&[
        ("skeleton/README.md", "# ${{ values.name }}\n"),
        (
            "skeleton/.github/workflows/ci.yml",
            "run: echo ${{ github.sha }}\n",
        ),
        (
            "skeleton/.github/workflows/${{ values.name }}/deploy.yml",
            "ref: ${{ github.ref_name }}\n",
        ),
        ("skeleton/.github/CODEOWNERS", "* ${{ values.name }}\n"),
    ])
}

async fn workflow_files(verbatim: &str) -> BTreeMap<String, String> {
    let (r, ws) = run(
        &fetch(verbatim),
        &workflow_skeleton(),
        json!({"name": "shop"}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    texts(&ws)
}

#[tokio::test]
async fn copy_without_templating_a_directory_copies_everything_under_it_verbatim() {
    assert_eq!(
        workflow_files(".github/workflows").await,
        BTreeMap::from([
            ("README.md".to_owned(), "# shop\n".to_owned()),
            (".github/CODEOWNERS".to_owned(), "* shop\n".to_owned()),
            (
                ".github/workflows/ci.yml".to_owned(),
                "run: echo ${{ github.sha }}\n".to_owned()
            ),
            // The name is still rendered, as in Backstage.
            (
                ".github/workflows/shop/deploy.yml".to_owned(),
                "ref: ${{ github.ref_name }}\n".to_owned()
            ),
        ])
    );
}

#[tokio::test]
async fn copy_without_templating_reads_a_directory_written_with_dot_and_slash() {
    assert_eq!(
        workflow_files("./.github/workflows/").await,
        workflow_files(".github/workflows").await
    );
}

#[tokio::test]
async fn copy_without_templating_of_a_directory_does_not_cover_its_namesakes() {
    let files = workflow_files(".github/work").await;
    assert_eq!(files[".github/workflows/ci.yml"], "run: echo \n");
}

fn with_output(output: &str) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  parameters:
    properties:
      publish: {{type: boolean}}
  steps:
    - id: log
      action: debug:log
      input:
        message: hi
  output:
{output}"
    )
}

#[tokio::test]
async fn output_links_whose_if_is_false_are_dropped() {
    let t = with_output(
        "    links:
      - title: Always
        url: https://example.com/a
      - title: Published
        url: https://example.com/p
        if: ${{ parameters.publish }}
      - title: Literal
        url: https://example.com/l
        if: true
",
    );
    let (r, _) = run(&t, &source(&[]), json!({"publish": false})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.output,
        json!({"links": [
            {"title": "Always", "url": "https://example.com/a"},
            {"title": "Literal", "url": "https://example.com/l"},
        ]})
    );
}

#[tokio::test]
async fn output_text_whose_if_is_false_is_dropped() {
    let t = with_output(
        "    text:
      - title: Next steps
        content: Publish it
        if: ${{ not parameters.publish }}
      - title: Published
        content: Done
        if: ${{ parameters.publish }}
",
    );
    let (r, _) = run(&t, &source(&[]), json!({"publish": true})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.output,
        json!({"text": [{"title": "Published", "content": "Done"}]})
    );
}

#[tokio::test]
async fn a_dropped_output_link_is_not_evaluated() {
    let t = with_output(
        "    links:
      - title: Repository
        url: ${{ (parameters.missing | parseRepoUrl).repo }}
        if: ${{ parameters.publish }}
",
    );
    let (r, _) = run(&t, &source(&[]), json!({"publish": false})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(r.output, json!({"links": []}));
}
