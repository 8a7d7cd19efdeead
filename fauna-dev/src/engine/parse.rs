//! Request `Value` tree → expression tree. Forms are recognised by their exact key set.

use fauna_wire::{encode, Object, Value};

use super::error::{At, Failure, QueryError, Seg};
use super::escapes::{self, escape, plain_json};

/// Index of a node in [`Ast::nodes`].
pub type NodeId = u32;

macro_rules! forms {
    ($($v:ident = $p:literal [$($req:literal),*] [$($opt:literal),*] $w:literal;)*) => {
        /// A function form, named by its primary key.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum F { $(#[doc = $p] $v),* }
        impl F {
            /// The form's primary key (`"create"`, `"paginate"` …).
            pub fn key(self) -> &'static str {
                match self { $(F::$v => $p),* }
            }
            /// True for forms that write.
            pub fn writes(self) -> bool {
                match self { $(F::$v => $w),* }
            }
        }
        /// (form, primary key, required keys, optional keys, writes?).
        const FORMS: &[(F, &str, &[&str], &[&str], bool)] =
            &[$((F::$v, $p, &[$($req),*], &[$($opt),*], $w)),*];
    };
}

forms! {
    Collection = "collection" [] ["scope"] false;
    Index = "index" [] ["scope"] false;
    Database = "database" [] ["scope"] false;
    Role = "role" [] ["scope"] false;
    Function = "function" [] ["scope"] false;
    Collections = "collections" [] [] false;
    Indexes = "indexes" [] [] false;
    Databases = "databases" [] [] false;
    Keys = "keys" [] [] false;
    Tokens = "tokens" [] [] false;
    Credentials = "credentials" [] [] false;
    Functions = "functions" [] [] false;
    Roles = "roles" [] [] false;
    AccessProviders = "access_providers" [] [] false;
    Ref = "ref" [] ["id", "scope"] false;
    Documents = "documents" [] [] false;
    Match = "match" [] ["terms", "index"] false;
    Range = "range" ["from", "to"] [] false;
    Events = "events" [] [] false;
    Singleton = "singleton" [] [] false;
    Paginate = "paginate" [] ["size", "after", "before", "cursor", "ts", "events", "sources"] false;
    Get = "get" [] ["ts"] false;
    Exists = "exists" [] ["ts"] false;
    At = "at" ["expr"] [] false;
    Map = "map" ["collection"] [] false;
    Filter = "filter" ["collection"] [] false;
    Foreach = "foreach" ["collection"] [] false;
    Select = "select" ["from"] ["default", "all"] false;
    SelectAll = "select_all" ["from"] ["default"] false;
    If = "if" ["then", "else"] [] false;
    Do = "do" [] [] false;
    Equals = "equals" [] [] false;
    Add = "add" [] [] false;
    And = "and" [] [] false;
    Or = "or" [] [] false;
    Not = "not" [] [] false;
    Abort = "abort" [] [] false;
    Format = "format" [] ["values"] false;
    Now = "now" [] [] false;
    ToMicros = "to_micros" [] [] false;
    Time = "time" [] [] false;
    Date = "date" [] [] false;
    Epoch = "epoch" ["unit"] [] false;
    NewId = "new_id" [] [] false;
    Count = "count" [] [] false;
    IsEmpty = "is_empty" [] [] false;
    IsNonEmpty = "is_nonempty" [] [] false;
    Query = "query" [] [] false;
    CreateCollection = "create_collection" [] [] true;
    CreateIndex = "create_index" [] [] true;
    CreateRole = "create_role" [] [] true;
    CreateKey = "create_key" [] [] true;
    CreateDatabase = "create_database" [] [] true;
    KeyFromSecret = "key_from_secret" [] [] false;
    Sum = "sum" [] [] false;
    Mean = "mean" [] [] false;
    Create = "create" [] ["params"] true;
    Update = "update" ["params"] [] true;
    Replace = "replace" ["params"] [] true;
    Delete = "delete" [] [] true;
    Insert = "insert" ["ts", "action"] ["params"] true;
    Remove = "remove" ["ts", "action"] [] true;
}

/// A lambda parameter pattern.
#[derive(Clone, Debug)]
pub enum Pat {
    /// Binds a name.
    Name(String),
    /// `_`: ignores the value.
    Ignore,
    /// Destructures an array.
    Arr(Vec<Pat>),
}

/// What a node is.
#[derive(Debug)]
pub enum Kind {
    /// A literal (scalars, tagged literals, `quote`).
    Lit(Value),
    /// An array, evaluated element-wise.
    Arr(Vec<NodeId>),
    /// `{"object": {…}}`.
    Obj(Vec<(String, NodeId)>),
    /// A function form with its arguments by key.
    Call(F, Vec<(&'static str, NodeId)>),
    /// `Let(bindings, in)`.
    Let(Vec<(String, NodeId)>, NodeId),
    /// `Var(name)`.
    Var(String),
    /// `Lambda(params, expr)`; the string is the `@query` body rendering.
    Lambda(Pat, NodeId, std::rc::Rc<str>),
}

/// One parsed node with its place in the tree.
#[derive(Debug)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// The parent node (`NodeId::MAX` for the root).
    pub parent: NodeId,
    /// The step from the parent.
    pub seg: Option<Seg>,
}

/// A parsed request.
#[derive(Debug, Default)]
pub struct Ast {
    /// All nodes; children come after their parents.
    pub nodes: Vec<Node>,
    /// True when the tree contains a write form.
    pub has_writes: bool,
}

impl Ast {
    /// The node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The node of element `index` of the array node `parent`, if it was written as an array.
    pub fn element(&self, parent: NodeId, index: usize) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| n.parent == parent && n.seg == Some(Seg::Idx(index)))
            .map(|i| i as NodeId)
    }

    /// The argument `key` of a call node.
    pub fn arg(args: &[(&'static str, NodeId)], key: &str) -> Option<NodeId> {
        args.iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
    }

    /// The position path of a node.
    pub fn position(&self, mut id: NodeId) -> Vec<Seg> {
        let mut out = Vec::new();
        while let Some(n) = self.nodes.get(id as usize) {
            if let Some(s) = &n.seg {
                out.push(s.clone());
            }
            id = n.parent;
        }
        out.reverse();
        out
    }
}

/// Parses a decoded request body.
pub fn parse(v: &Value) -> Result<Ast, Failure> {
    let mut p = Parser {
        ast: Ast::default(),
        path: Vec::new(),
    };
    p.expr(v, NodeId::MAX, None)?;
    Ok(p.ast)
}

struct Parser {
    ast: Ast,
    path: Vec<Seg>,
}

fn invalid_form(keys: &Object, path: &[Seg]) -> Failure {
    let list: Vec<&str> = keys.keys().map(String::as_str).collect();
    parse_error(
        path,
        format!(
            "No form/function found, or invalid argument keys: {{ {} }}.",
            list.join(", ")
        ),
    )
}

fn parse_error(path: &[Seg], description: String) -> Failure {
    Failure::Query(vec![QueryError {
        code: "invalid expression",
        description,
        at: At::Path(path.to_vec()),
        parse: true,
    }])
}

impl Parser {
    fn push(&mut self, kind: Kind, parent: NodeId, seg: Option<Seg>) -> NodeId {
        let id = self.ast.nodes.len() as NodeId;
        self.ast.nodes.push(Node { kind, parent, seg });
        id
    }

    /// A placeholder node that only contributes a position step.
    fn virt(&mut self, parent: NodeId, seg: Seg) -> NodeId {
        self.push(Kind::Lit(Value::Null), parent, Some(seg))
    }

    /// Reserves a node so children get larger ids and can point at it.
    fn reserve(&mut self, parent: NodeId, seg: Option<Seg>) -> NodeId {
        self.push(Kind::Lit(Value::Null), parent, seg)
    }

    fn child(&mut self, v: &Value, parent: NodeId, seg: Seg) -> Result<NodeId, Failure> {
        self.path.push(seg.clone());
        let r = self.expr(v, parent, Some(seg));
        self.path.pop();
        r
    }

    fn expr(&mut self, v: &Value, parent: NodeId, seg: Option<Seg>) -> Result<NodeId, Failure> {
        match v {
            Value::Array(items) => {
                let id = self.reserve(parent, seg);
                let mut kids = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    kids.push(self.child(item, id, Seg::Idx(i))?);
                }
                self.ast.nodes[id as usize].kind = Kind::Arr(kids);
                Ok(id)
            }
            Value::Object(o) => self.form(o, parent, seg),
            other => Ok(self.push(Kind::Lit(other.clone()), parent, seg)),
        }
    }

    fn form(&mut self, o: &Object, parent: NodeId, seg: Option<Seg>) -> Result<NodeId, Failure> {
        let has = |k: &str| o.contains_key(k);
        let only = |ks: &[&str]| o.len() == ks.len() && ks.iter().all(|k| o.contains_key(*k));
        if only(&["object"]) {
            let fields = self.object_arg(o.get("object").unwrap_or(&Value::Null), "object")?;
            let id = self.reserve(parent, seg);
            self.path.push(Seg::Key("object".into()));
            let holder = self.virt(id, Seg::Key("object".into()));
            let mut kids = Vec::with_capacity(fields.len());
            for (k, fv) in fields {
                let c = self.child(fv, holder, Seg::Key(k.clone()));
                match c {
                    Ok(c) => kids.push((k.clone(), c)),
                    Err(e) => {
                        self.path.pop();
                        return Err(e);
                    }
                }
            }
            self.path.pop();
            self.ast.nodes[id as usize].kind = Kind::Obj(kids);
            return Ok(id);
        }
        if only(&["quote"]) {
            self.path.push(Seg::Key("quote".into()));
            let q = self.quoted(o.get("quote").unwrap_or(&Value::Null));
            self.path.pop();
            return Ok(self.push(Kind::Lit(q?), parent, seg));
        }
        if let Some((tag, content)) = escape(o) {
            return self.escaped(tag, content, parent, seg);
        }
        if only(&["var"]) {
            return match o.get("var") {
                Some(Value::String(s)) => Ok(self.push(Kind::Var(s.clone()), parent, seg)),
                _ => Err(self.type_error("var", "String", o.get("var"))),
            };
        }
        if only(&["let", "in"]) {
            return self.let_form(o, parent, seg);
        }
        if only(&["lambda", "expr"]) {
            let params = o.get("lambda").unwrap_or(&Value::Null);
            let pat = match lambda_pat(params) {
                Some(p) => p,
                None => {
                    self.path.push(Seg::Key("lambda".into()));
                    let e = parse_error(&self.path, "Invalid lambda.".into());
                    self.path.pop();
                    return Err(e);
                }
            };
            let id = self.reserve(parent, seg);
            let body_v = o.get("expr").unwrap_or(&Value::Null);
            let body = self.child(body_v, id, Seg::Key("expr".into()))?;
            let mut raw = String::from(r#"{"api_version":"4","lambda":"#);
            raw.push_str(&encode(params));
            raw.push_str(r#","expr":"#);
            raw.push_str(&plain_json(body_v));
            raw.push('}');
            self.ast.nodes[id as usize].kind = Kind::Lambda(pat, body, raw.into());
            return Ok(id);
        }
        for (f, primary, req, opt, writes) in FORMS {
            if !has(primary) || !req.iter().all(|k| has(k)) {
                continue;
            }
            if !o
                .keys()
                .all(|k| k == primary || req.contains(&k.as_str()) || opt.contains(&k.as_str()))
            {
                continue;
            }
            if *f == F::Paginate
                && [has("after"), has("before"), has("cursor")]
                    .iter()
                    .filter(|b| **b)
                    .count()
                    > 1
            {
                continue;
            }
            let id = self.reserve(parent, seg);
            let mut args = Vec::with_capacity(o.len());
            let keys = std::iter::once(*primary)
                .chain(req.iter().copied())
                .chain(opt.iter().copied().filter(|k| has(k)));
            for k in keys {
                if let Some(av) = o.get(k) {
                    let c = self.child(av, id, Seg::Key(k.to_string()))?;
                    args.push((k, c));
                }
            }
            self.ast.has_writes |= *writes;
            self.ast.nodes[id as usize].kind = Kind::Call(*f, args);
            return Ok(id);
        }
        Err(invalid_form(o, &self.path))
    }

    /// A parse error at the current path plus `key`.
    fn error_at(&self, key: &str, description: String) -> Failure {
        let mut path = self.path.clone();
        path.push(Seg::Key(key.into()));
        parse_error(&path, description)
    }

    /// The fields of the argument `key` of `object` (or of `let` bindings given as an
    /// object): a JSON object whose keys are field names, unless it is an escape: `@obj`
    /// gives its content's fields, any other tag a value that is not an object
    /// (`QueryParser`'s `object` form).
    fn object_arg<'v>(&mut self, arg: &'v Value, key: &str) -> Result<&'v Object, Failure> {
        let Value::Object(fields) = arg else {
            return Err(self.error_at(
                key,
                format!("Object expected, {} provided.", value_type(arg)),
            ));
        };
        let Some((tag, content)) = escape(fields) else {
            return Ok(fields);
        };
        self.path.push(Seg::Key(key.into()));
        let v = match (tag, content) {
            ("@obj", Value::Object(inner)) => {
                self.path.pop();
                return Ok(inner);
            }
            ("@obj", _) => Err(parse_error(&self.path, "Invalid object.".into())),
            ("@query", c) => self.lambda_escape(c),
            (tag, c) => escapes::scalar(tag, c).map_err(|m| parse_error(&self.path, m.into())),
        };
        self.path.pop();
        let v = v?;
        Err(parse_error(
            &self.path,
            format!("Object expected, {} provided.", escapes::type_name(&v)),
        ))
    }

    /// An escape standing as an expression: a typed literal, or for `@obj` its content
    /// parsed as an expression (`QueryParser.parseExpr`).
    fn escaped(
        &mut self,
        tag: &str,
        content: &Value,
        parent: NodeId,
        seg: Option<Seg>,
    ) -> Result<NodeId, Failure> {
        let v = match (tag, content) {
            ("@obj", Value::Object(_)) => {
                // Parse errors inside are positioned under "@obj"; evaluation errors at
                // this node's own place.
                self.path.push(Seg::Key("@obj".into()));
                let inner = self.expr(content, parent, seg);
                self.path.pop();
                return inner;
            }
            ("@obj", _) => return Err(parse_error(&self.path, "Invalid object.".into())),
            ("@query", c) => self.lambda_escape(c)?,
            (tag, c) => escapes::scalar(tag, c).map_err(|m| parse_error(&self.path, m.into()))?,
        };
        Ok(self.push(Kind::Lit(v), parent, seg))
    }

    /// The content of `quote`: taken literally, escapes read at every depth and `@obj`
    /// holding field names (`EscapesParser.parse`).
    fn quoted(&mut self, v: &Value) -> Result<Value, Failure> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Idx(i));
                    let q = self.quoted(item);
                    self.path.pop();
                    out.push(q?);
                }
                Ok(Value::Array(out))
            }
            Value::Object(o) => {
                let fields = match escape(o) {
                    Some(("@obj", Value::Object(inner))) => inner,
                    Some(("@obj", _)) => {
                        return Err(parse_error(&self.path, "Invalid object.".into()))
                    }
                    Some(("@query", c)) => return self.lambda_escape(c),
                    Some((tag, c)) => {
                        return escapes::scalar(tag, c)
                            .map_err(|m| parse_error(&self.path, m.into()))
                    }
                    None => o,
                };
                let mut out = Object::with_capacity_and_hasher(fields.len(), Default::default());
                for (k, fv) in fields {
                    self.path.push(Seg::Key(k.clone()));
                    let q = self.quoted(fv);
                    self.path.pop();
                    out.insert(k.clone(), q?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// The content of `@query`: a lambda (`lambda`, `expr`, optional `api_version`) whose
    /// body parses; kept as its compact JSON.
    fn lambda_escape(&mut self, content: &Value) -> Result<Value, Failure> {
        let o = match content {
            Value::Object(o)
                if o.contains_key("lambda")
                    && o.contains_key("expr")
                    && o.keys()
                        .all(|k| matches!(k.as_str(), "lambda" | "expr" | "api_version"))
                    && o.get("api_version")
                        .is_none_or(|v| matches!(v, Value::String(_))) =>
            {
                o
            }
            _ => return Err(parse_error(&self.path, "Invalid lambda.".into())),
        };
        if lambda_pat(o.get("lambda").unwrap_or(&Value::Null)).is_none() {
            return Err(self.error_at("lambda", "Invalid lambda.".into()));
        }
        // The body must parse; its nodes are not part of this query.
        let mut body = Parser {
            ast: Ast::default(),
            path: self.path.clone(),
        };
        body.path.push(Seg::Key("expr".into()));
        body.expr(o.get("expr").unwrap_or(&Value::Null), NodeId::MAX, None)?;
        Ok(Value::Query(plain_json(content)))
    }

    fn type_error(&mut self, key: &str, expected: &str, got: Option<&Value>) -> Failure {
        self.path.push(Seg::Key(key.into()));
        let e = Failure::Query(vec![QueryError {
            code: "invalid expression",
            description: format!(
                "{expected} expected, {} provided.",
                got.map_or("Null", value_type)
            ),
            at: At::Path(self.path.clone()),
            parse: true,
        }]);
        self.path.pop();
        e
    }

    fn let_form(
        &mut self,
        o: &Object,
        parent: NodeId,
        seg: Option<Seg>,
    ) -> Result<NodeId, Failure> {
        let id = self.reserve(parent, seg);
        let mut binds = Vec::new();
        self.path.push(Seg::Key("let".into()));
        let holder = self.virt(id, Seg::Key("let".into()));
        let res = (|| {
            match o.get("let") {
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let Value::Object(b) = item else {
                            return Err(parse_error(&self.path, "Invalid object.".into()));
                        };
                        self.path.push(Seg::Idx(i));
                        let slot = self.virt(holder, Seg::Idx(i));
                        for (k, bv) in b {
                            let c = self.child(bv, slot, Seg::Key(k.clone()));
                            match c {
                                Ok(c) => {
                                    // Position of a binding is ["let", i, name].
                                    binds.push((k.clone(), c));
                                }
                                Err(e) => {
                                    self.path.pop();
                                    return Err(e);
                                }
                            }
                        }
                        self.path.pop();
                    }
                    Ok(())
                }
                Some(arg @ Value::Object(_)) => {
                    self.path.pop();
                    let b = self.object_arg(arg, "let");
                    self.path.push(Seg::Key("let".into()));
                    for (k, bv) in b? {
                        let c = self.child(bv, holder, Seg::Key(k.clone()))?;
                        binds.push((k.clone(), c));
                    }
                    Ok(())
                }
                _ => Err(parse_error(&self.path, "Invalid object.".into())),
            }
        })();
        self.path.pop();
        res?;
        let body_v = o.get("in").unwrap_or(&Value::Null);
        let body = self.child(body_v, id, Seg::Key("in".into()))?;
        self.ast.nodes[id as usize].kind = Kind::Let(binds, body);
        Ok(id)
    }
}

fn lambda_pat(v: &Value) -> Option<Pat> {
    match v {
        Value::String(s) if s == "_" => Some(Pat::Ignore),
        Value::String(s) => Some(Pat::Name(s.clone())),
        Value::Array(items) => items
            .iter()
            .map(lambda_pat)
            .collect::<Option<Vec<_>>>()
            .map(Pat::Arr),
        _ => None,
    }
}

/// The server's type name of a plain value.
pub fn value_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Int(_) => "Integer",
        Value::Double(_) => "Double",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
        Value::Ref(_) => "Ref",
        Value::Timestamp(_) => "Time",
        Value::Date(_) => "Date",
        Value::Bytes(_) => "Bytes",
        Value::Query(_) => "Query",
        Value::Set(_) => "Set",
    }
}
