//! Whole rendered pages kept for visitors to whom they are the same.
//!
//! The self-help pages (the list of modules, a module, a chapter without a workbook's
//! answers) depend on nothing but the visitor's locale and the page: the content is loaded
//! once at start and the locales are fixed, so a page rendered once can be sent as it is to
//! the next visitor in that locale, and an entry never goes stale. Only a handler that has
//! found the page in the content keeps it, and only under that page's own canonical path, so
//! the entries are bounded by locales × pages whatever strangers ask for. Nothing that
//! varies by visitor (answers, a notice, a form's error, a return code) may go through here:
//! the handler decides, and `tests/it/site.rs` holds the pages sent from here equal to the
//! ones rendered afresh.

use axum::body::Bytes;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

#[derive(Default)]
pub struct PageCache {
    /// locale tag -> canonical path -> the page's HTML.
    pages: RwLock<HashMap<String, HashMap<String, Bytes>>>,
}

impl PageCache {
    /// The page kept for `locale` at `path`, or the one `template` renders (then kept).
    /// A template that fails to render is answered as [`crate::http::render`] answers it,
    /// and nothing is kept.
    pub fn page<T: askama::Template>(
        &self,
        locale: &str,
        path: &str,
        template: impl FnOnce() -> T,
    ) -> Response {
        let kept = self
            .pages
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(locale)
            .and_then(|by_path| by_path.get(path))
            .cloned();
        if let Some(body) = kept {
            return crate::http::html(body);
        }
        let body = match template().render() {
            Ok(html) => Bytes::from(html),
            Err(e) => return crate::http::template_failed(&e),
        };
        self.pages
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(locale.to_string())
            .or_default()
            .insert(path.to_string(), body.clone());
        crate::http::html(body)
    }

    /// How many pages are kept (for tests).
    pub fn len(&self) -> usize {
        self.pages
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
