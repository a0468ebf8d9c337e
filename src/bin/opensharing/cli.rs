//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The reference host of libopensharing: serves an OpenSharing / Delta Sharing configuration and
/// manages its recipients.
#[derive(Parser)]
#[command(name = "opensharing", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Subcommand)]
pub enum Command {
    /// Serve a configuration over HTTP; edits to the file (or SIGHUP) reload it.
    Serve {
        /// The configuration file (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Manage the recipients of a configuration file.
    #[command(subcommand)]
    Recipient(RecipientCommand),
    /// Check every store's endpoint, region and credentials.
    Check {
        /// The configuration file (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Download a volume, a skill or a model version (as a recipient, with a profile file).
    Get(GetArgs),
    /// List what a profile can see: its shares, a share's schemas, or a schema's assets.
    Ls {
        /// The profile file, optionally followed by `#share` or `#share.schema`.
        #[arg(value_name = "PROFILE[#SHARE[.SCHEMA]]")]
        target: String,
    },
}

/// `opensharing get` arguments.
#[derive(Args)]
pub struct GetArgs {
    /// The profile file and the asset, e.g. `demo/profile.json#demo.default.fare-report`.
    #[arg(value_name = "PROFILE#SHARE.SCHEMA.ASSET")]
    pub target: String,
    /// For a model: the version to download (default: the latest).
    #[arg(long, value_name = "N", conflicts_with = "alias")]
    pub version: Option<u64>,
    /// For a model: the alias of the version to download.
    #[arg(long, value_name = "A")]
    pub alias: Option<String>,
    /// The directory to download into (created if missing). Files already there with the listed
    /// size are kept, so an interrupted run resumes.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How many files to download at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub parallel: usize,
}

/// What protects `serve` from slow and hostile clients.
#[derive(Args)]
pub struct LimitArgs {
    /// Most connections open at once; more are answered 503 and closed [default: the open-file
    /// limit less 64, at most 4096].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Seconds a request may take, its body included, to reach its response head.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Seconds a connection may move no byte in either direction before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Most storage requests one request runs at once (the log files of a snapshot, the footers
    /// of a dataset are read concurrently).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub io_fanout: u32,
}

/// `opensharing recipient …`.
#[derive(Subcommand)]
pub enum RecipientCommand {
    /// Add a recipient: prints its token once and stores only the token's SHA-256.
    Add(RecipientArgs),
    /// Give a recipient a new token (printed once); its old tokens keep working for the grace
    /// period, then stop.
    Rotate(RotateArgs),
    /// Remove every token of a recipient: nothing authenticates as it any more.
    Revoke {
        /// The recipient's name.
        name: String,
        /// The configuration file to update (rewritten atomically).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// `recipient rotate` arguments.
#[derive(Args)]
pub struct RotateArgs {
    /// The recipient's name.
    pub name: String,
    /// How long the old tokens keep working: e.g. 24h, 90m, 3600s, 7d; 0 revokes them at once.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration_ms)]
    pub grace: i64,
    /// The configuration file to update (rewritten atomically).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Also write a Delta Sharing profile holding the new token to this file (mode 0600).
    #[arg(long, value_name = "OUT")]
    pub profile: Option<PathBuf>,
}

/// Parses `N[s|m|h|d]` (seconds without a unit) into milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let (digits, unit_ms) = match text.as_bytes().last() {
        Some(b's') => (&text[..text.len() - 1], 1_000),
        Some(b'm') => (&text[..text.len() - 1], 60_000),
        Some(b'h') => (&text[..text.len() - 1], 3_600_000),
        Some(b'd') => (&text[..text.len() - 1], 86_400_000),
        _ => (text, 1_000),
    };
    digits
        .parse::<u32>()
        .ok()
        .filter(|_| !digits.starts_with('+'))
        .map(|n| i64::from(n) * unit_ms)
        .ok_or_else(|| format!("'{text}' is not a duration such as 24h, 90m, 3600s or 7d"))
}

/// `recipient add` arguments.
#[derive(Args)]
pub struct RecipientArgs {
    /// The recipient's name (unique in the configuration).
    pub name: String,
    /// A share the recipient may read (repeat for several).
    #[arg(long = "share", value_name = "SHARE", required = true)]
    pub shares: Vec<String>,
    /// When the token stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub expires: Option<String>,
    /// The configuration file to update (rewritten atomically).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Also write a Delta Sharing profile holding the token to this file (mode 0600).
    #[arg(long, value_name = "OUT")]
    pub profile: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn parses_durations() {
        assert_eq!(super::parse_duration_ms("24h"), Ok(86_400_000));
        assert_eq!(super::parse_duration_ms("90m"), Ok(5_400_000));
        assert_eq!(super::parse_duration_ms("7d"), Ok(604_800_000));
        assert_eq!(super::parse_duration_ms("3600s"), Ok(3_600_000));
        assert_eq!(super::parse_duration_ms("0"), Ok(0));
        for bad in ["", "h", "-1h", "+1h", "1w", "1.5h", "99999999999s"] {
            assert!(super::parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
