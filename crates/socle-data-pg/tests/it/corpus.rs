//! Same verdicts as the peer: every contract of conformance/data-test is tested on the fixture
//! loaded into PostgreSQL, and every check's verdict must equal datacontract-cli's, recorded in
//! expected.json by scripts/data-test-expected.sh (check by check, in order, by key).

use std::path::PathBuf;

use serde::Deserialize;
use socle_data_pg::RunOptions;

use crate::engine::{Fixture, run_contract};

#[derive(Deserialize)]
struct Expected {
    tool: String,
    contracts: std::collections::BTreeMap<String, Vec<PeerCheck>>,
}

#[derive(Deserialize)]
struct PeerCheck {
    key: Option<String>,
    result: Option<String>,
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/data-test"
    ))
}

fn expected() -> Expected {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

/// Socle's key without the `__2` it gives a second rule of the same metric on one column.
fn peer_key(key: &str) -> &str {
    match key.rsplit_once("__") {
        Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => key,
    }
}

#[tokio::test]
async fn every_check_has_datacontract_clis_verdict() {
    let Some(fixture) = Fixture::load("corpus").await else {
        return;
    };
    let expected = expected();
    assert!(
        expected.tool.starts_with("datacontract-cli 1.2."),
        "{}",
        expected.tool
    );
    let mut differences = Vec::new();
    let mut compared = 0;
    for (file, peer) in &expected.contracts {
        let ours = run_contract(
            &fixture,
            &corpus_dir().join(file),
            RunOptions::at(crate::engine::now()),
        )
        .await;
        if ours.len() != peer.len() {
            let keys: Vec<&str> = ours.iter().map(|r| r.key.as_str()).collect();
            differences.push(format!(
                "{file}: {} checks, datacontract-cli has {}: {keys:?}",
                ours.len(),
                peer.len()
            ));
            continue;
        }
        for (o, p) in ours.iter().zip(peer) {
            let Some(peer_key_) = &p.key else { continue };
            if peer_key(&o.key) != peer_key_ {
                differences.push(format!(
                    "{file}: check {} where datacontract-cli has {peer_key_}",
                    o.key
                ));
                continue;
            }
            if let Some(result) = &p.result {
                compared += 1;
                if o.result.as_str() != result {
                    differences.push(format!(
                        "{file}: {}: {} ({}) where datacontract-cli says {result}",
                        o.key,
                        o.result.as_str(),
                        o.reason.as_deref().unwrap_or("no reason")
                    ));
                }
            }
        }
    }
    fixture.drop().await;
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    assert!(compared >= 100, "only {compared} checks compared");
}
