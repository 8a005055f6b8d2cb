//! The built-in kinds: the shape of their `spec` and the relations their fields emit
//! (Backstage's kind schemas and `BuiltinKindsEntityProcessor`).

use crate::relation::RelationType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A non-empty string.
    Str,
    /// An array of non-empty strings.
    StrList,
    /// An object.
    Object,
    /// One of the given strings.
    OneOf(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
    /// What the field is, for error messages.
    pub about: &'static str,
}

/// A spec field that holds entity references and the relation pair it emits.
#[derive(Clone, Copy, Debug)]
pub struct RelField {
    pub field: &'static str,
    /// Default kind for references in this field; `None` means the kind must be written.
    pub default_kind: Option<&'static str>,
    pub outgoing: RelationType,
}

#[derive(Clone, Copy, Debug)]
pub struct KindSpec {
    pub kind: &'static str,
    pub fields: &'static [Field],
    pub relations: &'static [RelField],
}

const fn f(name: &'static str, shape: Shape, required: bool, about: &'static str) -> Field {
    Field {
        name,
        shape,
        required,
        about,
    }
}

const fn r(
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: RelationType,
) -> RelField {
    RelField {
        field,
        default_kind,
        outgoing,
    }
}

use RelationType as R;
use Shape::*;

const OWNER: &str =
    "an entity reference to the owner, usually a Group (e.g. team-a or group:default/team-a)";

pub static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "Component",
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of component, e.g. service, website or library",
            ),
            f(
                "lifecycle",
                Str,
                true,
                "the lifecycle state, e.g. experimental, production or deprecated",
            ),
            f("owner", Str, true, OWNER),
            f(
                "system",
                Str,
                false,
                "an entity reference to the System it belongs to",
            ),
            f(
                "subcomponentOf",
                Str,
                false,
                "an entity reference to the parent Component",
            ),
            f(
                "providesApis",
                StrList,
                false,
                "a list of entity references to the APIs it provides",
            ),
            f(
                "consumesApis",
                StrList,
                false,
                "a list of entity references to the APIs it consumes",
            ),
            f(
                "dependsOn",
                StrList,
                false,
                "a list of entity references, with their kind, that it depends on",
            ),
            f(
                "dependencyOf",
                StrList,
                false,
                "a list of entity references, with their kind, that depend on it",
            ),
        ],
        relations: &[
            r("owner", Some("Group"), R::OwnedBy),
            r("subcomponentOf", Some("Component"), R::PartOf),
            r("providesApis", Some("API"), R::ProvidesApi),
            r("consumesApis", Some("API"), R::ConsumesApi),
            r("dependsOn", None, R::DependsOn),
            r("dependencyOf", None, R::DependencyOf),
            r("system", Some("System"), R::PartOf),
        ],
    },
    KindSpec {
        kind: "API",
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of API definition, e.g. openapi, asyncapi, graphql or grpc",
            ),
            f(
                "lifecycle",
                Str,
                true,
                "the lifecycle state, e.g. experimental, production or deprecated",
            ),
            f("owner", Str, true, OWNER),
            f(
                "definition",
                Str,
                true,
                "the API definition as a string (or a $text placeholder)",
            ),
            f(
                "system",
                Str,
                false,
                "an entity reference to the System it belongs to",
            ),
        ],
        relations: &[
            r("owner", Some("Group"), R::OwnedBy),
            r("system", Some("System"), R::PartOf),
        ],
    },
    KindSpec {
        kind: "Resource",
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of resource, e.g. database or s3-bucket",
            ),
            f("owner", Str, true, OWNER),
            f(
                "dependsOn",
                StrList,
                false,
                "a list of entity references, with their kind, that it depends on",
            ),
            f(
                "dependencyOf",
                StrList,
                false,
                "a list of entity references, with their kind, that depend on it",
            ),
            f(
                "system",
                Str,
                false,
                "an entity reference to the System it belongs to",
            ),
        ],
        relations: &[
            r("owner", Some("Group"), R::OwnedBy),
            r("dependsOn", None, R::DependsOn),
            r("dependencyOf", None, R::DependencyOf),
            r("system", Some("System"), R::PartOf),
        ],
    },
    KindSpec {
        kind: "System",
        fields: &[
            f("owner", Str, true, OWNER),
            f(
                "domain",
                Str,
                false,
                "an entity reference to the Domain it belongs to",
            ),
            f("type", Str, false, "the type of system"),
        ],
        relations: &[
            r("owner", Some("Group"), R::OwnedBy),
            r("domain", Some("Domain"), R::PartOf),
        ],
    },
    KindSpec {
        kind: "Domain",
        fields: &[
            f("owner", Str, true, OWNER),
            f(
                "subdomainOf",
                Str,
                false,
                "an entity reference to the parent Domain",
            ),
            f("type", Str, false, "the type of domain"),
        ],
        relations: &[
            r("owner", Some("Group"), R::OwnedBy),
            r("subdomainOf", Some("Domain"), R::PartOf),
        ],
    },
    KindSpec {
        kind: "Group",
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of group, e.g. team, department or organization",
            ),
            f(
                "profile",
                Object,
                false,
                "display information: displayName, email, picture",
            ),
            f(
                "parent",
                Str,
                false,
                "an entity reference to the parent Group",
            ),
            f(
                "children",
                StrList,
                true,
                "a list (possibly empty) of entity references to child Groups",
            ),
            f(
                "members",
                StrList,
                false,
                "a list of entity references to member Users",
            ),
        ],
        relations: &[
            r("parent", Some("Group"), R::ChildOf),
            r("children", Some("Group"), R::ParentOf),
            r("members", Some("User"), R::HasMember),
        ],
    },
    KindSpec {
        kind: "User",
        fields: &[
            f(
                "profile",
                Object,
                false,
                "display information: displayName, email, picture",
            ),
            f(
                "memberOf",
                StrList,
                true,
                "a list (possibly empty) of entity references to the Groups the user is a direct member of",
            ),
        ],
        relations: &[r("memberOf", Some("Group"), R::MemberOf)],
    },
    KindSpec {
        kind: "Location",
        fields: &[
            f("type", Str, false, "the type of location, e.g. file or url"),
            f(
                "target",
                Str,
                false,
                "the target of the location: a path or URL",
            ),
            f("targets", StrList, false, "a list of targets"),
            f(
                "presence",
                OneOf(&["required", "optional"]),
                false,
                "whether the target must exist",
            ),
        ],
        relations: &[],
    },
    // A software template (golden path), `scaffolder.backstage.io/v1beta3`. Its parameters and
    // steps are checked by the scaffolder (socle-scaffold), which knows the actions.
    KindSpec {
        kind: "Template",
        fields: &[
            f(
                "type",
                Str,
                true,
                "the kind of thing the template creates, e.g. service",
            ),
            f(
                "owner",
                Str,
                false,
                "an entity reference to the owner of the template",
            ),
        ],
        relations: &[r("owner", Some("Group"), R::OwnedBy)],
    },
];

/// The spec of a built-in kind, matched exactly as Backstage does (`kind: Component`).
pub fn kind_spec(kind: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// The canonical spelling of a kind written with another case (`component` → `Component`).
pub fn canonical_kind(kind: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|k| k.kind.eq_ignore_ascii_case(kind))
        .map(|k| k.kind)
}

pub const API_VERSIONS: [&str; 2] = ["backstage.io/v1alpha1", "backstage.io/v1beta1"];

/// The apiVersions a kind is written with.
pub fn api_versions(kind: &str) -> &'static [&'static str] {
    if kind == "Template" {
        &["scaffolder.backstage.io/v1beta3"]
    } else {
        &API_VERSIONS
    }
}
