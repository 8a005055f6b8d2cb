//! TechDocs pages: Markdown from a repository's `docs/` folder rendered to safe HTML.
//!
//! [`render`] parses CommonMark with the GitHub-flavoured extensions the docs use (tables,
//! strikethrough, task lists, footnotes, heading attributes), gives every heading a unique slug
//! id (collected in [`Rendered::headings`] for a table of contents), rewrites link and image
//! URLs, and finally sanitises the whole HTML with an allow-list, so that raw HTML in the
//! Markdown can never run script or load from an unexpected scheme.
//!
//! URL policy, for Markdown links and images as well as for `<a href>` / `<img src>` in raw HTML:
//!
//! * `http://`, `https://` and `mailto:` URLs, and e-mail autolinks, are kept as they are;
//! * fragment-only URLs (`#section`) are kept;
//! * empty URLs, and any other URL with a scheme (`javascript:`, `data:`, `vbscript:`,
//!   `file:`…), are removed: a link keeps its text, an image is dropped;
//! * relative URLs (`guide.md`, `../x.md#sec`, `img/arch.png`, `/abs`, `//host/x`) are handed
//!   to the caller's `resolve` function, which returns the URL to use or `None` to remove it;
//!   this is where the portal decides what stays inside the docs folder.
//!
//! Input is bounded: only the first [`MAX_INPUT_BYTES`] bytes (1 MiB, cut at a character
//! boundary) of the Markdown are rendered. As HTML parsing is quadratic in nesting depth,
//! Markdown elements nested deeper than [`MAX_NESTING`] lose their tags (not their text) and
//! raw HTML past [`MAX_RAW_HTML_TAGS`] tags is shown as text.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// The largest Markdown input rendered, in bytes: longer input is cut (at a character boundary).
pub const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// What a relative URL handed to the resolver points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LinkKind {
    /// The target of a link (`[text](guide.md)`, `<a href>`): usually another docs page.
    Page,
    /// The source of an image (`![alt](img/arch.png)`, `<img src>`).
    Image,
}

/// A rendered Markdown page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The sanitised HTML, safe to embed in a page as is.
    pub html: String,
    /// The text of the first level-1 heading, if any.
    pub title: Option<String>,
    /// Every Markdown heading in document order, with the id it was given.
    pub headings: Vec<Heading>,
}

/// A heading of a rendered page, for a table of contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// The heading's plain text.
    pub text: String,
    /// The heading element's unique `id` (a slug of the text, or the `{#id}` attribute).
    pub id: String,
}

/// The deepest nesting of Markdown elements kept: deeper start and end tags are left out
/// (their content is kept), as deep nesting makes HTML parsing quadratic.
pub const MAX_NESTING: usize = 64;

/// The most raw HTML tags (counted as `<` characters) kept: any raw HTML past this budget is
/// shown as text, which bounds how deeply raw HTML can nest.
pub const MAX_RAW_HTML_TAGS: usize = 10_000;

/// Prefix of the placeholders that stand for resolved URLs between the Markdown rendering and
/// the sanitiser, which swaps them for the real URLs.
const PLACEHOLDER: &str = "socle-url-";

/// Renders Markdown to sanitised HTML (see the [module documentation](self) for the rules).
///
/// `resolve` is called with each relative link or image URL, as written (Markdown escapes
/// removed), and returns the URL to put in its place or `None` to remove it. A returned URL
/// with a scheme other than `http`, `https` or `mailto` is treated as `None`.
pub fn render(md: &str, resolve: &dyn Fn(LinkKind, &str) -> Option<String>) -> Rendered {
    let md = truncate(md, MAX_INPUT_BYTES);
    let mut urls = Vec::new();
    let mut rewrite = Rewriter::new(resolve, &mut urls);
    for event in Parser::new_ext(md, markdown_options()) {
        rewrite.event(event);
    }
    let Rewriter {
        out: events,
        headings,
        ids,
        raw_html,
        ..
    } = rewrite;

    let mut html = String::with_capacity(md.len() + md.len() / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());

    // URLs inside raw HTML are only seen by the HTML parser: a first sanitising pass collects
    // the relative ones so that they go through `resolve` like Markdown links do.
    let mut raw_urls = HashMap::new();
    if raw_html {
        for (kind, url) in collect_raw_relative_urls(&html) {
            let index = resolve_checked(resolve, kind, &url).map(|resolved| {
                urls.push(resolved);
                urls.len() - 1
            });
            raw_urls.insert((kind, url), index);
        }
    }

    let policy = FinalPolicy {
        urls,
        raw_urls,
        ids,
    };
    let mut builder = sanitiser();
    builder.attribute_filter(move |element, attribute, value| {
        policy.filter(element, attribute, value)
    });
    let html = builder.clean(&html).to_string();

    let title = headings
        .iter()
        .find(|heading| heading.level == 1)
        .map(|heading| heading.text.clone());
    Rendered {
        html,
        title,
        headings,
    }
}

fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// The longest prefix of `s` of at most `max` bytes that ends at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// How a URL found in a link or image is treated.
enum UrlClass {
    /// Kept as written: allowed absolute scheme or fragment.
    Keep,
    /// Removed: a scheme that is not allowed, or empty.
    Remove,
    /// Relative: the resolver decides.
    Relative,
}

const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

fn classify(url: &str) -> UrlClass {
    // Browsers ignore surrounding whitespace and tabs/newlines anywhere in a URL.
    let compact: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    if compact.is_empty() {
        return UrlClass::Remove;
    }
    if compact.starts_with('#') {
        return UrlClass::Keep;
    }
    match scheme(&compact) {
        Some(scheme)
            if ALLOWED_SCHEMES
                .iter()
                .any(|s| scheme.eq_ignore_ascii_case(s)) =>
        {
            UrlClass::Keep
        }
        Some(_) => UrlClass::Remove,
        None => UrlClass::Relative,
    }
}

/// The scheme of an absolute URL (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`,
/// up to the first `:`), or `None` for a relative reference.
fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Calls the resolver and drops a result whose scheme is not allowed.
fn resolve_checked(
    resolve: &dyn Fn(LinkKind, &str) -> Option<String>,
    kind: LinkKind,
    url: &str,
) -> Option<String> {
    let resolved = resolve(kind, url)?;
    match classify(&resolved) {
        UrlClass::Keep | UrlClass::Relative => Some(resolved),
        UrlClass::Remove => None,
    }
}

/// The event rewriter: heading ids, link and image URLs, footnote ids.
struct Rewriter<'a, 'r> {
    resolve: &'r dyn Fn(LinkKind, &str) -> Option<String>,
    /// Resolved relative URLs; the HTML carries `socle-url-N` in their place.
    urls: &'r mut Vec<String>,
    /// The rewritten events.
    out: Vec<Event<'a>>,
    headings: Vec<Heading>,
    /// Every id given out (headings and footnotes): the only ids the sanitiser keeps.
    ids: HashSet<String>,
    /// Footnote label -> element id.
    footnotes: HashMap<String, String>,
    /// The heading being read: the index of its start tag in `out` (if kept), its explicit id
    /// and its text so far.
    heading: Option<(Option<usize>, Option<String>, String)>,
    /// For each open element, whether its start tag was kept (see [`MAX_NESTING`]).
    open: Vec<bool>,
    /// How many kept elements are open.
    depth: usize,
    /// How many tags (`<`) of raw HTML were seen so far.
    raw_tags: usize,
    /// For each open link, whether its start tag was kept.
    links: Vec<bool>,
    /// Nesting depth inside a dropped image (its alt text is dropped too).
    skipped_image: usize,
    /// Whether the Markdown contains raw HTML.
    raw_html: bool,
}

impl<'a, 'r> Rewriter<'a, 'r> {
    fn new(
        resolve: &'r dyn Fn(LinkKind, &str) -> Option<String>,
        urls: &'r mut Vec<String>,
    ) -> Self {
        Rewriter {
            resolve,
            urls,
            out: Vec::new(),
            headings: Vec::new(),
            ids: HashSet::new(),
            footnotes: HashMap::new(),
            heading: None,
            links: Vec::new(),
            skipped_image: 0,
            raw_html: false,
            open: Vec::new(),
            depth: 0,
            raw_tags: 0,
        }
    }

    fn event(&mut self, event: Event<'a>) {
        if self.skipped_image > 0 {
            match event {
                Event::Start(Tag::Image { .. }) => self.skipped_image += 1,
                Event::End(TagEnd::Image) => self.skipped_image -= 1,
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                // The id is only known at the end of the heading: the start tag is replaced then.
                let start = self.out.len();
                self.push(Event::Start(heading_tag(level, None)));
                // `None` when the heading is nested too deep to keep its tag.
                let start = (self.out.len() > start).then_some(start);
                self.heading = Some((start, id.map(|id| id.to_string()), String::new()));
            }
            Event::End(TagEnd::Heading(level)) => {
                self.end_heading(level);
                self.push(event);
            }
            Event::Text(ref text) | Event::Code(ref text) => {
                if let Some((_, _, heading_text)) = &mut self.heading {
                    heading_text.push_str(text);
                }
                self.push(event);
            }
            Event::Html(html) => self.raw(html, Event::Html),
            Event::InlineHtml(html) => self.raw(html, Event::InlineHtml),
            // A task list's box, named for screen readers (an unlabelled input is an error).
            Event::TaskListMarker(done) => self.push(Event::InlineHtml(
                if done {
                    "<input disabled=\"\" checked=\"\" aria-label=\"done\"> "
                } else {
                    "<input disabled=\"\" aria-label=\"to do\"> "
                }
                .into(),
            )),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                // E-mail autolinks are written without their `mailto:`, which the HTML adds.
                let dest_url = if link_type == LinkType::Email {
                    Some(dest_url)
                } else {
                    self.rewrite_url(LinkKind::Page, dest_url)
                };
                self.links.push(dest_url.is_some());
                if let Some(dest_url) = dest_url {
                    self.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Link) => {
                if self.links.pop().unwrap_or(false) {
                    self.push(event);
                }
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => match self.rewrite_url(LinkKind::Image, dest_url) {
                Some(dest_url) => self.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                })),
                None => self.skipped_image = 1,
            },
            Event::FootnoteReference(label) => {
                let id = self.footnote_id(&label);
                self.push(Event::FootnoteReference(id.into()));
            }
            Event::Start(Tag::FootnoteDefinition(label)) => {
                let id = self.footnote_id(&label);
                self.push(Event::Start(Tag::FootnoteDefinition(id.into())));
            }
            other => self.push(other),
        }
    }

    /// Adds an event to the output, except the start and end tags of elements nested deeper
    /// than [`MAX_NESTING`] (their content is kept).
    fn push(&mut self, event: Event<'a>) {
        match event {
            Event::Start(_) => {
                let keep = self.depth < MAX_NESTING;
                self.open.push(keep);
                if keep {
                    self.depth += 1;
                    self.out.push(event);
                }
            }
            Event::End(_) => {
                if self.open.pop().unwrap_or(true) {
                    self.depth = self.depth.saturating_sub(1);
                    self.out.push(event);
                }
            }
            _ => self.out.push(event),
        }
    }

    /// Adds raw HTML, or, past [`MAX_RAW_HTML_TAGS`], shows it as text.
    fn raw(&mut self, html: CowStr<'a>, event: fn(CowStr<'a>) -> Event<'a>) {
        self.raw_tags += html.matches('<').count();
        if self.raw_tags > MAX_RAW_HTML_TAGS {
            self.push(Event::Text(html));
        } else {
            self.raw_html = true;
            self.push(event(html));
        }
    }

    /// Gives the heading being read its id and records it.
    fn end_heading(&mut self, level: HeadingLevel) {
        let Some((start, explicit, text)) = self.heading.take() else {
            return;
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let base = match explicit {
            Some(explicit)
                if !explicit.is_empty()
                    && explicit
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')) =>
            {
                explicit
            }
            Some(explicit) if !slug(&explicit).is_empty() => slug(&explicit),
            _ => slug(&text),
        };
        let base = if base.is_empty() {
            "section".to_owned()
        } else {
            base
        };
        let id = self.unique_id(base);
        if let Some(slot) = start.and_then(|start| self.out.get_mut(start)) {
            *slot = Event::Start(heading_tag(level, Some(id.clone())));
        }
        self.headings.push(Heading {
            level: level as u8,
            text,
            id,
        });
    }

    /// `base`, or `base-1`, `base-2`… : the first one not given out yet.
    fn unique_id(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 0;
        while self.ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        self.ids.insert(id.clone());
        id
    }

    /// The element id of a footnote, the same for its references and its definition.
    fn footnote_id(&mut self, label: &str) -> String {
        if let Some(id) = self.footnotes.get(label) {
            return id.clone();
        }
        let id = self.unique_id(format!("fn-{}", self.footnotes.len() + 1));
        self.footnotes.insert(label.to_owned(), id.clone());
        id
    }

    /// Applies the URL policy to a Markdown link or image destination.
    fn rewrite_url(&mut self, kind: LinkKind, url: CowStr<'a>) -> Option<CowStr<'a>> {
        match classify(&url) {
            UrlClass::Keep => Some(url),
            UrlClass::Remove => None,
            UrlClass::Relative => {
                let resolved = resolve_checked(self.resolve, kind, &url)?;
                self.urls.push(resolved);
                Some(format!("{PLACEHOLDER}{}", self.urls.len() - 1).into())
            }
        }
    }
}

fn heading_tag<'a>(level: HeadingLevel, id: Option<String>) -> Tag<'a> {
    Tag::Heading {
        level,
        id: id.map(CowStr::from),
        classes: Vec::new(),
        attrs: Vec::new(),
    }
}

/// A heading slug: lowercase letters and digits, words joined by single dashes.
fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.extend(c.to_lowercase());
        } else if c.is_whitespace() || matches!(c, '-' | '_' | '.' | '/') {
            dash = true;
        }
    }
    slug
}

/// The sanitiser's allow-list, shared by both passes.
fn sanitiser() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(HashSet::from([
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "p",
            "a",
            "img",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "em",
            "strong",
            "del",
            "hr",
            "br",
            "sup",
            "input",
            "details",
            "summary",
            "div",
        ]))
        .clean_content_tags(HashSet::from([
            "script",
            "style",
            "iframe",
            "noscript",
            "noembed",
            "noframes",
            "object",
            "embed",
            "template",
            "textarea",
            "title",
            "xmp",
            "plaintext",
            "select",
            "math",
            "svg",
        ]))
        .tag_attributes(HashMap::from([
            ("h1", HashSet::from(["id"])),
            ("h2", HashSet::from(["id"])),
            ("h3", HashSet::from(["id"])),
            ("h4", HashSet::from(["id"])),
            ("h5", HashSet::from(["id"])),
            ("h6", HashSet::from(["id"])),
            ("div", HashSet::from(["id"])),
            ("a", HashSet::from(["href", "title"])),
            ("img", HashSet::from(["src", "alt", "title"])),
            ("code", HashSet::from(["class"])),
            ("ol", HashSet::from(["start"])),
            ("th", HashSet::from(["align", "style"])),
            ("td", HashSet::from(["align", "style"])),
            (
                "input",
                HashSet::from(["checked", "disabled", "aria-label"]),
            ),
            ("details", HashSet::from(["open"])),
        ]))
        // Task list markers. Only one forced attribute: several would come out in hash order.
        .set_tag_attribute_values(HashMap::from([(
            "input",
            HashMap::from([("type", "checkbox")]),
        )]))
        .url_schemes(HashSet::from(ALLOWED_SCHEMES))
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    builder
}

/// The relative `<a href>` and `<img src>` URLs of `html` (apart from fragments and
/// placeholders), in document order, without duplicates.
fn collect_raw_relative_urls(html: &str) -> Vec<(LinkKind, String)> {
    let found: Arc<Mutex<Vec<(LinkKind, String)>>> = Arc::default();
    let sink = Arc::clone(&found);
    let mut builder = sanitiser();
    builder.attribute_filter(move |element, attribute, value| {
        if let Some(kind) = url_attribute(element, attribute)
            && matches!(classify(value), UrlClass::Relative)
            && placeholder_index(value).is_none()
            && let Ok(mut found) = sink.lock()
            && !found.iter().any(|(k, v)| *k == kind && v == value)
        {
            found.push((kind, value.to_owned()));
        }
        Some(Cow::Borrowed(value))
    });
    // Only the side effect matters: the output of this pass is thrown away.
    drop(builder.clean(html));
    found.lock().map(|found| found.clone()).unwrap_or_default()
}

/// The kind of URL an allowed attribute holds, if it holds one.
fn url_attribute(element: &str, attribute: &str) -> Option<LinkKind> {
    match (element, attribute) {
        ("a", "href") => Some(LinkKind::Page),
        ("img", "src") => Some(LinkKind::Image),
        _ => None,
    }
}

fn placeholder_index(url: &str) -> Option<usize> {
    url.strip_prefix(PLACEHOLDER)?.parse().ok()
}

/// The attribute policy of the final sanitising pass.
struct FinalPolicy {
    /// Resolved URLs, by placeholder index.
    urls: Vec<String>,
    /// Relative URLs found in raw HTML -> index of their resolved URL, `None` when removed.
    raw_urls: HashMap<(LinkKind, String), Option<usize>>,
    /// The ids given to headings and footnotes.
    ids: HashSet<String>,
}

impl FinalPolicy {
    fn filter<'v>(&self, element: &str, attribute: &str, value: &'v str) -> Option<Cow<'v, str>> {
        if let Some(kind) = url_attribute(element, attribute) {
            return match classify(value) {
                // Schemes were already checked against the allow-list by the sanitiser.
                UrlClass::Keep => Some(Cow::Borrowed(value)),
                UrlClass::Remove => None,
                UrlClass::Relative => {
                    let index = match placeholder_index(value) {
                        Some(index) => Some(index),
                        None => self
                            .raw_urls
                            .get(&(kind, value.to_owned()))
                            .copied()
                            .flatten(),
                    };
                    index
                        .and_then(|index| self.urls.get(index))
                        .map(|url| Cow::Owned(url.clone()))
                }
            };
        }
        match (element, attribute) {
            ("code", "class") => {
                let classes: Vec<&str> = value
                    .split_ascii_whitespace()
                    .filter(|class| {
                        class.len() > "language-".len() && class.starts_with("language-")
                    })
                    .collect();
                (!classes.is_empty()).then(|| Cow::Owned(classes.join(" ")))
            }
            ("th" | "td", "style") => {
                text_align(value).map(|align| Cow::Owned(format!("text-align: {align}")))
            }
            ("th" | "td", "align") => ["left", "center", "right"]
                .into_iter()
                .find(|align| value.trim().eq_ignore_ascii_case(align))
                .map(Cow::Borrowed),
            (_, "id") => self.ids.contains(value).then_some(Cow::Borrowed(value)),
            _ => Some(Cow::Borrowed(value)),
        }
    }
}

/// `left`, `center` or `right` when `style` is exactly one `text-align` declaration.
fn text_align(style: &str) -> Option<&'static str> {
    let (property, value) = style.trim().trim_end_matches(';').split_once(':')?;
    if !property.trim().eq_ignore_ascii_case("text-align") {
        return None;
    }
    ["left", "center", "right"]
        .into_iter()
        .find(|align| value.trim().eq_ignore_ascii_case(align))
}
