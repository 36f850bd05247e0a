//! Test support for domwatch: a world of sandboxes wired to the production clients and the
//! engine ([`world`], [`world_with`], [`world_with_options`]), a [`FaultProxy`] to put
//! between a client and the system it talks to, and an [`SmtpSink`]. [`parts`] holds the
//! pieces of an engine set-up for tests that build their own; [`process`] runs the real
//! binary's sandboxes as child processes (the cycle benchmark, CLI tests).

pub mod calls;
pub mod databases;
pub mod parts;
pub mod process;
pub mod proxy;
pub mod smtp;
mod world;

pub use calls::{is_write, Calls};
pub use databases::{Server, TestDatabase, TestStore};
pub use parts::{
    apply_cycle, assert_every_account_read, assert_no_notice_errors, fix_once, fixed_clock,
    rrp_config, sqlite_store,
};
pub use process::{
    free_port, wait_for_port, Running, SandboxLatency, SandboxPortfolio, SandboxProcesses,
};
pub use proxy::{Answer, Fault, FaultProxy, HttpRequest, Traffic};
pub use smtp::SmtpSink;
pub use world::*;
