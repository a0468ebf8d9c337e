//! The read-only IAM session policy for one S3 prefix.

use serde_json::json;

/// The longest packed session policy STS accepts.
pub(super) const MAX_POLICY_BYTES: usize = 2048;

/// Escapes IAM policy metacharacters so that `text` matches itself: `*`, `?` and `$` become
/// `${*}`, `${?}` and `${$}`.
pub(super) fn escape_iam(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '$' => {
                out.push_str("${");
                out.push(c);
                out.push('}');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`.
pub(super) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A policy that allows reading the objects under `prefix/` in `bucket` and listing that prefix,
/// and nothing else. The session's rights are the intersection of this and the role's policy.
pub(super) fn read_only_prefix(partition: &str, bucket: &str, prefix: &str) -> String {
    let prefix = escape_iam(prefix);
    let bucket = escape_iam(bucket);
    // Only `prefix/…`: listing with the bare `prefix` would also name the objects of a sibling
    // such as `prefix2/`.
    let objects = if prefix.is_empty() { "*".to_string() } else { format!("{prefix}/*") };
    let listable = vec![objects.clone()];
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [format!("arn:{partition}:s3:::{bucket}/{objects}")]
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [format!("arn:{partition}:s3:::{bucket}")],
                "Condition": {"StringLike": {"s3:prefix": listable}}
            }
        ]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metacharacters_match_themselves() {
        assert_eq!(escape_iam("a*b?c$d"), "a${*}b${?}c${$}d");
        assert_eq!(escape_iam("plain/path"), "plain/path");
    }

    #[test]
    fn policy_allows_reading_and_listing_the_prefix_only() {
        let policy: serde_json::Value = serde_json::from_str(&read_only_prefix("aws", "bkt", "t/x*y")).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Action"], json!(["s3:GetObject", "s3:GetObjectVersion"]));
        assert_eq!(statements[0]["Resource"], json!(["arn:aws:s3:::bkt/t/x${*}y/*"]));
        assert_eq!(statements[1]["Action"], json!(["s3:ListBucket"]));
        assert_eq!(statements[1]["Resource"], json!(["arn:aws:s3:::bkt"]));
        assert_eq!(statements[1]["Condition"]["StringLike"]["s3:prefix"], json!(["t/x${*}y/*"]));
        assert!(statements.iter().all(|s| s["Effect"] == "Allow"));
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
