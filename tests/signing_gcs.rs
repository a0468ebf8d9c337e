//! GCS V4 signed URLs against Google's conformance suite (`vectors/gcs/v4_signatures.json`),
//! plus the HMAC worked example of `spec/signing.md` and the batch path.

#[path = "common/vectors.rs"]
mod shared_vectors;

use shared_vectors::vectors_dir;

use std::sync::Arc;

use opensharing::signing::gcs::{
    GcsCredentials, GcsError, GcsLocation, GcsPresigner, GcsRequest, GcsUrlStyle, HmacKey, ServiceAccountKey,
};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The case whose `expectedCanonicalRequest` is wrong upstream (see `vectors/SOURCES.md`).
const KNOWN_BAD_CANONICAL_REQUEST: &str = "Universe domain with virtual hosted style";

fn read_vector(relative: &str) -> String {
    let path = vectors_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn service_account() -> Arc<ServiceAccountKey> {
    Arc::new(ServiceAccountKey::from_json(&read_vector("gcs/test_service_account.not-a-test.json")).unwrap())
}

fn timestamp(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

fn pairs(case: &Value, field: &str) -> Vec<(String, String)> {
    case.get(field)
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

/// Maps the suite's client configuration onto one explicit endpoint and URL style. Precedence:
/// `hostname` > `clientEndpoint` > `emulatorHostname` > `universeDomain`; a scheme inside the
/// chosen value overrides `scheme` (default https).
fn location(case: &Value) -> GcsLocation {
    let text = |k: &str| case.get(k).and_then(Value::as_str);
    let scheme = text("scheme").unwrap_or("https");
    let bucket = text("bucket").unwrap();
    let with_scheme = |e: &str| if e.contains("://") { e.to_string() } else { format!("{scheme}://{e}") };
    let (style, endpoint) = match text("urlStyle") {
        Some("BUCKET_BOUND_HOSTNAME") => {
            (GcsUrlStyle::BucketBoundHostname, Some(with_scheme(text("bucketBoundHostname").unwrap())))
        }
        style => {
            let style = match style {
                Some("VIRTUAL_HOSTED_STYLE") => GcsUrlStyle::VirtualHosted,
                None | Some("PATH_STYLE") => GcsUrlStyle::PathStyle,
                Some(other) => panic!("unknown urlStyle {other}"),
            };
            let endpoint = text("hostname")
                .or(text("clientEndpoint"))
                .or(text("emulatorHostname"))
                .map(with_scheme)
                .or_else(|| text("universeDomain").map(|d| format!("https://storage.{d}")));
            (style, endpoint)
        }
    };
    GcsLocation::new(bucket, endpoint.as_deref(), style).unwrap()
}

#[test]
fn conformance_suite_signing_v4_tests() {
    let suite: Value = serde_json::from_str(&read_vector("gcs/v4_signatures.json")).unwrap();
    let cases = suite["signingV4Tests"].as_array().unwrap();
    assert_eq!(cases.len(), 29, "the suite changed: review the mapping");
    let key = service_account();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["description"].as_str().unwrap();
        let presigner = GcsPresigner::new(location(case), GcsCredentials::ServiceAccount(key.clone()));
        let headers = pairs(case, "headers");
        let query = pairs(case, "queryParameters");
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let req = GcsRequest {
            method: case["method"].as_str().unwrap(),
            object: case.get("object").and_then(Value::as_str),
            query: &query,
            headers: &headers,
            expires_seconds: case["expiration"].as_u64().unwrap().try_into().unwrap(),
        };
        let signed = presigner.presign(&req, timestamp(case["timestamp"].as_str().unwrap())).unwrap();
        if name != KNOWN_BAD_CANONICAL_REQUEST && signed.canonical_request != case["expectedCanonicalRequest"] {
            failures.push(format!("{name}: canonical request\n{}", signed.canonical_request));
        }
        if signed.string_to_sign != case["expectedStringToSign"] {
            failures.push(format!("{name}: string to sign\n{}", signed.string_to_sign));
        }
        if signed.url != case["expectedUrl"] {
            failures.push(format!("{name}: url\n{}\n{}", signed.url, case["expectedUrl"]));
        }
        assert_eq!(signed.signature.len(), 512, "{name}");
        assert!(signed.url.ends_with(&format!("&X-Goog-Signature={}", signed.signature)), "{name}");
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n\n"));
}

/// `spec/signing.md` §2.7: computed during research, not an official vector.
#[test]
fn hmac_worked_example() {
    let key = HmacKey::new("GOOG1EXAMPLEACCESSID", "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ").unwrap();
    let loc = GcsLocation::new("test-bucket", None, GcsUrlStyle::PathStyle).unwrap();
    let presigner = GcsPresigner::new(loc, GcsCredentials::Hmac(key));
    let now = timestamp("2019-02-01T09:00:00Z");
    let signed = presigner.presign(&GcsRequest::get("test-object", 10), now).unwrap();
    assert!(signed
        .string_to_sign
        .starts_with("GOOG4-HMAC-SHA256\n20190201T090000Z\n20190201/auto/storage/goog4_request\n"));
    assert!(signed.string_to_sign.ends_with("\n10c3f67faf17a6e0fa66897363dfbb42e939f5efa760ceda77b7b9eed5a8b8a9"));
    assert_eq!(signed.signature, "2b200787b25bdfa0a69534a3b0357d88bc78920fb9b2bb85cdd77b7cf342df9f");
    assert_eq!(
        signed.url,
        "https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-HMAC-SHA256\
         &X-Goog-Credential=GOOG1EXAMPLEACCESSID%2F20190201%2Fauto%2Fstorage%2Fgoog4_request\
         &X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host\
         &X-Goog-Signature=2b200787b25bdfa0a69534a3b0357d88bc78920fb9b2bb85cdd77b7cf342df9f"
    );
}

const OBJECTS: [&str; 5] = [
    "test-object",
    "tables/t/part-00000-3f8a.c000.snappy.parquet",
    "dir/my blob+ü%.txt",
    "/leading/slash",
    "amper&sand/ques?tion#hash",
];

#[test]
fn batch_matches_general_path() {
    let now = timestamp("2026-01-01T12:34:56Z");
    let hmac = GcsCredentials::Hmac(HmacKey::new("GOOG1ID", "c2VjcmV0").unwrap());
    let rsa = GcsCredentials::ServiceAccount(service_account());
    let locations = [
        GcsLocation::new("lake", None, GcsUrlStyle::PathStyle).unwrap(),
        GcsLocation::new("lake", Some("http://127.0.0.1:4443"), GcsUrlStyle::PathStyle).unwrap(),
        GcsLocation::new("lake", Some("https://storage.example.com"), GcsUrlStyle::VirtualHosted).unwrap(),
        GcsLocation::new("lake", Some("https://cdn.example.com"), GcsUrlStyle::BucketBoundHostname).unwrap(),
    ];
    for creds in [hmac, rsa] {
        for loc in &locations {
            let presigner = GcsPresigner::new(loc.clone(), creds.clone());
            let batch = presigner.batch(now, 3600).unwrap();
            let mut out = String::from("prefix:");
            for object in OBJECTS {
                let general = presigner.presign(&GcsRequest::get(object, 3600), now).unwrap();
                assert_eq!(batch.url(object).unwrap(), general.url, "{loc:?} {object}");
                out.truncate("prefix:".len());
                batch.presign_get(object, &mut out).unwrap();
                assert_eq!(out, format!("prefix:{}", general.url));
            }
            out.truncate("prefix:".len());
            assert!(batch.presign_get("a/../b", &mut out).is_err());
            assert_eq!(out, "prefix:", "a failed batch signature leaves the buffer as it was");
        }
    }
}

#[test]
fn rejects_what_cannot_be_signed() {
    let loc = GcsLocation::new("lake", None, GcsUrlStyle::PathStyle).unwrap();
    let presigner = GcsPresigner::new(loc, GcsCredentials::Hmac(HmacKey::new("id", "secret").unwrap()));
    let now = timestamp("2026-01-01T00:00:00Z");
    assert_eq!(presigner.presign(&GcsRequest::get("o", 0), now), Err(GcsError::InvalidExpiry(0)));
    assert_eq!(presigner.presign(&GcsRequest::get("o", 604_801), now), Err(GcsError::InvalidExpiry(604_801)));
    assert!(presigner.presign(&GcsRequest::get("o", 604_800), now).is_ok());
    assert!(presigner.batch(now, 604_801).is_err());
    let reserved = [("x-goog-signature", "x")];
    let req = GcsRequest { query: &reserved, ..GcsRequest::get("o", 60) };
    assert!(matches!(presigner.presign(&req, now), Err(GcsError::InvalidRequest(_))));
    let req = GcsRequest { method: "get", ..GcsRequest::get("o", 60) };
    assert!(matches!(presigner.presign(&req, now), Err(GcsError::InvalidRequest(_))));
    let far = timestamp("2026-01-01T00:00:00Z").replace_year(-1).unwrap();
    assert_eq!(presigner.presign(&GcsRequest::get("o", 60), far), Err(GcsError::TimeOutOfRange));
    assert!(HmacKey::new("", "s").is_err());
    assert!(ServiceAccountKey::from_json("{}").is_err());
    assert!(ServiceAccountKey::from_pkcs8_pem("a@b", "not a pem").is_err());
}

#[test]
fn debug_output_redacts_keys() {
    let sa = service_account();
    let hmac = HmacKey::new("GOOG1ID", "very-secret-value").unwrap();
    let loc = GcsLocation::new("lake", None, GcsUrlStyle::PathStyle).unwrap();
    let printed = format!(
        "{sa:?} {hmac:?} {:?} {:?}",
        GcsPresigner::new(loc.clone(), GcsCredentials::ServiceAccount(sa.clone())),
        GcsPresigner::new(loc, GcsCredentials::Hmac(hmac.clone()))
    );
    assert!(printed.contains("test-iam-credentials@dummy-project-id.iam.gserviceaccount.com"), "{printed}");
    assert!(printed.contains("GOOG1ID"), "{printed}");
    assert!(!printed.contains("very-secret-value"), "{printed}");
    assert!(!printed.contains("MII"), "{printed}");
}
