//! What a start (and `verify`) checks beside the committed files themselves: that the state does
//! not name, as its next batch, one the manifest already commits (a state set back would overwrite
//! it), and that the id-set files the state names are there with their committed extent.

use super::storage::{join, Storage};
use super::verify::Problem;
use super::OutputError;
use crate::id_set::{file_stem, files_of, IdsMark};
use crate::sink::CommittedFile;
use crate::state::State;

/// A committed file the state would write again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewound {
    /// The stream.
    pub stream: String,
    /// The state's next sequence number for it (`None`: the state does not know the stream).
    pub next_seq: Option<u64>,
    /// The committed file.
    pub file: String,
    /// Its sequence number.
    pub seq: u64,
}

/// The first committed file (in manifest order) whose sequence number the state would use
/// again: one not below its stream's `next_seq`, or one of a stream the state does not know.
pub fn rewound(state: &State, files: &[CommittedFile]) -> Option<Rewound> {
    files.iter().find_map(|f| {
        let next_seq = state.streams.get(&f.stream).map(|s| s.next_seq);
        (next_seq.is_none_or(|n| f.seq >= n)).then(|| Rewound {
            stream: f.stream.clone(),
            next_seq,
            file: f.path.clone(),
            seq: f.seq,
        })
    })
}

/// Every id-set file the state names, with the length it must have at least (a delta's
/// committed length; 0 for a base, which only has to exist).
fn named_files(state: &State) -> Vec<(String, String, u64)> {
    let mut files = Vec::new();
    for (stream, s) in &state.streams {
        match (s.ids, s.ids_len) {
            (Some(mark), _) => {
                for name in files_of(stream, mark) {
                    let len = delta_len(&name, stream, mark);
                    files.push((stream.clone(), name, len));
                }
            }
            (None, Some(len)) if len > 0 => {
                files.push((stream.clone(), format!("{}.ids", file_stem(stream)), len))
            }
            _ => {}
        }
    }
    files
}

fn delta_len(name: &str, stream: &str, mark: IdsMark) -> u64 {
    if name == format!("{}.delta.{}", file_stem(stream), mark.generation) {
        mark.delta_len
    } else {
        0
    }
}

/// Where the id sets a state names live: a directory of a [`Storage`] (beside a state file,
/// or under `<state object>.ids/` in a store).
#[derive(Clone, Copy)]
pub struct IdSetsAt<'a> {
    /// The storage.
    pub storage: &'a dyn Storage,
    /// The directory, relative to its root (`""`: the root).
    pub dir: &'a str,
}

/// Checks the id-set files `state` names where `ids` says.
pub async fn id_set_problems(
    ids: IdSetsAt<'_>,
    state: &State,
) -> Result<Vec<Problem>, OutputError> {
    let mut problems = Vec::new();
    for (stream, name, committed) in named_files(state) {
        let rel = join(ids.dir, &name);
        let file = ids.storage.name_of(&rel);
        match ids.storage.size(&rel).await? {
            None => problems.push(Problem::IdSetMissing { file, stream }),
            Some(found) if found < committed => problems.push(Problem::IdSetShort {
                file,
                found,
                committed,
            }),
            Some(_) => {}
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StreamState;

    fn file(stream: &str, seq: u64) -> CommittedFile {
        CommittedFile {
            path: format!("{stream}/part-{seq:08}.jsonl"),
            stream: stream.into(),
            seq,
            rows: 1,
            bytes: 1,
            sha256: String::new(),
            min_ts: 0,
            max_ts: 0,
            format: crate::sink::FileFormat::Parquet,
            schema: None,
            typed: None,
        }
    }

    #[test]
    fn a_state_set_back_would_write_a_committed_file_again() {
        let mut state = State::new();
        let mut s = StreamState::new(0, "jsonl");
        s.next_seq = 3;
        state.streams.insert("a".into(), s);
        let files = [file("a", 1), file("a", 2)];
        assert_eq!(rewound(&state, &files), None);
        state.streams.get_mut("a").unwrap().next_seq = 2;
        assert_eq!(
            rewound(&state, &files),
            Some(Rewound {
                stream: "a".into(),
                next_seq: Some(2),
                file: "a/part-00000002.jsonl".into(),
                seq: 2
            })
        );
        assert_eq!(
            rewound(&state, &[file("b", 1)]).map(|r| r.next_seq),
            Some(None)
        );
    }

    #[tokio::test]
    async fn id_set_files_must_be_there_with_their_committed_length() {
        let dir = tempfile::tempdir().unwrap();
        let local = crate::output::LocalDir::new(dir.path());
        let ids = IdSetsAt {
            storage: &local,
            dir: "",
        };
        let mut state = State::new();
        let mut s = StreamState::new(0, "jsonl");
        s.ids = Some(IdsMark {
            generation: 2,
            delta_len: 6,
            complete: true,
        });
        state.streams.insert("a".into(), s);
        let path = |n: &str| dir.path().join(n).display().to_string();
        assert_eq!(
            id_set_problems(ids, &state).await.unwrap(),
            [
                Problem::IdSetMissing {
                    file: path("a.set.2"),
                    stream: "a".into()
                },
                Problem::IdSetMissing {
                    file: path("a.delta.2"),
                    stream: "a".into()
                }
            ]
        );
        std::fs::write(dir.path().join("a.set.2"), "").unwrap();
        std::fs::write(dir.path().join("a.delta.2"), "+1\n").unwrap();
        assert_eq!(
            id_set_problems(ids, &state).await.unwrap(),
            [Problem::IdSetShort {
                file: path("a.delta.2"),
                found: 3,
                committed: 6
            }]
        );
        std::fs::write(dir.path().join("a.delta.2"), "+1\n+2\n+3\n").unwrap();
        assert_eq!(id_set_problems(ids, &state).await.unwrap(), []);
    }
}
