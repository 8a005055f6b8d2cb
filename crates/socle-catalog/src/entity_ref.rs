//! Entity references: `[kind:][namespace/]name`, with Backstage's parsing and defaulting rules.
//! Identity is case-insensitive, so a parsed reference is kept in lower case.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The namespace used when none is written.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A fully qualified, lower-cased entity reference, kept as one string `kind:namespace/name`
/// (catalogs hold millions of these in relations). Ordered as that string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct EntityRef {
    text: Box<str>,
    colon: u32,
    slash: u32,
}

/// Why a reference could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("entity reference \"{0}\" is not of the form [<kind>:][<namespace>/]<name>")]
    Malformed(String),
    #[error(
        "entity reference \"{0}\" has no kind and this field has no default kind; write it as <kind>:{0} (e.g. component:{0} or resource:{0})"
    )]
    MissingKind(String),
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        let kind = kind.to_ascii_lowercase();
        let namespace = namespace.to_ascii_lowercase();
        let name = name.to_lowercase();
        let colon = kind.len() as u32;
        let slash = colon + 1 + namespace.len() as u32;
        Self {
            text: format!("{kind}:{namespace}/{name}").into_boxed_str(),
            colon,
            slash,
        }
    }

    pub fn kind(&self) -> &str {
        &self.text[..self.colon as usize]
    }
    pub fn namespace(&self) -> &str {
        &self.text[self.colon as usize + 1..self.slash as usize]
    }
    pub fn name(&self) -> &str {
        &self.text[self.slash as usize + 1..]
    }
    /// `kind:namespace/name`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parses a reference written in a field whose default kind is `default_kind` (if any), inside
    /// an entity of namespace `default_namespace` — Backstage's `parseEntityRef`.
    pub fn parse(
        text: &str,
        default_kind: Option<&str>,
        default_namespace: &str,
    ) -> Result<Self, RefError> {
        let mut colon = text.find(':');
        let slash = text.find('/');
        // `ns/name:with-colon`: a slash before the colon means there is no kind part.
        if let (Some(s), Some(c)) = (slash, colon)
            && s < c
        {
            colon = None;
        }
        let kind = colon.map(|c| &text[..c]);
        let namespace = slash.map(|s| &text[colon.map_or(0, |c| c + 1)..s]);
        let name_start = colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1));
        let name = &text[name_start..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(RefError::Malformed(text.to_owned()));
        }
        let kind = match kind.or(default_kind) {
            Some(k) => k,
            None => return Err(RefError::MissingKind(text.to_owned())),
        };
        Ok(Self::new(
            kind,
            namespace.unwrap_or(default_namespace),
            name,
        ))
    }

    /// Parses a full reference `kind:namespace/name` (namespace defaults to `default`).
    pub fn parse_full(text: &str) -> Result<Self, RefError> {
        Self::parse(text, None, DEFAULT_NAMESPACE)
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<EntityRef> for String {
    fn from(r: EntityRef) -> String {
        r.text.into_string()
    }
}

impl TryFrom<String> for EntityRef {
    type Error = RefError;
    fn try_from(s: String) -> Result<Self, RefError> {
        EntityRef::parse_full(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str, k: Option<&str>, ns: &str) -> Result<String, RefError> {
        EntityRef::parse(s, k, ns).map(|r| r.to_string())
    }

    #[test]
    fn backstage_defaulting() {
        assert_eq!(
            p("team-a", Some("Group"), "default").unwrap(),
            "group:default/team-a"
        );
        assert_eq!(
            p("default/team-a", Some("Group"), "alt").unwrap(),
            "group:default/team-a"
        );
        assert_eq!(
            p("team-a", Some("Group"), "alt").unwrap(),
            "group:alt/team-a"
        );
        assert_eq!(p("User:Guest", Some("Group"), "x").unwrap(), "user:x/guest");
        assert_eq!(
            p("component:ns/My.Svc", None, "x").unwrap(),
            "component:ns/my.svc"
        );
        // a slash ahead of the colon: no kind part, the rest is the name
        assert_eq!(p("ns/a:b", Some("Group"), "x").unwrap(), "group:ns/a:b");
    }

    #[test]
    fn errors() {
        assert_eq!(
            p("svc", None, "default"),
            Err(RefError::MissingKind("svc".into()))
        );
        assert_eq!(
            p(":svc", Some("Group"), "d"),
            Err(RefError::Malformed(":svc".into()))
        );
        assert_eq!(
            p("group:/svc", None, "d"),
            Err(RefError::Malformed("group:/svc".into()))
        );
        assert_eq!(
            p("group:ns/", None, "d"),
            Err(RefError::Malformed("group:ns/".into()))
        );
        assert_eq!(
            p("", Some("Group"), "d"),
            Err(RefError::Malformed("".into()))
        );
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(kind in "[a-z][a-z0-9]{0,10}", ns in "[a-z0-9]{1,10}", name in "[a-z0-9][a-z0-9._-]{0,20}") {
            let r = EntityRef::new(&kind, &ns, &name);
            prop_assert_eq!((r.kind(), r.namespace(), r.name()), (kind.as_str(), ns.as_str(), name.as_str()));
            prop_assert_eq!(EntityRef::parse_full(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = EntityRef::parse(&s, Some("Group"), "default");
        }

        #[test]
        fn identity_is_case_insensitive(name in "[A-Za-z0-9]{1,20}") {
            let a = EntityRef::parse(&name, Some("Group"), "default").unwrap();
            let b = EntityRef::parse(&name.to_uppercase(), Some("GROUP"), "default").unwrap();
            prop_assert_eq!(a, b);
        }
    }
}
