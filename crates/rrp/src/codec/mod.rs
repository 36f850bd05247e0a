//! The text codec shared by CNR and ISPAPI: commands out, responses in.

mod command;

pub use command::{is_secret_key, Command, CommandValue};
