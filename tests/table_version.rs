//! `GET …/version` drives the exchange loop through a real IO need answered from disk.

mod common;

use common::*;
use opensharing::{IoNeed, IoResult};

fn table_dir(name: &str, versions: &[u64]) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    let log = root.join("orders/_delta_log");
    std::fs::create_dir_all(&log).unwrap();
    for v in versions {
        std::fs::write(log.join(format!("{v:020}.json")), b"{}\n").unwrap();
    }
    std::fs::write(log.join(format!("{:020}.checkpoint.parquet", versions[0])), b"PAR1").unwrap();
    root
}

#[test]
fn answers_the_latest_version_from_the_log_listing() {
    let root = table_dir("version-latest", &[0, 1, 2, 10]);
    let e = engine();
    let mut needs = Vec::new();
    let mut io = disk_io(&root);
    let r = drive(
        &e,
        get("/delta-sharing/shares/sales/schemas/default/tables/orders/version", Some(TOKEN_ACME)),
        NOW,
        |n| {
            needs.push(n.clone());
            io(n)
        },
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Delta-Table-Version"), Some("10"));
    assert!(r.body.is_empty());
    assert_eq!(needs, [IoNeed::List { store: "disk".into(), prefix: "orders/_delta_log/".into(), start_after: None }]);
    assert_eq!(r.audit.io_requests, 1);
}

#[test]
fn legacy_head_form_answers_the_same_header() {
    let root = table_dir("version-head", &[0, 3]);
    let e = engine();
    let req = opensharing::Request::new(
        opensharing::Method::Head,
        "/delta-sharing/shares/sales/schemas/default/tables/orders",
    )
    .header("authorization", format!("Bearer {TOKEN_ACME}"));
    let r = drive(&e, req, NOW, disk_io(&root));
    assert_eq!((r.status, r.header("delta-table-version")), (200, Some("3")));
}

#[test]
fn storage_failures_become_protocol_errors() {
    let e = engine();
    let target = "/delta-sharing/shares/sales/schemas/default/tables/orders/version";
    let r =
        drive(&e, get(target, Some(TOKEN_ACME)), NOW, |_| IoResult::Failed("connection refused to 10.0.0.1".into()));
    assert_eq!((r.status, r.error_code()), (502, "CATALOG_ERROR".to_string()));
    assert!(!r.message().contains("10.0.0.1"), "host IO detail stays out of the response");
    let r = drive(&e, get(target, Some(TOKEN_ACME)), NOW, |_| IoResult::Listing(Vec::new()));
    assert_eq!(r.status, 404);
    let r = drive(&e, get(target, Some(TOKEN_ACME)), NOW, |_| IoResult::Bytes(b"junk".to_vec()));
    assert_eq!(r.status, 502);
}

#[test]
fn supplying_when_not_asked_is_refused() {
    let e = engine();
    let mut ex = e.handle(get("/delta-sharing/shares", Some(TOKEN_ACME)), NOW);
    assert!(ex.supply(IoResult::NotFound).is_err());
}
