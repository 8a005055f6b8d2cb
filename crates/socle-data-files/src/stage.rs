//! The middle of a load, on a thread of its own beside the reader's: rows as the reader parsed
//! them are settled for their columns' affinity, counted by the streamed checks, cut to the
//! columns the table keeps, and sent on in batches to the database. The reader only parses, so
//! parsing and counting share the two cores, and the rows keep the files' order.

use std::sync::mpsc::Receiver;

use crate::load::{Affinity, BATCH, Cell, Columns, Msg};
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
    batch: Vec<Vec<Cell>>,
    tx: tokio::sync::mpsc::Sender<Msg>,
}

impl Stage {
    pub fn new(
        keep: Option<Vec<String>>,
        stream: Option<Streamed>,
        tx: tokio::sync::mpsc::Sender<Msg>,
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
        self.send(Msg::Columns(new))
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
        let row = if self.keep.is_none() && self.table.len() == row.len() {
            row
        } else {
            self.table
                .iter()
                .map(|&i| row.get_mut(i).map_or(Cell::Null, std::mem::take))
                .collect()
        };
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.batch);
        self.send(Msg::Rows(rows))
    }

    fn send(&self, m: Msg) -> Result<(), String> {
        self.tx
            .blocking_send(m)
            .map_err(|_| "the load stopped".to_owned())
    }
}
