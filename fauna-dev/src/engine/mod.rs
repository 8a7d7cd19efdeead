//! The transport-free database engine. See the crate docs.
//!
//! Interface contract with [`crate::server`] (keep it stable; extend, don't break):
//! `Engine::new(EngineOptions)`, `Engine::execute(&Request) -> Response`,
//! `Engine::load_dataset(&Path)`, `Engine::save_snapshot(&Path)`, `Engine::load_snapshot(&Path)`.

mod clock;
mod collation;
mod cursor;
mod databases;
mod dataset;
mod error;
mod escapes;
mod eval;
mod events;
mod fields;
mod filter;
mod forms;
mod ids;
mod index;
mod meter;
mod order;
mod paginate;
mod parse;
mod predicates;
mod render;
mod schema;
mod scope;
mod secrets;
mod security;
mod select;
mod sets;
mod snapshot;
mod store;
mod val;

use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use clock::Clock;
use error::{At, Failure, QueryError};
use eval::{Ev, St};
use ids::IdSource;
use meter::Meter;
use schema::KeyRole;
use secrets::AuthScope;
use security::Identity;
use store::State;
use val::{Env, Val};

/// Settings of an engine.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The root (admin) secret.
    pub root_secret: String,
    /// How far below `now - history_days` snapshot reads stay valid (real server: 15 minutes).
    pub mvt_offset: Duration,
    /// The length of one `history_days` day (real server: 24 hours); tests shrink it.
    pub day_length: Duration,
    /// Time every query spends evaluating before it runs: counted against `X-Query-Timeout`
    /// (and in `x-query-time`), so timeouts can be reproduced without slow queries.
    pub eval_delay: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            root_secret: "secret".into(),
            mvt_offset: Duration::from_secs(15 * 60),
            day_length: Duration::from_secs(86_400),
            eval_delay: Duration::ZERO,
        }
    }
}

/// One query, as the transport hands it over.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The secret from the `Authorization` header (already decoded), if any.
    pub secret: Option<&'a str>,
    /// The whole request body: the query expression.
    pub body: &'a [u8],
    /// `X-Last-Seen-Txn`, validated by the transport.
    pub last_seen_txn: Option<i64>,
    /// `X-FaunaDB-API-Version`, validated by the transport (`"4"`, `"2.1"`, …).
    pub api_version: &'a str,
    /// Evaluate in a read-only context (`GET /?q=`): writes fail with `invalid expression`.
    pub read_only: bool,
    /// When the query times out (`X-Query-Timeout` after the request arrived); `None`: never.
    pub deadline: Option<Instant>,
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`{"resource": …}` or `{"errors": […]}`).
    pub body: String,
    /// `x-txn-time`: the transaction or snapshot time in microseconds.
    pub txn_time: i64,
    /// Billing-style metrics for the `x-*-ops` headers.
    pub metrics: Metrics,
}

/// Figures for the metric response headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// `x-compute-ops`.
    pub compute_ops: u64,
    /// `x-byte-read-ops`.
    pub byte_read_ops: u64,
    /// `x-byte-write-ops`.
    pub byte_write_ops: u64,
    /// `x-storage-bytes-read`.
    pub storage_bytes_read: u64,
    /// `x-storage-bytes-write`.
    pub storage_bytes_write: u64,
}

/// The database engine: in-memory state behind a read/write lock, the clock and id source.
pub struct Engine {
    opts: EngineOptions,
    state: RwLock<State>,
    clock: Clock,
    ids: IdSource,
}

const UNAUTHORIZED: &str = r#"{"errors":[{"code":"unauthorized","description":"Unauthorized"}]}"#;

/// Who is asking, and the path of the database the query runs in. `None`: unauthorized
/// (unknown secret, a scope on a non-admin key, a scope naming no database or role).
fn identify(
    opts: &EngineOptions,
    st: &State,
    secret: Option<&str>,
) -> Option<(Identity, Vec<String>)> {
    let whole = secret?;
    // A configured secret the scope grammar would split (say, one with a `:` or `/`) still
    // works as it is.
    let (secret, scope) = if whole == opts.root_secret || secrets::find_key(st, whole).is_some() {
        (whole, AuthScope::Null)
    } else {
        secrets::parse(whole)?
    };
    let (role, mut path, may_scope) = if secret == opts.root_secret {
        (KeyRole::Admin, Vec::new(), true)
    } else {
        let (k, mut path) = secrets::find_key(st, secret)?;
        path.extend(k.database.iter().cloned());
        (k.role.clone(), path, k.role == KeyRole::Admin)
    };
    let role = match scope {
        AuthScope::Null => role,
        _ if !may_scope => return None,
        AuthScope::Builtin(r, sub) => {
            path.extend(sub);
            r
        }
        AuthScope::Custom(name, sub) => {
            path.extend(sub);
            st.sub(&path)?.roles.iter().find(|r| r.name == name)?;
            KeyRole::Roles(vec![name])
        }
        AuthScope::Doc => return None,
    };
    st.sub(&path)?;
    Some((Identity(role), path))
}

impl Engine {
    /// A fresh, empty engine.
    pub fn new(opts: EngineOptions) -> Self {
        Engine {
            opts,
            state: RwLock::new(State::default()),
            clock: Clock::default(),
            ids: IdSource::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Evaluates one query.
    pub fn execute(&self, req: &Request<'_>) -> Response {
        let legacy = matches!(req.api_version, "2.0" | "2.1");
        let parsed = if req.body.iter().all(u8::is_ascii_whitespace) {
            Err(query_failure("No query provided."))
        } else {
            match fauna_wire::decode_json(req.body) {
                Ok(v) => parse::parse(&v),
                Err(_) => Err(query_failure("Request body is not valid JSON.")),
            }
        };
        if !self.opts.eval_delay.is_zero() {
            std::thread::sleep(self.opts.eval_delay);
        }
        let ast = match parsed {
            Ok(a) => a,
            Err(f) => {
                // Authentication still comes first.
                let st = self.read();
                if identify(&self.opts, &st, req.secret).is_none() {
                    return self.unauthorized();
                }
                let ts = self.clock.read_time();
                return self.failure(&f, None, ts, Meter::default().metrics());
            }
        };
        if ast.has_writes && !req.read_only {
            let mut guard = self.write();
            let Some((ident, path)) = identify(&self.opts, &guard, req.secret) else {
                return self.unauthorized();
            };
            let Some(db) = guard.sub_mut(&path) else {
                return self.unauthorized();
            };
            let ts = self.clock.write_time();
            let meter = Meter::default();
            let mut ev = self.ev(&ast, St::W(db), &ident, ts, legacy, &meter);
            ev.deadline = req.deadline;
            // A write that ran out of time is not committed.
            let res = ev
                .eval(0, &Env::None)
                .and_then(|v| ev.check_deadline().map(|()| v));
            match res {
                Ok(v) => {
                    let wrote = !ev.undo.is_empty();
                    drop(ev);
                    if wrote {
                        self.clock.commit(ts);
                    }
                    self.success(&v, ts, legacy, meter.metrics())
                }
                Err(f) => {
                    ev.rollback();
                    drop(ev);
                    // Rolled-back writes are not billed.
                    let metrics = Metrics {
                        byte_write_ops: 0,
                        storage_bytes_write: 0,
                        ..meter.metrics()
                    };
                    self.failure(&f, Some(&ast), ts, metrics)
                }
            }
        } else {
            let guard = self.read();
            let Some((ident, path)) = identify(&self.opts, &guard, req.secret) else {
                return self.unauthorized();
            };
            let Some(db) = guard.sub(&path) else {
                return self.unauthorized();
            };
            let ts = self.clock.read_time();
            let meter = Meter::default();
            let mut ev = self.ev(&ast, St::R(db), &ident, ts, legacy, &meter);
            ev.deadline = req.deadline;
            ev.read_only = req.read_only;
            match ev.eval(0, &Env::None) {
                Ok(v) => self.success(&v, ts, legacy, meter.metrics()),
                Err(f) => self.failure(&f, Some(&ast), ts, meter.metrics()),
            }
        }
    }

    fn ev<'a>(
        &'a self,
        ast: &'a parse::Ast,
        st: St<'a>,
        ident: &'a Identity,
        ts: i64,
        legacy: bool,
        meter: &'a Meter,
    ) -> Ev<'a> {
        Ev {
            ast,
            st,
            opts: &self.opts,
            ids: &self.ids,
            ident,
            txn_ts: ts,
            valid_ts: None,
            legacy,
            undo: Vec::new(),
            last_missing_kind: None,
            read_only: false,
            deadline: None,
            steps: 0,
            meter,
            scope: Vec::new(),
        }
    }

    fn unauthorized(&self) -> Response {
        Response {
            status: 401,
            body: UNAUTHORIZED.to_string(),
            txn_time: self.clock.last_write(),
            metrics: Metrics::default(),
        }
    }

    fn success(&self, v: &Val, ts: i64, legacy: bool, metrics: Metrics) -> Response {
        let mut body = String::with_capacity(16 + render::size_hint(v));
        body.push_str(r#"{"resource":"#);
        render::render(&mut body, v, legacy);
        body.push('}');
        let status = match v {
            Val::Doc(d) if d.created => 201,
            _ => 200,
        };
        Response {
            status,
            body,
            txn_time: ts,
            metrics,
        }
    }

    fn failure(
        &self,
        f: &Failure,
        ast: Option<&parse::Ast>,
        ts: i64,
        metrics: Metrics,
    ) -> Response {
        let body = f.render(ast);
        Response {
            status: f.status(),
            metrics,
            body,
            txn_time: ts,
        }
    }

    /// Moves the engine's clock `by` ahead of the wall clock: snapshots, history windows and
    /// ttls age as if that much time had passed (tests use it instead of sleeping).
    pub fn advance_clock(&self, by: Duration) {
        self.clock
            .advance(i64::try_from(by.as_micros()).unwrap_or(i64::MAX));
    }

    /// Loads a dataset folder (see `spec/fauna-dev-dataset.md`).
    pub fn load_dataset(&self, dir: &Path) -> anyhow::Result<()> {
        let mut guard = self.write();
        let now = self.clock.now().max(self.clock.last_write());
        let mut st = guard.clone();
        let max_ts = dataset::load_dir(&mut st, dir, now)?;
        *guard = st;
        self.clock.commit(max_ts.max(self.clock.last_write()));
        Ok(())
    }

    /// Saves the whole state (schema, keys, every version, the clock) to a snapshot file.
    pub fn save_snapshot(&self, path: &Path) -> anyhow::Result<()> {
        let guard = self.read();
        snapshot::save(&guard, self.clock.last_write(), path)?;
        Ok(())
    }

    /// Replaces the state with a snapshot file's.
    pub fn load_snapshot(&self, path: &Path) -> anyhow::Result<()> {
        let (st, clock) = snapshot::load(path)?;
        let mut guard = self.write();
        *guard = st;
        self.clock.commit(clock);
        Ok(())
    }
}

fn query_failure(description: &str) -> Failure {
    Failure::Query(vec![QueryError {
        code: "invalid expression",
        description: description.to_string(),
        at: At::Path(Vec::new()),
        parse: true,
    }])
}
