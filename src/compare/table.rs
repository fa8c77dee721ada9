//! The comparison table, side by side: a row per metric, a column per
//! variant, each cell the median and the 95th percentile over the seeds
//! and, after the first variant, the ratio of its median to the first's.

use super::{Comparison, METRICS, MetricRow, is_millis};

/// A number as the table shows it: ms fields in seconds, others as they
/// are, to at most 3 decimals; `never` for a missing (infinite) value.
pub fn shown(metric: &str, v: Option<f64>) -> String {
    let Some(v) = v else {
        return "never".into();
    };
    let v = if is_millis(metric) { v / 1000.0 } else { v };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// `12.5 / 14` and, after the first variant, ` (×1.08)`.
fn cell(m: &MetricRow, first: bool) -> String {
    let mut s = format!("{} / {}", shown(&m.metric, m.p50), shown(&m.metric, m.p95));
    if !first {
        match m.ratio_to_first {
            Some(r) => s.push_str(&format!(" (×{})", shown("", Some(r)))),
            None => s.push_str(" (×n/a)"),
        }
    }
    s
}

/// The table's cells: the header (metric, then each variant) and a row
/// per metric.
fn cells(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["metric: median / p95".to_string()];
    header.extend(c.variants.iter().map(|v| v.name.clone()));
    let rows = METRICS
        .iter()
        .map(|(metric, label)| {
            let mut row = vec![label.to_string()];
            for (i, v) in c.variants.iter().enumerate() {
                row.push(
                    c.metric(metric, &v.name)
                        .map_or_else(String::new, |m| cell(m, i == 0)),
                );
            }
            row
        })
        .collect();
    (header, rows)
}

/// The seeds, as `20 seeds (1..20)`.
fn seeds_text(c: &Comparison) -> String {
    match (c.seeds.first(), c.seeds.last()) {
        (Some(a), Some(b)) if c.seeds.len() > 1 => format!("{} seeds ({a}..{b})", c.seeds.len()),
        (Some(a), _) => format!("1 seed ({a})"),
        _ => "no seeds".into(),
    }
}

/// The table for the terminal, in aligned columns.
pub fn console_table(c: &Comparison, out_dir: &str) -> String {
    let (header, rows) = cells(c);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String]| {
        let mut s = String::from(" ");
        for (i, cell) in r.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            s.push_str("  ");
            s.push_str(cell);
            s.push_str(&" ".repeat(pad));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut t = format!(
        "  compare           {}: {} variants, {}; ratios are of medians, to {}\n",
        c.scenario,
        c.variants.len(),
        seeds_text(c),
        c.variants.first().map_or("", |v| v.name.as_str())
    );
    t.push_str(&line(&header));
    for r in &rows {
        t.push_str(&line(r));
    }
    for (name, a) in approximate(c) {
        t.push_str(&format!(
            "  approximation     {name}: {} (not exact)\n",
            a.setting()
        ));
    }
    let failing: usize = c.variants.iter().map(|v| v.failing.len()).sum();
    t.push_str(&format!("  failing runs      {failing}\n"));
    for v in &c.variants {
        for f in v.failing.iter().take(5) {
            t.push_str(&format!(
                "    {} seed {}: invariant {}: {}\n",
                v.name, f.seed, f.invariant, f.replay
            ));
        }
    }
    t.push_str(&format!("  output            {out_dir}\n"));
    t
}

/// The table as Markdown, for design documents (`compare.md`).
pub fn markdown_table(c: &Comparison) -> String {
    let (header, rows) = cells(c);
    let esc = |s: &str| s.replace('|', "\\|");
    let mut t = format!(
        "{}: {} variants, {}; each cell the median / p95 over the seeds, and (×) the median's ratio to {}.\n\n",
        c.scenario,
        c.variants.len(),
        seeds_text(c),
        c.variants.first().map_or("", |v| v.name.as_str())
    );
    t.push_str(&format!(
        "| {} |\n",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    t.push_str(&format!(
        "|{}\n",
        header
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
            .collect::<String>()
    ));
    for r in &rows {
        t.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    // A table pasted into a design document says which results are not
    // exact, as the terminal's does.
    for (name, a) in approximate(c) {
        t.push_str(&format!(
            "\nApproximation: {name} ran with {}.\n",
            a.described()
        ));
    }
    t
}

/// The variants run under the opt-in approximation, with it, in order.
fn approximate(c: &Comparison) -> impl Iterator<Item = (&str, &crate::simulation::Approximation)> {
    c.variants
        .iter()
        .filter_map(|v| v.approximation.as_ref().map(|a| (v.name.as_str(), a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_shown_in_their_unit() {
        assert_eq!(shown("time_in_rebalance_ms", Some(12_500.0)), "12.5");
        assert_eq!(shown("rebalances", Some(7.0)), "7");
        assert_eq!(shown("unowned_partition_seconds", Some(1.23456)), "1.235");
        assert_eq!(shown("drain_ms", None), "never");
    }
}
