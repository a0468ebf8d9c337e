//! A grant for one recipient and prefix: taken from the cache, computed at once, or obtained
//! through the HTTPS calls of a flow that an exchange drives. A fresh grant goes into the cache.

use super::{start, CredentialCache, Flow, FlowStep, Grant, Start, VendError, VendTarget};
use crate::exchange::{HttpCall, IoResult};

/// How getting a grant begins.
pub(crate) enum Obtain {
    /// Cached, or computed without IO.
    Ready(Grant),
    /// Needs HTTPS calls: drive it with [`PendingGrant::advance`].
    Pending(PendingGrant),
}

/// A grant that needs HTTPS calls.
pub(crate) struct PendingGrant {
    flow: Box<dyn Flow>,
    recipient: String,
    store: String,
    prefix: String,
    now_ms: i64,
}

/// The next step of a [`PendingGrant`].
pub(crate) enum Progress {
    /// Send this call and pass its reply to `advance`.
    Call(HttpCall),
    /// The grant (now cached).
    Done(Grant),
}

/// Starts getting a grant for `target` in store `store_name`.
pub(crate) fn obtain(cache: &CredentialCache, target: &VendTarget<'_>, store_name: &str) -> Result<Obtain, VendError> {
    if let Some(grant) = cache.get(target.recipient, store_name, target.prefix, target.now_ms) {
        return Ok(Obtain::Ready(grant));
    }
    match start(target)? {
        Start::Ready(grant) => {
            cache.put(target.recipient, store_name, target.prefix, &grant, target.now_ms);
            Ok(Obtain::Ready(grant))
        }
        Start::Flow(flow) => Ok(Obtain::Pending(PendingGrant {
            flow,
            recipient: target.recipient.to_string(),
            store: store_name.to_string(),
            prefix: target.prefix.to_string(),
            now_ms: target.now_ms,
        })),
    }
}

impl PendingGrant {
    /// Advances with the host's answer to the previous call (`None` before the first).
    pub fn advance(&mut self, cache: &CredentialCache, input: Option<IoResult>) -> Result<Progress, VendError> {
        let reply = match input {
            None => None,
            Some(IoResult::Http(reply)) => Some(reply),
            Some(IoResult::Failed(why)) => {
                return Err(VendError::provider("unreachable", format!("credential service call failed: {why}")))
            }
            Some(_) => {
                return Err(VendError::provider(
                    "no reply",
                    "the host answered a credential call with something other than an HTTP reply",
                ))
            }
        };
        match self.flow.advance(reply)? {
            FlowStep::Call(call) => Ok(Progress::Call(call)),
            FlowStep::Done(grant) => {
                cache.put(&self.recipient, &self.store, &self.prefix, &grant, self.now_ms);
                Ok(Progress::Done(grant))
            }
        }
    }
}
