//! Recipient access through the engine: rotated tokens with their own expiry, IP access lists
//! (peer and `X-Forwarded-For` from trusted proxies) and rate limits (429 with `Retry-After`).

mod common;

use common::{drive, get, no_io, NOW};
use opensharing::auth::token_sha256_hex;
use opensharing::Engine;

const SHARES: &str = "/delta-sharing/shares";

fn engine(recipients: serde_json::Value, extra: serde_json::Value) -> Engine {
    let mut config = serde_json::json!({
        "shares": [{"name": "s", "schemas": []}],
        "recipients": recipients,
    });
    config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    Engine::from_json(config.to_string().as_bytes(), &|_| None).expect("valid config")
}

fn call(engine: &Engine, token: &str, peer: &str, forwarded: Option<&str>, now: i64) -> common::Reply {
    let mut request = get(SHARES, Some(token));
    request.peer = Some(peer.to_string());
    if let Some(xff) = forwarded {
        request = request.header("X-Forwarded-For", xff);
    }
    drive(engine, request, now, no_io)
}

#[test]
fn rotated_tokens_each_keep_their_own_expiry() {
    let e = engine(
        serde_json::json!([{"name": "r", "shares": ["s"], "tokens": [
            {"sha256": token_sha256_hex("new-token")},
            {"sha256": token_sha256_hex("old-token"), "expires_at": "2026-01-02T00:00:00Z"}]}]),
        serde_json::json!({}),
    );
    let day = 86_400_000;
    assert_eq!(call(&e, "old-token", "127.0.0.1:1", None, NOW).status, 200);
    let expired = call(&e, "old-token", "127.0.0.1:1", None, NOW + day);
    assert_eq!((expired.status, expired.error_code().as_str()), (401, "UNAUTHENTICATED"));
    let ok = call(&e, "new-token", "127.0.0.1:1", None, NOW + day);
    assert_eq!((ok.status, ok.audit.recipient.as_deref()), (200, Some("r")));
    // A recipient whose tokens were all revoked is valid, and nothing authenticates as it.
    let revoked = engine(serde_json::json!([{"name": "r", "shares": ["s"], "tokens": []}]), serde_json::json!({}));
    assert_eq!(call(&revoked, "new-token", "127.0.0.1:1", None, NOW).status, 401);
}

#[test]
fn ip_access_lists_refuse_other_networks_with_403() {
    let e = engine(
        serde_json::json!([{"name": "r", "shares": ["s"], "token_sha256": token_sha256_hex("t"),
                            "ip_access_list": ["127.0.0.2/32", "2001:db8::/32"]}]),
        serde_json::json!({"trusted_proxies": ["10.0.0.0/8"]}),
    );
    assert_eq!(call(&e, "t", "127.0.0.2:4000", None, NOW).status, 200);
    assert_eq!(call(&e, "t", "[2001:db8::7]:4000", None, NOW).status, 200);
    let refused = call(&e, "t", "127.0.0.1:4000", None, NOW);
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "PERMISSION_DENIED"));
    assert_eq!(refused.audit.recipient.as_deref(), Some("r"));
    let detail = refused.audit.detail.as_deref().unwrap_or_default();
    assert!(detail.contains("127.0.0.1") && detail.contains("ip_access_list"), "{detail}");
    // X-Forwarded-For from an untrusted peer is ignored.
    assert_eq!(call(&e, "t", "127.0.0.1:4000", Some("127.0.0.2"), NOW).status, 403);
    // From a trusted proxy, the right-most untrusted address is the client; entries a client
    // put in front of it are not believed.
    assert_eq!(call(&e, "t", "10.1.2.3:80", Some("127.0.0.2"), NOW).status, 200);
    assert_eq!(call(&e, "t", "10.1.2.3:80", Some("127.0.0.2, 10.9.9.9"), NOW).status, 200);
    assert_eq!(call(&e, "t", "10.1.2.3:80", Some("127.0.0.2, 198.51.100.1"), NOW).status, 403);
    // An unknown client address is refused for a recipient with a list.
    let mut no_peer = get(SHARES, Some("t"));
    no_peer.peer = None;
    assert_eq!(drive(&e, no_peer, NOW, no_io).status, 403);
    assert_eq!(call(&e, "t", "10.1.2.3:80", Some("junk"), NOW).status, 403);
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let e = engine(
        serde_json::json!([
            {"name": "limited", "shares": ["s"], "token_sha256": token_sha256_hex("a"),
             "rate_limit": {"requests_per_second": 0.5, "burst": 2}},
            {"name": "default", "shares": ["s"], "token_sha256": token_sha256_hex("b")}]),
        serde_json::json!({"rate_limit": {"requests_per_second": 100, "burst": 3}}),
    );
    assert_eq!(call(&e, "a", "127.0.0.1:1", None, NOW).status, 200);
    assert_eq!(call(&e, "a", "127.0.0.1:1", None, NOW).status, 200);
    let limited = call(&e, "a", "127.0.0.1:1", None, NOW + 100);
    assert_eq!((limited.status, limited.error_code().as_str()), (429, "RESOURCE_EXHAUSTED"));
    assert_eq!(limited.header("Retry-After"), Some("2"), "1.9 s rounded up");
    assert!(limited.audit.detail.as_deref().unwrap_or_default().contains("rate limit"));
    assert_eq!(call(&e, "a", "127.0.0.1:1", None, NOW + 2000).status, 200);
    // The other recipient has its own bucket, from the top-level default.
    for _ in 0..3 {
        assert_eq!(call(&e, "b", "127.0.0.1:1", None, NOW).status, 200);
    }
    assert_eq!(call(&e, "b", "127.0.0.1:1", None, NOW).status, 429);
    assert_eq!(call(&e, "b", "127.0.0.1:1", None, NOW + 10).status, 200);
    // Requests that fail authentication take nothing from any bucket.
    assert_eq!(call(&e, "nope", "127.0.0.1:1", None, NOW + 10).status, 401);
}

#[test]
fn bad_access_settings_are_refused_naming_the_field() {
    let bad = |recipient: serde_json::Value, extra: serde_json::Value| {
        let mut config = serde_json::json!({"shares": [], "recipients": [recipient]});
        config.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Engine::from_json(config.to_string().as_bytes(), &|_| None).unwrap_err().to_string()
    };
    let hash = token_sha256_hex("t");
    let e = bad(
        serde_json::json!({"name": "r", "token_sha256": hash, "ip_access_list": ["10.0.0.0/33"]}),
        serde_json::json!({}),
    );
    assert!(e.contains("recipients[0].ip_access_list[0]"), "{e}");
    let e =
        bad(serde_json::json!({"name": "r", "token_sha256": hash}), serde_json::json!({"trusted_proxies": ["proxy"]}));
    assert!(e.contains("trusted_proxies[0]"), "{e}");
    let e = bad(
        serde_json::json!({"name": "r", "token_sha256": hash, "rate_limit": {"requests_per_second": 0}}),
        serde_json::json!({}),
    );
    assert!(e.contains("recipients[0].rate_limit.requests_per_second"), "{e}");
    let e = bad(serde_json::json!({"name": "r", "tokens": [{"sha256": "abc"}]}), serde_json::json!({}));
    assert!(e.contains("recipients[0].tokens[0].sha256"), "{e}");
    let e = bad(
        serde_json::json!({"name": "r", "tokens": [{"sha256": hash, "expires_at": "soon"}]}),
        serde_json::json!({}),
    );
    assert!(e.contains("recipients[0].tokens[0].expires_at"), "{e}");
    let e = bad(serde_json::json!({"name": "r"}), serde_json::json!({}));
    assert!(e.contains("needs token_sha256, tokens"), "{e}");
    let e = bad(
        serde_json::json!({"name": "r", "token_sha256": hash, "tokens": [{"sha256": hash}]}),
        serde_json::json!({}),
    );
    assert!(e.contains("same token hash"), "{e}");
}
