//! An object-store `--out` (S3, GCS, Azure): the lease, the state object, the output in the
//! store ([`StoreRun`] opens each), and the id sets in a scratch copy uploaded beside the
//! state object.

use std::path::PathBuf;

use super::destination::{Begun, Destination, OpenOutput, Resumed};
use crate::config::Settings;
use crate::id_set::IdStore;
use crate::output::{OutputError, StoreRun, StoreUrl};
use crate::sink::FileFormat;
use crate::state::State;
use crate::sync::ExportError;

/// A run's object-store output.
pub struct StoreDestination {
    url: StoreUrl,
    out: PathBuf,
    state: PathBuf,
    format: FileFormat,
    verify: bool,
    run: Option<StoreRun>,
}

impl StoreDestination {
    /// The store at `url` (`settings`' `--out`), writing `format`.
    pub fn new(url: StoreUrl, settings: &Settings, format: FileFormat) -> Self {
        StoreDestination {
            url,
            out: settings.output.out.as_path(),
            state: settings.output.state.clone(),
            format,
            verify: settings.output.verify,
            run: None,
        }
    }

    fn run(&mut self) -> Result<&mut StoreRun, ExportError> {
        self.run.as_mut().ok_or_else(|| {
            OutputError::BadUrl {
                url: self.url.to_string(),
                reason: "the store was used before its lease was taken".into(),
            }
            .into()
        })
    }
}

impl Destination for StoreDestination {
    fn format(&self) -> &'static str {
        self.format.name()
    }

    async fn lock(&mut self) -> Result<(), ExportError> {
        self.run = Some(StoreRun::start(self.url.clone(), &self.out, &self.state).await?);
        Ok(())
    }

    async fn resume(&mut self, _now: i64) -> Result<Resumed, ExportError> {
        Ok(Resumed {
            state: self.run()?.take_loaded().state,
            refused: Vec::new(),
        })
    }

    async fn open_output(
        &mut self,
        state: &mut State,
        streams: &[String],
    ) -> Result<OpenOutput, ExportError> {
        let (format, verify) = (self.format, self.verify);
        let (output, opened) = self
            .run()?
            .open_output(format, state, streams, verify)
            .await?;
        Ok(OpenOutput {
            output,
            removed: opened.removed,
        })
    }

    async fn begin(&mut self, state: &State) -> Result<Begun, ExportError> {
        let run = self.run()?;
        let dir = run.fetch_id_sets(state).await?;
        run.save(state).await?;
        Ok(Begun {
            ids: IdStore::Kept(dir),
            checkpoint: run.checkpoint()?,
        })
    }

    async fn release(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.release().await;
        }
    }
}
