//! # libopensharing
//!
//! An embeddable [OpenSharing] / Delta Sharing protocol engine.
//!
//! The core is *sans-IO*: it never touches sockets, files, clocks or threads. A host hands the
//! [`Engine`] a [`Request`] and the current time, and drives the returned [`Exchange`] until it is
//! done. Where the engine needs bytes from storage it yields an [`IoNeed`] and the host answers it
//! with [`Exchange::supply`]. Signed local-store file URLs go through the same loop: the engine
//! checks the signature, the object and the `Range`, answers the head, and hands the host a
//! [`FileGrant`] (`Step::ServeFile`) whose bytes it sends from its store.
//!
//! The exchange loop, answering a discovery request (which needs no IO):
//!
//! ```
//! use opensharing::{Engine, IoResult, Method, Step, Request};
//!
//! let hash = opensharing::auth::token_sha256_hex("secret-token");
//! let config = format!(r#"{{
//!     "endpoint": "https://sharing.example.com/delta-sharing",
//!     "token_signing_key": "a-key-of-at-least-thirty-two-bytes!!",
//!     "stores": {{"lake": {{"kind": "local", "root": "/srv/lake"}}}},
//!     "shares": [{{"name": "sales", "schemas": [{{"name": "eu", "assets": [
//!         {{"type": "delta_table", "name": "orders", "store": "lake", "path": "orders"}}]}}]}}],
//!     "recipients": [{{"name": "acme", "token_sha256": "{hash}", "shares": ["sales"]}}]
//! }}"#);
//! let engine = Engine::from_json(config.as_bytes(), &|_| None)?;
//! let request = Request::new(Method::Get, "/delta-sharing/shares")
//!     .header("Authorization", "Bearer secret-token");
//! let mut exchange = engine.handle(request, 1_700_000_000_000);
//! let (mut status, mut body) = (0, Vec::new());
//! loop {
//!     match exchange.poll() {
//!         // A real host reads the store here (in parallel, answering by id in any order).
//!         Step::Need(id, _need) => exchange.supply(id, IoResult::NotFound)?,
//!         Step::Wait => unreachable!("every need is answered at once above"),
//!         Step::Head(head) => status = head.status,
//!         Step::Body => {
//!             let mut buf = [0u8; 4096];
//!             loop {
//!                 let n = exchange.read(&mut buf);
//!                 if n == 0 { break; }
//!                 body.extend_from_slice(&buf[..n]);
//!             }
//!         }
//!         // A signed local-store file URL: the host sends these bytes from its store.
//!         Step::ServeFile(file) => unreachable!("{file:?} is not a discovery answer"),
//!         Step::Done(audit) => { println!("{}", audit.to_json()); break; }
//!     }
//! }
//! assert_eq!(status, 200);
//! assert!(String::from_utf8(body)?.contains(r#""name":"sales""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [OpenSharing]: https://github.com/OpenSharing-IO/OpenSharing

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// The C ABI's tests (src/ffi/tests.rs) share the integration tests' fixture, which names the
// crate `opensharing`.
#[cfg(test)]
extern crate self as opensharing;

pub mod dataset;
pub mod delta;
pub mod signing;

mod api;
pub mod auth;
pub mod catalog;
pub mod engine;
pub mod exchange;
mod ffi;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
mod iceberg;
mod parquet_guard;
pub mod protocol;
mod router;
mod state;
mod util;
mod vend;

pub use auth::AuditEvent;
pub use catalog::{Catalog, ConfigError};
pub use engine::{Engine, EngineError};
pub use exchange::{
    ByteRange, Exchange, ExchangeError, FileGrant, HttpCall, HttpReply, IoNeed, IoResult, Listing, NeedId, ObjectMeta,
    Step,
};
pub use http::{HeaderText, Headers, Method, Request, ResponseHead, MAX_REQUEST_BODY_BYTES};
pub use signing::SigningError;
