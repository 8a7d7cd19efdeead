//! Child databases: their definitions, the tree of states, and the scope a ref lives in.
//!
//! Every database owns a whole [`State`] (collections, indexes, roles, keys, its own children).
//! A query runs in one database (the key's); refs into its descendants carry a `database`
//! ref chain, as the real server renders them (`Renderable.scopeRef`): on a schema ref itself,
//! on a document ref's collection ref.

use fauna_wire::{Object, Ref, Value};

use super::store::State;

/// A child database's definition.
#[derive(Clone, Debug)]
pub struct DbDef {
    /// Name (also the ref id), unique among its siblings.
    pub name: String,
    /// Time of the last write.
    pub ts: i64,
    /// User data.
    pub data: Option<Value>,
    /// The global id (rendered z-base-32 as `global_id`).
    pub global_id: i64,
}

impl DbDef {
    /// The stored fields, in render order (`name`, `data`, `global_id`).
    pub fn fields(&self) -> Object {
        let mut o = Object::default();
        o.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        o.insert(
            "global_id".into(),
            Value::String(encode_global_id(self.global_id)),
        );
        o
    }
}

/// A child database with everything in it.
#[derive(Clone, Debug)]
pub struct DbData {
    /// Definition.
    pub def: DbDef,
    /// Its contents.
    pub state: State,
}

/// The real server's `ZBase32.encodeLong`: 13 characters, high bits first.
pub fn encode_global_id(id: i64) -> String {
    const TABLE: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";
    let bits = id as u64;
    let mut out = String::with_capacity(13);
    for shift in (4..=59).rev().step_by(5) {
        out.push(TABLE[((bits >> shift) & 0x1f) as usize] as char);
    }
    out.push(TABLE[((bits << 1) & 0x1f) as usize] as char);
    out
}

/// True if `name` is a valid schema name (`Parsing.Name.isValid`): word characters and
/// `;@+$-_.!~%`, not the reserved `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "_"
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || ";@+$-_.!~%".contains(c))
}

impl State {
    /// The position of the child database `name`.
    pub fn db_pos(&self, name: &str) -> Option<usize> {
        self.dbs.iter().position(|d| d.def.name == name)
    }

    /// The child database `name`.
    pub fn db(&self, name: &str) -> Option<&DbData> {
        self.dbs.iter().find(|d| d.def.name == name)
    }

    /// The descendant state at `path` (this one for an empty path).
    pub fn sub(&self, path: &[String]) -> Option<&State> {
        let mut st = self;
        for name in path {
            st = &st.db(name)?.state;
        }
        Some(st)
    }

    /// The descendant state at `path`, for writing.
    pub fn sub_mut(&mut self, path: &[String]) -> Option<&mut State> {
        let mut st = self;
        for name in path {
            let i = st.db_pos(name)?;
            st = &mut st.dbs[i].state;
        }
        Some(st)
    }
}

/// The path of a database ref, outermost first: `Database("b", Database("a"))` → `[a, b]`.
pub fn db_path(db: &Ref) -> Vec<String> {
    let mut path = vec![db.id.clone()];
    let mut cur = db.database.as_deref();
    while let Some(d) = cur {
        path.push(d.id.clone());
        cur = d.database.as_deref();
    }
    path.reverse();
    path
}

/// The ref of the database at `path` (non-empty), each level scoped by its parent.
pub fn db_ref(path: &[String]) -> Option<Ref> {
    let mut out: Option<Ref> = None;
    for name in path {
        let mut r = Ref::in_native("databases", name);
        r.database = out.map(Box::new);
        out = Some(r);
    }
    out
}

/// The database a ref lives in, relative to the request's: the `database` of a schema or
/// native ref, of a document ref's collection.
pub fn scope_of(r: &Ref) -> Vec<String> {
    let db = match r.collection.as_deref() {
        Some(c) if c.collection.is_some() => c.database.as_deref(),
        _ => r.database.as_deref(),
    };
    db.map(db_path).unwrap_or_default()
}

/// `r` (as seen from inside the database at `path`) as seen from the request's database.
pub fn scoped(mut r: Ref, path: &[String]) -> Ref {
    if path.is_empty() {
        return r;
    }
    let mut full = path.to_vec();
    full.extend(scope_of(&r));
    let db = db_ref(&full).map(Box::new);
    match r.collection.as_deref_mut() {
        Some(c) if c.collection.is_some() => c.database = db,
        _ => r.database = db,
    }
    r
}

/// `r` with its scope removed (as seen from inside its own database).
pub fn unscoped(mut r: Ref) -> Ref {
    match r.collection.as_deref_mut() {
        Some(c) if c.collection.is_some() => c.database = None,
        _ => r.database = None,
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_encode_like_the_server() {
        assert_eq!(encode_global_id(0), "yyyyyyyyyyyyy");
        assert_eq!(encode_global_id(1), "yyyyyyyyyyyyn");
        assert_eq!(encode_global_id(-1), "9999999999996");
    }

    #[test]
    fn scopes_round_trip() {
        let path = vec!["a".to_string(), "b".to_string()];
        let doc = scoped(Ref::document("users", "1"), &path);
        assert_eq!(scope_of(&doc), path);
        assert_eq!(unscoped(doc), Ref::document("users", "1"));
        let coll = scoped(Ref::collection("users"), &path);
        assert_eq!(scope_of(&coll), path);
        let native = scoped(Ref::native("collections"), &path);
        assert_eq!(scope_of(&native), path);
        assert!(native.collection.is_none());
        let db = db_ref(&path).map(|r| db_path(&r));
        assert_eq!(db, Some(path));
    }
}
