//! Fetching an issuer's JWKS through the host's `Http` need: OpenID discovery
//! (`{issuer}/.well-known/openid-configuration`) when no `jwks_uri` is known, then the key set.

use serde_json::Value;

use super::allowed_url;
use crate::auth::jwk::{Jwks, MAX_DOCUMENT_BYTES};
use crate::exchange::{HttpCall, IoResult};

/// A fetched key set and how long it may be used.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub jwks: Jwks,
    /// `Cache-Control: max-age`, in seconds, when the reply had one.
    pub max_age_seconds: Option<u64>,
    /// Where the keys came from, so a refetch skips discovery.
    pub jwks_uri: String,
}

/// The next step of a fetch.
pub(crate) enum FetchStep {
    /// Send this call and answer with its reply.
    Call(HttpCall),
    /// The keys, or why there are none (for the provider's log).
    Done(Result<Fetched, String>),
}

enum Stage {
    Start,
    Discovery,
    Keys(String),
}

/// One fetch in progress.
pub(crate) struct JwksFetch {
    issuer: String,
    jwks_uri: Option<String>,
    stage: Stage,
}

impl JwksFetch {
    /// A fetch for `issuer`, straight from `jwks_uri` when it is known.
    pub fn new(issuer: &str, jwks_uri: Option<&str>) -> JwksFetch {
        JwksFetch { issuer: issuer.to_string(), jwks_uri: jwks_uri.map(str::to_string), stage: Stage::Start }
    }

    /// Advances with the answer to the previous call (`None` at first).
    pub fn advance(&mut self, input: Option<IoResult>) -> FetchStep {
        match std::mem::replace(&mut self.stage, Stage::Start) {
            Stage::Start => match self.jwks_uri.take() {
                Some(uri) => self.get_keys(uri),
                None => {
                    self.stage = Stage::Discovery;
                    let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
                    FetchStep::Call(get(url))
                }
            },
            Stage::Discovery => match reply_json(input, "discovery").and_then(|doc| self.jwks_uri_of(&doc)) {
                Ok(uri) => self.get_keys(uri),
                Err(e) => FetchStep::Done(Err(e)),
            },
            Stage::Keys(uri) => FetchStep::Done(keys_of(input, uri)),
        }
    }

    fn get_keys(&mut self, uri: String) -> FetchStep {
        self.stage = Stage::Keys(uri.clone());
        FetchStep::Call(get(uri))
    }

    /// The `jwks_uri` of a discovery document whose `issuer` is the configured one
    /// (OpenID Connect Discovery 1.0, §4.3).
    fn jwks_uri_of(&self, doc: &Value) -> Result<String, String> {
        if doc.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err("discovery document names another issuer".into());
        }
        let uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or("discovery document has no jwks_uri")?;
        allowed_url(uri).map_err(|e| format!("discovery jwks_uri: {e}"))?;
        Ok(uri.to_string())
    }
}

fn get(url: String) -> HttpCall {
    HttpCall { method: "GET", url, headers: vec![("Accept".into(), "application/json".into())], body: Vec::new() }
}

fn keys_of(input: Option<IoResult>, jwks_uri: String) -> Result<Fetched, String> {
    let (doc, max_age_seconds) = match input {
        Some(IoResult::Http(reply)) => {
            let max_age = reply.header("cache-control").and_then(max_age);
            (json_of(reply.status, &reply.body, "JWKS")?, max_age)
        }
        other => return Err(io_failure(other, "JWKS")),
    };
    let jwks = Jwks::from_value(&doc)?;
    if jwks.is_empty() {
        return Err("JWKS holds no usable signing key".into());
    }
    Ok(Fetched { jwks, max_age_seconds, jwks_uri })
}

fn reply_json(input: Option<IoResult>, what: &str) -> Result<Value, String> {
    match input {
        Some(IoResult::Http(reply)) => json_of(reply.status, &reply.body, what),
        other => Err(io_failure(other, what)),
    }
}

fn json_of(status: u16, body: &[u8], what: &str) -> Result<Value, String> {
    if status != 200 {
        return Err(format!("{what} request answered HTTP {status}"));
    }
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("{what} reply is larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("{what} reply is not JSON: {e}"))?;
    if doc.is_object() {
        Ok(doc)
    } else {
        Err(format!("{what} reply is not a JSON object"))
    }
}

fn io_failure(input: Option<IoResult>, what: &str) -> String {
    match input {
        Some(IoResult::Failed(message)) => format!("{what} request failed: {message}"),
        _ => format!("{what} request got no HTTP reply"),
    }
}

/// `max-age` of a `Cache-Control` value; `no-store` and `no-cache` count as 0.
fn max_age(value: &str) -> Option<u64> {
    value.split(',').map(str::trim).find_map(|directive| {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        let (name, seconds) = directive.split_once('=')?;
        name.trim().eq_ignore_ascii_case("max-age").then(|| seconds.trim().trim_matches('"').parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::HttpReply;

    const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

    fn reply(status: u16, body: &str, headers: &[(&str, &str)]) -> Option<IoResult> {
        let headers = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        Some(IoResult::Http(HttpReply { status, body: body.as_bytes().to_vec(), headers }))
    }

    fn call(step: FetchStep) -> String {
        match step {
            FetchStep::Call(call) => call.url,
            FetchStep::Done(r) => panic!("expected a call, got {r:?}"),
        }
    }

    #[test]
    fn discovers_then_fetches() {
        let mut f = JwksFetch::new("https://idp.example/t/", None);
        assert_eq!(call(f.advance(None)), "https://idp.example/t/.well-known/openid-configuration");
        let doc = r#"{"issuer":"https://idp.example/t/","jwks_uri":"https://keys.example/jwks"}"#;
        assert_eq!(call(f.advance(reply(200, doc, &[]))), "https://keys.example/jwks");
        let FetchStep::Done(Ok(fetched)) = f.advance(reply(200, JWKS, &[("Cache-Control", "public, max-age=600")]))
        else {
            panic!("no keys")
        };
        assert_eq!((fetched.jwks.len(), fetched.max_age_seconds), (1, Some(600)));
        assert_eq!(fetched.jwks_uri, "https://keys.example/jwks");
    }

    #[test]
    fn refuses_bad_replies() {
        let discovered = |doc: &str| {
            let mut f = JwksFetch::new("https://idp.example", None);
            f.advance(None);
            match f.advance(reply(200, doc, &[])) {
                FetchStep::Done(Err(e)) => e,
                _ => "call".into(),
            }
        };
        assert!(discovered(r#"{"issuer":"https://evil","jwks_uri":"https://k"}"#).contains("another issuer"));
        assert!(discovered(r#"{"issuer":"https://idp.example","jwks_uri":"http://10.0.0.1/k"}"#).contains("jwks_uri"));
        assert!(discovered(r#"{"issuer":"https://idp.example"}"#).contains("no jwks_uri"));
        assert!(discovered("[1]").contains("not a JSON object"));
        let keys = |input: Option<IoResult>| {
            let mut f = JwksFetch::new("https://idp.example", Some("https://idp.example/jwks"));
            f.advance(None);
            match f.advance(input) {
                FetchStep::Done(Err(e)) => e,
                _ => "ok".into(),
            }
        };
        assert!(keys(reply(500, JWKS, &[])).contains("HTTP 500"));
        assert!(keys(reply(200, r#"{"keys":[]}"#, &[])).contains("no usable"));
        assert!(keys(reply(200, "<html>", &[])).contains("not JSON"));
        assert!(keys(Some(IoResult::Failed("refused".into()))).contains("refused"));
        assert!(keys(Some(IoResult::NotFound)).contains("no HTTP reply"));
    }

    #[test]
    fn reads_max_age() {
        assert_eq!(max_age("max-age=300"), Some(300));
        assert_eq!(max_age("public, Max-Age = \"60\""), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("private"), None);
        assert_eq!(max_age("max-age=-1"), None);
    }
}
