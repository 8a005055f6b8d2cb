//! The change ids an import's deployments name (`changes`, `commit`) that no change event
//! defines: lead time cannot count them, so an import says which ones it could not link.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::Event;

/// How many distinct referenced ids are remembered; past it the check is partial (and says so).
pub const MAX_TRACKED_REFS: usize = 200_000;
/// How many unknown ids a warning names.
pub const SHOWN_UNKNOWN: usize = 5;

/// The change ids an import defines and references, bounded by [`MAX_TRACKED_REFS`].
#[derive(Debug, Default, Clone)]
pub struct ChangeRefs {
    defined: HashSet<String>,
    referenced: BTreeSet<String>,
    /// Some references were not remembered (past the bound).
    truncated: bool,
}

/// Deployments named changes that Socle does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownChanges {
    /// How many distinct ids are unknown.
    pub count: usize,
    /// The first [`SHOWN_UNKNOWN`] of them, in id order.
    pub ids: Vec<String>,
    /// Only the first [`MAX_TRACKED_REFS`] referenced ids were checked.
    pub partial: bool,
    pub message: String,
}

impl ChangeRefs {
    /// Notes what `events` define and reference.
    pub fn observe<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        for e in events {
            match e {
                Event::Change(c) => {
                    self.referenced.remove(&c.id);
                    self.defined.insert(c.id.clone());
                }
                Event::Deployment(d) => {
                    for id in d.changes.iter().chain(d.commit.as_ref()) {
                        if self.defined.contains(id) || self.referenced.contains(id) {
                            continue;
                        }
                        if self.referenced.len() >= MAX_TRACKED_REFS {
                            self.truncated = true;
                        } else {
                            self.referenced.insert(id.clone());
                        }
                    }
                }
                Event::Incident(_) => {}
            }
        }
    }

    /// Referenced ids that the import itself does not define (the store may know them):
    /// `observe` keeps `referenced` free of defined ids.
    pub fn undefined(&self) -> Vec<String> {
        self.referenced.iter().cloned().collect()
    }

    /// Of [`Self::undefined`], those `known` does not hold either: None when every one is known.
    pub fn unknown(&self, known: &HashSet<String>) -> Option<UnknownChanges> {
        let unknown: Vec<String> = self
            .undefined()
            .into_iter()
            .filter(|id| !known.contains(id))
            .collect();
        if unknown.is_empty() {
            return None;
        }
        let count = unknown.len();
        let ids: Vec<String> = unknown.into_iter().take(SHOWN_UNKNOWN).collect();
        let plural = if count == 1 { "" } else { "s" };
        let message = format!(
            "{count} change id{plural} named by deployments {} no known change ({}{}): lead time cannot count {}; import the changes (`change` lines, `socle dora git`, or a push webhook){}",
            if count == 1 { "matches" } else { "match" },
            ids.join(", "),
            if count > ids.len() { ", …" } else { "" },
            if count == 1 { "it" } else { "them" },
            if self.truncated {
                format!(" (only the first {MAX_TRACKED_REFS} referenced ids were checked)")
            } else {
                String::new()
            },
        );
        Some(UnknownChanges {
            count,
            ids,
            partial: self.truncated,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, Deployment};

    fn deployment(changes: &[&str], commit: Option<&str>) -> Event {
        Event::Deployment(Deployment {
            source: "t".into(),
            id: "d".into(),
            service: "s".into(),
            environment: "production".into(),
            status: "success".into(),
            finished_at: 0,
            changes: changes.iter().map(|c| (*c).to_owned()).collect(),
            commit: commit.map(str::to_owned),
        })
    }

    fn change(id: &str) -> Event {
        Event::Change(Change {
            source: "t".into(),
            id: id.into(),
            service: "s".into(),
            committed_at: 0,
            parent: None,
        })
    }

    #[test]
    fn ids_defined_before_or_after_the_deployment_are_not_unknown() {
        let mut r = ChangeRefs::default();
        r.observe(&[
            change("a"),
            deployment(&["a", "b", "c"], Some("d")),
            change("c"),
        ]);
        assert_eq!(r.undefined(), vec!["b", "d"]);
    }

    #[test]
    fn ids_the_store_knows_are_not_reported() {
        let mut r = ChangeRefs::default();
        r.observe(&[deployment(&["a", "b"], None)]);
        let known: HashSet<String> = ["a".to_owned()].into();
        let u = r.unknown(&known).expect("b is unknown");
        assert_eq!(u.count, 1);
        assert_eq!(u.ids, vec!["b"]);
        assert!(!u.partial);
        assert!(
            u.message
                .starts_with("1 change id named by deployments matches no known change (b)"),
            "{}",
            u.message
        );
    }

    #[test]
    fn nothing_is_reported_when_every_id_is_known() {
        let mut r = ChangeRefs::default();
        r.observe(&[deployment(&["a"], Some("b")), change("a")]);
        let known: HashSet<String> = ["b".to_owned()].into();
        assert_eq!(r.unknown(&known), None);
    }

    #[test]
    fn a_warning_names_the_first_ids_and_counts_all() {
        let mut r = ChangeRefs::default();
        let ids: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        r.observe(&[deployment(&refs, None)]);
        let u = r.unknown(&HashSet::new()).expect("all unknown");
        assert_eq!(u.count, 8);
        assert_eq!(u.ids, vec!["c0", "c1", "c2", "c3", "c4"]);
        assert!(
            u.message.contains("(c0, c1, c2, c3, c4, …)"),
            "{}",
            u.message
        );
    }
}
