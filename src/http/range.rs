//! The `Range` request header, as hosts serving local-store files read it: one range of
//! `bytes=a-b | a- | -n` (RFC 9110 §14.1.2). Several ranges or another unit mean the whole object.

/// What a `Range` header asks of an object of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable header (absent, another unit, or several ranges): the whole object.
    Whole,
    /// Bytes `[start, end)`, within the object.
    Part(u64, u64),
    /// Nothing of the object satisfies it (answer 416).
    Unsatisfiable,
}

/// Parses `Range: bytes=…` against an object of `size` bytes.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return RangeAsk::Whole };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let bounds = match spec.split_once('-') {
        Some((first, "")) => number(first).map(|start| (start, size)),
        Some(("", suffix)) => number(suffix).map(|n| (size.saturating_sub(n), if n == 0 { 0 } else { size })),
        Some((first, last)) => match (number(first), number(last)) {
            (Some(start), Some(last)) if last >= start => Some((start, last.saturating_add(1).min(size))),
            _ => None,
        },
        None => None,
    };
    match bounds {
        Some((start, end)) if start < end => RangeAsk::Part(start, end),
        _ => RangeAsk::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        use RangeAsk::*;
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(parse_range(Some("items=0-3"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Part(0, 4));
        assert_eq!(parse_range(Some("bytes=4-"), 10), Part(4, 10));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Part(7, 10));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Part(0, 10));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Part(5, 10));
        assert_eq!(parse_range(Some("bytes=9-9"), 10), Part(9, 10));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-3"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=3"), 10), Unsatisfiable);
    }
}
