//! Relation types and their inverses.

use serde::{Deserialize, Serialize};

use crate::entity_ref::EntityRef;

/// A relation type. Ordered by name (`apiConsumedBy` < `childOf` < …), as listed to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationType {
    OwnedBy,
    OwnerOf,
    PartOf,
    HasPart,
    ProvidesApi,
    ApiProvidedBy,
    ConsumesApi,
    ApiConsumedBy,
    DependsOn,
    DependencyOf,
    MemberOf,
    HasMember,
    ChildOf,
    ParentOf,
}

impl RelationType {
    pub const ALL: [RelationType; 14] = [
        Self::OwnedBy,
        Self::OwnerOf,
        Self::PartOf,
        Self::HasPart,
        Self::ProvidesApi,
        Self::ApiProvidedBy,
        Self::ConsumesApi,
        Self::ApiConsumedBy,
        Self::DependsOn,
        Self::DependencyOf,
        Self::MemberOf,
        Self::HasMember,
        Self::ChildOf,
        Self::ParentOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwnedBy => "ownedBy",
            Self::OwnerOf => "ownerOf",
            Self::PartOf => "partOf",
            Self::HasPart => "hasPart",
            Self::ProvidesApi => "providesApi",
            Self::ApiProvidedBy => "apiProvidedBy",
            Self::ConsumesApi => "consumesApi",
            Self::ApiConsumedBy => "apiConsumedBy",
            Self::DependsOn => "dependsOn",
            Self::DependencyOf => "dependencyOf",
            Self::MemberOf => "memberOf",
            Self::HasMember => "hasMember",
            Self::ChildOf => "childOf",
            Self::ParentOf => "parentOf",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The relation seen from the other end.
    pub fn inverse(self) -> Self {
        match self {
            Self::OwnedBy => Self::OwnerOf,
            Self::OwnerOf => Self::OwnedBy,
            Self::PartOf => Self::HasPart,
            Self::HasPart => Self::PartOf,
            Self::ProvidesApi => Self::ApiProvidedBy,
            Self::ApiProvidedBy => Self::ProvidesApi,
            Self::ConsumesApi => Self::ApiConsumedBy,
            Self::ApiConsumedBy => Self::ConsumesApi,
            Self::DependsOn => Self::DependencyOf,
            Self::DependencyOf => Self::DependsOn,
            Self::MemberOf => Self::HasMember,
            Self::HasMember => Self::MemberOf,
            Self::ChildOf => Self::ParentOf,
            Self::ParentOf => Self::ChildOf,
        }
    }
}

impl Ord for RelationType {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for RelationType {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for RelationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A directed relation `source --type--> target`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relation {
    pub source: EntityRef,
    #[serde(rename = "type")]
    pub kind: RelationType,
    pub target: EntityRef,
}

impl Relation {
    pub fn inverse(&self) -> Relation {
        Relation {
            source: self.target.clone(),
            kind: self.kind.inverse(),
            target: self.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_an_involution_and_names_roundtrip() {
        for t in RelationType::ALL {
            assert_eq!(t.inverse().inverse(), t);
            assert_ne!(t.inverse(), t);
            assert_eq!(RelationType::parse(t.as_str()), Some(t));
        }
        let mut sorted = RelationType::ALL.to_vec();
        sorted.sort();
        let names: Vec<&str> = sorted.iter().map(|t| t.as_str()).collect();
        let mut alpha = names.clone();
        alpha.sort();
        assert_eq!(names, alpha);
    }
}
