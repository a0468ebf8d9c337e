//! A Parquet file schema mapped to a Delta schema (`schemaString`), and the rule that decides
//! whether two files of one dataset agree.
//!
//! Logical types (and, for files of older writers, converted types) decide the Delta type:
//! integers by width, `STRING`/`ENUM`/`JSON` as `string`, other byte arrays as `binary`,
//! `DATE`, `DECIMAL(p,s)`, and `TIMESTAMP` as `timestamp` when adjusted to UTC and
//! `timestamp_ntz` otherwise. Groups become structs, `LIST` arrays and `MAP` maps (with the
//! legacy two-level list forms). Types Delta cannot hold (`TIME`, unsigned 64-bit, intervals)
//! are refused with the column's path.

use std::fmt::Write as _;

use parquet::basic::{ConvertedType, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::schema::types::Type;

/// A Delta data type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataType {
    /// `long`, `string`, `decimal(10,2)`, …
    Primitive(String),
    /// `struct`.
    Struct(Vec<Field>),
    /// `array`.
    Array {
        /// Element type.
        element: Box<DataType>,
        /// Whether elements may be null.
        contains_null: bool,
    },
    /// `map`.
    Map {
        /// Key type.
        key: Box<DataType>,
        /// Value type.
        value: Box<DataType>,
        /// Whether values may be null.
        value_contains_null: bool,
    },
}

/// A named field of a struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// Whether it may be null.
    pub nullable: bool,
}

/// The columns of one file (the root struct's fields).
pub type Schema = Vec<Field>;

/// Maps the root of a Parquet schema to Delta fields. Errors name the column.
pub fn from_parquet(root: &Type) -> Result<Schema, String> {
    if !root.is_group() {
        return Err("the schema root is not a group".into());
    }
    root.get_fields().iter().map(|f| field(f, f.name())).collect()
}

fn field(t: &Type, path: &str) -> Result<Field, String> {
    let info = t.get_basic_info();
    let repetition = if info.has_repetition() { info.repetition() } else { Repetition::OPTIONAL };
    let base = value_type(t, path)?;
    Ok(match repetition {
        // A repeated field outside a LIST group is a list of non-null values.
        Repetition::REPEATED => Field {
            name: t.name().to_string(),
            data_type: DataType::Array { element: Box::new(base), contains_null: false },
            nullable: false,
        },
        r => Field { name: t.name().to_string(), data_type: base, nullable: r == Repetition::OPTIONAL },
    })
}

/// The type of `t` itself, ignoring its repetition.
fn value_type(t: &Type, path: &str) -> Result<DataType, String> {
    if t.is_primitive() {
        return primitive(t).map(DataType::Primitive).map_err(|e| format!("column {path}: {e}"));
    }
    let info = t.get_basic_info();
    let logical = info.logical_type_ref();
    let is_list = matches!(logical, Some(LogicalType::List)) || info.converted_type() == ConvertedType::LIST;
    let is_map = matches!(logical, Some(LogicalType::Map))
        || matches!(info.converted_type(), ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE);
    if is_list {
        return list(t, path);
    }
    if is_map {
        return map(t, path);
    }
    let fields = t.get_fields().iter().map(|f| field(f, &format!("{path}.{}", f.name()))).collect::<Result<_, _>>()?;
    Ok(DataType::Struct(fields))
}

fn list(t: &Type, path: &str) -> Result<DataType, String> {
    let [repeated] = t.get_fields() else { return Err(format!("column {path}: a LIST group needs one child")) };
    let element_path = format!("{path}.element");
    // Three levels (`repeated group list { <element> }`) unless the legacy two-level rules say
    // the repeated field is itself the element.
    let two_level = repeated.is_primitive()
        || repeated.get_fields().len() != 1
        || repeated.name() == "array"
        || repeated.name() == format!("{}_tuple", t.name());
    if two_level {
        let element = value_type(repeated, &element_path)?;
        return Ok(DataType::Array { element: Box::new(element), contains_null: false });
    }
    let element = field(&repeated.get_fields()[0], &element_path)?;
    Ok(DataType::Array { element: Box::new(element.data_type), contains_null: element.nullable })
}

fn map(t: &Type, path: &str) -> Result<DataType, String> {
    let [key_value] = t.get_fields() else { return Err(format!("column {path}: a MAP group needs one child")) };
    let [key, value] = key_value.get_fields() else {
        return Err(format!("column {path}: a map entry needs a key and a value"));
    };
    let key = field(key, &format!("{path}.key"))?;
    let value = field(value, &format!("{path}.value"))?;
    Ok(DataType::Map {
        key: Box::new(key.data_type),
        value: Box::new(value.data_type),
        value_contains_null: value.nullable,
    })
}

fn primitive(t: &Type) -> Result<String, String> {
    let info = t.get_basic_info();
    let physical = t.get_physical_type();
    let name = match (info.logical_type_ref(), physical) {
        (Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), _) => "string",
        (Some(LogicalType::Date), _) => "date",
        (Some(LogicalType::Decimal(d)), _) => return decimal(d.precision, d.scale),
        (Some(LogicalType::Timestamp(ts)), _) => timestamp(ts.is_adjusted_to_u_t_c, &ts.unit),
        (Some(LogicalType::Integer(i)), _) => integer(i.bit_width, i.is_signed)?,
        (Some(LogicalType::Time(_)), _) => return Err("TIME has no Delta type".into()),
        (Some(LogicalType::Float16), _) => return Err("FLOAT16 has no Delta type".into()),
        (Some(LogicalType::Uuid | LogicalType::Bson), _) => "binary",
        (Some(LogicalType::Unknown), _) => return Err("the NULL type has no Delta type".into()),
        (Some(other), _) if !matches!(other, LogicalType::List | LogicalType::Map) => {
            return Err(format!("logical type {other:?} has no Delta type"));
        }
        _ => return converted(t),
    };
    Ok(name.to_string())
}

/// Files without logical types: converted types, then the physical type.
fn converted(t: &Type) -> Result<String, String> {
    let name = match (t.get_basic_info().converted_type(), t.get_physical_type()) {
        (ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON, _) => "string",
        (ConvertedType::DATE, _) => "date",
        (ConvertedType::DECIMAL, _) => return decimal(t.get_precision(), t.get_scale()),
        (ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS, _) => "timestamp",
        (ConvertedType::INT_8, _) => "byte",
        (ConvertedType::INT_16 | ConvertedType::UINT_8, _) => "short",
        (ConvertedType::INT_32 | ConvertedType::UINT_16, _) => "integer",
        (ConvertedType::INT_64 | ConvertedType::UINT_32, _) => "long",
        (ConvertedType::UINT_64, _) => return Err("unsigned 64-bit integers have no Delta type".into()),
        (ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS, _) => return Err("TIME has no Delta type".into()),
        (ConvertedType::INTERVAL, _) => return Err("INTERVAL has no Delta type".into()),
        (_, Physical::BOOLEAN) => "boolean",
        (_, Physical::INT32) => "integer",
        (_, Physical::INT64) => "long",
        (_, Physical::INT96) => "timestamp",
        (_, Physical::FLOAT) => "float",
        (_, Physical::DOUBLE) => "double",
        (_, Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY) => "binary",
    };
    Ok(name.to_string())
}

fn integer(bits: i8, signed: bool) -> Result<&'static str, String> {
    Ok(match (bits, signed) {
        (8, true) => "byte",
        (16, true) | (8, false) => "short",
        (32, true) | (16, false) => "integer",
        (64, true) | (32, false) => "long",
        (64, false) => return Err("unsigned 64-bit integers have no Delta type".into()),
        _ => return Err(format!("INT({bits}) is not a valid integer width")),
    })
}

fn timestamp(adjusted_to_utc: bool, _unit: &TimeUnit) -> &'static str {
    if adjusted_to_utc {
        "timestamp"
    } else {
        "timestamp_ntz"
    }
}

fn decimal(precision: i32, scale: i32) -> Result<String, String> {
    if !(1..=38).contains(&precision) || scale < 0 || scale > precision {
        return Err(format!("DECIMAL({precision},{scale}) is outside Delta's decimal(38)"));
    }
    Ok(format!("decimal({precision},{scale})"))
}

/// The Delta schema JSON (`schemaString`) of `fields` with `partitions` appended as nullable
/// strings.
pub fn schema_string(fields: &[Field], partitions: &[String]) -> String {
    let mut out = String::from("{\"type\":\"struct\",\"fields\":[");
    let extra: Vec<Field> = partitions
        .iter()
        .map(|p| Field { name: p.clone(), data_type: DataType::Primitive("string".into()), nullable: true })
        .collect();
    for (i, f) in fields.iter().chain(&extra).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(&mut out, f);
    }
    out.push_str("]}");
    out
}

fn write_field(out: &mut String, f: &Field) {
    out.push_str("{\"name\":");
    out.push_str(&serde_json::Value::from(f.name.as_str()).to_string());
    out.push_str(",\"type\":");
    write_type(out, &f.data_type);
    let _ = write!(out, ",\"nullable\":{},\"metadata\":{{}}}}", f.nullable);
}

fn write_type(out: &mut String, t: &DataType) {
    match t {
        DataType::Primitive(name) => {
            let _ = write!(out, "\"{name}\"");
        }
        DataType::Struct(fields) => {
            out.push_str("{\"type\":\"struct\",\"fields\":[");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_field(out, f);
            }
            out.push_str("]}");
        }
        DataType::Array { element, contains_null } => {
            out.push_str("{\"type\":\"array\",\"elementType\":");
            write_type(out, element);
            let _ = write!(out, ",\"containsNull\":{contains_null}}}");
        }
        DataType::Map { key, value, value_contains_null } => {
            out.push_str("{\"type\":\"map\",\"keyType\":");
            write_type(out, key);
            out.push_str(",\"valueType\":");
            write_type(out, value);
            let _ = write!(out, ",\"valueContainsNull\":{value_contains_null}}}");
        }
    }
}

/// Whether some type in `fields` is `timestamp_ntz` (a reader feature in Delta).
pub fn has_timestamp_ntz(fields: &[Field]) -> bool {
    fn walk(t: &DataType) -> bool {
        match t {
            DataType::Primitive(p) => p == "timestamp_ntz",
            DataType::Struct(fields) => fields.iter().any(|f| walk(&f.data_type)),
            DataType::Array { element, .. } => walk(element),
            DataType::Map { key, value, .. } => walk(key) || walk(value),
        }
    }
    fields.iter().any(|f| walk(&f.data_type))
}

/// Widens `into` so it also describes `other`: same columns in the same order with the same
/// types; nullability is the union. The error says the first difference.
pub fn unify(into: &mut [Field], other: &[Field]) -> Result<(), String> {
    if into.len() != other.len() {
        let names = |fs: &[Field]| fs.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
        return Err(format!("it has columns [{}] where the others have [{}]", names(other), names(into)));
    }
    for (a, b) in into.iter_mut().zip(other) {
        unify_field(a, b, &b.name)?;
    }
    Ok(())
}

fn unify_field(a: &mut Field, b: &Field, path: &str) -> Result<(), String> {
    if a.name != b.name {
        return Err(format!("it has column {path} where the others have {}", a.name));
    }
    a.nullable |= b.nullable;
    unify_type(&mut a.data_type, &b.data_type, path)
}

fn unify_type(a: &mut DataType, b: &DataType, path: &str) -> Result<(), String> {
    match (a, b) {
        (DataType::Primitive(x), DataType::Primitive(y)) if x == y => Ok(()),
        (DataType::Struct(x), DataType::Struct(y)) if x.len() == y.len() => {
            for (fa, fb) in x.iter_mut().zip(y) {
                unify_field(fa, fb, &format!("{path}.{}", fb.name))?;
            }
            Ok(())
        }
        (DataType::Array { element: x, contains_null: nx }, DataType::Array { element: y, contains_null: ny }) => {
            *nx |= *ny;
            unify_type(x, y, &format!("{path}.element"))
        }
        (
            DataType::Map { key: kx, value: vx, value_contains_null: nx },
            DataType::Map { key: ky, value: vy, value_contains_null: ny },
        ) => {
            *nx |= *ny;
            unify_type(kx, ky, &format!("{path}.key"))?;
            unify_type(vx, vy, &format!("{path}.value"))
        }
        (a, b) => Err(format!("column {path} is {} there but {} in the others", type_name(b), type_name(a))),
    }
}

fn type_name(t: &DataType) -> String {
    let mut s = String::new();
    write_type(&mut s, t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::schema::parser::parse_message_type;

    fn mapped(message: &str) -> Result<String, String> {
        let t = parse_message_type(message).unwrap();
        from_parquet(&t).map(|f| schema_string(&f, &[]))
    }

    fn types(message: &str) -> Vec<serde_json::Value> {
        let s: serde_json::Value = serde_json::from_str(&mapped(message).unwrap()).unwrap();
        s["fields"].as_array().unwrap().iter().map(|f| f["type"].clone()).collect()
    }

    #[test]
    fn maps_primitive_types() {
        let t = types(
            "message m {
              required int32 a (INTEGER(8,true)); optional int32 b (INTEGER(16,true)); optional int32 c;
              optional int64 d; optional int32 e (INTEGER(32,false)); optional float f; optional double g;
              optional binary h (STRING); optional binary i; optional boolean j; optional int32 k (DATE);
              optional int64 l (TIMESTAMP(MICROS,true)); optional int64 m (TIMESTAMP(MICROS,false));
              optional int64 n (TIMESTAMP(NANOS,false)); optional int32 o (DECIMAL(9,2));
              optional fixed_len_byte_array(16) p (DECIMAL(38,10)); optional int96 q; optional binary r (UTF8);
              optional int64 s (TIMESTAMP_MILLIS); optional fixed_len_byte_array(4) t;
            }",
        );
        let expected = [
            "byte",
            "short",
            "integer",
            "long",
            "long",
            "float",
            "double",
            "string",
            "binary",
            "boolean",
            "date",
            "timestamp",
            "timestamp_ntz",
            "timestamp_ntz",
            "decimal(9,2)",
            "decimal(38,10)",
            "timestamp",
            "string",
            "timestamp",
            "binary",
        ];
        assert_eq!(t, expected.map(serde_json::Value::from));
        let s: serde_json::Value =
            serde_json::from_str(&mapped("message m { required int32 a; optional int32 b; }").unwrap()).unwrap();
        assert_eq!(s["fields"][0], serde_json::json!({"name":"a","type":"integer","nullable":false,"metadata":{}}));
        assert_eq!(s["fields"][1]["nullable"], true);
    }

    #[test]
    fn maps_nested_types() {
        let t = types(
            "message m {
              optional group s { required int64 x; optional binary y (STRING); }
              optional group l (LIST) { repeated group list { optional int32 element; } }
              optional group l2 (LIST) { repeated int32 element; }
              optional group mp (MAP) { repeated group key_value { required binary key (STRING); optional double value; } }
              repeated int64 bare;
              optional group ls (LIST) { repeated group list { required group element { optional int32 z; } } }
            }",
        );
        let json = serde_json::json!([
            {"type":"struct","fields":[
                {"name":"x","type":"long","nullable":false,"metadata":{}},
                {"name":"y","type":"string","nullable":true,"metadata":{}}]},
            {"type":"array","elementType":"integer","containsNull":true},
            {"type":"array","elementType":"integer","containsNull":false},
            {"type":"map","keyType":"string","valueType":"double","valueContainsNull":true},
            {"type":"array","elementType":"long","containsNull":false},
            {"type":"array","elementType":{"type":"struct","fields":[
                {"name":"z","type":"integer","nullable":true,"metadata":{}}]},"containsNull":false},
        ]);
        assert_eq!(serde_json::Value::from(t), json);
    }

    #[test]
    fn refuses_types_delta_cannot_hold() {
        for (message, needle) in [
            ("message m { optional int64 t (TIME(MICROS,true)); }", "column t: TIME"),
            ("message m { optional int64 u (INTEGER(64,false)); }", "column u: unsigned 64-bit"),
            ("message m { optional group s { optional int32 t (TIME_MILLIS); } }", "column s.t: TIME"),
        ] {
            let e = mapped(message).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn unifies_nullability_and_names_differences() {
        let parse = |m: &str| from_parquet(&parse_message_type(m).unwrap()).unwrap();
        let mut a = parse("message m { required int64 id; optional binary s (STRING); }");
        unify(&mut a, &parse("message m { optional int64 id; required binary s (STRING); }")).unwrap();
        assert!(a.iter().all(|f| f.nullable));
        let e = unify(&mut a, &parse("message m { optional int32 id; optional binary s (STRING); }")).unwrap_err();
        assert_eq!(e, "column id is \"integer\" there but \"long\" in the others");
        let e = unify(&mut a, &parse("message m { optional int64 id; }")).unwrap_err();
        assert!(e.contains("[id]") && e.contains("[id, s]"), "{e}");
        assert!(has_timestamp_ntz(&parse("message m { optional int64 t (TIMESTAMP(MILLIS,false)); }")));
        assert!(!has_timestamp_ntz(&a));
    }
}
