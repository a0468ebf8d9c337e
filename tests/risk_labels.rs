//! Risk labels: an asset carrying a label a recipient denies is invisible to that recipient,
//! in listings and on every route, exactly like a missing asset; other recipients see it with
//! its labels. Licences are checked as SPDX expressions.

mod common;

use common::*;
use opensharing::auth::token_sha256_hex;
use opensharing::{Engine, Method, Request};

const CAREFUL: &str = "careful-token-0123456789";
const S: &str = "/delta-sharing/shares/sales";
const D: &str = "/delta-sharing/shares/sales/schemas/default";

fn config(root: &str) -> serde_json::Value {
    let mut c: serde_json::Value = serde_json::from_str(&config_json(root)).unwrap();
    let assets = c["shares"][0]["schemas"][0]["assets"].as_array_mut().unwrap();
    assets[0]["governance"]["risk_labels"] = serde_json::json!(["pii", "eu-ai-act:high"]);
    assets[2]["governance"] = serde_json::json!({"risk_labels": ["PII"]});
    assets[4]["governance"]["risk_labels"] = serde_json::json!(["synthetic"]);
    c["recipients"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "careful", "token_sha256": token_sha256_hex(CAREFUL), "shares": ["sales"],
        "deny_risk_labels": ["pii"]
    }));
    c
}

fn engine_at(root: &std::path::Path) -> Engine {
    Engine::from_json(config(root.to_str().unwrap()).to_string().as_bytes(), &|_| None).unwrap()
}

fn call(e: &Engine, method: Method, target: &str, token: &str, root: &std::path::Path) -> Reply {
    let request = Request::new(method, target).header("Authorization", format!("Bearer {token}"));
    let request = if method == Method::Post { request.body("{}") } else { request };
    drive(e, request, NOW, disk_io(root))
}

fn names(r: &Reply) -> Vec<String> {
    r.json()["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn denied_labels_hide_assets_from_one_recipient_only() {
    let root = std::env::temp_dir().join(format!("opensharing-risk-{}", std::process::id()));
    std::fs::create_dir_all(root.join("raw")).unwrap();
    std::fs::write(root.join("raw/x.txt"), b"x").unwrap();
    let e = engine_at(&root);
    let get = |target: &str, token: &str| call(&e, Method::Get, target, token, &root);

    // Listings: absent for `careful`, present with their labels for `acme`.
    for (target, hidden) in [
        (format!("{D}/tables"), "orders"),
        (format!("{S}/all-tables"), "orders"),
        (format!("{D}/volumes"), "raw"),
        (format!("{S}/all-volumes"), "raw"),
    ] {
        let (acme, careful) = (get(&target, TOKEN_ACME), get(&target, CAREFUL));
        assert!(names(&acme).contains(&hidden.to_string()), "{target}");
        assert!(!names(&careful).contains(&hidden.to_string()), "{target}");
        assert_eq!(names(&acme).len(), names(&careful).len() + 1, "{target}");
    }
    let tables = get(&format!("{D}/tables"), TOKEN_ACME).json();
    assert_eq!(tables["items"][0]["governance"]["risk_labels"], serde_json::json!(["pii", "eu-ai-act:high"]));
    // Paging over what the recipient sees: one item per page, every page full.
    let first = get(&format!("{S}/all-tables?maxResults=1"), CAREFUL).json();
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let next = first["nextPageToken"].as_str().unwrap();
    let second = get(&format!("{S}/all-tables?maxResults=1&pageToken={next}"), CAREFUL);
    assert_eq!(second.json()["items"].as_array().unwrap().len(), 1);
    assert_ne!(names(&second), ["orders"]);

    // Every route: the same 404 as for an asset that does not exist.
    let routes = [
        (Method::Get, format!("{D}/tables/orders"), format!("{D}/tables/nope")),
        (Method::Get, format!("{D}/tables/orders/version"), format!("{D}/tables/nope/version")),
        (Method::Get, format!("{D}/tables/orders/metadata"), format!("{D}/tables/nope/metadata")),
        (Method::Post, format!("{D}/tables/orders/query"), format!("{D}/tables/nope/query")),
        (
            Method::Get,
            format!("{D}/tables/orders/changes?startingVersion=0"),
            format!("{D}/tables/nope/changes?startingVersion=0"),
        ),
        (
            Method::Post,
            format!("{D}/tables/orders/temporary-table-credentials"),
            format!("{D}/tables/nope/temporary-table-credentials"),
        ),
        (Method::Get, format!("{D}/volumes/raw"), format!("{D}/volumes/nope")),
        (Method::Get, format!("{D}/volumes/raw/files"), format!("{D}/volumes/nope/files")),
        (Method::Get, format!("{D}/volumes/raw/files/x.txt"), format!("{D}/volumes/nope/files/x.txt")),
        (Method::Head, format!("{D}/volumes/raw/files/x.txt"), format!("{D}/volumes/nope/files/x.txt")),
        (
            Method::Post,
            format!("{D}/volumes/raw/temporary-volume-credentials"),
            format!("{D}/volumes/nope/temporary-volume-credentials"),
        ),
    ];
    for (method, target, missing) in routes {
        let hidden = drive(&e, request_as(method, &target, CAREFUL), NOW, no_io);
        let absent = drive(&e, request_as(method, &missing, CAREFUL), NOW, no_io);
        assert_eq!(hidden.status, 404, "{target}");
        if method != Method::Head {
            let expected = absent.message().replace("nope", if target.contains("tables") { "orders" } else { "raw" });
            assert_eq!(hidden.message(), expected, "{target}");
        }
        // `acme` reaches the asset (tables here have no Delta log: their reads fail further on).
        let seen = call(&e, method, &target, TOKEN_ACME, &root);
        let reached = seen.status != 404 || !seen.message().contains("does not exist");
        assert!(reached, "{target}: {}", String::from_utf8_lossy(&seen.body));
    }
    // The volume and its files stay readable for `acme`; `careful` still sees unlabelled assets
    // and the skill labelled only `synthetic`.
    assert_eq!(get(&format!("{D}/volumes/raw/files"), TOKEN_ACME).json()["items"][0]["path"], "x.txt");
    let skill = get(&format!("{D}/skills/report-writer"), CAREFUL);
    assert_eq!(skill.status, 200);
    assert_eq!(skill.json()["governance"]["risk_labels"], serde_json::json!(["synthetic"]));
    assert_eq!(get(&format!("{D}/tables/customers"), CAREFUL).status, 200);
    std::fs::remove_dir_all(&root).unwrap();
}

fn request_as(method: Method, target: &str, token: &str) -> Request {
    let r = Request::new(method, target).header("Authorization", format!("Bearer {token}"));
    if method == Method::Post {
        r.body("{}")
    } else {
        r
    }
}

#[test]
fn licences_and_labels_are_checked() {
    let reject = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut c = config("/nonexistent");
        edit(&mut c);
        Engine::from_json(c.to_string().as_bytes(), &|_| None).unwrap_err().to_string()
    };
    let err = reject(&|c| c["shares"][0]["schemas"][0]["assets"][0]["governance"]["license"] = "Proprietary".into());
    assert!(err.contains("shares[0].schemas[0].assets[0].governance.license"), "{err}");
    assert!(err.contains("LicenseRef-"), "{err}");
    let err = reject(&|c| {
        c["shares"][0]["schemas"][0]["assets"][0]["governance"]["risk_labels"] = serde_json::json!(["has space"])
    });
    assert!(err.contains("governance.risk_labels[0]"), "{err}");
    let err = reject(&|c| c["recipients"][3]["deny_risk_labels"] = serde_json::json!([""]));
    assert!(err.contains("recipients[3].deny_risk_labels[0]"), "{err}");
    let mut ok = config("/nonexistent");
    ok["shares"][0]["schemas"][0]["assets"][0]["governance"]["license"] = "MIT OR LicenseRef-Acme-1".into();
    assert!(Engine::from_json(ok.to_string().as_bytes(), &|_| None).is_ok());
}
