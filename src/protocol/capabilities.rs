//! The `delta-sharing-capabilities` header: what the client can read, and what format the
//! server answers in (Delta Sharing §1.8, OpenSharing §2.3).

use std::collections::BTreeSet;

use super::ApiError;
use super::ErrorCode;

/// A response format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResponseFormat {
    /// `parquet`: `file` lines with `url`, the default.
    Parquet,
    /// `delta`: `deltaSingleAction` lines a Delta reader can replay.
    Delta,
}

impl ResponseFormat {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseFormat::Parquet => "parquet",
            ResponseFormat::Delta => "delta",
        }
    }
}

/// What a request's capabilities header says. Keys and values are case-insensitive; unknown
/// keys are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The formats the client accepts, in the order given (empty: no header, so parquet).
    pub formats: Vec<ResponseFormat>,
    /// Reader features the client supports, lower-cased (`deletionvectors`, `columnmapping`, …).
    pub reader_features: BTreeSet<String>,
    /// Whether the client asked for a trailing `endStreamAction`.
    pub include_end_stream_action: bool,
}

/// Table features that need a capable reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFeature {
    /// `delta.enableDeletionVectors` is on.
    DeletionVectors,
    /// `delta.columnMapping.mode` is not `none`.
    ColumnMapping,
    /// The schema has `timestamp_ntz` columns (reader feature `timestampNtz`): the parquet
    /// format's schema parser does not know the type.
    TimestampNtz,
}

impl TableFeature {
    /// The reader-feature name a client lists for it.
    pub fn reader_name(self) -> &'static str {
        match self {
            TableFeature::DeletionVectors => "deletionvectors",
            TableFeature::ColumnMapping => "columnmapping",
            TableFeature::TimestampNtz => "timestampntz",
        }
    }

    /// Whether a client must list it in `readerfeatures`. `timestampntz` only decides the
    /// format: Delta readers know the type, and the Python client leaves it out of its
    /// change-feed header.
    fn must_be_listed(self) -> bool {
        self != TableFeature::TimestampNtz
    }
}

impl Capabilities {
    /// Parses the header value (`None`: no header).
    pub fn parse(header: Option<&str>) -> Result<Capabilities, ApiError> {
        let mut caps = Capabilities::default();
        let Some(header) = header else { return Ok(caps) };
        for pair in header.split(';') {
            let Some((key, value)) = pair.split_once('=') else { continue };
            let values = value.split(',').map(|v| v.trim().to_ascii_lowercase()).filter(|v| !v.is_empty());
            match key.trim().to_ascii_lowercase().as_str() {
                "responseformat" => {
                    let mut known = false;
                    for v in values {
                        let format = match v.as_str() {
                            "parquet" => ResponseFormat::Parquet,
                            "delta" => ResponseFormat::Delta,
                            _ => continue,
                        };
                        known = true;
                        if !caps.formats.contains(&format) {
                            caps.formats.push(format);
                        }
                    }
                    if !known {
                        return Err(ApiError::invalid(format!(
                            "Unsupported responseformat '{}': use parquet or delta",
                            value.trim()
                        )));
                    }
                }
                "readerfeatures" => caps.reader_features.extend(values),
                "includeendstreamaction" => caps.include_end_stream_action = value.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        Ok(caps)
    }

    /// Chooses the response format for a table that uses `features`.
    ///
    /// One format asked: that one. Both: parquet unless the table needs delta. A feature the
    /// client cannot read is refused (400, naming it); parquet for a table that needs delta is
    /// refused with "Unsupported Delta Table Properties", as the reference server does.
    pub fn negotiate(&self, features: &[TableFeature]) -> Result<ResponseFormat, ApiError> {
        let needs_delta = !features.is_empty();
        let format = match self.formats.as_slice() {
            [] => ResponseFormat::Parquet,
            [only] => *only,
            many if needs_delta && many.contains(&ResponseFormat::Delta) => ResponseFormat::Delta,
            many if many.contains(&ResponseFormat::Parquet) => ResponseFormat::Parquet,
            _ => ResponseFormat::Delta,
        };
        if format == ResponseFormat::Parquet && needs_delta {
            let names: Vec<_> = features.iter().map(|f| f.reader_name()).collect();
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Unsupported Delta Table Properties: the table uses {} and can only be read with responseformat=delta",
                    names.join(", ")
                ),
            ));
        }
        if let Some(missing) =
            features.iter().find(|f| f.must_be_listed() && !self.reader_features.contains(f.reader_name()))
        {
            return Err(ApiError::invalid(format!(
                "Unsupported Delta Table Properties: the table uses {} but the client did not list it in readerfeatures",
                missing.reader_name()
            )));
        }
        Ok(format)
    }

    /// The response header value for `format`.
    pub fn response_header(&self, format: ResponseFormat) -> String {
        if self.include_end_stream_action {
            format!("responseformat={};includeendstreamaction=true", format.as_str())
        } else {
            format!("responseformat={}", format.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseFormat::*;

    #[test]
    fn parses_the_python_clients_headers() {
        let c = Capabilities::parse(Some(
            "responseformat=delta,parquet;readerfeatures=deletionvectors,columnmapping,timestampntz",
        ))
        .unwrap();
        assert_eq!(c.formats, [Delta, Parquet]);
        assert!(c.reader_features.contains("columnmapping"));
        let c = Capabilities::parse(Some("ResponseFormat=Parquet;IncludeEndStreamAction=TRUE;x=y")).unwrap();
        assert_eq!((c.formats.as_slice(), c.include_end_stream_action), (&[Parquet][..], true));
        assert!(Capabilities::parse(Some("responseformat=csv")).is_err());
        assert_eq!(Capabilities::parse(None).unwrap(), Capabilities::default());
    }

    #[test]
    fn negotiates_like_the_reference() {
        let both =
            Capabilities::parse(Some("responseformat=delta,parquet;readerfeatures=deletionvectors,columnmapping"))
                .unwrap();
        assert_eq!(both.negotiate(&[]).unwrap(), Parquet);
        assert_eq!(both.negotiate(&[TableFeature::ColumnMapping]).unwrap(), Delta);
        let delta = Capabilities::parse(Some("responseformat=delta")).unwrap();
        assert_eq!(delta.negotiate(&[]).unwrap(), Delta);
        let e = delta.negotiate(&[TableFeature::DeletionVectors]).unwrap_err();
        assert!(e.message.contains("deletionvectors"), "{}", e.message);
        let e = Capabilities::default().negotiate(&[TableFeature::ColumnMapping]).unwrap_err();
        assert!(e.message.starts_with("Unsupported Delta Table Properties"));
        assert_eq!(both.response_header(Parquet), "responseformat=parquet");
        assert_eq!(both.negotiate(&[TableFeature::TimestampNtz]).unwrap(), Delta);
        assert_eq!(delta.negotiate(&[TableFeature::TimestampNtz]).unwrap(), Delta, "need not be listed");
        let parquet = Capabilities::parse(Some("responseformat=parquet")).unwrap();
        assert!(parquet.negotiate(&[TableFeature::TimestampNtz]).unwrap_err().message.contains("timestampntz"));
    }
}
