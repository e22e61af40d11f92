//! Every context that sealed data is bound to. A value sealed under one context opens only
//! under the same one, so these strings are part of the stored data: changing one makes
//! everything sealed under it unreadable. They exist only here, and a test pins each.

use std::fmt;

/// What a sealed value is, and which row it belongs to (so a value copied to another row
/// does not open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context<'a> {
    /// A data key wrapped by the master key (`keyring` rows).
    KeyringWrap { purpose: &'a str, version: i64 },
    /// A self-help workbook's answers.
    Workbook { id: &'a str },
    /// A conversation's key, wrapped for staff and for the help-seeker.
    ConversationKey { conversation: i64 },
    /// One message of a conversation.
    MessageBody { conversation: i64, seq: i64 },
    /// A callback request's phone number.
    CallbackPhone { callback: i64 },
    /// A contact's wrap-up note.
    ContactNote { contact: i64 },
    /// The facts of a safeguarding concern.
    ConcernFacts { concern: i64 },
    /// The text of an event on a concern's timeline.
    ConcernEvent { concern: i64 },
    /// A staff member's TOTP secret.
    StaffTotp { staff: i64 },
    /// The TOTP secret shown on an enrolment page before it is confirmed.
    EnrolmentTotp { token_hash: &'a str },
    /// One version of a deterrence list.
    ListVersion {
        kind: &'a str,
        name: &'a str,
        version: i64,
    },
    /// A telephony provider's secret (the Twilio auth token).
    TelephonySecret { name: &'a str },
    /// The entries behind a deterrence warning, handed to the partner as its match
    /// identifier (so a wrong warning can be reported without the input).
    MatchId,
    /// The empty value a concern holds for the moment between its insert and its facts
    /// (sealed facts need the new row's id).
    Pending,
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Context::KeyringWrap { purpose, version } => {
                write!(f, "reachline keyring {purpose} v{version}")
            }
            Context::Workbook { id } => write!(f, "reachline workbook {id}"),
            Context::ConversationKey { conversation } => {
                write!(f, "reachline conversation {conversation} key")
            }
            Context::MessageBody { conversation, seq } => {
                write!(f, "reachline conversation {conversation} message {seq}")
            }
            Context::CallbackPhone { callback } => write!(f, "reachline callback {callback} phone"),
            Context::ContactNote { contact } => write!(f, "reachline contact {contact} note"),
            Context::ConcernFacts { concern } => write!(f, "reachline concern {concern} facts"),
            Context::ConcernEvent { concern } => write!(f, "reachline concern {concern} event"),
            Context::StaffTotp { staff } => write!(f, "reachline staff {staff} totp"),
            Context::EnrolmentTotp { token_hash } => write!(f, "reachline enrolment {token_hash}"),
            Context::ListVersion {
                kind,
                name,
                version,
            } => write!(f, "reachline list {kind} {name} v{version}"),
            Context::TelephonySecret { name } => write!(f, "reachline telephony secret {name}"),
            Context::MatchId => write!(f, "reachline deterrence match id"),
            Context::Pending => write!(f, "pending"),
        }
    }
}

impl Context<'_> {
    /// The context as the bytes a seal binds to.
    pub fn bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::Context::*;

    /// These strings are in every database that Reachline has written: a value sealed under
    /// one opens only under the same string. If this test fails, you changed a context and
    /// every value sealed under the old one can no longer be read. Change it back; a new
    /// context needs a migration that re-seals the old values.
    #[test]
    fn every_context_string_is_what_stored_data_was_sealed_under() {
        let pinned = [
            (
                KeyringWrap {
                    purpose: "content",
                    version: 2,
                },
                "reachline keyring content v2",
            ),
            (Workbook { id: "ab12" }, "reachline workbook ab12"),
            (
                ConversationKey { conversation: 7 },
                "reachline conversation 7 key",
            ),
            (
                MessageBody {
                    conversation: 7,
                    seq: 3,
                },
                "reachline conversation 7 message 3",
            ),
            (CallbackPhone { callback: 5 }, "reachline callback 5 phone"),
            (ContactNote { contact: 9 }, "reachline contact 9 note"),
            (ConcernFacts { concern: 4 }, "reachline concern 4 facts"),
            (ConcernEvent { concern: 4 }, "reachline concern 4 event"),
            (StaffTotp { staff: 2 }, "reachline staff 2 totp"),
            (
                EnrolmentTotp { token_hash: "f00d" },
                "reachline enrolment f00d",
            ),
            (
                ListVersion {
                    kind: "keywords",
                    name: "neutral",
                    version: 1,
                },
                "reachline list keywords neutral v1",
            ),
            (
                TelephonySecret { name: "twilio" },
                "reachline telephony secret twilio",
            ),
            (MatchId, "reachline deterrence match id"),
            (Pending, "pending"),
        ];
        for (context, string) in pinned {
            assert_eq!(context.to_string(), string, "{context:?}");
            assert_eq!(context.bytes(), string.as_bytes());
        }
    }
}
