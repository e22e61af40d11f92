//! What a use case can answer instead of doing what was asked. The web maps each to a page
//! or JSON body, the command line to a message and a non-zero exit; the cause of a store
//! failure goes to the log (never a person's data), the user gets a calm message.

use reachline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was asked for does not exist, or is not this person's to act on.
    #[error("not found")]
    NotFound,
    /// The request cannot be done as asked; the code (a stable message id) says why.
    #[error("refused: {0}")]
    Invalid(&'static str),
    /// The request cannot be done as asked; the text says why in the operator's terms (a
    /// setting that does not validate).
    #[error("refused: {0}")]
    Rejected(String),
    /// Not this person's to do, whatever their role allows (the two-person rule); the code
    /// names why.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// It exists already (a username, a name).
    #[error("that already exists")]
    Conflict,
    /// The store failed; nothing was changed (the action and its audit entry roll back
    /// together).
    #[error(transparent)]
    Store(StoreError),
    /// Another part of the service failed (a worker task); nothing was changed.
    #[error("internal failure: {0}")]
    Internal(String),
    /// Too many attempts of this kind lately (wrong codes); try again in a minute.
    #[error("too many attempts; try again later")]
    Throttled,
    /// The service is at its limit for this kind of work now; try again shortly.
    #[error("the service is busy")]
    Busy,
    /// As many requests of this kind wait as the service takes (a configured bound on what
    /// anonymous visitors can pile up); another channel may still be open.
    #[error("as many requests of this kind wait as the service takes")]
    Full,
}

impl From<crate::workbook::WorkbookError> for Error {
    fn from(e: crate::workbook::WorkbookError) -> Self {
        use crate::workbook::WorkbookError;
        match e {
            WorkbookError::Store(e) => Error::from(e),
            WorkbookError::Throttled => Error::Throttled,
            WorkbookError::Busy => Error::Busy,
            WorkbookError::Conflict => Error::Conflict,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Error::Conflict,
            e => Error::Store(e),
        }
    }
}
