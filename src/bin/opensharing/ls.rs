//! `opensharing ls PROFILE[#share[.schema]]`: what a profile can see. Shares; a share's schemas;
//! a schema's assets of every family, each with its kind.

use std::path::Path;

use crate::client::{CallError, Client, Target};

/// Listing page size.
const PAGE_SIZE: u32 = 500;

/// The asset families, as (route segment, kind printed).
const FAMILIES: [(&str, &str); 4] =
    [("tables", "table"), ("volumes", "volume"), ("models", "model"), ("skills", "skill")];

/// Prints one line per share, schema or asset.
pub fn run(target: &str) -> Result<(), String> {
    let target = Target::parse(target)?;
    let client = Client::from_profile(Path::new(&target.profile))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match target.names.as_slice() {
            [] => print_names(&client, &["shares"], |item| Some(item["name"].as_str()?.to_string())).await,
            [share] => {
                let segments = ["shares", share.as_str(), "schemas"];
                print_names(&client, &segments, |item| Some(format!("{share}.{}", item["name"].as_str()?))).await
            }
            [share, schema] => {
                for (family, kind) in FAMILIES {
                    let segments = ["shares", share.as_str(), "schemas", schema.as_str(), family];
                    let line = |item: &serde_json::Value| {
                        Some(format!("{kind:<7} {share}.{schema}.{}", item["name"].as_str()?))
                    };
                    match print_names(&client, &segments, line).await {
                        // A server without this family (a plain Delta Sharing server) has no route.
                        Err(CallError::NotFound) if family != "tables" => {}
                        other => other?,
                    }
                }
                Ok(())
            }
            _ => Err(CallError::Other("expected PROFILE, PROFILE#share or PROFILE#share.schema".into())),
        }
        .map_err(String::from)
    })
}

/// Prints `line(item)` for every item of the listing at `segments`.
async fn print_names(
    client: &Client,
    segments: &[&str],
    line: impl Fn(&serde_json::Value) -> Option<String>,
) -> Result<(), CallError> {
    let mut pages = client.pages(segments, PAGE_SIZE);
    while let Some(items) = pages.next().await? {
        for item in &items {
            let text = line(item)
                .ok_or_else(|| CallError::Other(format!("GET {}: an item has no name", segments.join("/"))))?;
            println!("{text}");
        }
    }
    Ok(())
}
