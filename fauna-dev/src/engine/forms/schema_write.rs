//! Schema writes: `CreateCollection`, `CreateIndex`, `CreateRole`, `CreateKey`,
//! `CreateDatabase`.

use std::rc::Rc;
use std::sync::Arc;

use fauna_wire::{Object, Ref, Value};

use crate::engine::databases::{valid_name, DbData, DbDef};
use crate::engine::error::{denied, err, expected, R};
use crate::engine::eval::{Ev, Undo};
use crate::engine::parse::{value_type, NodeId, F};
use crate::engine::schema::{
    parse_privileges, CollDef, IndexDef, KeyDef, KeyRole, Resource, RoleDef,
};
use crate::engine::security::Act;
use crate::engine::store::{Action, Version};
use crate::engine::val::{DocV, Env, Val};

/// Makes a key secret the way the server does: `fn` + url-safe base64 of a tagged id and
/// random bytes.
pub fn make_secret(id: i64) -> (String, String) {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let mut bytes = vec![126u8, 112];
    bytes.extend_from_slice(&id.to_be_bytes());
    let rnd: [u8; 20] = rand::random();
    bytes.extend_from_slice(&rnd);
    let secret = URL_SAFE_NO_PAD.encode(&bytes);
    let salt: [u8; 16] = rand::random();
    let hashed = format!("$2a$05${}", STANDARD_NO_PAD.encode(salt));
    (secret, hashed)
}

fn name_of(p: &Object, node: NodeId) -> R<String> {
    match p.get("name") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(other) => expected(node, "String", value_type(other)),
        None => err(node, "validation failed", "document data is not valid."),
    }
}

impl Ev<'_> {
    /// Evaluates the schema write forms.
    pub fn schema_write(
        &mut self,
        n: NodeId,
        f: F,
        args: &[(&'static str, NodeId)],
        env: &Env,
    ) -> R<Val> {
        let (pv, pnode) = self.main_arg(n, f, args, env)?;
        let pv = pv.to_value();
        let Value::Object(p) = pv else {
            return expected(pnode, "Object", value_type(&pv));
        };
        let native = match f {
            F::CreateCollection => "collections",
            F::CreateIndex => "indexes",
            F::CreateRole => "roles",
            F::CreateDatabase => "databases",
            _ => "keys",
        };
        // `CreateInstance` on the native collection (`Permissions`): server keys may create
        // collections and indexes, not databases, keys or roles.
        if !self.allows(&Resource::Native(native.into()), Act::Create) {
            return Err(denied(pnode));
        }
        let ts = self.txn_ts;
        let data = p.get("data").filter(|d| **d != Value::Null).cloned();
        let (r, fields, extra) = match f {
            F::CreateCollection => {
                let name = name_of(&p, n)?;
                if self.st().coll(&name).is_some() {
                    return err(
                        pnode,
                        "instance already exists",
                        "Collection already exists.",
                    );
                }
                let def = CollDef {
                    name: name.clone(),
                    ts,
                    history_days: match p.get("history_days") {
                        Some(Value::Null) => None,
                        Some(v) => Some(v.as_i64().unwrap_or(0)),
                        None => Some(0),
                    },
                    ttl_days: p.get("ttl_days").and_then(Value::as_i64),
                    data,
                };
                let fields = def.fields();
                self.st_mut(n)?.add_collection(def);
                self.push_undo(Undo::PopColl);
                (Ref::collection(&name), fields, None)
            }
            F::CreateIndex => {
                let name = name_of(&p, n)?;
                if self.st().index(&name).is_some() {
                    return err(pnode, "instance already exists", "Index already exists.");
                }
                let source_raw = p.get("source").cloned().unwrap_or(Value::Null);
                let refs: Vec<&Value> = match &source_raw {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                let mut source = Vec::new();
                for s in refs {
                    match s {
                        Value::Ref(r) if r.native_parent() == Some("collections") => {
                            if self.st().coll(&r.id).is_none() {
                                return err(
                                    n,
                                    "invalid ref",
                                    format!("Ref refers to undefined collection '{}'", r.id),
                                );
                            }
                            source.push(r.id.clone());
                        }
                        Value::Object(o) if o.contains_key("collection") => {
                            match o.get("collection") {
                                Some(Value::Ref(r)) => source.push(r.id.clone()),
                                _ => {
                                    return err(
                                        n,
                                        "validation failed",
                                        "document data is not valid.",
                                    )
                                }
                            }
                        }
                        _ => return err(n, "validation failed", "document data is not valid."),
                    }
                }
                let Ok(def) = IndexDef::from_params(name.clone(), ts, source, source_raw, &p, data)
                else {
                    return err(n, "validation failed", "document data is not valid.");
                };
                let fields = def.fields();
                self.st_mut(n)?.add_index(def);
                self.push_undo(Undo::PopIndex);
                (Ref::index(&name), fields, None)
            }
            F::CreateDatabase => {
                let name = name_of(&p, n)?;
                if !valid_name(&name) {
                    return err(n, "validation failed", "document data is not valid.");
                }
                if self.st().db(&name).is_some() {
                    return err(pnode, "instance already exists", "Database already exists.");
                }
                let def = DbDef {
                    name: name.clone(),
                    ts,
                    data,
                    global_id: self.ids.next(),
                };
                let fields = def.fields();
                let st = self.st_mut(n)?;
                let events = st.db_events.len();
                st.db_events.push((ts, 1, def.global_id, name.clone()));
                st.dbs.push(DbData {
                    def,
                    state: Default::default(),
                });
                self.push_undo(Undo::PopDb);
                self.push_undo(Undo::DbEvents(events));
                (Ref::in_native("databases", &name), fields, None)
            }
            F::CreateRole => {
                let name = name_of(&p, n)?;
                if self.st().roles.iter().any(|r| r.name == name) {
                    return err(pnode, "instance already exists", "Role already exists.");
                }
                let raw = p
                    .get("privileges")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new()));
                let Some(privileges) = parse_privileges(&raw) else {
                    return err(n, "validation failed", "document data is not valid.");
                };
                let def = RoleDef {
                    name: name.clone(),
                    ts,
                    privileges,
                    privileges_raw: raw,
                    membership: p.get("membership").cloned(),
                    data,
                };
                let fields = def.fields();
                self.st_mut(n)?.roles.push(def);
                self.push_undo(Undo::PopRole);
                (Ref::in_native("roles", &name), fields, None)
            }
            _ => {
                let role = match p.get("role") {
                    Some(Value::String(s)) => match KeyRole::builtin(s) {
                        Some(r) => r,
                        None => return err(n, "validation failed", "document data is not valid."),
                    },
                    Some(Value::Ref(r)) if r.native_parent() == Some("roles") => {
                        self.check_ref_defined(r, pnode)?;
                        KeyRole::Roles(vec![r.id.clone()])
                    }
                    Some(Value::Array(a)) => {
                        let mut names = Vec::new();
                        for x in a {
                            match x {
                                Value::Ref(r) if r.native_parent() == Some("roles") => {
                                    self.check_ref_defined(r, pnode)?;
                                    names.push(r.id.clone());
                                }
                                _ => {
                                    return err(
                                        n,
                                        "validation failed",
                                        "document data is not valid.",
                                    )
                                }
                            }
                        }
                        KeyRole::Roles(names)
                    }
                    _ => return err(n, "validation failed", "document data is not valid."),
                };
                let database = match p.get("database") {
                    None | Some(Value::Null) => None,
                    Some(Value::Ref(r))
                        if r.native_parent() == Some("databases")
                            && r.database.is_none()
                            && self.st().db(&r.id).is_some() =>
                    {
                        Some(r.id.clone())
                    }
                    Some(_) => return err(n, "validation failed", "document data is not valid."),
                };
                let id = self.ids.next();
                let (secret, hashed_secret) = make_secret(id);
                let def = KeyDef {
                    id,
                    ts,
                    role,
                    secret: secret.clone(),
                    hashed_secret,
                    database,
                    data,
                };
                let fields = def.fields();
                self.st_mut(n)?.keys.push(def);
                self.push_undo(Undo::PopKey);
                (
                    Ref::in_native("keys", &id.to_string()),
                    fields,
                    Some(secret),
                )
            }
        };
        let mut fields = fields;
        if let Some(secret) = extra {
            // The secret is shown once, right after `role`.
            let mut with = Object::default();
            for (k, v) in fields {
                let is_role = k == "role";
                with.insert(k, v);
                if is_role {
                    with.insert("secret".into(), Value::String(secret.clone()));
                }
            }
            fields = with;
        }
        self.meter.write(crate::engine::meter::doc_bytes(&fields));
        Ok(Val::Doc(Rc::new(DocV {
            r,
            v: Arc::new(Version::new(ts, Action::Create, fields)),
            created: true,
        })))
    }
}
