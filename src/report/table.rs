//! The short summary printed after a run.

use crate::simulation::RunResult;
use std::fmt::Write;

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// A human summary of a run.
pub fn summary_table(result: &RunResult, out_dir: &str) -> String {
    let s = &result.summary;
    let mut t = String::new();
    let row = |t: &mut String, k: &str, v: String| {
        let _ = writeln!(t, "  {k:<18}{v}");
    };
    row(
        &mut t,
        "scenario",
        format!(
            "{} (seed {}, {}, assignor {})",
            s.scenario,
            s.seed,
            ms(s.duration_ms),
            s.assignor
        ),
    );
    row(
        &mut t,
        "rebalances",
        format!(
            "{} (final generation {}), {} rebalancing",
            s.rebalances,
            s.final_generation,
            ms(s.time_in_rebalance_ms)
        ),
    );
    row(
        &mut t,
        "unowned",
        format!("{:.1} partition-seconds", s.unowned_partition_seconds),
    );
    row(
        &mut t,
        "max lag",
        format!(
            "{} records (one partition: {})",
            thousands(s.max_lag),
            thousands(s.max_partition_lag)
        ),
    );
    row(
        &mut t,
        "records",
        format!(
            "{} produced, {} processed",
            thousands(s.records_produced),
            thousands(s.records_processed)
        ),
    );
    row(&mut t, "duplicates", thousands(s.duplicates));
    row(&mut t, "lost", thousands(s.lost));
    if s.skipped_by_reset > 0 {
        row(&mut t, "skipped (reset)", thousands(s.skipped_by_reset));
    }
    row(
        &mut t,
        "converged",
        match (s.converged, s.convergence_ms) {
            (Some(true), Some(c)) => format!("yes, {} after the last fault ended", ms(c)),
            (Some(true), None) => "yes".into(),
            (Some(false), _) => "NO".into(),
            (None, Some(c)) => format!(
                "stable {} after the last fault ended (not verified: the run ended before the convergence bound)",
                ms(c)
            ),
            (None, None) => {
                "not stable at the end (not verified: the run ended before the convergence bound)"
                    .into()
            }
        },
    );
    if !s.disruptions.is_empty() {
        let _ = writeln!(t, "  disruptions");
        let _ = writeln!(
            t,
            "    {:<28}{:>16}{:>16}{:>14}",
            "event", "converged after", "lag drained", "peak lag"
        );
        for d in &s.disruptions {
            let _ = writeln!(
                t,
                "    {:<28}{:>16}{:>16}{:>14}",
                format!("{} {} {}", ms(d.at_ms), d.action, d.consumer),
                d.converged_after_ms.map_or("-".into(), ms),
                d.drained_after_ms.map_or("-".into(), ms),
                thousands(d.peak_lag_after),
            );
        }
    }
    if s.violations.is_empty() {
        row(&mut t, "violations", "none".into());
    } else {
        row(&mut t, "violations", format!("{}", s.violations.len()));
        for v in &s.violations {
            let _ = writeln!(
                t,
                "    at {}: invariant {}: {}",
                ms(v.time_ms),
                v.invariant,
                v.message
            );
        }
    }
    row(&mut t, "trace digest", s.trace_digest.clone());
    row(&mut t, "output", out_dir.to_string());
    t
}
