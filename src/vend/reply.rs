//! Reading credential-service replies: a size cap and the few XML elements STS answers with.
//!
//! STS replies are small, flat documents whose element names are fixed, so a text scan for
//! `<Name>…</Name>` with entity decoding is enough; an XML parser dependency in the core would
//! buy nothing for these three elements.

use crate::exchange::HttpReply;

use super::VendError;

/// Replies larger than this are refused unread.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// The reply's body as UTF-8, when it is small enough.
pub(super) fn text<'a>(reply: &'a HttpReply, service: &str) -> Result<&'a str, VendError> {
    if reply.body.len() > MAX_REPLY_BYTES {
        return Err(VendError::provider(
            format!("{service} reply too large"),
            format!("{service} replied with {} bytes", reply.body.len()),
        ));
    }
    std::str::from_utf8(&reply.body).map_err(|_| {
        VendError::provider(format!("{service} reply unreadable"), format!("{service} reply is not UTF-8"))
    })
}

/// The text of the first `<name>…</name>` element, entities decoded.
pub(super) fn xml_element(doc: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let end = start + doc[start..].find(&close)?;
    decode_entities(&doc[start..end])
}

fn decode_entities(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';')? + amp;
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => entity.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_and_decoded() {
        let doc = "<R><Credentials><AccessKeyId>AK&amp;1</AccessKeyId><X>&#65;&#x42;&lt;</X></Credentials></R>";
        assert_eq!(xml_element(doc, "AccessKeyId").as_deref(), Some("AK&1"));
        assert_eq!(xml_element(doc, "X").as_deref(), Some("AB<"));
        assert_eq!(xml_element(doc, "Missing"), None);
        assert_eq!(xml_element("<A>unterminated", "A"), None);
        assert_eq!(xml_element("<A>bad &bogus; entity</A>", "A"), None);
        assert_eq!(xml_element("<A>&#xFFFFFFFF;</A>", "A"), None);
    }
}
