//! Who is asking: nobody, someone whose token is not valid, or a principal with a role.

use socle_store::Role;

pub use socle_store::Principal;

use crate::error::{AppError, ErrorCode};

/// The caller of an application service. A token that was presented but is not valid (unknown,
/// revoked, malformed) is kept apart from no token at all: every use of it is refused, even of
/// reads that are open to anonymous callers, and audited as `invalid-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    InvalidToken,
    Principal(Principal),
}

impl Actor {
    /// The principal, who must hold at least `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, AppError> {
        match self {
            Self::InvalidToken => Err(AppError::new(
                ErrorCode::Unauthenticated,
                "the API token is unknown, revoked or malformed",
            )),
            Self::Anonymous => Err(AppError::unauthenticated()),
            Self::Principal(p) if p.role >= role => Ok(p),
            Self::Principal(p) => Err(AppError::forbidden(format!(
                "this needs the {} role; the token of {} has the {} role",
                role.as_str(),
                p.subject,
                p.role.as_str()
            ))),
        }
    }

    /// The principal, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Principal(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this actor holds the admin role.
    pub fn is_admin(&self) -> bool {
        self.principal().is_some_and(|p| p.role == Role::Admin)
    }

    /// The name written in the audit log and on records.
    pub fn name(&self) -> String {
        match self {
            Self::Principal(p) => p.subject.clone(),
            Self::InvalidToken => "invalid-token".to_owned(),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Actor {
        Actor::Principal(Principal {
            token_id: "t1".into(),
            subject: "user:default/ann".into(),
            role: Role::Member,
        })
    }

    #[test]
    fn an_invalid_token_is_refused_even_where_anonymous_is_not_asked_for_more() {
        let e = Actor::InvalidToken.require(Role::Viewer).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        assert!(e.message.contains("unknown, revoked or malformed"));
    }

    #[test]
    fn a_lower_role_is_forbidden_with_both_roles_named() {
        let e = member().require(Role::Admin).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert_eq!(
            e.message,
            "this needs the admin role; the token of user:default/ann has the member role"
        );
    }

    #[test]
    fn names_in_the_audit_log() {
        assert_eq!(member().name(), "user:default/ann");
        assert_eq!(Actor::InvalidToken.name(), "invalid-token");
        assert_eq!(Actor::Anonymous.name(), "anonymous");
    }
}
