//! Self-help workbooks: a person's exercise answers, sealed at rest.
//!
//! A browser holds its workbook in one session cookie: `<id>.<key>`. The key never reaches
//! the database. Before saving, the key is random; "Save my progress" issues a return code,
//! re-seals the answers under the key derived from it and stores only the code's peppered
//! lookup hash. "Continue with my code" derives the same key in any browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reachline_core::keys::Key;
use reachline_core::return_code::ReturnCode;
use reachline_core::sealing::Context;
use reachline_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const COOKIE: &str = "rl_wb";

/// One exercise's answer. Which fields are used depends on the exercise kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<usize>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sections: BTreeMap<String, String>,
}

impl Answer {
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
            && self.checked.is_empty()
            && self.sections.values().all(|v| v.trim().is_empty())
    }
}

/// Everything a workbook holds, keyed by `module/exercise`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    #[serde(default)]
    pub answers: BTreeMap<String, Answer>,
}

impl Answers {
    pub fn get(&self, module: &str, exercise: &str) -> Option<&Answer> {
        self.answers.get(&format!("{module}/{exercise}"))
    }
}

/// What the workbook cookie carries.
#[derive(Debug, Clone)]
pub struct Handle {
    pub id: String,
    pub key: Key,
}

impl Handle {
    pub fn cookie_value(&self) -> String {
        format!(
            "{}.{}",
            self.id,
            URL_SAFE_NO_PAD.encode(self.key.as_bytes())
        )
    }

    pub fn parse(value: &str) -> Option<Handle> {
        let (id, key) = value.split_once('.')?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let key = Key::from_slice(&URL_SAFE_NO_PAD.decode(key).ok()?)?;
        Some(Handle {
            id: id.to_string(),
            key,
        })
    }
}

/// A workbook as read from the store and opened.
#[derive(Debug, Clone)]
pub struct Opened {
    pub handle: Handle,
    pub saved: bool,
    pub revision: i64,
    pub lookup: Option<String>,
    pub answers: Answers,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("too many wrong codes were tried in the last minute")]
    Throttled,
    #[error("the service is busy")]
    Busy,
    #[error("someone else changed this workbook at the same moment")]
    Conflict,
}

fn seal(handle: &Handle, answers: &Answers) -> Vec<u8> {
    let json = serde_json::to_vec(answers).unwrap_or_default();
    handle.key.seal(Context::Workbook { id: &handle.id }, &json)
}

fn open(handle: &Handle, sealed: &[u8]) -> Option<Answers> {
    let json = handle
        .key
        .open(Context::Workbook { id: &handle.id }, sealed)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

fn new_id() -> String {
    let k = Key::random();
    hex::encode(&k.as_bytes()[..16])
}

/// Guards the slow code derivation. A code whose hint matches nothing is turned away before
/// any derivation (see [`ReturnCode::hint`]), so guessing costs the service nothing and
/// cannot crowd out a help-seeker with the right code; a budget of failed attempts per code
/// (never per address: Tor users share one, and none is kept); at most two derivations at
/// once and a bounded wait for them.
pub struct CodeGuard {
    failures: crate::limits::FailureBudget<[u8; 16]>,
    work: crate::limits::SlowWork,
}

impl CodeGuard {
    pub fn new(per_minute: u64, clock: reachline_core::clock::SharedClock) -> Self {
        CodeGuard {
            failures: crate::limits::FailureBudget::new(
                crate::limits::per_minute(per_minute),
                clock,
            ),
            work: crate::limits::SlowWork::new(2, 32),
        }
    }

    /// Whether this code may be tried now.
    pub fn check(&self, code: &ReturnCode, pepper: &Key) -> Result<(), WorkbookError> {
        if !self.failures.open(&code.attempt_key(pepper)) {
            return Err(WorkbookError::Throttled);
        }
        Ok(())
    }

    /// This code opened nothing.
    pub fn failed(&self, code: &ReturnCode, pepper: &Key) {
        self.failures_for(&code.attempt_key(pepper));
    }

    /// A code known by its attempt key (once it has been spent on a derivation) opened
    /// nothing.
    pub fn failures_for(&self, attempt: &[u8; 16]) {
        self.failures.failed(attempt);
    }

    /// Forgets spent allowances that have come back.
    pub fn tidy(&self) {
        self.failures.tidy();
    }

    /// Runs the Argon2id derivation off the async threads, at most two at a time.
    pub async fn derive(
        &self,
        code: ReturnCode,
        pepper: Key,
    ) -> Result<reachline_core::return_code::DerivedCode, WorkbookError> {
        self.work
            .run(move || code.derive(&pepper))
            .await
            .map_err(|_| WorkbookError::Busy)
    }
}

pub struct Workbooks {
    pub store: Store,
    pub pepper: Key,
    pub guard: CodeGuard,
    pub live: std::sync::Arc<crate::settings::Live>,
}

impl Workbooks {
    fn expiry(&self, saved: bool, now: i64) -> i64 {
        let r = self.live.retention();
        now + if saved {
            (r.selfhelp_saved_days as i64).saturating_mul(86_400)
        } else {
            (r.selfhelp_unsaved_hours as i64).saturating_mul(3_600)
        }
    }

    /// Opens the workbook a cookie points to; `None` if it is gone, expired or unreadable.
    pub async fn open(&self, handle: &Handle, now: i64) -> Result<Option<Opened>, WorkbookError> {
        let Some(row) = self.store.workbook_get(&handle.id, now).await? else {
            return Ok(None);
        };
        Ok(open(handle, &row.sealed).map(|answers| Opened {
            handle: handle.clone(),
            saved: row.lookup.is_some(),
            revision: row.revision,
            lookup: row.lookup,
            answers,
        }))
    }

    /// Applies `change` to the answers, creating an unsaved workbook if `handle` is `None`
    /// or gone. Retries when another request changed the workbook at the same time.
    /// Returns the handle to keep and whether the change added a new answer.
    pub async fn update<F>(
        &self,
        handle: Option<&Handle>,
        now: i64,
        change: F,
    ) -> Result<(Handle, bool), WorkbookError>
    where
        F: Fn(&mut Answers) -> bool,
    {
        for _ in 0..8 {
            let current = match handle {
                Some(h) => self.open(h, now).await?,
                None => None,
            };
            match current {
                Some(mut wb) => {
                    let added = change(&mut wb.answers);
                    let sealed = seal(&wb.handle, &wb.answers);
                    if self
                        .store
                        .workbook_update(
                            &wb.handle.id,
                            wb.revision,
                            wb.lookup.as_deref(),
                            &sealed,
                            now,
                            self.expiry(wb.saved, now),
                        )
                        .await?
                    {
                        return Ok((wb.handle, added));
                    }
                }
                None => {
                    let mut answers = Answers::default();
                    let added = change(&mut answers);
                    let handle = Handle {
                        id: new_id(),
                        key: Key::random(),
                    };
                    let sealed = seal(&handle, &answers);
                    self.store
                        .workbook_create(&handle.id, &sealed, now, self.expiry(false, now))
                        .await?;
                    return Ok((handle, added));
                }
            }
        }
        Err(WorkbookError::Conflict)
    }

    /// Issues a new return code for the workbook (creating an empty one if needed), re-seals
    /// the answers under the code's key, and returns the code and the new handle. A previous
    /// code for the same workbook stops working.
    pub async fn save(
        &self,
        handle: Option<&Handle>,
        now: i64,
    ) -> Result<(ReturnCode, Handle), WorkbookError> {
        let code = ReturnCode::generate();
        let derived = self.guard.derive(code.clone(), self.pepper.clone()).await?;
        let lookup = hex::encode(derived.lookup);
        for _ in 0..8 {
            let current = match handle {
                Some(h) => self.open(h, now).await?,
                None => None,
            };
            let (id, revision, answers) = match current {
                Some(wb) => (wb.handle.id, Some(wb.revision), wb.answers),
                None => (new_id(), None, Answers::default()),
            };
            let new_handle = Handle {
                id,
                key: derived.key.clone(),
            };
            let sealed = seal(&new_handle, &answers);
            let expires = self.expiry(true, now);
            let done = match revision {
                Some(rev) => {
                    self.store
                        .workbook_update(&new_handle.id, rev, Some(&lookup), &sealed, now, expires)
                        .await?
                }
                None => {
                    self.store
                        .workbook_create(&new_handle.id, &sealed, now, expires)
                        .await?;
                    self.store
                        .workbook_update(&new_handle.id, 1, Some(&lookup), &sealed, now, expires)
                        .await?
                }
            };
            if done {
                // Without its hint the workbook is still found, the slow way.
                self.store
                    .workbook_set_hint(&new_handle.id, &code.hint(&self.pepper))
                    .await?;
                return Ok((code, new_handle));
            }
        }
        Err(WorkbookError::Conflict)
    }

    /// Finds the workbook saved under `code`. Wrong codes count against the global budget.
    pub async fn resume(
        &self,
        code: ReturnCode,
        now: i64,
    ) -> Result<Option<Opened>, WorkbookError> {
        self.guard.check(&code, &self.pepper)?;
        if !self
            .store
            .code_may_open(&code.hint(&self.pepper), now)
            .await?
        {
            self.guard.failed(&code, &self.pepper);
            return Ok(None);
        }
        let attempt = code.attempt_key(&self.pepper);
        let derived = self.guard.derive(code, self.pepper.clone()).await?;
        let lookup = hex::encode(derived.lookup);
        let found = match self.store.workbook_find(&lookup, now).await? {
            Some(row) => {
                let handle = Handle {
                    id: row.id.clone(),
                    key: derived.key,
                };
                open(&handle, &row.sealed).map(|answers| Opened {
                    handle,
                    saved: true,
                    revision: row.revision,
                    lookup: row.lookup,
                    answers,
                })
            }
            None => None,
        };
        match found {
            Some(wb) => {
                // Using a code keeps it alive for another retention period.
                let sealed = seal(&wb.handle, &wb.answers);
                self.store
                    .workbook_update(
                        &wb.handle.id,
                        wb.revision,
                        wb.lookup.as_deref(),
                        &sealed,
                        now,
                        self.expiry(true, now),
                    )
                    .await?;
                Ok(Some(wb))
            }
            None => {
                self.guard.failures_for(&attempt);
                Ok(None)
            }
        }
    }

    pub async fn delete(&self, handle: &Handle) -> Result<bool, WorkbookError> {
        Ok(self.store.workbook_delete(&handle.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_reject_junk() {
        let h = Handle {
            id: new_id(),
            key: Key::random(),
        };
        let back = Handle::parse(&h.cookie_value());
        assert_eq!(back.map(|b| b.id), Some(h.id.clone()));
        for junk in [
            "",
            ".",
            "abc.def",
            &format!("{}.!!", h.id),
            &"a".repeat(5000),
        ] {
            assert!(Handle::parse(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn guard_throttles_after_the_budget_and_recovers() {
        let clock = std::sync::Arc::new(reachline_core::clock::ManualClock::new(1000));
        let g = CodeGuard::new(3, clock.clone());
        let pepper = Key::random();
        let (code, other) = (ReturnCode::generate(), ReturnCode::generate());
        for _ in 0..3 {
            assert!(g.check(&code, &pepper).is_ok());
            g.failed(&code, &pepper);
        }
        clock.advance(1);
        assert!(matches!(
            g.check(&code, &pepper),
            Err(WorkbookError::Throttled)
        ));
        assert!(
            g.check(&other, &pepper).is_ok(),
            "another code is not held up"
        );
        clock.advance(60);
        assert!(g.check(&code, &pepper).is_ok());
    }
}
