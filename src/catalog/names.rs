//! Name rules shared by shares, schemas and assets (OpenSharing OVERVIEW, Delta Sharing §1).

/// Longest name the protocol allows, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// Where a name sits, which decides whether `.` is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A share name: `.` allowed.
    Share,
    /// A schema, asset or recipient name: no `.`.
    Dotless,
}

/// Checks a name; the error says what is wrong with it.
pub fn check_name(name: &str, kind: NameKind) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    if let Some(c) = name.chars().find(|&c| c == ' ' || c == '/' || c.is_control()) {
        return Err(format!("contains the forbidden character {c:?}"));
    }
    if kind == NameKind::Dotless && name.contains('.') {
        return Err("contains '.', which is not allowed here".into());
    }
    Ok(())
}

/// [`fold`] without a copy when `name` is already folded (lower-case ASCII), for lookups.
pub fn folded(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(name)
    } else {
        std::borrow::Cow::Owned(fold(name))
    }
}

/// The case-folded form names are compared in.
pub fn fold(name: &str) -> String {
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        name.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_forbidden_characters() {
        assert!(check_name("sales_2024", NameKind::Dotless).is_ok());
        assert!(check_name("a.b", NameKind::Share).is_ok());
        assert!(check_name("a.b", NameKind::Dotless).is_err());
        assert!(check_name("a b", NameKind::Share).is_err());
        assert!(check_name("a/b", NameKind::Share).is_err());
        assert!(check_name("a\u{7f}", NameKind::Share).is_err());
        assert!(check_name("", NameKind::Share).is_err());
        assert!(check_name(&"x".repeat(256), NameKind::Share).is_err());
    }

    #[test]
    fn folds_unicode() {
        assert_eq!(fold("ÄbC"), "äbc");
    }
}
