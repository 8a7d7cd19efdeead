//! The one way a Fauna client is made from the settings, for each use: a run's reads, the
//! answers `check` and `discover` give within seconds, and the optional document count.

use std::time::Duration;

use crate::config::Settings;
use crate::fauna::pacing::PAGE_BYTE_BUDGET;
use crate::fauna::{ClientOptions, FaunaClient, FaunaError, RetryPolicy};
use crate::tree::{scoped_secret, Access, DatabasePath};

/// How long a document count may take to be worth an estimate (the count's query timeout: the
/// server stops counting then, so a large collection costs no more than that).
pub const COUNT_BUDGET: Duration = Duration::from_secs(2);

/// What a client is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// A run's reads: the configured retries; queries in flight start at `concurrency` (one
    /// page request per range) plus two (a window's two readers, the count) and are lowered on
    /// rate limits; pages share one byte budget (`spec/paging.md`).
    Run,
    /// `check` and `discover`: at most this many retries (and the configured number), with
    /// short waits, so they answer within seconds.
    Answer {
        /// Retries of transient failures.
        retries: usize,
    },
    /// The optional document count: [`COUNT_BUDGET`] per query, no retries.
    Count,
}

/// A client of the configured endpoint and secret for `purpose`.
pub fn client(settings: &Settings, purpose: Use) -> Result<FaunaClient, FaunaError> {
    client_in(settings, purpose, &DatabasePath::root(), Access::Read)
}

/// A client of the database at `path` (below the key's own) for `purpose`: the configured
/// secret itself for the key's own database, else that secret scoped to `path` with the
/// built-in role `access` asks for (`<secret>:<path>:<role>`, which only an admin key may
/// take).
pub fn client_in(
    settings: &Settings,
    purpose: Use,
    path: &DatabasePath,
    access: Access,
) -> Result<FaunaClient, FaunaError> {
    let (query_timeout, retry) = match purpose {
        Use::Run => (
            settings.query_timeout,
            RetryPolicy {
                max_retries: settings.max_retries,
                ..RetryPolicy::default()
            },
        ),
        Use::Answer { retries } => (
            settings.query_timeout,
            RetryPolicy {
                max_retries: retries.min(settings.max_retries),
                min_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(2),
            },
        ),
        Use::Count => (
            COUNT_BUDGET,
            RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            },
        ),
    };
    let client = FaunaClient::new(ClientOptions {
        endpoint: settings.endpoint.clone(),
        secret: scoped_secret(&settings.secret, path, access),
        query_timeout,
        retry,
    })?;
    if purpose == Use::Run {
        client.set_max_concurrency(settings.concurrency as usize + 2);
        // The ranges share half the response budget (each holds a page being read and one
        // being committed): pages in memory do not grow with concurrency.
        let share = 2 * u64::from(settings.concurrency.max(1));
        client.set_page_byte_budget((PAGE_BYTE_BUDGET / share).max(512 << 10));
    }
    Ok(client)
}
