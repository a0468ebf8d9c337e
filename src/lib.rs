//! # libopensharing
//!
//! An embeddable [OpenSharing] / Delta Sharing protocol engine.
//!
//! The core is *sans-IO*: it never touches sockets, files, clocks or threads. A host hands the
//! [`Engine`] a [`Request`] and the current time, and drives the returned [`Exchange`] until it is
//! done. Where the engine needs bytes from storage it yields an [`IoNeed`] and the host answers it
//! with [`Exchange::supply`].
//!
//! [OpenSharing]: https://github.com/OpenSharing-IO/OpenSharing

pub mod dataset;
pub mod delta;
pub mod signing;

mod api;
pub mod auth;
pub mod catalog;
pub mod engine;
pub mod exchange;
pub mod ffi;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
mod iceberg;
pub mod protocol;
pub mod router;
mod vend;

pub use catalog::{Catalog, ConfigError};
pub use engine::{Engine, EngineError};
pub use exchange::{
    ByteRange, Exchange, ExchangeError, HttpCall, HttpReply, IoNeed, IoResult, Listing, NeedId, ObjectMeta, Poll,
};
pub use http::{Method, Request, ResponseHead, MAX_REQUEST_BODY_BYTES};
