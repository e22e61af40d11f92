//! The helpline's shared vocabulary: the values a help-seeker's optional answers and a
//! contact's wrap-up may take, as stored and as reported. The web's forms and the console's
//! wrap-up offer exactly these; reporting and demo data count exactly these.

/// Who is asking for help.
pub const WHO: &[&str] = &["self", "someone-else", "professional"];
pub const AGE_GROUPS: &[&str] = &["adult", "under-18"];
pub const CONCERNS: &[&str] = &[
    "viewing-images",
    "sexual-communication",
    "contact-offending",
    "ai-or-drawn-images",
    "someone-elses-behaviour",
    "other",
];
/// Protective actions agreed.
pub const ACTIONS: &[&str] = &[
    "safety-plan",
    "device-changes",
    "avoid-situations",
    "talk-to-someone",
    "therapy",
];
pub const SIGNPOSTS: &[&str] = &[
    "self-help-modules",
    "gp-or-mental-health",
    "samaritans",
    "legal-advice",
    "family-support",
];
/// Whether the person has been arrested or is under investigation.
pub const ARRESTED: &[&str] = &["no", "arrested", "under-investigation", "not-asked"];
