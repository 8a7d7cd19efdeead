//! Query errors: positioned evaluation/parse errors and plain (protocol-level) errors, with the
//! status rules of the real server (`Error.statusCode`).

use fauna_wire::write_str;

use super::parse::{Ast, NodeId};

/// One step of an error position: an object key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Idx(usize),
}

/// Where a query error happened.
#[derive(Clone, Debug, PartialEq)]
pub enum At {
    /// A parsed node (the position is derived from the tree).
    Node(NodeId),
    /// An explicit path (parse errors).
    Path(Vec<Seg>),
}

/// One positioned query error.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryError {
    /// The error code (`"invalid argument"` …).
    pub code: &'static str,
    /// The human-readable description.
    pub description: String,
    /// Where it happened.
    pub at: At,
    /// True for errors raised while parsing (highest status priority).
    pub parse: bool,
}

/// Why a query failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// One or more positioned query errors.
    Query(Vec<QueryError>),
    /// A plain error without position (`bad request` for reads below the MVT, …).
    Plain {
        /// HTTP status.
        status: u16,
        /// Error code.
        code: &'static str,
        /// Description.
        description: String,
    },
}

/// Result type of evaluation.
pub type R<T> = Result<T, Failure>;

/// A positioned error at `node`.
pub fn err<T>(node: NodeId, code: &'static str, description: impl Into<String>) -> R<T> {
    Err(fail(node, code, description))
}

/// A positioned failure at `node`.
pub fn fail(node: NodeId, code: &'static str, description: impl Into<String>) -> Failure {
    Failure::Query(vec![QueryError {
        code,
        description: description.into(),
        at: At::Node(node),
        parse: false,
    }])
}

/// Adds `next` to the errors gathered so far, as the real server accumulates the errors of
/// array elements, object fields and `Range` bounds. A plain failure (a thrown exception on the
/// real server: MVT, timeout) ends the evaluation: it comes back as `Err`.
pub fn accumulate(gathered: Option<Failure>, next: Failure) -> Result<Failure, Failure> {
    match (gathered, next) {
        (_, plain @ Failure::Plain { .. }) => Err(plain),
        (Some(Failure::Query(mut a)), Failure::Query(b)) => {
            a.extend(b);
            Ok(Failure::Query(a))
        }
        (Some(plain @ Failure::Plain { .. }), _) => Err(plain),
        (None, f) => Ok(f),
    }
}

/// A plain `400 bad request`.
pub fn bad_request(description: impl Into<String>) -> Failure {
    Failure::Plain {
        status: 400,
        code: "bad request",
        description: description.into(),
    }
}

/// `invalid argument` with the "X expected, Y provided." text.
pub fn expected<T>(node: NodeId, what: &str, provided: &str) -> R<T> {
    err(
        node,
        "invalid argument",
        format!("{what} expected, {provided} provided."),
    )
}

/// `403 permission denied` at `node`.
pub fn denied(node: NodeId) -> Failure {
    fail(
        node,
        "permission denied",
        "Insufficient privileges to perform the action.",
    )
}

fn priority(e: &QueryError) -> u8 {
    if e.parse {
        3
    } else if e.code == "invalid argument" {
        2
    } else if e.code == "permission denied" {
        1
    } else {
        0
    }
}

fn status_of(e: &QueryError) -> u16 {
    match e.code {
        "value not found" => 404,
        "instance not found" if e.description.ends_with(" not found.") => 404,
        "permission denied" => 403,
        _ => 400,
    }
}

impl Failure {
    /// The HTTP status of this failure.
    pub fn status(&self) -> u16 {
        match self {
            Failure::Plain { status, .. } => *status,
            Failure::Query(errs) => {
                let mut best: Option<&QueryError> = None;
                for e in errs {
                    if best.is_none_or(|b| priority(e) > priority(b)) {
                        best = Some(e);
                    }
                }
                best.map_or(400, status_of)
            }
        }
    }

    /// Renders `{"errors":[…]}`; `ast` resolves node positions.
    pub fn render(&self, ast: Option<&Ast>) -> String {
        let mut out = String::from(r#"{"errors":["#);
        match self {
            Failure::Plain {
                code, description, ..
            } => {
                out.push_str(r#"{"code":"#);
                write_str(&mut out, code);
                out.push_str(r#","description":"#);
                write_str(&mut out, description);
                out.push('}');
            }
            Failure::Query(errs) => {
                for (n, e) in errs.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(r#"{"position":["#);
                    let path = match (&e.at, ast) {
                        (At::Path(p), _) => p.clone(),
                        (At::Node(id), Some(ast)) => ast.position(*id),
                        (At::Node(_), None) => Vec::new(),
                    };
                    for (i, s) in path.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        match s {
                            Seg::Key(k) => write_str(&mut out, k),
                            Seg::Idx(i) => out.push_str(&i.to_string()),
                        }
                    }
                    out.push_str(r#"],"code":"#);
                    write_str(&mut out, e.code);
                    out.push_str(r#","description":"#);
                    write_str(&mut out, &e.description);
                    out.push('}');
                }
            }
        }
        out.push_str("]}");
        out
    }
}
