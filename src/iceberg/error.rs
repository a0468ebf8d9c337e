//! Errors in the Iceberg REST shape: `{"error":{"message","type","code"}}`, where `type` is the
//! name of the Iceberg exception a Java client raises for it (a Java client tells a missing
//! namespace from a missing table by `type`; pyiceberg goes by status and call).

use serde::Serialize;

use crate::api::json_head;
use crate::exchange::{Body, Response};
use crate::protocol::{ApiError, ErrorCode};

/// An error answered on the Iceberg surface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IcebergError {
    /// The HTTP status.
    pub status: u16,
    /// The Iceberg exception name.
    pub kind: &'static str,
    /// The message the client sees.
    pub message: String,
    /// The protocol error code for the audit event.
    pub code: ErrorCode,
    /// What went wrong, for the provider's log only.
    pub detail: Option<String>,
}

impl IcebergError {
    fn new(code: ErrorCode, kind: &'static str, message: impl Into<String>) -> IcebergError {
        IcebergError { status: code.status(), kind, message: message.into(), code, detail: None }
    }

    /// 400 `BadRequestException`.
    pub fn bad_request(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::InvalidParameterValue, "BadRequestException", message)
    }

    /// 403 `ForbiddenException`.
    pub fn forbidden(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::PermissionDenied, "ForbiddenException", message)
    }

    /// 404 `NoSuchNamespaceException`.
    pub fn no_such_namespace(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::ResourceDoesNotExist, "NoSuchNamespaceException", message)
    }

    /// 404 `NoSuchTableException`.
    pub fn no_such_table(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::ResourceDoesNotExist, "NoSuchTableException", message)
    }

    /// 404 `NotFoundException` (no such route or warehouse).
    pub fn not_found(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::ResourceDoesNotExist, "NotFoundException", message)
    }

    /// 405, for a write on a read-only resource.
    pub fn method_not_allowed(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::MethodNotAllowed, "MethodNotAllowedException", message)
    }

    /// 501 `UnsupportedOperationException`.
    pub fn not_implemented(message: impl Into<String>) -> IcebergError {
        IcebergError::new(ErrorCode::NotImplemented, "UnsupportedOperationException", message)
    }

    /// 502 `ServiceFailureException`: storage or a credential service failed.
    pub fn storage(message: impl Into<String>, detail: impl Into<String>) -> IcebergError {
        let mut e = IcebergError::new(ErrorCode::CatalogError, "ServiceFailureException", message);
        e.detail = Some(detail.into());
        e
    }

    /// The same error in the Iceberg shape; the exception name follows the status.
    pub fn from_api(e: ApiError, detail: Option<String>) -> IcebergError {
        let kind = match e.code.status() {
            400 => "BadRequestException",
            401 => "NotAuthorizedException",
            403 => "ForbiddenException",
            404 => "NotFoundException",
            405 => "MethodNotAllowedException",
            429 => "RateLimitedException",
            501 => "UnsupportedOperationException",
            _ => "ServiceFailureException",
        };
        IcebergError { status: e.code.status(), kind, message: e.message, code: e.code, detail }
    }

    /// The one-line JSON body.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Inner<'a> {
            message: &'a str,
            r#type: &'a str,
            code: u16,
        }
        #[derive(Serialize)]
        struct Outer<'a> {
            error: Inner<'a>,
        }
        let error = Inner { message: &self.message, r#type: self.kind, code: self.status };
        serde_json::to_vec(&Outer { error }).unwrap_or_default()
    }

    /// The response: status and JSON body. (A 401 gets its `WWW-Authenticate` from the
    /// authentication shared by both surfaces.)
    pub fn response(self) -> Response {
        let body = self.body();
        let head = json_head(self.status, body.len());
        Response { head, body: Body::Bytes(body), error_code: Some(self.code.as_str()), detail: self.detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_iceberg_shape() {
        let e = IcebergError::no_such_table("table 'd.t' not found");
        let body: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"message": "table 'd.t' not found", "type": "NoSuchTableException", "code": 404}})
        );
        let r = IcebergError::from_api(ApiError::new(ErrorCode::Unauthenticated, "no"), None).response();
        assert_eq!((r.head.status, r.error_code), (401, Some("UNAUTHENTICATED")));
        let limited = IcebergError::from_api(ApiError::new(ErrorCode::ResourceExhausted, "slow down"), None);
        assert_eq!((limited.status, limited.kind), (429, "RateLimitedException"));
        let mapped = IcebergError::from_api(ApiError::invalid("bad"), None);
        assert_eq!((mapped.status, mapped.kind), (400, "BadRequestException"));
    }
}
