//! Wire-level pieces of the protocol: error bodies, pagination, signed tokens and timestamps.

pub mod capabilities;
pub mod error;
pub mod paging;
pub mod predicate;
pub mod query_request;
pub mod signed_token;
pub mod table_tokens;
pub mod timestamp;

pub use error::{ApiError, ErrorCode};
