//! Table tests in the manner of Kafka's `GroupMetadataManagerTest`: a
//! group brought into a state, one request (or timer), then the response
//! and the state it leaves.

use super::*;
use crate::coordinator::protocol::{GroupError, JoinRequest, JoinResult};
use crate::sim::rng_stream;

const SESSION: Duration = Duration::from_secs(10);
const REBALANCE: Duration = Duration::from_secs(60);

fn config(linger_ms: u64, replication_ms: u64) -> CoordinatorConfig {
    CoordinatorConfig {
        keeps_record: false,
        initial_rebalance_delay: Duration::ZERO,
        append_linger: Duration::from_millis(linger_ms),
        replication_latency: Duration::from_millis(replication_ms),
        fencing: true,
    }
}

fn ep(c: usize) -> Endpoint {
    Endpoint {
        connection: 0,
        consumer: c,
        incarnation: 1,
    }
}

/// A subscription to topic 0 with nothing owned, as a new member sends it.
fn spec() -> MemberSpec {
    MemberSpec {
        id: String::new(),
        instance_id: None,
        rack: None,
        topics: vec![0].into(),
        owned: Vec::new(),
        generation: Some(-1),
    }
}

fn join_req(c: usize, member: &str, instance: Option<&str>, metadata: MemberSpec) -> Request {
    Request::Join(Box::new(join_body(c, member, instance, metadata)))
}

fn join_body(c: usize, member: &str, instance: Option<&str>, metadata: MemberSpec) -> JoinRequest {
    JoinRequest {
        member_id: member.into(),
        client_id: format!("c{c}"),
        instance_id: instance.map(str::to_string),
        metadata: MemberSpec {
            instance_id: instance.map(str::to_string),
            ..metadata
        },
        protocols: vec!["range".into()],
        session_timeout: SESSION,
        rebalance_timeout: REBALANCE,
    }
}

fn heartbeat(member: &str, instance: Option<&str>, generation: i32) -> Request {
    Request::Heartbeat {
        member_id: member.into(),
        instance_id: instance.map(str::to_string),
        generation,
    }
}

fn sync(
    member: &str,
    instance: Option<&str>,
    generation: i32,
    assignment: Option<Vec<(String, Vec<TopicPartition>)>>,
) -> Request {
    Request::Sync {
        member_id: member.into(),
        instance_id: instance.map(str::to_string),
        generation,
        assignment: assignment.map(Arc::new),
    }
}

fn commit(member: &str, instance: Option<&str>, generation: i32) -> Request {
    Request::Commit {
        member_id: member.into(),
        generation,
        instance_id: instance.map(str::to_string),
        offsets: vec![(0, 7)],
        token: 1,
    }
}

fn tp(p: u32) -> TopicPartition {
    TopicPartition {
        topic: 0,
        partition: p,
    }
}

/// A coordinator with a clock and a timer queue.
struct Harness {
    c: ClassicCoordinator,
    store: OffsetStore,
    now: Time,
    timers: Vec<(Time, u64, CoordinatorTimer)>,
    seq: u64,
    facts: Vec<Fact>,
}

type Sent = Vec<(usize, Response)>;

/// (member id, instance id, generation) → the expected result.
type Case<'a> = (&'a str, Option<&'a str>, i32, Result<(), GroupError>);

impl Harness {
    fn new(config: CoordinatorConfig) -> Self {
        Harness {
            c: ClassicCoordinator::new(config, rng_stream(7, "test/member-ids")),
            store: OffsetStore::new(4),
            now: Time::ZERO,
            timers: Vec::new(),
            seq: 0,
            facts: Vec::new(),
        }
    }

    fn absorb(&mut self, out: CoordinatorOutbox) -> Sent {
        for (at, t) in out.timers {
            self.seq += 1;
            self.timers.push((at, self.seq, t));
        }
        self.facts.extend(out.facts);
        out.responses
            .into_iter()
            .map(|(e, r)| (e.consumer, r))
            .collect()
    }

    fn send(&mut self, c: usize, request: Request) -> Sent {
        let mut out = CoordinatorOutbox::default();
        self.c
            .handle(self.now, ep(c), request, &mut self.store, &mut out);
        self.absorb(out)
    }

    /// Fires every timer due by `t` in (time, order set), then stops at `t`.
    fn run_until(&mut self, t: Time) -> Sent {
        let mut sent = Vec::new();
        loop {
            let next = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (at, _, _))| *at <= t)
                .min_by_key(|(_, (at, seq, _))| (*at, *seq))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let (at, _, timer) = self.timers.remove(i);
            self.now = at;
            let mut out = CoordinatorOutbox::default();
            self.c.on_timer(at, timer, &mut out);
            sent.extend(self.absorb(out));
        }
        self.now = t;
        sent
    }

    fn advance(&mut self, d: Duration) -> Sent {
        let t = self.now + d;
        self.run_until(t)
    }

    /// Heartbeats every 5 s for `members` (consumer, member id, instance
    /// id) until `until`; the responses.
    fn keep_alive(&mut self, until: Time, members: &[(usize, &str, Option<&str>)]) -> Sent {
        let mut sent = Vec::new();
        while self.now + Duration::from_secs(5) <= until {
            sent.extend(self.advance(Duration::from_secs(5)));
            let generation = self.c.generation();
            for &(c, id, instance) in members {
                sent.extend(self.send(c, heartbeat(id, instance, generation)));
            }
        }
        sent.extend(self.run_until(until));
        sent
    }

    /// A dynamic member's two JoinGroups (MEMBER_ID_REQUIRED, then with
    /// the id); its id.
    fn join_dynamic(&mut self, c: usize) -> String {
        let sent = self.send(c, join_req(c, "", None, spec()));
        let id = match sent.as_slice() {
            [(to, Response::MemberIdRequired { member_id })] if *to == c => member_id.clone(),
            other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
        };
        let again = self.send(c, join_req(c, &id, None, spec()));
        assert!(again.is_empty(), "parked: {again:?}");
        id.to_string()
    }

    /// A Stable group of dynamic members c1..=n that joined in order;
    /// their ids. The leader gives partition i to member i.
    fn stable(n: usize, config: CoordinatorConfig) -> (Harness, Vec<String>) {
        let mut h = Harness::new(config);
        let ids: Vec<String> = (1..=n).map(|c| h.join_dynamic(c)).collect();
        let joined = h.run_until(h.now);
        assert_eq!(joined.len(), n, "{joined:?}");
        let leader = h.c.leader.clone().expect("a leader");
        let assignment: Vec<(String, Vec<TopicPartition>)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), vec![tp(i as u32)]))
            .collect();
        let generation = h.c.generation();
        h.send(0, sync(&leader, None, generation, Some(assignment)));
        h.run_until(h.now + Duration::from_millis(100));
        for (i, id) in ids.iter().enumerate() {
            if *id != leader {
                let sent = h.send(i + 1, sync(id, None, generation, None));
                assert!(matches!(sent[0].1, Response::Sync(Ok(_))), "{sent:?}");
            }
        }
        assert_eq!(h.c.state(), GroupState::Stable);
        assert!(h.c.all_synced());
        (h, ids)
    }
}

fn join_result(sent: &Sent, c: usize) -> JoinResult {
    sent.iter()
        .find_map(|(to, r)| match r {
            Response::Join(Ok(j)) if *to == c => Some(j.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no JoinGroup result for c{c} in {sent:?}"))
}

// ----- (a) rejoining members ---------------------------------------------

#[test]
fn rejoin_rebalances_unless_the_whole_subscription_matches() {
    // (state, who rejoins, what changed) → rebalance?
    type Change = fn(&mut MemberSpec);
    let same: Change = |_| {};
    let cases: [(&str, bool, Change, bool); 8] = [
        ("follower, nothing changed", false, same, false),
        (
            "follower, topics",
            false,
            |m| m.topics = vec![0, 1].into(),
            true,
        ),
        (
            "follower, owned partitions",
            false,
            |m| m.owned = vec![tp(1)],
            true,
        ),
        (
            "follower, generation",
            false,
            |m| m.generation = Some(1),
            true,
        ),
        (
            "follower, rack",
            false,
            |m| m.rack = Some("r1".into()),
            true,
        ),
        (
            "follower, None generation is -1",
            false,
            |m| m.generation = None,
            false,
        ),
        ("leader, nothing changed", true, same, true),
        ("leader, topics", true, |m| m.topics = vec![1].into(), true),
    ];
    for (what, leader, change, rebalances) in cases {
        let (mut h, ids) = Harness::stable(3, config(0, 0));
        let generation = h.c.generation();
        let leader_id = h.c.leader.clone().expect("leader");
        let (c, id) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| (**id == leader_id) == leader)
            .map(|(i, id)| (i + 1, id.clone()))
            .expect("member");
        let mut metadata = spec();
        change(&mut metadata);
        let sent = h.send(c, join_req(c, &id, None, metadata));
        if rebalances {
            assert_eq!(h.c.state(), GroupState::PreparingRebalance, "{what}");
            assert!(sent.is_empty(), "{what}: parked, got {sent:?}");
        } else {
            assert_eq!(h.c.state(), GroupState::Stable, "{what}");
            let j = join_result(&sent, c);
            assert_eq!(j.generation, generation, "{what}");
            assert!(j.members.is_none(), "{what}");
            assert!(h.c.all_synced(), "{what}: not pending sync again");
        }
    }
}

#[test]
fn in_completing_rebalance_matching_metadata_gets_the_current_generation_back() {
    // (leader?, metadata changed?) → response and state.
    for (leader, changed) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut h = Harness::new(config(0, 0));
        let a = h.join_dynamic(1);
        let b = h.join_dynamic(2);
        h.run_until(h.now);
        assert_eq!(h.c.state(), GroupState::CompletingRebalance);
        let generation = h.c.generation();
        let leader_id = h.c.leader.clone().expect("leader");
        let (c, id, other) = if (a == leader_id) == leader {
            (1, a, b)
        } else {
            (2, b, a)
        };
        // A follower's SyncGroup is parked meanwhile (the leader's would
        // complete the generation).
        if other != leader_id {
            assert!(
                h.send(3 - c, sync(&other, None, generation, None))
                    .is_empty()
            );
        }
        let mut metadata = spec();
        if changed {
            metadata.generation = Some(generation);
        }
        let sent = h.send(c, join_req(c, &id, None, metadata));
        if changed {
            assert_eq!(h.c.state(), GroupState::PreparingRebalance);
            if other != leader_id {
                assert!(
                    sent.iter().any(|(to, r)| *to == 3 - c
                        && matches!(r, Response::Sync(Err(GroupError::RebalanceInProgress)))),
                    "parked syncs are told to rejoin: {sent:?}"
                );
            }
        } else {
            assert_eq!(h.c.state(), GroupState::CompletingRebalance);
            let j = join_result(&sent, c);
            assert_eq!(j.generation, generation);
            assert_eq!(j.members.is_some(), leader, "members for the leader only");
        }
    }
}

#[test]
fn a_rejoin_in_preparing_rebalance_is_parked_until_the_join_phase_ends() {
    let (mut h, ids) = Harness::stable(2, config(0, 0));
    let generation = h.c.generation();
    h.send(1, join_req(1, &ids[0], None, spec()));
    h.send(1, join_req(1, &ids[0], None, spec()));
    assert!(
        h.send(2, heartbeat(&ids[1], None, generation))
            .iter()
            .all(|(_, r)| matches!(r, Response::Heartbeat(Err(GroupError::RebalanceInProgress))))
    );
    let sent = h.send(2, join_req(2, &ids[1], None, spec()));
    assert_eq!(sent.len(), 2, "both parked joins answered: {sent:?}");
    assert_eq!(h.c.state(), GroupState::CompletingRebalance);
    assert_eq!(h.c.generation(), generation + 1);
}

// ----- (b) MEMBER_ID_REQUIRED, pending members, new-member timeout ------

#[test]
fn a_new_dynamic_member_gets_member_id_required_and_starts_nothing() {
    let mut h = Harness::new(config(0, 0));
    let sent = h.send(1, join_req(1, "", None, spec()));
    let [(1, Response::MemberIdRequired { member_id })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert!(member_id.starts_with("c1-"));
    assert_eq!(h.c.state(), GroupState::Empty);
    assert_eq!(h.c.member_count(), 0);
    assert!(h.c.pending.contains(member_id));
    assert!(
        h.facts
            .iter()
            .any(|f| matches!(f, Fact::MemberIdRequired { consumer: 1, .. }))
    );
    // Rejoining with the id adds it and starts the (initial) rebalance.
    let id = member_id.clone();
    assert!(h.send(1, join_req(1, &id, None, spec())).is_empty());
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    assert!(h.c.pending.is_empty());
    let sent = h.run_until(h.now);
    assert_eq!(join_result(&sent, 1).member_id, id);
}

#[test]
fn a_static_member_joins_without_member_id_required() {
    let mut h = Harness::new(config(0, 0));
    let sent = h.send(1, join_req(1, "", Some("i1"), spec()));
    assert!(sent.is_empty(), "parked in the join: {sent:?}");
    assert_eq!(h.c.member_count(), 1);
    let sent = h.run_until(h.now);
    let j = join_result(&sent, 1);
    assert!(
        j.member_id.starts_with("i1-"),
        "static ids start with the instance id: {}",
        j.member_id
    );
}

#[test]
fn a_pending_member_expires_after_its_session_timeout_and_holds_the_join_until_then() {
    let (mut h, ids) = Harness::stable(2, config(0, 0));
    // c3 gets an id but does not come back; c1 rejoins, c2 too: the join
    // phase waits for the pending member.
    let sent = h.send(3, join_req(3, "", None, spec()));
    let [(3, Response::MemberIdRequired { member_id })] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    let pending = member_id.clone();
    assert_eq!(h.c.state(), GroupState::Stable, "no rebalance yet");
    h.send(1, join_req(1, &ids[0], None, spec()));
    h.send(2, join_req(2, &ids[1], None, spec()));
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    assert!(!h.c.all_members_joined(), "the pending member counts");
    let sent = h.advance(SESSION - Duration::from_millis(1));
    assert!(sent.is_empty());
    let sent = h.advance(Duration::from_millis(1));
    assert_eq!(sent.len(), 2, "join completes when it expires: {sent:?}");
    assert!(!h.c.pending.contains(&pending));
    assert!(
        h.facts
            .iter()
            .any(|f| matches!(f, Fact::PendingMemberRemoved { member, .. } if *member == pending))
    );
    // Coming back later it is unknown.
    let sent = h.send(3, join_req(3, &pending, None, spec()));
    assert!(matches!(
        sent[0].1,
        Response::Join(Err(GroupError::UnknownMemberId))
    ));
}

#[test]
fn a_new_member_parked_in_a_join_expires_after_five_minutes() {
    // A static member with a 10-minute rebalance timeout does not
    // rejoin, so the join phase lasts 10 minutes; the new member waiting
    // in it is dropped after 5 (GMM.addMemberThenRebalanceOrCompleteJoin).
    let mut h = Harness::new(config(0, 0));
    let long = JoinRequest {
        rebalance_timeout: Duration::from_secs(600),
        ..join_body(1, "", Some("s"), spec())
    };
    h.send(1, Request::Join(Box::new(long)));
    let s = join_result(&h.run_until(h.now), 1).member_id;
    h.send(
        1,
        sync(&s, Some("s"), 1, Some(vec![(s.to_string(), vec![tp(0)])])),
    );
    h.run_until(h.now);
    assert_eq!(h.c.state(), GroupState::Stable);
    let start = h.now;
    let id = h.join_dynamic(2);
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    let before = start + (NEW_MEMBER_JOIN_TIMEOUT - Duration::from_millis(1));
    let sent = h.keep_alive(before, &[(1, &s, Some("s"))]);
    assert!(sent.iter().all(|(to, _)| *to == 1), "{sent:?}");
    let sent = h.advance(Duration::from_millis(1));
    assert!(
        matches!(
            &sent[..],
            [(2, Response::Join(Err(GroupError::UnknownMemberId)))]
        ),
        "{sent:?}"
    );
    assert!(!h.c.is_member(&MemberId::from(&id)));
    assert_eq!(
        h.c.state(),
        GroupState::PreparingRebalance,
        "the static member is still awaited"
    );
}

// ----- (c) validation order ------------------------------------------------

#[test]
fn heartbeat_and_sync_validate_the_instance_id_first_then_member_then_generation() {
    let mut h = Harness::new(config(0, 0));
    h.send(1, join_req(1, "", Some("i1"), spec()));
    h.send(2, join_req(2, "", Some("i2"), spec()));
    let sent = h.run_until(h.now);
    let a = join_result(&sent, 1).member_id;
    let b = join_result(&sent, 2).member_id;
    let g = h.c.generation();
    // (member, instance, generation) → heartbeat error in CompletingRebalance.
    let cases: [Case<'_>; 6] = [
        (&a, Some("i1"), g, Ok(())),
        (&a, Some("i2"), g, Err(GroupError::FencedInstanceId)),
        ("nobody", Some("i1"), g, Err(GroupError::FencedInstanceId)),
        (&a, Some("i9"), g, Err(GroupError::UnknownMemberId)),
        ("nobody", None, g, Err(GroupError::UnknownMemberId)),
        (&b, Some("i2"), g + 1, Err(GroupError::IllegalGeneration)),
    ];
    for (member, instance, generation, expected) in cases {
        let sent = h.send(1, heartbeat(member, instance, generation));
        assert!(
            matches!(&sent[..], [(1, Response::Heartbeat(r))] if *r == expected),
            "heartbeat {member} {instance:?} {generation}: {sent:?}"
        );
        if expected.is_err() {
            let sent = h.send(1, sync(member, instance, generation, None));
            assert!(
                matches!(&sent[..], [(1, Response::Sync(Err(e)))] if Err(*e) == expected),
                "sync {member} {instance:?} {generation}: {sent:?}"
            );
        }
    }
}

#[test]
fn heartbeats_and_syncs_to_an_empty_group_are_unknown_members() {
    let mut h = Harness::new(config(0, 0));
    let sent = h.send(1, heartbeat("c1-x", None, 0));
    assert!(matches!(
        sent[0].1,
        Response::Heartbeat(Err(GroupError::UnknownMemberId))
    ));
    let sent = h.send(1, sync("c1-x", None, 0, None));
    assert!(matches!(
        sent[0].1,
        Response::Sync(Err(GroupError::UnknownMemberId))
    ));
}

#[test]
fn offset_commit_validation_follows_validate_offset_commit() {
    // A static member i1 and a dynamic one; (state, commit) → result.
    fn group() -> (Harness, String, String) {
        let mut h = Harness::new(config(0, 0));
        h.send(1, join_req(1, "", Some("i1"), spec()));
        let d = h.join_dynamic(2);
        let sent = h.run_until(h.now);
        let s = join_result(&sent, 1).member_id;
        (h, s.to_string(), d)
    }
    let (mut h, s, d) = group();
    let g = h.c.generation();
    assert_eq!(h.c.state(), GroupState::CompletingRebalance);
    let in_completing: [Case<'_>; 5] = [
        (&s, Some("i1"), g, Err(GroupError::RebalanceInProgress)),
        (&d, Some("i1"), g, Err(GroupError::FencedInstanceId)),
        (&s, Some("i1"), g - 1, Err(GroupError::IllegalGeneration)),
        ("", None, -1, Err(GroupError::UnknownMemberId)),
        ("ghost", None, g, Err(GroupError::UnknownMemberId)),
    ];
    for (member, instance, generation, expected) in in_completing {
        let sent = h.send(1, commit(member, instance, generation));
        assert!(
            matches!(&sent[..], [(1, Response::Commit { result, .. })] if *result == expected),
            "{member} {instance:?} {generation}: {sent:?}"
        );
    }
    // Stable: members of the generation commit; PreparingRebalance too.
    let leader = h.c.leader.clone().expect("leader");
    h.send(0, sync(&leader, None, g, Some(Vec::new())));
    h.run_until(h.now);
    assert_eq!(h.c.state(), GroupState::Stable);
    let sent = h.send(1, commit(&s, Some("i1"), g));
    assert!(matches!(sent[0].1, Response::Commit { result: Ok(()), .. }));
    h.send(
        2,
        join_req(
            2,
            &d,
            None,
            MemberSpec {
                rack: Some("r".into()),
                ..spec()
            },
        ),
    );
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    let sent = h.send(1, commit(&s, Some("i1"), g));
    assert!(
        matches!(sent[0].1, Response::Commit { result: Ok(()), .. }),
        "accepted while preparing: {sent:?}"
    );
    // An Empty group takes a simple commit (generation -1) from anyone,
    // and nothing from a member-looking one.
    let mut e = Harness::new(config(0, 0));
    let sent = e.send(1, commit("", None, -1));
    assert!(matches!(sent[0].1, Response::Commit { result: Ok(()), .. }));
    let sent = e.send(1, commit("c1-x", Some("i1"), -1));
    assert!(
        matches!(sent[0].1, Response::Commit { result: Ok(()), .. }),
        "generation < 0 in Empty is accepted before any member check"
    );
    let sent = e.send(1, commit("c1-x", None, 0));
    assert!(matches!(
        sent[0].1,
        Response::Commit {
            result: Err(GroupError::UnknownMemberId),
            ..
        }
    ));
    assert_eq!(e.store.get(0), Some(7));
}

#[test]
fn a_commit_from_a_replaced_static_instance_is_fenced() {
    let mut h = Harness::new(config(0, 0));
    h.send(1, join_req(1, "", Some("i1"), spec()));
    let old = join_result(&h.run_until(h.now), 1).member_id;
    let g = h.c.generation();
    h.send(
        1,
        sync(
            &old,
            Some("i1"),
            g,
            Some(vec![(old.to_string(), vec![tp(0)])]),
        ),
    );
    h.run_until(h.now);
    // A second process with the same instance id takes over.
    let sent = h.send(9, join_req(9, "", Some("i1"), spec()));
    let new = join_result(&sent, 9).member_id;
    assert_ne!(new, old);
    assert_eq!(h.c.state(), GroupState::Stable, "no rebalance (KIP-345)");
    for request in [
        commit(&old, Some("i1"), g),
        heartbeat(&old, Some("i1"), g),
        sync(&old, Some("i1"), g, None),
    ] {
        let sent = h.send(1, request);
        let fenced = match &sent[0].1 {
            Response::Commit { result, .. } => *result == Err(GroupError::FencedInstanceId),
            Response::Heartbeat(r) => *r == Err(GroupError::FencedInstanceId),
            Response::Sync(r) => matches!(r, Err(GroupError::FencedInstanceId)),
            _ => false,
        };
        assert!(fenced, "{sent:?}");
    }
}

// ----- (d) leader choice and session timers -----------------------------

/// Expected iteration order of a small `new HashMap<>()` (16 buckets)
/// filled with `keys` in order: bucket of the spread hash, then insertion.
fn java_first(keys: &[String], keep: impl Fn(&str) -> bool) -> Option<String> {
    keys.iter()
        .enumerate()
        .filter(|(_, k)| keep(k))
        .min_by_key(|(i, k)| {
            let h = crate::assign::java_string_hash(k) as u32;
            ((h ^ (h >> 16)) & 15, *i)
        })
        .map(|(_, k)| k.clone())
}

#[test]
fn the_first_member_to_join_an_empty_group_leads_and_a_leaver_is_succeeded_in_hashmap_order() {
    let (mut h, ids) = Harness::stable(6, config(0, 0));
    assert_eq!(
        h.c.leader.as_deref(),
        Some(ids[0].as_str()),
        "ClassicGroup.add"
    );
    h.send(
        1,
        Request::Leave {
            member_id: ids[0].as_str().into(),
        },
    );
    let expected = java_first(&ids[1..], |_| true);
    assert_eq!(
        h.c.leader.as_deref(),
        expected.as_deref(),
        "ClassicGroup.remove: first key"
    );
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_leader_that_does_not_rejoin_is_replaced_by_the_first_joined_member_in_hashmap_order() {
    let (mut h, ids) = Harness::stable(6, config(0, 0));
    assert_eq!(h.c.leader.as_deref(), Some(ids[0].as_str()));
    // Everyone but the leader (ids[0]) and ids[1] rejoins; those two
    // keep heartbeating and are removed at the deadline (dynamic).
    let t = h.now;
    let generation = h.c.generation();
    for (i, id) in ids.iter().enumerate().skip(2) {
        let rejoin = MemberSpec {
            generation: Some(generation),
            ..spec()
        };
        h.send(i + 1, join_req(i + 1, id, None, rejoin));
    }
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    h.keep_alive(
        t + (REBALANCE - Duration::from_millis(1)),
        &[(1, &ids[0], None), (2, &ids[1], None)],
    );
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    h.run_until(t + REBALANCE);
    assert_eq!(h.c.state(), GroupState::CompletingRebalance);
    assert_eq!(h.c.member_count(), 4);
    let expected = java_first(&ids[2..], |_| true);
    assert_eq!(
        h.c.leader.as_deref(),
        expected.as_deref(),
        "maybeElectNewJoinedLeader"
    );
}

#[test]
fn completing_a_join_restarts_every_session_static_stragglers_included() {
    let mut h = Harness::new(config(0, 0));
    h.send(1, join_req(1, "", Some("i1"), spec()));
    h.send(2, join_req(2, "", Some("i2"), spec()));
    let sent = h.run_until(h.now);
    let a = join_result(&sent, 1).member_id;
    let b = join_result(&sent, 2).member_id;
    let g = h.c.generation();
    h.send(1, sync(&a, Some("i1"), g, Some(Vec::new())));
    h.send(2, sync(&b, Some("i2"), g, None));
    h.run_until(h.now);
    assert_eq!(h.c.state(), GroupState::Stable);
    // a rejoins with new metadata: the join phase lasts the rebalance
    // timeout, as b never rejoins; b heartbeats until 5 s before the end.
    let t = h.now;
    let rejoin = MemberSpec {
        generation: Some(g),
        ..spec()
    };
    h.send(1, join_req(1, &a, Some("i1"), rejoin));
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    h.keep_alive(
        t + (REBALANCE - Duration::from_secs(5)),
        &[(2, &b, Some("i2"))],
    );
    let last = h.now;
    h.run_until(t + REBALANCE);
    assert_eq!(h.c.state(), GroupState::CompletingRebalance);
    assert!(h.c.members.contains_key(&b), "a static straggler stays");
    // Its session restarted at the completion, not at its last heartbeat.
    h.run_until(last + SESSION + Duration::from_millis(1));
    assert!(
        h.c.members.contains_key(&b),
        "still there after last + session"
    );
    // a (the leader) syncs, which restarts its own session; b expires a
    // session after the completion.
    h.send(1, sync(&a, Some("i1"), g + 1, None));
    h.run_until(t + REBALANCE + SESSION);
    assert!(
        !h.c.members.contains_key(&b),
        "expired a session after the completion"
    );
}

// ----- (e) responses that wait for the log --------------------------------

#[test]
fn commit_and_sync_responses_wait_for_linger_and_replication() {
    let (mut h, ids) = Harness::stable(2, config(5, 2));
    let g = h.c.generation();
    let t0 = h.now;
    let sent = h.send(1, commit(&ids[0], None, g));
    assert!(sent.is_empty(), "waits for the append");
    // A heartbeat behind the pending write waits for it too.
    let sent = h.send(2, heartbeat(&ids[1], None, g));
    assert!(sent.is_empty());
    let sent = h.run_until(t0 + Duration::from_millis(6));
    assert!(sent.is_empty());
    let sent = h.run_until(t0 + Duration::from_millis(7));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(matches!(
        sent[0],
        (1, Response::Commit { result: Ok(()), .. })
    ));
    assert!(matches!(sent[1], (2, Response::Heartbeat(Ok(())))));
    // Errors are answered at once.
    let sent = h.send(1, commit(&ids[0], None, g + 5));
    assert_eq!(sent.len(), 1);
}

#[test]
fn the_generation_is_stable_only_once_the_leaders_assignment_is_stored() {
    let mut h = Harness::new(config(5, 2));
    let a = h.join_dynamic(1);
    let b = h.join_dynamic(2);
    h.run_until(h.now);
    let g = h.c.generation();
    let leader = h.c.leader.clone().expect("leader");
    let (lc, follower, fc) = if leader == a { (1, b, 2) } else { (2, a, 1) };
    let t0 = h.now;
    let assignment = vec![
        (leader.to_string(), vec![tp(0)]),
        (follower.clone(), vec![tp(1)]),
    ];
    assert!(
        h.send(lc, sync(&leader, None, g, Some(assignment)))
            .is_empty()
    );
    assert_eq!(h.c.state(), GroupState::CompletingRebalance);
    // In the window: a follower's sync is parked, a commit refused.
    assert!(h.send(fc, sync(&follower, None, g, None)).is_empty());
    let sent = h.send(fc, commit(&follower, None, g));
    assert!(matches!(
        sent[0].1,
        Response::Commit {
            result: Err(GroupError::RebalanceInProgress),
            ..
        }
    ));
    let sent = h.run_until(t0 + Duration::from_millis(7));
    assert_eq!(h.c.state(), GroupState::Stable);
    assert_eq!(sent.len(), 2, "both syncs answered at the commit: {sent:?}");
    for (to, r) in sent {
        let Response::Sync(Ok(p)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(p, vec![tp(if to == lc { 0 } else { 1 })]);
    }
}

#[test]
fn a_static_replacement_in_stable_is_answered_after_the_append_and_the_sync_deadline_still_rebalances()
 {
    // The replaced id was still pending sync: Kafka does not move it to
    // the new id, so the sync deadline rebalances (GMM.expirePendingSync).
    let mut h = Harness::new(config(5, 2));
    h.send(1, join_req(1, "", Some("i1"), spec()));
    h.send(2, join_req(2, "", Some("i2"), spec()));
    let sent = h.run_until(h.now);
    let a = join_result(&sent, 1).member_id;
    let completed = h.now;
    let g = h.c.generation();
    h.send(1, sync(&a, Some("i1"), g, Some(Vec::new())));
    h.run_until(h.now + Duration::from_millis(7));
    assert_eq!(h.c.state(), GroupState::Stable);
    assert!(!h.c.all_synced(), "i2's member has not synced");
    // i2 restarts (a new process, new member id) and comes back.
    let t = h.now;
    let sent = h.send(3, join_req(3, "", Some("i2"), spec()));
    assert!(sent.is_empty(), "answered after the append");
    let sent = h.run_until(t + Duration::from_millis(7));
    let j = join_result(&sent, 3);
    assert_eq!(j.generation, g);
    assert_eq!(h.c.state(), GroupState::Stable);
    let sent = h.send(3, sync(&j.member_id, Some("i2"), g, None));
    assert!(matches!(sent[0].1, Response::Sync(Ok(_))));
    h.keep_alive(
        completed + REBALANCE,
        &[(1, &a, Some("i1")), (3, &j.member_id, Some("i2"))],
    );
    assert_eq!(h.c.state(), GroupState::PreparingRebalance);
    assert!(
        h.c.members.contains_key(&j.member_id),
        "nobody real is removed"
    );
}
