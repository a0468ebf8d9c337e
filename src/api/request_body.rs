//! Requests whose body the host has not read yet: the body is asked for only once the request
//! is authenticated and routed, so an anonymous client can never make the host buffer one.

use std::sync::Arc;

use super::{dispatch, error_response, Ctx, Dispatch};
use crate::engine::EngineState;
use crate::exchange::{IoNeed, IoResult, Operation, Response, Step};
use crate::http::{Request, MAX_REQUEST_BODY_BYTES};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::Route;

/// Waits for the request body, then runs the request's endpoint.
pub(super) struct AwaitBody {
    state: Arc<EngineState>,
    request: Request,
    route: Route,
    now_ms: i64,
    /// The recipient's index when it authenticated with a JWT; `None` for an opaque token.
    federated: Option<usize>,
    /// The endpoint's operation, once the body is in.
    endpoint: Option<Box<dyn Operation>>,
}

impl AwaitBody {
    /// `request` has been authenticated (as recipient `federated`, when by a JWT) and routed
    /// to `route`.
    pub(super) fn new(
        state: Arc<EngineState>,
        request: Request,
        route: Route,
        now_ms: i64,
        federated: Option<usize>,
    ) -> AwaitBody {
        AwaitBody { state, request, route, now_ms, federated, endpoint: None }
    }

    /// Runs the endpoint on the request, now with its body.
    fn run_endpoint(&mut self) -> Step {
        let recipients = &self.state.catalog.recipients;
        // The same token at the same time against the same catalog: this cannot fail, and is
        // answered like any refused token if it ever did.
        let recipient = match self.federated {
            Some(index) => recipients.get(index).ok_or(crate::auth::AuthError::Unknown),
            None => recipients.authenticate(self.request.header_value("authorization"), self.now_ms),
        };
        let Ok(recipient) = recipient else {
            return Step::Respond(error_response(&ApiError::new(ErrorCode::Unauthenticated, "invalid token")));
        };
        let ctx = Ctx { state: &self.state, recipient, request: &self.request, now_ms: self.now_ms };
        match dispatch(&ctx, &self.route) {
            Dispatch::Respond(response) => Step::Respond(response),
            Dispatch::Operate(mut op) => {
                let step = op.resume(None);
                self.endpoint = Some(op);
                step
            }
        }
    }
}

impl Operation for AwaitBody {
    fn resume(&mut self, input: Option<IoResult>) -> Step {
        if let Some(endpoint) = &mut self.endpoint {
            return endpoint.resume(input);
        }
        match input {
            None => Step::Need(IoNeed::RequestBody { max_bytes: MAX_REQUEST_BODY_BYTES }),
            Some(IoResult::Bytes(body)) if body.len() <= MAX_REQUEST_BODY_BYTES => {
                self.request.body = body;
                self.request.body_pending = false;
                self.run_endpoint()
            }
            Some(IoResult::Bytes(_)) => Step::Respond(too_large()),
            Some(_) => Step::Respond(error_response(&ApiError::malformed("The request body could not be read"))),
        }
    }
}

/// 413 with a protocol error body.
fn too_large() -> Response {
    let mut response = error_response(&ApiError::malformed("The request body is larger than 1 MiB"));
    response.head.status = 413;
    response
}
