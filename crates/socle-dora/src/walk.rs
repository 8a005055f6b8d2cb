//! First-parent walks over dense commit ids (as `metrics::walk_range`), with marks reused from
//! one walk to the next: the bulk index and the live index walk the same way.

use crate::metrics::MAX_WALK;

/// Marks of the walks so far: a slot holds the stamp of the last walk that marked it.
#[derive(Default)]
pub(crate) struct Walker {
    stop: Vec<u32>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Walker {
    /// The commits from `commit` back to (not including) `previous` and its ancestors, among
    /// `n` commit ids: `parent` gives a commit's first parent, `known` whether a change stands
    /// for it (a walk stops at the first commit nothing stands for). At most `MAX_WALK` each way.
    pub(crate) fn range(
        &mut self,
        n: usize,
        commit: u32,
        previous: Option<u32>,
        parent: impl Fn(u32) -> Option<u32>,
        known: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        if self.stop.len() < n {
            self.stop.resize(n, 0);
            self.seen.resize(n, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.stop.fill(0);
            self.seen.fill(0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        if let Some(mut p) = previous {
            for _ in 0..MAX_WALK {
                if self.stop[p as usize] == stamp {
                    break;
                }
                self.stop[p as usize] = stamp;
                match parent(p) {
                    Some(next) => p = next,
                    None => break,
                }
            }
        }
        let mut out = Vec::new();
        let mut cur = Some(commit);
        while let Some(c) = cur {
            if self.stop[c as usize] == stamp
                || self.seen[c as usize] == stamp
                || out.len() >= MAX_WALK
            {
                break;
            }
            self.seen[c as usize] = stamp;
            if !known(c) {
                break;
            }
            out.push(c);
            cur = parent(c);
        }
        out
    }
}
