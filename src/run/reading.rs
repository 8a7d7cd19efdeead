//! One stream's read within the run: its strategy's read ([`CollectionExport`]) by its
//! [`ReadMode`], with its expected total counted beside it, or before it when the observer needs
//! the total first.

use super::databases::DatabaseClients;
use super::estimate::expected_total;
use super::plan::{ReadMode, StreamPlan};
use super::run_loop::Ended;
use crate::id_set::IdStore;
use crate::read::Retention;
use crate::sync::{CollectionExport, Committer, ExportError, Observer};

/// A stream that passed its checks: how it is read.
pub struct Ready {
    /// The stream (its read mode as the checks settled it).
    pub plan: StreamPlan,
    /// How long its collection keeps history.
    pub retention: Retention,
    /// The `[ts, ref]` index of an incremental read.
    pub index: Option<String>,
}

/// What reading the streams needs.
pub struct Reading<'a> {
    /// The run's clients, one per database.
    pub clients: &'a DatabaseClients,
    /// The clients of the expected totals, when the observer wants them.
    pub count_clients: Option<&'a DatabaseClients>,
    /// Where the id sets live.
    pub ids: &'a IdStore,
    /// The run's observer.
    pub observer: &'a dyn Observer,
    /// Ranges of a partitioned read.
    pub concurrency: u32,
    /// The server's time when the run began.
    pub run_time: i64,
}

impl Reading<'_> {
    /// Reads one stream with its expected total beside it, or before it when the observer
    /// needs the total first.
    pub async fn stream(&self, r: &Ready, committer: &mut Committer) -> Result<Ended, ExportError> {
        let name = r.plan.name();
        let name = name.as_str();
        let before = committer.stream(&r.plan.collection.name).ok().cloned();
        let count_client = self
            .count_clients
            .and_then(|c| c.get(&r.plan.database).ok());
        let total = expected_total(count_client, &r.plan.collection, before.as_ref());
        let collection = CollectionExport {
            client: self.clients.get(&r.plan.database)?,
            settings: &r.plan.collection,
            retention: r.retention.clone(),
            ids: self.ids,
            observer: self.observer,
            concurrency: self.concurrency,
        };
        if self.observer.total_first() {
            if let Some((total, done)) = total.await {
                self.observer.total_known(name, total, done);
            }
            self.observer.stream_reading(name)?;
            return self.read(&collection, r, committer).await;
        }
        self.observer.stream_reading(name)?;
        let read = self.read(&collection, r, committer);
        // The count runs beside the read and is dropped if the read ends first.
        tokio::pin!(read, total);
        tokio::select! {
            r = &mut read => r,
            t = &mut total => {
                if let Some((total, done)) = t {
                    self.observer.total_known(name, total, done);
                }
                read.await
            }
        }
    }

    /// The stream's read by its mode: a full read, or the incremental one through its index.
    async fn read(
        &self,
        collection: &CollectionExport<'_>,
        r: &Ready,
        committer: &mut Committer,
    ) -> Result<Ended, ExportError> {
        let (synced_to, nothing_read) = match (&r.plan.read, &r.index) {
            (ReadMode::Incremental { .. }, Some(index)) => {
                let window = collection.sync(index, committer).await?;
                (window.to, window.to.is_none())
            }
            _ => {
                collection.run(committer).await?;
                (None, false)
            }
        };
        Ok(Ended {
            synced_to,
            nothing_read,
            run_time: self.run_time,
        })
    }
}
