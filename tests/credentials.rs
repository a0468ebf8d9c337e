//! Temporary credentials (`dir` access): every asset kind, both response shapes, each provider,
//! the location rules and the error paths, driven through the public exchange API.

mod common;
#[path = "common/vectors.rs"]
mod vectors;

use std::collections::HashMap;

use base64::Engine as _;
use common::*;
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, HttpCall, HttpReply, IoNeed, IoResult, Method, Request};
use serde_json::{json, Value};

const P: &str = "/delta-sharing/shares/s/schemas/d";

fn config(stores: Value) -> Value {
    json!({
        "token_signing_key": "0123456789abcdef0123456789abcdef",
        "credential_ttl_seconds": 1800,
        "stores": stores,
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "delta_table", "name": "t", "store": "main", "path": "tables/t", "auxiliary_paths": ["shared/t-dv"],
             "history_shared": true},
            {"type": "delta_table", "name": "latest", "store": "main", "path": "tables/latest"},
            {"type": "delta_table", "name": "plain", "store": "local", "path": "tables/plain"},
            {"type": "volume", "name": "v", "store": "main", "path": "volumes/v/"},
            {"type": "skill", "name": "k", "store": "main", "path": "skills/k", "description": "A skill"},
            {"type": "model", "name": "m", "store": "main", "versions": [
                {"version": 1, "path": "models/m/1"},
                {"version": 2, "path": "models/m/2", "status": "PENDING_REGISTRATION"}],
             "aliases": {"Champion": 1}}
        ]}]}],
        "recipients": [{"name": "acme", "token_sha256": token_sha256_hex(TOKEN_ACME), "shares": ["s"]}]
    })
}

fn engine_with(main: Value) -> Engine {
    let stores = json!({"main": main, "local": {"kind": "local", "root": "/nonexistent"}});
    Engine::from_json(config(stores).to_string().as_bytes(), &|_| None).expect("valid config")
}

fn static_s3(endpoint: Option<&str>) -> Value {
    json!({"kind": "s3", "bucket": "bkt", "region": "eu-west-1", "endpoint": endpoint, "path_style": endpoint.is_some(),
           "access_key_id": "AKIDSTORE", "secret_access_key": "store-secret",
           "vend": {"static": {"access_key_id": "AKIDREAD", "secret_access_key": "read-secret", "session_token": "tok"}}})
}

fn post(target: &str, body: &str) -> Request {
    Request::new(Method::Post, target).header("Authorization", format!("Bearer {TOKEN_ACME}")).body(body.to_string())
}

fn vend(engine: &Engine, target: &str, body: &str) -> Reply {
    drive(engine, post(target, body), NOW, no_io)
}

#[test]
fn tables_answer_the_wrapped_shape_and_other_assets_the_flat_one() {
    let e = engine_with(static_s3(None));
    let r = vend(&e, &format!("{P}/tables/t/temporary-table-credentials"), "");
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let expected_keys = json!({"accessKeyId": "AKIDREAD", "secretAccessKey": "read-secret", "sessionToken": "tok"});
    assert_eq!(
        r.json(),
        json!({"credentials": {"location": "s3://bkt/tables/t", "awsTempCredentials": expected_keys,
                               "expirationTime": NOW + 1_800_000}})
    );
    for target in [
        format!("{P}/volumes/v/temporary-volume-credentials"),
        format!("{P}/skills/k/temporary-skill-credentials"),
        format!("{P}/models/m/versions/1/temporary-model-version-credentials"),
        format!("{P}/models/m/versions/1/temporary-model-credentials"),
    ] {
        let r = vend(&e, &target, "{}");
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.json(), json!({"awsTempCredentials": expected_keys, "expirationTime": NOW + 1_800_000}));
        assert_eq!(r.audit.recipient.as_deref(), Some("acme"));
    }
}

#[test]
fn r2_endpoints_get_the_r2_shape() {
    let e = engine_with(static_s3(Some("https://acct.r2.cloudflarestorage.com")));
    let r = vend(&e, &format!("{P}/volumes/v/temporary-volume-credentials"), "");
    assert_eq!(r.json()["r2Credentials"]["accessKeyId"], "AKIDREAD");
    assert!(r.json().get("awsTempCredentials").is_none());
}

#[test]
fn the_location_must_be_the_tables_own() {
    let e = engine_with(static_s3(None));
    let target = format!("{P}/tables/t/temporary-table-credentials");
    for ok in
        [r#"{"location":"s3://bkt/tables/t/"}"#, r#"{"location":"s3a://bkt/tables/t"}"#, r#"{"operation":"READ"}"#]
    {
        assert_eq!(vend(&e, &target, ok).status, 200, "{ok}");
    }
    let aux = vend(&e, &target, r#"{"location":"s3://bkt/shared/t-dv/"}"#);
    assert_eq!(aux.json()["credentials"]["location"], "s3://bkt/shared/t-dv");
    let r = vend(&e, &target, r#"{"location":"s3://bkt/tables/other"}"#);
    assert_eq!((r.status, r.error_code().as_str()), (400, "INVALID_PARAMETER_VALUE"));
    assert!(r.message().contains("s3://bkt/tables/other"));
    for bad in ["{", "[1]", r#"{"location":7}"#] {
        let r = vend(&e, &target, bad);
        assert_eq!((r.status, r.error_code().as_str()), (400, "MALFORMED_REQUEST"), "{bad}");
    }
}

#[test]
fn assets_without_vending_and_bad_versions_are_refused_clearly() {
    let e = engine_with(static_s3(None));
    let r = vend(&e, &format!("{P}/tables/plain/temporary-table-credentials"), "");
    assert_eq!((r.status, r.error_code().as_str()), (400, "UNSUPPORTED_OPERATION"));
    assert!(r.message().contains("url access only"));
    // A table whose history is not shared is url-only: its directory holds all of its history.
    let r = vend(&e, &format!("{P}/tables/latest/temporary-table-credentials"), "");
    assert_eq!((r.status, r.error_code().as_str()), (400, "UNSUPPORTED_OPERATION"));
    assert!(r.message().contains("history is not shared"));
    let r = vend(&e, &format!("{P}/models/m/versions/2/temporary-model-version-credentials"), "");
    assert_eq!((r.status, r.error_code().as_str()), (400, "INVALID_PARAMETER_VALUE"));
    assert!(r.message().contains("PENDING_REGISTRATION"));
    let r = vend(&e, &format!("{P}/models/m/versions/9/temporary-model-version-credentials"), "");
    assert_eq!(r.status, 404);
    let r = vend(&e, &format!("{P}/models/m/versions/-1/temporary-model-version-credentials"), "");
    assert_eq!(r.status, 400);
    let r = vend(&e, &format!("{P}/tables/nope/temporary-table-credentials"), "");
    assert_eq!(r.status, 404);
    let unauthenticated =
        drive(&e, Request::new(Method::Post, format!("{P}/tables/t/temporary-table-credentials")), NOW, no_io);
    assert_eq!(unauthenticated.status, 401);
    let wrong_method = get_acme(&e, &format!("{P}/tables/t/temporary-table-credentials"));
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn listings_advertise_dir_only_where_credentials_are_vended() {
    let e = engine_with(static_s3(None));
    let r = get_acme(&e, &format!("{P}/tables"));
    let items = r.json()["items"].as_array().unwrap().clone();
    let by_name: HashMap<&str, &Value> = items.iter().map(|i| (i["name"].as_str().unwrap(), i)).collect();
    assert_eq!(by_name["t"]["accessModes"], json!(["dir", "url"]));
    assert_eq!(by_name["t"]["location"], "s3://bkt/tables/t");
    assert_eq!(by_name["t"]["auxiliaryLocations"], json!(["s3://bkt/shared/t-dv"]));
    // The local store signs URLs but vends nothing.
    assert_eq!(by_name["plain"]["accessModes"], json!(["url"]));
    assert_eq!(by_name["latest"]["accessModes"], json!(["url"]));
    assert!(by_name["latest"].get("location").is_none());
    assert!(by_name["plain"].get("location").is_none(), "no location without dir");
}

#[test]
fn model_versions_are_listed_read_only_when_ready_and_found_by_alias() {
    let e = engine_with(static_s3(None));
    let r = get_acme(&e, &format!("{P}/models/m/versions"));
    assert_eq!(r.status, 200);
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["version"], 1);
    assert_eq!(items[0]["modelName"], "m");
    assert_eq!(items[0]["storageLocation"], "s3://bkt/models/m/1");
    let r = get_acme(&e, &format!("{P}/models/m/aliases/champion"));
    assert_eq!((r.status, r.json()["version"].clone()), (200, json!(1)));
    let r = get_acme(&e, &format!("{P}/models/m/versions/2"));
    assert_eq!(r.json()["status"], "PENDING_REGISTRATION");
    assert_eq!(get_acme(&e, &format!("{P}/models/m/aliases/nope")).status, 404);
    assert_eq!(get_acme(&e, &format!("{P}/models/m/versions/x")).status, 400);
}

fn sts_store() -> Value {
    json!({"kind": "s3", "bucket": "bkt", "region": "eu-west-1",
           "access_key_id": "AKIDSTORE", "secret_access_key": "store-secret",
           "vend": {"sts": {"role_arn": "arn:aws:iam::123456789012:role/reader", "external_id": "ext-1"}}})
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

const STS_OK: &str = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
    <Credentials><AccessKeyId>ASIATEMP</AccessKeyId><SecretAccessKey>temp/secret+1</SecretAccessKey>\
    <SessionToken>FwoG&amp;token</SessionToken><Expiration>2026-01-01T00:30:00.123456Z</Expiration></Credentials>\
    </AssumeRoleResult></AssumeRoleResponse>";

#[test]
fn sts_assume_role_is_a_signed_call_the_host_sends() {
    let e = engine_with(sts_store());
    let mut calls: Vec<HttpCall> = Vec::new();
    let r = drive(&e, post(&format!("{P}/tables/t/temporary-table-credentials"), ""), NOW, |need| {
        let IoNeed::Http(call) = need else { panic!("unexpected {need:?}") };
        calls.push(call.clone());
        IoResult::Http(HttpReply { status: 200, body: STS_OK.as_bytes().to_vec(), headers: Vec::new() })
    });
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["credentials"]["awsTempCredentials"],
        json!({"accessKeyId": "ASIATEMP", "secretAccessKey": "temp/secret+1", "sessionToken": "FwoG&token"})
    );
    assert_eq!(r.json()["credentials"]["expirationTime"], NOW + 1_800_123);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!((call.method, call.url.as_str()), ("POST", "https://sts.eu-west-1.amazonaws.com/"));
    let headers: HashMap<&str, &str> = call.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(headers["Content-Type"], "application/x-www-form-urlencoded; charset=utf-8");
    assert_eq!(headers["X-Amz-Date"], "20260101T000000Z");
    assert!(!headers.contains_key("x-amz-content-sha256"), "STS hashes the body itself");
    let auth = headers["Authorization"];
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSTORE/20260101/eu-west-1/sts/aws4_request, "));
    assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date, Signature="));
    assert!(!auth.contains("store-secret"));
    let fields = form(&call.body);
    assert_eq!(fields["Action"], "AssumeRole");
    assert_eq!(fields["Version"], "2011-06-15");
    assert_eq!(fields["RoleArn"], "arn:aws:iam::123456789012:role/reader");
    assert_eq!(fields["RoleSessionName"], "opensharing-acme");
    assert_eq!(fields["DurationSeconds"], "1800");
    assert_eq!(fields["ExternalId"], "ext-1");
    let policy: Value = serde_json::from_str(&fields["Policy"]).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], json!(["arn:aws:s3:::bkt/tables/t/*"]));
    assert_eq!(policy["Statement"][1]["Condition"]["StringLike"]["s3:prefix"], json!(["tables/t/*"]));

    // Asked again within half the lifetime: served from the cache, without a call.
    let again = drive(&e, post(&format!("{P}/tables/t/temporary-table-credentials"), ""), NOW + 60_000, no_io);
    assert_eq!(again.json()["credentials"]["awsTempCredentials"]["accessKeyId"], "ASIATEMP");
}

#[test]
fn china_regions_use_their_sts_endpoint_and_partition_and_roots_are_never_vended() {
    let mut store = sts_store();
    store["region"] = json!("cn-north-1");
    let e = engine_with(store);
    let mut url = String::new();
    let mut policy = String::new();
    drive(&e, post(&format!("{P}/volumes/v/temporary-volume-credentials"), ""), NOW, |need| {
        let IoNeed::Http(call) = need else { panic!("unexpected {need:?}") };
        url = call.url.clone();
        policy = form(&call.body)["Policy"].clone();
        IoResult::Failed("not sent".into())
    });
    assert_eq!(url, "https://sts.cn-north-1.amazonaws.com.cn/");
    assert!(policy.contains("arn:aws-cn:s3:::bkt/volumes/v/*"), "{policy}");

    let mut root_asset = config(json!({"main": static_s3(None), "local": {"kind": "local", "root": "/x"}}));
    root_asset["shares"][0]["schemas"][0]["assets"][3]["path"] = json!("/");
    let e = Engine::from_json(root_asset.to_string().as_bytes(), &|_| None).unwrap();
    let r = vend(&e, &format!("{P}/volumes/v/temporary-volume-credentials"), "");
    assert_eq!(r.status, 500);
    assert!(r.audit.detail.as_deref().unwrap().contains("whole bucket"));
}

#[test]
fn sts_refusals_and_unreachable_sts_are_bad_gateway_with_detail_for_the_log() {
    let e = engine_with(sts_store());
    let denied = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                  <Message>User arn:aws:iam::1:user/x is not authorized</Message></Error></ErrorResponse>";
    let r = drive(&e, post(&format!("{P}/volumes/v/temporary-volume-credentials"), ""), NOW, |_| {
        IoResult::Http(HttpReply { status: 403, body: denied.as_bytes().to_vec(), headers: Vec::new() })
    });
    assert_eq!((r.status, r.error_code().as_str()), (502, "CATALOG_ERROR"));
    assert_eq!(r.message(), "the storage provider did not issue credentials (STS AccessDenied)");
    assert!(r.audit.detail.as_deref().unwrap().contains("is not authorized"));
    let r = drive(&e, post(&format!("{P}/volumes/v/temporary-volume-credentials"), ""), NOW, |_| {
        IoResult::Failed("connection refused".into())
    });
    assert_eq!(r.status, 502);
    assert!(r.audit.detail.as_deref().unwrap().contains("connection refused"));
    let r = drive(&e, post(&format!("{P}/volumes/v/temporary-volume-credentials"), ""), NOW, |_| {
        IoResult::Http(HttpReply { status: 200, body: b"<html>captive portal</html>".to_vec(), headers: Vec::new() })
    });
    assert_eq!(r.status, 502);
    // Credentials that expired before they arrive are no grant.
    let r = drive(&e, post(&format!("{P}/volumes/v/temporary-volume-credentials"), ""), NOW + 3_600_000, |_| {
        IoResult::Http(HttpReply { status: 200, body: STS_OK.as_bytes().to_vec(), headers: Vec::new() })
    });
    assert_eq!((r.status, r.message().contains("already expired")), (502, true));
}

#[test]
fn azure_sas_covers_the_directory_or_the_container_read_and_list_only() {
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    for (scope, sr) in [("directory", "d"), ("container", "c")] {
        let e = engine_with(json!({"kind": "azure", "account": "acct", "container": "data", "account_key": key,
                                   "vend": {"scope": scope}}));
        let r = vend(&e, &format!("{P}/tables/t/temporary-table-credentials"), "");
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["credentials"]["location"], "abfss://data@acct.dfs.core.windows.net/tables/t");
        let sas = r.json()["credentials"]["azureUserDelegationSas"]["sasToken"].as_str().unwrap().to_string();
        let q: HashMap<String, String> = url::form_urlencoded::parse(sas.as_bytes()).into_owned().collect();
        assert_eq!((q["sr"].as_str(), q["sp"].as_str(), q["spr"].as_str()), (sr, "rl", "https"));
        assert_eq!(q["se"], "2026-01-01T00:30:00Z");
        assert_eq!(q.get("sdd").map(String::as_str), (sr == "d").then_some("2"));
        assert!(!q["sig"].is_empty());
    }
}

#[test]
fn gcs_tokens_are_downscoped_through_two_calls() {
    let key_json =
        std::fs::read_to_string(vectors::vectors_dir().join("gcs/test_service_account.not-a-test.json")).unwrap();
    let e = engine_with(json!({"kind": "gcs", "bucket": "bkt", "service_account_key": key_json,
                               "vend": {"token_endpoint": "https://oauth.example/token"}}));
    let key: Value = serde_json::from_str(&key_json).unwrap();
    let mut calls: Vec<HttpCall> = Vec::new();
    let r = drive(&e, post(&format!("{P}/skills/k/temporary-skill-credentials"), ""), NOW, |need| {
        let IoNeed::Http(call) = need else { panic!("unexpected {need:?}") };
        calls.push(call.clone());
        let body = if calls.len() == 1 {
            json!({"access_token": "source-token", "expires_in": 3599, "token_type": "Bearer"})
        } else {
            json!({"access_token": "downscoped-token", "expires_in": 3000, "token_type": "Bearer"})
        };
        IoResult::Http(HttpReply { status: 200, body: body.to_string().into_bytes(), headers: Vec::new() })
    });
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"gcpOauthToken": {"oauthToken": "downscoped-token"}, "expirationTime": NOW + 3_000_000})
    );
    assert_eq!(calls[0].url, "https://oauth.example/token");
    let assertion = &form(&calls[0].body)["assertion"];
    assert_eq!(form(&calls[0].body)["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let parts: Vec<&str> = assertion.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], key["client_email"]);
    assert_eq!(claims["aud"], "https://oauth.example/token");
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_only");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    // The assertion verifies with the service account's public key.
    let pem = key["private_key"].as_str().unwrap();
    let sa = opensharing::signing::gcs::ServiceAccountKey::from_pkcs8_pem("x@y", pem).unwrap();
    let public =
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, sa.public_key_der());
    public
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &b64.decode(parts[2]).unwrap())
        .expect("RS256 verifies");
    assert_eq!(calls[1].url, "https://sts.googleapis.com/v1/token");
    let exchange = form(&calls[1].body);
    assert_eq!(exchange["grant_type"], "urn:ietf:params:oauth:grant-type:token-exchange");
    assert_eq!(exchange["subject_token"], "source-token");
    assert_eq!(exchange["subject_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let options = percent_encoding::percent_decode_str(&exchange["options"]).decode_utf8().unwrap();
    let options: Value = serde_json::from_str(&options).unwrap();
    let rule = &options["accessBoundary"]["accessBoundaryRules"][0];
    assert_eq!(rule["availableResource"], "//storage.googleapis.com/projects/_/buckets/bkt");
    assert!(rule["availabilityCondition"]["expression"]
        .as_str()
        .unwrap()
        .contains("'projects/_/buckets/bkt/objects/skills/k/'"));
}

#[test]
fn vending_settings_are_validated() {
    let bad = |main: Value| {
        let stores = json!({"main": main, "local": {"kind": "local", "root": "/x"}});
        Engine::from_json(config(stores).to_string().as_bytes(), &|_| None).unwrap_err().to_string()
    };
    assert!(bad(json!({"kind": "azure", "account": "a", "container": "c", "vend": {"scope": "container"}}))
        .contains("stores.main.vend: needs account_key"));
    assert!(bad(json!({"kind": "s3", "bucket": "b", "region": "auto", "access_key_id": "k", "secret_access_key": "s",
                       "vend": {"sts": {"role_arn": "arn:aws:iam::1:role/r"}}}))
    .contains("R2"));
    assert!(bad(json!({"kind": "s3", "bucket": "b", "region": "r", "access_key_id": "k", "secret_access_key": "s",
                       "vend": {"sts": {"role_arn": "reader"}}}))
    .contains("role_arn"));
    assert!(bad(json!({"kind": "gcs", "bucket": "b", "hmac_access_id": "i", "hmac_secret": "s", "vend": {}}))
        .contains("service_account_key"));
    assert!(bad(json!({"kind": "s3", "bucket": "b", "region": "r", "access_key_id": "k", "secret_access_key": "s",
                       "vend": {"sts": {"role_arn": "arn:aws:iam::1:role/r", "endpoint": "https://sts.example/x"}}}))
    .contains("without a path"));
    let mut empty_version_path = config(json!({"main": static_s3(None), "local": {"kind": "local", "root": "/x"}}));
    empty_version_path["shares"][0]["schemas"][0]["assets"][5]["versions"][0]["path"] = json!("/");
    let err = Engine::from_json(empty_version_path.to_string().as_bytes(), &|_| None).unwrap_err().to_string();
    assert!(err.contains("versions[0].path"), "{err}");
    let mut aux_on_volume = config(json!({"main": static_s3(None), "local": {"kind": "local", "root": "/x"}}));
    aux_on_volume["shares"][0]["schemas"][0]["assets"][3]["auxiliary_paths"] = json!(["x"]);
    let err = Engine::from_json(aux_on_volume.to_string().as_bytes(), &|_| None).unwrap_err().to_string();
    assert!(err.contains("assets[3].auxiliary_paths[0]: only tables"), "{err}");
}
