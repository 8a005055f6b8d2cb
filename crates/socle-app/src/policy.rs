//! Guardrails on demand: evaluate documents against the platform's policies (anyone who may
//! read; bounded in documents and time, on a CPU slot), and run a caller's own policy tests
//! (admins only; in a worker process with a memory ceiling).

use socle_store::Role;

use crate::App;
use crate::actor::Actor;
use crate::cpu::{WorkerRequest, WorkerResponse};
use crate::error::{AppError, ErrorCode};

/// At most this many documents in one evaluation.
pub const MAX_EVAL_DOCUMENTS: usize = 500;
/// One evaluation runs for at most this long.
pub const EVAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
/// At most this many policy files in one test run.
pub const MAX_TEST_FILES: usize = 256;

/// One test rule's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTest {
    pub name: String,
    pub passed: bool,
}

fn policy_error(e: socle_policy::PolicyError) -> AppError {
    AppError::new(ErrorCode::PolicyError, e.to_string())
}

impl App {
    /// The platform's guardrails, or the built-in pack (compiled once).
    pub fn policy_set(&self) -> Result<socle_policy::PolicySet, AppError> {
        static BUILTIN: std::sync::OnceLock<socle_policy::PolicySet> = std::sync::OnceLock::new();
        if let Some(p) = &self.config.guardrails {
            return Ok(p.clone());
        }
        if let Some(p) = BUILTIN.get() {
            return Ok(p.clone());
        }
        let set = socle_policy::PolicySet::builtin(None).map_err(AppError::internal)?;
        Ok(BUILTIN.get_or_init(|| set).clone())
    }

    /// Evaluates the guardrails on `documents` (YAML or JSON text, one or more documents),
    /// conftest-style. Parsing and Rego are CPU work: on a CPU slot (refused at once when the
    /// queue is full, before any of it), within one deadline for the whole request.
    pub async fn evaluate_documents(
        &self,
        actor: &Actor,
        documents: String,
    ) -> Result<Vec<socle_policy::Finding>, AppError> {
        self.can_read(actor)?;
        let set = self.policy_set()?;
        let limits = self.config.limits.clone();
        self.cpu
            .run(move || -> Result<Vec<socle_policy::Finding>, AppError> {
                let deadline = std::time::Instant::now() + EVAL_DEADLINE;
                let docs =
                    socle_catalog::yaml::parse_documents(&documents, &limits).map_err(|e| {
                        AppError::bad_request(format!(
                            "documents: line {}: {}",
                            e.line.unwrap_or(0),
                            e.message
                        ))
                    })?;
                if docs.len() > MAX_EVAL_DOCUMENTS {
                    return Err(AppError::bad_request(format!(
                        "{} documents: at most {MAX_EVAL_DOCUMENTS} per request",
                        docs.len()
                    )));
                }
                let mut findings = Vec::new();
                for (i, d) in docs.iter().enumerate() {
                    if std::time::Instant::now() >= deadline {
                        return Err(AppError::new(
                            ErrorCode::PolicyLimit,
                            format!(
                                "evaluation stopped after {} s at document {i}; send fewer documents",
                                EVAL_DEADLINE.as_secs()
                            ),
                        ));
                    }
                    findings.extend(set.eval(&d.to_json(), "request", i).map_err(policy_error)?);
                }
                Ok(findings)
            })
            .await?
    }

    /// Evaluates the guardrails on a catalog entity, with its relations as the read model has
    /// them (does its owner exist? its system?).
    pub async fn evaluate_entity(
        &self,
        actor: &Actor,
        entity_ref: &str,
    ) -> Result<Vec<socle_policy::Finding>, AppError> {
        self.can_read(actor)?;
        let snap = self.snapshot();
        let v = snap
            .get(entity_ref)
            .ok_or_else(|| AppError::not_found(format!("no entity {entity_ref}")))?;
        let mut input: serde_json::Value =
            serde_json::from_str(&v.body).map_err(AppError::internal)?;
        input["relations"] = v
            .relations
            .iter()
            .map(|(t, target)| serde_json::json!({"type": t.as_str(), "targetRef": snap.name(*target), "exists": snap.exists(*target)}))
            .collect();
        let set = self.policy_set()?;
        let key = entity_ref.to_owned();
        self.cpu
            .run(move || set.eval(&input, &key, 0))
            .await?
            .map_err(policy_error)
    }

    /// Runs the `test_*` rules of `files` (none: the built-in pack), like `conftest verify`.
    /// Admins only: the Rego is the caller's own, run where the settings say (a worker
    /// process with a memory ceiling and a deadline in `socle serve`).
    pub async fn test_policies(
        &self,
        actor: &Actor,
        files: Vec<(String, String)>,
    ) -> Result<Vec<PolicyTest>, AppError> {
        actor.require(Role::Admin)?;
        if files.len() > MAX_TEST_FILES {
            return Err(AppError::bad_request(format!(
                "{} files: at most {MAX_TEST_FILES} per request",
                files.len()
            )));
        }
        let files = if files.is_empty() {
            socle_policy::builtin_files()
        } else {
            files
        };
        match self
            .config
            .rego
            .run(&self.cpu, WorkerRequest::Test { files })
            .await?
        {
            WorkerResponse::Tests(r) => Ok(r
                .into_iter()
                .map(|(name, passed)| PolicyTest { name, passed })
                .collect()),
            WorkerResponse::PolicyError(message) => {
                Err(AppError::new(ErrorCode::PolicyError, message))
            }
        }
    }
}
