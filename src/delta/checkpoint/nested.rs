//! The rare actions of a checkpoint (`metaData`, `protocol`, `sidecar`: a few rows of a file
//! that may hold millions of `add`s), assembled from all their leaf columns into a JSON value
//! that the commit parser's types read.
//!
//! Structs become objects, lists arrays and maps objects keyed by the key's text, as the Delta
//! log writes them in commits. A leaf nested in more than one repeated field (none of the
//! fields these actions define) is not read.

use parquet::schema::types::SchemaDescriptor;
use serde_json::{Map, Value};

use super::leaf::{Leaf, Node, Refusal, Scalar};
use super::Columns;

/// A step from a value into a nested one: into the object field `key` (or, for `None`, the
/// element itself), which is null below definition level `def`.
struct Step {
    key: Option<String>,
    def: i16,
}

/// What the one repeated field on a leaf's path holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeated {
    List,
    MapKey,
    MapValue,
}

/// The repeated field on a leaf's path: entries exist from definition level `def`.
struct Entries {
    kind: Repeated,
    def: i16,
    /// The steps from an entry to the leaf.
    steps: Vec<Step>,
}

/// A leaf and the way to its place in the action's value.
struct LeafPath {
    slot: usize,
    steps: Vec<Step>,
    entries: Option<Entries>,
}

/// A value being assembled.
enum Tree {
    Null,
    Scalar(Value),
    Object(Vec<(String, Tree)>),
    List(Vec<Tree>),
    Map(Vec<(Tree, Tree)>),
}

/// A top-level column read as a JSON action.
pub(super) struct NestedColumn {
    name: String,
    presence: usize,
    def: i16,
    leaves: Vec<LeafPath>,
}

impl NestedColumn {
    /// The leaves of the top-level column `top`, registered in `columns`; `None` when it has none.
    pub fn new(schema: &SchemaDescriptor, columns: &mut Columns, top: &Node<'_>) -> Option<NestedColumn> {
        let mut leaves = Vec::new();
        let mut presence = None;
        for leaf in top.leaves() {
            let Some(column) = leaf.column(schema) else { continue };
            let slot = columns.slot(column);
            presence.get_or_insert(slot);
            if let Some(path) = leaf_path(top, &leaf) {
                leaves.push(LeafPath { slot, steps: path.0, entries: path.1 });
            }
        }
        Some(NestedColumn { name: top.ty.name().to_owned(), presence: presence?, def: top.def, leaves })
    }

    /// The action of row `row` of the batch, as `{name: value}`, if the row has one.
    pub fn row(&self, leaves: &mut [Leaf], row: usize) -> Result<Option<Value>, Refusal> {
        if leaves[self.presence].first(row).0 < self.def {
            return Ok(None);
        }
        let mut tree = Tree::Object(Vec::new());
        for path in &self.leaves {
            fill(&mut tree, path, &mut leaves[path.slot], row)?;
        }
        let mut action = Map::with_capacity(1);
        action.insert(self.name.clone(), tree.into_json());
        Ok(Some(Value::Object(action)))
    }
}

/// The steps from `top` to `leaf`, and its repeated field; `None` for a leaf under two.
fn leaf_path(top: &Node<'_>, leaf: &Node<'_>) -> Option<(Vec<Step>, Option<Entries>)> {
    let (mut steps, mut entries) = (Vec::new(), None::<Entries>);
    let mut parent = top.clone();
    // Whether the next node is a list element or map key or value: it adds no object key.
    let mut element = false;
    for name in &leaf.path[top.path.len()..] {
        let node = parent.child(name)?;
        if node.repeated() {
            if entries.is_some() {
                return None;
            }
            let kind = match (parent.is_map(), node.ty.is_group()) {
                (true, true) => {
                    match node.ty.get_fields().iter().position(|f| f.name() == leaf.path[node.path.len()]) {
                        Some(0) => Repeated::MapKey,
                        Some(1) => Repeated::MapValue,
                        _ => return None,
                    }
                }
                _ => Repeated::List,
            };
            // A list's repeated group of one field wraps the element; a map's holds the key and
            // value; otherwise the repeated node is the element.
            let wraps =
                kind != Repeated::List || (parent.is_list() && node.ty.is_group() && node.ty.get_fields().len() == 1);
            entries = Some(Entries { kind, def: node.def, steps: Vec::new() });
            element = wraps;
            parent = node;
            continue;
        }
        let key = (!element).then(|| name.to_string());
        element = false;
        let step = Step { key, def: node.def };
        match &mut entries {
            Some(e) => e.steps.push(step),
            None => steps.push(step),
        }
        parent = node;
    }
    Some((steps, entries))
}

/// Places the values of `leaf` in row `row` into `tree`.
fn fill(tree: &mut Tree, path: &LeafPath, leaf: &mut Leaf, row: usize) -> Result<(), Refusal> {
    let span = leaf.span(row);
    if span.start >= span.end {
        return Ok(());
    }
    let Some(slot) = walk(tree, &path.steps, leaf.def(span.start)) else { return Ok(()) };
    let Some(entries) = &path.entries else { return set(slot, leaf, span.value) };
    let first = leaf.def(span.start);
    // The container exists once its parent does (a null list or map stops at its own step).
    let (mut value, defined) = (span.value, first >= entries.def);
    if matches!(slot, Tree::Null) {
        *slot = match entries.kind {
            Repeated::List => Tree::List(Vec::new()),
            _ => Tree::Map(Vec::new()),
        };
    }
    if !defined {
        return Ok(());
    }
    for (j, level) in (span.start..span.end).enumerate() {
        let def = leaf.def(level);
        let element = match (&mut *slot, entries.kind) {
            (Tree::List(items), Repeated::List) => grow(items, j, || Tree::Null),
            (Tree::Map(pairs), Repeated::MapKey) => &mut grow(pairs, j, || (Tree::Null, Tree::Null)).0,
            (Tree::Map(pairs), Repeated::MapValue) => &mut grow(pairs, j, || (Tree::Null, Tree::Null)).1,
            _ => return Ok(()),
        };
        if let Some(target) = walk(element, &entries.steps, def) {
            set(target, leaf, value)?;
        }
        value += usize::from(def == leaf.max_def);
    }
    Ok(())
}

/// Follows `steps` from `tree` for a level of definition `def`; `None` where a value is null.
fn walk<'t>(mut tree: &'t mut Tree, steps: &[Step], def: i16) -> Option<&'t mut Tree> {
    for step in steps {
        if let Some(key) = &step.key {
            if !matches!(tree, Tree::Object(_)) {
                *tree = Tree::Object(Vec::new());
            }
            let Tree::Object(fields) = tree else { unreachable!("made an object above") };
            let at = match fields.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    fields.push((key.clone(), Tree::Null));
                    fields.len() - 1
                }
            };
            tree = &mut fields[at].1;
        }
        if def < step.def {
            return None;
        }
    }
    Some(tree)
}

fn set(slot: &mut Tree, leaf: &Leaf, value: usize) -> Result<(), Refusal> {
    *slot = Tree::Scalar(match leaf.scalar(value) {
        Some(Scalar::Bool(b)) => Value::Bool(b),
        Some(Scalar::Int(n)) => Value::from(n),
        Some(Scalar::Double(x)) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        Some(Scalar::Bytes(_)) => Value::String(leaf.text(value)?.to_owned()),
        None => Value::Null,
    });
    Ok(())
}

fn grow<T>(items: &mut Vec<T>, index: usize, new: impl Fn() -> T) -> &mut T {
    while items.len() <= index {
        items.push(new());
    }
    &mut items[index]
}

impl Tree {
    fn into_json(self) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Scalar(v) => v,
            Tree::Object(fields) => Value::Object(fields.into_iter().map(|(k, v)| (k, v.into_json())).collect()),
            Tree::List(items) => Value::Array(items.into_iter().map(Tree::into_json).collect()),
            Tree::Map(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        let key = match k.into_json() {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (key, v.into_json())
                    })
                    .collect(),
            ),
        }
    }
}
