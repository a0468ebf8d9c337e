//! Building responses: one-line JSON bodies and protocol errors.

use serde::Serialize;

use crate::exchange::{Body, Response};
use crate::http::{ResponseHead, CONTENT_TYPE_JSON};
use crate::protocol::ApiError;

/// A 200 response with a one-line JSON body.
pub(crate) fn json_response<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    // Room for a typical discovery answer, so that it is written without growing.
    let mut body = Vec::with_capacity(512);
    serde_json::to_writer(&mut body, value).map_err(|_| ApiError::internal())?;
    Ok(Response { head: json_head(200, body.len()), body: Body::Bytes(body), error_code: None, detail: None })
}

/// The error's status and `{"errorCode","message"}` body.
pub(crate) fn error_response(error: &ApiError) -> Response {
    let body = error.body();
    Response {
        head: json_head(error.code.status(), body.len()),
        body: Body::Bytes(body),
        error_code: Some(error.code.as_str()),
        detail: None,
    }
}

/// A JSON response head with its length.
pub(crate) fn json_head(status: u16, len: usize) -> ResponseHead {
    ResponseHead {
        status,
        headers: vec![
            ("Content-Type".into(), CONTENT_TYPE_JSON.into()),
            ("Content-Length".into(), len.to_string().into()),
        ],
    }
}
