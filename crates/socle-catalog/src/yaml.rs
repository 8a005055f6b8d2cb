//! YAML loading with positions: every node keeps the line and column it was written at, so that
//! validation errors can point at `file:line:column` for any field path.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;
use std::fmt;

use crate::limits::Limits;

/// A YAML node with its position (1-based line and column).
#[derive(Clone, Debug)]
pub struct Node {
    pub line: u32,
    pub column: u32,
    pub value: NodeValue,
}

#[derive(Clone, Debug)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// One step of a field path: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `spec.providesApis[1]`.
pub fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Why a tree does not decode into a type: where (a path into the tree) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub path: Vec<Seg>,
    pub message: String,
}

impl Node {
    /// Decodes the tree into `T` with serde, an error naming the field path it stopped at (an
    /// enum's variant counts as a key), which [`Node::locate`] turns into a line.
    pub fn decode<T: de::DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_path_to_error::deserialize::<_, T>(self.to_json()).map_err(|e| DecodeError {
            path: e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Enum { variant } => {
                        Some(Seg::Key(variant.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect(),
            message: e.into_inner().to_string(),
        })
    }

    /// Converts the tree to a JSON value (mapping order kept).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    map.insert(k.clone(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// Turns a JSON pointer (`/spec/items/0`, as JSON Schema validators report) into a field
    /// path, using the tree to tell sequence indices from keys that look like numbers.
    pub fn pointer_path(&self, pointer: &str) -> Vec<Seg> {
        let mut out = Vec::new();
        let mut cur = Some(self);
        for raw in pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            let seg = match (cur.map(|n| &n.value), key.parse::<usize>()) {
                (Some(NodeValue::Seq(_)), Ok(i)) => Seg::Index(i),
                _ => Seg::Key(key),
            };
            cur = match (&seg, cur.map(|n| &n.value)) {
                (Seg::Index(i), Some(NodeValue::Seq(items))) => items.get(*i),
                (Seg::Key(k), Some(NodeValue::Map(entries))) => {
                    entries.iter().find(|(x, _)| x == k).map(|(_, v)| v)
                }
                _ => None,
            };
            out.push(seg);
        }
        out
    }

    /// A tree from a JSON value, every node at `line`:`column` (a document Socle derives from
    /// another, whose problems point at the source's position).
    pub fn from_json(value: &Value, line: u32, column: u32) -> Self {
        let value = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => NodeValue::Number(n.clone()),
            Value::String(s) => NodeValue::String(s.clone()),
            Value::Array(items) => NodeValue::Seq(
                items
                    .iter()
                    .map(|v| Self::from_json(v, line, column))
                    .collect(),
            ),
            Value::Object(map) => NodeValue::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::from_json(v, line, column)))
                    .collect(),
            ),
        };
        Self {
            line,
            column,
            value,
        }
    }

    /// The position of the deepest node along `path` (the node itself when the whole path exists,
    /// otherwise its closest existing ancestor).
    pub fn locate(&self, path: &[Seg]) -> (u32, u32) {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(entries)) => {
                    entries.iter().find(|(key, _)| key == k).map(|(_, v)| v)
                }
                (Seg::Index(i), NodeValue::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        (node.line, node.column)
    }
}

struct NodeVisitor;

/// Separates a message from the `line:column` the visitor knows when the parser does not.
const POSITION: &str = " (key at ";

/// A message without its carried position, and that position (when there is one).
fn carried_position(message: &str) -> (&str, Option<(u32, u32)>) {
    let Some((text, pos)) = message.split_once(POSITION) else {
        return (message, None);
    };
    let pos = pos.split(')').next().unwrap_or_default();
    let parsed = pos
        .split_once(':')
        .and_then(|(l, c)| Some((l.parse().ok()?, c.parse().ok()?)));
    (text, parsed)
}

fn leaf(value: NodeValue) -> Node {
    Node {
        line: 0,
        column: 0,
        value,
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(leaf(NodeValue::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(leaf(NodeValue::Number(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(leaf(NodeValue::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(leaf(match Number::from_f64(v) {
            Some(n) => NodeValue::Number(n),
            // .nan / .inf have no JSON form; keep their YAML spelling.
            None => NodeValue::String(v.to_string()),
        }))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(leaf(NodeValue::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(leaf(NodeValue::String(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(leaf(NodeValue::String(
            String::from_utf8_lossy(v).into_owned(),
        )))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(leaf(NodeValue::Null))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(leaf(NodeValue::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(with_position(item));
        }
        Ok(leaf(NodeValue::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let key = match key.value.value {
                NodeValue::String(s) => s,
                NodeValue::Null => "null".to_owned(),
                NodeValue::Bool(b) => b.to_string(),
                NodeValue::Number(n) => n.to_string(),
                NodeValue::Seq(_) | NodeValue::Map(_) => {
                    // The parser does not locate errors raised here: carry the key's position.
                    return Err(de::Error::custom(format!(
                        "mapping keys must be scalars{POSITION}{}:{})",
                        key.referenced.line(),
                        key.referenced.column()
                    )));
                }
            };
            let value = with_position(map.next_value::<Spanned<Node>>()?);
            entries.push((key, value));
        }
        Ok(leaf(NodeValue::Map(entries)))
    }
}

fn with_position(spanned: Spanned<Node>) -> Node {
    let mut node = spanned.value;
    node.line = u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX);
    node.column = u32::try_from(spanned.referenced.column()).unwrap_or(u32::MAX);
    node
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// A YAML syntax or budget error, with its position when the parser knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// The input was refused by a limit (size, depth, nodes, aliases), not a syntax error.
    pub limit: bool,
}

/// Parses every document of a YAML stream, under the given limits. Empty documents are skipped.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // YAML 1.2 core schema, as Backstage's `yaml` parser: `yes`/`no`/`on` stay strings.
    options.strict_booleans = true;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_aliases = limits.max_aliases;
    budget.max_anchors = limits.max_aliases;
    budget.max_documents = limits.max_documents;
    budget.max_total_scalar_bytes = limits.max_file_bytes;
    options.budget = Some(budget);
    let docs: Vec<Option<Spanned<Node>>> =
        serde_saphyr::from_str_multiple_with_options(text, options).map_err(|e| {
            let loc = e.location().map(|l| (l.line() as u32, l.column() as u32));
            let rendered = e.without_snippet().to_string();
            let (rendered, carried) = carried_position(&rendered);
            let (line, column) = loc.or(carried).unwrap_or_default();
            // The rendered message may end with " at line X column Y"; keep the first line only.
            let message = humanize(
                rendered.lines().next().unwrap_or("invalid YAML").trim(),
                limits,
            );
            YamlError {
                limit: message.contains(": refused"),
                line: Some(line).filter(|l| *l > 0),
                column: Some(column).filter(|c| *c > 0),
                message,
            }
        })?;
    Ok(docs
        .into_iter()
        .flatten()
        .map(with_position)
        .filter(|n| !matches!(n.value, NodeValue::Null))
        .collect())
}

/// Rewrites the parser's budget messages into what a user can act on.
fn humanize(raw: &str, limits: &Limits) -> String {
    let core = raw.split(" at line ").next().unwrap_or(raw).trim();
    if core.contains("budget breached: Nodes") {
        format!(
            "the document has more than {} YAML nodes: refused (aliases that expand exponentially, a \"billion laughs\" bomb, or a far too large file)",
            limits.max_nodes
        )
    } else if core.contains("budget breached: ScalarBytes") {
        format!(
            "the document expands to more than {} bytes of text: refused (aliases that expand exponentially, a \"billion laughs\" bomb, or a far too large file)",
            limits.max_file_bytes
        )
    } else if core.contains("budget breached: Alias") || core.contains("budget breached: Anchor") {
        format!(
            "the document uses more than {} aliases or anchors: refused",
            limits.max_aliases
        )
    } else if core.contains("budget breached: Depth")
        || core.contains("recursion limit")
        || core.contains("nesting")
    {
        format!(
            "the document is nested more than {} levels deep: refused",
            limits.max_depth
        )
    } else if core.contains("budget breached: Documents") {
        format!(
            "the file has more than {} documents: refused",
            limits.max_documents
        )
    } else if core.contains("budget breached") {
        format!("the document exceeds the parser's input budget ({core}): refused")
    } else {
        core.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_the_text() {
        let text = "a: 1\nb:\n  c: [x, y]\n---\nname: two\n";
        let docs = parse_documents(text, &Limits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        let path = [Seg::Key("b".into()), Seg::Key("c".into()), Seg::Index(1)];
        assert_eq!(docs[0].locate(&path).0, 3);
        assert_eq!(docs[1].locate(&[Seg::Key("name".into())]).0, 5);
        assert_eq!(docs[0].to_json()["b"]["c"][1], "y");
    }

    #[test]
    fn a_collection_as_a_key_is_located() {
        let err = parse_documents("a: 1\nb:\n  ? [x]\n  : 2\n", &Limits::default()).unwrap_err();
        assert_eq!(err.message, "mapping keys must be scalars");
        assert_eq!((err.line, err.column), (Some(3), Some(3)));
    }

    #[test]
    fn yaml12_booleans() {
        let docs = parse_documents("a: yes\nb: true\n", &Limits::default()).unwrap();
        let v = docs[0].to_json();
        assert_eq!(v["a"], "yes");
        assert_eq!(v["b"], true);
    }

    #[test]
    fn path_rendering() {
        let p = [
            Seg::Key("spec".into()),
            Seg::Key("dependsOn".into()),
            Seg::Index(2),
        ];
        assert_eq!(path_string(&p), "spec.dependsOn[2]");
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    pub fn laughs(levels: usize) -> String {
        let mut s = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..levels {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
            ));
        }
        s
    }

    #[test]
    fn billion_laughs_is_refused() {
        for levels in [6, 9, 12] {
            let err = parse_documents(&laughs(levels), &Limits::default()).unwrap_err();
            assert!(
                err.message
                    .starts_with("the document has more than 200000 YAML nodes"),
                "{err:?}"
            );
            assert_eq!(err.line, Some(6));
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a: {}1{}\n", "[".repeat(500), "]".repeat(500));
        let err = parse_documents(&text, &Limits::default()).unwrap_err();
        assert_eq!(
            err.message, "the document is nested more than 32 levels deep: refused",
            "{err:?}"
        );
        assert_eq!(err.line, Some(1));
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        let err = parse_documents(&block, &Limits::default()).unwrap_err();
        assert_eq!(
            err.message, "the document is nested more than 32 levels deep: refused",
            "{err:?}"
        );
    }
}
