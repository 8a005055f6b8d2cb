//! The built-in kinds: the shape of their `spec` and the relations their fields emit
//! (Backstage's kind schemas, its `BuiltinKindsEntityProcessor`, and the catalog model's
//! `specType` versions: a kind may take another shape for one value of `spec.type`, such as an
//! API of type `mcp-server`, which has `remotes` instead of a `definition`).

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
    /// A non-empty array of mappings, each with a non-empty string under every given key (an
    /// MCP server's `remotes`: `type` and `url`).
    Mappings(&'static [&'static str]),
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

/// The shape a kind takes for one value of `spec.type` (Backstage's `specType` kind versions):
/// its fields and relations replace the kind's own.
#[derive(Clone, Copy, Debug)]
pub struct SpecType {
    pub spec_type: &'static str,
    pub fields: &'static [Field],
    pub relations: &'static [RelField],
}

#[derive(Clone, Copy, Debug)]
pub struct KindSpec {
    pub kind: &'static str,
    /// The apiVersions the kind is written with.
    pub api_versions: &'static [&'static str],
    pub fields: &'static [Field],
    pub relations: &'static [RelField],
    /// Other shapes, by `spec.type`.
    pub spec_types: &'static [SpecType],
}

/// The fields and relations that apply to one entity of a kind.
#[derive(Clone, Copy, Debug)]
pub struct SpecShape {
    pub fields: &'static [Field],
    pub relations: &'static [RelField],
    /// The `spec.type` this shape is for, when it is one of the kind's [`SpecType`]s.
    pub spec_type: Option<&'static str>,
}

impl KindSpec {
    /// The shape for an entity whose `spec.type` is `spec_type`: the matching [`SpecType`], else
    /// the kind's own.
    pub fn shape(&self, spec_type: Option<&str>) -> SpecShape {
        match self
            .spec_types
            .iter()
            .find(|t| Some(t.spec_type) == spec_type)
        {
            Some(t) => SpecShape {
                fields: t.fields,
                relations: t.relations,
                spec_type: Some(t.spec_type),
            },
            None => SpecShape {
                fields: self.fields,
                relations: self.relations,
                spec_type: None,
            },
        }
    }
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

const BACKSTAGE: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];
const BACKSTAGE_V1ALPHA1: &[&str] = &["backstage.io/v1alpha1"];

// Fields several kinds share.
const LIFECYCLE: Field = f(
    "lifecycle",
    Str,
    true,
    "the lifecycle state, e.g. experimental, production or deprecated",
);
const OWNED: Field = f("owner", Str, true, OWNER);
const SYSTEM: Field = f(
    "system",
    Str,
    false,
    "an entity reference to the System it belongs to",
);
const DEPENDS_ON: Field = f(
    "dependsOn",
    StrList,
    false,
    "a list of entity references, with their kind, that it depends on",
);
const DEPENDENCY_OF: Field = f(
    "dependencyOf",
    StrList,
    false,
    "a list of entity references, with their kind, that depend on it",
);
const PROFILE: Field = f(
    "profile",
    Object,
    false,
    "display information: displayName, email, picture",
);
const DISCIPLINES: Field = f(
    "disciplines",
    StrList,
    false,
    "the engineering disciplines it applies to, e.g. web or backend",
);
const AI_TYPE: Field = f(
    "type",
    Str,
    true,
    "the type of AI resource, e.g. skill or rule",
);

// Relations several kinds share.
const OWNED_BY: RelField = r("owner", Some("Group"), R::OwnedBy);
const IN_SYSTEM: RelField = r("system", Some("System"), R::PartOf);

pub static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "Component",
        api_versions: BACKSTAGE,
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of component, e.g. service, website or library",
            ),
            LIFECYCLE,
            OWNED,
            SYSTEM,
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
            DEPENDS_ON,
            DEPENDENCY_OF,
        ],
        relations: &[
            OWNED_BY,
            r("subcomponentOf", Some("Component"), R::PartOf),
            r("providesApis", Some("API"), R::ProvidesApi),
            r("consumesApis", Some("API"), R::ConsumesApi),
            r("dependsOn", None, R::DependsOn),
            r("dependencyOf", None, R::DependencyOf),
            IN_SYSTEM,
        ],
        spec_types: &[],
    },
    KindSpec {
        kind: "API",
        api_versions: BACKSTAGE,
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of API definition, e.g. openapi, asyncapi, graphql or grpc",
            ),
            LIFECYCLE,
            OWNED,
            f(
                "definition",
                Str,
                true,
                "the API definition as a string (or a $text placeholder)",
            ),
            SYSTEM,
        ],
        relations: &[OWNED_BY, IN_SYSTEM],
        // An MCP (Model Context Protocol) server: reached through its `remotes`, with no
        // definition document (the catalog model's `mcpServerApiEntityModel`).
        spec_types: &[SpecType {
            spec_type: "mcp-server",
            fields: &[
                LIFECYCLE,
                OWNED,
                SYSTEM,
                f(
                    "remotes",
                    Mappings(&["type", "url"]),
                    true,
                    "the MCP server's transport endpoints: a list of {type, url}, e.g. type streamable-http",
                ),
            ],
            relations: &[OWNED_BY, IN_SYSTEM],
        }],
    },
    KindSpec {
        kind: "Resource",
        api_versions: BACKSTAGE,
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of resource, e.g. database or s3-bucket",
            ),
            OWNED,
            DEPENDS_ON,
            DEPENDENCY_OF,
            SYSTEM,
        ],
        relations: &[
            OWNED_BY,
            r("dependsOn", None, R::DependsOn),
            r("dependencyOf", None, R::DependencyOf),
            IN_SYSTEM,
        ],
        spec_types: &[],
    },
    KindSpec {
        kind: "System",
        api_versions: BACKSTAGE,
        fields: &[
            OWNED,
            f(
                "domain",
                Str,
                false,
                "an entity reference to the Domain it belongs to",
            ),
            f("type", Str, false, "the type of system"),
        ],
        relations: &[OWNED_BY, r("domain", Some("Domain"), R::PartOf)],
        spec_types: &[],
    },
    KindSpec {
        kind: "Domain",
        api_versions: BACKSTAGE,
        fields: &[
            OWNED,
            f(
                "subdomainOf",
                Str,
                false,
                "an entity reference to the parent Domain",
            ),
            f("type", Str, false, "the type of domain"),
        ],
        relations: &[OWNED_BY, r("subdomainOf", Some("Domain"), R::PartOf)],
        spec_types: &[],
    },
    KindSpec {
        kind: "Group",
        api_versions: BACKSTAGE,
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of group, e.g. team, department or organization",
            ),
            PROFILE,
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
        spec_types: &[],
    },
    KindSpec {
        kind: "User",
        api_versions: BACKSTAGE,
        fields: &[
            PROFILE,
            f(
                "memberOf",
                StrList,
                true,
                "a list (possibly empty) of entity references to the Groups the user is a direct member of",
            ),
        ],
        relations: &[r("memberOf", Some("Group"), R::MemberOf)],
        spec_types: &[],
    },
    KindSpec {
        kind: "Location",
        api_versions: BACKSTAGE,
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
        spec_types: &[],
    },
    // A software template (golden path), `scaffolder.backstage.io/v1beta3`. Its parameters and
    // steps are checked by the scaffolder (socle-scaffold), which knows the actions.
    KindSpec {
        kind: "Template",
        api_versions: &["scaffolder.backstage.io/v1beta3"],
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
        relations: &[OWNED_BY],
        spec_types: &[],
    },
    // A place software is deployed to (Backstage's `Environment` kind proposal and its
    // `examples/environments/`): `lifecycle` is what it requires; an `owner`, when given, is
    // related as for the other owned kinds.
    KindSpec {
        kind: "Environment",
        api_versions: BACKSTAGE_V1ALPHA1,
        fields: &[
            f(
                "lifecycle",
                Str,
                true,
                "the environment's lifecycle stage, e.g. dev, staging or production",
            ),
            f("type", Str, false, "the type of environment"),
            f("owner", Str, false, OWNER),
        ],
        relations: &[OWNED_BY],
        spec_types: &[],
    },
    // Context consumed by AI coding tools (the catalog model's `AiResource`, v1alpha1): any
    // type with type, lifecycle and owner; skills and rules have shapes of their own.
    KindSpec {
        kind: "AiResource",
        api_versions: BACKSTAGE_V1ALPHA1,
        fields: &[AI_TYPE, LIFECYCLE, OWNED, SYSTEM],
        relations: &[OWNED_BY, IN_SYSTEM],
        spec_types: &[
            SpecType {
                spec_type: "skill",
                fields: &[
                    AI_TYPE,
                    LIFECYCLE,
                    OWNED,
                    SYSTEM,
                    DISCIPLINES,
                    f(
                        "categories",
                        StrList,
                        false,
                        "descriptive categories of the skill",
                    ),
                    f(
                        "agents",
                        StrList,
                        false,
                        "the AI coding tools the skill is made for",
                    ),
                    f(
                        "dependsOn",
                        StrList,
                        false,
                        "a list of entity references to the AI resources it depends on",
                    ),
                    f(
                        "allowedTools",
                        StrList,
                        false,
                        "the tools the skill is designed to use",
                    ),
                    f(
                        "license",
                        Str,
                        false,
                        "an SPDX identifier or free-text licence",
                    ),
                    f(
                        "compatibility",
                        Str,
                        false,
                        "what the skill needs to run, e.g. Node.js 20+",
                    ),
                ],
                relations: &[
                    OWNED_BY,
                    IN_SYSTEM,
                    r("dependsOn", Some("AiResource"), R::DependsOn),
                ],
            },
            SpecType {
                spec_type: "rule",
                fields: &[
                    AI_TYPE,
                    LIFECYCLE,
                    OWNED,
                    SYSTEM,
                    DISCIPLINES,
                    f(
                        "category",
                        Str,
                        true,
                        "the rule's category, e.g. security, architecture or style",
                    ),
                    f("rationale", Str, true, "why the rule exists"),
                    f(
                        "activation",
                        Mappings(&["harness"]),
                        false,
                        "how agent harnesses activate the rule: a list of {harness, …}, harness claude, cursor or codex",
                    ),
                ],
                relations: &[OWNED_BY, IN_SYSTEM],
            },
        ],
    },
    // A data product's contract (Socle's own kind): the catalog entity of an ODCS file
    // (`*.odcs.yaml`, converted by `socle-data`), or written by hand in this shape.
    KindSpec {
        kind: "DataContract",
        api_versions: &["socle.dev/v1alpha1"],
        fields: &[
            f(
                "type",
                Str,
                true,
                "the type of data contract, e.g. data-product",
            ),
            f(
                "lifecycle",
                Str,
                true,
                "the contract's status: proposed, draft, active, deprecated or retired",
            ),
            OWNED,
            SYSTEM,
            f("domain", Str, false, "the business domain of the data"),
            f(
                "tier",
                OneOf(&["bronze", "silver", "gold"]),
                false,
                "the medallion tier: bronze (raw), silver (cleaned) or gold (business-ready)",
            ),
            f(
                "servers",
                Mappings(&["server", "type"]),
                false,
                "where the data lives: a list of {server, type}",
            ),
            f(
                "schema",
                Mappings(&["name"]),
                false,
                "the tables or topics: a list of {name, properties}",
            ),
            f(
                "dependsOn",
                StrList,
                false,
                "the components that produce the data (default kind Component)",
            ),
            f(
                "dependencyOf",
                StrList,
                false,
                "the components that consume the data (default kind Component)",
            ),
        ],
        relations: &[
            OWNED_BY,
            IN_SYSTEM,
            r("dependsOn", Some("Component"), R::DependsOn),
            r("dependencyOf", Some("Component"), R::DependencyOf),
        ],
        spec_types: &[],
    },
    // A scorecard or a campaign (Socle's own kinds, `socle-scorecard` reads the whole document
    // with its rules): only a location an admin registered may define them (`socle-ingest`'s
    // trust), and only such a definition becomes one of the platform's.
    KindSpec {
        kind: "Scorecard",
        api_versions: &["socle.dev/v1alpha1"],
        fields: &[
            f(
                "filter",
                Object,
                false,
                "which entities it scores: kind, type, lifecycle, tags, owner, system",
            ),
            f("levels", StrList, false, "the levels, lowest first"),
            f(
                "rules",
                Mappings(&["id"]),
                true,
                "the rules: a list of {id, level, check}",
            ),
        ],
        relations: &[],
        spec_types: &[],
    },
    KindSpec {
        kind: "Campaign",
        api_versions: &["socle.dev/v1alpha1"],
        fields: &[
            f(
                "filter",
                Object,
                false,
                "which entities it covers: kind, type, lifecycle, tags, owner, system",
            ),
            f("start", Str, true, "the first day (YYYY-MM-DD)"),
            f(
                "target",
                Str,
                true,
                "the day every entity should pass (YYYY-MM-DD)",
            ),
            f("brief", Str, true, "why and how, for the teams"),
            f(
                "rules",
                Mappings(&["id"]),
                true,
                "the rules: a list of {id, check}",
            ),
        ],
        relations: &[],
        spec_types: &[],
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

/// The apiVersions a kind is written with (none for a kind that is not built in).
pub fn api_versions(kind: &str) -> &'static [&'static str] {
    kind_spec(kind).map_or(&[], |k| k.api_versions)
}
