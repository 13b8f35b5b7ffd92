//! The lifecycle of a training job: `pending → preparing → training → completed | failed |
//! cancelled` (DESIGN.md). Every status change goes through [`JobStatus::can_transition_to`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum JobStatus {
    Pending,
    Preparing,
    Training,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Pending,
        JobStatus::Preparing,
        JobStatus::Training,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Preparing => "preparing",
            JobStatus::Training => "training",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Completed, failed and cancelled jobs never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// A worker holds the job (it must heartbeat).
    pub fn is_running(self) -> bool {
        matches!(self, JobStatus::Preparing | JobStatus::Training)
    }

    /// The allowed transitions. A running job may go back to `pending` when its worker died
    /// and it is re-queued to resume from its last checkpoint.
    pub fn can_transition_to(self, next: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, next),
            (Pending, Preparing | Cancelled | Failed)
                | (Preparing, Training | Failed | Cancelled | Pending)
                | (Training, Completed | Failed | Cancelled | Pending)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status `{0}` (expected pending, preparing, training, completed, failed or cancelled)")]
pub struct UnknownJobStatus(pub String);

impl FromStr for JobStatus {
    type Err = UnknownJobStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL.into_iter().find(|j| j.as_str() == s).ok_or_else(|| UnknownJobStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_final() {
        for from in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in JobStatus::ALL {
                assert!(!from.can_transition_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_happy_path_is_allowed() {
        use JobStatus::*;
        assert!(Pending.can_transition_to(Preparing));
        assert!(Preparing.can_transition_to(Training));
        assert!(Training.can_transition_to(Completed));
        assert!(!Pending.can_transition_to(Completed));
        assert!(!Training.can_transition_to(Preparing));
    }

    #[test]
    fn parses_every_status() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), s);
        }
        assert!("running".parse::<JobStatus>().is_err());
    }
}
