//! The event log (`events.csv`) and the trace digest over every fact.

use crate::assign::TopicPartition;
use crate::events::{Fact, StopReason};
use crate::sim::{Time, TraceDigest};
use serde::Serialize;

/// One row of `events.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRow {
    /// Milliseconds since the start, exact to the microsecond (63250.125).
    pub time_ms: f64,
    /// What happened, e.g. `member_removed`.
    pub event: &'static str,
    /// Consumer name or member id the event is about.
    pub subject: String,
    /// Generation, where one applies (empty otherwise).
    pub generation: Option<i32>,
    /// Details in words.
    pub detail: String,
}

/// Names the log needs to describe facts.
pub struct Namer<'a> {
    /// Consumer names by index.
    pub consumers: &'a [String],
    /// `topic-partition` of a partition.
    pub partition: &'a dyn Fn(TopicPartition) -> String,
}

/// The log of facts worth showing, and a digest of all facts.
#[derive(Debug, Default)]
pub struct EventLog {
    rows: Vec<LogRow>,
    digest: TraceDigest,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a processed range to the digest (the fast path for the most
    /// frequent fact; any other fact is ignored here).
    pub fn digest_processed(&mut self, now: Time, fact: &Fact) {
        if let Fact::Processed {
            consumer,
            partition,
            from,
            to,
            ..
        } = fact
        {
            self.digest_numbers(&[
                1,
                now.micros(),
                *consumer as u64,
                *partition as u64,
                *from,
                *to,
            ]);
        }
    }

    /// Feeds a stored commit to the digest (its fast path; any other fact
    /// is ignored here).
    pub fn digest_commit(&mut self, now: Time, fact: &Fact) {
        if let Fact::CommitStored {
            partition, offset, ..
        } = fact
        {
            self.digest_numbers(&[2, now.micros(), *partition as u64, *offset]);
        }
    }

    /// Records a fact: every fact feeds the digest, the visible ones become rows.
    pub fn record(&mut self, now: Time, fact: &Fact, names: &Namer<'_>) {
        if let Fact::Processed { .. } = fact {
            return self.digest_processed(now, fact);
        }
        if let Fact::CommitStored { .. } = fact {
            return self.digest_commit(now, fact);
        }
        if let Fact::OffsetReset {
            consumer,
            partition,
            position,
        } = fact
        {
            // One per partition: counted in the `consuming` row instead of
            // a row each (a million partitions would be a million rows).
            self.digest_numbers(&[
                3,
                now.micros(),
                *consumer as u64,
                *partition as u64,
                *position,
            ]);
            return;
        }
        let Some((event, subject, generation, detail)) = describe(fact, names) else {
            return;
        };
        let row = LogRow {
            time_ms: now.micros() as f64 / 1000.0,
            event,
            subject,
            generation,
            detail,
        };
        // The digest reads the row as text with a fixed format.
        let time = format!("{}.{:03}", now.micros() / 1000, now.micros() % 1000);
        let generation = row.generation.map(|g| g.to_string()).unwrap_or_default();
        for field in [
            time.as_str(),
            row.event,
            &row.subject,
            &generation,
            &row.detail,
        ] {
            self.digest.update(field.as_bytes());
            self.digest.update(b"\x1f");
        }
        self.digest.update(b"\n");
        self.rows.push(row);
    }

    fn digest_numbers(&mut self, numbers: &[u64]) {
        for &n in numbers {
            self.digest.update_u64(n);
        }
    }

    /// The rows so far.
    pub fn rows(&self) -> &[LogRow] {
        &self.rows
    }

    /// The digest so far.
    pub fn digest(&self) -> TraceDigest {
        self.digest
    }
}

fn list(parts: &[TopicPartition], names: &Namer<'_>) -> String {
    list_partitions(parts, names.partition)
}

/// Partitions as `events.csv` lists them: the first 64 by name, then the
/// count.
pub fn list_partitions(
    parts: &[TopicPartition],
    name: &dyn Fn(TopicPartition) -> String,
) -> String {
    const SHOWN: usize = 64;
    let mut s: Vec<String> = parts.iter().take(SHOWN).map(|&tp| name(tp)).collect();
    if parts.len() > SHOWN {
        s.push(format!("... ({} in all)", parts.len()));
    }
    s.join(" ")
}

type Described = (&'static str, String, Option<i32>, String);

fn describe(fact: &Fact, names: &Namer<'_>) -> Option<Described> {
    let c = |i: &usize| names.consumers[*i].clone();
    Some(match fact {
        Fact::ConsumerStarted { consumer } => {
            ("consumer_started", c(consumer), None, String::new())
        }
        Fact::ConsumerStopped { consumer, reason } => (
            "consumer_stopped",
            c(consumer),
            None,
            match reason {
                StopReason::Crash => "crashed".into(),
                StopReason::Graceful => "closed gracefully".into(),
                StopReason::Fatal => {
                    "exited on a fatal group error (see rejoin_needed); it does not come back"
                        .into()
                }
            },
        ),
        Fact::ConsumerPaused { consumer, until } => (
            "consumer_paused",
            c(consumer),
            None,
            format!("process frozen until {until}: no processing, no heartbeats"),
        ),
        Fact::ConsumerResumed { consumer } => {
            ("consumer_resumed", c(consumer), None, String::new())
        }
        Fact::ConsumerStalled { consumer, until } => (
            "consumer_stalled",
            c(consumer),
            None,
            format!("application thread blocked until {until}; heartbeats continue"),
        ),
        Fact::StallEnded { consumer } => ("stall_ended", c(consumer), None, String::new()),
        Fact::PartitionsOrphaned {
            consumer,
            member,
            partitions,
        } => (
            "partitions_orphaned",
            c(consumer),
            None,
            format!(
                "member {member} still holds {} in the coordinator until its session expires or its instance returns",
                list(partitions, names)
            ),
        ),
        Fact::MemberAdded { member, instance } => (
            "member_added",
            member.clone(),
            None,
            instance
                .as_ref()
                .map(|i| format!("static, instance {i}"))
                .unwrap_or_default(),
        ),
        Fact::MemberIdRequired { consumer, member } => (
            "member_id_required",
            c(consumer),
            None,
            format!(
                "JoinGroup without a member id answered MEMBER_ID_REQUIRED; rejoins as {member}"
            ),
        ),
        Fact::PendingMemberRemoved { member, reason } => (
            "pending_member_removed",
            member.clone(),
            None,
            reason.to_string(),
        ),
        Fact::MemberReplaced { instance, old, new } => (
            "member_replaced",
            new.clone(),
            None,
            format!("instance {instance} rejoined; replaces {old}"),
        ),
        Fact::MemberRemoved { member, reason } => {
            ("member_removed", member.clone(), None, reason.to_string())
        }
        Fact::StateChanged {
            state,
            generation,
            reason,
        } => (
            "group_state",
            state.name().to_string(),
            Some(*generation),
            reason.clone(),
        ),
        Fact::GenerationStarted {
            generation,
            leader,
            members,
        } => (
            "generation_started",
            leader.clone(),
            Some(*generation),
            format!("{members} members; leader {leader}"),
        ),
        Fact::GroupConverted {
            to_consumer,
            epoch,
            members,
        } => (
            "group_converted",
            "group coordinator".to_string(),
            Some(*epoch),
            if *to_consumer {
                format!(
                    "online upgrade: the classic group ({members} members) is now a consumer group; its members keep the classic protocol until they restart with group.protocol = consumer"
                )
            } else {
                format!(
                    "online downgrade: the consumer group ({members} classic members) is now a classic group and rebalances"
                )
            },
        ),
        Fact::ShorthandStep {
            consumer,
            action,
            via,
        } => ("timeline", c(consumer), None, format!("{action} ({via})")),
        Fact::SubscriptionChanged { consumer, topics } => (
            "subscription_changed",
            c(consumer),
            None,
            format!("subscribe({})", topics.join(", ")),
        ),
        Fact::ProcessingChanged { consumer, mean } => (
            "processing_changed",
            c(consumer),
            None,
            format!("each record now takes {mean} on average"),
        ),
        Fact::EpochBumped {
            epoch,
            members,
            reason,
        } => (
            "epoch_bumped",
            "group coordinator".to_string(),
            Some(*epoch),
            format!("{members} members; {reason}"),
        ),
        Fact::AssignmentComputed {
            generation,
            leader,
            group,
            assignment,
            protocol,
            ..
        } => {
            // A row stays readable (and small) with 100,000 members.
            const MEMBERS_SHOWN: usize = 100;
            let mut parts = Vec::new();
            for (m, assigned) in group
                .members
                .iter()
                .zip(&assignment.per_member)
                .take(MEMBERS_SHOWN)
            {
                parts.push(format!("{}=[{}]", m.id, list(assigned, names)));
            }
            if group.members.len() > MEMBERS_SHOWN {
                parts.push(format!("... ({} members in all)", group.members.len()));
            }
            (
                "assignment_computed",
                leader.clone(),
                Some(*generation),
                format!("{protocol}: {}", parts.join("; ")),
            )
        }
        Fact::PartitionsAssigned {
            consumer,
            generation,
            partitions,
        } => (
            "partitions_assigned",
            c(consumer),
            Some(*generation),
            list(partitions, names),
        ),
        Fact::PartitionsRevoked {
            consumer,
            partitions,
        } => (
            "partitions_revoked",
            c(consumer),
            None,
            list(partitions, names),
        ),
        Fact::PartitionsLost {
            consumer,
            partitions,
        } => (
            "partitions_lost",
            c(consumer),
            None,
            list(partitions, names),
        ),
        Fact::Consuming {
            consumer,
            partitions,
            resets,
        } => (
            "consuming",
            c(consumer),
            None,
            format!("positions set for {partitions} partitions ({resets} from auto.offset.reset)"),
        ),
        Fact::PollTimeout { consumer, gap_ms } => (
            "poll_timeout",
            c(consumer),
            None,
            format!("{gap_ms} ms since the last poll; the member leaves the group"),
        ),
        Fact::SessionExpired { member } => ("session_expired", member.clone(), None, String::new()),
        Fact::CommitFailed { consumer, error } => {
            ("commit_failed", c(consumer), None, error.clone())
        }
        Fact::RejoinNeeded { consumer, cause } => {
            ("rejoin_needed", c(consumer), None, cause.clone())
        }
        Fact::Violation { invariant, message } => (
            "violation",
            format!("invariant {invariant}"),
            None,
            message.clone(),
        ),
        Fact::Cluster {
            event,
            subject,
            detail,
        } => (event, subject.clone(), None, detail.clone()),
        Fact::Processed { .. } | Fact::CommitStored { .. } | Fact::OffsetReset { .. } => {
            return None;
        }
    })
}
