//! Governance checks: licences as SPDX identifiers or expressions, and risk labels.

/// The SPDX licence identifiers accepted (the common ones; `LicenseRef-…` covers the rest).
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "APSL-2.0",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "BUSL-1.1",
    "CC-BY-1.0",
    "CC-BY-2.0",
    "CC-BY-2.5",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC-PDDC",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    "CECILL-2.1",
    "ECL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "LPPL-1.3c",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "MS-RL",
    "MulanPSL-2.0",
    "NCSA",
    "ODbL-1.0",
    "ODC-By-1.0",
    "OFL-1.1",
    "OpenSSL",
    "OSL-3.0",
    "PDDL-1.0",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
    "OpenRAIL",
    "OpenRAIL-M",
    "CreativeML-OpenRAIL-M",
    "Llama-2",
    "Llama-3",
    "Llama-3.1",
    "Gemma",
    "GPL-2.0",
    "GPL-3.0",
    "LGPL-2.1",
    "LGPL-3.0",
    "AGPL-3.0",
];

/// SPDX exceptions accepted after `WITH`.
const SPDX_EXCEPTIONS: &[&str] =
    &["Classpath-exception-2.0", "LLVM-exception", "GCC-exception-3.1", "OpenJDK-assembly-exception-1.0"];

/// Longest risk label accepted.
pub const MAX_RISK_LABEL_LEN: usize = 64;

/// Checks a licence: an SPDX identifier from the list, `LicenseRef-…`, or an expression of them
/// with `AND`, `OR`, `WITH`, `+` and parentheses. Says why not.
pub fn check_license(license: &str) -> Result<(), String> {
    let spaced = license.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut parser = Expr { tokens: &tokens, at: 0 };
    parser.expression()?;
    match tokens.get(parser.at) {
        None => Ok(()),
        Some(extra) => Err(format!("unexpected '{extra}' in licence expression '{license}'")),
    }
}

struct Expr<'a> {
    tokens: &'a [&'a str],
    at: usize,
}

impl Expr<'_> {
    fn next(&mut self) -> Option<&str> {
        let token = self.tokens.get(self.at).copied();
        self.at += usize::from(token.is_some());
        token
    }

    fn peek_is(&self, word: &str) -> bool {
        self.tokens.get(self.at).is_some_and(|t| *t == word)
    }

    /// `term (("AND" | "OR") term)*`
    fn expression(&mut self) -> Result<(), String> {
        self.term()?;
        while self.peek_is("AND") || self.peek_is("OR") {
            self.at += 1;
            self.term()?;
        }
        Ok(())
    }

    /// `"(" expression ")" | id ["+"] ["WITH" exception]`
    fn term(&mut self) -> Result<(), String> {
        match self.next() {
            None => Err("the licence expression ends too early".into()),
            Some("(") => {
                self.expression()?;
                match self.next() {
                    Some(")") => Ok(()),
                    _ => Err("a '(' in the licence expression is not closed".into()),
                }
            }
            Some(id) => {
                let id = id.strip_suffix('+').unwrap_or(id);
                if !is_license_id(id) {
                    return Err(format!(
                        "'{id}' is not a known SPDX licence identifier (use an SPDX id such as Apache-2.0 or CC-BY-4.0, or LicenseRef-…)"
                    ));
                }
                if self.peek_is("WITH") {
                    self.at += 1;
                    let exception = self.next().unwrap_or_default();
                    if !SPDX_EXCEPTIONS.iter().any(|e| e.eq_ignore_ascii_case(exception)) {
                        return Err(format!("'{exception}' is not a known SPDX licence exception"));
                    }
                }
                Ok(())
            }
        }
    }
}

fn is_license_id(id: &str) -> bool {
    let license_ref = id.strip_prefix("LicenseRef-").or_else(|| id.split_once(":LicenseRef-").map(|(_, r)| r));
    match license_ref {
        Some(rest) => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
        None => SPDX_IDS.iter().any(|known| known.eq_ignore_ascii_case(id)),
    }
}

/// Checks a risk label: 1 to 64 characters of ASCII letters, digits and `-_.:/`.
pub fn check_risk_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label.len() <= MAX_RISK_LABEL_LEN
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "risk label '{label}' must be 1 to {MAX_RISK_LABEL_LEN} ASCII letters, digits or '-_.:/' (e.g. pii, eu-ai-act:high)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spdx_ids_expressions_and_license_refs() {
        for ok in [
            "Apache-2.0",
            "cc-by-4.0",
            "MIT OR Apache-2.0",
            "(MIT AND BSD-3-Clause) OR GPL-2.0-or-later",
            "GPL-2.0-only WITH Classpath-exception-2.0",
            "LicenseRef-Acme-Internal",
            "DocumentRef-x:LicenseRef-y",
            "MPL-1.1+",
        ] {
            assert_eq!(check_license(ok), Ok(()), "{ok}");
        }
        for bad in ["", "Apache", "MIT OR", "(MIT", "MIT)", "MIT AND AND BSD-3-Clause", "LicenseRef-", "GPL-2.0 WITH x"]
        {
            assert!(check_license(bad).is_err(), "{bad}");
        }
        assert!(check_license("Proprietary").unwrap_err().contains("LicenseRef-"));
    }

    #[test]
    fn risk_labels_are_short_plain_strings() {
        for ok in ["pii", "synthetic", "eu-ai-act:high", "org/x_1.2"] {
            assert_eq!(check_risk_label(ok), Ok(()));
        }
        for bad in ["", "has space", "ünï", &"x".repeat(65)] {
            assert!(check_risk_label(bad).is_err());
        }
    }
}
