//! Discovery endpoints, pagination and errors, driven through the public exchange API.

mod common;

use common::*;
use opensharing::{Method, Request};

const P: &str = "/delta-sharing";

fn names(items: &serde_json::Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn lists_only_granted_shares_in_config_order() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    assert!(!r.body.contains(&b'\n'), "list bodies are one line");
    assert_eq!(names(&r.json()["items"]), ["sales", "ops"]);
    assert!(r.json().get("nextPageToken").is_none());
    assert_eq!(r.json()["items"][0]["comment"], "Sales data");
    assert_eq!(r.json()["items"][0]["properties"]["owner"], "finance");
    let beta = drive(&e, get(&format!("{P}/shares"), Some(TOKEN_BETA)), NOW, no_io);
    assert_eq!(names(&beta.json()["items"]), ["ops"]);
}

#[test]
fn gets_a_share_wrapped() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares/SALES"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["share"]["name"], "sales");
    assert!(r.json()["share"]["id"].as_str().unwrap().len() == 36);
}

#[test]
fn ungranted_share_is_indistinguishable_from_a_missing_one() {
    let e = engine();
    for share in ["secret", "nope"] {
        let r = get_acme(&e, &format!("{P}/shares/{share}"));
        assert_eq!(r.status, 404);
        assert_eq!(r.error_code(), "RESOURCE_DOES_NOT_EXIST");
        assert_eq!(r.message(), format!("share '{share}' not found"));
        let r = get_acme(&e, &format!("{P}/shares/{share}/schemas"));
        assert_eq!((r.status, r.message()), (404, format!("share '{share}' not found")));
    }
    // beta holds a token for `ops` only: `sales` does not exist for it.
    let r = drive(&e, get(&format!("{P}/shares/sales/all-tables"), Some(TOKEN_BETA)), NOW, no_io);
    assert_eq!((r.status, r.message()), (404, "share 'sales' not found".to_string()));
}

#[test]
fn lists_schemas_and_tables_case_insensitively() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares/Sales/schemas"));
    assert_eq!(names(&r.json()["items"]), ["default", "archive"]);
    assert_eq!(r.json()["items"][0]["share"], "sales");
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/DEFAULT/tables"));
    assert_eq!(names(&r.json()["items"]), ["orders", "customers"]);
    let t = &r.json()["items"][0];
    assert_eq!((t["schema"].as_str(), t["share"].as_str()), (Some("default"), Some("sales")));
    assert_eq!(t["governance"]["license"], "CC-BY-4.0");
    assert!(t["id"].is_string() && t["shareId"].is_string());
    let r = get_acme(&e, &format!("{P}/shares/sales/all-tables"));
    assert_eq!(names(&r.json()["items"]), ["orders", "customers", "orders_2020"]);
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/nope/tables"));
    assert_eq!((r.status, r.message()), (404, "schema 'nope' not found".to_string()));
}

#[test]
fn lists_and_gets_volumes_models_and_skills() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares/sales/all-volumes"));
    assert_eq!(names(&r.json()["items"]), ["raw"]);
    assert_eq!(r.json()["items"][0]["storageLocation"], "local://disk/raw");
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/models/CHURN"));
    assert_eq!((r.status, r.json()["name"].as_str()), (200, Some("churn")));
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/skills"));
    let skill = &r.json()["items"][0];
    assert_eq!(skill["description"], "Writes sales reports");
    assert_eq!(skill["license"], "Apache-2.0");
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/skills/orders"));
    assert_eq!(r.status, 404, "a table is not a skill");
}

#[test]
fn gets_a_table_with_its_format() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/tables/Orders"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["format"], "delta");
    assert_eq!(r.json()["name"], "orders");
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/tables/missing"));
    assert_eq!(r.status, 404);
    assert!(r.message().contains("'sales/default/missing' does not exist"));
}

#[test]
fn pages_through_every_list_with_signed_tokens() {
    let e = engine();
    for list in ["shares", "shares/sales/schemas", "shares/sales/all-tables", "shares/sales/schemas/default/tables"] {
        let full = names(&get_acme(&e, &format!("{P}/{list}")).json()["items"]);
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let target = match &token {
                Some(t) => format!("{P}/{list}?maxResults=1&pageToken={t}"),
                None => format!("{P}/{list}?maxResults=1"),
            };
            let r = get_acme(&e, &target);
            assert_eq!(r.status, 200, "{target}: {:?}", r.json());
            seen.extend(names(&r.json()["items"]));
            match r.json()["nextPageToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, full, "paging {list}");
    }
}

#[test]
fn max_results_zero_returns_no_items_and_a_token() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares?maxResults=0"));
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    assert!(r.json()["nextPageToken"].is_string());
}

#[test]
fn refuses_bad_max_results() {
    let e = engine();
    for (value, needle) in
        [("-1", "0 to 1000"), ("1001", "0 to 1000"), ("abc", "expected a number"), ("1.5", "expected a number")]
    {
        let r = get_acme(&e, &format!("{P}/shares?maxResults={value}"));
        assert_eq!((r.status, r.error_code()), (400, "INVALID_PARAMETER_VALUE".to_string()), "{value}");
        assert!(r.message().contains(needle), "{value}: {}", r.message());
    }
    assert_eq!(get_acme(&e, &format!("{P}/shares?maxResults=1000")).status, 200);
}

fn first_token(e: &opensharing::Engine, list: &str, token: &str) -> String {
    let r = drive(e, get(&format!("{P}/{list}?maxResults=1"), Some(token)), NOW, no_io);
    r.json()["nextPageToken"].as_str().unwrap().to_string()
}

#[test]
fn refuses_tampered_foreign_and_expired_page_tokens() {
    let e = engine();
    let token = first_token(&e, "shares/sales/all-tables", TOKEN_ACME);
    let invalid = |target: String, auth: &str, now: i64| {
        let r = drive(&e, get(&target, Some(auth)), now, no_io);
        assert_eq!((r.status, r.error_code()), (400, "INVALID_PARAMETER_VALUE".to_string()), "{target}");
        r.message()
    };
    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), ":", "a1b"] {
        assert_eq!(
            invalid(format!("{P}/shares/sales/all-tables?pageToken={bad}"), TOKEN_ACME, NOW),
            "invalid 'nextPageToken'"
        );
    }
    // Replayed on another list API, another share's list, or by another recipient.
    assert_eq!(invalid(format!("{P}/shares?pageToken={token}"), TOKEN_ACME, NOW), "invalid 'nextPageToken'");
    assert_eq!(
        invalid(format!("{P}/shares/sales/schemas?pageToken={token}"), TOKEN_ACME, NOW),
        "invalid 'nextPageToken'"
    );
    let ops = first_token(&e, "shares", TOKEN_ACME);
    assert_eq!(invalid(format!("{P}/shares?pageToken={ops}"), TOKEN_BETA, NOW), "invalid 'nextPageToken'");
    // Signed by an engine with another key.
    let other = opensharing::Engine::from_json(
        config_json("/x").replace("0123456789abcdef0123456789abcdef", "another-key-another-key-another-k").as_bytes(),
        &|_| None,
    )
    .unwrap();
    let foreign = first_token(&other, "shares/sales/all-tables", TOKEN_ACME);
    assert_eq!(
        invalid(format!("{P}/shares/sales/all-tables?pageToken={foreign}"), TOKEN_ACME, NOW),
        "invalid 'nextPageToken'"
    );
    // Expired: the default lifetime is one day.
    let late = NOW + 86_400_000;
    assert!(invalid(format!("{P}/shares/sales/all-tables?pageToken={token}"), TOKEN_ACME, late).contains("expired"));
}

#[test]
fn page_tokens_survive_a_restart_with_the_same_key() {
    let token = first_token(&engine(), "shares", TOKEN_ACME);
    let r = get_acme(&engine(), &format!("{P}/shares?maxResults=1&pageToken={token}"));
    assert_eq!(names(&r.json()["items"]), ["ops"]);
}

#[test]
fn unknown_routes_and_wrong_methods() {
    let e = engine();
    for target in
        ["/elsewhere/shares", "/delta-sharing", "/delta-sharing/things", "/delta-sharing/shares/sales/all-widgets"]
    {
        let r = get_acme(&e, target);
        assert_eq!((r.status, r.error_code()), (404, "RESOURCE_DOES_NOT_EXIST".to_string()), "{target}");
    }
    let r = drive(
        &e,
        Request::new(Method::Post, format!("{P}/shares")).header("Authorization", format!("Bearer {TOKEN_ACME}")),
        NOW,
        no_io,
    );
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    let r = get_acme(&e, &format!("{P}/shares/%ff"));
    assert_eq!(r.status, 400);
}

#[test]
fn head_requests_get_no_body() {
    let e = engine();
    let req = Request::new(Method::Head, format!("{P}/shares/nope/schemas"))
        .header("Authorization", format!("Bearer {TOKEN_ACME}"));
    let r = drive(&e, req, NOW, no_io);
    assert_eq!(r.status, 405);
    assert!(r.body.is_empty());
}

#[test]
fn authentication_matrix() {
    let e = engine();
    let target = format!("{P}/shares");
    let cases: [(Request, &str); 5] = [
        (get(&target, None), "Missing"),
        (get(&target, Some("wrong-token")), "not valid"),
        (get(&target, Some(TOKEN_OLD)), "expired"),
        (Request::new(Method::Get, &target).header("Authorization", format!("Basic {TOKEN_ACME}")), "Missing"),
        (Request::new(Method::Get, &target).header("Authorization", TOKEN_ACME), "Missing"),
    ];
    for (req, needle) in cases {
        let r = drive(&e, req, NOW, no_io);
        assert_eq!((r.status, r.error_code()), (401, "UNAUTHENTICATED".to_string()));
        // RFC 6750 §3.1: a request without a token gets no error code.
        let challenge = if needle == "Missing" { "Bearer" } else { "Bearer error=\"invalid_token\"" };
        assert_eq!(r.header("www-authenticate"), Some(challenge));
        assert!(r.message().contains(needle), "{}", r.message());
        assert_eq!(r.audit.recipient, None);
    }
    // The expired token worked before its expiry.
    let before = drive(&e, get(&target, Some(TOKEN_OLD)), 1_700_000_000_000, no_io);
    assert_eq!(before.status, 200);
}

#[test]
fn hot_reload_revokes_and_in_flight_exchanges_finish_on_their_snapshot() {
    let e = engine();
    let in_flight = e.handle(get(&format!("{P}/shares/sales/all-tables"), Some(TOKEN_ACME)), NOW);
    let revoked = config_json("/nonexistent").replace(r#""shares":["sales","ops"]"#, r#""shares":["ops"]"#);
    e.reload(opensharing::Catalog::from_json(revoked.as_bytes(), &|_| None).unwrap()).unwrap();
    let mut ex = in_flight;
    let status = match ex.poll() {
        opensharing::Step::Head(h) => h.status,
        other => panic!("expected head, got {other:?}"),
    };
    assert_eq!(status, 200, "the exchange started before the reload keeps its snapshot");
    let r = get_acme(&e, &format!("{P}/shares/sales/all-tables"));
    assert_eq!(r.status, 404, "the grant is gone after the reload");
    let without =
        config_json("/nonexistent").replace(&opensharing::auth::token_sha256_hex(TOKEN_BETA), &"0".repeat(64));
    e.reload(opensharing::Catalog::from_json(without.as_bytes(), &|_| None).unwrap()).unwrap();
    let r = drive(&e, get(&format!("{P}/shares"), Some(TOKEN_BETA)), NOW, no_io);
    assert_eq!(r.status, 401, "a removed recipient is revoked at once");
}

#[test]
fn audit_events_name_the_recipient_never_the_token() {
    let e = engine();
    let r = get_acme(&e, &format!("{P}/shares/sales/schemas/default/tables/orders"));
    let a = &r.audit;
    assert_eq!(a.recipient.as_deref(), Some("acme"));
    assert_eq!((a.route, a.status, a.started_at_ms), ("get_table", 200, NOW));
    assert_eq!(
        (a.share.as_deref(), a.schema.as_deref(), a.asset.as_deref()),
        (Some("sales"), Some("default"), Some("orders"))
    );
    assert_eq!(a.body_bytes, r.body.len() as u64);
    assert!(!a.to_json().contains(TOKEN_ACME));
    let r = drive(&e, get(&format!("{P}/shares"), Some("wrong")), NOW, no_io);
    assert_eq!((r.audit.status, r.audit.error_code), (401, Some("UNAUTHENTICATED")));
    assert!(!r.audit.to_json().contains("wrong"));
}

#[test]
fn produces_a_profile() {
    let e = engine();
    let profile: serde_json::Value = serde_json::from_str(&e.profile(None, "tok", Some(NOW)).unwrap()).unwrap();
    assert_eq!(profile["shareCredentialsVersion"], 1);
    assert_eq!(profile["endpoint"], "http://127.0.0.1:8080/delta-sharing");
    assert_eq!(profile["bearerToken"], "tok");
    assert_eq!(profile["expirationTime"], "2026-01-01T00:00:00Z");
}
