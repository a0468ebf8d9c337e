//! The recipient side: a Delta Sharing profile and JSON calls to the server it names, for
//! `opensharing get` and `opensharing ls`.

use std::path::Path;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::http_call::without_url;

/// Characters kept as they are in a path segment or query value (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `PROFILE#share.schema.asset`, split. Each part after `#` is optional.
pub struct Target {
    /// The profile file.
    pub profile: String,
    /// The share, schema and asset named after `#` (as many as given).
    pub names: Vec<String>,
}

impl Target {
    /// Splits `PROFILE[#share[.schema[.asset]]]` at the last `#`. The asset part keeps any
    /// further dots.
    pub fn parse(text: &str) -> Result<Target, String> {
        let Some((profile, names)) = text.rsplit_once('#') else {
            return Ok(Target { profile: text.to_string(), names: Vec::new() });
        };
        let names: Vec<String> = names.splitn(3, '.').map(str::to_string).collect();
        if names.iter().any(String::is_empty) {
            return Err(format!("'{text}': expected PROFILE#share.schema.asset (no empty name)"));
        }
        Ok(Target { profile: profile.to_string(), names })
    }
}

/// A connection to a sharing server: its endpoint and bearer token, from a profile file.
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    token: String,
}

/// Why a call failed.
pub enum CallError {
    /// The server answered 404.
    NotFound,
    /// Anything else, worded for the user.
    Other(String),
}

impl From<CallError> for String {
    fn from(e: CallError) -> String {
        match e {
            CallError::NotFound => "not found".into(),
            CallError::Other(message) => message,
        }
    }
}

/// How long one JSON call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// Reads a profile file (`shareCredentialsVersion` 1: `endpoint` and `bearerToken`).
    pub fn from_profile(path: &Path) -> Result<Client, String> {
        let text = std::fs::read(path).map_err(|e| format!("cannot read profile {}: {e}", path.display()))?;
        let profile: Value =
            serde_json::from_slice(&text).map_err(|e| format!("profile {}: not JSON: {e}", path.display()))?;
        let field = |name: &str| {
            profile[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("profile {}: `{name}` is missing", path.display()))
        };
        let endpoint = field("endpoint")?.trim_end_matches('/').to_string();
        let token = field("bearerToken")?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Client { http, endpoint, token })
    }

    /// The HTTP client, for fetching pre-signed URLs (which carry no bearer token).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET {endpoint}/{segments…}?{query}` with the bearer token; the JSON answer.
    pub async fn get_json(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Value, CallError> {
        let mut url = self.endpoint.clone();
        for segment in segments {
            url.push('/');
            url.extend(utf8_percent_encode(segment, SEGMENT));
        }
        for (i, (name, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.extend(utf8_percent_encode(value, SEGMENT));
        }
        let what = segments.join("/");
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|e| CallError::Other(format!("GET {what}: {}", without_url(&e))))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| CallError::Other(format!("GET {what}: {}", without_url(&e))))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(CallError::NotFound);
        }
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let detail = json
                .as_ref()
                .and_then(|j| Some(format!("{}: {}", j["errorCode"].as_str()?, j["message"].as_str()?)))
                .unwrap_or_default();
            return Err(CallError::Other(format!("GET {what}: HTTP {} {detail}", status.as_u16())));
        }
        json.ok_or_else(|| CallError::Other(format!("GET {what}: the answer is not JSON")))
    }

    /// The pages of a listing (`{"items": […], "nextPageToken": …}`) at `segments`.
    pub fn pages(&self, segments: &[&str], max_results: u32) -> Pages<'_> {
        Pages {
            client: self,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            max_results: max_results.to_string(),
            next: Some(None),
        }
    }
}

/// A paged listing, read one page at a time.
pub struct Pages<'a> {
    client: &'a Client,
    segments: Vec<String>,
    max_results: String,
    /// The page token of the next page (`Some(None)`: the first page; `None`: no more pages).
    next: Option<Option<String>>,
}

impl Pages<'_> {
    /// The items of the next page, or `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, CallError> {
        let Some(token) = self.next.take() else { return Ok(None) };
        let mut query = vec![("maxResults", self.max_results.as_str())];
        if let Some(t) = &token {
            query.push(("pageToken", t.as_str()));
        }
        let segments: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        let mut page = self.client.get_json(&segments, &query).await?;
        self.next = page["nextPageToken"].as_str().filter(|t| !t.is_empty()).map(|t| Some(t.to_string()));
        match page.get_mut("items").map(Value::take) {
            None | Some(Value::Null) => Ok(Some(Vec::new())),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(CallError::Other(format!("GET {}: `items` is not a list", segments.join("/")))),
        }
    }
}
