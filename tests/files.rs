//! The files surface of volumes, skills and model versions: paged listings with signed URLs,
//! the redirect to one file, and the refusals; and the signed local file URLs themselves, which
//! the engine answers (head, ranges, errors, audit) and whose bytes the host sends. All driven
//! through the public exchange API with a directory on disk as the local store.

mod common;

use common::*;
use opensharing::{Catalog, Engine, Method, Request, Step};

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
            ("loose/empty.txt", ""),
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

    /// The bytes a signed local URL serves, through the engine's file route as a host drives it.
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let r = self.file(Method::Get, url, None, NOW);
        assert_eq!(r.audit.route, "file");
        match r.status {
            200 => Ok(r.body),
            status => Err(format!("{status} {}", r.error_code())),
        }
    }

    /// A request for a signed local URL (no bearer token: the signature is the credential).
    fn file(&self, method: Method, url: &str, range: Option<&str>, now: i64) -> Reply {
        let target = url.strip_prefix("http://127.0.0.1:8080").expect("the configured endpoint");
        let mut request = Request::new(method, target);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        drive(&self.engine, request, now, disk_io(&self.root))
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
        assert_eq!(s.fetch(&tampered).unwrap_err(), "403 PERMISSION_DENIED", "{tampered}");
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

#[test]
fn signed_file_urls_are_answered_by_the_engine_and_sent_by_the_host() {
    let s = Store::new("serve");
    let url = s.engine.sign_url("disk", "raw/b/d/e.txt", NOW, 60).unwrap();
    let r = s.file(Method::Get, &url, None, NOW);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"deep"[..]));
    assert_eq!(r.header("content-length"), Some("4"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert!(r.header("last-modified").is_some_and(|d| d.ends_with(" GMT")));
    assert_eq!((r.audit.route, r.audit.status, r.audit.body_bytes, r.audit.io_requests), ("file", 200, 4, 1));
    // HEAD: the same head, no bytes to send.
    let r = s.file(Method::Head, &url, None, NOW);
    assert_eq!((r.status, r.header("content-length"), r.body.len(), r.audit.body_bytes), (200, Some("4"), 0, 0));
    // One range: 206 with where it lies; or 416 when nothing of the file satisfies it.
    for (range, want, content_range) in
        [("bytes=1-2", "ee", "bytes 1-2/4"), ("bytes=-1", "p", "bytes 3-3/4"), ("bytes=2-", "ep", "bytes 2-3/4")]
    {
        let r = s.file(Method::Get, &url, Some(range), NOW);
        assert_eq!(
            (r.status, r.body.as_slice(), r.header("content-range")),
            (206, want.as_bytes(), Some(content_range))
        );
    }
    let r = s.file(Method::Get, &url, Some("bytes=4-"), NOW);
    assert_eq!(
        (r.status, r.header("content-range"), r.error_code().as_str()),
        (416, Some("bytes */4"), "INVALID_PARAMETER_VALUE")
    );
    assert_eq!((r.audit.route, r.audit.status), ("file", 416));
    // Several ranges, or another unit: the whole file.
    assert_eq!(s.file(Method::Get, &url, Some("bytes=0-0,2-3"), NOW).body, b"deep");
    // An empty file has nothing for the host to send.
    let empty = s.engine.sign_url("disk", "loose/empty.txt", NOW, 60).unwrap();
    let r = s.file(Method::Get, &empty, None, NOW);
    assert_eq!((r.status, r.header("content-length"), r.body.len()), (200, Some("0"), 0));
}

#[test]
fn file_url_refusals_are_json_errors_in_the_audit() {
    let s = Store::new("refuse");
    let url = s.engine.sign_url("disk", "raw/a.csv", NOW, 60).unwrap();
    let forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    let unsigned = url.split_once('?').unwrap().0.to_string();
    for (target, now) in [(&forged, NOW), (&url, NOW + 60_000), (&unsigned, NOW)] {
        let r = s.file(Method::Get, target, None, now);
        assert_eq!((r.status, r.error_code().as_str()), (403, "PERMISSION_DENIED"), "{target}");
        assert_eq!((r.audit.route, r.audit.error_code, r.audit.io_requests), ("file", Some("PERMISSION_DENIED"), 0));
        assert!(r.audit.detail.is_some());
    }
    let missing = s.engine.sign_url("disk", "raw/gone.csv", NOW, 60).unwrap();
    let r = s.file(Method::Get, &missing, None, NOW);
    assert_eq!((r.status, r.error_code().as_str()), (404, "RESOURCE_DOES_NOT_EXIST"));
    let r = s.file(Method::Post, &url, None, NOW);
    assert_eq!((r.status, r.header("allow"), r.error_code().as_str()), (405, Some("GET, HEAD"), "METHOD_NOT_ALLOWED"));
    // A key that would leave the root is refused before any IO.
    let escaping = s.engine.sign_url("disk", "raw/../../etc/passwd", NOW, 60).unwrap();
    let r = s.file(Method::Get, &escaping, None, NOW);
    assert_eq!((r.status, r.audit.io_requests), (404, 0));
}

#[test]
fn the_file_step_comes_once_between_head_and_done() {
    let s = Store::new("steps");
    let url = s.engine.sign_url("disk", "raw/b.txt", NOW, 60).unwrap();
    let target = url.strip_prefix("http://127.0.0.1:8080").unwrap();
    let mut ex = s.engine.handle(Request::new(Method::Get, target), NOW);
    let Step::Need(id, need) = ex.poll() else { panic!("a lookup first") };
    let meta = match disk_io(&s.root)(need) {
        opensharing::IoResult::Meta(meta) => meta,
        other => panic!("{other:?}"),
    };
    ex.supply(id, opensharing::IoResult::Meta(meta)).unwrap();
    assert!(matches!(ex.poll(), Step::Head(h) if h.status == 200));
    assert!(ex.file().is_none(), "not before it is polled");
    let Step::ServeFile(file) = ex.poll() else { panic!("the file after the head") };
    assert_eq!((file.store.as_str(), file.key.as_str(), file.range.start, file.range.end), ("disk", "raw/b.txt", 0, 1));
    assert_eq!(ex.read(&mut [0u8; 8]), 0, "the engine holds none of the bytes");
    assert_eq!(ex.file().map(|f| f.key.as_str()), Some("raw/b.txt"));
    assert!(matches!(ex.poll(), Step::Done(a) if a.route == "file" && a.body_bytes == 1));
}

#[test]
fn relative_store_roots_are_resolved_against_the_base_directory() {
    let s = Store::new("relative");
    let (parent, name) = (s.root.parent().unwrap(), s.root.file_name().unwrap().to_str().unwrap());
    let catalog = Catalog::from_json(config_json(name).as_bytes(), &|_| None).unwrap();
    assert_eq!(Engine::new(catalog).unwrap().local_store_root("disk").as_deref(), Some(name), "as written without one");
    let catalog = Catalog::from_json(config_json(name).as_bytes(), &|_| None).unwrap();
    let engine = Engine::new(catalog.with_base_dir(parent)).unwrap();
    assert_eq!(engine.local_store_root("disk").map(std::path::PathBuf::from), Some(s.root.clone()));
    let absolute = Catalog::from_json(config_json("/srv/lake").as_bytes(), &|_| None).unwrap();
    let engine = Engine::new(absolute.with_base_dir(parent)).unwrap();
    assert_eq!(engine.local_store_root("disk").as_deref(), Some("/srv/lake"), "absolute roots stay");
}
