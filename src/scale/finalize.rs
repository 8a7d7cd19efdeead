//! `fauna-sync finalize --plan plan.json`: checks that every shard finished the same plan at
//! the same snapshot, intact, and joins them into one output at the root — one manifest, one
//! state whose streams are complete at T, one id set per stream — so that `fauna-sync sync`
//! continues it from T as if one process had exported it. Nothing is joined and nothing is
//! deleted when a shard is missing, unfinished, from another plan or damaged, or when the
//! snapshot is past a collection's history window.
//!
//! The join gives each shard's batch files their place in the root's layout (a local
//! directory links them: no bytes copied; a store copies them server-side), renumbered per
//! stream in shard order; the root's state is written last, so a finalize interrupted anywhere
//! is simply run again. Local directories and object stores alike, through [`Place`].

use std::collections::BTreeMap;

use super::error::ScaleError;
use super::make::micros_text;
use super::place::{Place, IDS_DIR};
use super::plan_file::ScalePlan;
use super::shard::{read_record, shard_rel};
use crate::config::Settings;
use crate::durable::FileError;
use crate::id_set::{files_of, IdSet, IdsMark, Start};
use crate::output::{OwnerRecord, OWNER_FILE};
use crate::read::now;
use crate::run::{client, Use};
use crate::sink::{part_file_name, stream_dir_name, CommittedFile, MANIFEST_FILE};
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
    let root = Place::open(&settings.output.out)?;
    if let Some(joined) = already_joined(&root, plan).await? {
        return Ok(joined);
    }
    check_window(settings, plan).await?;
    let shards = check_shards(&root, plan).await?;
    join(&root, plan, &shards).await
}

/// One finished shard.
struct Shard {
    /// Its place, relative to the root.
    rel: String,
    state: State,
    files: Vec<CommittedFile>,
}

/// The root's output when it is this plan's joined output already; an error when the root
/// holds another output.
async fn already_joined(root: &Place, plan: &ScalePlan) -> Result<Option<Joined>, ScaleError> {
    let owner = match root.storage().read(OWNER_FILE).await? {
        None => return Ok(None),
        Some(bytes) => serde_json::from_slice::<OwnerRecord>(&bytes).ok(),
    };
    match owner {
        Some(o) if o.output_id == plan.plan_id => {}
        other => {
            return Err(ScaleError::NotEmpty {
                path: root.location().to_string(),
                reason: match other {
                    Some(o) => format!("output {} ({OWNER_FILE})", o.output_id),
                    None => format!("an unreadable {OWNER_FILE}"),
                },
            })
        }
    }
    // The owner is this plan's: a finalize ran; it is done when the state was written.
    let Some(state) = root.load_state().await? else {
        return Ok(None);
    };
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
async fn check_shards(root: &Place, plan: &ScalePlan) -> Result<Vec<Shard>, ScaleError> {
    let mut problems = Vec::new();
    let mut shards = Vec::with_capacity(plan.shards as usize);
    for index in 0..plan.shards {
        let rel = shard_rel(index);
        let place = root.join(&rel);
        let shown = format!("shard {}/{} ({})", index + 1, plan.shards, place.location());
        match check_shard(&place, rel, plan, index).await {
            Ok(Ok(shard)) => shards.push(shard),
            Ok(Err(problem)) => problems.push(format!("{shown}: {problem}")),
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(shards)
    } else {
        Err(ScaleError::Shards(problems))
    }
}

/// Shard `index`'s output, or what is wrong with it.
async fn check_shard(
    place: &Place,
    rel: String,
    plan: &ScalePlan,
    index: u32,
) -> Result<Result<Shard, String>, ScaleError> {
    let Some(record) = read_record(place).await? else {
        return Ok(Err("missing: it has not run (no shard record)".into()));
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
    let Some(state) = place.load_state().await? else {
        return Ok(Err("unfinished: it has no state yet".into()));
    };
    for c in plan.ranges_of(index).keys() {
        match state.streams.get(c) {
            Some(s) if s.snapshot_ts != plan.snapshot_ts => {
                return Ok(Err(format!(
                    "collection '{c}' was read at {}, not at the plan's snapshot",
                    micros_text(s.snapshot_ts)
                )))
            }
            Some(s) if s.position == Position::Done => {}
            Some(_) => return Ok(Err(format!("unfinished: collection '{c}' is not done"))),
            None => return Ok(Err(format!("unfinished: collection '{c}' has not started"))),
        }
    }
    let report = place.verify(&state).await?;
    if !report.problems.is_empty() {
        let list: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        return Ok(Err(format!("damaged: {}", list.join("; "))));
    }
    let files = committed_files(place, &state).await?;
    Ok(Ok(Shard { rel, state, files }))
}

/// The manifest lines the state's committed length holds.
async fn committed_files(place: &Place, state: &State) -> Result<Vec<CommittedFile>, ScaleError> {
    let bytes = place
        .storage()
        .read(MANIFEST_FILE)
        .await?
        .unwrap_or_default();
    let len = usize::try_from(state.manifest_len).unwrap_or(usize::MAX);
    let committed = &bytes[..len.min(bytes.len())];
    let name = place.storage().name_of(MANIFEST_FILE);
    committed
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|line| {
            serde_json::from_slice(line).map_err(|e| ScaleError::BadPlan {
                path: name.clone(),
                reason: format!("a manifest line is not a committed file: {e}"),
            })
        })
        .collect()
}

/// Joins the shards into the root: files, id sets, owner, manifest, then the state.
async fn join(root: &Place, plan: &ScalePlan, shards: &[Shard]) -> Result<Joined, ScaleError> {
    root.storage().create_root().await?;
    let scratch =
        tempfile::tempdir().map_err(|e| FileError::new("create", std::env::temp_dir(), e))?;
    let mut manifest = Vec::new();
    let mut joined = Joined::default();
    let mut streams = BTreeMap::new();
    for c in &plan.collections {
        let name = &c.name;
        let dir = stream_dir_name(name).map_err(crate::output::OutputError::from)?;
        let (mut seq, mut rows) = (0, 0);
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
                let from = format!("{}/{}", shard.rel, f.path);
                root.storage().copy(&from, &path).await?;
                let mut line = serde_json::to_vec(&CommittedFile {
                    path,
                    seq,
                    ..f.clone()
                })
                .unwrap_or_default();
                line.push(b'\n');
                manifest.extend_from_slice(&line);
            }
            rows += s.rows;
            for (id, ttl) in s.expiring.entries() {
                expiring.set(id, Some(ttl));
            }
            if let Some(mark) = s.ids {
                let set = match ids.as_mut() {
                    Some(set) => set,
                    None => ids.insert(IdSet::open(
                        scratch.path(),
                        name,
                        Start::Mark(empty_mark()),
                    )?),
                };
                add_shard_ids(root, &shard.rel, name, mark, set).await?;
            }
            entry.get_or_insert_with(|| s.clone());
        }
        let Some(mut stream) = entry else { continue };
        stream.ids = match ids.as_mut() {
            Some(set) => {
                set.compact()?;
                let mark = set.mark();
                for file in files_of(name, mark) {
                    let bytes = std::fs::read(scratch.path().join(&file))
                        .map_err(|e| FileError::new("read", scratch.path().join(&file), e))?;
                    root.write(&format!("{IDS_DIR}/{file}"), bytes).await?;
                }
                Some(mark)
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
        stream.consistent_at = None;
        stream.expiring = expiring;
        joined.streams.insert(name.clone(), (seq, rows));
        streams.insert(name.clone(), stream);
    }
    let mut owner = serde_json::to_vec(&OwnerRecord {
        output_id: plan.plan_id.clone(),
    })
    .unwrap_or_default();
    owner.push(b'\n');
    root.write(OWNER_FILE, owner).await?;
    let manifest_len = manifest.len() as u64;
    root.write(MANIFEST_FILE, manifest).await?;
    let state = State {
        version: STATE_VERSION,
        output_id: plan.plan_id.clone(),
        manifest_len,
        streams,
    };
    root.save_state(&state).await?;
    Ok(joined)
}

fn empty_mark() -> IdsMark {
    IdsMark {
        generation: 0,
        delta_len: 0,
        complete: true,
    }
}

/// Adds the ids of `stream`'s set in the shard at `rel` (as its state's `mark` records it)
/// to `set`, reading a scratch copy of its files (the shard's stay as they are).
async fn add_shard_ids(
    root: &Place,
    rel: &str,
    stream: &str,
    mark: IdsMark,
    set: &mut IdSet,
) -> Result<(), ScaleError> {
    let scratch =
        tempfile::tempdir().map_err(|e| FileError::new("create", std::env::temp_dir(), e))?;
    for name in files_of(stream, mark) {
        let from = format!("{rel}/{IDS_DIR}/{name}");
        let bytes = root.storage().read(&from).await?.ok_or_else(|| {
            ScaleError::Shards(vec![format!(
                "{}: an id-set file its state names is missing",
                root.storage().name_of(&from)
            )])
        })?;
        std::fs::write(scratch.path().join(&name), bytes)
            .map_err(|e| FileError::new("write", scratch.path().join(&name), e))?;
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
