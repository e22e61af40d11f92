//! Localisation: every user-visible string of the interface comes from a Fluent resource.
//!
//! en-GB is complete. Two pseudo-locales are built from it at start-up: `en-XA` (accented
//! and lengthened, to show any string that bypasses Fluent and any layout that cannot take
//! longer text) and `ar-XB` (mirrored letters, right-to-left layout).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use unic_langid::LanguageIdentifier;

static EN_GB: &str = include_str!("../locales/en-GB/main.ftl");

/// Resources shipped for real locales: (tag, Fluent source).
const SHIPPED: &[(&str, &str)] = &[("en-GB", EN_GB)];

pub const PSEUDO_ACCENTED: &str = "en-XA";
pub const PSEUDO_RTL: &str = "ar-XB";

fn accented(s: &str) -> Cow<'_, str> {
    fluent_pseudo::transform(s, false, true)
}

fn mirrored(s: &str) -> Cow<'_, str> {
    fluent_pseudo::transform(s, true, false)
}

/// The text transform of a pseudo-locale, also applied to content.
pub fn pseudo_transform(tag: &str) -> Option<fn(&str) -> Cow<'_, str>> {
    match tag {
        PSEUDO_ACCENTED => Some(accented),
        PSEUDO_RTL => Some(mirrored),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("Fluent resource for {0} has errors: {1}")]
    Resource(String, String),
    #[error("unknown locale tag {0}")]
    Tag(String),
}

pub struct Locale {
    pub tag: String,
    pub rtl: bool,
    /// The locale's own name, for the language switcher.
    pub name: String,
    /// Which content folder this locale reads (pseudo-locales read en-GB's).
    pub content_tag: String,
    bundle: FluentBundle<FluentResource>,
}

impl Locale {
    fn new(tag: &str, source: &str, pseudo: Option<&str>) -> Result<Locale, I18nError> {
        let langid: LanguageIdentifier = tag.parse().map_err(|_| I18nError::Tag(tag.into()))?;
        let resource = FluentResource::try_new(source.to_string())
            .map_err(|(_, errs)| I18nError::Resource(tag.into(), format!("{errs:?}")))?;
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        bundle.set_use_isolating(false);
        if let Some(p) = pseudo {
            bundle.set_transform(pseudo_transform(p));
        }
        bundle
            .add_resource(resource)
            .map_err(|errs| I18nError::Resource(tag.into(), format!("{errs:?}")))?;
        let mut locale = Locale {
            tag: pseudo.unwrap_or(tag).to_string(),
            rtl: pseudo == Some(PSEUDO_RTL),
            name: String::new(),
            content_tag: tag.to_string(),
            bundle,
        };
        locale.name = locale.text("language-name", &[]);
        Ok(locale)
    }

    /// The message `id` with named arguments. A missing message shows its id (and a test
    /// checks every id used by the templates exists).
    pub fn text(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, v.clone());
        }
        let mut errors = vec![];
        self.bundle
            .format_pattern(pattern, Some(&fargs), &mut errors)
            .into_owned()
    }

    pub fn has(&self, id: &str) -> bool {
        self.bundle.get_message(id).is_some()
    }
}

/// All locales the site offers.
pub struct Localiser {
    locales: Vec<Arc<Locale>>,
    by_tag: HashMap<String, Arc<Locale>>,
    default: Arc<Locale>,
    negotiable: Vec<fluent_langneg::LanguageIdentifier>,
}

impl Localiser {
    pub fn new(default_tag: &str, with_pseudo: bool) -> Result<Localiser, I18nError> {
        let mut locales = Vec::new();
        for (tag, source) in SHIPPED {
            locales.push(Arc::new(Locale::new(tag, source, None)?));
        }
        if with_pseudo {
            locales.push(Arc::new(Locale::new(
                "en-GB",
                EN_GB,
                Some(PSEUDO_ACCENTED),
            )?));
            locales.push(Arc::new(Locale::new("en-GB", EN_GB, Some(PSEUDO_RTL))?));
        }
        let by_tag: HashMap<String, Arc<Locale>> =
            locales.iter().map(|l| (l.tag.clone(), l.clone())).collect();
        let default = by_tag
            .get(default_tag)
            .cloned()
            .ok_or_else(|| I18nError::Tag(default_tag.into()))?;
        let negotiable = SHIPPED.iter().filter_map(|(t, _)| t.parse().ok()).collect();
        Ok(Localiser {
            locales,
            by_tag,
            default,
            negotiable,
        })
    }

    pub fn all(&self) -> &[Arc<Locale>] {
        &self.locales
    }

    pub fn default_locale(&self) -> Arc<Locale> {
        self.default.clone()
    }

    pub fn get(&self, tag: &str) -> Option<Arc<Locale>> {
        self.by_tag.get(tag).cloned()
    }

    /// The locale for a request: an explicit choice (cookie) wins, then `Accept-Language`
    /// among real locales, then the default. Pseudo-locales are never negotiated.
    pub fn choose(&self, chosen: Option<&str>, accept_language: Option<&str>) -> Arc<Locale> {
        if let Some(l) = chosen.and_then(|t| self.get(t)) {
            return l;
        }
        if let Some(header) = accept_language {
            let requested = fluent_langneg::parse_accepted_languages(header);
            let matched = fluent_langneg::negotiate_languages(
                &requested,
                &self.negotiable,
                None,
                fluent_langneg::NegotiationStrategy::Filtering,
            );
            if let Some(l) = matched.first().and_then(|id| self.get(&id.to_string())) {
                return l;
            }
        }
        self.default.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_locales_transform_every_string() -> Result<(), I18nError> {
        let l = Localiser::new("en-GB", true)?;
        let en = l.choose(None, None);
        assert_eq!(en.tag, "en-GB");
        let xa = l.choose(Some("en-XA"), None);
        let xb = l.choose(Some("ar-XB"), None);
        assert!(xb.rtl && !xa.rtl && !en.rtl);
        let home_en = en.text("nav-home", &[]);
        assert_ne!(home_en, "nav-home");
        assert_ne!(xa.text("nav-home", &[]), home_en);
        assert_ne!(xb.text("nav-home", &[]), home_en);
        Ok(())
    }

    #[test]
    fn accept_language_negotiates_real_locales_only() -> Result<(), I18nError> {
        let l = Localiser::new("en-GB", true)?;
        assert_eq!(l.choose(None, Some("en-US,en;q=0.8")).tag, "en-GB");
        assert_eq!(l.choose(None, Some("ar-XB")).tag, "en-GB");
        assert_eq!(l.choose(None, Some("garbage;;q=x")).tag, "en-GB");
        assert_eq!(l.choose(Some("nope"), None).tag, "en-GB");
        Ok(())
    }
}
