//! Sorted, bounded, recursive listing of a local store's directory.
//!
//! object_store's local listing comes in no particular order, so a page cut from it would not
//! continue where the previous one ended. This walk yields keys in byte order: the entries of
//! each directory are sorted by `name` (files) or `name/` (directories), which is the order of
//! the keys below them. Directories that hold only keys before `start_after` or outside the
//! prefix are skipped unread, and the walk stops after `limit` keys, so a page costs the
//! directories on its path, not the whole tree.

use std::fs;
use std::path::Path;

use object_store::path::Path as StorePath;
use opensharing::ObjectMeta;

/// Lists up to `limit` objects under `root` whose keys start with `prefix` and sort after
/// `start_after`, in key order. A missing directory lists as empty.
pub fn list(root: &Path, prefix: &str, start_after: Option<&str>, limit: usize) -> std::io::Result<Vec<ObjectMeta>> {
    let base = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
    let mut walk = Walk { prefix, start_after, limit, out: Vec::new() };
    match walk.visit(&root.join(base), base) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && walk.out.is_empty() => Ok(Vec::new()),
        Err(e) => Err(e),
        Ok(()) => Ok(walk.out),
    }
}

struct Walk<'a> {
    prefix: &'a str,
    start_after: Option<&'a str>,
    limit: usize,
    out: Vec<ObjectMeta>,
}

impl Walk<'_> {
    /// Whether the keys below directory key `dir` (ending in `/`) may be wanted.
    fn may_hold(&self, dir: &str) -> bool {
        let in_prefix = dir.starts_with(self.prefix) || self.prefix.starts_with(dir);
        let not_before = self.start_after.is_none_or(|s| dir > s || s.starts_with(dir));
        in_prefix && not_before
    }

    fn visit(&mut self, dir: &Path, key_base: &str) -> std::io::Result<()> {
        let mut children: Vec<(String, bool)> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let is_dir = entry.file_type()?.is_dir();
            let key = if is_dir { format!("{key_base}{name}/") } else { format!("{key_base}{name}") };
            children.push((key, is_dir));
        }
        children.sort_unstable();
        for (key, is_dir) in children {
            if self.out.len() >= self.limit {
                return Ok(());
            }
            let path = dir.join(&key[key_base.len()..]);
            if is_dir {
                if self.may_hold(&key) {
                    self.visit(&path, &key)?;
                }
                continue;
            }
            let wanted = key.starts_with(self.prefix) && self.start_after.is_none_or(|s| key.as_str() > s);
            // Keys object_store cannot address (`.` or `..` segments, `\`…) are left out.
            if !wanted || StorePath::parse(&key).is_err() {
                continue;
            }
            let Ok(meta) = fs::metadata(&path) else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            self.out.push(ObjectMeta {
                key,
                size: meta.len(),
                last_modified_ms: modified.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_key_order_across_directories_and_pages() {
        let root = std::env::temp_dir().join(format!("opensharing-local-list-{}", std::process::id()));
        for file in ["v/a.txt", "v/a/b.txt", "v/a/c/d.txt", "v/a0", "v/a-x", "v/b/e.txt", "w/z"] {
            let path = root.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, b"x").unwrap();
        }
        let keys = |prefix: &str, after: Option<&str>, limit| {
            list(&root, prefix, after, limit).unwrap().into_iter().map(|m| m.key).collect::<Vec<_>>()
        };
        let all = ["v/a-x", "v/a.txt", "v/a/b.txt", "v/a/c/d.txt", "v/a0", "v/b/e.txt"];
        assert_eq!(keys("v/", None, usize::MAX), all);
        let mut sorted = all.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, all, "byte order of the keys");
        assert_eq!(keys("v/", None, 2), ["v/a-x", "v/a.txt"]);
        assert_eq!(keys("v/", Some("v/a.txt"), 2), ["v/a/b.txt", "v/a/c/d.txt"]);
        assert_eq!(keys("v/", Some("v/a/c/d.txt"), 5), ["v/a0", "v/b/e.txt"]);
        assert_eq!(keys("v/a/", None, 5), ["v/a/b.txt", "v/a/c/d.txt"]);
        assert_eq!(keys("v/a", None, 5), ["v/a-x", "v/a.txt", "v/a/b.txt", "v/a/c/d.txt", "v/a0"]);
        assert!(keys("nothing/", None, 5).is_empty());
        fs::remove_dir_all(&root).unwrap();
    }
}
