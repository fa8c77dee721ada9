//! A small HTML well-formedness checker and self-containment checks for
//! the HTML reports (included by the tests that read them).
#![allow(dead_code)]

/// HTML elements that have no end tag.
pub const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// What [`check_html`] found in a well-formed page.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Element names as they open, in document order.
    pub opened: Vec<String>,
    /// `<svg>` elements not inside another one.
    pub svg_roots: usize,
}

/// A small well-formedness check (there is no HTML parser among the
/// dependencies): every non-void element is closed in order, `/>` only on
/// void elements or inside SVG, no stray `<` in text, every `&` starts an
/// entity, comments and the doctype closed, nothing left open at the end.
pub fn check_html(html: &str) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut stack: Vec<String> = Vec::new();
    let at = |i: usize| {
        let line = html[..i].matches('\n').count() + 1;
        format!("line {line}")
    };
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if let Some(after) = rest.strip_prefix('&') {
            let entity = after.find(';').map(|e| &after[..e]).filter(|e| {
                let named = !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric());
                let decimal =
                    e.len() > 1 && e.starts_with('#') && e[1..].bytes().all(|b| b.is_ascii_digit());
                named || decimal
            });
            if entity.is_none() {
                return Err(format!("{}: a bare & (not an entity)", at(i)));
            }
            i += 1;
            continue;
        }
        if !rest.starts_with('<') {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        if rest.starts_with("<!--") {
            let end = rest
                .find("-->")
                .ok_or(format!("{}: comment not closed", at(i)))?;
            i += end + 3;
            continue;
        }
        if rest.starts_with("<!") {
            let end = rest
                .find('>')
                .ok_or(format!("{}: doctype not closed", at(i)))?;
            i += end + 1;
            continue;
        }
        if let Some(close) = rest.strip_prefix("</") {
            let end = close
                .find('>')
                .ok_or(format!("{}: end tag not closed", at(i)))?;
            let name = close[..end].trim().to_ascii_lowercase();
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(format!("{}: </{name}> closes <{open}>", at(i))),
                None => return Err(format!("{}: </{name}> with nothing open", at(i))),
            }
            i += 2 + end + 1;
            continue;
        }
        let name: String = rest[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(format!("{}: a bare < in text", at(i)));
        }
        // The end of the tag, skipping quoted attribute values.
        let mut quote = None;
        let mut end = None;
        for (j, c) in rest.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '<') => return Err(format!("{}: < inside the <{name}> tag", at(i))),
                (None, '>') => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or(format!("{}: <{name} not closed", at(i)))?;
        let self_closing = rest[..end].ends_with('/');
        let in_svg = stack.iter().any(|t| t == "svg");
        if name == "svg" && !in_svg {
            parsed.svg_roots += 1;
        }
        parsed.opened.push(name.clone());
        i += end + 1;
        if VOID.contains(&name.as_str()) {
            continue;
        }
        if self_closing {
            if !in_svg && name != "svg" {
                return Err(format!("{}: <{name}/> outside SVG", at(i)));
            }
            continue;
        }
        if name == "style" || name == "script" {
            // Raw text: runs until its end tag.
            let close = format!("</{name}");
            let len = html[i..]
                .find(&close)
                .ok_or(format!("{}: <{name}> not closed", at(i)))?;
            i += len;
        }
        stack.push(name);
    }
    match stack.last() {
        Some(open) => Err(format!(
            "<{open}> (and {} more) never closed",
            stack.len() - 1
        )),
        None => Ok(parsed),
    }
}

/// Asserts the page fetches nothing and runs nothing: the only URL is the
/// SVG namespace, links only point inside the page.
pub fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        for (i, _) in lower.match_indices(scheme) {
            assert!(
                lower[i..].starts_with("http://www.w3.org/2000/svg\""),
                "an external URL: {}",
                &html[i..(i + 80).min(html.len())]
            );
            assert!(lower[..i].ends_with("xmlns=\""), "a URL outside xmlns");
        }
    }
    for bad in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "src=",
        "url(",
        "@import",
        "javascript:",
        "xlink:href",
        "<image",
        "<use",
    ] {
        assert!(!lower.contains(bad), "report.html contains {bad}");
    }
    for (i, _) in lower.match_indices("href=") {
        assert!(
            lower[i..].starts_with("href=\"#"),
            "a link out of the page: {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
}

/// The part of the page from `<section id="ID"` to its `</section>`.
pub fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = html[start..].find("</section>").expect("section closed");
    &html[start..start + len]
}
