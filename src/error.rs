//! What kind of failure an error is: the one place from which the CLI's exit code, the advice
//! printed after an error and Airbyte's `failure_type` are derived.

/// The kind of a failure, by what the user can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The configuration, command line or catalog is wrong: fix it, then run again.
    Config,
    /// Fauna rejected the secret (401): use another key.
    Auth,
    /// The key lacks a privilege (403, or documents it cannot read): grant it or use another key.
    Permission,
    /// A failure that may pass (network, 429, 5xx, timeouts): run the same command again.
    Transient,
    /// A document cannot be exported as configured (missing required path, type mismatch) or
    /// the server sent something that is not Fauna's protocol.
    Data,
    /// Writing the output failed (disk, permissions, object store).
    Output,
    /// The checkpoint state or the output it describes is unusable, owned by another run, or
    /// does not match this run's settings.
    State,
    /// Another run holds the output's lock.
    Locked,
    /// The run was interrupted (SIGINT, SIGTERM).
    Interrupted,
}

impl ErrorKind {
    /// The CLI's exit code for a failure of this kind (`README.md`, "Exit codes").
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Config => 2,
            ErrorKind::Locked => 75,
            ErrorKind::Interrupted => 130,
            ErrorKind::Auth
            | ErrorKind::Permission
            | ErrorKind::Transient
            | ErrorKind::Data
            | ErrorKind::Output
            | ErrorKind::State => 1,
        }
    }

    /// Airbyte's `failure_type` for a TRACE error of this kind.
    pub fn airbyte_failure_type(self) -> &'static str {
        match self {
            ErrorKind::Config | ErrorKind::Auth | ErrorKind::Permission => "config_error",
            ErrorKind::Transient | ErrorKind::Locked | ErrorKind::Interrupted => "transient_error",
            ErrorKind::Data | ErrorKind::Output | ErrorKind::State => "system_error",
        }
    }

    /// Whether running the same command again resumes (what was committed stays valid and the
    /// cause may have passed).
    pub fn resumable(self) -> bool {
        matches!(
            self,
            ErrorKind::Transient | ErrorKind::Output | ErrorKind::Interrupted | ErrorKind::Locked
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;

    #[test]
    fn exit_codes_and_failure_types() {
        assert_eq!(Config.exit_code(), 2);
        assert_eq!(Locked.exit_code(), 75);
        assert_eq!(Interrupted.exit_code(), 130);
        assert_eq!(Transient.exit_code(), 1);
        assert_eq!(Auth.airbyte_failure_type(), "config_error");
        assert_eq!(Transient.airbyte_failure_type(), "transient_error");
        assert_eq!(State.airbyte_failure_type(), "system_error");
        assert!(Transient.resumable() && !Auth.resumable() && !Data.resumable());
    }
}
