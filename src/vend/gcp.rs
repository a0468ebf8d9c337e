//! Google Cloud Storage: the service account's OAuth token (a signed JWT assertion exchanged at
//! the token endpoint), then a downscoped token from Google STS whose credential access boundary
//! allows reading and listing the asset's prefix only. Both are HTTPS calls the host sends.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value};

use super::reply::text;
use super::{form_body, Credential, Flow, FlowStep, Grant, VendError, VendTarget};
use crate::catalog::config::{GcsStoreConfig, GcsVending};
use crate::exchange::{HttpCall, HttpReply};
use crate::signing::encode::uri_encode;
use crate::signing::gcs::ServiceAccountKey;

const DEFAULT_TOKEN_ENDPOINT: &str = "https://oauth2.googleapis.com/token";
const DEFAULT_STS_ENDPOINT: &str = "https://sts.googleapis.com/v1/token";
const READ_ONLY_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";
const TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Google accepts assertions that live at most one hour.
const ASSERTION_SECONDS: i64 = 3600;

enum Stage {
    /// Ask for the service account's token with this call.
    Assertion(HttpCall),
    /// Waiting for the service account's token.
    SourceToken,
    /// Waiting for the downscoped token.
    Downscoped,
}

/// A store's token settings, resolved once per configuration: the service account's key (the
/// one its URL signer holds), the token endpoint and the bucket.
pub(crate) struct GcsVendor {
    key: Arc<ServiceAccountKey>,
    token_uri: String,
    sts_endpoint: String,
    bucket: String,
}

impl GcsVendor {
    /// The settings of `vend` for store `gcs`, with its service account key `key` (parsed once
    /// from the store's `service_account_key`).
    pub fn new(
        gcs: &GcsStoreConfig,
        vend: &GcsVending,
        key: Option<&Arc<ServiceAccountKey>>,
    ) -> Result<GcsVendor, VendError> {
        let (Some(key), Some(key_json)) = (key, gcs.service_account_key.as_ref()) else {
            return Err(VendError::Config("the store has no service account key".into()));
        };
        let token_uri = match &vend.token_endpoint {
            Some(e) => e.clone(),
            None => {
                let from_key = serde_json::from_str::<Value>(key_json.expose())
                    .ok()
                    .and_then(|v| v["token_uri"].as_str().map(str::to_string))
                    .unwrap_or_else(|| DEFAULT_TOKEN_ENDPOINT.to_string());
                // The signed assertion is worth an hour of tokens: only over HTTPS.
                if !from_key.starts_with("https://") {
                    return Err(VendError::Config("the key's token_uri is not an https URL".into()));
                }
                from_key
            }
        };
        Ok(GcsVendor {
            key: key.clone(),
            token_uri,
            sts_endpoint: vend.sts_endpoint.clone().unwrap_or_else(|| DEFAULT_STS_ENDPOINT.to_string()),
            bucket: gcs.bucket.clone(),
        })
    }
}

/// The two-call token flow.
pub(super) struct Downscope {
    stage: Stage,
    sts_endpoint: String,
    options: String,
    now_ms: i64,
}

impl Downscope {
    /// Prepares the flow: signs the JWT assertion and writes the access boundary.
    pub fn new(gcs: &GcsVendor, target: &VendTarget<'_>) -> Result<Downscope, VendError> {
        let assertion = jwt_assertion(&gcs.key, &gcs.token_uri, target.now_ms.div_euclid(1000))?;
        let assertion_call = form_post(
            gcs.token_uri.clone(),
            &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)],
        );
        Ok(Downscope {
            stage: Stage::Assertion(assertion_call),
            sts_endpoint: gcs.sts_endpoint.clone(),
            // Google's clients (google-auth, x/oauth2/google/downscope) percent-encode the JSON
            // once more inside the form field; STS expects that.
            options: uri_encode(&access_boundary(&gcs.bucket, target.prefix), true),
            now_ms: target.now_ms,
        })
    }
}

impl Flow for Downscope {
    fn advance(&mut self, reply: Option<HttpReply>) -> Result<FlowStep, VendError> {
        // Each stage runs once; whatever it answers, the flow is past it.
        match (std::mem::replace(&mut self.stage, Stage::Downscoped), reply) {
            (Stage::Assertion(call), _) => {
                self.stage = Stage::SourceToken;
                Ok(FlowStep::Call(call))
            }
            (Stage::SourceToken, Some(reply)) => {
                let (source_token, _) = token_reply(&reply, "Google OAuth")?;
                let fields = [
                    ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                    ("subject_token_type", TOKEN_TYPE),
                    ("requested_token_type", TOKEN_TYPE),
                    ("subject_token", source_token.as_str()),
                    ("options", self.options.as_str()),
                ];
                Ok(FlowStep::Call(form_post(self.sts_endpoint.clone(), &fields)))
            }
            (Stage::Downscoped, Some(reply)) => {
                let (token, expires_in) = token_reply(&reply, "Google STS")?;
                Ok(FlowStep::Done(Grant {
                    credential: Credential::GcpToken(token),
                    expires_at_ms: self.now_ms + expires_in * 1000,
                }))
            }
            (_, None) => Err(VendError::provider("Google token service", "no reply")),
        }
    }
}

fn form_post(url: String, fields: &[(&str, &str)]) -> HttpCall {
    HttpCall {
        method: "POST",
        url,
        headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
        body: form_body(fields),
    }
}

/// A `RS256` JWT asking for a read-only storage token.
fn jwt_assertion(key: &ServiceAccountKey, audience: &str, now_s: i64) -> Result<String, VendError> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({
        "iss": key.client_email(),
        "scope": READ_ONLY_SCOPE,
        "aud": audience,
        "iat": now_s,
        "exp": now_s + ASSERTION_SECONDS,
    });
    let signing_input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let signature = key.sign_rs256(signing_input.as_bytes()).map_err(|e| VendError::Config(e.to_string()))?;
    Ok(format!("{signing_input}.{}", b64(&signature)))
}

/// A CEL string literal.
fn cel_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The token exchange's `options`: a credential access boundary that allows `objectViewer` on
/// the objects under `prefix/` and listing that prefix.
fn access_boundary(bucket: &str, prefix: &str) -> String {
    let object_prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
    let expression = format!(
        "resource.name.startsWith({}) || api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith({})",
        cel_string(&format!("projects/_/buckets/{bucket}/objects/{object_prefix}")),
        cel_string(&object_prefix),
    );
    json!({
        "accessBoundary": {
            "accessBoundaryRules": [{
                "availableResource": format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
                "availablePermissions": ["inRole:roles/storage.objectViewer"],
                "availabilityCondition": {"expression": expression}
            }]
        }
    })
    .to_string()
}

/// `access_token` and `expires_in` of an OAuth token reply.
pub(crate) fn token_reply(reply: &HttpReply, service: &str) -> Result<(String, i64), VendError> {
    let body = text(reply, service)?;
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if reply.status != 200 {
        let code = parsed["error"].as_str().map_or_else(|| format!("HTTP {}", reply.status), str::to_string);
        let description = parsed["error_description"].as_str().unwrap_or_default();
        return Err(VendError::provider(
            format!("{service} {code}"),
            format!("{service}: HTTP {} {code}: {description}", reply.status),
        ));
    }
    let token = parsed["access_token"].as_str().filter(|t| !t.is_empty());
    let expires_in = parsed["expires_in"].as_i64().filter(|s| (1..=86_400).contains(s));
    match (token, expires_in) {
        (Some(token), Some(expires_in)) => Ok((token.to_string(), expires_in)),
        _ => Err(VendError::provider(
            format!("{service} reply incomplete"),
            format!("{service} reply has no access_token or expires_in"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_limits_reads_and_lists_to_the_prefix() {
        let options: Value = serde_json::from_str(&access_boundary("bkt", "tables/it's")).unwrap();
        let rule = &options["accessBoundary"]["accessBoundaryRules"][0];
        assert_eq!(rule["availableResource"], "//storage.googleapis.com/projects/_/buckets/bkt");
        assert_eq!(rule["availablePermissions"], json!(["inRole:roles/storage.objectViewer"]));
        assert_eq!(
            rule["availabilityCondition"]["expression"],
            "resource.name.startsWith('projects/_/buckets/bkt/objects/tables/it\\'s/') || \
             api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('tables/it\\'s/')"
        );
    }

    #[test]
    fn token_replies_are_checked() {
        let ok = HttpReply {
            status: 200,
            body: br#"{"access_token":"ya29.x","expires_in":3599}"#.to_vec(),
            headers: Vec::new(),
        };
        assert_eq!(token_reply(&ok, "s").unwrap(), ("ya29.x".to_string(), 3599));
        let refused = HttpReply {
            status: 400,
            body: br#"{"error":"invalid_grant","error_description":"bad"}"#.to_vec(),
            headers: Vec::new(),
        };
        let Err(VendError::Provider { summary, .. }) = token_reply(&refused, "s") else { panic!("accepted") };
        assert_eq!(summary, "s invalid_grant");
        let partial = HttpReply { status: 200, body: br#"{"access_token":"t"}"#.to_vec(), headers: Vec::new() };
        assert!(token_reply(&partial, "s").is_err());
    }
}
