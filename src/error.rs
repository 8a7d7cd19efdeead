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
    /// Schema contract `freeze`: a batch would have changed a stream's typed columns.
    SchemaFrozen,
    /// The run was interrupted (SIGINT, SIGTERM).
    Interrupted,
}

impl ErrorKind {
    /// The CLI's exit code for a failure of this kind (`README.md`, "Exit codes").
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Config => 2,
            ErrorKind::Locked => 75,
            ErrorKind::SchemaFrozen => 3,
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
            ErrorKind::SchemaFrozen => "config_error",
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

/// An error that knows its kind: what a lower layer holds of a higher layer's error without
/// depending on it (the state's error carries an object store's).
pub trait KindedError: std::error::Error + Send + Sync + 'static {
    /// The kind of failure.
    fn kind(&self) -> ErrorKind;
}

/// Whether a file operation was refused: no permission (`EACCES`), not permitted (`EPERM`, e.g.
/// an immutable file) or a read-only file system. Waiting cannot help; a re-run fails the same.
pub fn is_refused(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// The kind of a failed file operation: [`ErrorKind::Permission`] when it was refused
/// ([`is_refused`]), else `otherwise`.
pub fn file_kind(e: &std::io::Error, otherwise: ErrorKind) -> ErrorKind {
    if is_refused(e) {
        ErrorKind::Permission
    } else {
        otherwise
    }
}

/// What follows the message of a refused file operation: how to allow it (empty otherwise).
pub fn refused_hint(e: &std::io::Error) -> &'static str {
    if is_refused(e) {
        "; give the user running fauna-sync access to it (check the permissions of the file and its directory, `lsattr` for an immutable file, and that the file system is writable)"
    } else {
        ""
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

    #[test]
    fn refused_file_operations_are_permission_failures() {
        use std::io::{Error, ErrorKind as Io};
        let eperm = Error::from_raw_os_error(1);
        let eacces = Error::from_raw_os_error(13);
        let erofs = Error::from_raw_os_error(30);
        for e in [&eperm, &eacces, &erofs] {
            assert_eq!(super::file_kind(e, Output), Permission, "{e}");
            assert!(super::refused_hint(e).starts_with("; give the user running fauna-sync access"));
        }
        let enospc = Error::from(Io::StorageFull);
        assert_eq!(super::file_kind(&enospc, Output), Output);
        assert_eq!(super::refused_hint(&enospc), "");
    }
}
