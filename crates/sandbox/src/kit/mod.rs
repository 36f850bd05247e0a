//! The server kit every sandbox stands on: the listener and its graceful shutdown
//! ([`server`]), the state file ([`state_file`]), the `/_sandbox/event` and
//! `/_sandbox/state` plumbing ([`admin`]), the fault decision ([`faults`]), the answer delay
//! ([`latency`]) and the call counters ([`counters`]). The registrar, Smart-NIC and WHMCS sandboxes add only their
//! protocol and their state.

pub mod admin;
pub mod counters;
pub mod faults;
pub mod latency;
pub mod server;
pub mod state_file;

pub use counters::CallCounter;
pub use faults::{Fault, FaultPlan};
pub use latency::{delay_answers, AnswerDelay};
pub use server::Server;
pub use state_file::StateFile;
