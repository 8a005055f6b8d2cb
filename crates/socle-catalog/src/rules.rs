//! Backstage's format rules for names, namespaces, kinds, labels, annotations, tags and
//! apiVersions (`CommonValidatorFunctions` / `KubernetesValidatorFunctions`).

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// `[a-z0-9]+(-[a-z0-9]+)*`, at most 63 characters.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Dot-separated DNS labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Sequences of `[a-zA-Z0-9]` separated by any of `[-_.]`, at most 63 characters.
pub fn is_object_name(s: &str) -> bool {
    let bytes: Vec<char> = s.chars().collect();
    !bytes.is_empty()
        && s.len() <= 63
        && is_alnum(bytes[0])
        && is_alnum(bytes[bytes.len() - 1])
        && bytes
            .iter()
            .all(|c| is_alnum(*c) || matches!(c, '-' | '_' | '.'))
}

/// A namespace is a DNS label.
pub fn is_namespace(s: &str) -> bool {
    is_dns_label(s)
}

/// `[a-zA-Z][a-z0-9A-Z]*`, at most 63 characters.
pub fn is_kind(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

fn prefix_and_or_suffix(s: &str, prefix: fn(&str) -> bool, suffix: fn(&str) -> bool) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [only] => suffix(only),
        [p, n] => prefix(p) && suffix(n),
        _ => false,
    }
}

/// `group/version`, e.g. `backstage.io/v1alpha1`.
pub fn is_api_version(s: &str) -> bool {
    prefix_and_or_suffix(s, is_dns_subdomain, |n| {
        !n.is_empty() && n.len() <= 63 && n.chars().all(is_alnum)
    })
}

/// Label and annotation keys: `[prefix/]name` with a DNS-subdomain prefix.
pub fn is_label_key(s: &str) -> bool {
    prefix_and_or_suffix(s, is_dns_subdomain, is_object_name)
}

/// Label values: empty or an object name.
pub fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_object_name(s)
}

/// Tags: `[a-z0-9:+#]+(-[a-z0-9:+#]+)*`, at most 63 characters.
pub fn is_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '+' | '#')
                })
        })
}

pub const NAME_EXPECTED: &str = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
pub const NAMESPACE_EXPECTED: &str =
    "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total";
pub const KIND_EXPECTED: &str =
    "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total";
pub const TAG_EXPECTED: &str =
    "a string of sequences of [a-z0-9+#:] separated by [-], at most 63 characters in total";
pub const LABEL_KEY_EXPECTED: &str = "a valid prefix and/or suffix, separated by a slash, where the prefix is a DNS subdomain and the suffix is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters";
pub const API_VERSION_EXPECTED: &str =
    "a string of the form <group>/<version>, e.g. backstage.io/v1alpha1";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert!(is_object_name("a"));
        assert!(is_object_name("my-svc_2.x"));
        assert!(!is_object_name("invalid component"));
        assert!(!is_object_name("-a"));
        assert!(!is_object_name("a-"));
        assert!(!is_object_name(&"a".repeat(64)));
        assert!(is_object_name(&"a".repeat(63)));
    }

    #[test]
    fn namespaces_tags_kinds() {
        assert!(is_namespace("default"));
        assert!(!is_namespace("Default"));
        assert!(!is_namespace("a--b"));
        assert!(is_tag("c++"));
        assert!(is_tag("java:11"));
        assert!(!is_tag("go 1.15.3"));
        assert!(!is_tag("Go"));
        assert!(is_kind("Component"));
        assert!(!is_kind("1abc"));
        assert!(is_api_version("backstage.io/v1alpha1"));
        assert!(!is_api_version("backstage.io/v1/x"));
        assert!(is_label_key("backstage.io/managed-by-location"));
        assert!(is_label_key("tier"));
        assert!(!is_label_key("a/b/c"));
        assert!(is_label_value(""));
    }

    proptest! {
        #[test]
        fn names_from_the_grammar_are_valid(s in "[A-Za-z0-9]([-_.]?[A-Za-z0-9]){0,30}") {
            prop_assert!(is_object_name(&s));
        }

        #[test]
        fn names_with_spaces_are_invalid(a in "[a-z]{1,5}", b in "[a-z]{1,5}") {
            let s = format!("{a} {b}");
            prop_assert!(!is_object_name(&s));
        }

        #[test]
        fn tags_never_panic(s in "\\PC{0,70}") {
            let _ = is_tag(&s);
            let _ = is_label_key(&s);
            let _ = is_api_version(&s);
        }
    }
}
