//! Statuses of stored records as enums (stored as their lowercase names, shown as such in JSON).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The name stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// From a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// How a deployment ended.
    DeploymentStatus {
        /// Rendered, checked and committed to the environment's GitOps repository.
        Success => "success",
        Failed => "failed",
    }
}

status_enum! {
    /// How a golden-path run ended.
    RunStatus {
        Completed => "completed",
        Failed => "failed",
    }
}

status_enum! {
    /// A location's last read.
    RefreshStatus {
        /// Registered, not read yet.
        Pending => "pending",
        /// Read, every entity accepted.
        Ok => "ok",
        /// Read, some entities rejected (their errors are listed; previous versions kept).
        Errors => "errors",
        /// Nothing could be read (previous entities kept).
        Failed => "failed",
    }
}

status_enum! {
    /// How urgent a notification is (Backstage's notification severities).
    NotificationSeverity {
        Low => "low",
        Normal => "normal",
        High => "high",
        Critical => "critical",
    }
}

// Written by hand: the variants come from a macro that derives no Default.
#[allow(clippy::derivable_impls)]
impl Default for RefreshStatus {
    fn default() -> Self {
        Self::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_json() {
        for s in [
            RefreshStatus::Pending,
            RefreshStatus::Ok,
            RefreshStatus::Errors,
            RefreshStatus::Failed,
        ] {
            assert_eq!(RefreshStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(
            DeploymentStatus::parse("success"),
            Some(DeploymentStatus::Success)
        );
        assert_eq!(RunStatus::parse("done"), None);
    }
}

status_enum! {
    /// Where the platform team has put a piece of feedback.
    FeedbackStatus {
        New => "new",
        Planned => "planned",
        Done => "done",
        WontDo => "wont_do",
    }
}

impl FeedbackStatus {
    pub const ALL: [FeedbackStatus; 4] = [Self::New, Self::Planned, Self::Done, Self::WontDo];
}
