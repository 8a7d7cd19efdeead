//! Writes of databases and keys: `Update`/`Replace`/`Delete` of `Database(…)`, `Delete` of a
//! key. Deleting a database deletes everything in it, its children included.

use std::rc::Rc;
use std::sync::Arc;

use fauna_wire::{Object, Ref, Value};

use crate::engine::databases::valid_name;
use crate::engine::error::{denied, err, R};
use crate::engine::eval::{Ev, Undo};
use crate::engine::forms::write::merge;
use crate::engine::parse::{NodeId, F};
use crate::engine::schema::Resource;
use crate::engine::security::Act;
use crate::engine::store::{Action, Version};
use crate::engine::val::{DocV, Val};

fn doc(r: &Ref, ts: i64, action: Action, fields: Object) -> Val {
    Val::Doc(Rc::new(DocV {
        r: r.clone(),
        v: Arc::new(Version::new(ts, action, fields)),
        created: false,
    }))
}

impl Ev<'_> {
    /// `Update`, `Replace` or `Delete` of a child database.
    pub fn write_database(&mut self, n: NodeId, f: F, r: &Ref, p: &Object) -> R<Val> {
        let act = if f == F::Delete {
            Act::Delete
        } else {
            Act::Write
        };
        if !self.allows(&Resource::Native("databases".into()), act) {
            return Err(denied(n));
        }
        let not_found = || err(n, "instance not found", "Database not found.");
        let Some(i) = self.st().db_pos(&r.id) else {
            return not_found();
        };
        let ts = self.txn_ts;
        let old = self.st().dbs[i].def.clone();
        let keys = self.st().keys.clone();
        if f == F::Delete {
            let st = self.st_mut(n)?;
            let events = st.db_events.len();
            st.db_events.push((ts, 0, old.global_id, old.name.clone()));
            let gone = st.dbs.remove(i);
            // Keys for the database go with it (the server's keys would point at nothing).
            st.keys
                .retain(|k| k.database.as_deref() != Some(old.name.as_str()));
            self.push_undo(Undo::InsertDb(i, Box::new(gone)));
            self.push_undo(Undo::Keys(keys));
            self.push_undo(Undo::DbEvents(events));
            return Ok(doc(r, old.ts, Action::Create, old.fields()));
        }
        let mut def = old.clone();
        def.ts = ts;
        if let Some(v) = p.get("name") {
            let Value::String(name) = v else {
                return err(n, "validation failed", "document data is not valid.");
            };
            if !valid_name(name) {
                return err(n, "validation failed", "document data is not valid.");
            }
            if *name != old.name && self.st().db(name).is_some() {
                return err(n, "instance already exists", "Database already exists.");
            }
            def.name = name.clone();
        }
        def.data = match (f, p.get("data"), &old.data) {
            (_, Some(Value::Null), _) => None,
            (F::Update, Some(Value::Object(d)), Some(Value::Object(b))) => {
                let mut merged = b.clone();
                merge(&mut merged, d);
                Some(Value::Object(merged))
            }
            (_, Some(Value::Object(d)), _) => {
                let mut fresh = Object::default();
                merge(&mut fresh, d);
                Some(Value::Object(fresh))
            }
            (_, Some(_), _) => return err(n, "validation failed", "document data is not valid."),
            (F::Update, None, d) => d.clone(),
            (_, None, _) => None,
        };
        let fields = def.fields();
        let renamed = (def.name != old.name).then(|| (old.name.clone(), def.name.clone()));
        let out = Ref::in_native("databases", &def.name);
        let st = self.st_mut(n)?;
        st.dbs[i].def = def;
        if let Some((from, to)) = renamed {
            for k in &mut st.keys {
                if k.database.as_deref() == Some(from.as_str()) {
                    k.database = Some(to.clone());
                }
            }
        }
        self.push_undo(Undo::DbDef(i, old));
        self.push_undo(Undo::Keys(keys));
        Ok(doc(&out, ts, Action::Update, fields))
    }

    /// `Delete` of a key: its secret stops working.
    pub fn delete_key(&mut self, n: NodeId, r: &Ref) -> R<Val> {
        if !self.allows(&Resource::Native("keys".into()), Act::Delete) {
            return Err(denied(n));
        }
        let Some(i) = self.st().keys.iter().position(|k| k.id.to_string() == r.id) else {
            return err(n, "instance not found", "Key not found.");
        };
        let keys = self.st().keys.clone();
        let key = self.st_mut(n)?.keys.remove(i);
        self.push_undo(Undo::Keys(keys));
        Ok(doc(r, key.ts, Action::Create, key.fields()))
    }
}
