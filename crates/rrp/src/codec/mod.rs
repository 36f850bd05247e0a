//! The text codec shared by CNR and ISPAPI: commands out, responses in.

mod command;
mod response;

pub use command::{is_secret_key, Command, CommandValue};
pub use response::{
    normalise_name, CodeClass, Column, PageShortfall, Record, Response, Template,
    EMPTY_DESCRIPTION_PREFIX, HTTP_ERROR_DESCRIPTION, INVALID_DESCRIPTION, TRUNCATED_DESCRIPTION,
};
