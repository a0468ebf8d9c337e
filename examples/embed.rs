//! Embeds the engine in a few lines: loads the bundled demo configuration, sends a `/query` for
//! the demo table, answers the engine's IO needs from the local disk, and prints the NDJSON
//! answer (with pre-signed file URLs) and the audit event.
//!
//! ```text
//! cargo run --example embed [-- demo/opensharing.json opensharing-demo-token]
//! ```
//!
//! A real host reads from its object store instead of `std::fs`, runs the needs concurrently
//! (they carry ids and may be answered in any order), and streams the body to its client.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use opensharing::{Catalog, Engine, IoNeed, IoResult, Listing, Method, ObjectMeta, Request, Step};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let config = PathBuf::from(args.next().unwrap_or_else(|| "demo/opensharing.json".into()));
    let token = args.next().unwrap_or_else(|| "opensharing-demo-token".into());
    match run(&config, &token) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &Path, token: &str) -> Result<(), Box<dyn std::error::Error>> {
    // Relative store roots are relative to the configuration file.
    let catalog = Catalog::from_json(&std::fs::read(config)?, &|name| std::env::var(name).ok())?;
    let engine = Engine::new(catalog.with_base_dir(config.parent().unwrap_or(Path::new("."))))?;
    let request = Request::new(Method::Post, "/delta-sharing/shares/demo/schemas/default/tables/trips/query")
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(b"{}".to_vec());
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let mut exchange = engine.handle(request, now_ms);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match exchange.poll() {
            Step::Need(id, need) => {
                let answer = answer(&engine, need);
                exchange.supply(id, answer)?;
            }
            Step::Wait => unreachable!("each need is answered as soon as it is handed out"),
            Step::Head(head) => eprintln!("status {}", head.status),
            Step::Body => loop {
                let n = exchange.read(&mut buf);
                if n == 0 {
                    break;
                }
                print!("{}", String::from_utf8_lossy(&buf[..n]));
            },
            // A signed local-store file URL: the head is sent, the bytes come from the store.
            Step::ServeFile(file) => {
                let read = IoNeed::Get { store: file.store.clone(), key: file.key.clone(), range: Some(file.range) };
                if let IoResult::Bytes(bytes) = answer(&engine, &read) {
                    std::io::stdout().write_all(&bytes)?;
                }
            }
            Step::Done(audit) => {
                eprintln!("audit {}", audit.to_json());
                return Ok(());
            }
        }
    }
}

/// Answers one need from the local stores on disk.
fn answer(engine: &Engine, need: &IoNeed) -> IoResult {
    let (store, key) = match need {
        IoNeed::List { store, prefix, .. }
        | IoNeed::Get { store, key: prefix, .. }
        | IoNeed::Head { store, key: prefix, .. } => (store, prefix),
        IoNeed::Http(_) | IoNeed::RequestBody { .. } => return IoResult::Failed("not needed by this example".into()),
    };
    let Some(root) = engine.local_store_root(store).map(PathBuf::from) else {
        return IoResult::Failed(format!("{store} is not local"));
    };
    match need {
        IoNeed::List { prefix, start_after, max_keys, .. } => {
            let mut entries = Vec::new();
            walk(&root, &root, &mut entries);
            entries.retain(|m| m.key.starts_with(prefix.as_str()) && start_after.as_ref().is_none_or(|s| &m.key > s));
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            IoResult::Listing(Listing::page(entries, *max_keys))
        }
        IoNeed::Head { .. } => match std::fs::metadata(root.join(key)) {
            Ok(m) => IoResult::Meta(ObjectMeta { key: key.clone(), size: m.len(), last_modified_ms: 0 }),
            Err(_) => IoResult::NotFound,
        },
        IoNeed::Get { range, .. } => match std::fs::read(root.join(key)) {
            Ok(bytes) => match range {
                None => IoResult::Bytes(bytes.into()),
                Some(r) => {
                    let end = (r.end as usize).min(bytes.len());
                    IoResult::Bytes(bytes.get(r.start as usize..end).unwrap_or_default().to_vec().into())
                }
            },
            Err(_) => IoResult::NotFound,
        },
        IoNeed::Http(_) | IoNeed::RequestBody { .. } => unreachable!("answered above"),
    }
}

/// Every file below `dir`, keyed by its path relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<ObjectMeta>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let (path, Ok(meta)) = (entry.path(), entry.metadata()) else { continue };
        if meta.is_dir() {
            walk(root, &path, out);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let key = relative.to_string_lossy().replace('\\', "/");
            out.push(ObjectMeta { key, size: meta.len(), last_modified_ms: 0 });
        }
    }
}
