//! Schema items: collections, indexes, roles and keys, and their document renderings.

use fauna_wire::{Object, Ref, Value};

/// A user collection's definition.
#[derive(Clone, Debug)]
pub struct CollDef {
    /// Name (also the ref id).
    pub name: String,
    /// Time of the last schema write.
    pub ts: i64,
    /// History retention in days; `None` = forever.
    pub history_days: Option<i64>,
    /// Default document TTL in days.
    pub ttl_days: Option<i64>,
    /// User data.
    pub data: Option<Value>,
}

impl CollDef {
    /// The stored fields, in render order.
    pub fn fields(&self) -> Object {
        let mut o = Object::default();
        o.insert(
            "history_days".into(),
            self.history_days.map_or(Value::Null, Value::Int),
        );
        o.insert("name".into(), Value::String(self.name.clone()));
        if let Some(t) = self.ttl_days {
            o.insert("ttl_days".into(), Value::Int(t));
        }
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        o
    }
}

/// What an index term/value reads from a document.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldPath {
    /// The version's `ts`.
    Ts,
    /// The document ref.
    Ref,
    /// A path into the stored fields (`["data","x"]`).
    Path(Vec<PathElem>),
}

/// One element of a field path.
#[derive(Clone, Debug, PartialEq)]
pub enum PathElem {
    /// Object key.
    Key(String),
    /// Array index.
    Idx(i64),
}

/// One term or value of an index.
#[derive(Clone, Debug)]
pub struct FieldSpec {
    /// What it reads.
    pub path: FieldPath,
    /// Descending order in this position.
    pub reverse: bool,
}

/// An index definition.
#[derive(Clone, Debug)]
pub struct IndexDef {
    /// Name.
    pub name: String,
    /// Time of creation.
    pub ts: i64,
    /// Source collection names.
    pub source: Vec<String>,
    /// The `source` as given (a ref or an array of refs).
    pub source_raw: Value,
    /// Terms.
    pub terms: Vec<FieldSpec>,
    /// Values.
    pub values: Vec<FieldSpec>,
    /// Terms as stored (masked to `field`/`reverse`/`binding`).
    pub terms_raw: Option<Value>,
    /// Values as stored.
    pub values_raw: Option<Value>,
    /// `unique`, if given.
    pub unique: Option<bool>,
    /// `serialized` (default true).
    pub serialized: bool,
    /// User data.
    pub data: Option<Value>,
}

impl IndexDef {
    /// Builds a definition from its parameters (`terms`, `values`, `unique`, `serialized`),
    /// as `CreateIndex` and datasets give them. `Err` names the malformed parameter.
    pub fn from_params(
        name: String,
        ts: i64,
        source: Vec<String>,
        source_raw: Value,
        params: &Object,
        data: Option<Value>,
    ) -> Result<IndexDef, &'static str> {
        let fields = |k: &'static str| match params.get(k) {
            None | Some(Value::Null) => Ok((Vec::new(), None)),
            Some(v) => parse_fields(v).map(|(s, raw)| (s, Some(raw))).ok_or(k),
        };
        let (terms, terms_raw) = fields("terms")?;
        let (values, values_raw) = fields("values")?;
        Ok(IndexDef {
            name,
            ts,
            source,
            source_raw,
            terms,
            values,
            terms_raw,
            values_raw,
            unique: match params.get("unique") {
                Some(Value::Bool(b)) => Some(*b),
                _ => None,
            },
            serialized: !matches!(params.get("serialized"), Some(Value::Bool(false))),
            data,
        })
    }

    /// The stored fields, in render order.
    pub fn fields(&self) -> Object {
        let mut o = Object::default();
        o.insert("active".into(), Value::Bool(true));
        o.insert("serialized".into(), Value::Bool(self.serialized));
        o.insert("name".into(), Value::String(self.name.clone()));
        if let Some(u) = self.unique {
            o.insert("unique".into(), Value::Bool(u));
        }
        o.insert("source".into(), self.source_raw.clone());
        if let Some(t) = &self.terms_raw {
            o.insert("terms".into(), t.clone());
        }
        if let Some(v) = &self.values_raw {
            o.insert("values".into(), v.clone());
        }
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        // The real server spreads an index without terms over 8 partitions.
        let termless = match &self.terms_raw {
            None => true,
            Some(Value::Array(t)) => t.is_empty(),
            Some(_) => false,
        };
        o.insert(
            "partitions".into(),
            Value::Int(if termless { 8 } else { 1 }),
        );
        o
    }
}

/// The resource a privilege applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `Collection(name)`.
    Coll(String),
    /// `Index(name)`.
    Index(String),
    /// A native collection: `Collections()`, `Indexes()`, `Roles()`, `Keys()` ….
    Native(String),
}

/// What a role grants for one action.
#[derive(Clone, Debug, PartialEq)]
pub enum Grant {
    /// `true` or `false`.
    Static(bool),
    /// A `Query(Lambda(…))` predicate (its `@query` JSON): grants when it returns `true`.
    Predicate(String),
}

/// One privilege of a role.
#[derive(Clone, Debug)]
pub struct Privilege {
    /// The resource.
    pub resource: Resource,
    /// The actions by name.
    pub actions: Vec<(String, Grant)>,
}

/// A custom role.
#[derive(Clone, Debug)]
pub struct RoleDef {
    /// Name.
    pub name: String,
    /// Time of creation.
    pub ts: i64,
    /// Privileges.
    pub privileges: Vec<Privilege>,
    /// `privileges` as given.
    pub privileges_raw: Value,
    /// `membership`, if given.
    pub membership: Option<Value>,
    /// User data.
    pub data: Option<Value>,
}

impl RoleDef {
    /// The stored fields, in render order.
    pub fn fields(&self) -> Object {
        let mut o = Object::default();
        o.insert("name".into(), Value::String(self.name.clone()));
        o.insert("privileges".into(), self.privileges_raw.clone());
        if let Some(m) = &self.membership {
            o.insert("membership".into(), m.clone());
        }
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        o
    }
}

/// The role a key carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// `admin`.
    Admin,
    /// `server`.
    Server,
    /// `server-readonly`.
    ServerReadOnly,
    /// `client`.
    Client,
    /// Custom roles by name.
    Roles(Vec<String>),
}

impl KeyRole {
    /// Parses a built-in role name.
    pub fn builtin(s: &str) -> Option<KeyRole> {
        Some(match s {
            "admin" => KeyRole::Admin,
            "server" => KeyRole::Server,
            "server-readonly" => KeyRole::ServerReadOnly,
            "client" => KeyRole::Client,
            _ => return None,
        })
    }

    /// The `role` field as stored.
    pub fn to_value(&self) -> Value {
        match self {
            KeyRole::Admin => "admin".into(),
            KeyRole::Server => "server".into(),
            KeyRole::ServerReadOnly => "server-readonly".into(),
            KeyRole::Client => "client".into(),
            KeyRole::Roles(r) if r.len() == 1 => Value::Ref(Ref::in_native("roles", &r[0])),
            KeyRole::Roles(r) => Value::Array(
                r.iter()
                    .map(|n| Value::Ref(Ref::in_native("roles", n)))
                    .collect(),
            ),
        }
    }
}

/// A key.
#[derive(Clone, Debug)]
pub struct KeyDef {
    /// Id (snowflake).
    pub id: i64,
    /// Time of creation.
    pub ts: i64,
    /// Role.
    pub role: KeyRole,
    /// The secret (never rendered after creation).
    pub secret: String,
    /// The rendered `hashed_secret`.
    pub hashed_secret: String,
    /// The child database the key is for (`database`), if not its own.
    pub database: Option<String>,
    /// User data.
    pub data: Option<Value>,
}

impl KeyDef {
    /// The stored fields (without `secret`), in render order.
    pub fn fields(&self) -> Object {
        let mut o = Object::default();
        o.insert("role".into(), self.role.to_value());
        if let Some(db) = &self.database {
            o.insert(
                "database".into(),
                Value::Ref(Ref::in_native("databases", db)),
            );
        }
        o.insert(
            "hashed_secret".into(),
            Value::String(self.hashed_secret.clone()),
        );
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        o
    }
}

/// Parses an index `field`: `"ts"`, `"ref"`, a key, or a path array.
pub fn parse_field(v: &Value) -> Option<FieldPath> {
    match v {
        Value::String(s) if s == "ts" => Some(FieldPath::Ts),
        Value::String(s) if s == "ref" => Some(FieldPath::Ref),
        Value::String(s) => Some(FieldPath::Path(vec![PathElem::Key(s.clone())])),
        Value::Array(a) => {
            if a.len() == 1 {
                if let Some(s) = a[0].as_str() {
                    return parse_field(&Value::String(s.to_string()));
                }
            }
            let mut p = Vec::with_capacity(a.len());
            for e in a {
                match e {
                    Value::String(s) => p.push(PathElem::Key(s.clone())),
                    Value::Int(i) => p.push(PathElem::Idx(*i)),
                    _ => return None,
                }
            }
            Some(FieldPath::Path(p))
        }
        _ => None,
    }
}

/// Parses a `terms`/`values` array into specs plus the stored (masked) form.
pub fn parse_fields(v: &Value) -> Option<(Vec<FieldSpec>, Value)> {
    let items = match v {
        Value::Array(a) => a.as_slice(),
        Value::Null => &[],
        _ => return None,
    };
    let mut specs = Vec::new();
    let mut raw = Vec::new();
    for item in items {
        let o = item.as_object()?;
        let field = o.get("field")?;
        let reverse = matches!(o.get("reverse"), Some(Value::Bool(true)));
        specs.push(FieldSpec {
            path: parse_field(field)?,
            reverse,
        });
        let mut m = Object::default();
        for k in ["field", "binding", "reverse"] {
            if let Some(x) = o.get(k) {
                m.insert(k.into(), x.clone());
            }
        }
        raw.push(Value::Object(m));
    }
    Some((specs, Value::Array(raw)))
}

/// Parses a privilege resource (a ref or the dataset shorthand objects).
pub fn parse_resource(v: &Value) -> Option<Resource> {
    match v {
        Value::Ref(r) => match r.native_parent() {
            Some("collections") => Some(Resource::Coll(r.id.clone())),
            Some("indexes") => Some(Resource::Index(r.id.clone())),
            None if r.is_native() => Some(Resource::Native(r.id.clone())),
            _ => None,
        },
        Value::Object(o) if o.len() == 1 => {
            let (k, x) = o.iter().next()?;
            match (k.as_str(), x) {
                ("collection", Value::String(s)) => Some(Resource::Coll(s.clone())),
                ("index", Value::String(s)) => Some(Resource::Index(s.clone())),
                (n, Value::Null) => Some(Resource::Native(n.to_string())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Parses a role's privileges array.
pub fn parse_privileges(v: &Value) -> Option<Vec<Privilege>> {
    let items = match v {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![v.clone()],
        Value::Null => Vec::new(),
        _ => return None,
    };
    let mut out = Vec::new();
    for item in &items {
        let o = item.as_object()?;
        let resource = parse_resource(o.get("resource")?)?;
        let mut actions = Vec::new();
        if let Some(Value::Object(a)) = o.get("actions") {
            for (k, x) in a {
                let grant = match x {
                    Value::Bool(b) => Grant::Static(*b),
                    Value::Query(q) => Grant::Predicate(q.clone()),
                    _ => Grant::Static(false),
                };
                actions.push((k.clone(), grant));
            }
        }
        out.push(Privilege { resource, actions });
    }
    Some(out)
}
