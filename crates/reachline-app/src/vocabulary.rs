//! The helpline's shared vocabulary: the values a help-seeker's optional answers and a
//! contact's wrap-up may take, as stored and as reported. The web's forms and the console's
//! wrap-up offer exactly these; reporting and demo data count exactly these.

pub use reachline_core::vocabulary::{
    Action, AgeGroup, Arrested, Concern, ConcernCategory, Destination, Signpost, Unknown, Who,
};

/// Who is asking for help.
pub const WHO: &[&str] = Who::NAMES;
pub const AGE_GROUPS: &[&str] = AgeGroup::NAMES;
pub const CONCERNS: &[&str] = Concern::NAMES;
/// Protective actions agreed.
pub const ACTIONS: &[&str] = Action::NAMES;
pub const SIGNPOSTS: &[&str] = Signpost::NAMES;
/// Whether the person has been arrested or is under investigation.
pub const ARRESTED: &[&str] = Arrested::NAMES;
