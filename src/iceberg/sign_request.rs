//! The remote signer's request body, `{method, region, uri, headers}`, parsed in place: its
//! strings are borrowed from the body.
//!
//! What pyiceberg sends for every data-file read is plain JSON: one object of strings and
//! lists of strings, without escapes. [`parse`] reads that shape by hand in one pass
//! ([`plain`]) and hands any other body (escapes, control characters, numbers, nesting, a
//! repeated field, an array for the object, invalid JSON) to `serde_json`, which stays the
//! reference: wherever the hand reader answers, it answers what `serde_json` does (a test
//! checks seeds and thousands of their mutations).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The signer request (`region` and any other field are ignored).
#[derive(Debug, PartialEq, Eq, Deserialize)]
pub(super) struct SignRequest<'a> {
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    #[serde(borrow)]
    pub uri: Cow<'a, str>,
    #[serde(default, borrow)]
    pub headers: AmzHeaders<'a>,
}

/// The request's `x-amz-*` headers other than the three the signer sets, as
/// `(name as sent, lower-case name, values joined by ", ")`, in the order of the names as
/// sent. Every other header is checked to be a list of strings and dropped.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct AmzHeaders<'a>(pub Vec<(Cow<'a, str>, String, String)>);

/// Parses a signer request body.
pub(super) fn parse(body: &[u8]) -> Result<SignRequest<'_>, serde_json::Error> {
    match plain(body) {
        Some(request) => Ok(request),
        None => serde_json::from_slice(body),
    }
}

impl<'a> AmzHeaders<'a> {
    /// The lower-case name of header `name` when its values are signed: an `x-amz-*` header
    /// other than the three the signer sets.
    fn signed_name(name: &str) -> Option<String> {
        if !name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-")) {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        let own = matches!(lower.as_str(), "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256");
        (!own).then_some(lower)
    }

    /// Records header `name`, with its lower-case name and joined values when they are
    /// signed. A name sent twice keeps its last values, as a JSON object's reader does.
    fn insert(&mut self, name: Cow<'a, str>, signed: Option<(String, String)>) {
        self.0.retain(|(n, _, _)| *n != name);
        if let Some((lower, values)) = signed {
            self.0.push((name, lower, values));
        }
    }

    /// The headers sorted by name as sent.
    fn sorted(mut self) -> AmzHeaders<'a> {
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        self
    }
}

/// Appends `value` to a header's joined values (`", "` between values).
fn join(joined: &mut String, first: bool, value: &str) {
    if !first {
        joined.push_str(", ");
    }
    joined.push_str(value);
}

/// The request read by hand, when `body` is an object of plain strings (method, uri and any
/// other field) and a `headers` object of lists of plain strings; `None` for anything else.
/// A plain string has no `\` and no control character.
fn plain(body: &[u8]) -> Option<SignRequest<'_>> {
    let mut r = Reader { text: std::str::from_utf8(body).ok()?, at: 0 };
    let (mut method, mut uri, mut headers) = (None, None, None);
    r.expect(b'{')?;
    if !r.next_is(b'}') {
        loop {
            let key = r.string()?;
            r.expect(b':')?;
            match key {
                "method" if method.is_none() => method = Some(r.string()?),
                "uri" if uri.is_none() => uri = Some(r.string()?),
                "headers" if headers.is_none() => headers = Some(r.headers()?),
                "method" | "uri" | "headers" => return None,
                _ => {
                    r.string()?;
                }
            }
            if !r.next_is(b',') {
                r.expect(b'}')?;
                break;
            }
        }
    }
    r.end()?;
    Some(SignRequest { method: Cow::Borrowed(method?), uri: Cow::Borrowed(uri?), headers: headers.unwrap_or_default() })
}

/// Whether JSON escapes byte `b` in a string: `"`, `\\` and control characters. Branch-free,
/// so that a fold over it compiles to SIMD compares.
#[inline(always)]
pub(super) fn escaped(b: u8) -> bool {
    (b == b'"') | (b == b'\\') | (b < 0x20)
}

/// The length of the longest prefix of `bytes` without a byte JSON escapes: what a JSON
/// string holds as it is. Eight bytes per step: a byte is flagged when it is zero once xored
/// with `"` or `\\`, or below 0x20 (only bytes above a flagged one can be flagged wrongly, so
/// the lowest flag is exact).
pub(super) fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let (words, tail) = bytes.as_chunks::<8>();
    for (k, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word);
        let (quote, slash) = (x ^ (ONES * u64::from(b'"')), x ^ (ONES * u64::from(b'\\')));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v;
        let flags = (zero(quote) | zero(slash) | (x.wrapping_sub(ONES * 0x20) & !x)) & HIGH;
        if flags != 0 {
            return k * 8 + flags.trailing_zeros() as usize / 8;
        }
    }
    let at = bytes.len() - tail.len();
    at + tail.iter().position(|&b| escaped(b)).unwrap_or(tail.len())
}

/// A cursor over a body known to be UTF-8.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    /// Skips JSON whitespace and returns the next byte, if any.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Consumes `byte` if it comes next (after whitespace).
    fn next_is(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.next_is(byte).then_some(())
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// A plain string.
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let rest = &self.text.as_bytes()[start..];
        let len = plain_prefix(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        // Both ends are next to an ASCII byte: character boundaries.
        self.text.get(start..start + len)
    }

    /// The `headers` object.
    fn headers(&mut self) -> Option<AmzHeaders<'a>> {
        let mut headers = AmzHeaders::default();
        self.expect(b'{')?;
        if self.next_is(b'}') {
            return Some(headers);
        }
        loop {
            let name = self.string()?;
            self.expect(b':')?;
            self.expect(b'[')?;
            let signed = AmzHeaders::signed_name(name);
            let mut joined = signed.as_ref().map(|_| String::new());
            if !self.next_is(b']') {
                let mut first = true;
                loop {
                    let value = self.string()?;
                    if let Some(joined) = joined.as_mut() {
                        join(joined, first, value);
                    }
                    first = false;
                    if !self.next_is(b',') {
                        self.expect(b']')?;
                        break;
                    }
                }
            }
            headers.insert(Cow::Borrowed(name), signed.zip(joined));
            if !self.next_is(b',') {
                self.expect(b'}')?;
                return Some(headers.sorted());
            }
        }
    }
}

/// A string of the body: borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// One header's list of values: joined by ", " when `keep`, else only checked.
struct Values {
    keep: bool,
}

impl<'de> DeserializeSeed<'de> for Values {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<String>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Values {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        let mut joined = self.keep.then(String::new);
        let mut first = true;
        while let Some(Text(value)) = seq.next_element::<Text<'de>>()? {
            if let Some(joined) = joined.as_mut() {
                join(joined, first, &value);
            }
            first = false;
        }
        Ok(joined)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AmzHeaders<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;
        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = AmzHeaders<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header names to lists of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AmzHeaders<'de>, A::Error> {
                let mut headers = AmzHeaders::default();
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    let signed = AmzHeaders::signed_name(&name);
                    let values = map.next_value_seed(Values { keep: signed.is_some() })?;
                    headers.insert(name, signed.zip(values));
                }
                Ok(headers.sorted())
            }
        }
        deserializer.deserialize_map(HeadersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies as pyiceberg and Iceberg Java send them, and some that only `serde_json` reads.
    const SEEDS: [&str; 6] = [
        r#"{"method":"GET","region":"us-east-1","uri":"http://127.0.0.1:9000/lake/wh/d/t/data/0-6f7a.parquet","headers":{"User-Agent":["Botocore/1.41.5 ua/2.1"],"Range":["bytes=0-65535"],"amz-sdk-invocation-id":["5b1c3d6e"]}}"#,
        r#"{ "method" : "HEAD", "uri" : "https://lake.s3.eu-west-1.amazonaws.com/wh/t/x%20y", "headers" : { "X-Amz-Meta-B" : [ "  two   words " ], "x-amz-meta-a" : ["1", "", "2"], "X-Amz-Date": ["ignored"], "x-amz-meta-a": ["3"] } }"#,
        "{\"uri\":\"http://h/k\u{fc}\",\"method\":\"get\",\"headers\":{},\"properties\":\"x\"}\n",
        r#"{"method":"GET","uri":"http://h/a\"b","headers":{"x-amz-x":["\u0041"]}}"#,
        r#"{"method":"GET","uri":"http://h/k","region":null,"body":{"a":[1,2.5e3,true]}}"#,
        r#"["GET","http://h/k",{"x-amz-a":["v"]}]"#,
    ];

    /// Every seed with one byte deleted, doubled, or replaced by a byte that matters to JSON.
    fn mutations() -> impl Iterator<Item = Vec<u8>> {
        const BYTES: &[u8] = b"\"\\{}[],: \n\tx1-\x01\x7f\xc3\xbc";
        SEEDS.iter().flat_map(|seed| {
            let seed = seed.as_bytes();
            (0..seed.len()).flat_map(move |i| {
                let edit = move |mid: &[u8], skip: usize| [&seed[..i], mid, &seed[i + skip..]].concat();
                let replaced = BYTES.iter().map(move |b| edit(&[*b], 1));
                [edit(&[], 1), edit(&[seed[i]], 0)].into_iter().chain(replaced)
            })
        })
    }

    #[test]
    fn plain_prefixes_end_at_the_first_byte_to_escape() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            // Mostly plain bytes, sometimes one of those that end a plain run, anywhere.
            let bytes: Vec<u8> = (0..len as u64)
                .map(|i| match (state >> (i % 50)) % 23 {
                    0 => b'"',
                    1 => b'\\',
                    2 => (state >> 3) as u8 % 0x20,
                    3 => 0x80 | (state >> 5) as u8,
                    _ => b' ' + ((state >> (i % 57)) as u8 % 95),
                })
                .collect();
            let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(len);
            assert_eq!(plain_prefix(&bytes), naive, "{bytes:?}");
        }
    }

    #[test]
    fn plain_bodies_are_read_by_hand() {
        for seed in &SEEDS[..3] {
            assert!(plain(seed.as_bytes()).is_some(), "{seed}");
        }
        let request = plain(SEEDS[1].as_bytes()).unwrap();
        let signed: Vec<(&str, &str, &str)> =
            request.headers.0.iter().map(|(n, l, v)| (n.as_ref(), l.as_str(), v.as_str())).collect();
        assert_eq!(signed, [("X-Amz-Meta-B", "x-amz-meta-b", "  two   words "), ("x-amz-meta-a", "x-amz-meta-a", "3")]);
        for seed in &SEEDS[3..] {
            assert!(plain(seed.as_bytes()).is_none(), "{seed}");
        }
    }

    /// Wherever the hand reader answers, `serde_json` answers the same; where it does not,
    /// `parse` is `serde_json`.
    #[test]
    fn the_hand_reader_agrees_with_serde_json() {
        let mut read = 0;
        for body in SEEDS.iter().map(|s| s.as_bytes().to_vec()).chain(mutations()) {
            let reference = serde_json::from_slice::<SignRequest<'_>>(&body);
            match plain(&body) {
                Some(fast) => {
                    read += 1;
                    assert_eq!(Some(&fast), reference.as_ref().ok(), "{}", String::from_utf8_lossy(&body));
                }
                None => assert_eq!(parse(&body).ok(), reference.ok()),
            }
        }
        assert!(read > 300, "{read}");
    }
}
