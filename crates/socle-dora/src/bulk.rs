//! A large JSON Lines history read on every core into compact, interned columns, then indexed
//! ([`crate::bulk_index`]) into the same [`crate::Dataset`] as [`crate::Dataset::build`] over
//! [`crate::parse_jsonl`]'s events — what `socle dora report --events FILE` does.
//!
//! The text is read in blocks cut at line ends (never the whole file in memory); each worker
//! parses the blocks it takes into its own columns: ids, services, sources and environments as
//! dense `u32` ids of its own interners, timestamps as integers, a deployment's listed changes
//! in one shared vector — no allocation per event. The workers' interners are then merged
//! into the first one's. A deployment or change line is read borrowed (no copy of its strings);
//! any line that this fast reading does not take as is (an escape in a string, a field Socle
//! does not read, a bad value, an incident) goes through [`crate::parse_event`], so errors,
//! warnings and events are exactly those of [`crate::parse_jsonl`].

use std::io::Read;
use std::sync::Mutex;
use std::sync::mpsc;

use serde::Deserialize;

use crate::events::{Event, Incident, MAX_CHANGES, MAX_NAME, Millis, parse_timestamp};
use crate::intern::{Interner, NONE};
use crate::jsonl::{ParseError, UnknownFields, parse_event};

/// Bytes read per block.
const BLOCK: usize = 8 << 20;

/// A deployment, its strings interned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dep {
    pub(crate) source: u32,
    pub(crate) id: u32,
    pub(crate) service: u32,
    pub(crate) environment: u32,
    pub(crate) status: u32,
    pub(crate) finished_at: Millis,
    /// Its listed changes: `listed[first..first + count]`.
    pub(crate) first: u32,
    pub(crate) count: u32,
    /// The commit deployed, or [`NONE`].
    pub(crate) commit: u32,
}

/// A change, its strings interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chg {
    pub(crate) source: u32,
    pub(crate) id: u32,
    pub(crate) service: u32,
    pub(crate) committed_at: Millis,
    /// The first parent's id, or [`NONE`].
    pub(crate) parent: u32,
}

/// Events read in bulk: columns of interned ids.
#[derive(Default)]
pub struct Bulk {
    /// Sources, services, environments and statuses.
    pub(crate) names: Interner,
    /// Commit ids: changes' ids and parents, deployments' listed changes and commits.
    pub(crate) commits: Interner,
    /// Deployments' ids.
    pub(crate) deploy_ids: Interner,
    pub(crate) deployments: Vec<Dep>,
    pub(crate) listed: Vec<u32>,
    pub(crate) changes: Vec<Chg>,
    pub(crate) incidents: Vec<Incident>,
    /// Every line that could not be read, in file order.
    pub errors: Vec<ParseError>,
    /// The fields of the lines read that Socle ignored.
    pub unknown_fields: UnknownFields,
}

/// Why a history could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("line {0}: not UTF-8 text")]
    NotUtf8(usize),
}

/// Part of the text, cut after a newline.
struct Block {
    no: usize,
    /// The line number (1-based) of its first line.
    first_line: usize,
    bytes: Vec<u8>,
}

/// A deployment or change line as written, its strings borrowed from the text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastLine<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    service: &'a str,
    #[serde(borrow)]
    source: Option<&'a str>,
    #[serde(borrow)]
    environment: Option<&'a str>,
    #[serde(borrow)]
    status: Option<&'a str>,
    #[serde(borrow)]
    finished_at: Option<&'a str>,
    #[serde(borrow)]
    changes: Option<Vec<&'a str>>,
    #[serde(borrow)]
    commit: Option<&'a str>,
    #[serde(borrow)]
    committed_at: Option<&'a str>,
    #[serde(borrow)]
    parent: Option<&'a str>,
}

/// As `jsonl`'s check of ids and names: 1 to [`MAX_NAME`] bytes, no control character.
fn name_ok(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_NAME && !v.chars().any(char::is_control)
}

impl Bulk {
    /// Reads a JSON Lines history on `threads` threads (blank lines and `#` comments skipped;
    /// `default_source` for events that name none).
    pub fn read(input: impl Read, default_source: &str, threads: usize) -> Result<Bulk, BulkError> {
        Self::read_in_blocks(input, default_source, threads, BLOCK)
    }

    /// [`Self::read`] with blocks of about `block` bytes (tests cut small texts in many).
    pub fn read_in_blocks(
        mut input: impl Read,
        default_source: &str,
        threads: usize,
        block: usize,
    ) -> Result<Bulk, BulkError> {
        let block = block.max(1);
        let threads = threads.clamp(1, 64);
        let (tx, rx) = mpsc::sync_channel::<Block>(threads);
        let (give_back, take_back) = mpsc::channel::<Vec<u8>>();
        let rx = Mutex::new(rx);
        let (read, locals) = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let (rx, give_back) = (&rx, give_back.clone());
                    s.spawn(move || {
                        let mut local = Local::default();
                        loop {
                            let next = rx.lock().map(|r| r.recv());
                            let Ok(Ok(mut block)) = next else { break };
                            local.block(&block, default_source);
                            block.bytes.clear();
                            let _ = give_back.send(block.bytes);
                        }
                        local
                    })
                })
                .collect();
            let read = split(&mut input, block, &tx, &take_back);
            drop(tx);
            let locals: Vec<Local> = workers
                .into_iter()
                .map(|w| w.join().unwrap_or_default())
                .collect();
            (read, locals)
        });
        read?;
        merge(locals)
    }
}

/// Reads `input` into blocks cut after a newline, sent to the workers; buffers come back
/// through `take_back` to be reused.
fn split(
    input: &mut impl Read,
    block: usize,
    tx: &mpsc::SyncSender<Block>,
    take_back: &mpsc::Receiver<Vec<u8>>,
) -> Result<(), BulkError> {
    let mut carry: Vec<u8> = Vec::new();
    let mut line = 1usize;
    let mut no = 0usize;
    loop {
        let mut buf = take_back.try_recv().unwrap_or_default();
        buf.clear();
        buf.append(&mut carry);
        // A block, or a quarter more past a line longer than a block.
        let target = block.max(buf.len() + block / 4 + 1);
        buf.reserve(target - buf.len());
        let want = (target - buf.len()) as u64;
        let n = (&mut *input).take(want).read_to_end(&mut buf)?;
        let eof = (n as u64) < want;
        if !eof {
            // Keep the last, unfinished line for the next block.
            match memchr::memrchr(b'\n', &buf) {
                Some(end) => carry.extend_from_slice(&buf[end + 1..]),
                None => {
                    // One line longer than a block: read on.
                    carry = buf;
                    continue;
                }
            }
            let end = buf.len() - carry.len();
            buf.truncate(end);
        }
        if buf.is_empty() && eof {
            return Ok(());
        }
        let lines = memchr::memchr_iter(b'\n', &buf).count();
        if tx
            .send(Block {
                no,
                first_line: line,
                bytes: buf,
            })
            .is_err()
        {
            return Ok(());
        }
        no += 1;
        line += lines;
        if eof {
            return Ok(());
        }
    }
}

/// One worker's columns.
#[derive(Default)]
struct Local {
    bulk: Bulk,
    /// The unknown fields of each block that had some, by block number.
    unknown: Vec<(usize, UnknownFields)>,
    /// The first line of a block that is not UTF-8.
    not_utf8: Option<usize>,
}

impl Local {
    fn block(&mut self, block: &Block, default_source: &str) {
        let text = match std::str::from_utf8(&block.bytes) {
            Ok(text) => text,
            Err(e) => {
                let before = &block.bytes[..e.valid_up_to()];
                let at = block.first_line + before.iter().filter(|&&b| b == b'\n').count();
                self.not_utf8 = Some(self.not_utf8.map_or(at, |l| l.min(at)));
                return;
            }
        };
        let mut unknown = UnknownFields::default();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if !self.fast(t, default_source) {
                self.slow(t, block.first_line + i, default_source, &mut unknown);
            }
        }
        if !unknown.is_empty() {
            self.unknown.push((block.no, unknown));
        }
    }

    /// A deployment or change line taken as is; false when it must go through `parse_event`.
    fn fast(&mut self, t: &str, default_source: &str) -> bool {
        if !t.starts_with('{') {
            return false;
        }
        let Ok(l) = serde_json::from_str::<FastLine>(t) else {
            return false;
        };
        let source = l.source.unwrap_or(default_source);
        if !name_ok(source) || !name_ok(l.id) || !name_ok(l.service) {
            return false;
        }
        let b = &mut self.bulk;
        match l.kind {
            "deployment" => {
                if l.committed_at.is_some() || l.parent.is_some() {
                    return false;
                }
                let (Some(environment), Some(finished_at)) = (l.environment, l.finished_at) else {
                    return false;
                };
                let changes = l.changes.unwrap_or_default();
                if !name_ok(environment)
                    || changes.len() > MAX_CHANGES
                    || !changes.iter().all(|c| name_ok(c))
                {
                    return false;
                }
                let Ok(finished_at) = parse_timestamp(finished_at) else {
                    return false;
                };
                let first = b.listed.len() as u32;
                b.listed.extend(changes.iter().map(|c| b.commits.intern(c)));
                let d = Dep {
                    source: b.names.intern(source),
                    id: b.deploy_ids.intern(l.id),
                    service: b.names.intern(l.service),
                    environment: b.names.intern(environment),
                    status: b.names.intern(l.status.unwrap_or("success")),
                    finished_at,
                    first,
                    count: changes.len() as u32,
                    commit: l.commit.map_or(NONE, |c| b.commits.intern(c)),
                };
                b.deployments.push(d);
            }
            "change" => {
                if l.environment.is_some()
                    || l.status.is_some()
                    || l.finished_at.is_some()
                    || l.changes.is_some()
                    || l.commit.is_some()
                {
                    return false;
                }
                let Some(Ok(committed_at)) = l.committed_at.map(parse_timestamp) else {
                    return false;
                };
                let c = Chg {
                    source: b.names.intern(source),
                    id: b.commits.intern(l.id),
                    service: b.names.intern(l.service),
                    committed_at,
                    parent: l.parent.map_or(NONE, |p| b.commits.intern(p)),
                };
                b.changes.push(c);
            }
            _ => return false,
        }
        true
    }

    /// A line read as `parse_jsonl` reads it.
    fn slow(&mut self, t: &str, line: usize, default_source: &str, unknown: &mut UnknownFields) {
        match parse_event(t, default_source) {
            Ok(read) => {
                for name in &read.ignored {
                    unknown.record(name, line);
                }
                self.bulk.push(read.event);
            }
            Err(e) => self.bulk.errors.push(ParseError {
                line,
                message: e.to_string(),
            }),
        }
    }
}

impl Bulk {
    /// An event read in full.
    fn push(&mut self, e: Event) {
        match e {
            Event::Deployment(d) => {
                let first = self.listed.len() as u32;
                for c in &d.changes {
                    let id = self.commits.intern(c);
                    self.listed.push(id);
                }
                let dep = Dep {
                    source: self.names.intern(&d.source),
                    id: self.deploy_ids.intern(&d.id),
                    service: self.names.intern(&d.service),
                    environment: self.names.intern(&d.environment),
                    status: self.names.intern(&d.status),
                    finished_at: d.finished_at,
                    first,
                    count: d.changes.len() as u32,
                    commit: d.commit.as_deref().map_or(NONE, |c| self.commits.intern(c)),
                };
                self.deployments.push(dep);
            }
            Event::Change(c) => {
                let chg = Chg {
                    source: self.names.intern(&c.source),
                    id: self.commits.intern(&c.id),
                    service: self.names.intern(&c.service),
                    committed_at: c.committed_at,
                    parent: c.parent.as_deref().map_or(NONE, |p| self.commits.intern(p)),
                };
                self.changes.push(chg);
            }
            Event::Incident(i) => self.incidents.push(i),
        }
    }

    /// Appends another worker's columns, its ids mapped into these interners.
    fn absorb(&mut self, o: Bulk) {
        let names = self.names.absorb(&o.names);
        let commits = self.commits.absorb(&o.commits);
        let deploy_ids = self.deploy_ids.absorb(&o.deploy_ids);
        let opt = |map: &[u32], id: u32| if id == NONE { NONE } else { map[id as usize] };
        let shift = self.listed.len() as u32;
        self.listed
            .extend(o.listed.iter().map(|&c| commits[c as usize]));
        self.deployments.extend(o.deployments.iter().map(|d| Dep {
            source: names[d.source as usize],
            id: deploy_ids[d.id as usize],
            service: names[d.service as usize],
            environment: names[d.environment as usize],
            status: names[d.status as usize],
            finished_at: d.finished_at,
            first: d.first + shift,
            count: d.count,
            commit: opt(&commits, d.commit),
        }));
        self.changes.extend(o.changes.iter().map(|c| Chg {
            source: names[c.source as usize],
            id: commits[c.id as usize],
            service: names[c.service as usize],
            committed_at: c.committed_at,
            parent: opt(&commits, c.parent),
        }));
        self.incidents.extend(o.incidents);
        self.errors.extend(o.errors);
    }
}

/// The workers' columns as one: the first worker's interners take the others' strings.
fn merge(locals: Vec<Local>) -> Result<Bulk, BulkError> {
    if let Some(line) = locals.iter().filter_map(|l| l.not_utf8).min() {
        return Err(BulkError::NotUtf8(line));
    }
    let mut unknown: Vec<(usize, UnknownFields)> = Vec::new();
    let mut out: Option<Bulk> = None;
    for l in locals {
        unknown.extend(l.unknown);
        match &mut out {
            None => out = Some(l.bulk),
            Some(b) => b.absorb(l.bulk),
        }
    }
    let mut out = out.unwrap_or_default();
    out.errors.sort_by_key(|e| e.line);
    unknown.sort_by_key(|(no, _)| *no);
    for (_, u) in unknown {
        out.unknown_fields.merge(u);
    }
    Ok(out)
}
