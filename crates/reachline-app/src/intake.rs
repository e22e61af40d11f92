//! A help-seeker's first contact: a live chat or a secure-message thread opened with its
//! key, wrapped for staff and for the help-seeker, in one transaction (a conversation never
//! exists without its keys, nor a thread without its first message).

use crate::{App, Error};
use reachline_core::areas;
use reachline_core::keys::Key;
use reachline_core::return_code::ReturnCode;
use reachline_core::sealing::Context;
use reachline_core::vocabulary::{AgeGroup, Channel, Sender, Who};
use reachline_store::{NewCallback, NewConversation, Tx};

/// What the help-seeker chose to tell us before a contact (all optional) and the version of
/// the confidentiality statement they read. One intake for chat, secure messages and
/// callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub who: Option<Who>,
    pub age_group: Option<AgeGroup>,
    /// A police force area code (ONS).
    pub area: Option<String>,
    pub statement_version: String,
}

impl Intake {
    /// The answers as posted: each is kept only if it is one of its set (an answer that is
    /// not is the same as no answer: these questions are optional).
    pub fn from_answers(
        who: Option<&str>,
        age_group: Option<&str>,
        area: Option<&str>,
        statement_version: String,
    ) -> Intake {
        Intake {
            who: who.and_then(|w| w.parse().ok()),
            age_group: age_group.and_then(|a| a.parse().ok()),
            area: area.and_then(areas::find).map(|a| a.code.to_string()),
            statement_version,
        }
    }

    fn who(&self) -> &str {
        self.who.map(Who::as_str).unwrap_or("")
    }

    fn age_group(&self) -> &str {
        self.age_group.map(AgeGroup::as_str).unwrap_or("")
    }

    fn area(&self) -> &str {
        self.area.as_deref().unwrap_or("")
    }
}

impl App {
    /// Wraps a new conversation key for staff and for the help-seeker; returns the key.
    async fn wrap_keys(&self, tx: &mut Tx, id: i64, seeker: &Key) -> Result<Key, Error> {
        let key = Key::random();
        let context = Context::ConversationKey { conversation: id };
        let staff_wrap = self.content_key.seal(context, key.as_bytes());
        let seeker_wrap = seeker.seal(context, key.as_bytes());
        tx.conversation_set_keys(id, &staff_wrap, Some(&seeker_wrap))
            .await?;
        Ok(key)
    }

    /// Opens a waiting chat. The help-seeker's copy of its key is wrapped by a random key
    /// that only their cookie holds; returns the chat's id and that key.
    pub async fn start_chat(&self, intake: &Intake, language: &str) -> Result<(i64, Key), Error> {
        let token = Key::random();
        let mut tx = self.store.begin().await?;
        let id = tx
            .chat_create(
                intake.who(),
                intake.age_group(),
                intake.area(),
                &intake.statement_version,
                language,
                self.clock.now_unix(),
            )
            .await?;
        self.wrap_keys(&mut tx, id, &token).await?;
        tx.commit().await?;
        Ok((id, token))
    }

    /// Opens a secure-message thread with its first message. The help-seeker's copy of the
    /// key is wrapped by the key derived from their return code (`seeker_key`), and `lookup`
    /// finds the thread from that code. Returns the thread's id.
    pub async fn start_thread(
        &self,
        intake: &Intake,
        code: ReturnCode,
        text: &str,
    ) -> Result<(i64, Key), Error> {
        let text =
            crate::messages::message_body(text, self.config.helpline.max_message_chars as usize)
                .map_err(|e| Error::Invalid(e.code()))?;
        if self.store.threads_unclaimed_count().await?
            >= self.config.helpline.max_unanswered_threads as i64
        {
            return Err(Error::Full);
        }
        let hint = code.hint(&self.workbooks.pepper);
        let derived = self
            .workbooks
            .guard
            .derive(code, self.workbooks.pepper.clone())
            .await?;
        let lookup = hex::encode(derived.lookup);
        let id = self
            .open_thread(intake, &lookup, &hint, &derived.key, &text)
            .await?;
        Ok((id, derived.key))
    }

    async fn open_thread(
        &self,
        intake: &Intake,
        lookup: &str,
        hint: &str,
        seeker_key: &Key,
        text: &str,
    ) -> Result<i64, Error> {
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        let id = tx
            .conversation_create(
                &NewConversation {
                    channel: Channel::Message,
                    who: intake.who(),
                    age_group: intake.age_group(),
                    area: intake.area(),
                    statement_version: &intake.statement_version,
                    lookup: Some(lookup),
                },
                now,
            )
            .await?;
        tx.conversation_set_hint(id, hint).await?;
        let key = self.wrap_keys(&mut tx, id, seeker_key).await?;
        let sealed = |seq: i64| {
            key.seal(
                Context::MessageBody {
                    conversation: id,
                    seq,
                },
                text.as_bytes(),
            )
        };
        tx.message_append(id, Sender::Seeker, None, sealed, now)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a callback request: the times that suit (window ids) and the phone number,
    /// sealed for the new row in the same transaction. Returns the request's id.
    pub async fn request_callback(
        &self,
        intake: &Intake,
        windows: &[&str],
        phone: &str,
    ) -> Result<i64, Error> {
        if self.store.callbacks_pending_count().await?
            >= self.config.helpline.max_pending_callbacks as i64
        {
            return Err(Error::Full);
        }
        let windows = windows.join(",");
        let seal = |id: i64| {
            self.content_key
                .seal(Context::CallbackPhone { callback: id }, phone.as_bytes())
        };
        let request = NewCallback {
            windows: &windows,
            who: intake.who(),
            age_group: intake.age_group(),
            area: intake.area(),
            statement_version: &intake.statement_version,
        };
        Ok(self
            .store
            .callback_create(&request, seal, self.clock.now_unix())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_outside_their_sets_are_no_answer() {
        let i = Intake::from_answers(
            Some("self"),
            Some("under-18"),
            Some("E23000015"),
            "3".into(),
        );
        assert_eq!(i.who, Some(Who::Myself));
        assert_eq!(i.age_group, Some(AgeGroup::Under18));
        assert_eq!(i.area.as_deref(), Some("E23000015"));
        let hostile = Intake::from_answers(
            Some("<script>"),
            Some("Adult"),
            Some("E23000015' OR 1=1"),
            "3".into(),
        );
        assert_eq!(
            (hostile.who(), hostile.age_group(), hostile.area()),
            ("", "", "")
        );
    }
}
