//! Reading SLO files: every YAML document of a file, recognised by its version/kind, mapped to
//! [`SloGroup`]s and checked with Sloth's rules; errors carry file, line and field path.

use serde::de::DeserializeOwned;
use socle_catalog::Limits;
use socle_catalog::yaml::{Node, NodeValue, Seg, parse_documents, path_string};

use crate::gofmt::PromDuration;
use crate::model::{K8sMeta, SloError, SloGroup, SpecKind};
use crate::openslo;
use crate::spec::{self, K8sDoc, OsloAlphaDoc, PromSpec};
use crate::validate::validate_slo;
use crate::windows::WindowCatalog;

/// What SLOs are checked against: the default SLO period and the alert windows catalog.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub default_period: PromDuration,
    pub windows: WindowCatalog,
    pub limits: Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            default_period: PromDuration::days(30),
            windows: WindowCatalog::default(),
            limits: Limits::default(),
        }
    }
}

struct Doc<'a> {
    file: &'a str,
    node: &'a Node,
}

impl Doc<'_> {
    fn error(&self, path: &[Seg], message: impl Into<String>) -> SloError {
        SloError {
            file: self.file.to_owned(),
            line: Some(self.node.locate(path).0),
            path: path_string(path),
            message: message.into(),
        }
    }

    fn str_at(&self, k: &str) -> Option<&str> {
        match &self.node.value {
            NodeValue::Map(entries) => {
                entries
                    .iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| match &v.value {
                        NodeValue::String(s) => Some(s.as_str()),
                        _ => None,
                    })
            }
            _ => None,
        }
    }

    fn decode<T: DeserializeOwned>(&self) -> Result<T, SloError> {
        self.node
            .decode()
            .map_err(|e| self.error(&e.path, e.message))
    }
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Maps one document to its SLO group, or says why it cannot.
fn load_document(doc: &Doc, all: &[Node]) -> Result<SloGroup, Vec<SloError>> {
    let one = |e: SloError| vec![e];
    if let Some(v) = doc.str_at("version") {
        if v != "prometheus/v1" {
            return Err(one(doc.error(
                &[key("version")],
                format!("unsupported spec version {v:?}: expected \"prometheus/v1\""),
            )));
        }
        let spec: PromSpec = doc.decode().map_err(one)?;
        if spec.slos.is_empty() {
            return Err(one(
                doc.error(&[key("slos")], "at least one SLO is required")
            ));
        }
        let slos = spec::map_prom(&spec, doc.node, &[], false);
        return Ok(spec::group(SpecKind::Prometheus, None, slos, doc.node));
    }
    let api = doc.str_at("apiVersion").unwrap_or_default();
    let kind = doc.str_at("kind").unwrap_or_default();
    match (api, kind) {
        ("sloth.slok.dev/v1", "PrometheusServiceLevel") => {
            let k: K8sDoc = doc.decode().map_err(one)?;
            if k.spec.slos.is_empty() {
                return Err(one(doc.error(&[key("spec"), key("slos")], "at least one SLO is required")));
            }
            let slos = spec::map_prom(&k.spec, doc.node, &[key("spec")], true);
            let meta = K8sMeta {
                name: k.metadata.name,
                namespace: k.metadata.namespace,
                labels: k.metadata.labels,
                annotations: k.metadata.annotations,
            };
            Ok(spec::group(SpecKind::Kubernetes, Some(meta), slos, doc.node))
        }
        ("openslo/v1alpha", "SLO") => {
            let o: OsloAlphaDoc = doc.decode().map_err(one)?;
            let slos = spec::map_openslo_alpha(&o, doc.node).map_err(|(p, m)| one(doc.error(&p, m)))?;
            Ok(spec::group(SpecKind::OpenSloV1Alpha, None, slos, doc.node))
        }
        ("openslo/v1", "SLO") => {
            let slos = openslo::map_slo(doc.node, all).map_err(|(p, m)| one(doc.error(&p, m)))?;
            Ok(spec::group(SpecKind::OpenSloV1, None, slos, doc.node))
        }
        _ => Err(one(doc.error(
            &[],
            format!(
                "not an SLO spec (apiVersion {api:?}, kind {kind:?}): expected version prometheus/v1, a sloth.slok.dev/v1 PrometheusServiceLevel or an OpenSLO SLO"
            ),
        ))),
    }
}

/// Whether a document is one an OpenSLO `SLO` refers to (an `SLI` or `AlertPolicy`) and is read
/// through it rather than on its own.
fn is_openslo_companion(doc: &Doc) -> bool {
    matches!(doc.str_at("apiVersion"), Some("openslo/v1"))
        && matches!(
            doc.str_at("kind"),
            Some("SLI" | "AlertPolicy" | "Service" | "DataSource")
        )
}

/// Reads every SLO of one file's text and checks it. `file` names the file in errors.
pub fn load(text: &str, file: &str, options: &LoadOptions) -> Result<Vec<SloGroup>, Vec<SloError>> {
    if text.len() > options.limits.max_file_bytes {
        return Err(vec![SloError {
            file: file.to_owned(),
            line: None,
            path: String::new(),
            message: format!(
                "the file is larger than {} bytes",
                options.limits.max_file_bytes
            ),
        }]);
    }
    let docs = parse_documents(text, &options.limits).map_err(|e| {
        vec![SloError {
            file: file.to_owned(),
            line: e.line,
            path: String::new(),
            message: format!("invalid YAML: {}", e.message),
        }]
    })?;
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for node in &docs {
        let doc = Doc { file, node };
        if is_openslo_companion(&doc) {
            continue;
        }
        match load_document(&doc, &docs) {
            Ok(g) => {
                check_group(&g, file, options, &mut errors);
                groups.push(g);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if groups.is_empty() && errors.is_empty() {
        errors.push(SloError {
            file: file.to_owned(),
            line: None,
            path: String::new(),
            message: "the file holds no SLO spec".into(),
        });
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

fn check_group(group: &SloGroup, file: &str, options: &LoadOptions, errors: &mut Vec<SloError>) {
    let mut seen = std::collections::HashSet::new();
    for slo in &group.slos {
        for (field, message) in validate_slo(slo, options.default_period, &options.windows) {
            let (path, line) = slo.origin.locate(field);
            errors.push(SloError {
                file: file.to_owned(),
                line: Some(line),
                path,
                message,
            });
        }
        if !seen.insert(slo.id.as_str()) {
            let (path, line) = slo.origin.locate(crate::model::Field::Name);
            errors.push(SloError {
                file: file.to_owned(),
                line: Some(line),
                path,
                message: format!("the SLO id {:?} is repeated in this spec", slo.id),
            });
        }
    }
}

/// Sloth's cross-file rule: an SLO id (service and name) is defined once. Returns an error for
/// every later definition, naming the first file.
pub fn duplicates(files: &[(String, Vec<SloGroup>)]) -> Vec<SloError> {
    let mut first: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (file, groups) in files {
        for slo in groups.iter().flat_map(|g| &g.slos) {
            match first.get(slo.id.as_str()) {
                Some(other) => {
                    let (path, line) = slo.origin.locate(crate::model::Field::Name);
                    out.push(SloError {
                        file: file.clone(),
                        line: Some(line),
                        path,
                        message: format!(
                            "SLO {:?} (service {:?}, name {:?}) is already defined in {other}",
                            slo.id, slo.service, slo.name
                        ),
                    });
                }
                None => {
                    first.insert(slo.id.as_str(), file.as_str());
                }
            }
        }
    }
    out
}
