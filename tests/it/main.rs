//! Integration tests: one binary, real servers on free ports (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod architecture;
mod callbacks;
mod chat;
mod common;
mod console;
mod conversations;
mod deploy;
mod deterrence;
mod operations;
mod reporting;
mod site;
mod telephony;
