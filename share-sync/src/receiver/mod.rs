//! The receiving side: the database, `apply`, `status`.

pub mod apply;
mod array_rows;
pub mod db;
pub mod status;
pub mod store;

pub use apply::{apply, ApplyReport};
pub use db::{Backend, ReceiverDb, Role};
