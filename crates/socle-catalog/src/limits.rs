//! Input budgets: every file read by the catalog is bounded in size, depth and node count.

use serde::{Deserialize, Serialize};

/// Bounds on untrusted catalog input. All are configurable; the defaults suit real catalogs
/// (Backstage's largest example, an inline GraphQL schema, is 40 KB).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: usize,
    /// Deepest nesting of YAML collections.
    pub max_depth: usize,
    /// Most YAML nodes in one file.
    pub max_nodes: usize,
    /// Most aliases (`*ref`) in one file: aliases are how "billion laughs" bombs grow.
    pub max_aliases: usize,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Most files one location may expand to (directories, globs, nested Location entities).
    pub max_files_per_location: usize,
    /// Deepest chain of Location entities pointing at other Locations.
    pub max_location_depth: usize,
    /// Most bytes the `$text`/`$json`/`$yaml` placeholders of one document may substitute, all
    /// together: a file referenced many times counts every time (a small document must not
    /// expand into a huge entity).
    pub max_placeholder_bytes: usize,
    /// Most placeholders in one document.
    pub max_placeholders: usize,
    /// Most bytes the placeholders of all the documents of one file may substitute together.
    pub max_placeholder_file_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 4 * 1024 * 1024,
            max_depth: 32,
            max_nodes: 200_000,
            max_aliases: 100,
            max_documents: 10_000,
            max_files_per_location: 200_000,
            max_location_depth: 16,
            max_placeholder_bytes: 4 * 1024 * 1024,
            max_placeholders: 64,
            max_placeholder_file_bytes: 32 * 1024 * 1024,
        }
    }
}
