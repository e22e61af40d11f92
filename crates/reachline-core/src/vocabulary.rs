//! The service's closed sets of values, as Rust enums: channels, the states of chats, threads,
//! callbacks and safeguarding concerns, who sent a message, and the categories of a
//! help-seeker's optional answers and a contact's wrap-up.
//!
//! Each enum has exactly one string form, used in the database, in forms and in reports:
//! `as_str` writes it and `FromStr` (or `TryFrom<String>`, which the store's row mapping
//! uses) reads it back; a stored value that is not in the set is an error, never a silent
//! default. `NAMES` lists every string form in order (what forms offer and reports count).

/// A stored or posted value that is not one of its set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {set}")]
pub struct Unknown {
    pub set: &'static str,
    pub value: String,
}

/// Declares a closed set of values with one string form each.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident ($set:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's string form, in order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The one string form (stored, posted and reported).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::Unknown;
            fn from_str(s: &str) -> Result<$name, $crate::vocabulary::Unknown> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::vocabulary::Unknown { set: $set, value: s.to_string() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::vocabulary::Unknown;
            fn try_from(s: String) -> Result<$name, $crate::vocabulary::Unknown> {
                s.parse()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// How a contact reached the helpline.
    Channel ("channel") {
        Chat = "chat",
        /// A secure message thread.
        Message = "message",
        Callback = "callback",
        Phone = "phone",
    }
}

vocabulary! {
    /// Where a conversation (a chat or a secure message thread) stands.
    ConversationStatus ("conversation status") {
        /// A chat in the queue.
        Waiting = "waiting",
        /// A chat a practitioner has taken.
        Active = "active",
        /// A chat that has ended and awaits its wrap-up.
        Ended = "ended",
        /// A chat that left the queue unanswered.
        Missed = "missed",
        /// A secure message thread that is open.
        Open = "open",
        /// Wrapped up (a thread or a chat); purged after the retention period.
        Closed = "closed",
    }
}

impl ConversationStatus {
    /// A chat that the help-seeker can still write in.
    pub fn chat_writable(self) -> bool {
        matches!(
            self,
            ConversationStatus::Waiting | ConversationStatus::Active
        )
    }

    /// A conversation a practitioner can still reply to or wrap up.
    pub fn not_closed(self) -> bool {
        matches!(
            self,
            ConversationStatus::Open | ConversationStatus::Active | ConversationStatus::Ended
        )
    }
}

vocabulary! {
    /// Who wrote a message.
    Sender ("sender") {
        Seeker = "seeker",
        Staff = "staff",
    }
}

vocabulary! {
    /// Where a callback request stands.
    CallbackStatus ("callback status") {
        Pending = "pending",
        Done = "done",
        /// Not called back within the retention period; the number is gone.
        Expired = "expired",
    }
}

vocabulary! {
    /// Where a safeguarding concern stands.
    ConcernStatus ("concern status") {
        /// Raised, awaiting a supervisor's decision.
        Open = "open",
        /// A supervisor asked for more information first.
        MoreInformation = "more-information",
        Referred = "referred",
        NoReferral = "no-referral",
    }
}

impl ConcernStatus {
    /// Still waiting for a decision.
    pub fn awaiting_decision(self) -> bool {
        matches!(self, ConcernStatus::Open | ConcernStatus::MoreInformation)
    }
}

vocabulary! {
    /// Who is asking for help.
    Who ("answer to who is asking") {
        Myself = "self",
        SomeoneElse = "someone-else",
        Professional = "professional",
    }
}

vocabulary! {
    AgeGroup ("age group") {
        Adult = "adult",
        Under18 = "under-18",
    }
}

vocabulary! {
    /// What the contact was about (a wrap-up may name several).
    Concern ("concern") {
        ViewingImages = "viewing-images",
        SexualCommunication = "sexual-communication",
        ContactOffending = "contact-offending",
        AiOrDrawnImages = "ai-or-drawn-images",
        SomeoneElsesBehaviour = "someone-elses-behaviour",
        Other = "other",
    }
}

vocabulary! {
    /// Protective actions agreed.
    Action ("protective action") {
        SafetyPlan = "safety-plan",
        DeviceChanges = "device-changes",
        AvoidSituations = "avoid-situations",
        TalkToSomeone = "talk-to-someone",
        Therapy = "therapy",
    }
}

vocabulary! {
    /// Where the person was signposted.
    Signpost ("signpost") {
        SelfHelpModules = "self-help-modules",
        GpOrMentalHealth = "gp-or-mental-health",
        Samaritans = "samaritans",
        LegalAdvice = "legal-advice",
        FamilySupport = "family-support",
    }
}

vocabulary! {
    /// Whether the person has been arrested or is under investigation.
    Arrested ("answer about arrest") {
        No = "no",
        Arrested = "arrested",
        UnderInvestigation = "under-investigation",
        NotAsked = "not-asked",
    }
}

vocabulary! {
    /// The kinds of deterrence list.
    ListKind ("list kind") {
        Keywords = "keywords",
        Urls = "urls",
        Hashes = "hashes",
    }
}

vocabulary! {
    /// What a safeguarding concern is about.
    ConcernCategory ("concern category") {
        ChildAtRisk = "child-at-risk",
        RiskToPerson = "risk-to-person",
        OffenceInProgress = "offence-in-progress",
        Other = "other",
    }
}

vocabulary! {
    /// Where a concern is referred.
    Destination ("referral destination") {
        Police = "police",
        ChildrensSocialCare = "childrens-social-care",
        Other = "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// These strings are stored in databases that exist: changing one makes those rows
    /// unreadable (the store refuses a value outside its set). Add a value; never rename one.
    #[test]
    fn the_stored_forms_are_what_existing_databases_hold() {
        assert_eq!(Channel::NAMES, ["chat", "message", "callback", "phone"]);
        assert_eq!(
            ConversationStatus::NAMES,
            ["waiting", "active", "ended", "missed", "open", "closed"]
        );
        assert_eq!(Sender::NAMES, ["seeker", "staff"]);
        assert_eq!(CallbackStatus::NAMES, ["pending", "done", "expired"]);
        assert_eq!(
            ConcernStatus::NAMES,
            ["open", "more-information", "referred", "no-referral"]
        );
        assert_eq!(Who::NAMES, ["self", "someone-else", "professional"]);
        assert_eq!(AgeGroup::NAMES, ["adult", "under-18"]);
        assert_eq!(ListKind::NAMES, ["keywords", "urls", "hashes"]);
    }

    #[test]
    fn every_value_reads_back_from_its_string_and_nothing_else_does() {
        for c in ConversationStatus::ALL {
            assert_eq!(c.as_str().parse::<ConversationStatus>(), Ok(*c));
            assert_eq!(ConversationStatus::try_from(c.to_string()), Ok(*c));
        }
        for c in Concern::ALL {
            assert_eq!(c.as_str().parse::<Concern>(), Ok(*c));
        }
        let e = "Waiting".parse::<ConversationStatus>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"Waiting\" is not a known conversation status"
        );
        assert!("".parse::<Channel>().is_err());
    }
}
