//! A local directory `--out`: the run's lock files, the state file (migrated from version 1 on
//! load), batch files with their manifest (`crate::output::open_output` on a `LocalDir`), and
//! the id sets beside the state.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::destination::{Begun, Destination, OpenOutput, Resumed};
use crate::config::Settings;
use crate::durable::FileError;
use crate::id_set::{id_set_dir, IdStore};
use crate::lock::{RunLock, LOCK_FILE};
use crate::output::{
    open_output, ExclusiveRun, IdSetsAt, LocalDir, LockFiles, OpenArgs, OutputError, StateFile,
};
use crate::sink::{CommittedFile, FileFormat};
use crate::state::State;
use crate::sync::ExportError;

/// A run's local output directory and state file.
pub struct FilesDestination {
    root: PathBuf,
    state: PathBuf,
    format: FileFormat,
    verify: bool,
    lock_paths: Vec<PathBuf>,
    lock: Option<Arc<LockFiles>>,
    /// A version-1 state's committed files, from load until the output rebuilds its manifest.
    v1_files: Option<Vec<CommittedFile>>,
}

impl FilesDestination {
    /// The output root `dir` (`settings`' `--out`) and the state file of `settings`, writing
    /// `format`.
    pub fn new(dir: &Path, settings: &Settings, format: FileFormat) -> Self {
        FilesDestination {
            root: dir.to_path_buf(),
            state: settings.output.state.clone(),
            format,
            verify: settings.output.verify,
            lock_paths: lock_paths(dir, &settings.output.state),
            lock: None,
            v1_files: None,
        }
    }
}

/// The lock files of a run on the directory `dir` with the state file `state`: one in the
/// output root, and one beside the state file when the state lives elsewhere.
pub fn lock_paths(dir: &Path, state: &Path) -> Vec<PathBuf> {
    let mut paths = vec![dir.join(LOCK_FILE)];
    if state.parent() != Some(dir) {
        let mut p = state.as_os_str().to_owned();
        p.push(".lock");
        paths.push(PathBuf::from(p));
    }
    paths
}

impl Destination for FilesDestination {
    fn format(&self) -> &'static str {
        self.format.name()
    }

    async fn lock(&mut self) -> Result<(), ExportError> {
        if self.root.exists() && !self.root.is_dir() {
            return Err(OutputError::NotADirectory(self.root.clone()).into());
        }
        self.lock = Some(Arc::new(LockFiles::new(RunLock::acquire(
            &self.lock_paths,
        )?)));
        Ok(())
    }

    async fn resume(&mut self, _now: i64) -> Result<Resumed, ExportError> {
        let loaded = State::load_migrating(&self.state)?;
        self.v1_files = loaded.v1_files;
        Ok(Resumed {
            state: loaded.state,
            refused: Vec::new(),
        })
    }

    async fn open_output(
        &mut self,
        state: &mut State,
        streams: &[String],
    ) -> Result<OpenOutput, ExportError> {
        let lock = self.lock.clone().ok_or_else(|| {
            OutputError::File(FileError::new(
                "open",
                &self.root,
                std::io::Error::other("the output was opened before its lock was taken"),
            ))
        })?;
        let ids = LocalDir::new(id_set_dir(&self.state));
        let state_label = self.state.display().to_string();
        let args = OpenArgs {
            format: self.format,
            state_label: &state_label,
            ids: IdSetsAt {
                storage: &ids,
                dir: "",
            },
            v1_files: self.v1_files.take(),
            streams,
            verify_hashes: self.verify,
        };
        let (output, opened) =
            open_output(Arc::new(LocalDir::new(&self.root)), lock, state, args).await?;
        Ok(OpenOutput {
            output: Box::new(output),
            removed: opened.removed,
        })
    }

    async fn begin(&mut self, state: &State) -> Result<Begun, ExportError> {
        state.save(&self.state)?;
        Ok(Begun {
            ids: IdStore::Kept(id_set_dir(&self.state)),
            checkpoint: Box::new(StateFile::new(&self.state)),
        })
    }

    async fn release(&mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release().await;
        }
    }
}
