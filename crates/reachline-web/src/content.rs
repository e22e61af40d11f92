//! Self-help content: modules (chapters and exercises) and pages, loaded from Markdown files
//! with TOML front matter at start-up (see `content/FORMAT.md`).
//!
//! Content is rendered once, at load, and rendered *safely*: raw HTML in a file is shown as
//! text, images are dropped, and links to other sites become plain text, so no page can
//! load from or point to another origin because of content.

use include_dir::{include_dir, Dir};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

static BUILT_IN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../content");

type Transform = fn(&str) -> Cow<'_, str>;

#[derive(Debug, thiserror::Error)]
#[error("content file {file}: {message}")]
pub struct ContentError {
    pub file: String,
    pub message: String,
}

fn err(file: &str, message: impl Into<String>) -> ContentError {
    ContentError {
        file: file.to_string(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    #[serde(rename = "self")]
    Myself,
    SomeoneElse,
    #[serde(rename = "under-18")]
    Under18,
    Everyone,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleFront {
    title: String,
    summary: String,
    order: i64,
    reading_minutes: u32,
    audience: Audience,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageFront {
    title: String,
    summary: String,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseKind {
    Reflection,
    Checklist,
    Plan,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub hint: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: String,
    pub kind: ExerciseKind,
    pub title: String,
    pub prompt: String,
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub sections: Vec<PlanSection>,
}

/// A piece of a chapter: rendered Markdown, or an exercise form.
#[derive(Debug, Clone)]
pub enum Part {
    Html(String),
    Exercise(Exercise),
}

#[derive(Debug, Clone)]
pub struct Chapter {
    pub number: usize,
    pub title: String,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub order: i64,
    pub reading_minutes: u32,
    pub audience: Audience,
    pub intro_html: String,
    pub chapters: Vec<Chapter>,
}

impl Module {
    pub fn exercise(&self, id: &str) -> Option<(&Chapter, &Exercise)> {
        self.chapters.iter().find_map(|c| {
            c.parts.iter().find_map(|p| match p {
                Part::Exercise(e) if e.id == id => Some((c, e)),
                _ => None,
            })
        })
    }
}

#[derive(Debug, Clone)]
pub struct Page {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub version: Option<String>,
    pub html: String,
}

/// The content of one locale.
#[derive(Debug, Default)]
pub struct LocaleContent {
    pub modules: Vec<Module>,
    pub pages: HashMap<String, Page>,
}

impl LocaleContent {
    pub fn module(&self, slug: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.slug == slug)
    }
    pub fn page(&self, slug: &str) -> Option<&Page> {
        self.pages.get(slug)
    }
}

/// Every locale's content, keyed by locale tag (pseudo-locales included).
#[derive(Debug, Default)]
pub struct Library {
    by_locale: HashMap<String, LocaleContent>,
    fallback: String,
}

/// Raw source files: locale → kind (modules|pages) → slug → text.
type Sources = BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>;

impl Library {
    /// Loads the built-in content, then the operator's `content_dir` (if any) over it.
    /// `locales` lists (tag, content tag, transform) for every locale the site offers.
    pub fn load(
        operator_dir: Option<&Path>,
        locales: &[(String, String, Option<Transform>)],
        fallback: &str,
    ) -> Result<Library, ContentError> {
        let mut sources = Sources::new();
        collect_built_in(&BUILT_IN, &mut sources);
        if let Some(dir) = operator_dir {
            collect_dir(dir, &mut sources)?;
        }
        let mut by_locale = HashMap::new();
        for (tag, content_tag, transform) in locales {
            let src = sources
                .get(content_tag)
                .or_else(|| sources.get(fallback))
                .ok_or_else(|| err(content_tag, "no content for this locale"))?;
            by_locale.insert(tag.clone(), build_locale(src, *transform)?);
        }
        Ok(Library {
            by_locale,
            fallback: fallback.to_string(),
        })
    }

    pub fn locale(&self, tag: &str) -> &LocaleContent {
        static EMPTY: std::sync::OnceLock<LocaleContent> = std::sync::OnceLock::new();
        self.by_locale
            .get(tag)
            .or_else(|| self.by_locale.get(&self.fallback))
            .unwrap_or_else(|| EMPTY.get_or_init(LocaleContent::default))
    }
}

fn md_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for entry in dir.entries() {
        match entry {
            include_dir::DirEntry::Dir(d) => md_files(d, out),
            include_dir::DirEntry::File(f) => {
                if f.path().extension().is_some_and(|e| e == "md") {
                    out.push(f);
                }
            }
        }
    }
}

fn collect_built_in(dir: &Dir<'_>, sources: &mut Sources) {
    let mut files = Vec::new();
    md_files(dir, &mut files);
    for f in files {
        let parts: Vec<String> = f
            .path()
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if let [locale, kind, name] = parts.as_slice() {
            if let (Some(slug), Some(text)) = (name.strip_suffix(".md"), f.contents_utf8()) {
                sources
                    .entry(locale.clone())
                    .or_default()
                    .entry(kind.clone())
                    .or_default()
                    .insert(slug.to_string(), text.to_string());
            }
        }
    }
}

fn collect_dir(dir: &Path, sources: &mut Sources) -> Result<(), ContentError> {
    let shown = dir.display().to_string();
    let locales = std::fs::read_dir(dir).map_err(|e| err(&shown, e.to_string()))?;
    for locale in locales.flatten() {
        if !locale.path().is_dir() {
            continue;
        }
        let tag = locale.file_name().to_string_lossy().into_owned();
        for kind in ["modules", "pages"] {
            let Ok(files) = std::fs::read_dir(locale.path().join(kind)) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                let name = file.file_name().to_string_lossy().into_owned();
                let Some(slug) = name.strip_suffix(".md") else {
                    continue;
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| err(&path.display().to_string(), e.to_string()))?;
                sources
                    .entry(tag.clone())
                    .or_default()
                    .entry(kind.to_string())
                    .or_default()
                    .insert(slug.to_string(), text);
            }
        }
    }
    Ok(())
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn build_locale(
    src: &BTreeMap<String, BTreeMap<String, String>>,
    transform: Option<Transform>,
) -> Result<LocaleContent, ContentError> {
    let mut content = LocaleContent::default();
    for (slug, text) in src.get("modules").into_iter().flatten() {
        content.modules.push(parse_module(slug, text, transform)?);
    }
    content
        .modules
        .sort_by(|a, b| a.order.cmp(&b.order).then(a.slug.cmp(&b.slug)));
    for (slug, text) in src.get("pages").into_iter().flatten() {
        content
            .pages
            .insert(slug.clone(), parse_page(slug, text, transform)?);
    }
    Ok(content)
}

fn split_front(file: &str, text: &str) -> Result<(String, String), ContentError> {
    let text = text.trim_start_matches('\u{feff}');
    let rest = text
        .strip_prefix("+++")
        .ok_or_else(|| err(file, "must start with +++ front matter"))?;
    let end = rest
        .find("\n+++")
        .ok_or_else(|| err(file, "front matter is not closed with +++"))?;
    let front = rest[..end].to_string();
    let body = rest[end + 4..].to_string();
    Ok((front, body))
}

fn tx(s: &str, transform: Option<Transform>) -> String {
    match transform {
        Some(t) => t(s).into_owned(),
        None => s.to_string(),
    }
}

fn parse_module(slug: &str, text: &str, t: Option<Transform>) -> Result<Module, ContentError> {
    let file = format!("modules/{slug}.md");
    if !valid_slug(slug) {
        return Err(err(
            &file,
            "file names must be lowercase letters, digits and hyphens",
        ));
    }
    let (front, body) = split_front(&file, text)?;
    let front: ModuleFront = toml::from_str(&front).map_err(|e| err(&file, e.to_string()))?;
    let (intro_html, chapters) = render_module_body(&file, &body, t)?;
    if chapters.is_empty() {
        return Err(err(
            &file,
            "a module needs at least one chapter (a `## ` heading)",
        ));
    }
    Ok(Module {
        slug: slug.to_string(),
        title: tx(&front.title, t),
        summary: tx(&front.summary, t),
        order: front.order,
        reading_minutes: front.reading_minutes,
        audience: front.audience,
        intro_html,
        chapters,
    })
}

fn parse_page(slug: &str, text: &str, t: Option<Transform>) -> Result<Page, ContentError> {
    let file = format!("pages/{slug}.md");
    if !valid_slug(slug) {
        return Err(err(
            &file,
            "file names must be lowercase letters, digits and hyphens",
        ));
    }
    let (front, body) = split_front(&file, text)?;
    let front: PageFront = toml::from_str(&front).map_err(|e| err(&file, e.to_string()))?;
    let events = safe_events(&body, t, 0);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    Ok(Page {
        slug: slug.to_string(),
        title: tx(&front.title, t),
        summary: tx(&front.summary, t),
        version: front.version,
        html,
    })
}

/// Renders Markdown written by staff (e.g. a new confidentiality statement) as safely as
/// content files: no raw HTML, no images, no links to other sites.
pub fn render_markdown(body: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, safe_events(body, None, 0).into_iter());
    html
}

fn is_internal(dest: &str) -> bool {
    (dest.starts_with('/') && !dest.starts_with("//")) || dest.starts_with('#')
}

/// Parses Markdown into events with everything unsafe neutralised. `shift` lowers heading
/// levels (a module's `###` becomes an `h2` on its chapter page).
fn safe_events(body: &str, t: Option<Transform>, shift: usize) -> Vec<Event<'static>> {
    let mut out = Vec::new();
    let mut skip_link_end = 0usize;
    let mut in_image = 0usize;
    let mut in_code = false;
    for ev in Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH) {
        let ev: Event<'static> = match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code = true;
                Event::Start(Tag::CodeBlock(kind)).into_static()
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                Event::End(TagEnd::CodeBlock)
            }
            // Code blocks hold exercise definitions: never transformed.
            Event::Text(s) if in_code => Event::Text(CowStr::from(s.into_string())),
            Event::Html(h) | Event::InlineHtml(h) => Event::Text(CowStr::from(tx(&h, t))),
            Event::Text(s) if in_image == 0 => Event::Text(CowStr::from(tx(&s, t))),
            Event::Text(_) => continue,
            Event::Start(Tag::Image { .. }) => {
                in_image += 1;
                continue;
            }
            Event::End(TagEnd::Image) => {
                in_image = in_image.saturating_sub(1);
                continue;
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                if is_internal(&dest_url) {
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(dest_url.into_string()),
                        title: CowStr::from(title.into_string()),
                        id: CowStr::from(id.into_string()),
                    })
                } else {
                    skip_link_end += 1;
                    continue;
                }
            }
            Event::End(TagEnd::Link) if skip_link_end > 0 => {
                skip_link_end -= 1;
                continue;
            }
            Event::Start(Tag::Heading { level, .. }) => Event::Start(Tag::Heading {
                level: shift_level(level, shift),
                id: None,
                classes: vec![],
                attrs: vec![],
            }),
            Event::End(TagEnd::Heading(level)) => {
                Event::End(TagEnd::Heading(shift_level(level, shift)))
            }
            other => other.into_static(),
        };
        out.push(ev);
    }
    out
}

fn shift_level(level: HeadingLevel, shift: usize) -> HeadingLevel {
    let n = (level as usize).saturating_sub(shift).clamp(2, 6);
    HeadingLevel::try_from(n).unwrap_or(HeadingLevel::H6)
}

fn render_module_body(
    file: &str,
    body: &str,
    t: Option<Transform>,
) -> Result<(String, Vec<Chapter>), ContentError> {
    let events = safe_events(body, t, 1);
    let mut intro = String::new();
    let mut chapters: Vec<Chapter> = Vec::new();
    let mut pending: Vec<Event<'static>> = Vec::new();
    let mut heading: Option<String> = None;
    let mut exercise: Option<String> = None;
    let mut ids = HashSet::new();

    let flush =
        |pending: &mut Vec<Event<'static>>, chapters: &mut Vec<Chapter>, intro: &mut String| {
            if pending.is_empty() {
                return;
            }
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, pending.drain(..));
            match chapters.last_mut() {
                Some(c) => c.parts.push(Part::Html(html)),
                None => intro.push_str(&html),
            }
        };

    // Chapter headings are `##` in the file; after the shift they arrive as level 2 with a
    // marker we can't see, so find them by re-parsing levels from the original text order.
    let raw_levels: Vec<HeadingLevel> = Parser::new(body)
        .filter_map(|e| match e {
            Event::Start(Tag::Heading { level, .. }) => Some(level),
            _ => None,
        })
        .collect();
    let mut heading_index = 0usize;
    let mut in_chapter_heading = false;

    for ev in events {
        match (&ev, &mut heading, &mut exercise) {
            (_, _, Some(buf)) => match ev {
                Event::Text(s) => buf.push_str(&s),
                Event::End(TagEnd::CodeBlock) => {
                    let src = std::mem::take(buf);
                    exercise = None;
                    let ex: Exercise = toml::from_str(&src)
                        .map_err(|e| err(file, format!("exercise block: {e}")))?;
                    validate_exercise(file, &ex, &mut ids)?;
                    let ex = transform_exercise(ex, t);
                    flush(&mut pending, &mut chapters, &mut intro);
                    match chapters.last_mut() {
                        Some(c) => c.parts.push(Part::Exercise(ex)),
                        None => return Err(err(file, "exercises belong inside a chapter")),
                    }
                }
                _ => {}
            },
            (Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))), _, None)
                if info.trim() == "exercise" =>
            {
                exercise = Some(String::new());
            }
            (Event::Start(Tag::Heading { .. }), _, None) => {
                let level = raw_levels.get(heading_index).copied();
                heading_index += 1;
                if level == Some(HeadingLevel::H2) {
                    in_chapter_heading = true;
                    heading = Some(String::new());
                } else {
                    pending.push(ev);
                }
            }
            (Event::End(TagEnd::Heading(_)), Some(_), None) if in_chapter_heading => {
                in_chapter_heading = false;
                let title = heading.take().unwrap_or_default();
                flush(&mut pending, &mut chapters, &mut intro);
                chapters.push(Chapter {
                    number: chapters.len() + 1,
                    title: title.trim().to_string(),
                    parts: Vec::new(),
                });
            }
            (Event::Text(s) | Event::Code(s), Some(h), None) => h.push_str(s),
            (_, Some(_), None) => {}
            _ => pending.push(ev),
        }
    }
    if exercise.is_some() {
        return Err(err(file, "an exercise block is not closed"));
    }
    flush(&mut pending, &mut chapters, &mut intro);
    Ok((intro, chapters))
}

fn validate_exercise(
    file: &str,
    ex: &Exercise,
    ids: &mut HashSet<String>,
) -> Result<(), ContentError> {
    if !valid_slug(&ex.id) {
        return Err(err(
            file,
            format!(
                "exercise id {:?} must be lowercase letters, digits and hyphens",
                ex.id
            ),
        ));
    }
    if !ids.insert(ex.id.clone()) {
        return Err(err(file, format!("exercise id {:?} is used twice", ex.id)));
    }
    match ex.kind {
        ExerciseKind::Checklist if ex.items.is_empty() => {
            Err(err(file, format!("checklist {:?} needs items", ex.id)))
        }
        ExerciseKind::Plan if ex.sections.is_empty() => {
            Err(err(file, format!("plan {:?} needs sections", ex.id)))
        }
        ExerciseKind::Plan => {
            let mut seen = HashSet::new();
            for s in &ex.sections {
                if !valid_slug(&s.id) || !seen.insert(s.id.clone()) {
                    return Err(err(
                        file,
                        format!(
                            "plan {:?}: section id {:?} is invalid or repeated",
                            ex.id, s.id
                        ),
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn transform_exercise(mut ex: Exercise, t: Option<Transform>) -> Exercise {
    if t.is_none() {
        return ex;
    }
    ex.title = tx(&ex.title, t);
    ex.prompt = tx(&ex.prompt, t);
    ex.items = ex.items.iter().map(|i| tx(i, t)).collect();
    for s in &mut ex.sections {
        s.label = tx(&s.label, t);
        s.hint = tx(&s.hint, t);
    }
    ex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Vec<(String, String, Option<Transform>)> {
        vec![("en-GB".into(), "en-GB".into(), None)]
    }

    #[test]
    fn built_in_content_loads_with_at_least_eight_modules() -> Result<(), ContentError> {
        let lib = Library::load(None, &en(), "en-GB")?;
        let c = lib.locale("en-GB");
        assert!(c.modules.len() >= 8, "only {} modules", c.modules.len());
        for m in &c.modules {
            assert!(!m.chapters.is_empty(), "{}", m.slug);
            for ch in &m.chapters {
                assert!(!ch.title.is_empty(), "{}", m.slug);
            }
        }
        for page in [
            "get-help",
            "worried-about-someone-else",
            "under-18",
            "the-law",
            "confidentiality",
        ] {
            assert!(c.page(page).is_some(), "missing page {page}");
        }
        assert!(c
            .page("confidentiality")
            .and_then(|p| p.version.clone())
            .is_some());
        Ok(())
    }

    #[test]
    fn unsafe_markdown_is_neutralised() -> Result<(), ContentError> {
        let text = "+++\ntitle = \"T\"\nsummary = \"S\"\norder = 1\nreading_minutes = 1\naudience = \"self\"\n+++\n\
            Intro <script>alert(1)</script>\n\n## One\n\nSee [help](/get-help) and [away](https://example.org/x) \
            ![img](https://example.org/i.png) <img src=x onerror=y>\n\n### Sub\n\n```exercise\nid = \"a\"\nkind = \"reflection\"\n\
            title = \"A\"\nprompt = \"P\"\n```\n\n## Two\n\nMore.\n";
        let m = parse_module("demo", text, None)?;
        assert!(m.intro_html.contains("&lt;script&gt;"));
        assert_eq!(m.chapters.len(), 2);
        let html: String = m.chapters[0]
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Html(h) => Some(h.as_str()),
                _ => None,
            })
            .collect();
        assert!(html.contains("href=\"/get-help\""));
        assert!(!html.contains("example.org"), "{html}");
        assert!(html.contains("away"));
        assert!(!html.contains("<img"));
        assert!(html.contains("<h2>Sub</h2>"), "{html}");
        assert!(m.exercise("a").is_some());
        Ok(())
    }

    #[test]
    fn broken_content_is_a_clear_error() {
        let bad = [
            "no front matter",
            "+++\ntitle = \"T\"\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\norder = 1\nreading_minutes = 1\naudience = \"self\"\n+++\nNo chapters.\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\norder = 1\nreading_minutes = 1\naudience = \"self\"\ncolour = 1\n+++\n## A\n",
            "+++\ntitle = \"T\"\nsummary = \"S\"\norder = 1\nreading_minutes = 1\naudience = \"self\"\n+++\n## A\n```exercise\nid = \"x\"\nkind = \"checklist\"\ntitle = \"t\"\nprompt = \"p\"\n```\n",
        ];
        for text in bad {
            assert!(parse_module("demo", text, None).is_err(), "{text}");
        }
        assert!(parse_module("Bad Slug", "", None).is_err());
    }
}
