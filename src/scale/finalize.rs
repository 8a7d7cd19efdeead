//! `fauna-sync finalize --plan plan.json`: checks that every shard finished the same plan at
//! the same snapshot, intact, and joins them into one output at the root — one manifest, one
//! state whose streams are complete at T, one id set per stream — so that `fauna-sync sync`
//! continues it from T as if one process had exported it. Nothing is joined and nothing is
//! deleted when a shard is missing, unfinished, from another plan or damaged, or when the
//! snapshot is past a collection's history window.
//!
//! The join links each shard's batch files to their place in the root's layout (hard links:
//! no bytes copied; a copy where links are impossible), renumbered per stream in shard order;
//! the root's state is written last, so a finalize interrupted anywhere is simply run again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ScaleError;
use super::make::micros_text;
use super::plan_file::ScalePlan;
use super::shard::{read_record, shard_dir, SHARD_FILE};
use crate::config::Settings;
use crate::durable::{create_dir_durable, fsync_dir, temp_path, FileError};
use crate::id_set::{files_of, id_set_dir, IdSet, IdsMark, Start};
use crate::output::{verify_output, OwnerRecord, OWNER_FILE};
use crate::read::now;
use crate::run::{client, Use};
use crate::sink::{part_file_name, read_manifest, stream_dir_name, write_manifest, CommittedFile};
use crate::state::{Expiring, Position, State, Strategy, StreamState, STATE_VERSION};
use crate::sync::ExportError;

/// What a finalize joined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Joined {
    /// Per stream: files and records.
    pub streams: BTreeMap<String, (u64, u64)>,
    /// The run found the output already joined (nothing was done).
    pub already: bool,
}

/// Finalizes `plan` in `settings`' output root.
pub async fn finalize(settings: &Settings, plan: &ScalePlan) -> Result<Joined, ScaleError> {
    plan.check_settings(settings)?;
    let root = settings.output.dir.as_path();
    let state_path = settings.output.state.clone();
    if let Some(joined) = already_joined(root, &state_path, plan)? {
        return Ok(joined);
    }
    check_window(settings, plan).await?;
    let shards = check_shards(root, plan)?;
    join(root, &state_path, plan, &shards)
}

/// One finished shard.
struct Shard {
    dir: PathBuf,
    state: State,
    files: Vec<CommittedFile>,
}

/// The root's output when it is this plan's joined output already; an error when the root
/// holds another output.
fn already_joined(
    root: &Path,
    state_path: &Path,
    plan: &ScalePlan,
) -> Result<Option<Joined>, ScaleError> {
    match OwnerRecord::read(root)? {
        None => return Ok(None),
        Some(o) if o.output_id == plan.plan_id => {}
        Some(o) => {
            return Err(ScaleError::NotEmpty {
                path: root.display().to_string(),
                reason: format!("output {} ({OWNER_FILE})", o.output_id),
            })
        }
    }
    // The owner is this plan's: a finalize ran; it is done when the state was written.
    if !state_path.exists() {
        return Ok(None);
    }
    let state = State::load(state_path)?;
    if state.output_id != plan.plan_id {
        return Ok(None);
    }
    Ok(Some(Joined {
        streams: state
            .streams
            .iter()
            .map(|(n, s)| (n.clone(), (s.next_seq - 1, s.rows)))
            .collect(),
        already: true,
    }))
}

/// Refuses a plan whose snapshot is past a collection's history window: its shards could
/// not all be read at it, and a sync could not continue from it.
async fn check_window(settings: &Settings, plan: &ScalePlan) -> Result<(), ScaleError> {
    let client = client(settings, Use::Run).map_err(|source| ExportError::Fauna {
        context: "setting up the client".into(),
        source,
    })?;
    let now = now(&client, "(server time)")
        .await
        .map_err(ExportError::from)?;
    if now > plan.readable_until {
        return Err(ScaleError::Expired {
            collection: plan.shortest_window.clone(),
            snapshot: plan.snapshot.clone(),
            until: micros_text(plan.readable_until),
        });
    }
    Ok(())
}

/// Every shard's finished output, or every problem found.
fn check_shards(root: &Path, plan: &ScalePlan) -> Result<Vec<Shard>, ScaleError> {
    let mut problems = Vec::new();
    let mut shards = Vec::with_capacity(plan.shards as usize);
    for index in 0..plan.shards {
        let shown = format!("shard {}/{}", index + 1, plan.shards);
        let dir = shard_dir(root, index);
        match check_shard(&dir, plan, index) {
            Ok(Ok(shard)) => shards.push(shard),
            Ok(Err(problem)) => problems.push(format!("{shown} ({}): {problem}", dir.display())),
            Err(e) => problems.push(format!("{shown} ({}): {e}", dir.display())),
        }
    }
    if problems.is_empty() {
        Ok(shards)
    } else {
        Err(ScaleError::Shards(problems))
    }
}

/// Shard `index`'s output, or what is wrong with it.
fn check_shard(
    dir: &Path,
    plan: &ScalePlan,
    index: u32,
) -> Result<Result<Shard, String>, ScaleError> {
    let record = match read_record(&dir.join(SHARD_FILE))? {
        Some(r) => r,
        None => return Ok(Err("missing: it has not run (no shard record)".into())),
    };
    if record.plan_id != plan.plan_id || record.snapshot_ts != plan.snapshot_ts {
        return Ok(Err(format!(
            "from another plan ({} at {}; this plan is {} at {})",
            record.plan_id,
            micros_text(record.snapshot_ts),
            plan.plan_id,
            plan.snapshot
        )));
    }
    if record.shard != index + 1 || record.shards != plan.shards {
        return Ok(Err(format!(
            "holds shard {}/{}",
            record.shard, record.shards
        )));
    }
    let state_path = dir.join("_state.json");
    if !state_path.exists() {
        return Ok(Err("unfinished: it has no state yet".into()));
    }
    let state = State::load(&state_path)?;
    for c in plan.ranges_of(index).keys() {
        match state.streams.get(c) {
            Some(s) if s.position == Position::Done && s.snapshot_ts == plan.snapshot_ts => {}
            Some(s) if s.snapshot_ts != plan.snapshot_ts => {
                return Ok(Err(format!(
                    "collection '{c}' was read at {}, not at the plan's snapshot",
                    micros_text(s.snapshot_ts)
                )))
            }
            Some(_) => return Ok(Err(format!("unfinished: collection '{c}' is not done"))),
            None => return Ok(Err(format!("unfinished: collection '{c}' has not started"))),
        }
    }
    let report = verify_output(dir, Some(&state), &id_set_dir(&state_path))?;
    if !report.problems.is_empty() {
        let list: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        return Ok(Err(format!("damaged: {}", list.join("; "))));
    }
    let mut files = read_manifest(dir).map_err(crate::output::OutputError::from)?;
    files.truncate(count_committed(dir, &state)?);
    Ok(Ok(Shard {
        dir: dir.to_path_buf(),
        state,
        files,
    }))
}

/// How many manifest lines the state's committed length holds.
fn count_committed(dir: &Path, state: &State) -> Result<usize, ScaleError> {
    let path = dir.join(crate::sink::MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|e| FileError::new("read", &path, e))?;
    let len = usize::try_from(state.manifest_len).unwrap_or(usize::MAX);
    let committed = &bytes[..len.min(bytes.len())];
    Ok(committed
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count())
}

/// Joins the shards into the root: files, id sets, owner, manifest, then the state.
fn join(
    root: &Path,
    state_path: &Path,
    plan: &ScalePlan,
    shards: &[Shard],
) -> Result<Joined, ScaleError> {
    create_dir_durable(root)?;
    let ids_dir = id_set_dir(state_path);
    let mut manifest = Vec::new();
    let mut joined = Joined::default();
    let mut streams = BTreeMap::new();
    for c in &plan.collections {
        let name = &c.name;
        let dir = stream_dir_name(name).map_err(crate::output::OutputError::from)?;
        create_dir_durable(&root.join(&dir))?;
        let mut seq = 0;
        let mut rows = 0;
        let mut entry: Option<StreamState> = None;
        let mut expiring = Expiring::default();
        let mut ids: Option<IdSet> = None;
        for shard in shards {
            let Some(s) = shard.state.streams.get(name) else {
                continue;
            };
            for f in shard.files.iter().filter(|f| &f.stream == name) {
                seq += 1;
                let path = format!("{dir}/{}", part_file_name(seq, f.format));
                link(&shard.dir.join(&f.path), &root.join(&path))?;
                manifest.push(CommittedFile {
                    path,
                    seq,
                    ..f.clone()
                });
            }
            rows += s.rows;
            for (id, ttl) in s.expiring.entries() {
                expiring.set(id, Some(ttl));
            }
            if let Some(mark) = s.ids {
                let set = match ids.as_mut() {
                    Some(set) => set,
                    None => ids.insert(IdSet::open(&ids_dir, name, Start::Mark(empty_mark()))?),
                };
                copy_ids(&shard.dir, name, mark, set)?;
            }
            entry.get_or_insert_with(|| s.clone());
        }
        fsync_dir(&root.join(&dir))?;
        let Some(mut stream) = entry else { continue };
        let ids = match ids.as_mut() {
            Some(set) => {
                set.compact()?;
                Some(set.mark())
            }
            None => None,
        };
        stream.position = Position::Done;
        stream.snapshot_ts = plan.snapshot_ts;
        stream.next_seq = seq + 1;
        stream.rows = rows;
        stream.strategy = Strategy::Snapshot;
        stream.index = None;
        stream.ids_len = None;
        stream.ids = ids;
        stream.consistent_at = None;
        stream.expiring = expiring;
        joined.streams.insert(name.clone(), (seq, rows));
        streams.insert(name.clone(), stream);
    }
    OwnerRecord {
        output_id: plan.plan_id.clone(),
    }
    .write(root)?;
    write_manifest(root, &manifest).map_err(crate::output::OutputError::from)?;
    let manifest_len = std::fs::metadata(root.join(crate::sink::MANIFEST_FILE))
        .map_err(|e| FileError::new("inspect", root.join(crate::sink::MANIFEST_FILE), e))?
        .len();
    let state = State {
        version: STATE_VERSION,
        output_id: plan.plan_id.clone(),
        manifest_len,
        streams,
    };
    state.save(state_path)?;
    Ok(joined)
}

fn empty_mark() -> IdsMark {
    IdsMark {
        generation: 0,
        delta_len: 0,
        complete: true,
    }
}

/// Adds the ids of `stream`'s set in a shard (as its state's `mark` records it) to `set`,
/// reading a scratch copy (the shard's files stay as they are).
fn copy_ids(shard: &Path, stream: &str, mark: IdsMark, set: &mut IdSet) -> Result<(), ScaleError> {
    let from = id_set_dir(&shard.join("_state.json"));
    let scratch =
        tempfile::tempdir().map_err(|e| FileError::new("create", "a scratch directory", e))?;
    for name in files_of(stream, mark) {
        std::fs::copy(from.join(&name), scratch.path().join(&name))
            .map_err(|e| FileError::new("copy", from.join(&name), e))?;
    }
    let mut shard_set = IdSet::open(scratch.path(), stream, Start::Mark(mark))?;
    shard_set.compact()?;
    let sorted = shard_set.sorted()?;
    let mut from: Option<String> = None;
    loop {
        let mut page = sorted.range(from.as_deref(), 10_000)?;
        if from.is_some() && !page.is_empty() {
            page.remove(0);
        }
        let Some(last) = page.last().cloned() else {
            return Ok(());
        };
        set.add_ids(&page)?;
        from = Some(last);
    }
}

/// Makes `to` the same file as `from`: a hard link (no bytes copied), else a durable copy;
/// what a previous, interrupted finalize left there is replaced.
fn link(from: &Path, to: &Path) -> Result<(), ScaleError> {
    let temp = temp_path(to);
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(from, &temp).is_err() {
        std::fs::copy(from, &temp).map_err(|e| FileError::new("copy", from, e))?;
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(|e| FileError::new("fsync", &temp, e))?;
    }
    std::fs::rename(&temp, to).map_err(|e| FileError::new("rename", &temp, e))?;
    Ok(())
}
