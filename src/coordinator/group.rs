//! The group as the coordinator hosts it: a classic group or a KIP-848
//! consumer group, with the conversions Kafka makes between them
//! (`GroupMetadataManager.getOrMaybeCreateConsumerGroup` /
//! `getOrMaybeCreateClassicGroup`): an empty group of the other type is
//! replaced; a non-empty classic group is converted (the online upgrade,
//! where `group.consumer.migration.policy` allows it) when a
//! consumer-protocol member joins. Requests are routed to the group type
//! that handles them; classic members of a consumer group go on speaking
//! JoinGroup / SyncGroup / Heartbeat.

use super::consumer::{ConsumerGroupConfig, ConsumerGroupCoordinator, ConsumerGroupTimer};
use super::protocol::{Endpoint, GroupError, MemberId, Request, Response};
use super::{
    ClassicCoordinator, CoordinatorConfig, CoordinatorOutbox, CoordinatorTimer, OffsetStore,
};
use crate::assign::{AssignorSet, TopicSpec};
use crate::events::{Fact, GroupState};
use crate::sim::{SimRng, Time};

/// The group's current type and state.
pub enum GroupCoordinator {
    /// A classic group (JoinGroup/SyncGroup).
    Classic(Box<ClassicCoordinator>),
    /// A KIP-848 consumer group (ConsumerGroupHeartbeat).
    Consumer(Box<ConsumerGroupCoordinator>),
}

/// What a new coordinator loads of the group after a failover.
#[derive(Clone)]
pub enum GroupImage {
    /// A classic group: its last `GroupMetadata` record, if it wrote one.
    Classic(Option<std::sync::Arc<super::ClassicRecord>>),
    /// A consumer group: all of it (each change is a record).
    Consumer(Box<ConsumerGroupCoordinator>),
}

/// `group.consumer.migration.policy`: which online conversions of a
/// non-empty group the broker allows (Kafka's default: both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    /// Upgrade and downgrade.
    Bidirectional,
    /// Classic to consumer only.
    Upgrade,
    /// Consumer to classic only.
    Downgrade,
    /// Neither.
    Disabled,
}

impl MigrationPolicy {
    /// A classic group may become a consumer group.
    pub fn allows_upgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Bidirectional | MigrationPolicy::Upgrade
        )
    }

    /// A consumer group may become a classic group.
    pub fn allows_downgrade(self) -> bool {
        matches!(
            self,
            MigrationPolicy::Bidirectional | MigrationPolicy::Downgrade
        )
    }
}

/// Everything needed to build either group type.
pub struct GroupSetup {
    /// Classic group settings.
    pub classic: CoordinatorConfig,
    /// Consumer group settings.
    pub consumer: ConsumerGroupConfig,
    /// The cluster's topics, in name order.
    pub topics: Vec<TopicSpec>,
    /// Server-side assignors.
    pub assignors: AssignorSet,
    /// The run's seed (member ids of a group created by a conversion).
    pub seed: u64,
    /// `group.consumer.migration.policy`.
    pub migration: MigrationPolicy,
}

impl GroupCoordinator {
    /// A new, empty group of the type `consumer_protocol` asks for.
    pub fn new(setup: &GroupSetup, consumer_protocol: bool, rng: SimRng) -> Self {
        if consumer_protocol {
            GroupCoordinator::Consumer(Box::new(Self::consumer_group(setup)))
        } else {
            GroupCoordinator::Classic(Box::new(ClassicCoordinator::new(
                setup.classic.clone(),
                rng,
            )))
        }
    }

    /// Partitions were added to the cluster's topics: a consumer group
    /// refreshes its metadata at the next heartbeat (a classic group has
    /// no metadata: its leader finds out).
    pub fn topics_changed(&mut self, topics: Vec<TopicSpec>) {
        if let GroupCoordinator::Consumer(g) = self {
            g.topics_changed(topics);
        }
    }

    /// What a new coordinator would load of the group now.
    pub fn image(&self) -> GroupImage {
        match self {
            GroupCoordinator::Classic(c) => GroupImage::Classic(c.record()),
            GroupCoordinator::Consumer(g) => GroupImage::Consumer(g.clone()),
        }
    }

    /// The group a new coordinator loads from `image` at `now`, with its
    /// timers rescheduled (`onLoaded`).
    pub fn load(
        image: GroupImage,
        setup: &GroupSetup,
        now: Time,
        out: &mut CoordinatorOutbox,
    ) -> Self {
        let rng = crate::sim::rng_stream(
            setup.seed,
            &format!("coordinator/member-ids/loaded-{}", now.micros()),
        );
        match image {
            GroupImage::Classic(None) => GroupCoordinator::Classic(Box::new(
                ClassicCoordinator::new(setup.classic.clone(), rng),
            )),
            GroupImage::Classic(Some(record)) => GroupCoordinator::Classic(Box::new(
                ClassicCoordinator::from_record(setup.classic.clone(), rng, &record, now, out),
            )),
            GroupImage::Consumer(mut g) => {
                g.on_loaded(now, out);
                // onLoaded starts from the current metadata image: topics
                // that grew while nobody hosted the group are refreshed at
                // the next heartbeat.
                if g.topics() != setup.topics.as_slice() {
                    g.topics_changed(setup.topics.clone());
                }
                GroupCoordinator::Consumer(g)
            }
        }
    }

    fn consumer_group(setup: &GroupSetup) -> ConsumerGroupCoordinator {
        ConsumerGroupCoordinator::new(
            setup.consumer.clone(),
            setup.topics.clone(),
            setup.assignors.clone(),
            Self::consumer_group_rng(setup),
        )
    }

    fn consumer_group_rng(setup: &GroupSetup) -> SimRng {
        crate::sim::rng_stream(setup.seed, "coordinator/consumer-group/member-ids")
    }

    /// The group's state.
    pub fn state(&self) -> GroupState {
        match self {
            GroupCoordinator::Classic(c) => c.state(),
            GroupCoordinator::Consumer(g) => g.state(),
        }
    }

    /// True for a KIP-848 consumer group.
    pub fn is_consumer_group(&self) -> bool {
        matches!(self, GroupCoordinator::Consumer(_))
    }

    /// The classic generation or the consumer group's epoch.
    pub fn generation(&self) -> i32 {
        match self {
            GroupCoordinator::Classic(c) => c.generation(),
            GroupCoordinator::Consumer(g) => g.group_epoch(),
        }
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        match self {
            GroupCoordinator::Classic(c) => c.member_count(),
            GroupCoordinator::Consumer(g) => g.member_count(),
        }
    }

    /// True while `member_id` is a member.
    pub fn is_member(&self, member_id: &str) -> bool {
        match self {
            GroupCoordinator::Classic(c) => c.is_member(&MemberId::from(member_id)),
            GroupCoordinator::Consumer(g) => g.is_member(member_id),
        }
    }

    /// True while the classic member id `member_id` is a member (without
    /// building an id: the frequent check).
    pub fn is_classic_member(&self, member_id: &MemberId) -> bool {
        match self {
            GroupCoordinator::Classic(c) => c.is_member(member_id),
            GroupCoordinator::Consumer(g) => g.is_member(member_id.as_str()),
        }
    }

    /// True when a member holding `generation` (classic) or member epoch
    /// (consumer protocol) works behind the group: a classic member of an
    /// older generation, a consumer-protocol member whose epoch is not the
    /// one the coordinator has for it.
    pub fn is_behind(&self, member_id: Option<&str>, generation: Option<i32>) -> bool {
        match self {
            GroupCoordinator::Classic(c) => generation != Some(c.generation()),
            GroupCoordinator::Consumer(g) => {
                member_id.and_then(|id| g.member_epoch(id)) != generation
            }
        }
    }

    /// Handles one request; the group changes type first if it is empty
    /// and the request speaks the other protocol.
    pub fn handle(
        &mut self,
        now: Time,
        from: Endpoint,
        request: Request,
        setup: &GroupSetup,
        store: &mut OffsetStore,
        out: &mut CoordinatorOutbox,
    ) {
        self.maybe_convert_empty(&request, setup, out);
        self.maybe_upgrade(now, &request, setup, out);
        self.maybe_upgrade(now, &request, setup, out);
        match self {
            GroupCoordinator::Classic(c) => {
                if let Request::ConsumerHeartbeat(hb) = request {
                    // A consumer-protocol member of a non-empty classic
                    // group the policy does not let it convert
                    // (getOrMaybeCreateConsumerGroup: "is not a consumer
                    // group"), fatal for the client.
                    let sent_epoch = hb.member_epoch;
                    out.responses.push((
                        from,
                        Response::ConsumerHeartbeat {
                            sent_epoch,
                            result: Err(GroupError::GroupIdNotFound),
                        },
                    ));
                    return;
                }
                c.handle(now, from, request, store, out)
            }
            GroupCoordinator::Consumer(g) => match request {
                Request::ConsumerHeartbeat(hb) => g.handle_heartbeat(now, from, *hb, out),
                Request::Commit {
                    member_id,
                    generation,
                    offsets,
                    token,
                    ..
                } => g.handle_commit(from, &member_id, generation, &offsets, token, store, out),
                Request::Fetch { partitions, token } => {
                    g.handle_fetch(from, &partitions, token, store, out)
                }
                Request::Join(join) => g.handle_classic_join(now, from, *join, out),
                Request::Sync {
                    member_id,
                    generation,
                    ..
                } => g.handle_classic_sync(now, from, &member_id, generation, out),
                Request::Heartbeat {
                    member_id,
                    generation,
                    ..
                } => g.handle_classic_heartbeat(now, from, &member_id, generation, out),
                Request::Leave { member_id } => g.handle_classic_leave(&member_id, out),
            },
        }
        self.maybe_downgrade(now, setup, out);
    }

    /// The online downgrade (`convertToClassicGroup`): the consumer group's
    /// last consumer-protocol member left.
    fn maybe_downgrade(&mut self, now: Time, setup: &GroupSetup, out: &mut CoordinatorOutbox) {
        let GroupCoordinator::Consumer(g) = self else {
            return;
        };
        if !g.take_downgrade() {
            return;
        }
        let epoch = g.group_epoch();
        let members = g.export_for_downgrade();
        let count = members.len();
        let rng = crate::sim::rng_stream(setup.seed, "coordinator/member-ids/downgraded");
        out.facts.push(Fact::GroupConverted {
            to_consumer: false,
            epoch,
            members: count,
        });
        let classic = ClassicCoordinator::from_downgrade(
            setup.classic.clone(),
            rng,
            epoch,
            members,
            now,
            out,
        );
        *self = GroupCoordinator::Classic(Box::new(classic));
    }

    /// The online upgrade (`validateOnlineUpgrade`, `convertToConsumerGroup`):
    /// a consumer-protocol member joining a non-empty classic group turns it
    /// into a consumer group, where the policy allows.
    fn maybe_upgrade(
        &mut self,
        now: Time,
        request: &Request,
        setup: &GroupSetup,
        out: &mut CoordinatorOutbox,
    ) {
        let GroupCoordinator::Classic(c) = self else {
            return;
        };
        let joining = matches!(request, Request::ConsumerHeartbeat(hb) if hb.member_epoch == 0);
        if !joining || c.member_count() == 0 || !setup.migration.allows_upgrade() {
            return;
        }
        c.flush_for_conversion(out);
        let export = c.export();
        let generation = export.generation;
        let group = ConsumerGroupCoordinator::from_classic(
            setup.consumer.clone(),
            setup.topics.clone(),
            setup.assignors.clone(),
            Self::consumer_group_rng(setup),
            export,
            now,
            out,
        );
        out.facts.push(Fact::GroupConverted {
            to_consumer: true,
            epoch: generation,
            members: group.member_count(),
        });
        *self = GroupCoordinator::Consumer(Box::new(group));
    }

    /// An empty group of one type becomes a group of the other when a
    /// member joins with the other protocol.
    fn maybe_convert_empty(
        &mut self,
        request: &Request,
        setup: &GroupSetup,
        out: &mut CoordinatorOutbox,
    ) {
        let empty = self.member_count() == 0;
        match (&*self, request) {
            (GroupCoordinator::Classic(c), Request::ConsumerHeartbeat(hb))
                if empty && hb.member_epoch == 0 && c.state() == GroupState::Empty =>
            {
                *self = GroupCoordinator::Consumer(Box::new(Self::consumer_group(setup)));
                out.facts.push(Fact::StateChanged {
                    state: GroupState::Empty,
                    generation: 0,
                    reason: "empty classic group replaced by a consumer group".into(),
                });
            }
            (GroupCoordinator::Consumer(_), Request::Join(_)) if empty => {
                let rng = crate::sim::rng_stream(setup.seed, "coordinator/member-ids/converted");
                *self = GroupCoordinator::Classic(Box::new(ClassicCoordinator::new(
                    setup.classic.clone(),
                    rng,
                )));
                out.facts.push(Fact::StateChanged {
                    state: GroupState::Empty,
                    generation: 0,
                    reason: "empty consumer group replaced by a classic group".into(),
                });
            }
            _ => {}
        }
    }

    /// Handles a classic group timer (ignored once the group changed type).
    pub fn on_classic_timer(
        &mut self,
        now: Time,
        timer: CoordinatorTimer,
        out: &mut CoordinatorOutbox,
    ) {
        if let GroupCoordinator::Classic(c) = self {
            c.on_timer(now, timer, out);
        }
    }

    /// Handles a consumer group timer (ignored once the group changed type).
    pub fn on_consumer_timer(
        &mut self,
        now: Time,
        timer: ConsumerGroupTimer,
        setup: &GroupSetup,
        out: &mut CoordinatorOutbox,
    ) {
        if let GroupCoordinator::Consumer(g) = self {
            g.on_timer(now, timer, out);
        }
        self.maybe_downgrade(now, setup, out);
    }
}
