//! No absolute server paths in what the server sends: the directories it knows (the GitOps
//! root, the data directory, the platform directory, its working directory) are shown by name
//! (`$GITOPS/repositories/orders.git`, `$WORKDIR/catalog/catalog-info.yaml`) in every buffered
//! response — entity annotations (`managed-by-location`), location targets, refresh errors, run
//! outputs, portal pages alike. The store and the read model keep the real paths (the server
//! reads files by them); only the bytes on the wire change, in one middleware of the API
//! (`socle_api::hide_paths`), so no handler can forget it.

use std::path::{Path, PathBuf};

/// A directory and the name shown for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    /// The directory's absolute path as it appears in text (raw, then JSON-escaped if different).
    forms: Vec<String>,
    label: &'static str,
}

/// The server's directories, longest first, so the most specific name wins.
#[derive(Debug, Clone, Default)]
pub struct PublicPaths {
    roots: Vec<Root>,
}

impl PublicPaths {
    /// Whether there is anything to hide.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

impl PublicPaths {
    /// Roots that are the filesystem root or a top-level directory are ignored (they would
    /// rename every path); relative ones are made absolute and resolved when they exist.
    pub fn new(roots: impl IntoIterator<Item = (PathBuf, &'static str)>) -> Self {
        let mut out: Vec<Root> = Vec::new();
        for (dir, label) in roots {
            let Some(abs) = absolute(&dir) else { continue };
            if abs.components().count() < 3 {
                continue;
            }
            let raw = abs.to_string_lossy().into_owned();
            if out.iter().any(|r| r.forms[0] == raw) {
                continue;
            }
            let json = serde_json::to_string(&raw).unwrap_or_default();
            let json = json[1..json.len().saturating_sub(1)].to_owned();
            let mut forms = vec![raw];
            if json != forms[0] {
                forms.push(json);
            }
            out.push(Root { forms, label });
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.forms[0].len()));
        Self { roots: out }
    }

    /// `text` with every known directory replaced by its name. A directory matches only as a
    /// whole path component (`/srv/data` does not match in `/srv/data2`).
    pub fn hide(&self, text: &str) -> Option<String> {
        let mut changed: Option<String> = None;
        for root in &self.roots {
            for form in &root.forms {
                let current = changed.as_deref().unwrap_or(text);
                if let Some(next) = replace_component(current, form, root.label) {
                    changed = Some(next);
                }
            }
        }
        changed
    }

    /// The real path for a shown one (`$WORKDIR/x` → `/srv/socle/x`, also after `file://` or
    /// `file:`), so what a client read can be sent back; other text unchanged.
    pub fn reveal(&self, shown: &str) -> String {
        for scheme in ["file://", "file:", ""] {
            let Some(path) = shown.strip_prefix(scheme) else {
                continue;
            };
            for root in &self.roots {
                if let Some(rest) = path.strip_prefix(root.label)
                    && (rest.is_empty() || rest.starts_with('/'))
                {
                    return format!("{scheme}{}{rest}", root.forms[0]);
                }
            }
        }
        shown.to_owned()
    }
}

fn absolute(dir: &Path) -> Option<PathBuf> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(dir)
    };
    Some(std::fs::canonicalize(&abs).unwrap_or(abs))
}

/// Replaces `needle` where it is followed by a path separator, a quote or anything that cannot
/// continue a file name; None when nothing matched.
fn replace_component(text: &str, needle: &str, label: &str) -> Option<String> {
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut last = 0;
    for at in finder.find_iter(bytes) {
        if at < last {
            continue;
        }
        let end = at + needle.len();
        let boundary = match bytes.get(end) {
            None => true,
            Some(b) => !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~')),
        };
        if !boundary {
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[last..at]);
        o.push_str(label);
        last = end;
    }
    let mut o = out?;
    o.push_str(&text[last..]);
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> PublicPaths {
        PublicPaths::new([
            (PathBuf::from("/srv/socle"), "$WORKDIR"),
            (PathBuf::from("/srv/socle/.socle"), "$GITOPS"),
            (PathBuf::from("/"), "$ROOT"),
            (PathBuf::from("/srv"), "$SRV"),
        ])
    }

    #[test]
    fn the_most_specific_directory_wins() {
        let p = paths();
        assert_eq!(
            p.hide(
                "file:///srv/socle/.socle/repositories/a.git and file:/srv/socle/catalog/x.yaml"
            )
            .unwrap(),
            "file://$GITOPS/repositories/a.git and file:$WORKDIR/catalog/x.yaml"
        );
    }

    #[test]
    fn a_directory_matches_only_as_whole_components() {
        let p = paths();
        assert_eq!(p.hide("/srv/socle2/x and /srv/socle-old"), None);
        assert_eq!(p.hide("\"/srv/socle\"").unwrap(), "\"$WORKDIR\"");
    }

    #[test]
    fn top_level_roots_are_ignored() {
        assert_eq!(paths().hide("/srv/other/x"), None);
    }

    #[test]
    fn json_escaped_forms_are_found() {
        let p = PublicPaths::new([(PathBuf::from("/srv/a\"b/c"), "$WORKDIR")]);
        assert_eq!(
            p.hide(r#"{"k":"/srv/a\"b/c/x"}"#).unwrap(),
            r#"{"k":"$WORKDIR/x"}"#
        );
    }

    #[test]
    fn reveal_inverts_hide() {
        let p = paths();
        assert_eq!(
            p.reveal("$GITOPS/repositories/a.git"),
            "/srv/socle/.socle/repositories/a.git"
        );
        assert_eq!(p.reveal("file://$WORKDIR/a.git"), "file:///srv/socle/a.git");
        assert_eq!(p.reveal("relative/x"), "relative/x");
    }
}
