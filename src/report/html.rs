//! `report.html`: one self-contained page per run (inline SVG charts, an
//! inline style sheet, no scripts, nothing fetched) that can be attached to
//! a design document or printed.
//!
//! The helpers at the top ([`escape`], [`table`], [`key_value_table`],
//! [`section`], [`inline_svg`], [`page`]) are pure and know nothing of a
//! run, so that other pages (a comparison of runs) can be built the same
//! way. They return HTML fragments; which arguments are plain text (escaped
//! inside) and which are HTML (inserted as they are) is said on each.

use super::table::{convergence, ms, skipped_by_reset, thousands};
use crate::simulation::RunResult;
use std::fmt::Write;

/// Rows of the event log shown in the page; `events.csv` has them all.
/// Long runs log hundreds of thousands, which no browser renders well.
pub(crate) const EVENT_ROWS: usize = 5_000;

/// Escapes `s` for HTML text and for attribute values in double or single
/// quotes: `&`, `<`, `>`, `"` and `'`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row. Headers and cells are plain text, escaped
/// here. Rows shorter than the header get empty cells, so the grid stays
/// whole; longer ones are kept as they are.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table>\n<thead><tr>");
    for h in headers {
        let _ = write!(t, "<th scope=\"col\">{}</th>", escape(h));
    }
    t.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        t.push_str("<tr>");
        for cell in row {
            let _ = write!(t, "<td>{}</td>", escape(cell));
        }
        for _ in row.len()..headers.len() {
            t.push_str("<td></td>");
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

/// One row of a [`key_value_table`]: plain text, escaped when rendered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyValue {
    /// The row's name.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Highlighted as a problem (lag growing, records lost, ...).
    pub alert: bool,
}

impl KeyValue {
    /// A row, not highlighted.
    pub(crate) fn new(key: &str, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: value.into(),
            alert: false,
        }
    }

    /// The row, highlighted if `alert`.
    pub(crate) fn alert_if(mut self, alert: bool) -> KeyValue {
        self.alert = alert;
        self
    }
}

/// A two-column table of names and values, names as row headers;
/// highlighted rows get `class="alert"`.
pub(crate) fn key_value_table(rows: &[KeyValue]) -> String {
    let mut t = String::from("<table class=\"kv\">\n<tbody>\n");
    for r in rows {
        let class = if r.alert { " class=\"alert\"" } else { "" };
        let _ = writeln!(
            t,
            "<tr{class}><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(&r.key),
            escape(&r.value)
        );
    }
    t.push_str("</tbody>\n</table>\n");
    t
}

/// A `<section>` with an `<h2>`: `id` (the link target, and what tests
/// look for), `class` (empty for none) and `heading` are plain text;
/// `body` is HTML.
pub(crate) fn section(id: &str, class: &str, heading: &str, body: &str) -> String {
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", escape(class))
    };
    format!(
        "<section id=\"{}\"{class}>\n<h2>{}</h2>\n{body}</section>\n",
        escape(id),
        escape(heading)
    )
}

/// An SVG document made ready to sit inside HTML: any XML prolog,
/// doctype and leading comments removed, and a `viewBox` added from
/// `width` and `height` when the root has none, so that CSS can scale it
/// to the page. None if `svg_text` is not an SVG document. The SVG is
/// trusted (our own charts): it is not sanitised.
pub(crate) fn inline_svg(svg_text: &str) -> Option<String> {
    let mut rest = svg_text.trim_start_matches('\u{feff}').trim_start();
    // What may come before the root element of an SVG file.
    loop {
        let end = if rest.starts_with("<?") {
            rest.find("?>").map(|i| i + 2)
        } else if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else if rest.starts_with("<!") {
            rest.find('>').map(|i| i + 1)
        } else {
            break;
        };
        rest = rest[end?..].trim_start();
    }
    let rest = rest.trim_end();
    let after = rest.strip_prefix("<svg")?;
    if !after.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
        return None;
    }
    let tag_end = start_tag_end(rest)?;
    let tag = &rest[..tag_end];
    if attribute(tag, "viewBox").is_some() {
        return Some(rest.to_string());
    }
    let size = |name| {
        attribute(tag, name)
            .map(|v| v.trim().trim_end_matches("px"))
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    match (size("width"), size("height")) {
        (Some(w), Some(h)) => Some(format!("<svg viewBox=\"0 0 {w} {h}\"{after}")),
        // Without a size it scales to its container already.
        _ => Some(rest.to_string()),
    }
}

/// The index just past the `>` that ends the start tag `tag` begins with,
/// skipping quoted attribute values.
fn start_tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in start tag `tag` (quoted values only,
/// which is what SVG writers produce).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before = tag[..i].chars().next_back();
        let rest = tag[from..].trim_start();
        if !before.is_some_and(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let Some(value) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let value = &value[1..];
        return value.find(quote).map(|end| &value[..end]);
    }
    None
}

/// The style sheet of every page: readable on screen, and in print each
/// major section on a new page, charts and table rows never split, table
/// headers repeated on every page.
const STYLE: &str = "\
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; \
color: #1b1b1b; line-height: 1.4; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #bbb; padding-bottom: 0.2rem; margin-top: 2rem; }
nav { font-size: 0.9rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f4f4; padding: 0.5rem; }
.description { white-space: pre-line; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.15rem 0.45rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: #eee; }
table.kv th { background: #f6f6f6; white-space: nowrap; }
tr.alert th, tr.alert td { background: #fde2e1; color: #8a1010; font-weight: bold; }
section.violations { border: 3px solid #c62828; background: #fff1f0; padding: 0 1rem 0.5rem; }
section.violations h2 { color: #b71c1c; border-color: #c62828; }
section.held { border-left: 6px solid #2e7d32; padding-left: 1rem; }
figure { margin: 1rem 0; }
figcaption { font-weight: bold; margin-bottom: 0.3rem; }
svg { max-width: 100%; height: auto; display: block; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav { display: none; }
  section.major { break-before: page; }
  figure, tr, table.kv, section.violations { break-inside: avoid; }
  thead { display: table-header-group; }
  h2, figcaption { break-after: avoid; }
}
";

/// A whole HTML5 page: `title` is plain text, `body` HTML. The content
/// security policy makes a browser refuse to fetch anything at all, so the
/// page shows the same offline, attached to a mail, or years later.
/// Each (id, caption, inline SVG) as a `<figure>`.
pub(crate) fn figures_html(figures: &[(&str, &str, String)]) -> String {
    let mut out = String::new();
    for (id, caption, svg) in figures {
        let _ = writeln!(
            out,
            "<figure id=\"{}\">\n<figcaption>{}</figcaption>\n{svg}\n</figure>",
            escape(id),
            escape(caption)
        );
    }
    out
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// `report.html` of `result`. `figures` are (id, caption, inline SVG from
/// [`inline_svg`]) of its charts, in order.
pub(super) fn run_report(result: &RunResult, figures: &[(&str, &str, String)]) -> String {
    let s = &result.summary;
    let mut body = String::new();
    let _ = write!(
        body,
        "<header id=\"title\">\n<h1>{} — seed {}</h1>\n<p>rebalance-sim run: {} simulated, assignor {}.</p>\n",
        escape(&s.scenario),
        s.seed,
        ms(s.duration_ms),
        escape(&s.assignor)
    );
    let description = result.description.trim();
    if !description.is_empty() {
        let _ = writeln!(body, "<p class=\"description\">{}</p>", escape(description));
    }
    let _ = writeln!(
        body,
        "<p>Replay:</p>\n<pre class=\"replay\"><code>{}</code></pre>\n</header>",
        escape(&result.replay)
    );
    body.push_str(
        "<nav><a href=\"#summary\">Summary</a> · <a href=\"#violations\">Violations</a> · \
         <a href=\"#charts\">Charts</a> · <a href=\"#disruptions\">Disruptions</a> · \
         <a href=\"#events\">Event log</a></nav>\n",
    );
    body.push_str(&section(
        "summary",
        "",
        "Summary",
        &key_value_table(&summary_rows(result)),
    ));
    body.push_str(&violations(result));
    body.push_str(&section(
        "charts",
        "major",
        "Charts",
        &figures_html(figures),
    ));
    body.push_str(&disruptions(result));
    body.push_str(&events(result));
    page(
        &format!("rebalance-sim: {}, seed {}", s.scenario, s.seed),
        &body,
    )
}

/// The summary's key numbers, worded as in the terminal table.
fn summary_rows(result: &RunResult) -> Vec<KeyValue> {
    let s = &result.summary;
    let epoch = if s.final_group_type == "consumer" {
        "group epoch"
    } else {
        "generation"
    };
    let mut rows = vec![
        KeyValue::new("scenario", s.scenario.as_str()),
        KeyValue::new("seed", s.seed.to_string()),
        KeyValue::new("simulated time", ms(s.duration_ms)),
        KeyValue::new("assignor", s.assignor.as_str()),
        KeyValue::new("rebalances", s.rebalances.to_string()),
        KeyValue::new("time rebalancing", ms(s.time_in_rebalance_ms)),
        KeyValue::new(
            "unowned",
            format!(
                "{:.1} partition-seconds (nobody held them)",
                s.unowned_partition_seconds
            ),
        ),
        KeyValue::new(
            "stalled",
            format!(
                "{:.1} partition-seconds (holder paused, stalled or dead)",
                s.stalled_partition_seconds
            ),
        ),
        KeyValue::new(
            "unavailable",
            format!(
                "{:.1} partition-seconds without a reachable leader (a broker down, or a network cut between it and the partition's holder: not the group's doing)",
                s.unavailable_partition_seconds
            ),
        ),
        KeyValue::new(
            "max lag",
            format!(
                "{} records committed-offset lag (one partition: {})",
                thousands(s.max_lag),
                thousands(s.max_partition_lag)
            ),
        ),
        KeyValue::new(
            "max backlog",
            format!("{} records", thousands(s.max_backlog)),
        ),
        KeyValue::new(
            "lag growing",
            if s.lag_growing {
                format!(
                    "YES: lag still growing at the end: consumers cannot keep up (backlog +{:.0} records/s; capacity {} records/s against {:.0} produced)",
                    s.backlog_trend_per_s,
                    s.processing_capacity_per_s
                        .map_or("unbounded".into(), |c| format!("{c:.0}")),
                    s.produce_rate_per_s
                )
            } else {
                "no".to_string()
            },
        )
        .alert_if(s.lag_growing),
        KeyValue::new("records produced", thousands(s.records_produced)),
        KeyValue::new(
            "records processed",
            format!("{} (duplicates included)", thousands(s.records_processed)),
        ),
        KeyValue::new("duplicates", thousands(s.duplicates)),
        KeyValue::new("lost", thousands(s.lost)).alert_if(s.lost > 0),
    ];
    if let Some(skipped) = skipped_by_reset(s) {
        rows.push(KeyValue::new("skipped (reset)", skipped));
    }
    rows.push(KeyValue::new(
        "zombie records",
        format!(
            "{} ({:.1} partition-seconds of zombie processing)",
            thousands(s.zombie_records),
            s.zombie_partition_seconds
        ),
    ));
    if !s.fatal_exits.is_empty() {
        rows.push(KeyValue::new(
            "fatal exits",
            format!(
                "{} consumer(s) exited on a fatal group error and stay down: {}",
                s.fatal_exits.len(),
                s.fatal_exits.join(", ")
            ),
        ));
    }
    rows.extend([
        KeyValue::new("converged", convergence(s)).alert_if(s.converged == Some(false)),
        KeyValue::new("convergence bound", ms(s.convergence_bound_ms)),
        KeyValue::new(
            &format!("final {epoch}"),
            format!("{} ({} group)", s.final_generation, s.final_group_type),
        ),
        KeyValue::new(
            "violations",
            if s.violations.is_empty() {
                "none".to_string()
            } else {
                s.violations.len().to_string()
            },
        )
        .alert_if(!s.violations.is_empty()),
        KeyValue::new("engine events", thousands(s.engine_events)),
        KeyValue::new("trace digest", s.trace_digest.as_str()),
    ]);
    if let Some(a) = &s.approximation {
        rows.push(
            KeyValue::new("approximation", format!("{}: {}", a.setting(), a.bound)).alert_if(true),
        );
    }
    rows
}

/// The violations, highlighted, or a short all-clear.
fn violations(result: &RunResult) -> String {
    let v = &result.summary.violations;
    if v.is_empty() {
        return section(
            "violations",
            "held",
            "Violations",
            "<p>All invariants held.</p>\n",
        );
    }
    let rows: Vec<Vec<String>> = v
        .iter()
        .map(|v| vec![ms(v.time_ms), v.invariant.to_string(), v.message.clone()])
        .collect();
    // The checker keeps the first 100; more may have happened.
    let kept = if v.len() >= 100 {
        " (the first 100 are kept)"
    } else {
        ""
    };
    let mut body = format!(
        "<p><strong>{} invariant violation(s){kept}</strong>: the run is not correct; replay it with the command above.</p>\n{}",
        v.len(),
        table(&["at", "invariant", "message"], &rows)
    );
    for defect in crate::check::KafkaDefect::among(v) {
        body.push_str(&format!(
            "<p>Kafka defect <code>{}</code>: {}.</p>\n",
            defect.id(),
            escape(defect.explanation())
        ));
    }
    section(
        "violations",
        "violations",
        &format!("Violations ({})", v.len()),
        &body,
    )
}

/// The disruption table, then the rebalance costs if any.
fn disruptions(result: &RunResult) -> String {
    let s = &result.summary;
    let never = |d: Option<u64>| d.map_or("never".to_string(), ms);
    let mut body = if s.disruptions.is_empty() {
        "<p>No disruptions: the scenario has no timeline events.</p>\n".to_string()
    } else {
        let rows: Vec<Vec<String>> = s
            .disruptions
            .iter()
            .map(|d| {
                vec![
                    ms(d.at_ms),
                    d.causes.join("; "),
                    ms(d.faults_end_ms),
                    never(d.converged_after_ms),
                    thousands(d.lag_before),
                    thousands(d.peak_lag_after),
                    thousands(d.backlog_before),
                    thousands(d.peak_backlog_after),
                    never(d.drained_after_ms),
                ]
            })
            .collect();
        table(
            &[
                "at",
                "events",
                "faults end",
                "converged after",
                "lag before",
                "peak lag after",
                "backlog before",
                "peak backlog after",
                "lag drained",
            ],
            &rows,
        )
    };
    if !s.rebalance_costs.is_empty() {
        let rows: Vec<Vec<String>> = s
            .rebalance_costs
            .iter()
            .map(|c| {
                vec![
                    c.kind.clone(),
                    c.rebalances.to_string(),
                    c.partitions_stopped.to_string(),
                    format!("{:.1}", c.unowned_partition_seconds),
                    c.max_unowned.to_string(),
                ]
            })
            .collect();
        let _ = write!(
            body,
            "<h3 id=\"rebalance-costs\">Rebalance cost</h3>\n{}",
            table(
                &[
                    "kind",
                    "count",
                    "partitions stopped",
                    "unowned part-s",
                    "max unowned"
                ],
                &rows
            )
        );
    }
    section("disruptions", "major", "Disruptions", &body)
}

/// The event log: the rows of `events.csv`, the first [`EVENT_ROWS`].
fn events(result: &RunResult) -> String {
    let all = &result.events;
    let rows: Vec<Vec<String>> = all
        .iter()
        .take(EVENT_ROWS)
        .map(|r| {
            vec![
                format!("{:.3}", r.time_ms),
                r.event.to_string(),
                r.subject.clone(),
                r.generation.map(|g| g.to_string()).unwrap_or_default(),
                r.detail.clone(),
            ]
        })
        .collect();
    let mut body = format!(
        "<p>{} events (events.csv).</p>\n",
        thousands(all.len() as u64)
    );
    body.push_str(&table(
        &["time (ms)", "event", "subject", "generation", "detail"],
        &rows,
    ));
    if all.len() > EVENT_ROWS {
        let _ = writeln!(
            body,
            "<p class=\"more\">The first {} events are shown; {} more are in events.csv.</p>",
            thousands(EVENT_ROWS as u64),
            thousands((all.len() - EVENT_ROWS) as u64)
        );
    }
    section("events", "major", "Event log", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_replaces_the_five_special_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("plain — text"), "plain — text");
        assert_eq!(escape("&amp;"), "&amp;amp;", "escaping is not idempotent");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn table_escapes_headers_and_cells_and_pads_short_rows() {
        let t = table(
            &["a<b", "c"],
            &[vec!["1 & 2".into(), "<script>".into()], vec!["x".into()]],
        );
        assert_eq!(
            t,
            "<table>\n<thead><tr><th scope=\"col\">a&lt;b</th><th scope=\"col\">c</th></tr></thead>\n\
             <tbody>\n<tr><td>1 &amp; 2</td><td>&lt;script&gt;</td></tr>\n\
             <tr><td>x</td><td></td></tr>\n</tbody>\n</table>\n"
        );
        assert!(!t.contains("<script"));
        let empty = table(&["only"], &[]);
        assert!(empty.contains("<tbody>\n</tbody>"), "{empty}");
    }

    #[test]
    fn key_value_table_marks_alert_rows() {
        let t = key_value_table(&[
            KeyValue::new("lost", "3").alert_if(true),
            KeyValue::new("a\"b", "<1>"),
        ]);
        assert!(
            t.contains("<tr class=\"alert\"><th scope=\"row\">lost</th><td>3</td></tr>"),
            "{t}"
        );
        assert!(
            t.contains("<tr><th scope=\"row\">a&quot;b</th><td>&lt;1&gt;</td></tr>"),
            "{t}"
        );
    }

    #[test]
    fn page_is_one_document_with_escaped_title_and_the_body_as_given() {
        let p = page("A & <B>", "<p id=\"x\">hi</p>\n");
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"));
        assert!(p.ends_with("</body>\n</html>\n"));
        assert!(p.contains("<meta charset=\"utf-8\">"));
        assert!(p.contains("<title>A &amp; &lt;B&gt;</title>"));
        assert!(p.contains("<body>\n<p id=\"x\">hi</p>\n</body>"));
        assert!(p.contains("@media print"));
        assert!(p.contains("svg { max-width: 100%; height: auto;"));
        assert!(p.contains("Content-Security-Policy"));
        for bad in ["<script", "http://", "https://", "src=", "@import", "url("] {
            assert!(!p.contains(bad), "{bad}");
        }
        // Head before body, each once.
        let order: Vec<usize> = ["<head>", "</head>", "<body>", "</body>", "</html>"]
            .iter()
            .map(|t| {
                assert_eq!(p.matches(t).count(), 1, "{t}");
                p.find(t).expect("present")
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }

    #[test]
    fn section_escapes_id_class_and_heading_not_the_body() {
        assert_eq!(
            section("a\"b", "", "X & Y", "<p>b</p>\n"),
            "<section id=\"a&quot;b\">\n<h2>X &amp; Y</h2>\n<p>b</p>\n</section>\n"
        );
        assert!(section("s", "major", "h", "").starts_with("<section id=\"s\" class=\"major\">"));
    }

    #[test]
    fn inline_svg_strips_the_prolog_and_adds_a_view_box() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- drawn -->\n\
                   <!DOCTYPE svg>\n<svg width=\"1400\" height=\"359px\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\"/>\n</svg>\n";
        assert_eq!(
            inline_svg(doc).expect("an SVG"),
            "<svg viewBox=\"0 0 1400 359\" width=\"1400\" height=\"359px\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\"/>\n</svg>"
        );
        // A viewBox already there is kept, and nothing added.
        let plotters = "<svg width=\"10\" height=\"20\" viewBox=\"0 0 10 20\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n";
        assert_eq!(inline_svg(plotters).expect("an SVG"), plotters.trim_end());
        // `stroke-width` is not `width`.
        assert_eq!(
            inline_svg("<svg stroke-width=\"3\"></svg>").expect("an SVG"),
            "<svg stroke-width=\"3\"></svg>"
        );
        for not_svg in [
            "",
            "<html></html>",
            "<svgx></svgx>",
            "<?xml never ends",
            "<svg",
        ] {
            assert_eq!(inline_svg(not_svg), None, "{not_svg:?}");
        }
    }

    /// A small run with a crash, its event log made longer than the page
    /// shows, and a description full of markup.
    fn long_run() -> RunResult {
        let text = "[scenario]\nduration = \"20s\"\n[[topics]]\nname = \"t\"\npartitions = 3\n\
                    produce_rate = 100\n[consumers]\ncount = 2\n[[timeline]]\nat = \"5s\"\n\
                    action = \"crash\"\nconsumer = \"c2\"\n";
        let scenario =
            crate::Scenario::from_toml(text, "inline.toml", "inline", &[]).expect("valid scenario");
        let mut r = crate::Simulation::new(scenario, 1)
            .expect("simulation")
            .run();
        let last = r.events.last().cloned().expect("events");
        r.events.resize(EVENT_ROWS + 7, last);
        r.description = "a <i>b</i> & c".into();
        r
    }

    #[test]
    fn the_run_report_caps_the_event_log_and_escapes_what_it_shows() {
        let r = long_run();
        let figures = [("chart", "A <chart>", "<svg></svg>".to_string())];
        let p = run_report(&r, &figures);
        assert_eq!(p, run_report(&r, &figures), "deterministic");
        assert!(p.contains("<p class=\"description\">a &lt;i&gt;b&lt;/i&gt; &amp; c</p>"));
        assert!(p.contains("<figcaption>A &lt;chart&gt;</figcaption>\n<svg></svg>"));
        let events = &p[p.find("<section id=\"events\"").expect("events")..];
        assert_eq!(events.matches("<tr>").count(), EVENT_ROWS + 1);
        assert!(
            events.contains("The first 5,000 events are shown; 7 more are in events.csv."),
            "{}",
            &events[events.len() - 300..]
        );
        assert!(p.contains("id=\"disruptions\""));
        assert!(p.contains("<td>5.000s crash c2</td>"), "the disruption");
    }
}
