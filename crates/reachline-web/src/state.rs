//! What the web server holds: the application and what only HTTP needs.

use crate::chat::hub::Hub;
use crate::metrics::Metrics;
use crate::{content, i18n};
use reachline_app::App;
use reachline_core::clock::SharedClock;
use reachline_core::config::Config;
use reachline_core::keys::MasterKey;
use reachline_store::Store;
use std::sync::Arc;

/// The state every handler gets.
pub type Shared = Arc<AppState>;

/// What the web server holds: the application (every use case; reached through `Deref`, so
/// handlers write `state.store` or `state.audit(...)`) and what only HTTP needs: locales,
/// content, the chat hub with its sockets, and metrics.
pub struct AppState {
    pub app: App,
    pub i18n: i18n::Localiser,
    pub languages: Arc<[(String, String)]>,
    pub content: content::Library,
    /// Self-help pages rendered once and sent as they are to visitors they are the same for.
    pub pages: crate::page_cache::PageCache,
    /// Live chat events, here and across instances.
    pub chat: Hub,
    /// Prometheus counters and gauges (served on `metrics.listen`).
    pub metrics: Metrics,
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    App(#[from] reachline_app::StartError),
    #[error(transparent)]
    Content(#[from] content::ContentError),
    #[error(transparent)]
    I18n(#[from] i18n::I18nError),
}

impl AppState {
    /// Opens everything the server needs, creating the data directory, master key and
    /// database on first run.
    pub async fn open(config: Config, clock: SharedClock) -> Result<Arc<AppState>, StartError> {
        Self::with_app(App::open(config, clock).await?)
    }

    pub async fn with_store(
        config: Config,
        clock: SharedClock,
        store: Store,
        master: &MasterKey,
    ) -> Result<Arc<AppState>, StartError> {
        Self::with_app(App::with_store(config, clock, store, master).await?)
    }

    fn with_app(app: App) -> Result<Arc<AppState>, StartError> {
        let config = &app.config;
        let i18n = i18n::Localiser::new(&config.site.default_locale, true)?;
        let languages = i18n
            .all()
            .iter()
            .filter(|l| config.site.pseudo_locales || i18n::pseudo_transform(&l.tag).is_none())
            .map(|l| (l.tag.clone(), l.name.clone()))
            .collect();
        let locales: Vec<_> = i18n
            .all()
            .iter()
            .map(|l| {
                (
                    l.tag.clone(),
                    l.content_tag.clone(),
                    i18n::pseudo_transform(&l.tag),
                )
            })
            .collect();
        let operator_dir = (!config.site.content_dir.is_empty())
            .then(|| std::path::PathBuf::from(&config.site.content_dir));
        let content = content::Library::load(
            operator_dir.as_deref(),
            &locales,
            &config.site.default_locale,
        )?;
        Ok(Arc::new(AppState {
            app,
            i18n,
            languages,
            content,
            pages: Default::default(),
            chat: Hub::new(),
            metrics: Metrics::new(),
        }))
    }
}
