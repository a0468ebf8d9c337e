//! The files surface of volumes, skills and model versions: paged listings with signed URLs,
//! the redirect to one file, and the refusals, driven through the public exchange API with a
//! directory on disk as the local store.

mod common;

use common::*;
use opensharing::{Engine, Method, Request};

const ASSET: &str = "/delta-sharing/shares/sales/schemas/default";

/// A local store with a volume, a skill and a model version, each a small tree of files.
struct Store {
    root: std::path::PathBuf,
    engine: Engine,
}

impl Store {
    fn new(name: &str) -> Store {
        let root = std::env::temp_dir().join(format!("opensharing-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let files = [
            ("raw/a.csv", "1,2\n"),
            ("raw/b/c.json", "{}"),
            ("raw/b/d/e.txt", "deep"),
            ("raw/b.txt", "b"),
            ("raw/z z.bin", "zz"),
            ("skills/report-writer/SKILL.md", "# Report writer\n"),
            ("skills/report-writer/scripts/run.py", "print('hi')\n"),
            ("models/churn/1/model.bin", "weights"),
            ("models/churn/1/MLmodel", "flavors: {}\n"),
        ];
        for (path, body) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let engine = Engine::from_json(config_json(root.to_str().unwrap()).as_bytes(), &|_| None).unwrap();
        Store { root, engine }
    }

    fn call(&self, method: Method, target: &str, token: &str) -> Reply {
        let request = Request::new(method, target).header("Authorization", format!("Bearer {token}"));
        drive(&self.engine, request, NOW, disk_io(&self.root))
    }

    fn get(&self, target: &str) -> Reply {
        self.call(Method::Get, target, TOKEN_ACME)
    }

    /// Every page of a listing with `maxResults=2`: the items and how many pages it took.
    fn list_all(&self, asset: &str, query: &str) -> (Vec<serde_json::Value>, usize) {
        let (mut items, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            let mut target = format!("{asset}/files?maxResults=2{query}");
            if let Some(t) = &token {
                target.push_str(&format!("&pageToken={t}"));
            }
            let r = self.get(&target);
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let body = r.json();
            let page = body["items"].as_array().unwrap();
            assert!(page.len() <= 2);
            assert_eq!(r.audit.urls_signed, page.len() as u64);
            items.extend(page.iter().cloned());
            pages += 1;
            match body.get("nextPageToken").and_then(|t| t.as_str()) {
                Some(t) => token = Some(t.to_string()),
                None => return (items, pages),
            }
        }
    }

    /// The bytes a signed local URL serves, after the engine checked it as a host does.
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let target = url.strip_prefix("http://127.0.0.1:8080").expect("the configured endpoint");
        let grant = self.engine.verify_file_url(target, NOW).map_err(|e| format!("{e:?}"))?;
        assert_eq!(grant.store, "disk");
        std::fs::read(self.root.join(&grant.key)).map_err(|e| e.to_string())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn paths(items: &[serde_json::Value]) -> Vec<&str> {
    items.iter().map(|i| i["path"].as_str().unwrap()).collect()
}

#[test]
fn lists_every_asset_kind_in_pages_with_urls_that_serve_the_bytes() {
    let s = Store::new("kinds");
    let cases = [
        (format!("{ASSET}/volumes/raw"), "raw", vec!["a.csv", "b.txt", "b/c.json", "b/d/e.txt", "z z.bin"]),
        (format!("{ASSET}/skills/report-writer"), "skills/report-writer", vec!["SKILL.md", "scripts/run.py"]),
        (format!("{ASSET}/models/churn/versions/1"), "models/churn/1", vec!["MLmodel", "model.bin"]),
        (format!("{ASSET}/models/churn/aliases/CHAMPION"), "models/churn/1", vec!["MLmodel", "model.bin"]),
    ];
    for (asset, root, expected) in cases {
        let (items, pages) = s.list_all(&asset, "");
        assert_eq!(paths(&items), expected, "{asset}");
        assert_eq!(pages, expected.len().div_ceil(2).max(1));
        for item in &items {
            let on_disk = std::fs::read(s.root.join(root).join(item["path"].as_str().unwrap())).unwrap();
            assert_eq!(item["size"], on_disk.len() as u64);
            assert!(item["modificationTime"].as_i64().unwrap() > 0);
            assert_eq!(item["expirationTimestamp"], NOW + 3600 * 1000);
            assert_eq!(s.fetch(item["url"].as_str().unwrap()).unwrap(), on_disk);
        }
    }
}

#[test]
fn a_prefix_narrows_the_listing() {
    let s = Store::new("prefix");
    let (items, _) = s.list_all(&format!("{ASSET}/volumes/raw"), "&prefix=b/");
    assert_eq!(paths(&items), ["b/c.json", "b/d/e.txt"]);
    let (items, _) = s.list_all(&format!("{ASSET}/volumes/raw"), "&prefix=b");
    assert_eq!(paths(&items), ["b.txt", "b/c.json", "b/d/e.txt"]);
    let (items, _) = s.list_all(&format!("{ASSET}/volumes/raw"), "&prefix=nothing/");
    assert!(items.is_empty());
}

#[test]
fn redirects_to_one_file_and_refuses_tampered_urls() {
    let s = Store::new("redirect");
    for method in [Method::Get, Method::Head] {
        let r = s.call(method, &format!("{ASSET}/volumes/raw/files/b/d/e.txt"), TOKEN_ACME);
        assert_eq!(r.status, 307);
        assert!(r.body.is_empty());
        let url = r.header("location").unwrap();
        assert_eq!(s.fetch(url).unwrap(), b"deep");
        let tampered = url.replace("e.txt", "c.json");
        assert!(s.fetch(&tampered).unwrap_err().contains("BadSignature"), "{tampered}");
    }
    let r = s.get(&format!("{ASSET}/volumes/raw/files/z%20z.bin"));
    assert_eq!(s.fetch(r.header("location").unwrap()).unwrap(), b"zz");
    assert_eq!(r.audit.urls_signed, 1);
    let r = s.get(&format!("{ASSET}/models/churn/aliases/champion/files/model.bin"));
    assert_eq!(s.fetch(r.header("location").unwrap()).unwrap(), b"weights");
    let r = s.call(Method::Head, &format!("{ASSET}/skills/report-writer/files/missing.md"), TOKEN_ACME);
    assert_eq!(r.status, 404);
    let r = s.get(&format!("{ASSET}/skills/report-writer/files/missing.md"));
    assert_eq!((r.status, r.error_code()), (404, "RESOURCE_DOES_NOT_EXIST".to_string()));
}

#[test]
fn bad_input_gets_a_clear_400() {
    let s = Store::new("bad");
    let volume = format!("{ASSET}/volumes/raw");
    for path in ["../skills/report-writer/SKILL.md", "b/../../x", "b//c.json", "%2e%2e/x", "b%2Fc.json", "./a.csv"] {
        let r = s.get(&format!("{volume}/files/{path}"));
        assert_eq!(r.status, 400, "{path}");
        assert!(r.message().contains("'..'"), "{}", r.message());
    }
    for prefix in ["../", "/etc", "b/../b", "a//"] {
        let r = s.get(&format!("{volume}/files?prefix={prefix}"));
        assert_eq!(r.status, 400, "{prefix}");
        assert!(r.message().contains("'prefix'"));
    }
    for max in ["0", "1001", "99999999999999999999", "-1", "two"] {
        let r = s.get(&format!("{volume}/files?maxResults={max}"));
        assert_eq!(r.status, 400, "{max}");
    }
    assert_eq!(s.get(&format!("{volume}/files?maxResults=1000")).status, 200);
    let first = s.get(&format!("{volume}/files?maxResults=1")).json();
    let token = first["nextPageToken"].as_str().unwrap().to_string();
    let mut bytes = token.clone().into_bytes();
    bytes[3] ^= 1;
    let tampered = String::from_utf8(bytes).unwrap();
    let r = s.get(&format!("{volume}/files?maxResults=1&pageToken={tampered}"));
    assert_eq!((r.status, r.message()), (400, "invalid 'pageToken'".to_string()));
    // A token is bound to its asset, its prefix and its recipient.
    let r = s.get(&format!("{ASSET}/skills/report-writer/files?pageToken={token}"));
    assert_eq!(r.status, 400);
    let r = s.get(&format!("{volume}/files?prefix=b&pageToken={token}"));
    assert_eq!(r.status, 400);
    let r = s.get(&format!("{volume}/files?pageToken={token}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["items"][0]["path"], "b.txt");
    let r = s.get(&format!("{ASSET}/models/churn/versions/7/files"));
    assert_eq!(r.status, 404);
    let r = s.get(&format!("{ASSET}/models/churn/versions/x/files"));
    assert_eq!(r.status, 400);
    let r = s.get(&format!("{ASSET}/volumes/nope/files"));
    assert_eq!(r.status, 404);
    // Tables have no files surface.
    assert_eq!(s.get(&format!("{ASSET}/tables/orders/files")).status, 404);
    // Not without a token, and not for a recipient without the share.
    let r = drive(&s.engine, Request::new(Method::Get, format!("{volume}/files")), NOW, no_io);
    assert_eq!(r.status, 401);
    let r = s.call(Method::Get, &format!("{volume}/files"), TOKEN_BETA);
    assert_eq!(r.status, 404);
}
