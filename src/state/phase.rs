//! Each strategy's own positions, and the one conversion between them and the state's wire
//! form. On disk a stream keeps one [`Position`] (a serde enum, unchanged) beside its
//! [`Strategy`]; read, the pair becomes a [`Phase`]: the pinned snapshot's
//! [`SnapshotPosition`], the short-retention strategy's [`ScanPosition`] or an incremental
//! sync's [`WindowPosition`], so each strategy's code sees only its own positions. A pair no
//! strategy writes is an [`IllegalPosition`], refused when the state is loaded.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Position, RangePosition, Strategy, StreamState};

/// Where a read of concurrent ranges stands: every range's progress and the rotation of
/// their turns (wire: `parts`, `turn` and `taken`, the last two left out when 0, inside the
/// position's object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The ranges, in read order.
    #[serde(rename = "parts")]
    pub ranges: Vec<RangePosition>,
    /// The range whose turn it is.
    #[serde(default, skip_serializing_if = "super::is_zero_usize")]
    pub turn: usize,
    /// Items of the current turn already committed.
    #[serde(default, skip_serializing_if = "super::is_zero_u64")]
    pub taken: u64,
}

/// The pinned-snapshot strategy's positions: every page of `Documents(c)` at `snapshot_ts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotPosition {
    /// Nothing read yet (wire: `start`).
    Start,
    /// In id order from this `after` cursor, wire JSON (wire: `after`).
    After(String),
    /// Concurrent ranges of ids (wire: `parts`).
    Ranges(Rotation),
    /// Every document exported (wire: `done`).
    Done,
}

/// The short-retention strategy's positions: a scan, a catch-up, a reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanPosition {
    /// Nothing read yet (wire: `start`).
    Start,
    /// The scan, in id order from this `after` cursor (wire: `after`).
    After(String),
    /// The scan as concurrent ranges of ids (wire: `scan_parts`).
    Ranges(Rotation),
    /// The catch-up (wire: `catch_up`): the `[ts, ref]` index from `since`, pinned at `at`
    /// (`None` until chosen), from `cursor`.
    CatchUp {
        /// The lowest `ts` read.
        since: i64,
        /// The time the phase reads at.
        at: Option<i64>,
        /// Where to continue, wire JSON.
        cursor: Option<String>,
    },
    /// The catch-up read as concurrent ranges of ts (wire: `catch_up_parts`): the index from
    /// `since` pinned at `at`, split into the `rotation`'s ranges.
    CatchUpRanges {
        /// The lowest `ts` read.
        since: i64,
        /// The time the phase reads at.
        at: i64,
        /// The ranges of ts and their turns.
        rotation: Rotation,
    },
    /// The reconciliation at `at`, in id order from `cursor` (wire: `reconcile`).
    Reconcile {
        /// The time the phase reads at.
        at: i64,
        /// Where to continue, wire JSON.
        cursor: Option<String>,
    },
    /// Every document exported (wire: `done`).
    Done,
}

/// One incremental window read as one merged sequence (wire: `window`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The window's first ts.
    pub from: i64,
    /// The window's end: its snapshot.
    pub at: i64,
    /// Where to continue (the merged changes/deletions cursor), wire JSON.
    pub cursor: Option<String>,
    /// Over a history gap: changes only, then the reconciliation.
    pub reconcile: bool,
}

/// One incremental window read as concurrent ranges of ts (wire: `window_parts`, these
/// fields inside the position's object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRanges {
    /// The window's first ts.
    pub from: i64,
    /// The window's end: its snapshot.
    #[serde(rename = "pinned")]
    pub at: i64,
    /// Where the deletions continue (a `remove`-events cursor, wire JSON); `None` = from
    /// `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletions: Option<String>,
    /// Every deletion up to `at` is committed (or none is read: not tracked, or a gap).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletions_done: bool,
    /// The changes' ranges of ts, in ts order, and their turns.
    #[serde(flatten)]
    pub rotation: Rotation,
    /// Over a history gap: no deletions read, then the reconciliation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconcile: bool,
}

/// An incremental sync's positions, after the stream's full read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowPosition {
    /// Inside a window read as one sequence.
    Window(Window),
    /// Inside a window read as concurrent ranges.
    Ranges(WindowRanges),
    /// A window over a history gap, its last phase: ids no longer live at `at` become
    /// deletions, in id order from `cursor` (wire: `gap_reconcile`).
    GapReconcile {
        /// The window's end.
        at: i64,
        /// Where to continue, wire JSON.
        cursor: Option<String>,
    },
    /// The window's expired documents (wire: `expire`).
    Expire {
        /// The window's end.
        at: i64,
        /// The reconciliation follows.
        reconcile: bool,
    },
    /// Between windows: everything up to `to` committed (wire: `synced`).
    Synced {
        /// The last window's end.
        to: i64,
    },
}

/// A stream's strategy and position, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A full read at a pinned snapshot.
    Snapshot(SnapshotPosition),
    /// A full read with the short-retention strategy, through the `[ts, ref]` index `index`.
    ScanCatchUp {
        /// The index the catch-up reads.
        index: String,
        /// Where the read stands.
        position: ScanPosition,
    },
    /// An incremental sync (whichever strategy read the stream first).
    Incremental(WindowPosition),
}

impl Phase {
    /// Whether the stream's full read is finished (and no window started yet).
    pub fn exported(&self) -> bool {
        matches!(
            self,
            Phase::Snapshot(SnapshotPosition::Done)
                | Phase::ScanCatchUp {
                    position: ScanPosition::Done,
                    ..
                }
        )
    }
}

/// A strategy's own position type: what it finds in a [`Phase`], and writes as a [`Position`].
pub trait OwnPosition: Into<Position> + Sized {
    /// The position, when the phase is this strategy's.
    fn of(phase: Phase) -> Option<Self>;
}

impl OwnPosition for SnapshotPosition {
    fn of(phase: Phase) -> Option<Self> {
        match phase {
            Phase::Snapshot(p) => Some(p),
            _ => None,
        }
    }
}

impl OwnPosition for ScanPosition {
    fn of(phase: Phase) -> Option<Self> {
        match phase {
            Phase::ScanCatchUp { position, .. } => Some(position),
            _ => None,
        }
    }
}

impl OwnPosition for WindowPosition {
    fn of(phase: Phase) -> Option<Self> {
        match phase {
            Phase::Incremental(p) => Some(p),
            _ => None,
        }
    }
}

/// A strategy and a position no strategy writes together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IllegalPosition {
    /// The strategy the stream names.
    pub strategy: Strategy,
    /// The position's wire name.
    pub position: &'static str,
    /// Why the pair cannot be.
    pub why: &'static str,
}

impl IllegalPosition {
    /// The refusal, naming the stream.
    pub fn of_stream(&self, stream: &str) -> String {
        format!("stream '{stream}' {self}")
    }
}

impl fmt::Display for IllegalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let strategy = match self.strategy {
            Strategy::Snapshot => "the pinned-snapshot strategy (snapshot)",
            Strategy::ScanCatchUp => "the short-retention strategy (scan_catch_up)",
        };
        write!(
            f,
            "names {strategy} but its position is '{}', {}",
            self.position, self.why
        )
    }
}

impl Strategy {
    /// The position a full read with this strategy starts at.
    pub fn start(self) -> Position {
        match self {
            Strategy::Snapshot => SnapshotPosition::Start.into(),
            Strategy::ScanCatchUp => ScanPosition::Start.into(),
        }
    }
}

impl Position {
    /// The position's wire name (its `at`).
    pub fn name(&self) -> &'static str {
        match self {
            Position::Start => "start",
            Position::After { .. } => "after",
            Position::CatchUp { .. } => "catch_up",
            Position::CatchUpParts { .. } => "catch_up_parts",
            Position::Reconcile { .. } => "reconcile",
            Position::Parts { .. } => "parts",
            Position::ScanParts { .. } => "scan_parts",
            Position::Done => "done",
            Position::Window { .. } => "window",
            Position::WindowParts { .. } => "window_parts",
            Position::GapReconcile { .. } => "gap_reconcile",
            Position::Expire { .. } => "expire",
            Position::Synced { .. } => "synced",
        }
    }
}

impl StreamState {
    /// The stream's strategy and position as the strategy's own position type, or why the
    /// pair cannot be.
    pub fn phase(&self) -> Result<Phase, IllegalPosition> {
        let illegal = |why| IllegalPosition {
            strategy: self.strategy,
            position: self.position.name(),
            why,
        };
        let p = self.position.clone();
        if let Some(window) = window_position(&p) {
            return Ok(Phase::Incremental(window));
        }
        match self.strategy {
            Strategy::Snapshot => Ok(Phase::Snapshot(match p {
                Position::Start => SnapshotPosition::Start,
                Position::After { cursor } => SnapshotPosition::After(cursor),
                Position::Parts { rotation } => SnapshotPosition::Ranges(rotation),
                Position::Done => SnapshotPosition::Done,
                _ => return Err(illegal("which only the short-retention strategy writes")),
            })),
            Strategy::ScanCatchUp => {
                let position = match p {
                    Position::Start => ScanPosition::Start,
                    Position::After { cursor } => ScanPosition::After(cursor),
                    Position::ScanParts { rotation } => ScanPosition::Ranges(rotation),
                    Position::CatchUp { since, at, cursor } => {
                        ScanPosition::CatchUp { since, at, cursor }
                    }
                    Position::CatchUpParts {
                        since,
                        at,
                        rotation,
                    } => ScanPosition::CatchUpRanges {
                        since,
                        at,
                        rotation,
                    },
                    Position::Reconcile { at, cursor } => ScanPosition::Reconcile { at, cursor },
                    Position::Done => ScanPosition::Done,
                    _ => return Err(illegal("which only the pinned-snapshot strategy writes")),
                };
                let index = self.index.clone().ok_or_else(|| {
                    illegal("and no [ts, ref] index is named for its catch-up (\"index\")")
                })?;
                Ok(Phase::ScanCatchUp { index, position })
            }
        }
    }
}

/// The incremental position `p` is, if it is one.
fn window_position(p: &Position) -> Option<WindowPosition> {
    Some(match p.clone() {
        Position::Window {
            from,
            at,
            cursor,
            reconcile,
        } => WindowPosition::Window(Window {
            from,
            at,
            cursor,
            reconcile,
        }),
        Position::WindowParts { window } => WindowPosition::Ranges(window),
        Position::GapReconcile { at, cursor } => WindowPosition::GapReconcile { at, cursor },
        Position::Expire { at, reconcile } => WindowPosition::Expire { at, reconcile },
        Position::Synced { to } => WindowPosition::Synced { to },
        _ => return None,
    })
}

impl From<SnapshotPosition> for Position {
    fn from(p: SnapshotPosition) -> Position {
        match p {
            SnapshotPosition::Start => Position::Start,
            SnapshotPosition::After(cursor) => Position::After { cursor },
            SnapshotPosition::Ranges(rotation) => Position::Parts { rotation },
            SnapshotPosition::Done => Position::Done,
        }
    }
}

impl From<ScanPosition> for Position {
    fn from(p: ScanPosition) -> Position {
        match p {
            ScanPosition::Start => Position::Start,
            ScanPosition::After(cursor) => Position::After { cursor },
            ScanPosition::Ranges(rotation) => Position::ScanParts { rotation },
            ScanPosition::CatchUp { since, at, cursor } => Position::CatchUp { since, at, cursor },
            ScanPosition::CatchUpRanges {
                since,
                at,
                rotation,
            } => Position::CatchUpParts {
                since,
                at,
                rotation,
            },
            ScanPosition::Reconcile { at, cursor } => Position::Reconcile { at, cursor },
            ScanPosition::Done => Position::Done,
        }
    }
}

impl From<WindowPosition> for Position {
    fn from(p: WindowPosition) -> Position {
        match p {
            WindowPosition::Window(Window {
                from,
                at,
                cursor,
                reconcile,
            }) => Position::Window {
                from,
                at,
                cursor,
                reconcile,
            },
            WindowPosition::Ranges(window) => Position::WindowParts { window },
            WindowPosition::GapReconcile { at, cursor } => Position::GapReconcile { at, cursor },
            WindowPosition::Expire { at, reconcile } => Position::Expire { at, reconcile },
            WindowPosition::Synced { to } => Position::Synced { to },
        }
    }
}

/// Checks every stream's strategy and position when a state is read: a pair no strategy
/// writes is refused, naming the stream, its strategy and its position.
pub(super) fn check_streams<'de, D>(
    d: D,
) -> Result<std::collections::BTreeMap<String, StreamState>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let streams: std::collections::BTreeMap<String, StreamState> =
        serde::Deserialize::deserialize(d)?;
    for (name, s) in &streams {
        if let Err(e) = s.phase() {
            return Err(serde::de::Error::custom(e.of_stream(name)));
        }
    }
    Ok(streams)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(strategy: Strategy, position: Position, index: Option<&str>) -> StreamState {
        StreamState {
            strategy,
            position,
            index: index.map(str::to_string),
            ..StreamState::new(1, "jsonl")
        }
    }

    #[test]
    fn every_legal_pair_converts_back_to_the_same_wire_position() {
        let part = RangePosition {
            cursor: Some("c".into()),
            ..RangePosition::default()
        };
        let snapshot = [
            Position::Start,
            Position::After { cursor: "c".into() },
            Position::Parts {
                rotation: Rotation {
                    ranges: vec![part.clone()],
                    turn: 0,
                    taken: 3,
                },
            },
            Position::Done,
        ];
        let scan = [
            Position::Start,
            Position::After { cursor: "c".into() },
            Position::ScanParts {
                rotation: Rotation {
                    ranges: vec![part.clone()],
                    turn: 0,
                    taken: 3,
                },
            },
            Position::CatchUp {
                since: 1,
                at: None,
                cursor: None,
            },
            Position::CatchUpParts {
                since: 1,
                at: 2,
                rotation: Rotation {
                    ranges: vec![part.clone()],
                    turn: 0,
                    taken: 5,
                },
            },
            Position::Reconcile {
                at: 2,
                cursor: Some("c".into()),
            },
            Position::Done,
        ];
        let windows = [
            Position::Window {
                from: 1,
                at: 2,
                cursor: None,
                reconcile: true,
            },
            Position::WindowParts {
                window: WindowRanges {
                    from: 1,
                    at: 2,
                    deletions: Some("d".into()),
                    deletions_done: false,
                    rotation: Rotation {
                        ranges: vec![part],
                        turn: 0,
                        taken: 0,
                    },
                    reconcile: false,
                },
            },
            Position::GapReconcile {
                at: 2,
                cursor: None,
            },
            Position::Expire {
                at: 2,
                reconcile: false,
            },
            Position::Synced { to: 2 },
        ];
        for p in snapshot.iter().chain(&windows) {
            let Ok(Phase::Snapshot(own)) = stream(Strategy::Snapshot, p.clone(), None).phase()
            else {
                let phase = stream(Strategy::Snapshot, p.clone(), None).phase();
                assert!(matches!(phase, Ok(Phase::Incremental(_))), "{p:?}");
                continue;
            };
            assert_eq!(Position::from(own), *p);
        }
        for p in scan.iter().chain(&windows) {
            match stream(Strategy::ScanCatchUp, p.clone(), Some("i")).phase() {
                Ok(Phase::ScanCatchUp { index, position }) => {
                    assert_eq!(index, "i");
                    assert_eq!(Position::from(position), *p);
                }
                Ok(Phase::Incremental(w)) => assert_eq!(Position::from(w), *p),
                other => panic!("{p:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_illegal_pair_is_refused_naming_the_stream_strategy_and_position() {
        let e = stream(
            Strategy::Snapshot,
            Position::Reconcile {
                at: 1,
                cursor: None,
            },
            None,
        )
        .phase()
        .unwrap_err();
        assert_eq!(
            e.of_stream("things"),
            "stream 'things' names the pinned-snapshot strategy (snapshot) but its position is 'reconcile', which only the short-retention strategy writes"
        );
        let parts = Position::Parts {
            rotation: Rotation {
                ranges: vec![],
                turn: 0,
                taken: 0,
            },
        };
        let e = stream(Strategy::ScanCatchUp, parts, Some("i"))
            .phase()
            .unwrap_err();
        assert_eq!(
            e.of_stream("events"),
            "stream 'events' names the short-retention strategy (scan_catch_up) but its position is 'parts', which only the pinned-snapshot strategy writes"
        );
        let catch_up_parts = Position::CatchUpParts {
            since: 1,
            at: 2,
            rotation: Rotation {
                ranges: vec![],
                turn: 0,
                taken: 0,
            },
        };
        let e = stream(Strategy::Snapshot, catch_up_parts, None)
            .phase()
            .unwrap_err();
        assert_eq!(
            e.of_stream("things"),
            "stream 'things' names the pinned-snapshot strategy (snapshot) but its position is 'catch_up_parts', which only the short-retention strategy writes"
        );
        let e = stream(Strategy::ScanCatchUp, Position::Start, None)
            .phase()
            .unwrap_err();
        assert_eq!(
            e.of_stream("events"),
            "stream 'events' names the short-retention strategy (scan_catch_up) but its position is 'start', and no [ts, ref] index is named for its catch-up (\"index\")"
        );
    }
}
