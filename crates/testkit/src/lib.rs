//! Test support for domwatch: a world of sandboxes wired to the production clients and the
//! engine ([`world`], [`world_with`], [`world_with_options`]), a [`FaultProxy`] to put
//! between a client and the system it talks to, and an [`SmtpSink`].

pub mod calls;
pub mod proxy;
pub mod smtp;
mod world;

pub use calls::{is_write, Calls};
pub use proxy::{Answer, Fault, FaultProxy, HttpRequest, Traffic};
pub use smtp::SmtpSink;
pub use world::*;
