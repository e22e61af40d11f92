//! Reachline's domain core: the things every other crate agrees on.
//!
//! - [`clock`]: the only place the wall clock is read ([`clock::SystemClock`]); everything else
//!   takes a [`clock::Clock`] so expiry, retention and TOTP are testable.
//! - [`config`]: the configuration struct, the single source of truth for every setting.
//! - [`keys`]: the master key file, wrapped data keys and sealing (encryption at rest).
//! - [`return_code`]: the help-seeker's only key, and what the server derives from it.
//! - [`areas`]: police force areas (ONS codes) used for reach figures.
//! - [`vocabulary`]: the closed sets of values (channels, states, senders, wrap-up
//!   categories), each an enum with one string form.

pub mod areas;
pub mod audit;
pub mod clock;
pub mod config;
pub mod disclosure;
pub mod keys;
pub mod opening_hours;
pub mod return_code;
pub mod sealing;
pub mod staff;
pub mod vocabulary;
