//! The middle of a load, on a thread of its own beside the reader's: rows as the reader parsed
//! them are settled for their columns' affinity, counted by the streamed checks, cut to the
//! columns the table keeps, and sent on in batches to the database. The reader only parses, so
//! parsing and counting share the two cores, and the rows keep the files' order.
//!
//! A Parquet file is read here instead, a row group per thread on every core (`read_parquet`):
//! each thread decodes its row group column by column, counts it with its own fork of the
//! streamed checks and cuts its rows; the parts are merged and sent on in the file's order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::{Condvar, Mutex};

use crate::load::{Affinity, BATCH, Cell, Columns, Msg, Out, Val};
use crate::parquet_read::ParquetFile;
use crate::stored::settle;
use crate::stream::Streamed;

pub struct Stage {
    /// Every column the reader announced, in its order.
    columns: Columns,
    /// The table's columns (positions in `columns`), in the table's order.
    table: Vec<usize>,
    /// Columns the table keeps, by name (`None`: every column).
    keep: Option<Vec<String>>,
    stream: Option<Streamed>,
    /// Rows waiting to be sent, `table.len()` cells each.
    batch: Vec<Cell>,
    tx: tokio::sync::mpsc::Sender<Out>,
}

/// What one thread made of one row group: its rows cut to the table's columns (in batches of
/// at most [`BATCH`] rows).
struct Part {
    chunks: Vec<Vec<Cell>>,
}

/// What the threads reading a Parquet file's row groups share.
struct Group<'a> {
    pq: &'a ParquetFile,
    path: &'a Path,
    /// The file's columns' positions among the reader's columns.
    header: &'a [usize],
    columns: &'a Columns,
    table: &'a [usize],
    /// The streamed checks with nothing counted: each thread counts with a fork of them.
    stream: Option<Streamed>,
}

impl Group<'_> {
    /// Row group `g`: decoded, counted (into `stream`), cut to the table.
    fn read(&self, g: usize, mut stream: Option<&mut Streamed>) -> Result<Part, String> {
        let affinity: Vec<Affinity> = self
            .header
            .iter()
            .map(|&at| self.columns.affinity[at])
            .collect();
        let mut chunks = Vec::new();
        let width = self.columns.names.len();
        self.pq
            .read_group(self.path, g, &affinity, BATCH, |columns, n| {
                let mut by_column: Vec<&[Val<'_>]> = vec![&[]; width];
                for (c, &at) in columns.iter().zip(self.header) {
                    if let Some(slot) = by_column.get_mut(at) {
                        *slot = c;
                    }
                }
                if let Some(s) = stream.as_deref_mut() {
                    s.columns(&by_column, n);
                }
                if !self.table.is_empty() {
                    let mut cells = Vec::with_capacity(n * self.table.len());
                    for r in 0..n {
                        for &i in self.table {
                            let v = by_column[i].get(r).copied().unwrap_or(Val::Null);
                            cells.push(v.to_cell());
                        }
                    }
                    chunks.push(cells);
                }
                Ok(())
            })?;
        Ok(Part { chunks })
    }
}

/// Which row group a thread reads next: in the file's order, at most `ahead` beyond the first
/// one not yet sent (what waits to be sent stays bounded), none once stopped.
struct Order {
    state: Mutex<OrderState>,
    moved: Condvar,
    groups: usize,
    ahead: usize,
}

struct OrderState {
    next: usize,
    sent: usize,
    stopped: bool,
}

impl Order {
    fn new(groups: usize, ahead: usize) -> Self {
        Order {
            state: Mutex::new(OrderState {
                next: 0,
                sent: 0,
                stopped: false,
            }),
            moved: Condvar::new(),
            groups,
            ahead: ahead.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OrderState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next row group to read, once it is close enough to the first not yet sent.
    fn next(&self) -> Option<usize> {
        let mut s = self.lock();
        loop {
            if s.stopped || s.next >= self.groups {
                return None;
            }
            if s.next < s.sent + self.ahead {
                s.next += 1;
                return Some(s.next - 1);
            }
            s = self
                .moved
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// The first row group not yet sent.
    fn sent(&self) -> usize {
        self.lock().sent
    }

    fn advance(&self) {
        self.lock().sent += 1;
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.moved.notify_all();
    }
}

impl Stage {
    pub fn new(
        keep: Option<Vec<String>>,
        stream: Option<Streamed>,
        tx: tokio::sync::mpsc::Sender<Out>,
    ) -> Self {
        Stage {
            columns: Columns::default(),
            table: Vec::new(),
            keep,
            stream,
            batch: Vec::new(),
            tx,
        }
    }

    /// Until the reader is done (its sender dropped): every column the reader announces, then
    /// rows as wide as the columns known when they were read; returns the streamed checks.
    pub fn run(mut self, rx: Receiver<Msg>) -> Result<Option<Streamed>, String> {
        for m in rx {
            match m {
                Msg::Columns(new) => self.add_columns(new)?,
                Msg::Rows(rows) => {
                    for row in rows {
                        self.row(row)?;
                    }
                }
                Msg::Parquet { path, header } => self.read_parquet(&path, &header)?,
            }
        }
        self.flush()?;
        Ok(self.stream)
    }

    fn add_columns(&mut self, new: Vec<(String, Affinity)>) -> Result<(), String> {
        self.flush()?;
        let from = self.columns.names.len();
        for (n, a) in new {
            self.columns.names.push(n);
            self.columns.affinity.push(a);
        }
        if let Some(s) = &mut self.stream {
            s.resolve(&self.columns);
        }
        let kept: Vec<usize> = (from..self.columns.names.len())
            .filter(|&i| match &self.keep {
                None => true,
                Some(names) => names.iter().any(|n| self.columns.position(n) == Some(i)),
            })
            .collect();
        if kept.is_empty() {
            return Ok(());
        }
        self.table.extend(&kept);
        let new = kept
            .into_iter()
            .map(|i| (self.columns.names[i].clone(), self.columns.affinity[i]))
            .collect();
        self.send(Out::Columns(new))
    }

    /// One row: settled, counted, then cut to the table's columns.
    fn row(&mut self, mut row: Vec<Cell>) -> Result<(), String> {
        for (cell, a) in row.iter_mut().zip(&self.columns.affinity) {
            if !matches!(cell, Cell::Null) {
                *cell = settle(std::mem::take(cell), *a);
            }
        }
        if let Some(s) = &mut self.stream {
            s.row(&row);
        }
        if self.table.is_empty() {
            return Ok(());
        }
        for &i in &self.table {
            self.batch
                .push(row.get_mut(i).map_or(Cell::Null, std::mem::take));
        }
        if self.batch.len() >= BATCH * self.table.len() {
            self.flush()?;
        }
        Ok(())
    }

    /// A Parquet file's row groups, read on every core, merged and sent in the file's order.
    fn read_parquet(&mut self, path: &Path, header: &[usize]) -> Result<(), String> {
        self.flush()?;
        let pq = ParquetFile::open(path)?;
        let mut stream = self.stream.take();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(pq.row_groups())
            .max(1);
        let order = Order::new(pq.row_groups(), 2 * threads);
        let job = Group {
            pq: &pq,
            path,
            header,
            columns: &self.columns,
            table: &self.table,
            stream: stream.as_ref().map(Streamed::fork),
        };
        let tx = self.tx.clone();
        let width = self.table.len();
        let (parts_tx, parts_rx) = std::sync::mpsc::channel::<(usize, Result<Part, String>)>();
        let read = std::thread::scope(|scope| {
            // Each thread counts the row groups it reads with a fork of its own, merged at the
            // end (counts do not depend on the order; the rows do, and go through `Order`).
            let mut counting = Vec::with_capacity(threads);
            for _ in 0..threads {
                let parts_tx = parts_tx.clone();
                let (job, order) = (&job, &order);
                let rows = pq.num_rows() / threads + pq.num_rows() / 64;
                counting.push(scope.spawn(move || {
                    let mut mine = job.stream.as_ref().map(Streamed::fork);
                    if let Some(s) = &mut mine {
                        s.reserve(rows);
                    }
                    while let Some(g) = order.next() {
                        let part = job.read(g, mine.as_mut());
                        let failed = part.is_err();
                        if parts_tx.send((g, part)).is_err() || failed {
                            order.stop();
                        }
                    }
                    mine
                }));
            }
            drop(parts_tx);
            // Parts arrive in any order; their rows are sent in the file's.
            let mut waiting = BTreeMap::new();
            let mut failed: Option<String> = None;
            for (g, part) in parts_rx {
                waiting.insert(g, part);
                while let Some(part) = waiting.remove(&order.sent()) {
                    order.advance();
                    let sent = part.and_then(|p| {
                        p.chunks.into_iter().try_for_each(|cells| {
                            tx.blocking_send(Out::Rows { width, cells })
                                .map_err(|_| "the load stopped".to_owned())
                        })
                    });
                    if let Err(e) = sent {
                        failed.get_or_insert(e);
                        order.stop();
                    }
                }
            }
            for t in counting {
                match (t.join(), &mut stream) {
                    (Ok(Some(counted)), Some(s)) => s.merge(counted),
                    (Ok(_), _) => {}
                    (Err(_), _) => {
                        failed.get_or_insert("a Parquet reader thread stopped".to_owned());
                    }
                }
            }
            failed.map_or(Ok(()), Err)
        });
        self.stream = stream;
        read
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let cells = std::mem::take(&mut self.batch);
        self.send(Out::Rows {
            width: self.table.len(),
            cells,
        })
    }

    fn send(&self, m: Out) -> Result<(), String> {
        self.tx
            .blocking_send(m)
            .map_err(|_| "the load stopped".to_owned())
    }
}
