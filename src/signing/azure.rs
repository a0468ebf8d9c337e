//! Azure Blob Storage shared access signatures: service SAS (account key) and user-delegation
//! SAS (a key the host obtained with Get User Delegation Key), for blobs (`sr=b`, snapshots
//! `bs`, versions `bv`), containers (`sr=c`) and directories of hierarchical-namespace accounts
//! (`sr=d` with `sdd`).
//!
//! [`SasSigner::sign`] is the general algorithm: every field, and the string-to-sign layout of
//! every service version from `2015-04-05` (user delegation: `2018-11-09`) on. Our own URLs use
//! [`DEFAULT_VERSION`]. [`AzureBlobPresigner::batch`] signs many read-only blob URLs of one
//! response with the shared HMAC state computed once.
//!
//! The canonicalized resource uses the raw names (`/blob/{account}/{container}/{name}`); the
//! URL path percent-encodes them (`/` kept). Blob names with a `.` or `..` segment are rejected:
//! HTTP clients normalise such segments away. The `srh`/`srq` fields of `2026-04-06` and later
//! user-delegation layouts are always empty here (their canonical form is not settled).

use base64::Engine as _;
use ring::hmac;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::encode::uri_encode_into;

/// The service version (`sv`) of the SAS we generate: `2025-05-05`. Its service-SAS layout
/// (16 fields) is the one SDKs use today; its user-delegation layout (24 fields) predates the
/// `2025-07-05` additions. Azurite 3.35 accepts it.
pub const DEFAULT_VERSION: &str = "2025-05-05";
/// Permission letters in the order SAS permissions are conventionally written.
pub const PERMISSION_LETTERS: &str = "racwdxyltmeopif";

/// Why a SAS could not be made. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AzureError {
    /// The key is not usable (not base64, or empty).
    #[error("invalid signing key: {0}")]
    InvalidKey(&'static str),
    /// The account, container or endpoint is unusable.
    #[error("invalid storage location: {0}")]
    InvalidLocation(String),
    /// The SAS fields are inconsistent, or not expressible in the chosen version.
    #[error("invalid SAS: {0}")]
    InvalidSas(String),
    /// A time cannot be written as `YYYY-MM-DDThh:mm:ssZ`.
    #[error("SAS time is out of range")]
    TimeOutOfRange,
}

fn invalid(msg: impl Into<String>) -> AzureError {
    AzureError::InvalidSas(msg.into())
}

/// An HMAC-SHA256 key given in base64: an account key or a user delegation key's `Value`.
/// `Debug` never prints it.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Decodes a base64 (standard alphabet, padded) key.
    pub fn from_base64(key: &str) -> Result<SigningKey, AzureError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| AzureError::InvalidKey("the key is not valid base64"))?;
        if bytes.is_empty() {
            return Err(AzureError::InvalidKey("the key is empty"));
        }
        Ok(SigningKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }
}

/// A user delegation key, as returned by Get User Delegation Key. The `signed_*` fields are
/// copied verbatim into the SAS.
#[derive(Clone, Debug)]
pub struct UserDelegationKey {
    /// `SignedOid` → `skoid`.
    pub signed_oid: String,
    /// `SignedTid` → `sktid`.
    pub signed_tid: String,
    /// `SignedStart` → `skt`.
    pub signed_start: String,
    /// `SignedExpiry` → `ske` (RFC 3339); the SAS expiry may not be later.
    pub signed_expiry: String,
    /// `SignedService` → `sks` (`b`).
    pub signed_service: String,
    /// `SignedVersion` → `skv`.
    pub signed_version: String,
    /// `SignedDelegatedUserTid` → `skdutid` (service version `2025-07-05` and later).
    pub signed_delegated_user_tid: Option<String>,
    /// `Value`: the key itself.
    pub value: SigningKey,
}

/// The key a SAS is signed with.
#[derive(Clone, Debug)]
pub enum SasCredential {
    /// The storage account key: a service SAS.
    AccountKey(SigningKey),
    /// A user delegation key: a user-delegation SAS.
    UserDelegation(Box<UserDelegationKey>),
}

/// What a SAS grants access to. Names are raw (not percent-encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SasResource<'a> {
    /// A whole container (`sr=c`).
    Container {
        /// Container name.
        container: &'a str,
    },
    /// A blob (`sr=b`).
    Blob {
        /// Container name.
        container: &'a str,
        /// Blob name.
        blob: &'a str,
    },
    /// A blob snapshot (`sr=bs`); the URL carries `snapshot=`.
    BlobSnapshot {
        /// Container name.
        container: &'a str,
        /// Blob name.
        blob: &'a str,
        /// Snapshot time, as the service wrote it (`…00.1234567Z`).
        snapshot: &'a str,
    },
    /// A blob version (`sr=bv`); the URL carries `versionid=`.
    BlobVersion {
        /// Container name.
        container: &'a str,
        /// Blob name.
        blob: &'a str,
        /// Version id.
        version_id: &'a str,
    },
    /// A directory and everything under it, on hierarchical-namespace accounts (`sr=d`, `sdd`).
    Directory {
        /// Container name.
        container: &'a str,
        /// Directory path without leading or trailing `/`.
        path: &'a str,
    },
}

impl<'a> SasResource<'a> {
    fn container(&self) -> &'a str {
        match *self {
            SasResource::Container { container }
            | SasResource::Blob { container, .. }
            | SasResource::BlobSnapshot { container, .. }
            | SasResource::BlobVersion { container, .. }
            | SasResource::Directory { container, .. } => container,
        }
    }

    /// The blob name or directory path.
    fn name(&self) -> Option<&'a str> {
        match *self {
            SasResource::Container { .. } => None,
            SasResource::Blob { blob, .. }
            | SasResource::BlobSnapshot { blob, .. }
            | SasResource::BlobVersion { blob, .. } => Some(blob),
            SasResource::Directory { path, .. } => Some(path),
        }
    }

    fn sr(&self) -> &'static str {
        match self {
            SasResource::Container { .. } => "c",
            SasResource::Blob { .. } => "b",
            SasResource::BlobSnapshot { .. } => "bs",
            SasResource::BlobVersion { .. } => "bv",
            SasResource::Directory { .. } => "d",
        }
    }

    /// The string-to-sign's snapshot/version field.
    fn snapshot_field(&self) -> &'a str {
        match *self {
            SasResource::BlobSnapshot { snapshot, .. } => snapshot,
            SasResource::BlobVersion { version_id, .. } => version_id,
            _ => "",
        }
    }

    /// Checks the names; returns the directory depth for `sr=d`.
    fn check(&self) -> Result<Option<usize>, AzureError> {
        let container = self.container();
        if container.is_empty() || container.contains('/') || container.chars().any(char::is_control) {
            return Err(AzureError::InvalidLocation(format!("container name {container:?} is not valid")));
        }
        match *self {
            SasResource::Container { .. } => Ok(None),
            SasResource::Directory { path, .. } => {
                if path.is_empty() || path.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
                    return Err(invalid(format!(
                        "directory path {path:?} must be non-empty segments without leading, trailing or double '/'"
                    )));
                }
                check_text("directory path", path)?;
                Ok(Some(path.split('/').count()))
            }
            SasResource::Blob { blob, .. }
            | SasResource::BlobSnapshot { blob, .. }
            | SasResource::BlobVersion { blob, .. } => {
                if blob.is_empty() {
                    return Err(invalid("blob name is empty"));
                }
                check_blob_name(blob)?;
                check_text("snapshot or version id", self.snapshot_field())?;
                Ok(None)
            }
        }
    }
}

fn check_blob_name(blob: &str) -> Result<(), AzureError> {
    check_text("blob name", blob)?;
    if blob.split('/').any(|s| s == "." || s == "..") {
        return Err(invalid(format!("blob name {blob:?} has a '.' or '..' segment, which URL clients remove")));
    }
    Ok(())
}

/// Rejects line breaks, which would shift the string-to-sign's fields.
fn check_text(what: &str, value: &str) -> Result<(), AzureError> {
    if value.contains(['\r', '\n']) {
        return Err(invalid(format!("{what} contains a line break")));
    }
    Ok(())
}

/// `spr`: which protocols the SAS allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SasProtocol {
    /// `https` only.
    Https,
    /// `https,http`.
    HttpsAndHttp,
}

impl SasProtocol {
    fn as_str(self) -> &'static str {
        match self {
            SasProtocol::Https => "https",
            SasProtocol::HttpsAndHttp => "https,http",
        }
    }
}

/// The fields of one SAS. Start from [`SasParams::read`] and override what differs.
#[derive(Clone, Debug)]
pub struct SasParams<'a> {
    /// What the SAS grants access to.
    pub resource: SasResource<'a>,
    /// `sv`, `YYYY-MM-DD`; it also selects the string-to-sign layout.
    pub version: &'a str,
    /// `sp`, letters from [`PERMISSION_LETTERS`]; empty only with a stored policy (`si`).
    pub permissions: &'a str,
    /// `st`, written to the second.
    pub start: Option<OffsetDateTime>,
    /// `se`, written to the second; optional only with a stored policy.
    pub expiry: Option<OffsetDateTime>,
    /// `sip`: an IP address or range `a-b`.
    pub ip: Option<&'a str>,
    /// `spr`.
    pub protocol: Option<SasProtocol>,
    /// `si`: a stored access policy of the container (service SAS only).
    pub identifier: Option<&'a str>,
    /// `ses`: encryption scope (version `2020-12-06` and later).
    pub encryption_scope: Option<&'a str>,
    /// `rscc`: `Cache-Control` of the response.
    pub cache_control: Option<&'a str>,
    /// `rscd`: `Content-Disposition` of the response.
    pub content_disposition: Option<&'a str>,
    /// `rsce`: `Content-Encoding` of the response.
    pub content_encoding: Option<&'a str>,
    /// `rscl`: `Content-Language` of the response.
    pub content_language: Option<&'a str>,
    /// `rsct`: `Content-Type` of the response.
    pub content_type: Option<&'a str>,
    /// `saoid`: preauthorized agent object id (user delegation, `2020-02-10` and later).
    pub preauthorized_agent_object_id: Option<&'a str>,
    /// `suoid`: unauthorized agent object id (user delegation, `2020-02-10` and later).
    pub agent_object_id: Option<&'a str>,
    /// `scid`: correlation id (user delegation, `2020-02-10` and later).
    pub correlation_id: Option<&'a str>,
    /// `sduoid`: delegated user object id (user delegation, `2025-07-05` and later).
    pub delegated_user_object_id: Option<&'a str>,
}

impl<'a> SasParams<'a> {
    /// Read access (`sp=r`) to `resource` until `expiry`, at [`DEFAULT_VERSION`], every other
    /// field absent.
    pub fn read(resource: SasResource<'a>, expiry: OffsetDateTime) -> SasParams<'a> {
        SasParams {
            resource,
            version: DEFAULT_VERSION,
            permissions: "r",
            start: None,
            expiry: Some(expiry),
            ip: None,
            protocol: None,
            identifier: None,
            encryption_scope: None,
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            content_type: None,
            preauthorized_agent_object_id: None,
            agent_object_id: None,
            correlation_id: None,
            delegated_user_object_id: None,
        }
    }
}

/// A signed SAS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SasToken {
    /// The SAS query string (no leading `?`), `sig` last. Snapshot and version ids are not in
    /// it: [`BlobEndpoint::url`] adds them.
    pub query: String,
    /// The string that was signed.
    pub string_to_sign: String,
    /// The base64 signature (`sig`, not percent-encoded).
    pub signature: String,
}

/// `YYYY-MM-DDThh:mm:ssZ` of `t`, in UTC.
fn azure_time(t: OffsetDateTime) -> Result<String, AzureError> {
    let t = t.to_offset(time::UtcOffset::UTC);
    if !(0..=9999).contains(&t.year()) {
        return Err(AzureError::TimeOutOfRange);
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn check_version(version: &str) -> Result<(), AzureError> {
    let b = version.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if shape {
        Ok(())
    } else {
        Err(invalid(format!("service version {version:?} is not YYYY-MM-DD")))
    }
}

fn check_permissions(permissions: &str) -> Result<(), AzureError> {
    for (i, c) in permissions.char_indices() {
        if !PERMISSION_LETTERS.contains(c) || permissions[..i].contains(c) {
            return Err(invalid(format!("permissions {permissions:?}: letters from {PERMISSION_LETTERS}, each once")));
        }
    }
    Ok(())
}

/// The string-to-sign around the canonicalized resource, and the query without `sig`.
struct Prepared {
    /// `sp\nst\nse\n`.
    head: String,
    /// `\n` and the fields after the canonicalized resource.
    tail: String,
    /// Every parameter but `sig`, each followed by `&`.
    query: String,
}

/// Signs SAS tokens for one storage account with one key.
#[derive(Clone, Debug)]
pub struct SasSigner {
    account: String,
    credential: SasCredential,
}

impl SasSigner {
    /// A signer for `account` (lower-case letters and digits).
    pub fn new(account: &str, credential: SasCredential) -> Result<SasSigner, AzureError> {
        if account.is_empty() || !account.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            return Err(AzureError::InvalidLocation(format!("account name {account:?} is not valid")));
        }
        Ok(SasSigner { account: account.to_string(), credential })
    }

    /// A service-SAS signer for `account` from its base64 account key.
    pub fn with_account_key(account: &str, base64_key: &str) -> Result<SasSigner, AzureError> {
        SasSigner::new(account, SasCredential::AccountKey(SigningKey::from_base64(base64_key)?))
    }

    /// The storage account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Signs a SAS for `params`.
    pub fn sign(&self, params: &SasParams<'_>) -> Result<SasToken, AzureError> {
        let depth = params.resource.check()?;
        let prepared = self.prepare(params, depth)?;
        let mut string_to_sign = prepared.head;
        self.push_canonical_resource(&mut string_to_sign, &params.resource);
        string_to_sign.push_str(&prepared.tail);
        let signature = base64::engine::general_purpose::STANDARD
            .encode(hmac::sign(self.key(), string_to_sign.as_bytes()).as_ref());
        let mut query = prepared.query;
        query.push_str("sig=");
        uri_encode_into(&mut query, &signature, false);
        Ok(SasToken { query, string_to_sign, signature })
    }

    fn key(&self) -> &hmac::Key {
        match &self.credential {
            SasCredential::AccountKey(key) => &key.0,
            SasCredential::UserDelegation(udk) => &udk.value.0,
        }
    }

    /// `/blob/{account}/{container}[/{name}]`, raw.
    fn push_canonical_resource(&self, out: &mut String, resource: &SasResource<'_>) {
        out.push_str("/blob/");
        out.push_str(&self.account);
        out.push('/');
        out.push_str(resource.container());
        if let Some(name) = resource.name() {
            out.push('/');
            out.push_str(name);
        }
    }

    /// Validates `p` against the version and lays out everything but the canonicalized
    /// resource. Of the resource only its kind, snapshot/version id and directory `depth` are
    /// used; the caller has checked its names.
    fn prepare(&self, p: &SasParams<'_>, depth: Option<usize>) -> Result<Prepared, AzureError> {
        check_version(p.version)?;
        let v = p.version;
        check_permissions(p.permissions)?;
        let texts = [
            ("ip", p.ip),
            ("identifier", p.identifier),
            ("encryption scope", p.encryption_scope),
            ("cache control", p.cache_control),
            ("content disposition", p.content_disposition),
            ("content encoding", p.content_encoding),
            ("content language", p.content_language),
            ("content type", p.content_type),
            ("preauthorized agent object id", p.preauthorized_agent_object_id),
            ("agent object id", p.agent_object_id),
            ("correlation id", p.correlation_id),
            ("delegated user object id", p.delegated_user_object_id),
        ];
        for (what, value) in texts {
            check_text(what, value.unwrap_or_default())?;
        }
        if p.permissions.is_empty() && p.identifier.is_none() {
            return Err(invalid("permissions are required without a stored access policy (si)"));
        }
        if p.expiry.is_none() && p.identifier.is_none() {
            return Err(invalid("an expiry is required without a stored access policy (si)"));
        }
        let needs = |min: &str, what: &str, present: bool| {
            if present && v < min {
                Err(invalid(format!("{what} needs service version {min} or later (have {v})")))
            } else {
                Ok(())
            }
        };
        let snapshot = matches!(p.resource, SasResource::BlobSnapshot { .. } | SasResource::BlobVersion { .. });
        needs("2018-11-09", "a snapshot or version SAS", snapshot)?;
        needs("2020-02-10", "a directory SAS", depth.is_some())?;
        needs("2020-12-06", "an encryption scope", p.encryption_scope.is_some())?;
        let udk = match &self.credential {
            SasCredential::AccountKey(_) => None,
            SasCredential::UserDelegation(udk) => Some(udk.as_ref()),
        };
        let agent_ids = p.preauthorized_agent_object_id.is_some()
            || p.agent_object_id.is_some()
            || p.correlation_id.is_some()
            || p.delegated_user_object_id.is_some();
        if let Some(k) = udk {
            needs("2018-11-09", "a user-delegation SAS", true)?;
            needs(
                "2020-02-10",
                "saoid, suoid and scid",
                p.preauthorized_agent_object_id.is_some() || p.agent_object_id.is_some() || p.correlation_id.is_some(),
            )?;
            needs(
                "2025-07-05",
                "skdutid and sduoid",
                k.signed_delegated_user_tid.is_some() || p.delegated_user_object_id.is_some(),
            )?;
            if p.identifier.is_some() {
                return Err(invalid("a user-delegation SAS cannot use a stored access policy (si)"));
            }
            for (what, value) in [
                ("skoid", &k.signed_oid),
                ("sktid", &k.signed_tid),
                ("skt", &k.signed_start),
                ("ske", &k.signed_expiry),
                ("sks", &k.signed_service),
                ("skv", &k.signed_version),
            ] {
                if value.is_empty() {
                    return Err(invalid(format!("user delegation key field {what} is empty")));
                }
                check_text(what, value)?;
            }
            check_text("skdutid", k.signed_delegated_user_tid.as_deref().unwrap_or_default())?;
            let key_expiry = OffsetDateTime::parse(&k.signed_expiry, &Rfc3339)
                .map_err(|_| invalid("user delegation key expiry (ske) is not an RFC 3339 time"))?;
            if p.expiry.is_some_and(|e| e > key_expiry) {
                return Err(invalid("the SAS expiry is later than the user delegation key's expiry"));
            }
        } else {
            needs("2015-04-05", "a service SAS", true)?;
            if agent_ids {
                return Err(invalid("saoid, suoid, scid and sduoid are for user-delegation SAS only"));
            }
        }

        let start = p.start.map(azure_time).transpose()?;
        let expiry = p.expiry.map(azure_time).transpose()?;
        let opt = |o: Option<&str>| o.unwrap_or_default().to_string();
        let head = format!("{}\n{}\n{}\n", p.permissions, opt(start.as_deref()), opt(expiry.as_deref()));
        let mut fields: Vec<&str> = Vec::with_capacity(28);
        let skdutid = udk.and_then(|k| k.signed_delegated_user_tid.as_deref());
        match udk {
            None => fields.push(p.identifier.unwrap_or_default()),
            Some(k) => {
                fields.extend([
                    k.signed_oid.as_str(),
                    &k.signed_tid,
                    &k.signed_start,
                    &k.signed_expiry,
                    &k.signed_service,
                    &k.signed_version,
                ]);
                if v >= "2020-02-10" {
                    fields.extend([
                        p.preauthorized_agent_object_id.unwrap_or_default(),
                        p.agent_object_id.unwrap_or_default(),
                        p.correlation_id.unwrap_or_default(),
                    ]);
                }
                if v >= "2025-07-05" {
                    fields.extend([skdutid.unwrap_or_default(), p.delegated_user_object_id.unwrap_or_default()]);
                }
            }
        }
        fields.extend([p.ip.unwrap_or_default(), p.protocol.map(SasProtocol::as_str).unwrap_or_default(), v]);
        if v >= "2018-11-09" {
            fields.extend([p.resource.sr(), p.resource.snapshot_field()]);
        }
        if v >= "2020-12-06" {
            fields.push(p.encryption_scope.unwrap_or_default());
        }
        if udk.is_some() && v >= "2026-04-06" {
            fields.extend(["", ""]); // srh, srq
        }
        fields.extend([
            p.cache_control.unwrap_or_default(),
            p.content_disposition.unwrap_or_default(),
            p.content_encoding.unwrap_or_default(),
            p.content_language.unwrap_or_default(),
            p.content_type.unwrap_or_default(),
        ]);
        let mut tail = String::new();
        for field in fields {
            tail.push('\n');
            tail.push_str(field);
        }

        let depth = depth.map(|d| d.to_string());
        let mut params: Vec<(&str, Option<&str>)> = vec![
            ("sv", Some(v)),
            ("spr", p.protocol.map(SasProtocol::as_str)),
            ("st", start.as_deref()),
            ("se", expiry.as_deref()),
            ("sip", p.ip),
            ("si", p.identifier),
            ("ses", p.encryption_scope),
        ];
        if let Some(k) = udk {
            params.extend([
                ("skoid", Some(k.signed_oid.as_str())),
                ("sktid", Some(&k.signed_tid)),
                ("skt", Some(&k.signed_start)),
                ("ske", Some(&k.signed_expiry)),
                ("sks", Some(&k.signed_service)),
                ("skv", Some(&k.signed_version)),
                ("skdutid", skdutid),
            ]);
        }
        params.extend([
            ("sr", Some(p.resource.sr())),
            ("sdd", depth.as_deref()),
            ("sp", Some(p.permissions).filter(|s| !s.is_empty())),
            ("rscc", p.cache_control),
            ("rscd", p.content_disposition),
            ("rsce", p.content_encoding),
            ("rscl", p.content_language),
            ("rsct", p.content_type),
            ("saoid", p.preauthorized_agent_object_id),
            ("suoid", p.agent_object_id),
            ("scid", p.correlation_id),
            ("sduoid", p.delegated_user_object_id),
        ]);
        let mut query = String::new();
        for (name, value) in params {
            if let Some(value) = value {
                query.push_str(name);
                query.push('=');
                uri_encode_into(&mut query, value, false);
                query.push('&');
            }
        }
        Ok(Prepared { head, tail, query })
    }
}

/// A blob service endpoint: `https://{account}.blob.core.windows.net`, or a path-style one
/// such as Azurite's `http://127.0.0.1:10000/devstoreaccount1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobEndpoint {
    base: String,
}

impl BlobEndpoint {
    /// Parses `http(s)://host[:port][/path]` (a trailing `/` is dropped).
    pub fn parse(endpoint: &str) -> Result<BlobEndpoint, AzureError> {
        let bad = |why: &str| AzureError::InvalidLocation(format!("endpoint {endpoint:?}: {why}"));
        let (scheme, rest) = endpoint.split_once("://").ok_or_else(|| bad("expected http(s)://host[:port][/path]"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(bad("scheme must be http or https"));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("missing host, or user info present"));
        }
        if rest.contains(['?', '#']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("no query, fragment or whitespace allowed"));
        }
        Ok(BlobEndpoint { base: endpoint.trim_end_matches('/').to_string() })
    }

    /// The public Azure endpoint of `account`.
    pub fn for_account(account: &str) -> BlobEndpoint {
        BlobEndpoint { base: format!("https://{account}.blob.core.windows.net") }
    }

    /// The endpoint, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The URL of `resource` with `token`: `{endpoint}/{container}[/{name}]?[snapshot=…&|versionid=…&]{sas}`.
    pub fn url(&self, resource: &SasResource<'_>, token: &SasToken) -> String {
        let mut url = String::with_capacity(self.base.len() + token.query.len() + 128);
        url.push_str(&self.base);
        url.push('/');
        uri_encode_into(&mut url, resource.container(), false);
        if let Some(name) = resource.name() {
            url.push('/');
            uri_encode_into(&mut url, name, true);
        }
        url.push('?');
        match resource {
            SasResource::BlobSnapshot { snapshot, .. } => {
                url.push_str("snapshot=");
                uri_encode_into(&mut url, snapshot, false);
                url.push('&');
            }
            SasResource::BlobVersion { version_id, .. } => {
                url.push_str("versionid=");
                uri_encode_into(&mut url, version_id, false);
                url.push('&');
            }
            _ => {}
        }
        url.push_str(&token.query);
        url
    }
}

/// Signs read-only blob URLs of one container.
#[derive(Clone, Debug)]
pub struct AzureBlobPresigner {
    endpoint: BlobEndpoint,
    signer: SasSigner,
    container: String,
}

impl AzureBlobPresigner {
    /// A presigner for the blobs of `container`.
    pub fn new(endpoint: BlobEndpoint, signer: SasSigner, container: &str) -> Result<AzureBlobPresigner, AzureError> {
        SasResource::Container { container }.check()?;
        Ok(AzureBlobPresigner { endpoint, signer, container: container.to_string() })
    }

    /// Prepares read-only (`sp=r`, `sr=b`, [`DEFAULT_VERSION`]) blob URLs expiring
    /// `ttl_seconds` after `now`, with no start time (so clock skew cannot make them not yet
    /// valid).
    pub fn batch(&self, now: OffsetDateTime, ttl_seconds: u32) -> Result<AzureBatch, AzureError> {
        if ttl_seconds == 0 {
            return Err(invalid("the lifetime must be at least one second"));
        }
        let expiry =
            now.checked_add(time::Duration::seconds(i64::from(ttl_seconds))).ok_or(AzureError::TimeOutOfRange)?;
        let container = self.container.as_str();
        // Only the kind of the resource matters here; each blob name is checked when signed.
        let params = SasParams::read(SasResource::Blob { container, blob: "" }, expiry);
        let prepared = self.signer.prepare(&params, None)?;
        let mut head = prepared.head;
        self.signer.push_canonical_resource(&mut head, &SasResource::Container { container });
        head.push('/');
        let mut sts_prefix = hmac::Context::with_key(self.signer.key());
        sts_prefix.update(head.as_bytes());
        let mut url_prefix = format!("{}/", self.endpoint.as_str());
        uri_encode_into(&mut url_prefix, container, false);
        url_prefix.push('/');
        let mut query = prepared.query;
        query.push_str("sig=");
        Ok(AzureBatch { url_prefix, sts_prefix: Box::new(sts_prefix), sts_tail: prepared.tail, query })
    }
}

/// Signs blob URLs that share an expiry (see [`AzureBlobPresigner::batch`]).
pub struct AzureBatch {
    url_prefix: String,
    sts_prefix: Box<hmac::Context>,
    sts_tail: String,
    query: String,
}

impl AzureBatch {
    /// Appends the read-only SAS URL of `blob` to `out`. On error `out` is left unchanged.
    pub fn presign_get(&self, blob: &str, out: &mut String) -> Result<(), AzureError> {
        if blob.is_empty() {
            return Err(invalid("blob name is empty"));
        }
        check_blob_name(blob)?;
        let mut sts = hmac::Context::clone(&self.sts_prefix);
        sts.update(blob.as_bytes());
        sts.update(self.sts_tail.as_bytes());
        let tag = sts.sign();
        let mut sig = [0u8; 44];
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(tag.as_ref(), &mut sig)
            .map_err(|_| invalid("signature encoding failed"))?;
        out.push_str(&self.url_prefix);
        uri_encode_into(out, blob, true);
        out.push('?');
        out.push_str(&self.query);
        uri_encode_into(out, std::str::from_utf8(&sig[..n]).unwrap_or_default(), false);
        Ok(())
    }

    /// The read-only SAS URL of `blob`.
    pub fn url(&self, blob: &str) -> Result<String, AzureError> {
        let mut out = String::with_capacity(self.url_prefix.len() + blob.len() * 3 + self.query.len() + 64);
        self.presign_get(blob, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_permissions_are_checked() {
        assert!(check_version("2025-05-05").is_ok());
        for bad in ["2025-5-05", "20250505", "2025-05-05x", "abcd-ef-gh"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        assert!(check_permissions("racwdxyltmeopif").is_ok());
        assert!(check_permissions("rr").is_err());
        assert!(check_permissions("rz").is_err());
    }

    #[test]
    fn times_are_utc_seconds() {
        let t = OffsetDateTime::parse("2024-01-16T13:00:00.75+01:00", &Rfc3339).unwrap();
        assert_eq!(azure_time(t).unwrap(), "2024-01-16T12:00:00Z");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            BlobEndpoint::parse("http://127.0.0.1:10000/devstoreaccount1/").unwrap().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1"
        );
        assert_eq!(BlobEndpoint::for_account("acct").as_str(), "https://acct.blob.core.windows.net");
        for bad in ["127.0.0.1:10000", "ftp://x", "https://", "https://u@h", "https://h/?x", "https://h/a b"] {
            assert!(BlobEndpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_debug_is_redacted() {
        let key = SigningKey::from_base64("c2VjcmV0").unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        assert!(SigningKey::from_base64("not base64!").is_err());
        assert!(SigningKey::from_base64("").is_err());
    }
}
