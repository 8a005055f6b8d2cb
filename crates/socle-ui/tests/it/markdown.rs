//! TechDocs Markdown rendering: heading ids, link resolution, sanitising.

use std::cell::RefCell;

use socle_ui::markdown::{
    Heading, LinkKind, MAX_INPUT_BYTES, MAX_NESTING, MAX_RAW_HTML_TAGS, render,
};

/// A resolver for a docs site at `/docs/default/component/orders/`: pages and images inside
/// the docs folder resolve, anything climbing out of it does not.
fn resolve(kind: LinkKind, url: &str) -> Option<String> {
    if url.starts_with("..") || url.starts_with('/') {
        return None;
    }
    let (path, fragment) = url.split_once('#').unwrap_or((url, ""));
    let path = match kind {
        LinkKind::Page => path.trim_end_matches(".md").to_owned(),
        LinkKind::Image => format!("_assets/{path}"),
    };
    let fragment = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    Some(format!("/docs/default/component/orders/{path}{fragment}"))
}

fn no_links(_: LinkKind, _: &str) -> Option<String> {
    None
}

#[test]
fn headings_get_unique_slug_ids_and_the_first_h1_is_the_title() {
    let md = "# Getting Started\n\nIntro.\n\n## Set-up & `cargo`\n\n## Setup\n\n## Setup\n\n\
              ### Setup {#custom_id .wide}\n\n# Second title\n\n## ¿Qué tal?\n\n## !!!\n";
    let out = render(md, &no_links);
    assert_eq!(out.title.as_deref(), Some("Getting Started"));
    let ids: Vec<(u8, &str, &str)> = out
        .headings
        .iter()
        .map(|h| (h.level, h.text.as_str(), h.id.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            (1, "Getting Started", "getting-started"),
            (2, "Set-up & cargo", "set-up-cargo"),
            (2, "Setup", "setup"),
            (2, "Setup", "setup-1"),
            (3, "Setup", "custom_id"),
            (1, "Second title", "second-title"),
            (2, "¿Qué tal?", "qué-tal"),
            (2, "!!!", "section"),
        ]
    );
    assert!(
        out.html
            .contains(r#"<h1 id="getting-started">Getting Started</h1>"#)
    );
    assert!(
        out.html
            .contains(r#"<h2 id="set-up-cargo">Set-up &amp; <code>cargo</code></h2>"#)
    );
    assert!(out.html.contains(r#"<h2 id="setup-1">Setup</h2>"#));
    // Heading classes from `{.wide}` are not kept.
    assert!(out.html.contains(r#"<h3 id="custom_id">Setup</h3>"#));
}

#[test]
fn a_page_without_h1_has_no_title() {
    let out = render("## Only a section\n\ntext", &no_links);
    assert_eq!(out.title, None);
    assert_eq!(
        out.headings,
        [Heading {
            level: 2,
            text: "Only a section".into(),
            id: "only-a-section".into()
        }]
    );
}

#[test]
fn relative_links_and_images_go_through_the_resolver() {
    let calls = RefCell::new(Vec::new());
    let recording = |kind: LinkKind, url: &str| {
        calls.borrow_mut().push((kind, url.to_owned()));
        resolve(kind, url)
    };
    let md = "[Guide](guide.md) [Section](other.md#sec) [Out](../x.md#sec) [Root](/abs)\n\n\
              ![Architecture](img/arch.png \"The big picture\") ![Escaped](../../secret.png)\n";
    let out = render(md, &recording);
    assert_eq!(
        calls.into_inner(),
        [
            (LinkKind::Page, "guide.md".to_owned()),
            (LinkKind::Page, "other.md#sec".to_owned()),
            (LinkKind::Page, "../x.md#sec".to_owned()),
            (LinkKind::Page, "/abs".to_owned()),
            (LinkKind::Image, "img/arch.png".to_owned()),
            (LinkKind::Image, "../../secret.png".to_owned()),
        ]
    );
    assert_eq!(
        out.html,
        "<p><a href=\"/docs/default/component/orders/guide\" rel=\"noopener noreferrer\">Guide</a> \
         <a href=\"/docs/default/component/orders/other#sec\" rel=\"noopener noreferrer\">Section</a> \
         Out Root</p>\n\
         <p><img src=\"/docs/default/component/orders/_assets/img/arch.png\" alt=\"Architecture\" \
         title=\"The big picture\"> </p>\n"
    );
}

#[test]
fn absolute_and_fragment_urls_are_kept_other_schemes_removed() {
    let md = "[web](https://example.com/a?b=1&c=2) [plain](http://example.com) \
              [mail](mailto:team@example.com) <ops@example.com> [here](#setup)\n\n\
              [js](javascript:alert(1)) [JS](JaVaScRiPt:alert(1)) [vb](vbscript:msgbox) \
              [file](file:///etc/passwd) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n\
              ![pixel](data:image/png;base64,iVBORw0KGgo=) ![remote](https://example.com/a.png)\n";
    let out = render(md, &|_, _| panic!("no relative URL here"));
    assert_eq!(
        out.html,
        "<p><a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">web</a> \
         <a href=\"http://example.com\" rel=\"noopener noreferrer\">plain</a> \
         <a href=\"mailto:team@example.com\" rel=\"noopener noreferrer\">mail</a> \
         <a href=\"mailto:ops@example.com\" rel=\"noopener noreferrer\">ops@example.com</a> \
         <a href=\"#setup\" rel=\"noopener noreferrer\">here</a></p>\n\
         <p>js JS vb file data</p>\n\
         <p> <img src=\"https://example.com/a.png\" alt=\"remote\"></p>\n"
    );
}

#[test]
fn a_resolver_cannot_return_a_dangerous_scheme() {
    let out = render("[a](a.md) ![b](b.png)", &|_, _| {
        Some("javascript:alert(1)".to_owned())
    });
    assert_eq!(out.html, "<p>a </p>\n");
}

#[test]
fn raw_html_is_neutralised() {
    let attacks = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">click</a>",
        "<a href=\"  java\tscript:alert(1)\">tab</a>",
        "<iframe src=\"https://evil.example\">inside</iframe>",
        "<style>body { display: none }</style>",
        "<svg onload=alert(1)><circle r=1 /></svg>",
        "<p onclick=\"alert(1)\" style=\"color: red\">para</p>",
        "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
        "<form action=\"https://evil.example\"><input type=\"text\" name=\"pw\"></form>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<details open ontoggle=alert(1)><summary>More</summary>hidden</details>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        "<base href=\"https://evil.example/\">",
    ];
    for attack in attacks {
        let html = render(attack, &resolve).html;
        let lower = html.to_ascii_lowercase();
        for forbidden in [
            "<script",
            "<iframe",
            "<style",
            "<svg",
            "<object",
            "<embed",
            "<form",
            "<meta",
            "<base",
            "<math",
            " on",
            "javascript:",
            "alert(",
        ] {
            assert!(
                !lower.contains(forbidden),
                "{attack:?} rendered as {html:?}, which contains {forbidden:?}"
            );
        }
    }
    assert_eq!(
        render("<a href=\"javascript:alert(1)\">click</a>", &resolve).html,
        "<p><a rel=\"noopener noreferrer\">click</a></p>\n"
    );
    assert_eq!(
        render("<img src=x onerror=alert(1)>", &no_links).html,
        "<img>"
    );
    assert_eq!(
        render(
            "<details open ontoggle=alert(1)><summary>More</summary>hidden</details>",
            &no_links
        )
        .html,
        "<details open=\"\"><summary>More</summary>hidden</details>"
    );
    // A `javascript:` autolink or link loses its link; its text stays, as text.
    assert_eq!(
        render(
            "[link](<javascript:alert(1)>) <javascript:alert(1)>",
            &resolve
        )
        .html,
        "<p>link javascript:alert(1)</p>\n"
    );
    // A stray input is forced to a checkbox.
    assert_eq!(
        render(
            "<input type=\"text\" name=\"pw\" value=\"x\" disabled>",
            &no_links
        )
        .html,
        "<input disabled=\"\" type=\"checkbox\">"
    );
    assert_eq!(
        render("<input name=\"pw\">", &no_links).html,
        "<input type=\"checkbox\">"
    );
}

#[test]
fn relative_urls_in_raw_html_go_through_the_resolver_too() {
    let md = "<p><img src=\"img/arch.png\" alt=\"Arch\" width=\"300\"> \
              <a href=\"guide.md#x\" id=\"clobber\">Guide</a> <a href=\"../../../etc\">Out</a> \
              <a href=\"socle-url-7\">Forged</a></p>";
    let out = render(md, &resolve);
    assert_eq!(
        out.html,
        "<p><img src=\"/docs/default/component/orders/_assets/img/arch.png\" alt=\"Arch\"> \
         <a href=\"/docs/default/component/orders/guide#x\" rel=\"noopener noreferrer\">Guide</a> \
         <a rel=\"noopener noreferrer\">Out</a> <a rel=\"noopener noreferrer\">Forged</a></p>"
    );
}

#[test]
fn code_blocks_keep_only_language_classes() {
    let md = "```rust\nfn main() { println!(\"<hi>\"); }\n```\n\n\
              <pre><code class=\"hljs language-toml evil\">a = 1</code></pre>\n\n\
              <p class=\"x\"><code class=\"nope\">b</code></p>\n";
    let out = render(md, &no_links);
    assert_eq!(
        out.html,
        "<pre><code class=\"language-rust\">fn main() { println!(\"&lt;hi&gt;\"); }\n</code></pre>\n\
         <pre><code class=\"language-toml\">a = 1</code></pre>\n\
         <p><code>b</code></p>\n"
    );
}

#[test]
fn tables_task_lists_strikethrough_and_footnotes() {
    let md = "| Name | Port |\n|:-----|-----:|\n| api | 8080 |\n\n\
              - [x] done\n- [ ] todo\n\n~~old~~ new[^note]\n\n[^note]: A footnote.\n";
    let out = render(md, &no_links);
    assert_eq!(
        out.html,
        "<table><thead><tr><th style=\"text-align: left\">Name</th>\
         <th style=\"text-align: right\">Port</th></tr></thead><tbody>\n\
         <tr><td style=\"text-align: left\">api</td><td style=\"text-align: right\">8080</td></tr>\n\
         </tbody></table>\n\
         <ul>\n<li><input disabled=\"\" checked=\"\" aria-label=\"done\" type=\"checkbox\"> done</li>\n\
         <li><input disabled=\"\" aria-label=\"to do\" type=\"checkbox\"> todo</li>\n</ul>\n\
         <p><del>old</del> new<sup><a href=\"#fn-1\" rel=\"noopener noreferrer\">1</a></sup></p>\n\
         <div id=\"fn-1\"><sup>1</sup>\n<p>A footnote.</p>\n</div>\n"
    );
}

#[test]
fn only_text_align_styles_survive_on_cells() {
    let md = "<table><tr><td style=\"text-align: center\">a</td>\
              <td style=\"background: url(https://evil.example)\">b</td>\
              <td style=\"text-align: left; color: red\">c</td><td align=\"RIGHT\">d</td></tr></table>";
    assert_eq!(
        render(md, &no_links).html,
        "<table><tbody><tr><td style=\"text-align: center\">a</td><td>b</td><td>c</td>\
         <td align=\"right\">d</td></tr></tbody></table>"
    );
}

#[test]
fn input_is_cut_at_one_mebibyte() {
    // Two-byte characters, so that the limit falls inside one.
    let mut md = "é".repeat(MAX_INPUT_BYTES / 2 + 1);
    md.push_str("\n\n# Past the limit\n");
    let out = render(&md, &no_links);
    assert!(out.headings.is_empty());
    assert!(!out.html.contains("Past the limit"));
    assert_eq!(out.html.matches('é').count(), MAX_INPUT_BYTES / 2);
}

#[test]
fn snapshot_of_a_small_page() {
    let md = "# Orders API\n\nThe **orders** service. See the [guide](guide.md) and \
              ![diagram](img/flow.png).\n\n## Run it\n\n```sh\ncargo run\n```\n\n\
              ## Run it\n\n> Note: <b>bold</b> <script>alert(1)</script>\n";
    insta::assert_yaml_snapshot!(render(md, &resolve));
}

#[test]
fn deep_nesting_is_flattened_and_raw_html_is_budgeted() {
    let out = render(&format!("{} deep", ">".repeat(100)), &no_links);
    assert_eq!(out.html.matches("<blockquote>").count(), MAX_NESTING);
    assert_eq!(out.html.matches("</blockquote>").count(), MAX_NESTING);
    assert!(out.html.contains("deep"));

    let out = render(&"<i>".repeat(MAX_RAW_HTML_TAGS + 2), &no_links);
    // `<i>` is not allowed: the kept ones disappear, the ones past the budget are text.
    assert_eq!(out.html, "<p>&lt;i&gt;&lt;i&gt;</p>\n");
}

#[test]
fn pathological_input_stays_fast() {
    let started = std::time::Instant::now();
    let inputs = [
        ">".repeat(MAX_INPUT_BYTES),
        "<div>".repeat(MAX_INPUT_BYTES / 5),
        "*a ".repeat(MAX_INPUT_BYTES / 3),
        "[".repeat(MAX_INPUT_BYTES / 2) + &"](a.md)".repeat(MAX_INPUT_BYTES / 14),
        (0..1_000)
            .map(|i| format!("{}- item\n", "  ".repeat(i)))
            .collect(),
    ];
    for input in &inputs {
        let _ = render(input, &resolve);
    }
    // Generous for unoptimised builds on a busy machine; quadratic blow-ups take minutes.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
