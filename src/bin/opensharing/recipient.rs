//! `opensharing recipient add | rotate | revoke`: makes a token, prints it once, stores only its
//! hash; rotation keeps the old tokens for a grace period (`tokens`, each with `expires_at`).
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
use opensharing::protocol::timestamp::{format_rfc3339_ms, parse_rfc3339_ms};
use opensharing::{Catalog, Engine};
use ring::rand::{SecureRandom, SystemRandom};

use crate::cli::{RecipientArgs, RotateArgs};

/// Adds a recipient to the configuration file and writes its profile.
pub fn add(args: &RecipientArgs) -> Result<(), String> {
    let path = &args.config;
    let mut config = read_config(path)?;
    let expires_ms = match &args.expires {
        Some(ts) => Some(parse_rfc3339_ms(ts).ok_or_else(|| format!("--expires '{ts}' is not an RFC 3339 time"))?),
        None => None,
    };
    let token = new_token()?;
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
    let profile = save(path, &config, &token, expires_ms, args.profile.is_some(), "the recipient was not added")?;
    println!("recipient '{}' added to {} (only the token's SHA-256 is stored)", args.name, path.display());
    print_token(&token, profile, args.profile.as_deref())
}

/// Gives a recipient a new token. Its other tokens expire after the grace period (at the
/// latest: an earlier expiry stays), or are removed with a grace of 0.
pub fn rotate(args: &RotateArgs) -> Result<(), String> {
    let path = &args.config;
    let mut config = read_config(path)?;
    let now = crate::config_file::now_ms();
    let token = new_token()?;
    let recipient = find_recipient(&mut config, &args.name, path)?;
    let mut tokens = vec![serde_json::json!({"sha256": token_sha256_hex(&token)})];
    if args.grace > 0 {
        let grace_end = now.saturating_add(args.grace);
        for mut old in take_tokens(recipient) {
            let expires = old["expires_at"].as_str().and_then(parse_rfc3339_ms).map_or(grace_end, |e| e.min(grace_end));
            if expires > now {
                old["expires_at"] = format_rfc3339_ms(expires).into();
                tokens.push(old);
            }
        }
    } else {
        take_tokens(recipient);
    }
    let kept = tokens.len() - 1;
    recipient.insert("tokens".into(), tokens.into());
    let expires_ms = recipient.get("expires_at").and_then(|e| e.as_str()).and_then(parse_rfc3339_ms);
    let profile = save(path, &config, &token, expires_ms, args.profile.is_some(), "the token was not rotated")?;
    match kept {
        0 => println!("recipient '{}': new token; every old token is revoked", args.name),
        n => println!(
            "recipient '{}': new token; {n} old token(s) keep working until {} at the latest",
            args.name,
            format_rfc3339_ms(now.saturating_add(args.grace))
        ),
    }
    print_token(&token, profile, args.profile.as_deref())
}

/// Removes every token of a recipient.
pub fn revoke(name: &str, path: &Path) -> Result<(), String> {
    let mut config = read_config(path)?;
    let recipient = find_recipient(&mut config, name, path)?;
    let removed = take_tokens(recipient).len();
    recipient.insert("tokens".into(), serde_json::json!([]));
    validate(&config, "nothing was revoked")?;
    replace_file(path, &to_text(&config)?)?;
    println!("recipient '{name}': {removed} token(s) revoked in {}", path.display());
    Ok(())
}

fn read_config(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// The recipient object named `name` (names compare case-insensitively, as in the catalog).
fn find_recipient<'a>(
    config: &'a mut serde_json::Value,
    name: &str,
    path: &Path,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, String> {
    config["recipients"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_object_mut)
        .find(|r| r.get("name").and_then(|n| n.as_str()).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .ok_or_else(|| format!("{} has no recipient named '{name}'", path.display()))
}

/// Removes and returns every token of a recipient, the legacy `token_sha256` as a `tokens`
/// entry (its expiry is the recipient's `expires_at`, which still applies).
fn take_tokens(recipient: &mut serde_json::Map<String, serde_json::Value>) -> Vec<serde_json::Value> {
    let mut tokens = Vec::new();
    if let Some(hash) = recipient.remove("token_sha256") {
        tokens.push(serde_json::json!({ "sha256": hash }));
    }
    if let Some(serde_json::Value::Array(list)) = recipient.remove("tokens") {
        tokens.extend(list);
    }
    tokens
}

/// A new random bearer token (32 bytes, URL-safe base64).
fn new_token() -> Result<String, String> {
    let mut secret = [0u8; 32];
    SystemRandom::new().fill(&mut secret).map_err(|_| "the system random generator failed".to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(secret))
}

fn to_text(config: &serde_json::Value) -> Result<Vec<u8>, String> {
    Ok((serde_json::to_string_pretty(config).map_err(|e| e.to_string())? + "\n").into_bytes())
}

/// Checks that `config` is a valid configuration; `nothing` words what did not happen.
fn validate(config: &serde_json::Value, nothing: &str) -> Result<Engine, String> {
    let catalog =
        Catalog::from_json(&to_text(config)?, &|k| std::env::var(k).ok()).map_err(|e| format!("{nothing}: {e}"))?;
    Engine::new(catalog).map_err(|e| e.to_string())
}

/// Validates `config`, makes the profile for `token` if asked, then replaces the file. Nothing
/// is written when either fails.
fn save(
    path: &Path,
    config: &serde_json::Value,
    token: &str,
    expires_ms: Option<i64>,
    want_profile: bool,
    nothing: &str,
) -> Result<Option<String>, String> {
    let engine = validate(config, nothing)?;
    let profile =
        match want_profile {
            true => Some(engine.profile(None, token, expires_ms).ok_or_else(|| {
                format!("no profile can be written: set `endpoint` in the configuration ({nothing})")
            })?),
            false => None,
        };
    replace_file(path, &to_text(config)?)?;
    Ok(profile)
}

/// Prints the token once and writes the profile.
fn print_token(token: &str, profile: Option<String>, out: Option<&Path>) -> Result<(), String> {
    println!("token (shown once): {token}");
    if let (Some(profile), Some(out)) = (profile, out) {
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
