//! The sandbox world the engine scenario tests run in lives in `domwatch-testkit`.

#![allow(unused_imports)]

pub use domwatch_testkit::*;
