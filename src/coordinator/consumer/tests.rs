//! The consumer group's heartbeat flows, as tables of (request → response,
//! member state, group state) in the style of Kafka's
//! `GroupMetadataManagerTest` consumer-group cases.

use super::reconcile::ReconcileState;
use super::*;
use crate::assign::{AssignorSet, TopicPartition, TopicSpec};
use crate::coordinator::protocol::{ConsumerHeartbeat, ConsumerHeartbeatResult, Endpoint};

const T: Duration = Duration::from_secs(1);

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn group(fencing: bool) -> ConsumerGroupCoordinator {
    ConsumerGroupCoordinator::new(
        ConsumerGroupConfig {
            heartbeat_interval: Duration::from_secs(5),
            session_timeout: Duration::from_secs(45),
            assignment_interval: Duration::ZERO,
            assignors: vec!["uniform".into(), "server-range".into()],
            fencing,
            downgrade: true,
        },
        vec![TopicSpec::new("t", 4)],
        AssignorSet::builtin(),
        crate::sim::rng_stream(1, "test"),
    )
}

fn ep(consumer: usize) -> Endpoint {
    Endpoint {
        connection: 0,
        consumer,
        incarnation: 1,
    }
}

fn tps(ps: &[u32]) -> Vec<TopicPartition> {
    ps.iter().map(|&p| TopicPartition::new(0, p)).collect()
}

fn join(id: &str, instance: Option<&str>) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: Arc::from(id),
        instance_id: instance.map(str::to_string),
        member_epoch: 0,
        rack: None,
        rebalance_timeout: Some(Duration::from_secs(300)),
        subscription: Some(Arc::from([0u32])),
        assignor: None,
        owned: Some(Vec::new()),
    }
}

fn beat(id: &str, epoch: i32, owned: Option<&[u32]>) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        member_id: Arc::from(id),
        instance_id: None,
        member_epoch: epoch,
        rack: None,
        rebalance_timeout: None,
        subscription: None,
        assignor: None,
        owned: owned.map(tps),
    }
}

/// Sends `hb` from consumer `c` at `now`; returns the answer.
fn send(
    g: &mut ConsumerGroupCoordinator,
    now: Time,
    c: usize,
    hb: ConsumerHeartbeat,
) -> (
    Result<ConsumerHeartbeatResult, GroupError>,
    CoordinatorOutbox,
) {
    let mut out = CoordinatorOutbox::default();
    g.handle_heartbeat(now, ep(c), hb, &mut out);
    let result = match out.responses.first() {
        Some((_, Response::ConsumerHeartbeat { result, .. })) => result.clone(),
        other => panic!("expected a heartbeat response, got {other:?}"),
    };
    (result, out)
}

fn member_state(
    g: &ConsumerGroupCoordinator,
    id: &str,
) -> (ReconcileState, i32, Vec<TopicPartition>) {
    let m = g.members().find(|m| m.id == id).expect("member");
    (m.state, m.epoch, m.assigned.to_vec())
}

#[test]
fn a_second_member_gets_partitions_only_once_the_first_revoked_them() {
    let mut g = group(true);
    let now = Time::ZERO;
    let (r, _) = send(&mut g, now, 0, join("a", None));
    let r = r.expect("joined");
    assert_eq!(
        (r.member_epoch, r.assignment),
        (1, Some(tps(&[0, 1, 2, 3])))
    );
    assert_eq!(g.state(), GroupState::Stable);

    // b joins: epoch 2; a must give up half, b waits for it.
    let (r, _) = send(&mut g, now + T, 1, join("b", None));
    let r = r.expect("joined");
    assert_eq!(r.member_epoch, 2);
    assert_eq!(r.assignment, Some(Vec::new()), "nothing is free yet");
    assert_eq!(
        member_state(&g, "b").0,
        ReconcileState::UnreleasedPartitions
    );
    assert_eq!(g.state(), GroupState::Reconciling);

    // a's next heartbeat learns what to revoke; it stays at epoch 1.
    let (r, _) = send(&mut g, now + s(2), 0, beat("a", 1, None));
    let r = r.expect("heartbeat");
    assert_eq!(r.member_epoch, 1);
    let kept = r.assignment.expect("assignment changed");
    assert_eq!(kept.len(), 2);
    assert_eq!(member_state(&g, "a").0, ReconcileState::UnrevokedPartitions);

    // b still gets nothing while a holds them.
    let (r, _) = send(&mut g, now + s(3), 1, beat("b", 2, None));
    assert_eq!(r.expect("heartbeat").assignment, None);

    // a acknowledges the revocation: epoch 2, stable.
    let owned: Vec<u32> = kept.iter().map(|tp| tp.partition).collect();
    let (r, _) = send(&mut g, now + s(4), 0, beat("a", 1, Some(&owned)));
    assert_eq!(r.expect("heartbeat").member_epoch, 2);
    assert_eq!(member_state(&g, "a").0, ReconcileState::Stable);

    // Now b receives the released half.
    let (r, _) = send(&mut g, now + s(5), 1, beat("b", 2, Some(&[])));
    let got = r.expect("heartbeat").assignment.expect("assignment");
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|tp| !kept.contains(tp)));
    assert_eq!(g.state(), GroupState::Stable);
}

#[test]
fn epochs_ahead_are_fenced_and_the_previous_epoch_is_tolerated_with_a_subset() {
    let mut g = group(true);
    send(&mut g, Time::ZERO, 0, join("a", None))
        .0
        .expect("joined");
    send(&mut g, Time::ZERO, 1, join("b", None))
        .0
        .expect("joined");
    // a is at epoch 1 (revoking); a heartbeat claiming epoch 5 is fenced.
    type Case<'a> = (i32, Option<&'a [u32]>, Result<(), GroupError>);
    let cases: [Case; 3] = [
        (5, None, Err(GroupError::FencedMemberEpoch)),
        (1, None, Ok(())),
        (0, Some(&[]), Ok(())),
    ];
    for (epoch, owned, expect) in cases {
        let hb = if epoch == 0 {
            join("a", None)
        } else {
            beat("a", epoch, owned)
        };
        let (r, _) = send(&mut g, Time::ZERO + T, 0, hb);
        assert_eq!(r.map(|_| ()), expect, "epoch {epoch}");
    }
    let (r, _) = send(&mut g, Time::ZERO + T, 5, beat("nobody", 3, None));
    assert_eq!(r.map(|_| ()), Err(GroupError::UnknownMemberId));
}

#[test]
fn a_member_that_does_not_revoke_in_time_is_fenced() {
    let mut g = group(true);
    send(&mut g, Time::ZERO, 0, join("a", None))
        .0
        .expect("joined");
    send(&mut g, Time::ZERO, 1, join("b", None))
        .0
        .expect("joined");
    let (_, out) = send(&mut g, Time::ZERO + T, 0, beat("a", 1, None));
    let timer = out
        .consumer_timers
        .iter()
        .find(|(_, t)| matches!(t, ConsumerGroupTimer::Rebalance { .. }))
        .cloned()
        .expect("rebalance timeout armed");
    assert_eq!(timer.0, Time::ZERO + T + Duration::from_secs(300));
    let mut out = CoordinatorOutbox::default();
    let epoch = g.group_epoch();
    g.on_timer(timer.0, timer.1, &mut out);
    assert!(!g.is_member("a"), "fenced");
    assert_eq!(g.group_epoch(), epoch + 1);
    // b now gets every partition.
    let (r, _) = send(&mut g, timer.0 + T, 1, beat("b", 2, Some(&[])));
    assert_eq!(r.expect("heartbeat").assignment, Some(tps(&[0, 1, 2, 3])));
}

#[test]
fn the_session_timeout_removes_a_silent_member() {
    let mut g = group(true);
    let (_, out) = send(&mut g, Time::ZERO, 0, join("a", None));
    let (at, timer) = out.consumer_timers[0].clone();
    assert_eq!(at, Time::ZERO + Duration::from_secs(45));
    // A heartbeat at 10 s moves the deadline: the timer re-arms.
    send(&mut g, Time::ZERO + s(10), 0, beat("a", 1, None))
        .0
        .expect("beat");
    let mut out = CoordinatorOutbox::default();
    g.on_timer(at, timer, &mut out);
    assert!(g.is_member("a"));
    let (at, timer) = out.consumer_timers[0].clone();
    assert_eq!(at, Time::ZERO + Duration::from_secs(55));
    let mut out = CoordinatorOutbox::default();
    g.on_timer(at, timer, &mut out);
    assert!(!g.is_member("a"));
    assert_eq!(g.state(), GroupState::Empty);
}

#[test]
fn a_static_member_leaving_with_minus_two_keeps_its_partitions_for_its_next_instance() {
    let mut g = group(true);
    send(&mut g, Time::ZERO, 0, join("a1", Some("a")))
        .0
        .expect("joined");
    send(&mut g, Time::ZERO, 1, join("b1", Some("b")))
        .0
        .expect("joined");
    // Settle: a revokes, b takes its half.
    let (r, _) = send(
        &mut g,
        Time::ZERO + T,
        0,
        ConsumerHeartbeat {
            instance_id: Some("a".into()),
            ..beat("a1", 1, None)
        },
    );
    let kept: Vec<u32> = r
        .expect("hb")
        .assignment
        .expect("a")
        .iter()
        .map(|t| t.partition)
        .collect();
    send(
        &mut g,
        Time::ZERO + T,
        0,
        ConsumerHeartbeat {
            instance_id: Some("a".into()),
            ..beat("a1", 1, Some(&kept))
        },
    )
    .0
    .expect("ack");
    send(
        &mut g,
        Time::ZERO + T,
        1,
        ConsumerHeartbeat {
            instance_id: Some("b".into()),
            ..beat("b1", 2, Some(&[]))
        },
    )
    .0
    .expect("b");
    assert_eq!(g.state(), GroupState::Stable);
    let epoch = g.group_epoch();

    // a leaves temporarily: no bump, partitions still held.
    let leave = ConsumerHeartbeat {
        instance_id: Some("a".into()),
        ..beat("a1", -2, None)
    };
    let (r, _) = send(&mut g, Time::ZERO + s(2), 0, leave);
    assert_eq!(r.expect("left").member_epoch, -2);
    assert_eq!(g.group_epoch(), epoch);
    assert!(g.is_member("a1"));

    // A second live instance of b is refused.
    let (r, _) = send(&mut g, Time::ZERO + s(3), 2, join("b2", Some("b")));
    assert_eq!(r.map(|_| ()), Err(GroupError::UnreleasedInstanceId));

    // a's new instance replaces it, without a bump, with its partitions.
    let (r, out) = send(&mut g, Time::ZERO + s(3), 0, join("a2", Some("a")));
    let r = r.expect("replaced");
    assert_eq!(g.group_epoch(), epoch);
    assert_eq!(r.member_epoch, epoch);
    assert_eq!(r.assignment, Some(tps(&kept)));
    assert!(
        out.facts
            .iter()
            .any(|f| matches!(f, Fact::MemberReplaced { .. }))
    );
    assert!(!g.is_member("a1") && g.is_member("a2"));
}

#[test]
fn commits_are_fenced_by_member_epoch_unless_fencing_is_off() {
    for fencing in [true, false] {
        let mut g = group(fencing);
        send(&mut g, Time::ZERO, 0, join("a", None))
            .0
            .expect("joined");
        let mut store = OffsetStore::new(4);
        let cases = [
            ("a", 1, Ok(())),
            ("a", 0, Err(GroupError::StaleMemberEpoch)),
            ("zombie", 1, Err(GroupError::UnknownMemberId)),
        ];
        for (id, epoch, expect) in cases {
            let mut out = CoordinatorOutbox::default();
            g.handle_commit(
                ep(0),
                &MemberId::from(id),
                epoch,
                &[(0, 10)],
                7,
                &mut store,
                &mut out,
            );
            let got = match &out.responses[0].1 {
                Response::Commit { result, .. } => *result,
                other => panic!("{other:?}"),
            };
            let expect = if fencing { expect } else { Ok(()) };
            assert_eq!(got, expect, "fencing {fencing}: {id} at {epoch}");
            assert_eq!(out.facts.len(), usize::from(expect.is_ok()));
        }
    }
}

#[test]
fn the_most_requested_remote_assignor_wins() {
    let mut g = group(true);
    send(
        &mut g,
        Time::ZERO,
        0,
        ConsumerHeartbeat {
            assignor: Some("server-range".into()),
            ..join("a", None)
        },
    )
    .0
    .expect("a");
    assert_eq!(g.preferred_assignor(), "server-range");
    send(&mut g, Time::ZERO, 1, join("b", None)).0.expect("b");
    send(
        &mut g,
        Time::ZERO,
        2,
        ConsumerHeartbeat {
            assignor: Some("uniform".into()),
            ..join("c", None)
        },
    )
    .0
    .expect("c");
    // One each: the broker's order (uniform first) breaks the tie.
    assert_eq!(g.preferred_assignor(), "uniform");
    let none = group(true);
    assert_eq!(none.preferred_assignor(), "uniform");
}

fn classic_join(id: &str, owned: &[u32]) -> crate::coordinator::protocol::JoinRequest {
    crate::coordinator::protocol::JoinRequest {
        member_id: crate::coordinator::protocol::MemberId::from(id),
        client_id: "c".into(),
        instance_id: None,
        metadata: crate::assign::MemberSpec {
            id: id.into(),
            topics: Arc::from([0u32]),
            owned: tps(owned),
            ..Default::default()
        },
        protocols: vec!["cooperative-sticky".into()],
        session_timeout: Duration::from_secs(45),
        rebalance_timeout: Duration::from_secs(300),
    }
}

/// A classic member in a consumer group: JoinGroup answered at once with
/// the member epoch as generation; SyncGroup validated by it; the
/// heartbeat asks it to rejoin while its reconciliation can move on.
#[test]
fn a_classic_member_of_a_consumer_group_reconciles_through_rejoins() {
    use crate::coordinator::protocol::MemberId;
    let mut g = group(true);
    send(&mut g, Time::ZERO, 0, join("a", None))
        .0
        .expect("a joined");
    // A new classic member without an id: MEMBER_ID_REQUIRED first.
    let mut out = CoordinatorOutbox::default();
    g.handle_classic_join(Time::ZERO, ep(1), classic_join("", &[]), &mut out);
    let Response::MemberIdRequired { member_id } = &out.responses[0].1 else {
        panic!("{:?}", out.responses);
    };
    assert!(
        out.facts
            .iter()
            .any(|f| matches!(f, Fact::MemberIdRequired { consumer: 1, .. }))
    );
    let id = member_id.clone();
    let mut out = CoordinatorOutbox::default();
    g.handle_classic_join(Time::ZERO, ep(1), classic_join(id.as_str(), &[]), &mut out);
    let Response::Join(Ok(joined)) = &out.responses[0].1 else {
        panic!("{:?}", out.responses);
    };
    assert_eq!(joined.generation, 2, "the member epoch");
    assert!(
        joined.members.is_none(),
        "never the leader: the broker assigns"
    );
    // Nothing is free yet (a holds everything): Sync returns nothing, and a
    // wrong generation is ILLEGAL_GENERATION.
    let sync = |g: &mut ConsumerGroupCoordinator, generation| {
        let mut out = CoordinatorOutbox::default();
        g.handle_classic_sync(Time::ZERO + T, ep(1), &id, generation, &mut out);
        match &out.responses[0].1 {
            Response::Sync(r) => r.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(sync(&mut g, 2), Ok(Vec::new()));
    assert_eq!(sync(&mut g, 7), Err(GroupError::IllegalGeneration));
    // a revokes half; then b's heartbeat says "rejoin", and the rejoin
    // gets the released partitions.
    let (r, _) = send(&mut g, Time::ZERO + s(2), 0, beat("a", 1, None));
    let kept: Vec<u32> = r
        .expect("a")
        .assignment
        .expect("a")
        .iter()
        .map(|t| t.partition)
        .collect();
    send(&mut g, Time::ZERO + s(3), 0, beat("a", 1, Some(&kept)))
        .0
        .expect("a acks");
    let mut out = CoordinatorOutbox::default();
    g.handle_classic_heartbeat(Time::ZERO + s(4), ep(1), &id, 2, &mut out);
    assert!(matches!(
        out.responses[0].1,
        Response::Heartbeat(Err(GroupError::RebalanceInProgress))
    ));
    let mut out = CoordinatorOutbox::default();
    g.handle_classic_join(
        Time::ZERO + s(5),
        ep(1),
        classic_join(id.as_str(), &[]),
        &mut out,
    );
    assert_eq!(sync(&mut g, 2).map(|p| p.len()), Ok(2));
    let mut out2 = CoordinatorOutbox::default();
    g.handle_classic_heartbeat(
        Time::ZERO + s(6),
        ep(1),
        &MemberId::from(id.as_str()),
        2,
        &mut out2,
    );
    assert!(matches!(out2.responses[0].1, Response::Heartbeat(Ok(()))));
    assert_eq!(g.state(), GroupState::Stable);
}
