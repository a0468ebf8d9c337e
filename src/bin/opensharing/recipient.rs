//! `opensharing recipient add`: makes a token, prints it once, stores only its hash.
//!
//! The config file is rewritten atomically (a temporary file beside it, synced, then renamed
//! over it) with the same permissions, and only after the new content validates. A running
//! `serve` picks the change up by itself.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use opensharing::auth::token_sha256_hex;
use opensharing::protocol::timestamp::parse_rfc3339_ms;
use opensharing::{Catalog, Engine};
use ring::rand::{SecureRandom, SystemRandom};

use crate::cli::RecipientArgs;

/// Adds a recipient to the configuration file and writes its profile.
pub fn add(args: &RecipientArgs) -> Result<(), String> {
    let path = &args.config;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let expires_ms = match &args.expires {
        Some(ts) => Some(parse_rfc3339_ms(ts).ok_or_else(|| format!("--expires '{ts}' is not an RFC 3339 time"))?),
        None => None,
    };
    let mut secret = [0u8; 32];
    SystemRandom::new().fill(&mut secret).map_err(|_| "the system random generator failed".to_string())?;
    let token = URL_SAFE_NO_PAD.encode(secret);
    let mut recipient = serde_json::json!({
        "name": args.name,
        "token_sha256": token_sha256_hex(&token),
        "shares": args.shares,
    });
    if let Some(ts) = &args.expires {
        recipient["expires_at"] = ts.clone().into();
    }
    config
        .as_object_mut()
        .ok_or("the configuration is not a JSON object")?
        .entry("recipients")
        .or_insert_with(|| serde_json::json!([]))
        .as_array_mut()
        .ok_or("`recipients` is not a list")?
        .push(recipient);
    let updated = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())? + "\n";
    let catalog = Catalog::from_json(updated.as_bytes(), &|k| std::env::var(k).ok())
        .map_err(|e| format!("the recipient was not added: {e}"))?;
    let engine = Engine::new(catalog).map_err(|e| e.to_string())?;
    let profile = match &args.profile {
        Some(_) => Some(
            engine
                .profile(None, &token, expires_ms)
                .ok_or("no profile can be written: set `endpoint` in the configuration (nothing was changed)")?,
        ),
        None => None,
    };
    replace_file(path, updated.as_bytes())?;
    println!("recipient '{}' added to {} (only the token's SHA-256 is stored)", args.name, path.display());
    println!("token (shown once): {token}");
    if let (Some(profile), Some(out)) = (profile, &args.profile) {
        write_private(out, (profile + "\n").as_bytes())?;
        println!("profile written to {} (it holds the token: send it privately)", out.display());
    }
    Ok(())
}

/// Replaces `path` with `content` atomically, keeping its permissions.
fn replace_file(path: &Path, content: &[u8]) -> Result<(), String> {
    let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode();
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(content)?;
        file.set_permissions(Permissions::from_mode(mode))?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {}: {e}", path.display())
    })
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, content: &[u8]) -> Result<(), String> {
    let write = || -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        file.set_permissions(Permissions::from_mode(0o600))?;
        file.write_all(content)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))
}
