//! Directory entries → catalog documents, pure: names made valid (or the entry refused), group
//! nesting from member DNs that are groups (one parent each, the tree bounded and acyclic),
//! users' membership from groups' member DNs and users' `memberOf`. Documents are built as
//! JSON values — never as text — so a directory value can only ever be a string field.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use socle_catalog::EntityError;
use socle_catalog::rules::{NAME_EXPECTED, is_object_name};

/// The annotation naming the entry a group or user came from (Backstage's).
pub const DN_ANNOTATION: &str = "backstage.io/ldap-dn";

/// A directory user, its attributes already picked by the configured map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserEntry {
    pub dn: String,
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub description: Option<String>,
    /// DNs of the groups it is a member of.
    pub member_of: Vec<String>,
}

/// A directory group, its attributes already picked by the configured map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupEntry {
    pub dn: String,
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub description: Option<String>,
    /// `spec.type`.
    pub kind: String,
    pub member_of: Vec<String>,
    /// DNs of its members: users, or groups nested under it.
    pub members: Vec<String>,
}

/// A DN as compared: components trimmed, lower case (`CN=Ops, DC=x` = `cn=ops,dc=x`).
pub fn dn_key(dn: &str) -> String {
    dn.split(',')
        .map(|c| {
            c.split_once('=')
                .map(|(a, v)| format!("{}={}", a.trim(), v.trim()))
                .unwrap_or_else(|| c.trim().to_owned())
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// A catalog name for a directory value: kept when valid, otherwise every run of characters
/// outside `[A-Za-z0-9]` becomes one `-` (a lone `-`, `_` or `.` between two alphanumerics is
/// kept), cut to 63 characters; None when nothing usable is left.
pub fn entity_name(raw: &str) -> Option<String> {
    if is_object_name(raw) {
        return Some(raw.to_owned());
    }
    let mut out = String::new();
    let mut pending: Option<char> = None;
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            if let Some(sep) = pending.take()
                && !out.is_empty()
            {
                out.push(sep);
            }
            out.push(c);
        } else {
            let sep = if matches!(c, '-' | '_' | '.') { c } else { '-' };
            // A run of separators counts as one; the first one wins.
            pending.get_or_insert(sep);
        }
        if out.len() >= 63 {
            break;
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches(['-', '_', '.']).to_owned();
    is_object_name(&out).then_some(out)
}

/// What the mapping produced: documents for the catalog and the entries it refused or changed.
#[derive(Debug, Default)]
pub struct Mapped {
    pub documents: Vec<Value>,
    pub errors: Vec<EntityError>,
}

/// Turns a directory read into Group and User documents. `origin` (`ldap:<name>`) is the file
/// errors are reported against.
pub fn documents(
    users: &[UserEntry],
    groups: &[GroupEntry],
    max_depth: usize,
    origin: &str,
) -> Mapped {
    let mut errors = Vec::new();
    let group_names = names(
        groups.iter().map(|g| (&g.dn, &g.name)),
        "group",
        origin,
        &mut errors,
    );
    let user_names = names(
        users.iter().map(|u| (&u.dn, &u.name)),
        "user",
        origin,
        &mut errors,
    );

    // Membership and nesting, each edge once.
    let mut memberships: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for g in groups {
        let Some(group) = group_names.get(&dn_key(&g.dn)) else {
            continue;
        };
        for m in &g.members {
            let k = dn_key(m);
            if let Some(child) = group_names.get(&k) {
                if child != group {
                    parents
                        .entry(child.as_str())
                        .or_default()
                        .insert(group.as_str());
                }
            } else if let Some(user) = user_names.get(&k) {
                memberships
                    .entry(user.as_str())
                    .or_default()
                    .insert(group.as_str());
            }
        }
        for p in &g.member_of {
            if let Some(parent) = group_names.get(&dn_key(p))
                && parent != group
            {
                parents
                    .entry(group.as_str())
                    .or_default()
                    .insert(parent.as_str());
            }
        }
    }
    for u in users {
        let Some(user) = user_names.get(&dn_key(&u.dn)) else {
            continue;
        };
        for g in &u.member_of {
            if let Some(group) = group_names.get(&dn_key(g)) {
                memberships
                    .entry(user.as_str())
                    .or_default()
                    .insert(group.as_str());
            }
        }
    }

    let parent = single_parents(&parents, max_depth, origin, &mut errors);
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (child, p) in &parent {
        children.entry(*p).or_default().push(*child);
    }

    let mut documents = Vec::with_capacity(groups.len() + users.len());
    for g in groups {
        let Some(name) = group_names.get(&dn_key(&g.dn)) else {
            continue;
        };
        let mut spec = json!({
            "type": g.kind,
            "profile": profile(g.display_name.as_deref(), g.email.as_deref(), g.picture.as_deref()),
            "children": children.get(name.as_str()).cloned().unwrap_or_default()
                .iter().map(|c| format!("group:default/{c}")).collect::<Vec<_>>(),
        });
        if let Some(p) = parent.get(name.as_str()) {
            spec["parent"] = json!(format!("group:default/{p}"));
        }
        documents.push(document(
            "Group",
            name,
            &g.dn,
            g.description.as_deref(),
            spec,
        ));
    }
    for u in users {
        let Some(name) = user_names.get(&dn_key(&u.dn)) else {
            continue;
        };
        let member_of: Vec<String> = memberships
            .get(name.as_str())
            .into_iter()
            .flatten()
            .map(|g| format!("group:default/{g}"))
            .collect();
        let spec = json!({
            "profile": profile(u.display_name.as_deref(), u.email.as_deref(), u.picture.as_deref()),
            "memberOf": member_of,
        });
        documents.push(document(
            "User",
            name,
            &u.dn,
            u.description.as_deref(),
            spec,
        ));
    }
    Mapped { documents, errors }
}

/// Names by DN key; an entry whose name cannot be made valid, or that repeats another's, is
/// refused with an error.
fn names<'a>(
    entries: impl Iterator<Item = (&'a String, &'a String)>,
    what: &str,
    origin: &str,
    errors: &mut Vec<EntityError>,
) -> HashMap<String, String> {
    let mut by_dn = HashMap::new();
    let mut taken: HashMap<String, String> = HashMap::new();
    for (dn, raw) in entries {
        let Some(name) = entity_name(raw) else {
            errors.push(EntityError {
                value: Some(raw.clone()),
                ..EntityError::file(
                    origin,
                    "ldap.name",
                    format!(
                        "{what} {dn}: its name {raw:?} cannot be made {NAME_EXPECTED}; skipped"
                    ),
                )
            });
            continue;
        };
        let key = name.to_lowercase();
        if let Some(first) = taken.get(&key) {
            errors.push(EntityError {
                value: Some(raw.clone()),
                ..EntityError::file(
                    origin,
                    "ldap.duplicate",
                    format!("{what} {dn}: name {name} is already {first}'s; skipped"),
                )
            });
            continue;
        }
        taken.insert(key, dn.clone());
        by_dn.insert(dn_key(dn), name);
    }
    by_dn
}

/// One parent per group (the first by name, as Backstage keeps one), with no cycle and no chain
/// deeper than `max_depth`: a group whose chain loops or goes too deep loses its parent link.
fn single_parents<'a>(
    parents: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    max_depth: usize,
    origin: &str,
    errors: &mut Vec<EntityError>,
) -> BTreeMap<&'a str, &'a str> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    for (child, ps) in parents {
        let mut it = ps.iter();
        if let Some(first) = it.next() {
            parent.insert(*child, *first);
            let others: Vec<&str> = it.copied().collect();
            if !others.is_empty() {
                errors.push(EntityError::file(
                    origin,
                    "ldap.parents",
                    format!(
                        "group {child} is nested in several groups; kept {first}, not {}",
                        others.join(", ")
                    ),
                ));
            }
        }
    }
    let groups: Vec<&str> = parent.keys().copied().collect();
    for g in groups {
        let mut seen = BTreeSet::from([g]);
        let mut at = g;
        let mut broken = false;
        while let Some(&p) = parent.get(at) {
            if !seen.insert(p) || seen.len() > max_depth + 1 {
                broken = true;
                break;
            }
            at = p;
        }
        if broken {
            parent.remove(g);
            errors.push(EntityError::file(
                origin,
                "ldap.nesting",
                format!(
                    "group {g}: its parents loop or nest deeper than {max_depth}; its parent link is dropped"
                ),
            ));
        }
    }
    parent
}

fn profile(display_name: Option<&str>, email: Option<&str>, picture: Option<&str>) -> Value {
    let mut p = serde_json::Map::new();
    for (k, v) in [
        ("displayName", display_name),
        ("email", email),
        ("picture", picture),
    ] {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            p.insert(k.into(), json!(v));
        }
    }
    Value::Object(p)
}

fn document(kind: &str, name: &str, dn: &str, description: Option<&str>, spec: Value) -> Value {
    let mut metadata = json!({
        "name": name,
        "annotations": { DN_ANNOTATION: dn },
    });
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        metadata["description"] = json!(d);
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_when_valid_and_made_valid_otherwise() {
        assert_eq!(entity_name("jane.doe").as_deref(), Some("jane.doe"));
        assert_eq!(entity_name("Jane Doe").as_deref(), Some("Jane-Doe"));
        assert_eq!(entity_name("a\n---\nkind: X").as_deref(), Some("a-kind-X"));
        assert_eq!(entity_name("--ops--").as_deref(), Some("ops"));
        assert_eq!(entity_name("日本"), None);
        assert_eq!(entity_name(&"x".repeat(100)).map(|n| n.len()), Some(63));
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            dn_key("CN=Ops, DC=Example,DC=org"),
            "cn=ops,dc=example,dc=org"
        );
    }

    #[test]
    fn a_cycle_loses_one_parent_link() {
        let g = |name: &str, members: &[&str]| GroupEntry {
            dn: format!("cn={name}"),
            name: name.into(),
            kind: "team".into(),
            members: members.iter().map(|m| format!("cn={m}")).collect(),
            ..Default::default()
        };
        let out = documents(&[], &[g("a", &["b"]), g("b", &["a"])], 8, "ldap:t");
        let parents: Vec<Option<&str>> = out
            .documents
            .iter()
            .map(|d| d["spec"]["parent"].as_str())
            .collect();
        assert_eq!(parents.iter().filter(|p| p.is_some()).count(), 1);
        assert!(out.errors.iter().any(|e| e.rule == "ldap.nesting"));
    }
}
