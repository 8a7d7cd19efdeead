//! What can go wrong while loading, each failure with the [`ErrorKind`] that gives its exit
//! code and advice. Messages name the target by its redacted URL only: never a password.

use thiserror::Error;

use crate::error::ErrorKind;
use crate::output::OutputError;
use crate::sink::SinkError;
use crate::state::StateError;

/// A failed load (or a failed step of one stream's load).
#[derive(Debug, Error)]
pub enum LoadError {
    /// `--into` (or the service file, `.pgpass`, `PG*` variables) is not usable.
    #[error("--into: {0}")]
    Target(String),
    /// Other command-line arguments are wrong (`--schema`, `--foreign-key`, …).
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// The redacted URL.
        target: String,
        /// Why (the server's message or the network error).
        reason: String,
        /// Auth for a rejected password, Config for a missing database, else Transient.
        kind: ErrorKind,
    },
    /// A statement failed on the server (or the connection broke while it ran).
    #[error("{context}: {message}")]
    Database {
        /// What was being done (`load items/part-00000001.jsonl into public.items`).
        context: String,
        /// The server's message with its detail and hint, or the client's error.
        message: String,
        /// Derived from the SQLSTATE.
        kind: ErrorKind,
    },
    /// The output could not be read.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A batch file or the manifest could not be read.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The output's state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// The output has nothing a load can use.
    #[error("{0}")]
    NoOutput(String),
    /// A batch file's content is not what the manifest lists, or cannot be loaded.
    #[error("{file}: {reason}")]
    File {
        /// The root-relative file.
        file: String,
        /// What is wrong.
        reason: String,
        /// Data for unreadable content, State for a file that changed.
        kind: ErrorKind,
    },
    /// A target table is not as fauna-sync made it (changed by hand, or not fauna-sync's).
    #[error("table {table}: {reason}")]
    Table {
        /// `schema.table`.
        table: String,
        /// What differs and what to do.
        reason: String,
    },
    /// The target's bookkeeping disagrees with the output (another output's files, a file
    /// loaded with other content).
    #[error("{0}")]
    Bookkeeping(String),
    /// Another `fauna-sync load` into the same schema is running.
    #[error("another fauna-sync load into schema {schema} of {target} is running (it holds the advisory lock; waited --lock-wait); run again when it has finished")]
    Locked {
        /// The schema.
        schema: String,
        /// The redacted URL.
        target: String,
    },
}

impl LoadError {
    /// The kind (exit code, advice).
    pub fn kind(&self) -> ErrorKind {
        match self {
            LoadError::Target(_) | LoadError::Usage(_) | LoadError::NoOutput(_) => {
                ErrorKind::Config
            }
            LoadError::Connect { kind, .. }
            | LoadError::Database { kind, .. }
            | LoadError::File { kind, .. } => *kind,
            LoadError::Output(e) => e.kind(),
            LoadError::Sink(_) => ErrorKind::Output,
            LoadError::State(e) => e.kind(),
            LoadError::Table { .. } | LoadError::Bookkeeping(_) => ErrorKind::State,
            LoadError::Locked { .. } => ErrorKind::Locked,
        }
    }

    /// Whether the failure concerns one stream only (its table, its files), so the load
    /// goes on with the others.
    pub fn is_stream_failure(&self) -> bool {
        match self {
            LoadError::File { .. } | LoadError::Table { .. } => true,
            LoadError::Database { kind, .. } => !matches!(kind, ErrorKind::Transient),
            _ => false,
        }
    }

    /// A failed statement, classified by its SQLSTATE (`context` says what was being done).
    pub fn db(context: impl Into<String>, e: &tokio_postgres::Error) -> LoadError {
        LoadError::Database {
            context: context.into(),
            message: describe(e),
            kind: kind_of(e),
        }
    }
}

/// The server's message with its detail and hint, or the client error's text.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                m.push_str(&format!("; {d}"));
            }
            if let Some(w) = db.where_() {
                // Context lines; a COPY's "line N" is the file's record N.
                m.push_str(&format!("; where: {}", w.replace('\n', "; ")));
            }
            if let Some(h) = db.hint() {
                m.push_str(&format!("; hint: {h}"));
            }
            m
        }
        None => {
            // The client's own text (e.g. "error connecting to server: Connection refused"),
            // with its cause; it never holds the password.
            let mut m = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let text = s.to_string();
                if !m.contains(&text) {
                    m.push_str(&format!(": {text}"));
                }
                source = s.source();
            }
            m
        }
    }
}

/// The kind of a server or client error, from its SQLSTATE class.
pub fn kind_of(e: &tokio_postgres::Error) -> ErrorKind {
    let Some(db) = e.as_db_error() else {
        return ErrorKind::Transient;
    };
    kind_of_code(db.code().code())
}

/// The kind of a SQLSTATE: authentication (`28…`) Auth; privileges (`42501`) Permission;
/// a missing database (`3D000`) Config; connection, resources, shutdowns, serialization
/// failures and deadlocks Transient; data exceptions (`22…`) Data; anything else (a column
/// or table not as expected, a constraint the user added) State.
pub fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "42501" => ErrorKind::Permission,
        "3D000" => ErrorKind::Config,
        "40001" | "40P01" | "55P03" => ErrorKind::Transient,
        c if c.starts_with("28") => ErrorKind::Auth,
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("57") => {
            ErrorKind::Transient
        }
        c if c.starts_with("22") => ErrorKind::Data,
        _ => ErrorKind::State,
    }
}

impl From<crate::location::BadUrl> for LoadError {
    fn from(e: crate::location::BadUrl) -> Self {
        LoadError::Output(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_kinds() {
        for (code, kind) in [
            ("28P01", ErrorKind::Auth),
            ("28000", ErrorKind::Auth),
            ("42501", ErrorKind::Permission),
            ("3D000", ErrorKind::Config),
            ("08006", ErrorKind::Transient),
            ("57P01", ErrorKind::Transient),
            ("53100", ErrorKind::Transient),
            ("40P01", ErrorKind::Transient),
            ("22P05", ErrorKind::Data),
            ("42703", ErrorKind::State),
            ("23502", ErrorKind::State),
        ] {
            assert_eq!(kind_of_code(code), kind, "{code}");
        }
    }
}
