//! `[chaos]` checked: a window inside the run, each fault kind's fields,
//! and room after the window for the quiet phase in which the group must
//! converge (invariant 5 is checked there).

use super::*;

/// What the quiet phase after the window needs.
pub(super) struct Quiet {
    /// Length of the run.
    pub duration: Duration,
    /// The convergence bound of the written scenario.
    pub bound: Duration,
    /// True when the bound is the default, which grows with the kinds of
    /// faults drawn (as it does for written ones).
    pub bound_is_default: bool,
    /// True when some consumer speaks the classic protocol (its leader
    /// notices added partitions only at its metadata refresh).
    pub classic_members: bool,
    /// What a network cut adds to the default bound: the longest wait for
    /// an answer the cut dropped.
    pub lost_answer: Duration,
}

pub(super) fn build(
    rep: &Reporter<'_>,
    raw: Spanned<RawChaos>,
    quiet: Quiet,
) -> Result<Chaos, ScenarioError> {
    let span = raw.span();
    let raw = raw.into_inner();
    let start = raw.start.map_or(Duration::ZERO, |d| d.0);
    let end = match &raw.end {
        Some(e) => e.get_ref().0,
        None => {
            return Err(rep.at(
                Some(span),
                "[chaos] needs `end`, the end of the window faults are drawn in, e.g. end = \"5m\" (a quiet phase must follow it)",
            ));
        }
    };
    if end <= start {
        return Err(rep.spanned(
            raw.end.as_ref().expect("checked above"),
            format!("the window ends at {end}, not after its start ({start})"),
        ));
    }
    let needs = |f: &Spanned<RawChaosFault>, field: &str, example: &str| {
        rep.spanned(
            f,
            format!("a chaos fault of this kind needs `{field}`, e.g. {example}"),
        )
    };
    let refuse_extra = |f: &Spanned<RawChaosFault>, allowed: &[&str]| {
        let r = f.get_ref();
        let given = [
            ("downtime", r.downtime.is_some()),
            ("duration", r.duration.is_some()),
            ("graceful", r.graceful.is_some()),
            ("processing", r.processing.is_some()),
            ("one_way", r.one_way.is_some()),
            ("count", r.count.is_some()),
        ];
        match given.iter().find(|(k, g)| *g && !allowed.contains(k)) {
            Some((k, _)) => Err(rep.spanned(
                f,
                format!(
                    "`{k}` does not apply to this kind of fault; it takes {}",
                    if allowed.is_empty() {
                        "only `every`".to_string()
                    } else {
                        format!(
                            "`every` and {}",
                            allowed
                                .iter()
                                .map(|a| format!("`{a}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            )),
            None => Ok(()),
        }
    };
    // The order here is the order faults are drawn in: fixed, whatever the
    // file's order.
    let kinds: [(&Option<Spanned<RawChaosFault>>, &str); 10] = [
        (&raw.crash, "crash"),
        (&raw.restart, "restart"),
        (&raw.pause, "pause"),
        (&raw.stall, "stall"),
        (&raw.leave, "leave"),
        (&raw.join, "join"),
        (&raw.slow, "slow"),
        (&raw.broker_crash, "broker_crash"),
        (&raw.network_partition, "network_partition"),
        (&raw.add_partitions, "add_partitions"),
    ];
    let mut faults = Vec::new();
    for (fault, key) in kinds {
        let Some(f) = fault else { continue };
        let r = f.get_ref();
        let kind = match key {
            "crash" | "leave" | "join" => {
                refuse_extra(f, &[])?;
                match key {
                    "crash" => ChaosKind::Crash,
                    "leave" => ChaosKind::Leave,
                    _ => ChaosKind::Join,
                }
            }
            "restart" => {
                refuse_extra(f, &["downtime", "graceful"])?;
                ChaosKind::Restart {
                    downtime: r.downtime.map_or(Duration::ZERO, |d| d.0),
                    graceful: r.graceful.unwrap_or(true),
                }
            }
            "pause" | "stall" => {
                refuse_extra(f, &["duration"])?;
                let duration = r
                    .duration
                    .ok_or_else(|| needs(f, "duration", "duration = \"20s\""))?
                    .0;
                if key == "pause" {
                    ChaosKind::Pause { duration }
                } else {
                    ChaosKind::Stall { duration }
                }
            }
            "slow" => {
                refuse_extra(f, &["processing"])?;
                let p = r
                    .processing
                    .as_ref()
                    .ok_or_else(|| needs(f, "processing", "processing = \"5ms\""))?;
                parse_dist(rep, p)?;
                ChaosKind::Slow {
                    processing: p.get_ref().to_string(),
                }
            }
            "broker_crash" => {
                refuse_extra(f, &["downtime"])?;
                let downtime = r
                    .downtime
                    .ok_or_else(|| needs(f, "downtime", "downtime = \"30s\""))?
                    .0;
                if downtime == Duration::ZERO {
                    return Err(rep.spanned(f, "a broker's `downtime` must be longer than zero"));
                }
                ChaosKind::BrokerCrash { downtime }
            }
            "network_partition" => {
                refuse_extra(f, &["duration", "one_way"])?;
                ChaosKind::NetworkPartition {
                    duration: r
                        .duration
                        .ok_or_else(|| needs(f, "duration", "duration = \"20s\""))?
                        .0,
                    one_way: r.one_way.unwrap_or(false),
                }
            }
            _ => {
                refuse_extra(f, &["count"])?;
                ChaosKind::AddPartitions {
                    count: r.count.map_or(1, |c| c.0),
                }
            }
        };
        faults.push(ChaosFault {
            every: r.every.get_ref().0,
            kind,
        });
    }
    if faults.is_empty() {
        return Err(rep.at(
            Some(span),
            "[chaos] draws no faults: give at least one kind, e.g. crash = { every = \"1m\" }",
        ));
    }
    // The quiet phase: the last drawn fault is over by `end + longest`;
    // the group must then converge within the bound, before the run ends.
    let longest = faults
        .iter()
        .map(|f| f.kind.length())
        .max()
        .unwrap_or(Duration::ZERO);
    let mut bound = quiet.bound;
    if quiet.bound_is_default {
        let has = |k: &str| faults.iter().any(|f| f.kind.key() == k);
        if has("broker_crash") {
            bound = bound + Duration::from_secs(2);
        }
        if has("network_partition") {
            bound = bound + quiet.lost_answer;
        }
        if has("add_partitions") && quiet.classic_members {
            bound = bound + crate::cluster::METADATA_MAX_AGE;
        }
    }
    let needed = end + longest + bound;
    if needed > quiet.duration {
        return Err(rep.at(
            Some(span),
            format!(
                "no room for the quiet phase: drawn faults may last until {} (the window's end {end} plus the longest fault, {longest}), and the group then has the convergence bound ({bound}) to converge, so the run must last at least {needed}; scenario.duration is {}. End the window earlier or lengthen the run",
                end + longest,
                quiet.duration
            ),
        ));
    }
    Ok(Chaos { start, end, faults })
}
