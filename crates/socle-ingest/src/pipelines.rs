//! Data pipelines in a location, as catalog relations: the SQL models under any `models/`
//! directory (`socle-data`'s pipeline reader: rendered, parsed, lineage from the SQL) joined
//! with the contracts their `config(contract=...)` names. A contract whose model reads another
//! model depends on that model's contract: `spec.dependsOn: datacontract:default/<name>` on
//! its entity (dataset → dataset). The job: when the pipeline's directory describes a
//! Component (`catalog-info.yaml` beside `models/`, e.g. of type `pipeline`), every contract
//! its models name depends on that component too — produced by it, as `producedBy` says
//! (job → dataset). A pipeline that cannot be read adds nothing here; `socle data lineage`
//! names its errors.

use std::collections::{BTreeMap, HashMap};

use socle_catalog::Limits;
use socle_data::pipeline::{self, Dataset, MAX_MODEL_BYTES, MAX_MODELS, ModelFile, RenderTarget};

use crate::source::Source;

/// Upstream contract references, per contract file (relative to the source's root).
#[derive(Debug, Default)]
pub struct PipelineLineage {
    upstream: HashMap<String, Vec<String>>,
}

impl PipelineLineage {
    /// The contracts the contract at `rel` is derived from, as entity references.
    pub fn upstream_of(&self, rel: &str) -> &[String] {
        self.upstream.get(rel).map_or(&[], Vec::as_slice)
    }
}

/// The pipeline root of a model file: the path before its `models/` directory.
fn root_of(rel: &str) -> Option<&str> {
    if !rel.ends_with(".sql") {
        return None;
    }
    if rel.starts_with("models/") {
        return Some("");
    }
    rel.find("/models/").map(|i| &rel[..=i])
}

/// Reads every pipeline of `files` in `src` (at most [`MAX_MODELS`] models each).
pub fn read(src: &dyn Source, files: &[String], limits: &Limits) -> PipelineLineage {
    let mut roots: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in files {
        if let Some(root) = root_of(f) {
            roots.entry(root).or_default().push(f);
        }
    }
    let mut out = PipelineLineage::default();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    for (root, models) in roots {
        if models.len() > MAX_MODELS {
            continue;
        }
        let Some(links) = contract_links(src, root, &models) else {
            continue;
        };
        let job = job_ref(src, root, files, limits);
        for (contract, upstream) in links {
            let refs: Vec<String> = upstream
                .iter()
                .filter_map(|u| {
                    names
                        .entry(u.clone())
                        .or_insert_with(|| contract_ref(src, u, limits))
                        .clone()
                })
                .collect();
            let refs = refs.into_iter().chain(job.clone());
            out.upstream.entry(contract).or_default().extend(refs);
        }
    }
    out
}

/// Per contract of a model of the pipeline at `root`: the contracts of the models it reads.
fn contract_links(
    src: &dyn Source,
    root: &str,
    models: &[&str],
) -> Option<Vec<(String, Vec<String>)>> {
    let mut files = Vec::with_capacity(models.len());
    for rel in models {
        let bytes = src.read(rel, MAX_MODEL_BYTES).ok()?;
        files.push(ModelFile {
            path: rel[root.len()..].to_owned(),
            text: String::from_utf8(bytes).ok()?,
        });
    }
    let p = pipeline::load(&files, &RenderTarget::default()).ok()?;
    let contract_of = |name: &str| {
        p.model(name)
            .and_then(|m| m.config.contract.as_ref())
            .map(|c| joined(root, c))
    };
    let mut out = Vec::new();
    for m in &p.models {
        let Some(contract) = &m.config.contract else {
            continue;
        };
        let mut upstream: Vec<String> = m
            .reads
            .iter()
            .filter_map(|d| match d {
                Dataset::Model { name } => contract_of(name),
                _ => None,
            })
            .collect();
        upstream.dedup();
        out.push((joined(root, contract), upstream));
    }
    Some(out)
}

/// `component:<namespace>/<name>` of the first Component the pipeline's own
/// `catalog-info.yaml` describes, if any.
fn job_ref(src: &dyn Source, root: &str, files: &[String], limits: &Limits) -> Option<String> {
    let rel = ["catalog-info.yaml", "catalog-info.yml"]
        .iter()
        .map(|n| format!("{root}{n}"))
        .find(|r| files.contains(r))?;
    let bytes = src.read(&rel, limits.max_file_bytes).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let docs = socle_catalog::yaml::parse_documents(&text, limits).ok()?;
    docs.iter().map(|d| d.to_json()).find_map(|v| {
        let kind = v["kind"].as_str()?;
        if !kind.eq_ignore_ascii_case("component") {
            return None;
        }
        let name = v["metadata"]["name"].as_str()?;
        let namespace = v["metadata"]["namespace"].as_str().unwrap_or("default");
        Some(format!("component:{namespace}/{name}"))
    })
}

/// `root` + a contract path of a model's config, `.` and empty segments left out (the config
/// cannot hold `..` or an absolute path).
fn joined(root: &str, contract: &str) -> String {
    let rest: Vec<&str> = contract
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("{root}{}", rest.join("/"))
}

/// `datacontract:default/<name>` of the contract at `rel`, if it reads as one.
fn contract_ref(src: &dyn Source, rel: &str, limits: &Limits) -> Option<String> {
    let bytes = src.read(rel, limits.max_file_bytes).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let c = socle_data::load(&text, rel, limits).ok()?;
    let entity = socle_data::to_entity(&c).ok()?;
    let name = entity["metadata"]["name"].as_str()?;
    Some(format!("datacontract:default/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_file_s_pipeline_root_is_before_its_models_directory() {
        assert_eq!(root_of("models/a.sql"), Some(""));
        assert_eq!(root_of("shop/models/gold/a.sql"), Some("shop/"));
        assert_eq!(root_of("shop/models/a.yaml"), None);
        assert_eq!(root_of("shop/a.sql"), None);
    }

    #[test]
    fn a_contract_path_is_joined_to_its_pipeline_s_root() {
        assert_eq!(
            joined("shop/", "./contracts//o.odcs.yaml"),
            "shop/contracts/o.odcs.yaml"
        );
        assert_eq!(joined("", "o.odcs.yaml"), "o.odcs.yaml");
    }
}
