//! Vended credentials kept for reuse, so a recipient that asks again soon does not cost an STS
//! call each time. A grant is reused while at least half of its lifetime is left; the cache holds
//! a bounded number of grants and lives as long as one configuration.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Grant;

/// Most grants kept.
const MAX_ENTRIES: usize = 256;

/// (recipient, store, prefix)
type Key = (String, String, String);

struct Entry {
    grant: Grant,
    issued_at_ms: i64,
}

/// Grants by recipient, store and prefix.
#[derive(Default)]
pub(crate) struct CredentialCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache").finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A grant for the key that still has at least half of its lifetime at `now_ms`.
    pub fn get(&self, recipient: &str, store: &str, prefix: &str, now_ms: i64) -> Option<Grant> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(&(recipient.to_string(), store.to_string(), prefix.to_string()))?;
        let lifetime = entry.grant.expires_at_ms - entry.issued_at_ms;
        (entry.grant.expires_at_ms - now_ms >= lifetime / 2).then(|| entry.grant.clone())
    }

    /// Keeps `grant`, issued at `now_ms`. When full, expired grants go first, then the one that
    /// expires soonest.
    pub fn put(&self, recipient: &str, store: &str, prefix: &str, grant: &Grant, now_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.grant.expires_at_ms > now_ms);
        }
        if entries.len() >= MAX_ENTRIES {
            if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.grant.expires_at_ms).map(|(k, _)| k.clone()) {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            (recipient.to_string(), store.to_string(), prefix.to_string()),
            Entry { grant: grant.clone(), issued_at_ms: now_ms },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::Credential;
    use super::*;

    fn grant(expires_at_ms: i64) -> Grant {
        Grant { credential: Credential::GcpToken("t".into()), expires_at_ms }
    }

    #[test]
    fn grants_are_reused_for_half_their_life_and_bounded() {
        let cache = CredentialCache::default();
        cache.put("r", "s", "p", &grant(1_000_000), 0);
        assert!(cache.get("r", "s", "p", 500_000).is_some());
        assert!(cache.get("r", "s", "p", 500_001).is_none());
        assert!(cache.get("other", "s", "p", 0).is_none());
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            cache.put("r", "s", &i.to_string(), &grant(2_000_000 + i), 0);
        }
        assert_eq!(cache.entries.lock().unwrap().len(), MAX_ENTRIES);
        assert!(cache.get("r", "s", &(MAX_ENTRIES as i64 + 9).to_string(), 0).is_some());
    }
}
