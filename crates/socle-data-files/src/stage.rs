//! The middle of a load, on a thread of its own beside the reader's: rows as the reader parsed
//! them are settled for their columns' affinity, counted by the streamed checks, cut to the
//! columns the table keeps, and sent on in batches to the database. The reader only parses, so
//! parsing and counting share the two cores, and the rows keep the files' order.
//!
//! A Parquet file is read here instead, a row group per thread on every core (`read_parquet`):
//! each thread decodes its row groups column by column, counts them with its own fork of the
//! streamed checks (merged at the end) and cuts their rows, sent on in the file's order.

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

/// What a reader thread sends the stage: rows of row group `g` (cut to the table's columns, at
/// most [`BATCH`] rows), then the group's end (or why it failed).
enum Piece {
    Rows(usize, Vec<Cell>),
    Done(usize, Result<(), String>),
}

/// Batches of rows the reader threads may have sent and the stage not yet taken: enough for a
/// row group or so while the database catches up.
const PIECES: usize = 32;

/// Cells a row group not yet next in line may hold back while it waits for its turn: beyond
/// this its thread waits (a file of one huge row group never sits in memory whole).
#[cfg(not(test))]
const HELD_CELLS: usize = 1 << 21;
/// Small in unit tests, so that threads wait their turn.
#[cfg(test)]
const HELD_CELLS: usize = 8;

/// Sends each row group's rows to the database in the file's order, as they arrive (those of a
/// group not yet next in line held until the groups before it are done); the first failure.
fn forward(
    tx: &tokio::sync::mpsc::Sender<Out>,
    width: usize,
    pieces: std::sync::mpsc::Receiver<Piece>,
    order: &Order,
) -> Option<String> {
    let send = |cells: Vec<Cell>| {
        tx.blocking_send(Out::Rows { width, cells })
            .map_err(|_| "the load stopped".to_owned())
    };
    let mut held: BTreeMap<usize, Vec<Vec<Cell>>> = BTreeMap::new();
    let mut done: BTreeMap<usize, Result<(), String>> = BTreeMap::new();
    let mut failed = None;
    for piece in pieces {
        if failed.is_some() {
            continue; // drained, so that no thread waits to send
        }
        let step = match piece {
            Piece::Rows(g, cells) if g == order.sent() => send(cells),
            Piece::Rows(g, cells) => {
                held.entry(g).or_default().push(cells);
                Ok(())
            }
            Piece::Done(g, end) => {
                done.insert(g, end);
                (|| {
                    while let Some(end) = done.remove(&order.sent()) {
                        end?;
                        order.advance();
                        for cells in held.remove(&order.sent()).unwrap_or_default() {
                            send(cells)?;
                        }
                    }
                    Ok(())
                })()
            }
        };
        if let Err(e) = step {
            failed = Some(e);
            order.stop();
        }
    }
    failed
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
    /// Row group `g`: decoded, counted (into `stream`), cut to the table; each batch of rows
    /// goes to `emit`.
    fn read(
        &self,
        g: usize,
        mut stream: Option<&mut Streamed>,
        emit: &mut dyn FnMut(Vec<Cell>) -> Result<(), String>,
    ) -> Result<(), String> {
        let affinity: Vec<Affinity> = self
            .header
            .iter()
            .map(|&at| self.columns.affinity[at])
            .collect();
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
                if self.table.is_empty() {
                    return Ok(());
                }
                let mut cells = Vec::with_capacity(n * self.table.len());
                for r in 0..n {
                    for &i in self.table {
                        let v = by_column[i].get(r).copied().unwrap_or(Val::Null);
                        cells.push(v.to_cell());
                    }
                }
                emit(cells)
            })
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
        let mut s = self
            .moved
            .wait_while(self.lock(), |s| {
                !s.stopped && s.next < self.groups && s.next >= s.sent + self.ahead
            })
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.stopped || s.next >= self.groups {
            return None;
        }
        s.next += 1;
        Some(s.next - 1)
    }

    /// Waits until row group `g` is the first not yet sent (false once stopped).
    fn wait_turn(&self, g: usize) -> bool {
        let s = self
            .moved
            .wait_while(self.lock(), |s| !s.stopped && s.sent != g)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !s.stopped
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
        let (parts_tx, parts_rx) = std::sync::mpsc::sync_channel::<Piece>(PIECES);
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
                        let mut held = 0;
                        let mut emit = |cells: Vec<Cell>| {
                            held += cells.len();
                            if held > HELD_CELLS && !order.wait_turn(g) {
                                return Err("the load stopped".to_owned());
                            }
                            parts_tx
                                .send(Piece::Rows(g, cells))
                                .map_err(|_| "the load stopped".to_owned())
                        };
                        let done = job.read(g, mine.as_mut(), &mut emit);
                        let failed = done.is_err();
                        if parts_tx.send(Piece::Done(g, done)).is_err() || failed {
                            order.stop();
                        }
                    }
                    mine
                }));
            }
            drop(parts_tx);
            let mut failed = forward(&tx, width, parts_rx, &order);
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

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::data_type::Int64Type;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    /// `groups` row groups of `rows` rows: `a` counts from 0, `b` is `a` times 10.
    fn write(path: &Path, groups: i64, rows: i64) {
        let schema = parse_message_type("message m { REQUIRED INT64 a; REQUIRED INT64 b; }");
        let props = Arc::new(WriterProperties::builder().build());
        let file = std::fs::File::create(path).unwrap();
        let mut w = SerializedFileWriter::new(file, Arc::new(schema.unwrap()), props).unwrap();
        for g in 0..groups {
            let a: Vec<i64> = (g * rows..(g + 1) * rows).collect();
            let b: Vec<i64> = a.iter().map(|v| v * 10).collect();
            let mut rg = w.next_row_group().unwrap();
            for v in [&a, &b] {
                let mut c = rg.next_column().unwrap().unwrap();
                c.typed::<Int64Type>().write_batch(v, None, None).unwrap();
                c.close().unwrap();
            }
            rg.close().unwrap();
        }
        w.close().unwrap();
    }

    #[test]
    fn row_groups_read_side_by_side_reach_the_table_in_the_files_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        // Every group holds more cells than a group not next in line may hold back.
        write(&path, 9, 7);
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let (msgs, inbox) = std::sync::mpsc::sync_channel(4);
        let stage = Stage::new(None, None, tx);
        let running = std::thread::spawn(move || stage.run(inbox));
        let columns = vec![
            ("a".to_owned(), Affinity::Integer),
            ("b".to_owned(), Affinity::Integer),
        ];
        msgs.send(Msg::Columns(columns)).unwrap();
        msgs.send(Msg::Parquet {
            path,
            header: vec![0, 1],
        })
        .unwrap();
        drop(msgs);
        let mut cells = Vec::new();
        while let Some(out) = rx.blocking_recv() {
            if let Out::Rows { width, cells: c } = out {
                assert_eq!(width, 2);
                cells.extend(c);
            }
        }
        running.join().unwrap().unwrap();
        let expected: Vec<Cell> = (0..63)
            .flat_map(|a| [Cell::Int(a), Cell::Int(a * 10)])
            .collect();
        assert_eq!(cells, expected);
    }
}
