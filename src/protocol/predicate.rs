//! `jsonPredicateHints` (Delta Sharing §1.11): parsing and conservative file pruning on
//! partition values and on min/max statistics.
//!
//! Hints are best effort: anything this module does not understand keeps the file. A file is
//! dropped only when no row in it can satisfy the predicate.

use std::cmp::Ordering;

use serde_json::Value;

/// Largest hint document evaluated (the reference's limit).
const MAX_HINT_BYTES: usize = 1 << 20;
/// Deepest tree evaluated.
const MAX_DEPTH: usize = 100;

/// The type of a literal and of the column it is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueType {
    Bool,
    Int,
    Float,
    Str,
    Date,
    Timestamp,
}

/// A parsed predicate.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// All children hold.
    And(Vec<Predicate>),
    /// Some child holds.
    Or(Vec<Predicate>),
    /// The child does not hold.
    Not(Box<Predicate>),
    /// The column is null.
    IsNull(String),
    /// `column <op> literal`.
    Compare {
        /// Comparison.
        op: CompareOp,
        /// Logical column name.
        column: String,
        /// Literal text.
        literal: String,
        /// Literal type.
        value_type: ValueTypeName,
    },
}

/// The type name a predicate leaf declares (`int`, `long`, `string`, `date`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueTypeName(ValueType);

/// A binary comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Equal,
    /// `<`
    LessThan,
    /// `<=`
    LessThanOrEqual,
    /// `>`
    GreaterThan,
    /// `>=`
    GreaterThanOrEqual,
}

/// What a predicate can say about all rows of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    /// Every row satisfies it.
    Always,
    /// No row satisfies it.
    Never,
    /// Unknown.
    Maybe,
}

/// What the pruner may know about one column in one file.
#[derive(Clone, Debug, Default)]
pub struct ColumnFacts<'a> {
    /// For a partition column: its value in the file (`None` = null).
    pub partition_value: Option<Option<&'a str>>,
    /// Minimum from statistics.
    pub min: Option<&'a Value>,
    /// Maximum from statistics.
    pub max: Option<&'a Value>,
    /// Null count from statistics.
    pub null_count: Option<i64>,
    /// Row count from statistics.
    pub num_records: Option<i64>,
}

impl Predicate {
    /// Parses hint text. `None` when the text is not a predicate this module understands (the
    /// protocol says such hints are ignored, not refused).
    pub fn parse(text: &str) -> Option<Predicate> {
        if text.len() > MAX_HINT_BYTES {
            return None;
        }
        let value: Value = serde_json::from_str(text).ok()?;
        parse_node(&value, 0)
    }

    /// Whether some row of the file may satisfy the predicate. `facts` answers for a logical
    /// column name.
    pub fn may_match<'a>(&self, facts: &dyn Fn(&str) -> ColumnFacts<'a>) -> bool {
        self.truth(facts) != Truth::Never
    }

    fn truth<'a>(&self, facts: &dyn Fn(&str) -> ColumnFacts<'a>) -> Truth {
        match self {
            Predicate::And(children) => {
                let mut all = Truth::Always;
                for c in children {
                    match c.truth(facts) {
                        Truth::Never => return Truth::Never,
                        Truth::Maybe => all = Truth::Maybe,
                        Truth::Always => {}
                    }
                }
                all
            }
            Predicate::Or(children) => {
                let mut any = Truth::Never;
                for c in children {
                    match c.truth(facts) {
                        Truth::Always => return Truth::Always,
                        Truth::Maybe => any = Truth::Maybe,
                        Truth::Never => {}
                    }
                }
                any
            }
            Predicate::Not(child) => match child.truth(facts) {
                Truth::Always => Truth::Never,
                Truth::Never => Truth::Always,
                Truth::Maybe => Truth::Maybe,
            },
            Predicate::IsNull(column) => {
                let f = facts(column);
                match (f.partition_value, f.null_count, f.num_records) {
                    (Some(v), _, _) => truth_of(v.is_none()),
                    (None, Some(0), _) => Truth::Never,
                    (None, Some(n), Some(rows)) if n == rows => Truth::Always,
                    _ => Truth::Maybe,
                }
            }
            Predicate::Compare { op, column, literal, value_type } => {
                compare(*op, &facts(column), literal, value_type.0)
            }
        }
    }
}

fn truth_of(b: bool) -> Truth {
    if b {
        Truth::Always
    } else {
        Truth::Never
    }
}

fn parse_node(v: &Value, depth: usize) -> Option<Predicate> {
    if depth > MAX_DEPTH {
        return None;
    }
    let op = v.get("op")?.as_str()?;
    let children = || v.get("children").and_then(Value::as_array);
    let compare_op = match op {
        "and" | "or" => {
            let kids = children()?;
            if kids.len() < 2 {
                return None;
            }
            let parsed = kids.iter().map(|c| parse_node(c, depth + 1)).collect::<Option<Vec<_>>>()?;
            return Some(if op == "and" { Predicate::And(parsed) } else { Predicate::Or(parsed) });
        }
        "not" => {
            let [child] = children()?.as_slice() else { return None };
            return Some(Predicate::Not(Box::new(parse_node(child, depth + 1)?)));
        }
        "isNull" => {
            let [child] = children()?.as_slice() else { return None };
            return leaf(child, "column").map(|(name, _)| Predicate::IsNull(name));
        }
        "equal" => CompareOp::Equal,
        "lessThan" => CompareOp::LessThan,
        "lessThanOrEqual" => CompareOp::LessThanOrEqual,
        "greaterThan" => CompareOp::GreaterThan,
        "greaterThanOrEqual" => CompareOp::GreaterThanOrEqual,
        _ => return None,
    };
    let [a, b] = children()?.as_slice() else { return None };
    // `column op literal`, or `literal op column` with the comparison mirrored.
    let (column, literal, op) = match (leaf(a, "column"), leaf(b, "literal")) {
        (Some(c), Some(l)) => (c, l, compare_op),
        _ => (leaf(b, "column")?, leaf(a, "literal")?, mirror(compare_op)),
    };
    let value_type = match literal.1.as_str() {
        "bool" => ValueType::Bool,
        "int" | "long" => ValueType::Int,
        "float" | "double" => ValueType::Float,
        "string" => ValueType::Str,
        "date" => ValueType::Date,
        "timestamp" => ValueType::Timestamp,
        _ => return None,
    };
    Some(Predicate::Compare { op, column: column.0, literal: literal.0, value_type: ValueTypeName(value_type) })
}

fn mirror(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Equal => CompareOp::Equal,
        CompareOp::LessThan => CompareOp::GreaterThan,
        CompareOp::LessThanOrEqual => CompareOp::GreaterThanOrEqual,
        CompareOp::GreaterThan => CompareOp::LessThan,
        CompareOp::GreaterThanOrEqual => CompareOp::LessThanOrEqual,
    }
}

/// `(name or value, valueType)` of a `column` or `literal` leaf.
fn leaf(v: &Value, kind: &str) -> Option<(String, String)> {
    if v.get("op")?.as_str()? != kind {
        return None;
    }
    let field = if kind == "column" { "name" } else { "value" };
    Some((v.get(field)?.as_str()?.to_string(), v.get("valueType")?.as_str()?.to_string()))
}

/// Orders `a` against `b` as values of type `t`; `None` when either does not parse.
fn order(a: &str, b: &str, t: ValueType) -> Option<Ordering> {
    match t {
        ValueType::Int => Some(a.trim().parse::<i64>().ok()?.cmp(&b.trim().parse::<i64>().ok()?)),
        ValueType::Float => a.trim().parse::<f64>().ok()?.partial_cmp(&b.trim().parse::<f64>().ok()?),
        ValueType::Str | ValueType::Date => Some(a.cmp(b)),
        ValueType::Bool => {
            let parse = |s: &str| match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            Some(parse(a)?.cmp(&parse(b)?))
        }
        // Partition and statistics timestamps use several textual forms; never prune on them.
        ValueType::Timestamp => None,
    }
}

fn stat_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn compare(op: CompareOp, f: &ColumnFacts<'_>, literal: &str, t: ValueType) -> Truth {
    if let Some(value) = f.partition_value {
        // A null partition value makes every comparison null: no row passes.
        let Some(value) = value else { return Truth::Never };
        return match order(value, literal, t) {
            Some(o) => truth_of(holds(op, o)),
            None => Truth::Maybe,
        };
    }
    // Statistics can only rule a file out. Strings may be truncated prefixes, so their
    // maximum is never trusted.
    let min = f.min.and_then(stat_text).and_then(|m| order(&m, literal, t));
    let max = if t == ValueType::Str { None } else { f.max.and_then(stat_text).and_then(|m| order(&m, literal, t)) };
    let never = match op {
        CompareOp::Equal => min == Some(Ordering::Greater) || max == Some(Ordering::Less),
        CompareOp::LessThan => min.is_some_and(|o| o != Ordering::Less),
        CompareOp::LessThanOrEqual => min == Some(Ordering::Greater),
        CompareOp::GreaterThan => max.is_some_and(|o| o != Ordering::Greater),
        CompareOp::GreaterThanOrEqual => max == Some(Ordering::Less),
    };
    if never {
        Truth::Never
    } else {
        Truth::Maybe
    }
}

fn holds(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Equal => o == Ordering::Equal,
        CompareOp::LessThan => o == Ordering::Less,
        CompareOp::LessThanOrEqual => o != Ordering::Greater,
        CompareOp::GreaterThan => o == Ordering::Greater,
        CompareOp::GreaterThanOrEqual => o != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eq(col: &str, v: &str, t: &str) -> Value {
        json!({"op":"equal","children":[{"op":"column","name":col,"valueType":t},{"op":"literal","value":v,"valueType":t}]})
    }

    fn partition<'a>(date: Option<&'a str>) -> impl Fn(&str) -> ColumnFacts<'a> {
        move |c| {
            if c == "date" {
                ColumnFacts { partition_value: Some(date), ..Default::default() }
            } else {
                ColumnFacts::default()
            }
        }
    }

    #[test]
    fn prunes_on_partition_values() {
        let p = Predicate::parse(&eq("date", "2021-04-28", "date").to_string()).unwrap();
        assert!(p.may_match(&partition(Some("2021-04-28"))));
        assert!(!p.may_match(&partition(Some("2021-04-29"))));
        assert!(!p.may_match(&partition(None)));
        let not =
            Predicate::parse(&json!({"op":"not","children":[eq("date", "2021-04-28", "date")]}).to_string()).unwrap();
        assert!(!not.may_match(&partition(Some("2021-04-28"))));
        assert!(not.may_match(&partition(Some("2021-04-29"))));
        let unknown_column = Predicate::parse(&eq("other", "1", "int").to_string()).unwrap();
        assert!(unknown_column.may_match(&partition(Some("x"))));
    }

    #[test]
    fn prunes_on_min_max_statistics() {
        let (min, max) = (json!(10), json!(20));
        let stats = |c: &str| {
            if c == "id" {
                ColumnFacts {
                    min: Some(&min),
                    max: Some(&max),
                    null_count: Some(0),
                    num_records: Some(5),
                    ..Default::default()
                }
            } else {
                ColumnFacts::default()
            }
        };
        let cmp = |op: &str, v: &str| {
            Predicate::parse(&json!({"op":op,"children":[{"op":"column","name":"id","valueType":"long"},{"op":"literal","value":v,"valueType":"long"}]}).to_string()).unwrap()
        };
        assert!(cmp("equal", "15").may_match(&stats));
        assert!(!cmp("equal", "21").may_match(&stats));
        assert!(!cmp("lessThan", "10").may_match(&stats));
        assert!(cmp("lessThanOrEqual", "10").may_match(&stats));
        assert!(!cmp("greaterThan", "20").may_match(&stats));
        assert!(cmp("greaterThanOrEqual", "20").may_match(&stats));
        // NOT of a statistics "maybe" stays "maybe": the file is kept.
        let not = Predicate::Not(Box::new(cmp("equal", "15")));
        assert!(not.may_match(&stats));
        let is_null = Predicate::parse(
            &json!({"op":"isNull","children":[{"op":"column","name":"id","valueType":"long"}]}).to_string(),
        )
        .unwrap();
        assert!(!is_null.may_match(&stats));
    }

    #[test]
    fn invalid_hints_are_ignored() {
        for text in [
            "",
            "{",
            "[]",
            r#"{"op":"like"}"#,
            r#"{"op":"and","children":[]}"#,
            r#"{"op":"equal","children":[{"op":"column","name":"a","valueType":"int"}]}"#,
        ] {
            assert_eq!(Predicate::parse(text), None, "{text}");
        }
        let mut deep = eq("a", "1", "int");
        for _ in 0..150 {
            deep = json!({"op":"not","children":[deep]});
        }
        assert_eq!(Predicate::parse(&deep.to_string()), None);
    }
}
