//! AWS STS `AssumeRole` as an HTTPS call the host sends: a SigV4-signed form POST with a
//! read-only session policy for the asset's prefix, and the parse of its XML reply.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::policy::{partition, read_only_prefix, MAX_POLICY_BYTES};
use super::reply::{text, xml_element};
use super::{form_body, Credential, Flow, FlowStep, Grant, VendError, VendTarget};
use crate::catalog::config::{S3StoreConfig, StsConfig};
use crate::exchange::{HttpCall, HttpReply};
use crate::signing::sigv4::{host_header, sign_headers, Credentials, HeaderSignRequest};

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// The longest session AWS grants when a role is assumed with temporary credentials.
const ROLE_CHAINING_MAX_SECONDS: u32 = 3600;

/// A store's STS settings, resolved once per configuration: the endpoint, the signing region
/// and the store's keys that sign the call.
pub(crate) struct StsVendor {
    endpoint: String,
    host: String,
    region: String,
    bucket: String,
    role_arn: String,
    external_id: Option<String>,
    credentials: Credentials,
    r2: bool,
}

impl StsVendor {
    /// The settings of `sts` for store `s3`, whose keys are `credentials`.
    pub fn new(s3: &S3StoreConfig, sts: &StsConfig, credentials: &Credentials) -> Result<StsVendor, VendError> {
        let region = sts.region.as_deref().unwrap_or(&s3.region);
        let endpoint = match &sts.endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None if region.starts_with("cn-") => format!("https://sts.{region}.amazonaws.com.cn"),
            None => format!("https://sts.{region}.amazonaws.com"),
        };
        let url = url::Url::parse(&endpoint).map_err(|e| VendError::Config(format!("STS endpoint: {e}")))?;
        let host = host_header(&url).ok_or_else(|| VendError::Config("STS endpoint has no host".into()))?;
        Ok(StsVendor {
            endpoint,
            host,
            region: region.to_string(),
            bucket: s3.bucket.clone(),
            role_arn: sts.role_arn.clone(),
            external_id: sts.external_id.as_ref().map(|id| id.expose().to_string()),
            credentials: credentials.clone(),
            r2: super::is_r2(s3.endpoint.as_deref()),
        })
    }
}

/// One `AssumeRole` call and its reply.
pub(super) struct AssumeRole {
    call: Option<HttpCall>,
    r2: bool,
    now_ms: i64,
}

impl AssumeRole {
    /// Builds and signs the call.
    pub fn new(sts: &StsVendor, target: &VendTarget<'_>) -> Result<AssumeRole, VendError> {
        let policy = read_only_prefix(partition(&sts.region), &sts.bucket, target.prefix);
        if policy.len() > MAX_POLICY_BYTES {
            return Err(VendError::Config(format!(
                "the session policy for this prefix is {} bytes; STS accepts {MAX_POLICY_BYTES}",
                policy.len()
            )));
        }
        // Role chaining (the store's own keys are temporary) is capped at an hour by AWS.
        let duration = match sts.credentials.session_token {
            Some(_) => target.ttl_seconds.min(ROLE_CHAINING_MAX_SECONDS),
            None => target.ttl_seconds,
        }
        .to_string();
        let session = session_name(target.recipient);
        let mut fields = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", sts.role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
            ("DurationSeconds", duration.as_str()),
            ("Policy", policy.as_str()),
        ];
        if let Some(id) = &sts.external_id {
            fields.push(("ExternalId", id.as_str()));
        }
        let body = form_body(&fields);
        let now = OffsetDateTime::from_unix_timestamp(target.now_ms.div_euclid(1000))
            .map_err(|_| VendError::Config("time out of range".into()))?;
        let request = HeaderSignRequest {
            method: "POST",
            host: &sts.host,
            canonical_uri: "/",
            headers: &[("content-type", FORM_CONTENT_TYPE)],
            body: &body,
            service: "sts",
            region: &sts.region,
        };
        let mut headers = vec![("Content-Type".to_string(), FORM_CONTENT_TYPE.to_string())];
        headers.extend(sign_headers(&request, &sts.credentials, now));
        Ok(AssumeRole {
            call: Some(HttpCall { method: "POST", url: format!("{}/", sts.endpoint), headers, body }),
            r2: sts.r2,
            now_ms: target.now_ms,
        })
    }
}

impl Flow for AssumeRole {
    fn advance(&mut self, reply: Option<HttpReply>) -> Result<FlowStep, VendError> {
        match (self.call.take(), reply) {
            (Some(call), _) => Ok(FlowStep::Call(call)),
            (None, Some(reply)) => {
                let grant = parse_reply(&reply, self.r2)?;
                if grant.expires_at_ms <= self.now_ms {
                    return Err(VendError::provider(
                        "STS credentials already expired",
                        "STS returned credentials that have already expired (is the host's clock right?)",
                    ));
                }
                Ok(FlowStep::Done(grant))
            }
            (None, None) => Err(VendError::provider("STS", "no reply to AssumeRole")),
        }
    }
}

/// `RoleSessionName`: `opensharing-{recipient}` in the allowed characters `[\w+=,.@-]`, at most
/// 64 characters, so the provider's audit trail names the recipient.
fn session_name(recipient: &str) -> String {
    let mut name = String::from("opensharing-");
    for c in recipient.chars() {
        if name.len() >= 64 {
            break;
        }
        name.push(if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) { c } else { '-' });
    }
    name
}

pub(crate) fn parse_reply(reply: &HttpReply, r2: bool) -> Result<Grant, VendError> {
    let doc = text(reply, "STS")?;
    if reply.status != 200 {
        let code = xml_element(doc, "Code").unwrap_or_else(|| format!("HTTP {}", reply.status));
        let message = xml_element(doc, "Message").unwrap_or_default();
        return Err(VendError::provider(
            format!("STS {code}"),
            format!("STS AssumeRole: HTTP {} {code}: {message}", reply.status),
        ));
    }
    let field = |name: &str| {
        xml_element(doc, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| VendError::provider("STS reply incomplete", format!("STS reply has no {name}")))
    };
    let expiration = field("Expiration")?;
    let expires_at = OffsetDateTime::parse(&expiration, &Rfc3339).map_err(|_| {
        VendError::provider("STS reply incomplete", format!("STS Expiration {expiration:?} is not RFC 3339"))
    })?;
    Ok(Grant {
        credential: Credential::Aws {
            access_key_id: field("AccessKeyId")?,
            secret_access_key: field("SecretAccessKey")?,
            session_token: Some(field("SessionToken")?),
            r2,
        },
        expires_at_ms: (expires_at.unix_timestamp_nanos() / 1_000_000) as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_keep_allowed_characters_and_length() {
        assert_eq!(session_name("acme corp/é"), "opensharing-acme-corp--");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn error_replies_name_the_code_only_for_the_recipient() {
        let reply = HttpReply {
            status: 403,
            body: b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>arn:aws:iam::1:user/p is not authorized</Message></Error></ErrorResponse>".to_vec(),
            headers: Vec::new(),
        };
        let Err(VendError::Provider { summary, detail }) = parse_reply(&reply, false) else { panic!("not refused") };
        assert_eq!(summary, "STS AccessDenied");
        assert!(detail.contains("not authorized"));
        let empty = HttpReply { status: 200, body: b"<AssumeRoleResponse/>".to_vec(), headers: Vec::new() };
        assert!(matches!(parse_reply(&empty, false), Err(VendError::Provider { .. })));
    }
}
