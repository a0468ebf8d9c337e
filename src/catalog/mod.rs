//! The shared catalog: shares, schemas and assets, validated and indexed for lookups.

mod access;
pub mod config;
mod federation;
pub mod governance;
pub mod names;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::value::RawValue;

pub use config::{AssetConfig, AssetKind, Config, Governance, Secret, StoreConfig};
pub use validate::ConfigError;

use crate::auth::oidc::Federation;
use crate::auth::Recipients;

/// Which list an asset appears in: the protocol groups asset kinds into four families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetFamily {
    /// Delta, Iceberg and Parquet tables (`…/tables`).
    Table,
    /// Volumes (`…/volumes`).
    Volume,
    /// Registered models (`…/models`).
    Model,
    /// Agent skills (`…/skills`).
    Skill,
}

impl AssetFamily {
    /// The family of an asset kind.
    pub fn of(kind: AssetKind) -> AssetFamily {
        match kind {
            AssetKind::DeltaTable | AssetKind::IcebergTable | AssetKind::ParquetDataset => AssetFamily::Table,
            AssetKind::Volume => AssetFamily::Volume,
            AssetKind::Model => AssetFamily::Model,
            AssetKind::Skill => AssetFamily::Skill,
        }
    }

    /// The path segment of the family's list (`tables`, `volumes`, …).
    pub fn segment(self) -> &'static str {
        match self {
            AssetFamily::Table => "tables",
            AssetFamily::Volume => "volumes",
            AssetFamily::Model => "models",
            AssetFamily::Skill => "skills",
        }
    }

    /// The family named by a list path segment.
    pub fn from_segment(segment: &str) -> Option<AssetFamily> {
        Some(match segment {
            "tables" => AssetFamily::Table,
            "volumes" => AssetFamily::Volume,
            "models" => AssetFamily::Model,
            "skills" => AssetFamily::Skill,
            _ => return None,
        })
    }
}

/// A validated asset.
#[derive(Debug)]
pub struct Asset {
    /// The configuration it was built from.
    pub config: AssetConfig,
    /// Its id: configured, or derived from the full name.
    pub id: String,
}

impl Asset {
    /// The asset name as configured.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The list family of the asset.
    pub fn family(&self) -> AssetFamily {
        AssetFamily::of(self.config.kind)
    }

    /// Its governance risk labels (none when it has no governance block).
    pub fn risk_labels(&self) -> &[String] {
        self.config.governance.as_ref().map_or(&[], |g| g.risk_labels.as_slice())
    }
}

/// A validated schema.
#[derive(Debug)]
pub struct Schema {
    /// The schema name as configured.
    pub name: String,
    /// Its assets, in configured order.
    pub assets: Vec<Asset>,
    /// Folded name → index (names are unique across families).
    index: HashMap<String, usize>,
    by_family: HashMap<AssetFamily, Vec<usize>>,
}

impl Schema {
    /// The assets of one family, in configured order.
    pub fn assets_of(&self, family: AssetFamily) -> impl ExactSizeIterator<Item = &Asset> + '_ {
        self.by_family.get(&family).map_or(&[][..], Vec::as_slice).iter().map(|&i| &self.assets[i])
    }

    /// How many assets of `family` the schema has.
    pub fn count_of(&self, family: AssetFamily) -> usize {
        self.by_family.get(&family).map_or(0, Vec::len)
    }

    /// Finds an asset of `family` by name, case-insensitively.
    pub fn asset(&self, family: AssetFamily, name: &str) -> Option<&Asset> {
        let found = self.index.get(names::folded(name).as_ref()).map(|&i| &self.assets[i]);
        found.filter(|asset| asset.family() == family)
    }
}

/// A validated share.
#[derive(Debug)]
pub struct Share {
    /// The share name as configured.
    pub name: String,
    /// Its id: configured, or derived from the name.
    pub id: String,
    /// The display name.
    pub display_name: Option<String>,
    /// The comment.
    pub comment: Option<String>,
    /// Free-form properties.
    pub properties: BTreeMap<String, String>,
    /// Its schemas, in configured order.
    pub schemas: Vec<Schema>,
    index: HashMap<String, usize>,
    /// The share's item as the discovery endpoints answer it, rendered on first use: a
    /// catalog does not change, so its strings are escaped once, not at every request.
    pub(crate) listed: OnceLock<Box<RawValue>>,
}

impl Share {
    /// Assets of `family` across all schemas, in configured order, for list positions
    /// `range`; and the total count. Costs O(schemas + page), not O(assets).
    pub fn page_of(&self, family: AssetFamily, range: std::ops::Range<usize>) -> Vec<(&Schema, &Asset)> {
        let mut out = Vec::with_capacity(range.len());
        let mut skip = range.start;
        let mut want = range.len();
        for schema in &self.schemas {
            let n = schema.count_of(family);
            if skip >= n {
                skip -= n;
                continue;
            }
            for asset in schema.assets_of(family).skip(skip).take(want) {
                out.push((schema, asset));
            }
            want -= (n - skip).min(want);
            skip = 0;
            if want == 0 {
                break;
            }
        }
        out
    }

    /// How many assets of `family` the share has.
    pub fn count_of(&self, family: AssetFamily) -> usize {
        self.schemas.iter().map(|s| s.count_of(family)).sum()
    }

    /// Finds a schema by name, case-insensitively.
    pub fn schema(&self, name: &str) -> Option<&Schema> {
        self.index.get(names::folded(name).as_ref()).map(|&i| &self.schemas[i])
    }
}

/// The validated, indexed configuration an engine serves. Immutable: a reload builds a new one.
#[derive(Debug)]
pub struct Catalog {
    /// Path prefix of every route, without a trailing `/` (may be empty).
    pub prefix: String,
    /// Public endpoint for profiles.
    pub endpoint: Option<String>,
    /// Shares in configured order.
    pub shares: Vec<Share>,
    share_index: HashMap<String, usize>,
    /// The stores by name.
    pub stores: BTreeMap<String, StoreConfig>,
    /// Recipients, indexed by token hash.
    pub recipients: Recipients,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::auth::IpNet>,
    /// OIDC issuers and the recipients whose JWTs they sign.
    pub federation: Federation,
    /// Pre-signed URL lifetime in seconds.
    pub url_ttl_seconds: u32,
    /// Vended credential lifetime in seconds.
    pub credential_ttl_seconds: u32,
    /// Page token lifetime in seconds.
    pub page_token_ttl_seconds: u32,
    /// The configured token signing key, if any (`Debug` does not print it).
    pub token_signing_key: Option<config::Secret>,
}

impl Catalog {
    /// Parses, resolves and validates a configuration file. `env` looks up environment
    /// variables for `{"env": …}` secrets (pass `|k| std::env::var(k).ok()` in a host).
    pub fn from_json(json: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Result<Catalog, ConfigError> {
        // serde would also read a struct from a JSON array (`[]` as an empty catalog): a reload
        // of such a file must fail, not wipe every share.
        if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ConfigError::new("config", "must be a JSON object"));
        }
        let config: Config = serde_json::from_slice(json).map_err(ConfigError::parse)?;
        Catalog::from_config(config, env)
    }

    /// Resolves and validates an already parsed configuration.
    pub fn from_config(config: Config, env: &dyn Fn(&str) -> Option<String>) -> Result<Catalog, ConfigError> {
        validate::build(config, env)
    }

    /// Resolves the relative roots of `local` stores against `base_dir` (a host passes its
    /// configuration file's directory, for the first catalog and for each one it reloads), so
    /// that every host finds a store where the engine says it is
    /// ([`Engine::local_store_root`](crate::Engine::local_store_root)). Without
    /// it, relative roots are relative to the process's working directory. Roots are text: a
    /// base directory that is not UTF-8 is converted lossily.
    pub fn with_base_dir(mut self, base_dir: &std::path::Path) -> Catalog {
        for store in self.stores.values_mut() {
            if let StoreConfig::Local(local) = store {
                local.root = base_dir.join(&local.root).to_string_lossy().into_owned();
            }
        }
        self
    }

    /// Finds a share by name, case-insensitively.
    pub fn share(&self, name: &str) -> Option<(usize, &Share)> {
        self.share_index.get(names::folded(name).as_ref()).map(|&i| (i, &self.shares[i]))
    }
}

/// A stable UUID-shaped id derived from a name (SHA-256, version-4 layout bits set).
pub fn derived_id(kind: &str, full_name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{kind}\0{full_name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::util::hex(&b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}
