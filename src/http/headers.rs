//! A request's headers, in one buffer.

/// Header names and values, in the order the host added them; names compare case-insensitively.
/// All the text lives in one buffer: a request's headers cost two allocations, not two each.
/// No `Debug`: values may be credentials ([`Request`](super::Request)'s `Debug` redacts them).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Each name followed by its value, no separator.
    text: String,
    /// For each header, where its name ends and where its value ends in `text` (a name starts
    /// where the previous value ends).
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// No headers yet, with room for `count` of them holding `bytes` of names and values.
    pub fn with_capacity(count: usize, bytes: usize) -> Headers {
        Headers { text: String::with_capacity(bytes), ends: Vec::with_capacity(count) }
    }

    /// Adds a header after the others.
    pub fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// Every header as `(name, value)`, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + ExactSizeIterator + '_ {
        self.ends.iter().enumerate().map(|(i, &(name_end, value_end))| {
            let start = i.checked_sub(1).map_or(0, |before| self.ends[before].1);
            (&self.text[start..name_end], &self.text[name_end..value_end])
        })
    }

    /// The value of the first header called `name` (compared case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Headers {
        let mut headers = Headers::new();
        pairs.into_iter().for_each(|(name, value)| headers.push(name, value));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_finds_names_in_any_case() {
        let mut headers = Headers::with_capacity(1, 4);
        assert!(headers.is_empty());
        headers.push("Host", "h:1");
        headers.push("authorization", "Bearer t");
        headers.push("X-Empty", "");
        headers.push("host", "second");
        assert_eq!(headers.len(), 4);
        let all: Vec<(&str, &str)> = headers.iter().collect();
        assert_eq!(all, [("Host", "h:1"), ("authorization", "Bearer t"), ("X-Empty", ""), ("host", "second")]);
        assert_eq!(headers.get("HOST"), Some("h:1"), "the first of a repeated name");
        assert_eq!(headers.get("Authorization"), Some("Bearer t"));
        assert_eq!(headers.get("x-empty"), Some(""));
        assert_eq!(headers.get("cookie"), None);
        assert_eq!(headers.iter().next_back(), Some(("host", "second")));
        assert!(all.into_iter().collect::<Headers>() == headers);
    }
}
