//! The help-seeker's intake as one form part, shared by chat, secure messages and callbacks:
//! the confidentiality statement they confirm having read (`statement=read`) and the
//! optional questions (`who`, `age`, `area`), each offered by `templates/intake.html`'s
//! fields and read here once.

use crate::site::Fields;
use crate::state::AppState;
use reachline_app::intake::Intake;
use reachline_core::areas::{self, Area};

/// The confidentiality statement version shown now: a published one, else the built-in.
pub async fn statement_version(state: &AppState) -> String {
    let published = match state.store.statement_latest().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the published statement; showing the built-in one");
            None
        }
    };
    match published {
        Some(s) => s.version.to_string(),
        None => state
            .content
            .locale(&state.config.site.default_locale)
            .page("confidentiality")
            .and_then(|p| p.version.clone())
            .unwrap_or_default(),
    }
}

/// Whether the help-seeker confirmed reading the statement.
pub fn statement_confirmed(fields: &Fields) -> bool {
    fields.get("statement") == Some("read")
}

/// The posted answers with the statement version shown now.
pub async fn posted(state: &AppState, fields: &Fields) -> Intake {
    Intake::from_answers(
        fields.get("who"),
        fields.get("age"),
        fields.get("area"),
        statement_version(state).await,
    )
}

/// The intake part of a form, as `templates/contact_statement.html` and
/// `templates/contact_about.html` show it: empty, or as posted when a form comes back.
pub struct IntakeForm {
    pub areas: Vec<Area>,
    pub who: String,
    pub age: String,
    pub area: String,
    pub statement: bool,
    /// The statement is the field the page's error is about.
    pub statement_invalid: bool,
    /// The id of the page's error summary (for `aria-describedby`).
    pub error_id: &'static str,
    pub version: String,
}

impl IntakeForm {
    pub async fn new(
        state: &AppState,
        posted: Option<&Fields>,
        statement_invalid: bool,
        error_id: &'static str,
    ) -> IntakeForm {
        let get = |name: &str| {
            posted
                .and_then(|f| f.get(name))
                .unwrap_or_default()
                .to_string()
        };
        IntakeForm {
            areas: areas::all(),
            who: get("who"),
            age: get("age"),
            area: get("area"),
            statement: posted.is_some_and(statement_confirmed),
            statement_invalid,
            error_id,
            version: statement_version(state).await,
        }
    }
}
