//! Delta file statistics (`numRecords`, `minValues`, `maxValues`, `nullCount`) from the
//! row-group statistics of a Parquet footer, for the top-level primitive columns.
//!
//! Only bounds that are safe for pruning are written: a minimum or maximum is left out when a
//! row group with non-null values has none, when the writer used the deprecated (signed-only)
//! statistics for a type that sorts otherwise, or, for strings, when the value is not exact
//! (truncated maxima would be too small). Timestamps are written in milliseconds, the minimum
//! rounded down and the maximum up. Booleans and binary columns get null counts only.

use std::cmp::Ordering;
use std::fmt::Write as _;

use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescriptor;

/// Longest string bound written (longer exact values are left out rather than truncated).
const MAX_STRING_STAT_CHARS: usize = 64;

/// How a column's statistics are read and written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Signed integers (any width).
    Int,
    /// Unsigned integers of this many bits.
    UInt(u8),
    /// `float` / `double`.
    Float,
    /// Days since the epoch.
    Date,
    /// Timestamp ticks per millisecond, and whether the time zone is UTC (`Z` suffix).
    Timestamp { per_ms: i64, utc: bool },
    /// Decimal with this scale.
    Decimal(u32),
    /// UTF-8 text.
    Text,
    /// Null counts only.
    NullsOnly,
}

/// A bound in a form that compares correctly for its kind.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Bound {
    Int(i128),
    Float(f64),
    Bytes(Vec<u8>),
}

fn kind(c: &ColumnDescriptor) -> Kind {
    let t = c.self_type();
    let info = t.get_basic_info();
    match (info.logical_type_ref(), c.physical_type()) {
        (Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), Physical::BYTE_ARRAY) => Kind::Text,
        (Some(LogicalType::Date), Physical::INT32) => Kind::Date,
        (Some(LogicalType::Decimal(d)), _) => Kind::Decimal(d.scale.max(0) as u32),
        (Some(LogicalType::Timestamp(ts)), Physical::INT64) => Kind::Timestamp {
            per_ms: match ts.unit {
                TimeUnit::MILLIS => 1,
                TimeUnit::MICROS => 1_000,
                TimeUnit::NANOS => 1_000_000,
            },
            utc: ts.is_adjusted_to_u_t_c,
        },
        (Some(LogicalType::Integer(i)), Physical::INT32 | Physical::INT64) if !i.is_signed => {
            Kind::UInt(i.bit_width as u8)
        }
        (Some(LogicalType::Integer(_)), Physical::INT32 | Physical::INT64) => Kind::Int,
        (Some(_), _) => Kind::NullsOnly,
        (None, physical) => match (info.converted_type(), physical) {
            (ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON, Physical::BYTE_ARRAY) => Kind::Text,
            (ConvertedType::DATE, Physical::INT32) => Kind::Date,
            (ConvertedType::DECIMAL, _) => Kind::Decimal(t.get_scale().max(0) as u32),
            (ConvertedType::TIMESTAMP_MILLIS, Physical::INT64) => Kind::Timestamp { per_ms: 1, utc: true },
            (ConvertedType::TIMESTAMP_MICROS, Physical::INT64) => Kind::Timestamp { per_ms: 1_000, utc: true },
            (ConvertedType::UINT_8 | ConvertedType::UINT_16 | ConvertedType::UINT_32, _) => Kind::UInt(32),
            (ConvertedType::NONE | ConvertedType::INT_8 | ConvertedType::INT_16, Physical::INT32)
            | (
                ConvertedType::NONE | ConvertedType::INT_32 | ConvertedType::INT_64,
                Physical::INT32 | Physical::INT64,
            ) => Kind::Int,
            (ConvertedType::NONE, Physical::FLOAT | Physical::DOUBLE) => Kind::Float,
            _ => Kind::NullsOnly,
        },
    }
}

/// The bound a statistics value gives for a column of `kind`.
fn bound(kind: Kind, stats: &Statistics, min: bool) -> Option<Bound> {
    match (kind, stats) {
        (Kind::UInt(_), Statistics::Int32(s)) => pick(s, min).map(|v| Bound::Int(*v as u32 as i128)),
        (Kind::UInt(_), Statistics::Int64(s)) => pick(s, min).map(|v| Bound::Int(*v as u64 as i128)),
        (_, Statistics::Int32(s)) => pick(s, min).map(|v| Bound::Int(i128::from(*v))),
        (_, Statistics::Int64(s)) => pick(s, min).map(|v| Bound::Int(i128::from(*v))),
        (_, Statistics::Float(s)) => pick(s, min).map(|v| Bound::Float(f64::from(*v))),
        (_, Statistics::Double(s)) => pick(s, min).map(|v| Bound::Float(*v)),
        (Kind::Decimal(_), Statistics::ByteArray(s)) => pick(s, min).and_then(|v| be_int(v.data())).map(Bound::Int),
        (Kind::Decimal(_), Statistics::FixedLenByteArray(s)) => {
            pick(s, min).and_then(|v| be_int(v.data())).map(Bound::Int)
        }
        (Kind::Text, Statistics::ByteArray(s)) => {
            let exact = if min { s.min_is_exact() } else { s.max_is_exact() };
            pick(s, min).filter(|_| exact).map(|v| Bound::Bytes(v.data().to_vec()))
        }
        _ => None,
    }
}

fn pick<T>(s: &ValueStatistics<T>, min: bool) -> Option<&T> {
    if min {
        s.min_opt()
    } else {
        s.max_opt()
    }
}

/// A big-endian two's complement integer of at most 16 bytes.
fn be_int(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// Whether the writer's min/max can be trusted for this kind of column.
fn trusted(kind: Kind, stats: &Statistics) -> bool {
    // Deprecated statistics were computed with signed byte-wise order: right for signed
    // numbers only.
    !stats.is_min_max_deprecated() || matches!(kind, Kind::Int | Kind::Float | Kind::Date | Kind::Timestamp { .. })
}

/// One column's totals over the row groups.
struct Totals {
    min: Option<Bound>,
    max: Option<Bound>,
    nulls: Option<u64>,
}

fn totals(meta: &ParquetMetaData, column: usize, kind: Kind) -> Totals {
    let mut t = Totals { min: None, max: None, nulls: Some(0) };
    let (mut min_ok, mut max_ok) = (kind != Kind::NullsOnly, kind != Kind::NullsOnly);
    for rg in meta.row_groups() {
        let chunk = rg.column(column);
        let Some(stats) = chunk.statistics() else {
            return Totals { min: None, max: None, nulls: None };
        };
        let nulls = stats.null_count_opt();
        t.nulls = t.nulls.zip(nulls).map(|(a, b)| a + b);
        if nulls == Some(rg.num_rows().max(0) as u64) {
            // Every value is null: the group bounds nothing.
            continue;
        }
        let trust = trusted(kind, stats);
        let merge = |acc: &mut Option<Bound>, ok: &mut bool, v: Option<Bound>, keep: Ordering| match v {
            Some(Bound::Float(f)) if f.is_nan() => *ok = false,
            Some(v) if trust => {
                if acc.as_ref().is_none_or(|a| v.partial_cmp(a) == Some(keep)) {
                    *acc = Some(v);
                }
            }
            _ => *ok = false,
        };
        if min_ok {
            merge(&mut t.min, &mut min_ok, bound(kind, stats, true), Ordering::Less);
        }
        if max_ok {
            merge(&mut t.max, &mut max_ok, bound(kind, stats, false), Ordering::Greater);
        }
    }
    if !min_ok {
        t.min = None;
    }
    if !max_ok {
        t.max = None;
    }
    t
}

/// The statistics JSON of a file.
pub fn stats_json(meta: &ParquetMetaData) -> String {
    let schema = meta.file_metadata().schema_descr();
    let mut mins = String::new();
    let mut maxs = String::new();
    let mut nulls = String::new();
    for (i, column) in schema.columns().iter().enumerate() {
        if column.path().parts().len() != 1 || column.max_rep_level() > 0 {
            continue;
        }
        let kind = kind(column);
        let t = totals(meta, i, kind);
        let name = serde_json::Value::from(column.name()).to_string();
        if let Some(text) = t.min.and_then(|b| render(kind, &b, true)) {
            append(&mut mins, &name, &text);
        }
        if let Some(text) = t.max.and_then(|b| render(kind, &b, false)) {
            append(&mut maxs, &name, &text);
        }
        if let Some(n) = t.nulls {
            append(&mut nulls, &name, &n.to_string());
        }
    }
    let rows = meta.file_metadata().num_rows();
    format!("{{\"numRecords\":{rows},\"minValues\":{{{mins}}},\"maxValues\":{{{maxs}}},\"nullCount\":{{{nulls}}}}}")
}

fn append(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push(':');
    out.push_str(value);
}

/// The JSON text of a bound, rounded outwards where the Delta form is coarser.
fn render(kind: Kind, b: &Bound, min: bool) -> Option<String> {
    match (kind, b) {
        (Kind::Int | Kind::UInt(_), Bound::Int(v)) => Some(v.to_string()),
        (Kind::Float, Bound::Float(v)) if v.is_finite() => serde_json::Number::from_f64(*v).map(|n| n.to_string()),
        (Kind::Date, Bound::Int(days)) => {
            let date = time::Date::from_julian_day(i32::try_from(*days).ok()?.checked_add(2_440_588)?).ok()?;
            Some(format!("\"{date}\""))
        }
        (Kind::Timestamp { per_ms, utc }, Bound::Int(ticks)) => {
            let ticks = i64::try_from(*ticks).ok()?;
            let ms =
                if min { ticks.div_euclid(per_ms) } else { ticks.div_euclid(per_ms) + i64::from(ticks % per_ms != 0) };
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
            let mut s = format!(
                "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            );
            s.push_str(if utc { "Z\"" } else { "\"" });
            Some(s)
        }
        (Kind::Decimal(scale), Bound::Int(v)) => Some(decimal_text(*v, scale)),
        (Kind::Text, Bound::Bytes(bytes)) => {
            let text = std::str::from_utf8(bytes).ok()?;
            (text.chars().count() <= MAX_STRING_STAT_CHARS).then(|| serde_json::Value::from(text).to_string())
        }
        _ => None,
    }
}

/// `unscaled × 10^-scale` as exact decimal text.
fn decimal_text(unscaled: i128, scale: u32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let mut s = String::new();
    let _ = write!(s, "{sign}{int}.{frac}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bounds() {
        assert_eq!(decimal_text(12345, 2), "123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(7, 0), "7");
        assert_eq!(be_int(&[0xff, 0xfe]), Some(-2));
        assert_eq!(be_int(&[0x01, 0x00]), Some(256));
        assert_eq!(render(Kind::Date, &Bound::Int(19_723), true).unwrap(), "\"2024-01-01\"");
        let ts = Kind::Timestamp { per_ms: 1_000, utc: true };
        // 2024-01-01T00:00:00.0015Z: the minimum rounds down, the maximum up.
        let micros = Bound::Int(1_704_067_200_001_500);
        assert_eq!(render(ts, &micros, true).unwrap(), "\"2024-01-01T00:00:00.001Z\"");
        assert_eq!(render(ts, &micros, false).unwrap(), "\"2024-01-01T00:00:00.002Z\"");
        let ntz = Kind::Timestamp { per_ms: 1, utc: false };
        assert_eq!(render(ntz, &Bound::Int(0), true).unwrap(), "\"1970-01-01T00:00:00.000\"");
        assert_eq!(render(Kind::Float, &Bound::Float(f64::INFINITY), true), None);
        assert_eq!(render(Kind::Text, &Bound::Bytes(b"a\"b".to_vec()), true).unwrap(), "\"a\\\"b\"");
        assert_eq!(render(Kind::Text, &Bound::Bytes(vec![b'x'; 65]), true), None);
        assert_eq!(render(Kind::UInt(32), &Bound::Int(u32::MAX.into()), true).unwrap(), "4294967295");
    }
}
