//! Authentication of federated recipients, on every surface: a bearer token that matched no
//! opaque token and has the shape of a JWT is verified against its issuer's keys. When the keys
//! are not cached, the request becomes an operation that first fetches them through the host's
//! `Http` need, then runs the route's handler.

use super::request_body::AwaitBody;
use super::surface::{unauthenticated, Routed, Surface};
use super::{Ctx, Dispatch};
use crate::auth::oidc::{identify, FetchStep, JwksFetch, Refusal, Verdict, Verified};
use crate::auth::{bearer_token, AuditEvent, AuthError};
use crate::exchange::{Exchange, IoNeed, IoResult, Operation, Turn};
use crate::protocol::ApiError;

/// Who the token turned out to be, for the audit event.
#[derive(Default)]
struct Noted {
    recipient: Option<String>,
    claimed: Option<(String, String)>,
}

impl Noted {
    /// Moves what was noted into `audit` (the exchange is built after authentication).
    fn into_audit(self, audit: &mut AuditEvent) {
        if self.recipient.is_some() {
            audit.auth = Some("oidc");
            audit.recipient = self.recipient;
        }
        if let Some((iss, sub)) = self.claimed {
            (audit.iss, audit.sub) = (Some(iss), Some(sub));
        }
    }

    /// Copies what was noted into `audit` (from an operation, after each step).
    fn write(&self, audit: &mut AuditEvent) {
        if let Some(name) = &self.recipient {
            audit.recipient = Some(name.clone());
            audit.auth = Some("oidc");
        }
        if let Some((iss, sub)) = &self.claimed {
            audit.iss = Some(iss.clone());
            audit.sub = Some(sub.clone());
        }
    }
}

/// Authenticates a routed request, whose bearer token (with SHA-256 `hash`) matched no opaque
/// token, as a federated recipient, and runs its route for it.
pub(super) fn federated<S: Surface>(
    routed: Routed<S>,
    head_only: bool,
    mut audit: AuditEvent,
    hash: [u8; 32],
) -> Exchange {
    let mut noted = Noted::default();
    match verdict(&routed, &hash) {
        Verdict::Fetch(issuer, fetch) => {
            let op = Authenticate { routed, hash, issuer, phase: Phase::Fetching(fetch), noted };
            Exchange::operating(Box::new(op), head_only, audit)
        }
        verdict => {
            let dispatched = admit(&routed, verdict, None, &mut noted);
            noted.into_audit(&mut audit);
            dispatched.into_exchange(head_only, audit)
        }
    }
}

/// What the request's bearer token (with SHA-256 `hash`) is, as a JWT.
fn verdict<S: Surface>(routed: &Routed<S>, hash: &[u8; 32]) -> Verdict {
    let token = routed.request.header_value("authorization").and_then(bearer_token).unwrap_or_default();
    let state = &routed.state;
    identify(&state.catalog.federation, &state.oidc, token, hash, routed.now_ms)
}

/// Runs the route for a verified token, or answers 401 with the reason.
fn admit<S: Surface>(routed: &Routed<S>, verdict: Verdict, fetch_error: Option<String>, noted: &mut Noted) -> Dispatch {
    let refused = |refusal: Refusal, noted: &mut Noted| {
        noted.claimed = refusal.claimed;
        let detail = match fetch_error {
            Some(e) => format!("oidc: {} ({e})", refusal.reason),
            None => format!("oidc: {}", refusal.reason),
        };
        Dispatch::Respond(unauthenticated::<S>(AuthError::Unknown, detail))
    };
    let Verified { recipient, iss, sub, .. } = match verdict {
        Verdict::Verified(verified) => verified,
        Verdict::Refused(refusal) => return refused(refusal, noted),
        // Only after a fetch that just ended: the key cache refuses a second one within a minute.
        Verdict::Fetch(..) => {
            let reason = "the keys were fetched and are still missing".into();
            return refused(Refusal { reason, claimed: None }, noted);
        }
    };
    let Routed { state, request, route, now_ms } = routed;
    let claimed = Some((iss, sub));
    let index = recipient;
    let Some(recipient) = state.catalog.recipients.get(index) else {
        return refused(Refusal { reason: "recipient index out of range".into(), claimed }, noted);
    };
    if recipient.expired(*now_ms) {
        return Dispatch::Respond(unauthenticated::<S>(AuthError::Expired, "oidc: the recipient has expired".into()));
    }
    noted.claimed = claimed;
    noted.recipient = Some(recipient.name.clone());
    if let Err(refusal) = super::admission::admit::<S>(&state.catalog, recipient, request, *now_ms) {
        return Dispatch::Respond(refusal);
    }
    if request.body_pending && S::reads_body(route) {
        return Dispatch::Operate(Box::new(AwaitBody::new(routed.clone(), Some(index))));
    }
    S::dispatch(&Ctx { state, recipient, request, now_ms: *now_ms }, route)
}

enum Phase {
    Fetching(JwksFetch),
    Admitted(Box<dyn Operation>),
    Over,
}

/// Fetches an issuer's keys, then authenticates and runs the route's handler.
struct Authenticate<S: Surface> {
    routed: Routed<S>,
    hash: [u8; 32],
    issuer: usize,
    phase: Phase,
    noted: Noted,
}

impl<S: Surface> Operation for Authenticate<S> {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        let fetch = match &mut self.phase {
            Phase::Admitted(op) => return op.resume(input),
            Phase::Over => return Turn::Respond(S::error(ApiError::internal())),
            Phase::Fetching(fetch) => fetch,
        };
        let result = match fetch.advance(input) {
            FetchStep::Call(call) => return Turn::Need(IoNeed::Http(call)),
            FetchStep::Done(result) => result,
        };
        let fetch_error = self.routed.state.oidc.fetched(self.issuer, result, self.routed.now_ms).err();
        let verdict = verdict(&self.routed, &self.hash);
        let dispatched = admit(&self.routed, verdict, fetch_error, &mut self.noted);
        match dispatched {
            Dispatch::Respond(response) => {
                self.phase = Phase::Over;
                Turn::Respond(response)
            }
            Dispatch::Operate(mut op) => {
                let step = op.resume(None);
                self.phase = Phase::Admitted(op);
                step
            }
        }
    }

    fn note(&self, audit: &mut AuditEvent) {
        // The identity is noted once, when authentication ends; later steps are the endpoint's.
        if audit.iss.is_none() {
            self.noted.write(audit);
        }
        if let Phase::Admitted(op) = &self.phase {
            op.note(audit);
        }
    }
}
