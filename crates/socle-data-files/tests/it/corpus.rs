//! Same verdicts as the peer on files: conformance/data-test/files/orders.odcs.yaml is tested
//! on its CSV and its JSON Lines server (orders-parquet.odcs.yaml on its Parquet server), on data rendered from data/*.in, and every check's
//! verdict must equal datacontract-cli's, recorded in files/expected.json by
//! scripts/data-test-files-expected.sh. Compared by key; the peer's JSON runs leave out most
//! `field_is_present` checks and add JSON Schema checks per row (no key): docs/data.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::{render_corpus, run_server};

#[derive(Deserialize)]
struct Expected {
    tool: String,
    servers: BTreeMap<String, Vec<PeerCheck>>,
}

#[derive(Deserialize)]
struct PeerCheck {
    key: Option<String>,
    result: Option<String>,
}

fn expected() -> Expected {
    let dir = crate::engine::corpus_dir();
    let text = std::fs::read_to_string(dir.join("expected.json")).expect("files/expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

#[tokio::test]
async fn every_check_on_csv_json_lines_and_parquet_has_datacontract_clis_verdict() {
    let expected = expected();
    assert!(
        expected.tool.starts_with("datacontract-cli 1.2."),
        "{}",
        expected.tool
    );
    let dir = render_corpus();
    let mut differences = Vec::new();
    let mut compared = 0;
    for (server, peer) in &expected.servers {
        let ours = run_server(dir.path(), server, false).await;
        for p in peer {
            let (Some(key), Some(result)) = (&p.key, &p.result) else {
                continue;
            };
            compared += 1;
            match ours.iter().find(|o| &o.key == key) {
                None => differences.push(format!("{server}: no check {key}")),
                Some(o) if o.result.as_str() != result => differences.push(format!(
                    "{server}: {key}: {} ({}) where datacontract-cli says {result}",
                    o.result.as_str(),
                    o.reason.as_deref().unwrap_or("no reason")
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert!(compared >= 85, "only {compared} checks compared");
    assert!(
        expected.servers.contains_key("parquet"),
        "the Parquet server is compared too"
    );
}
