//! The page shell: landmarks (header, nav, main, footer), a skip link, the stylesheet and the
//! small script (progressive enhancement only: every page reads without it).

use maud::{DOCTYPE, Markup, html};

use crate::session::Viewer;

pub const CSS: &str = include_str!("../assets/socle.css");
pub const JS: &str = include_str!("../assets/socle.js");
/// Cache-busting suffix for the assets (changes with their content).
pub fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(format!("{CSS}{JS}").as_bytes())[..6])
    })
}

const NAV: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/catalog", "Catalog"),
    ("/create", "Create"),
    ("/deployments", "Deployments"),
    ("/dora", "DORA"),
    ("/slos", "SLOs"),
    ("/data", "Data"),
    ("/scorecards", "Scorecards"),
    ("/teams", "Teams"),
    ("/surveys", "Surveys"),
    ("/adoption", "Adoption"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Socle" }
            link rel="stylesheet" href={ "/static/socle.css?v=" (asset_version()) };
            script src={ "/static/socle.js?v=" (asset_version()) } defer {}
        }
    }
}

/// A full page for `viewer`; `active` is the nav entry's path.
pub fn page(viewer: &Viewer, title: &str, active: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "Socle" }
                    nav aria-label="Main" {
                        ul {
                            @for (href, label) in NAV {
                                li {
                                    a href=(href) aria-current=[(*href == active).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    div class="who" {
                        @if let Some(p) = &viewer.principal {
                            span class="user" { (p.subject) " · " (p.role.as_str()) }
                            @if p.subject.starts_with("user:") { a href="/tokens" { "Tokens" } }
                            a href="/feedback" { "Feedback" }
                            form method="post" action="/signout" class="inline" {
                                input type="hidden" name="csrf" value=(viewer.csrf.as_deref().unwrap_or_default());
                                button type="submit" class="link" { "Sign out" }
                            }
                        } @else {
                            a href="/signin" { "Sign in" }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (content)
                    @if viewer.principal.is_some() { (crate::pages::feedback::control(viewer)) }
                }
                footer { "Socle — catalog, golden paths, deployments, guardrails and delivery metrics in one binary. " a href="/api/openapi.json" { "API" } }
            }
        }
    }
}

/// A page without the viewer (error pages).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header class="top" { a class="brand" href="/" { "Socle" } }
                main id="main" { (content) }
            }
        }
    }
}

/// `12 min ago`, `3 h ago`, `5 days ago`, or the date.
pub fn ago(ms: i64, now: i64) -> String {
    let s = (now - ms) / 1000;
    match s {
        i64::MIN..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        86_400..=2_591_999 => format!("{} days ago", s / 86_400),
        _ => date(ms),
    }
}

/// `2026-11-28 14:05 UTC`.
pub fn date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The portal path of an entity ref (`component:default/x` → `/catalog/component/default/x`).
pub fn entity_href(r: &str) -> String {
    let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!(
        "/catalog/{}/{}/{}",
        enc(&kind.to_ascii_lowercase()),
        enc(&ns.to_ascii_lowercase()),
        enc(&name.to_ascii_lowercase())
    )
}

/// The short name of a ref (`group:default/team-a` → `team-a`).
pub fn short(r: &str) -> &str {
    r.rsplit_once('/')
        .map_or_else(|| r.split_once(':').map_or(r, |(_, n)| n), |(_, n)| n)
}

/// Everything but RFC 3986's unreserved characters.
const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a path segment or query value.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODED).to_string()
}

/// The URL when it is a web link (http or https), trimmed; anything else is shown as text.
pub fn web_url(u: &str) -> Option<&str> {
    let l = u.trim().to_ascii_lowercase();
    (l.starts_with("https://") || l.starts_with("http://")).then_some(u.trim())
}

/// A level badge (elite/high/medium/low).
pub fn level_badge(level: Option<socle_dora::Level>) -> Markup {
    match level {
        Some(l) => html! { span class={ "level level-" (l.as_str()) } { (l.as_str()) } },
        None => html! { span class="level level-none" { "no data" } },
    }
}
