//! Azure SAS against the SDK-generated vectors (`vectors/azure/azure_sas_python_sdk.json`,
//! `azure_sas_js_sdk.json`): string-to-sign and signature byte for byte; the token byte for
//! byte against the JS SDK (same parameter order and encoding) and as a decoded map against the
//! Python SDK; plus URLs, the batch path and what is rejected.

#[path = "common/vectors.rs"]
mod shared_vectors;

use shared_vectors::vectors_dir;

use std::collections::BTreeMap;

use opensharing::signing::azure::{
    AzureBlobPresigner, AzureError, BlobEndpoint, SasCredential, SasParams, SasProtocol, SasResource, SasSigner,
    SigningKey, UserDelegationKey, DEFAULT_VERSION,
};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ACCOUNT: &str = "devstoreaccount1";
const ACCOUNT_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const UDK_VALUE: &str = "3hd4LRwrARVGbeMRQRfTLIsGMkCPuZJnvxZDU7Gak8c=";

fn vectors(file: &str) -> Vec<Value> {
    let path = vectors_dir().join("azure").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

fn decoded(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn udk(fields: &Value) -> UserDelegationKey {
    let text = |k: &str| fields[k].as_str().unwrap().to_string();
    UserDelegationKey {
        signed_oid: text("signed_oid"),
        signed_tid: text("signed_tid"),
        signed_start: text("signed_start"),
        signed_expiry: text("signed_expiry"),
        signed_service: text("signed_service"),
        signed_version: text("signed_version"),
        signed_delegated_user_tid: fields.get("signed_delegated_user_tid").and_then(Value::as_str).map(String::from),
        value: SigningKey::from_base64(fields["value"].as_str().unwrap()).unwrap(),
    }
}

fn signer(case: &Value) -> SasSigner {
    let inputs = &case["inputs"];
    let credential = match case["kind"].as_str().unwrap() {
        "service-sas-account-key" => {
            SasCredential::AccountKey(SigningKey::from_base64(inputs["account_key"].as_str().unwrap()).unwrap())
        }
        "user-delegation" => SasCredential::UserDelegation(Box::new(udk(&inputs["user_delegation_key"]))),
        other => panic!("unknown kind {other}"),
    };
    SasSigner::new(inputs["account"].as_str().unwrap(), credential).unwrap()
}

fn resource(inputs: &Value) -> SasResource<'_> {
    let text = |k: &str| inputs.get(k).and_then(Value::as_str);
    let container = text("container").unwrap();
    match (text("blob"), text("snapshot"), text("version_id")) {
        (None, _, _) => SasResource::Container { container },
        (Some(path), _, _) if inputs.get("is_directory").and_then(Value::as_bool) == Some(true) => {
            SasResource::Directory { container, path }
        }
        (Some(blob), Some(snapshot), _) => SasResource::BlobSnapshot { container, blob, snapshot },
        (Some(blob), None, Some(version_id)) => SasResource::BlobVersion { container, blob, version_id },
        (Some(blob), None, None) => SasResource::Blob { container, blob },
    }
}

fn params(case: &Value) -> SasParams<'_> {
    let inputs = &case["inputs"];
    let text = |k: &str| inputs.get(k).and_then(Value::as_str);
    SasParams {
        version: case["sv"].as_str().unwrap(),
        permissions: text("permission").unwrap_or(""),
        start: text("start").map(time),
        expiry: text("expiry").map(time),
        ip: text("ip"),
        protocol: text("protocol").map(|p| match p {
            "https" => SasProtocol::Https,
            "https,http" => SasProtocol::HttpsAndHttp,
            other => panic!("unknown protocol {other}"),
        }),
        identifier: text("policy_id"),
        encryption_scope: text("encryption_scope"),
        cache_control: text("cache_control"),
        content_disposition: text("content_disposition"),
        content_encoding: text("content_encoding"),
        content_language: text("content_language"),
        content_type: text("content_type"),
        preauthorized_agent_object_id: text("preauthorized_agent_object_id"),
        agent_object_id: text("agent_object_id"),
        correlation_id: text("correlation_id"),
        delegated_user_object_id: text("delegated_user_object_id"),
        ..SasParams::read(resource(inputs), time("2000-01-01T00:00:00Z"))
    }
}

/// Signs every case; returns the failures.
fn check_file(file: &str, expected_count: usize, token_exact: bool) -> Vec<String> {
    let cases = vectors(file);
    assert_eq!(cases.len(), expected_count, "{file} changed: review the mapping");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["description"].as_str().unwrap();
        let expected = &case["expected"];
        let params = params(case);
        let token = signer(case).sign(&params).unwrap_or_else(|e| panic!("{name}: {e}"));
        if token.string_to_sign != expected["string_to_sign"] {
            failures.push(format!("{name}: string to sign {:?}", token.string_to_sign));
        }
        if token.signature != expected["sig"] {
            failures.push(format!("{name}: sig {}", token.signature));
        }
        let expected_token = expected["token"].as_str().unwrap();
        if token_exact && token.query != expected_token {
            failures.push(format!("{name}: token\n{}\n{expected_token}", token.query));
        }
        if decoded(&token.query) != decoded(expected_token) {
            failures.push(format!("{name}: decoded token {:?}", decoded(&token.query)));
        }
        if let Some(map) = expected.get("query").and_then(Value::as_object) {
            let map: BTreeMap<String, String> =
                map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            if decoded(&token.query) != map {
                failures.push(format!("{name}: query map {:?}", decoded(&token.query)));
            }
        }
    }
    failures
}

#[test]
fn python_sdk_vectors() {
    let failures = check_file("azure_sas_python_sdk.json", 11, false);
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn js_sdk_vectors_with_exact_tokens() {
    let failures = check_file("azure_sas_js_sdk.json", 14, true);
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

fn account_signer() -> SasSigner {
    SasSigner::new(ACCOUNT, SasCredential::AccountKey(SigningKey::from_base64(ACCOUNT_KEY).unwrap())).unwrap()
}

fn udk_signer() -> SasSigner {
    let key = UserDelegationKey {
        signed_oid: "11111111-1111-1111-1111-111111111111".into(),
        signed_tid: "22222222-2222-2222-2222-222222222222".into(),
        signed_start: "2024-01-15T00:00:00Z".into(),
        signed_expiry: "2024-01-22T00:00:00Z".into(),
        signed_service: "b".into(),
        signed_version: "2024-11-04".into(),
        signed_delegated_user_tid: None,
        value: SigningKey::from_base64(UDK_VALUE).unwrap(),
    };
    SasSigner::new(ACCOUNT, SasCredential::UserDelegation(Box::new(key))).unwrap()
}

#[test]
fn urls_encode_names_and_carry_snapshot_ids() {
    let signer = account_signer();
    let expiry = time("2024-01-16T12:00:00Z");
    let azurite = BlobEndpoint::parse("http://127.0.0.1:10000/devstoreaccount1/").unwrap();
    let blob = SasResource::Blob { container: "mycontainer", blob: "dir/my blob+ü%.txt" };
    let token = signer.sign(&SasParams::read(blob, expiry)).unwrap();
    assert!(token.string_to_sign.contains("\n/blob/devstoreaccount1/mycontainer/dir/my blob+ü%.txt\n"));
    assert_eq!(
        azurite.url(&blob, &token),
        format!("http://127.0.0.1:10000/devstoreaccount1/mycontainer/dir/my%20blob%2B%C3%BC%25.txt?{}", token.query)
    );
    assert!(token.query.starts_with(&format!("sv={DEFAULT_VERSION}&se=2024-01-16T12%3A00%3A00Z&sr=b&sp=r&sig=")));

    let snap = SasResource::BlobSnapshot { container: "c1", blob: "b", snapshot: "2024-01-01T00:00:00.1234567Z" };
    let token = signer.sign(&SasParams::read(snap, expiry)).unwrap();
    assert_eq!(
        BlobEndpoint::for_account(ACCOUNT).url(&snap, &token),
        format!(
            "https://devstoreaccount1.blob.core.windows.net/c1/b?snapshot=2024-01-01T00%3A00%3A00.1234567Z&{}",
            token.query
        )
    );
    let version = SasResource::BlobVersion { container: "c1", blob: "b", version_id: "v1" };
    let token = signer.sign(&SasParams::read(version, expiry)).unwrap();
    assert!(BlobEndpoint::for_account(ACCOUNT).url(&version, &token).contains("/c1/b?versionid=v1&sv="));

    let container = SasResource::Container { container: "c1" };
    let token = signer.sign(&SasParams { permissions: "rl", ..SasParams::read(container, expiry) }).unwrap();
    assert_eq!(azurite.url(&container, &token), format!("http://127.0.0.1:10000/devstoreaccount1/c1?{}", token.query));
}

#[test]
fn batch_matches_general_path() {
    let now = time("2024-01-16T11:00:00Z");
    let endpoint = BlobEndpoint::parse("http://127.0.0.1:10000/devstoreaccount1").unwrap();
    for signer in [account_signer(), udk_signer()] {
        let presigner = AzureBlobPresigner::new(endpoint.clone(), signer.clone(), "lake").unwrap();
        let batch = presigner.batch(now, 3600).unwrap();
        for blob in ["a.parquet", "tables/t/part-00000.snappy.parquet", "dir/my blob+ü%.txt", "/lead", "q?#&="] {
            let resource = SasResource::Blob { container: "lake", blob };
            let token = signer.sign(&SasParams::read(resource, time("2024-01-16T12:00:00Z"))).unwrap();
            assert_eq!(batch.url(blob).unwrap(), endpoint.url(&resource, &token), "{blob}");
        }
        let mut out = String::from("x");
        assert!(batch.presign_get("a/./b", &mut out).is_err());
        assert!(batch.presign_get("", &mut out).is_err());
        assert_eq!(out, "x");
    }
    assert!(AzureBlobPresigner::new(endpoint.clone(), account_signer(), "a/b").is_err());
    let presigner = AzureBlobPresigner::new(endpoint, udk_signer(), "lake").unwrap();
    assert!(presigner.batch(now, 0).is_err());
    assert!(presigner.batch(now, 30 * 86_400).is_err(), "past the delegation key's expiry");
}

fn sas_error(signer: &SasSigner, params: SasParams<'_>) -> String {
    match signer.sign(&params) {
        Err(AzureError::InvalidSas(msg)) => msg,
        other => panic!("expected InvalidSas, got {other:?}"),
    }
}

#[test]
fn rejects_fields_the_version_or_kind_cannot_carry() {
    let expiry = time("2024-01-16T12:00:00Z");
    let blob = SasResource::Blob { container: "c", blob: "b" };
    let base = SasParams::read(blob, expiry);
    let service = account_signer();
    let udk = udk_signer();
    let dir = SasResource::Directory { container: "c", path: "a/b" };
    assert!(
        sas_error(&service, SasParams { version: "2019-12-12", ..SasParams::read(dir, expiry) }).contains("2020-02-10")
    );
    assert!(sas_error(&service, SasParams { version: "2019-12-12", encryption_scope: Some("s"), ..base.clone() })
        .contains("2020-12-06"));
    assert!(sas_error(&service, SasParams { version: "2014-02-14", ..base.clone() }).contains("2015-04-05"));
    assert!(sas_error(&udk, SasParams { version: "2018-03-28", ..base.clone() }).contains("2018-11-09"));
    assert!(sas_error(&service, SasParams { correlation_id: Some("x"), ..base.clone() }).contains("user-delegation"));
    assert!(sas_error(&udk, SasParams { identifier: Some("p"), ..base.clone() }).contains("stored access policy"));
    assert!(sas_error(&udk, SasParams { delegated_user_object_id: Some("x"), ..base.clone() }).contains("2025-07-05"));
    assert!(
        sas_error(&udk, SasParams { expiry: Some(time("2024-01-23T00:00:00Z")), ..base.clone() }).contains("expiry")
    );
    assert!(sas_error(&service, SasParams { expiry: None, ..base.clone() }).contains("expiry"));
    assert!(sas_error(&service, SasParams { permissions: "", ..base.clone() }).contains("permissions"));
    assert!(sas_error(&service, SasParams { permissions: "rq", ..base.clone() }).contains("permissions"));
    assert!(sas_error(&service, SasParams { content_type: Some("a\nb"), ..base.clone() }).contains("line break"));
    assert!(sas_error(&service, SasParams { version: "latest", ..base.clone() }).contains("YYYY-MM-DD"));
    for path in ["", "/a", "a/", "a//b", "a/../b"] {
        sas_error(&service, SasParams::read(SasResource::Directory { container: "c", path }, expiry));
    }
    sas_error(&service, SasParams::read(SasResource::Blob { container: "c", blob: "x/../y" }, expiry));
    assert!(matches!(
        service.sign(&SasParams::read(SasResource::Container { container: "" }, expiry)),
        Err(AzureError::InvalidLocation(_))
    ));
    let far = expiry.replace_year(-1).unwrap();
    assert_eq!(service.sign(&SasParams::read(blob, far)), Err(AzureError::TimeOutOfRange));
    assert!(SasSigner::new("Upper", SasCredential::AccountKey(SigningKey::from_base64("AA==").unwrap())).is_err());
    // The layout rows are chosen by version: skdutid and sduoid appear from 2025-07-05 on.
    let token = udk.sign(&SasParams { version: "2025-07-05", delegated_user_object_id: Some("D"), ..base }).unwrap();
    assert!(
        token.string_to_sign.contains("\nb\n2024-11-04\n\n\n\n\nD\n\n\n2025-07-05\nb\n"),
        "{:?}",
        token.string_to_sign
    );
    assert!(token.query.contains("&sduoid=D&sig="));
}

#[test]
fn debug_output_redacts_keys() {
    let printed = format!("{:?} {:?}", account_signer(), udk_signer());
    assert!(printed.contains("devstoreaccount1") && printed.contains("11111111-1111"), "{printed}");
    for secret in [&ACCOUNT_KEY[..12], &UDK_VALUE[..12]] {
        assert!(!printed.contains(secret), "{printed}");
    }
}
