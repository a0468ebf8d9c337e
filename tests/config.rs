//! Configuration validation: every rule names the offending field.

mod common;

use opensharing::Catalog;
use serde_json::{json, Value};

fn base() -> Value {
    serde_json::from_str(&common::config_json("/data")).unwrap()
}

fn error_of(config: &Value) -> String {
    Catalog::from_json(config.to_string().as_bytes(), &|_| None).unwrap_err().to_string()
}

#[test]
fn the_fixture_is_valid() {
    let c = Catalog::from_json(base().to_string().as_bytes(), &|_| None).unwrap();
    assert_eq!(c.prefix, "/delta-sharing");
    assert_eq!(c.shares.len(), 3);
}

#[test]
fn refuses_duplicate_names_case_insensitively() {
    let mut c = base();
    c["shares"][1]["name"] = json!("SALES");
    assert_eq!(error_of(&c), "shares[1].name: duplicate share name 'SALES' (names are case-insensitive)");
    let mut c = base();
    c["shares"][0]["schemas"][1]["name"] = json!("Default");
    assert!(error_of(&c).starts_with("shares[0].schemas[1].name: duplicate schema name"));
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"][1]["name"] = json!("ORDERS");
    assert!(error_of(&c).starts_with("shares[0].schemas[0].assets[1].name: duplicate asset name"));
    let mut c = base();
    c["recipients"][1]["name"] = json!("Acme");
    assert!(error_of(&c).starts_with("recipients[1].name: duplicate recipient name"));
}

#[test]
fn refuses_unknown_stores_and_shares() {
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"][0]["store"] = json!("lake");
    assert_eq!(error_of(&c), "shares[0].schemas[0].assets[0].store: unknown store 'lake'");
    let mut c = base();
    c["recipients"][0]["shares"] = json!(["sales", "nope"]);
    assert_eq!(error_of(&c), "recipients[0].shares[1]: unknown share 'nope'");
}

#[test]
fn refuses_bad_name_characters() {
    for (path, name) in
        [("/shares/0/name", "a b"), ("/shares/0/schemas/0/name", "a.b"), ("/shares/0/schemas/0/assets/0/name", "x/y")]
    {
        let mut c = base();
        *c.pointer_mut(path).unwrap() = json!(name);
        let e = error_of(&c);
        assert!(e.contains(&format!("'{name}'")), "{e}");
    }
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"][4]["name"] = json!("Report_Writer");
    assert!(error_of(&c).contains("skill name"));
}

#[test]
fn refuses_malformed_hashes_and_timestamps() {
    for bad in ["abc", &"g".repeat(64), &"+f".repeat(32)] {
        let mut c = base();
        c["recipients"][0]["token_sha256"] = json!(bad);
        assert_eq!(error_of(&c), "recipients[0].token_sha256: must be 64 hex digits (the SHA-256 of the token)");
    }
    let mut c = base();
    c["recipients"][0]["token_sha256"] = c["recipients"][1]["token_sha256"].clone();
    assert!(error_of(&c).contains("same token hash"));
    let mut c = base();
    c["recipients"][0]["expires_at"] = json!("next week");
    assert!(error_of(&c).starts_with("recipients[0].expires_at"));
}

#[test]
fn refuses_unknown_fields_and_bad_json() {
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"][0]["histroy_shared"] = json!(true);
    let e = error_of(&c);
    assert!(e.contains("unknown field `histroy_shared`"), "{e}");
    let e = Catalog::from_json(b"{\"shares\": [", &|_| None).unwrap_err().to_string();
    assert!(e.starts_with("config: invalid JSON"), "{e}");
    // serde reads a struct from an array too: `[]` must not become an empty catalog.
    for not_an_object in [&b"[]"[..], b" [\"x\"]", b"null", b"\"{}\"", b""] {
        let e = Catalog::from_json(not_an_object, &|_| None).unwrap_err().to_string();
        assert_eq!(e, "config: must be a JSON object");
    }
}

#[test]
fn checks_ranges_and_required_fields() {
    let mut c = base();
    c["url_ttl_seconds"] = json!(604801);
    assert_eq!(error_of(&c), "url_ttl_seconds: must be 1 to 604800");
    let mut c = base();
    c["token_signing_key"] = json!("short");
    assert_eq!(error_of(&c), "token_signing_key: must be at least 32 bytes");
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"][0].as_object_mut().unwrap().remove("path");
    assert_eq!(error_of(&c), "shares[0].schemas[0].assets[0].path: is required");
    let mut c = base();
    c["stores"]["lake"] = json!({"kind": "s3", "bucket": "b", "region": "us-east-1", "endpoint": "ftp://x",
        "access_key_id": "a", "secret_access_key": "s"});
    assert_eq!(error_of(&c), "stores.lake.endpoint: must be http(s)://host[:port]");
}

#[test]
fn resolves_secrets_from_the_environment_without_echoing_them() {
    let mut c = base();
    c["stores"]["lake"] = json!({"kind": "s3", "bucket": "b", "region": "us-east-1",
        "access_key_id": {"env": "TEST_KEY_ID"}, "secret_access_key": {"env": "TEST_SECRET"}});
    let env = |k: &str| match k {
        "TEST_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
        "TEST_SECRET" => Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string()),
        _ => None,
    };
    c["token_signing_key"] = json!("token-signing-key-that-must-stay-hidden");
    let catalog = Catalog::from_json(c.to_string().as_bytes(), &env).unwrap();
    let debug = format!("{catalog:?}");
    assert!(!debug.contains("wJalrXUtnFEMI"), "Debug output must redact secrets");
    assert!(!debug.contains("must-stay-hidden"), "Debug output must redact the token signing key");
    let engine = opensharing::Engine::new(catalog).unwrap();
    assert!(!format!("{engine:?}").contains("must-stay-hidden"));
    let e = Catalog::from_json(c.to_string().as_bytes(), &|_| None).unwrap_err().to_string();
    assert_eq!(e, "stores.lake.access_key_id: environment variable TEST_KEY_ID is not set");
}

#[test]
fn asset_ids_are_unique_across_the_catalog() {
    let mut c = base();
    c["shares"][0]["schemas"][0]["assets"] = json!([
        {"type": "delta_table", "name": "a", "store": "disk", "path": "a", "id": "same"},
        {"type": "delta_table", "name": "b", "store": "disk", "path": "b", "id": "same"}]);
    assert_eq!(
        error_of(&c),
        "shares[0].schemas[0].assets[1].id: duplicate asset id 'same' (also used by shares[0].schemas[0].assets[0])"
    );
}

#[test]
fn prefix_follows_the_endpoint_path() {
    let mut c = base();
    c["endpoint"] = json!("https://share.example.com/api/2.1/opensharing/");
    assert_eq!(Catalog::from_json(c.to_string().as_bytes(), &|_| None).unwrap().prefix, "/api/2.1/opensharing");
    c["prefix"] = json!("/custom/");
    assert_eq!(Catalog::from_json(c.to_string().as_bytes(), &|_| None).unwrap().prefix, "/custom");
}
