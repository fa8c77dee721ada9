//! Assignors by the name members advertise.

use super::{
    Assignor, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, ServerRangeAssignor,
    StickyAssignor, UniformAssignor,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The built-in assignors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssignorName {
    /// Client-side `range`.
    #[serde(rename = "range")]
    Range,
    /// Client-side `roundrobin`.
    #[serde(rename = "roundrobin")]
    RoundRobin,
    /// Client-side `sticky` (eager).
    #[serde(rename = "sticky")]
    Sticky,
    /// Client-side `cooperative-sticky` (KIP-429).
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
    /// KIP-848 server-side `uniform`.
    #[serde(rename = "uniform")]
    Uniform,
    /// KIP-848 server-side `range`.
    #[serde(rename = "server-range")]
    ServerRange,
}

/// The assignors a simulated group can use (the others need cooperative
/// rebalancing or the KIP-848 protocol, not simulated yet).
pub const SIMULATED_ASSIGNORS: &[&str] = &["range", "roundrobin", "sticky"];

/// Every built-in assignor name, as accepted on input.
pub const ASSIGNOR_NAMES: &[&str] = &[
    "range",
    "roundrobin",
    "sticky",
    "cooperative-sticky",
    "uniform",
    "server-range",
];

impl AssignorName {
    /// The name as written in scenario files and `assign` input.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignorName::Range => "range",
            AssignorName::RoundRobin => "roundrobin",
            AssignorName::Sticky => "sticky",
            AssignorName::CooperativeSticky => "cooperative-sticky",
            AssignorName::Uniform => "uniform",
            AssignorName::ServerRange => "server-range",
        }
    }

    /// Parses a name; `None` if unknown.
    pub fn parse(s: &str) -> Option<AssignorName> {
        match s {
            "range" => Some(AssignorName::Range),
            "roundrobin" => Some(AssignorName::RoundRobin),
            "sticky" => Some(AssignorName::Sticky),
            "cooperative-sticky" => Some(AssignorName::CooperativeSticky),
            "uniform" => Some(AssignorName::Uniform),
            "server-range" => Some(AssignorName::ServerRange),
            _ => None,
        }
    }

    /// The assignor itself.
    pub fn build(self) -> Box<dyn Assignor> {
        match self {
            AssignorName::Range => Box::new(RangeAssignor),
            AssignorName::RoundRobin => Box::new(RoundRobinAssignor),
            AssignorName::Sticky => Box::new(StickyAssignor),
            AssignorName::CooperativeSticky => Box::new(CooperativeStickyAssignor),
            AssignorName::Uniform => Box::new(UniformAssignor),
            AssignorName::ServerRange => Box::new(ServerRangeAssignor),
        }
    }
}

impl fmt::Display for AssignorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in assignor called `name`.
pub fn assignor_by_name(name: &str) -> Option<Box<dyn Assignor>> {
    AssignorName::parse(name).map(AssignorName::build)
}
