//! Requests whose body the host has not read yet: the body is asked for only once the request
//! is authenticated and routed, so an anonymous client can never make the host buffer one.

use super::surface::Routed;
use super::{error_response, Ctx, Dispatch, Surface};
use crate::auth::AuditEvent;
use crate::exchange::{IoNeed, IoResult, Operation, Response, Turn};
use crate::http::MAX_REQUEST_BODY_BYTES;
use crate::protocol::{ApiError, ErrorCode};

/// Waits for the request body, then runs the request's endpoint on surface `S`.
pub(super) struct AwaitBody<S: Surface> {
    routed: Routed<S>,
    /// The recipient's index when it authenticated with a JWT; `None` for an opaque token.
    federated: Option<usize>,
    /// The endpoint's operation, once the body is in.
    endpoint: Option<Box<dyn Operation>>,
}

impl<S: Surface> AwaitBody<S> {
    /// The request of `routed` has been authenticated (as recipient `federated`, when by a JWT).
    pub(super) fn new(routed: Routed<S>, federated: Option<usize>) -> AwaitBody<S> {
        AwaitBody { routed, federated, endpoint: None }
    }

    /// Runs the endpoint on the request, now with its body.
    fn run_endpoint(&mut self) -> Turn {
        let Routed { state, request, route, now_ms } = &self.routed;
        let recipients = &state.catalog.recipients;
        // The same token at the same time against the same catalog: this cannot fail, and is
        // answered like any refused token if it ever did.
        let recipient = match self.federated {
            Some(index) => recipients.get(index).ok_or(crate::auth::AuthError::Unknown),
            None => recipients.authenticate(request.header_value("authorization"), *now_ms),
        };
        let Ok(recipient) = recipient else {
            return Turn::Respond(S::error(ApiError::new(ErrorCode::Unauthenticated, "invalid token")));
        };
        let ctx = Ctx { state, recipient, request, now_ms: *now_ms };
        match S::dispatch(&ctx, route) {
            Dispatch::Respond(response) => Turn::Respond(response),
            Dispatch::Operate(mut op) => {
                let step = op.resume(None);
                self.endpoint = Some(op);
                step
            }
        }
    }
}

impl<S: Surface> Operation for AwaitBody<S> {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        if let Some(endpoint) = &mut self.endpoint {
            return endpoint.resume(input);
        }
        match input {
            None => Turn::Need(IoNeed::RequestBody { max_bytes: MAX_REQUEST_BODY_BYTES }),
            Some(IoResult::Bytes(body)) if body.len() <= MAX_REQUEST_BODY_BYTES => {
                self.routed.request.body = body.into();
                self.routed.request.body_pending = false;
                self.run_endpoint()
            }
            Some(IoResult::Bytes(_)) => Turn::Respond(S::too_large()),
            Some(_) => Turn::Respond(S::error(ApiError::malformed("The request body could not be read"))),
        }
    }

    fn note(&self, audit: &mut AuditEvent) {
        if let Some(endpoint) = &self.endpoint {
            endpoint.note(audit);
        }
    }
}

/// 413 in the Delta Sharing shape.
pub(super) fn too_large() -> Response {
    let mut response = error_response(&ApiError::malformed("The request body is larger than 1 MiB"));
    response.head.status = 413;
    response
}
