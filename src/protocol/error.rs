//! Protocol errors: a status, an `errorCode` and a message, sent as `{"errorCode","message"}`.

use serde::Serialize;

/// The protocol's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: a parameter has a bad value.
    InvalidParameterValue,
    /// 400: the body is not valid JSON or has a field of the wrong type.
    MalformedRequest,
    /// 400: the table uses something this request cannot serve.
    UnsupportedOperation,
    /// 401: missing, wrong or expired token.
    Unauthenticated,
    /// 403: access refused.
    PermissionDenied,
    /// 404: no such share, schema or asset, or no such route.
    ResourceDoesNotExist,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 429: the recipient's rate limit is exceeded.
    ResourceExhausted,
    /// 500: an internal failure; the message is hidden.
    InternalError,
    /// 501: a mode, format or feature this server does not implement.
    NotImplemented,
    /// 502: storage or a catalog could not be reached.
    CatalogError,
}

impl ErrorCode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::UnsupportedOperation => "UNSUPPORTED_OPERATION",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::CatalogError => "CATALOG_ERROR",
        }
    }

    /// The HTTP status of the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameterValue | ErrorCode::MalformedRequest | ErrorCode::UnsupportedOperation => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::ResourceDoesNotExist => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::InternalError => 500,
            ErrorCode::NotImplemented => 501,
            ErrorCode::CatalogError => 502,
        }
    }
}

/// An error answered to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The code; decides the status.
    pub code: ErrorCode,
    /// The message the client sees.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }

    /// 400 `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidParameterValue, message)
    }

    /// 400 `MALFORMED_REQUEST`.
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::MalformedRequest, message)
    }

    /// 404 `RESOURCE_DOES_NOT_EXIST`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ResourceDoesNotExist, message)
    }

    /// 500 `INTERNAL_ERROR`, with the detail kept out of the response.
    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::InternalError, "internal server error")
    }

    /// The one-line JSON body.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            error_code: &'a str,
            message: &'a str,
        }
        serde_json::to_vec(&Body { error_code: self.code.as_str(), message: &self.message }).unwrap_or_default()
    }
}
