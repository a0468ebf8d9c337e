//! `opensharing get`: downloads a volume, a skill or a model version through the server's files
//! listing (`{asset}/files`), fetching each pre-signed URL.
//!
//! Downloads run in parallel. A file already present with the listed size is skipped, so an
//! interrupted run resumes. Each file is written to a temporary name beside its destination, its
//! size checked, then renamed. An item path that is absolute or holds `..` (or `.`, or an empty
//! segment) is refused, so nothing is written outside the output directory.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::task::JoinSet;

use crate::cli::GetArgs;
use crate::client::{CallError, Client, Target};
use crate::http_call::without_url;

/// Files listed per page (the largest page the server gives).
const PAGE_SIZE: u32 = 1000;

/// Downloads the asset named by `args.target` into `args.out`.
pub fn run(args: &GetArgs) -> Result<(), String> {
    let target = Target::parse(&args.target)?;
    let [share, schema, asset] = target.names.as_slice() else {
        return Err(format!("'{}': expected PROFILE#share.schema.asset", args.target));
    };
    if args.parallel == 0 {
        return Err("--parallel must be at least 1".into());
    }
    let client = Client::from_profile(Path::new(&target.profile))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let root = asset_root(&client, share, schema, asset, args).await?;
        std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
        let summary = download(&client, &root, &args.out, args.parallel).await;
        summary.finish(&args.out)
    })
}

/// The route segments of the asset whose `files` are listed: a volume, a skill, or one version
/// of a model (by number, by alias, or else the latest). The kind is found by asking for the
/// asset under each family.
async fn asset_root(
    client: &Client,
    share: &str,
    schema: &str,
    asset: &str,
    args: &GetArgs,
) -> Result<Vec<String>, String> {
    let base = ["shares", share, "schemas", schema];
    let name = format!("{share}.{schema}.{asset}");
    let model_ref = match (&args.version, &args.alias) {
        (Some(v), _) => Some(("versions", "version", v.to_string())),
        (None, Some(a)) => Some(("aliases", "alias", a.clone())),
        (None, None) => None,
    };
    if let Some((kind, what, reference)) = model_ref {
        let segments = [&base[..], &["models", asset, kind, &reference]].concat();
        return match client.get_json(&segments, &[]).await {
            Ok(_) => Ok(owned(&segments)),
            Err(CallError::NotFound) => {
                Err(format!("model '{name}' has no {what} '{reference}' this profile can read"))
            }
            Err(e) => Err(e.into()),
        };
    }
    for family in ["volumes", "skills", "models"] {
        let segments = [&base[..], &[family, asset]].concat();
        match client.get_json(&segments, &[]).await {
            Ok(_) if family == "models" => {
                let version =
                    latest_version(client, &segments).await?.ok_or(format!("model '{name}' has no version"))?;
                return Ok(owned(&[&segments[..], &["versions", &version]].concat()));
            }
            Ok(_) => return Ok(owned(&segments)),
            Err(CallError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(format!("'{name}' is not a volume, a skill or a model this profile can read"))
}

/// The highest version number of the model at `model`.
async fn latest_version(client: &Client, model: &[&str]) -> Result<Option<String>, String> {
    let mut pages = client.pages(&[model, &["versions"]].concat(), PAGE_SIZE);
    let mut latest: Option<i64> = None;
    while let Some(items) = pages.next().await? {
        latest = items.iter().filter_map(|v| v["version"].as_i64()).chain(latest).max();
    }
    Ok(latest.map(|v| v.to_string()))
}

fn owned(segments: &[&str]) -> Vec<String> {
    segments.iter().map(|s| s.to_string()).collect()
}

/// One file to fetch.
struct Item {
    path: String,
    size: u64,
    url: String,
}

impl Item {
    fn parse(item: &Value) -> Result<Item, String> {
        let path = item["path"].as_str().ok_or("a listed item has no `path`")?;
        let field = |name: &str| format!("{path}: the listing gives no `{name}`");
        Ok(Item {
            path: path.to_string(),
            size: item["size"].as_u64().ok_or_else(|| field("size"))?,
            url: item["url"].as_str().ok_or_else(|| field("url"))?.to_string(),
        })
    }
}

/// Where the item at `path` (relative to the asset root) goes under `out`, or `None` when the
/// path is absolute or would leave `out`.
pub fn destination(out: &Path, path: &str) -> Option<PathBuf> {
    let safe = !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|segment| !matches!(segment, "" | "." | ".."));
    safe.then(|| out.join(path))
}

/// How a download went.
#[derive(Default)]
struct Summary {
    fetched: u64,
    skipped: u64,
    bytes: u64,
    failures: Vec<String>,
    /// Why the listing stopped early.
    listing: Option<String>,
}

impl Summary {
    fn finish(self, out: &Path) -> Result<(), String> {
        for failure in &self.failures {
            eprintln!("opensharing: {failure}");
        }
        if std::io::stderr().is_terminal() {
            eprintln!(
                "{} file(s) fetched ({} bytes), {} already present, into {}",
                self.fetched,
                self.bytes,
                self.skipped,
                out.display()
            );
        }
        match (self.listing, self.failures.len()) {
            (None, 0) => Ok(()),
            (None, n) => Err(format!("{n} file(s) failed; run the same command again to resume")),
            (Some(why), n) => Err(format!("listing the files failed ({why}); {n} file(s) failed besides")),
        }
    }
}

/// Lists the asset's files page by page and fetches each page's files, at most `parallel` at a
/// time. Failures are collected, never fatal to the other files.
async fn download(client: &Client, root: &[String], out: &Path, parallel: usize) -> Summary {
    let bar = progress_bar();
    let mut summary = Summary::default();
    let mut running: JoinSet<Result<u64, String>> = JoinSet::new();
    let segments: Vec<&str> = root.iter().map(String::as_str).chain(["files"]).collect();
    let mut pages = client.pages(&segments, PAGE_SIZE);
    loop {
        let items = match pages.next().await {
            Ok(Some(items)) => items,
            Ok(None) => break,
            Err(CallError::NotFound) => {
                summary.listing = Some("the server answered 404: it has no files listing for this asset".into());
                break;
            }
            Err(CallError::Other(why)) => {
                summary.listing = Some(why);
                break;
            }
        };
        for value in items {
            let item = match Item::parse(&value) {
                Ok(item) => item,
                Err(e) => {
                    summary.failures.push(e);
                    continue;
                }
            };
            let Some(dest) = destination(out, &item.path) else {
                summary.failures.push(format!("{}: refused, the path leaves the output directory", item.path));
                continue;
            };
            bar.inc_length(item.size);
            if std::fs::metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == item.size) {
                bar.inc(item.size);
                summary.skipped += 1;
                continue;
            }
            while running.len() >= parallel {
                collect(&mut summary, running.join_next().await);
            }
            let (http, bar) = (client.http().clone(), bar.clone());
            running.spawn(async move {
                let path = item.path.clone();
                fetch(&http, item, &dest, &bar).await.map_err(|why| format!("{path}: {why}"))
            });
        }
    }
    while let Some(done) = running.join_next().await {
        collect(&mut summary, Some(done));
    }
    bar.finish_and_clear();
    summary
}

fn collect(summary: &mut Summary, done: Option<Result<Result<u64, String>, tokio::task::JoinError>>) {
    match done {
        Some(Ok(Ok(bytes))) => {
            summary.fetched += 1;
            summary.bytes += bytes;
        }
        Some(Ok(Err(why))) => summary.failures.push(why),
        Some(Err(e)) => summary.failures.push(format!("a download task failed: {e}")),
        None => {}
    }
}

/// A byte progress bar on a terminal; a hidden one otherwise.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}") {
        bar.set_style(style);
    }
    bar
}

/// Fetches one file into a temporary name beside `dest`, checks its size, renames it. Returns
/// the bytes written.
async fn fetch(http: &reqwest::Client, item: Item, dest: &Path, bar: &ProgressBar) -> Result<u64, String> {
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut tmp_name = dest.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".opensharing-partial");
    let tmp = dest.with_file_name(tmp_name);
    let result = fetch_to(http, &item, &tmp, bar).await;
    let result = match result {
        Ok(()) => {
            tokio::fs::rename(&tmp, dest).await.map_err(|e| format!("cannot rename into {}: {e}", dest.display()))
        }
        Err(e) => Err(e),
    };
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result.map(|()| item.size)
}

async fn fetch_to(http: &reqwest::Client, item: &Item, tmp: &Path, bar: &ProgressBar) -> Result<(), String> {
    let mut response = http.get(&item.url).send().await.map_err(|e| without_url(&e))?;
    if !response.status().is_success() {
        return Err(format!("the signed URL answered HTTP {}", response.status().as_u16()));
    }
    let mut file = tokio::fs::File::create(tmp).await.map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut written = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| without_url(&e))? {
        written += chunk.len() as u64;
        if written > item.size {
            return Err(format!("more bytes than the listed size {}", item.size));
        }
        file.write_all(&chunk).await.map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        bar.inc(chunk.len() as u64);
    }
    file.flush().await.map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    if written != item.size {
        return Err(format!("got {written} bytes, the listing says {}", item.size));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_leave_the_output_directory() {
        let out = Path::new("/tmp/out");
        assert_eq!(destination(out, "a/b.txt"), Some(PathBuf::from("/tmp/out/a/b.txt")));
        assert_eq!(destination(out, "..b/c..d"), Some(PathBuf::from("/tmp/out/..b/c..d")));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\\..\\b", "a\0b", "a/"] {
            assert_eq!(destination(out, bad), None, "{bad:?}");
        }
    }
}
