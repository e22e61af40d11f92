//! Contacts and safeguarding concerns. A practitioner logs a contact (phone, by hand) and
//! raises a concern on a contact; a supervisor who did not raise it decides (refer, no
//! referral, or ask for more information). Every step is an event on the concern's
//! timeline and an audit entry, committed together; every view is audited.

use crate::accounts::Actor;
use crate::{App, Error};
use reachline_core::sealing::Context;
use reachline_core::vocabulary::ConcernStatus;
use reachline_store::{ConcernEventRow, ConcernRow, ContactRow, NewConcernEvent, WrapUp};

pub const CATEGORIES: &[&str] = crate::vocabulary::ConcernCategory::NAMES;
pub const DESTINATIONS: &[&str] = crate::vocabulary::Destination::NAMES;
/// The longest note, facts or reason, in characters.
pub const MAX_TEXT: usize = 8000;

/// A concern with its facts and timeline, opened. A text that does not open is `None`.
pub struct ConcernDetail {
    pub concern: ConcernRow,
    pub facts: Option<String>,
    /// Each event with its text opened (empty if it has none).
    pub events: Vec<(ConcernEventRow, Option<String>)>,
}

/// What a supervisor decided.
pub enum Decision<'a> {
    Refer { destination: &'a str },
    NoReferral,
    MoreInformation,
}

/// Text as a form gives it: trimmed, `\r\n` as `\n`; `None` if empty or too long.
pub fn text(input: &str) -> Option<String> {
    let v = input.replace("\r\n", "\n").trim().to_string();
    (!v.is_empty() && v.chars().count() <= MAX_TEXT).then_some(v)
}

impl App {
    /// A sealed text, opened: empty where there is none (never written, or purged after
    /// retention); `None` where it is there but does not open (a wrong key or damaged data),
    /// which is logged and must be shown as such, never as an empty text.
    fn open_text(&self, context: Context<'_>, sealed: Option<&[u8]>) -> Option<String> {
        let Some(sealed) = sealed else {
            return Some(String::new());
        };
        match self.content_key.open(context, sealed) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => {
                tracing::error!(error = %e, %context, "a sealed safeguarding text does not open");
                None
            }
        }
    }

    /// The newest contacts (the list is audited as viewed).
    pub async fn contacts(&self, actor: Actor<'_>) -> Result<Vec<ContactRow>, Error> {
        self.audit(actor.username, "contact.list", "", "").await?;
        self.recent_contacts().await
    }

    /// The newest contacts, for a page shown again after an action (which is audited).
    pub async fn recent_contacts(&self) -> Result<Vec<ContactRow>, Error> {
        Ok(self.store.contacts_recent(100).await?)
    }

    /// Records a phone contact with its wrap-up and an optional note, sealed for the new row
    /// in the same transaction. Returns the contact's id.
    pub async fn log_contact(
        &self,
        actor: Actor<'_>,
        wrap: &WrapUp,
        note: &str,
    ) -> Result<i64, Error> {
        self.log_contact_for_call(actor, wrap, note, None).await
    }

    /// Like [`Self::log_contact`], and when `call` is given, the wrap-up of that answered call
    /// (which must be the actor's, not yet wrapped up), linked in the same transaction.
    pub async fn log_contact_for_call(
        &self,
        actor: Actor<'_>,
        wrap: &WrapUp,
        note: &str,
        call: Option<i64>,
    ) -> Result<i64, Error> {
        let note = note.replace("\r\n", "\n").trim().to_string();
        if note.chars().count() > MAX_TEXT {
            return Err(Error::Invalid("console-text-too-long"));
        }
        let seal = |id: i64| {
            self.content_key
                .seal(Context::ContactNote { contact: id }, note.as_bytes())
        };
        let seal_note: Option<&(dyn Fn(i64) -> Vec<u8> + Sync)> =
            if note.is_empty() { None } else { Some(&seal) };
        let mut tx = self.store.begin().await?;
        let id = tx
            .contact_log(wrap, actor.id, seal_note, self.clock.now_unix())
            .await?;
        if let Some(call) = call {
            if !tx.call_link_contact(call, actor.id, id).await? {
                return Err(Error::NotFound);
            }
        }
        let object = format!("contact:{id}");
        self.commit_audited(
            tx,
            actor.username,
            "contact.create",
            &object,
            wrap.channel.as_str(),
        )
        .await?;
        Ok(id)
    }

    /// One contact, its note opened (`None` if it does not open), and its concerns (audited).
    pub async fn contact(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<(ContactRow, Option<String>, Vec<ConcernRow>), Error> {
        let c = self.store.contact_get(id).await?.ok_or(Error::NotFound)?;
        self.audit(actor.username, "contact.view", &format!("contact:{id}"), "")
            .await?;
        let note = self.open_text(
            Context::ContactNote { contact: id },
            c.note_sealed.as_deref(),
        );
        let concerns = self.store.concerns_list(Some(id)).await?;
        Ok((c, note, concerns))
    }

    /// Raises a concern on a contact. The facts are sealed with the concern's id, which
    /// exists only after the insert: one transaction inserts, seals and audits.
    pub async fn raise_concern(
        &self,
        actor: Actor<'_>,
        contact: i64,
        category: &str,
        facts: &str,
    ) -> Result<i64, Error> {
        if self.store.contact_get(contact).await?.is_none() {
            return Err(Error::NotFound);
        }
        let facts = text(facts).ok_or(Error::Invalid("console-concern-needs-facts"))?;
        if !CATEGORIES.contains(&category) {
            return Err(Error::Invalid("console-concern-needs-category"));
        }
        let now = self.clock.now_unix();
        let mut tx = self.store.begin().await?;
        let placeholder = self.content_key.seal(Context::Pending, b"");
        let id = tx
            .concern_create(contact, actor.id, category, &placeholder, now)
            .await?;
        let sealed = self
            .content_key
            .seal(Context::ConcernFacts { concern: id }, facts.as_bytes());
        tx.concern_set_facts(id, &sealed).await?;
        self.commit_audited(
            tx,
            actor.username,
            "concern.raise",
            &format!("concern:{id}"),
            category,
        )
        .await?;
        Ok(id)
    }

    /// Every concern (audited as viewed).
    pub async fn concerns(&self, actor: Actor<'_>) -> Result<Vec<ConcernRow>, Error> {
        self.audit(actor.username, "concern.list", "", "").await?;
        Ok(self.store.concerns_list(None).await?)
    }

    /// One concern, opened. The view is audited, and a supervisor's view (of a concern they
    /// did not raise) is also on its timeline; nothing is shown if that cannot be recorded.
    pub async fn concern(
        &self,
        actor: Actor<'_>,
        supervisor: bool,
        id: i64,
    ) -> Result<ConcernDetail, Error> {
        let concern = self.store.concern_get(id).await?.ok_or(Error::NotFound)?;
        let mut tx = self.store.begin().await?;
        if supervisor && concern.raised_by != actor.id {
            let viewed = NewConcernEvent {
                kind: "viewed",
                ..NewConcernEvent::default()
            };
            tx.concern_event(id, actor.id, viewed, self.clock.now_unix())
                .await?;
        }
        self.commit_audited(
            tx,
            actor.username,
            "concern.view",
            &format!("concern:{id}"),
            "",
        )
        .await?;
        let facts = self.open_text(
            Context::ConcernFacts { concern: id },
            Some(&concern.facts_sealed),
        );
        let events = self
            .store
            .concern_events(id)
            .await?
            .into_iter()
            .map(|e| {
                let text = self.open_text(
                    Context::ConcernEvent { concern: id },
                    e.text_sealed.as_deref(),
                );
                (e, text)
            })
            .collect();
        Ok(ConcernDetail {
            concern,
            facts,
            events,
        })
    }

    /// A supervisor's decision, with the reason. Only someone other than the person who
    /// raised the concern decides (a refusal is audited), and a decision never overwrites
    /// another (`Invalid("console-decision-already")`).
    pub async fn decide_concern(
        &self,
        actor: Actor<'_>,
        id: i64,
        decision: Decision<'_>,
        reason: &str,
        other_destination: &str,
    ) -> Result<(), Error> {
        let concern = self.store.concern_get(id).await?.ok_or(Error::NotFound)?;
        if concern.raised_by == actor.id {
            self.audit(
                actor.username,
                "concern.decide.refused",
                &format!("concern:{id}"),
                "raised by the same person",
            )
            .await?;
            return Err(Error::Forbidden("two-person"));
        }
        let (kind, status, destination) = match decision {
            Decision::Refer { destination } if DESTINATIONS.contains(&destination) => {
                ("referred", ConcernStatus::Referred, destination)
            }
            Decision::Refer { .. } => return Err(Error::Invalid("console-decision-needs-choice")),
            Decision::NoReferral => ("no-referral", ConcernStatus::NoReferral, ""),
            Decision::MoreInformation => (
                "more-information-requested",
                ConcernStatus::MoreInformation,
                "",
            ),
        };
        let reason = text(reason).ok_or(Error::Invalid("console-decision-needs-reason"))?;
        let reason = if destination == "other" {
            let other = other_destination.trim();
            if other.is_empty() {
                return Err(Error::Invalid("console-decision-needs-destination"));
            }
            format!("{other}: {reason}")
        } else {
            reason
        };
        let event = NewConcernEvent {
            kind,
            destination,
            text_sealed: None,
            new_status: Some(status),
        };
        self.concern_event(
            actor,
            id,
            event,
            &reason,
            "concern.decide",
            &format!("{kind} {destination}"),
        )
        .await
    }

    /// More information added to a concern; it awaits a decision again.
    pub async fn add_concern_information(
        &self,
        actor: Actor<'_>,
        id: i64,
        information: &str,
    ) -> Result<(), Error> {
        if self.store.concern_get(id).await?.is_none() {
            return Err(Error::NotFound);
        }
        let information = text(information).ok_or(Error::Invalid("console-concern-needs-facts"))?;
        let event = NewConcernEvent {
            kind: "information-added",
            destination: "",
            text_sealed: None,
            new_status: Some(ConcernStatus::Open),
        };
        self.concern_event(actor, id, event, &information, "concern.information", "")
            .await
    }

    /// Appends an event (its text sealed for the concern) with its audit entry, in one
    /// transaction; `Invalid("console-decision-already")` if the concern no longer awaits a
    /// decision (nothing is stored).
    async fn concern_event(
        &self,
        actor: Actor<'_>,
        id: i64,
        event: NewConcernEvent<'_>,
        text: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), Error> {
        let sealed = self
            .content_key
            .seal(Context::ConcernEvent { concern: id }, text.as_bytes());
        let event = NewConcernEvent {
            text_sealed: Some(&sealed),
            ..event
        };
        let mut tx = self.store.begin().await?;
        if !tx
            .concern_event(id, actor.id, event, self.clock.now_unix())
            .await?
        {
            return Err(Error::Invalid("console-decision-already"));
        }
        self.commit_audited(tx, actor.username, action, &format!("concern:{id}"), detail)
            .await?;
        Ok(())
    }
}
