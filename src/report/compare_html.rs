//! `compare.html`: a comparison on one self-contained page, built with the
//! helpers of [`super::html`].

use super::html::{escape, figures_html, page, section, table};
use std::fmt::Write as _;

/// `compare.html`: the comparison on one page — the variants and what
/// makes each, the side-by-side table, the charts (`figures`: id,
/// caption, inline SVG), the failing runs with their replay commands,
/// and every run's row.
pub(super) fn compare_report(
    c: &crate::compare::Comparison,
    figures: &[(&str, &str, String)],
) -> String {
    use crate::compare::{METRICS, shown};
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header id=\"title\">\n<h1>{} — {} variants over {} seeds</h1>\n<p>rebalance-sim compare: every variant ran on the same seeds ({}), so the differences come from the variants, not from the draws.</p>\n</header>",
        escape(&c.scenario),
        c.variants.len(),
        c.seeds.len(),
        escape(&seed_list(&c.seeds))
    );
    body.push_str(
        "<nav><a href=\"#variants\">Variants</a> · <a href=\"#comparison\">Comparison</a> · \
         <a href=\"#charts\">Charts</a> · <a href=\"#failing\">Failing runs</a> · \
         <a href=\"#runs\">Runs</a></nav>\n",
    );
    let variant_rows: Vec<Vec<String>> = c
        .variants
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.source.clone(),
                if v.overrides.is_empty() {
                    "(as written)".into()
                } else {
                    v.overrides.join(" ")
                },
                // Whether its results are exact or under the opt-in
                // approximation, whichever way it was set.
                v.approximation
                    .as_ref()
                    .map_or_else(|| "exact".into(), |a| a.described()),
            ]
        })
        .collect();
    body.push_str(&section(
        "variants",
        "",
        "Variants",
        &table(
            &["variant", "scenario file", "overrides", "model"],
            &variant_rows,
        ),
    ));
    let first = c.variants.first().map_or("", |v| v.name.as_str());
    let mut headers: Vec<String> = vec!["metric".into()];
    for (i, v) in c.variants.iter().enumerate() {
        headers.push(format!("{} median", v.name));
        headers.push(format!("{} p95", v.name));
        if i > 0 {
            headers.push(format!("{} ×{first}", v.name));
        }
    }
    let rows: Vec<Vec<String>> = METRICS
        .iter()
        .map(|(metric, label)| {
            let mut row = vec![label.to_string()];
            for (i, v) in c.variants.iter().enumerate() {
                let m = c.metric(metric, &v.name);
                row.push(shown(metric, m.and_then(|m| m.p50)));
                row.push(shown(metric, m.and_then(|m| m.p95)));
                if i > 0 {
                    row.push(
                        m.and_then(|m| m.ratio_to_first)
                            .map_or_else(|| "n/a".into(), |r| shown("", Some(r))),
                    );
                }
            }
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    body.push_str(&section(
        "comparison",
        "",
        "Comparison",
        &format!(
            "<p>Median and 95th percentile over the seeds; × is the ratio of medians to {}. Times in seconds; \"never\": some seed never converged or drained.</p>\n{}",
            escape(first),
            table(&header_refs, &rows)
        ),
    ));
    body.push_str(&section(
        "charts",
        "major",
        "Charts",
        &figures_html(figures),
    ));
    let failing: Vec<Vec<String>> = c
        .variants
        .iter()
        .flat_map(|v| {
            v.failing.iter().map(|f| {
                vec![
                    v.name.clone(),
                    f.seed.to_string(),
                    f.invariant.to_string(),
                    f.replay.clone(),
                ]
            })
        })
        .collect();
    let failing_body = if failing.is_empty() {
        "<p class=\"held\">Every run kept every invariant.</p>\n".to_string()
    } else {
        table(&["variant", "seed", "invariant", "replay"], &failing)
    };
    body.push_str(&section(
        "failing",
        if failing.is_empty() { "" } else { "violations" },
        "Failing runs",
        &failing_body,
    ));
    let mut run_headers = vec!["variant"];
    run_headers.extend(crate::sweep::SeedRow::COLUMNS);
    let runs: Vec<Vec<String>> = c
        .variants
        .iter()
        .flat_map(|v| {
            v.rows.iter().map(|r| {
                let mut row = vec![v.name.clone(), r.seed.to_string()];
                for f in &crate::sweep::SeedRow::COLUMNS[1..] {
                    row.push(match *f {
                        "first_violation" => r
                            .first_violation
                            .map_or_else(String::new, |i| i.to_string()),
                        "trace_digest" => r.trace_digest.clone(),
                        "convergence_ms" => {
                            r.convergence_ms.map_or_else(String::new, |v| v.to_string())
                        }
                        "drain_ms" => r.drain_ms.map_or_else(String::new, |v| v.to_string()),
                        f => r.value(f).map_or_else(String::new, |v| format!("{v}")),
                    });
                }
                row
            })
        })
        .collect();
    body.push_str(&section(
        "runs",
        "major",
        "Runs",
        &table(&run_headers, &runs),
    ));
    page(&format!("rebalance-sim compare: {}", c.scenario), &body)
}

/// `1..20`, or the seeds listed when they are not a range.
fn seed_list(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if (b - a) as usize + 1 == seeds.len() && seeds.len() > 1 => {
            format!("{a}..{b}")
        }
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
