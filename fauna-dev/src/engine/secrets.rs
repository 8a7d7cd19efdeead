//! Secrets with a scope suffix, as the real server parses them (`AuthParser`):
//! `secret`, `secret:role`, `secret:path/to/db:role` with a built-in role, `@role/<name>`,
//! or `@doc/<coll>/<id>` (also `collections/…`, `classes/…`). Any other suffix after a `:`
//! is ignored (the secret's own scope). Only admin keys and the root secret may take a scope.

use super::databases::DbData;
use super::schema::{KeyDef, KeyRole};
use super::store::State;

/// The scope part of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthScope {
    /// No usable suffix: the key's own database and role.
    Null,
    /// A built-in role in the database at the path (relative to the key's).
    Builtin(KeyRole, Vec<String>),
    /// `@role/<name>` in the database at the path.
    Custom(String, Vec<String>),
    /// `@doc/…`: a document identity (not supported by fauna-dev).
    Doc,
}

const SECRET_STOP: &[char] = &['/', ',', '(', ')', '&', '=', ':'];
const SEGMENT_STOP: &[char] = &[',', '(', ')', '&', '=', ':'];

/// A segment: one or more characters outside `,()&=:`. Returns it and the rest.
fn segment(s: &str) -> Option<(&str, &str)> {
    let end = s.find(SEGMENT_STOP).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// Splits an `Authorization` secret into the secret and its scope; `None` if it cannot be
/// parsed (the request is then unauthorized).
pub fn parse(auth: &str) -> Option<(&str, AuthScope)> {
    let end = auth.find(SECRET_STOP).unwrap_or(auth.len());
    if end == 0 {
        return None;
    }
    let (secret, rest) = auth.split_at(end);
    if rest.is_empty() {
        return Some((secret, AuthScope::Null));
    }
    let body = rest.strip_prefix(':')?;
    // `optional(database ~ ':')`: greedy, never retried without.
    let (path, role) = match segment(body) {
        Some((db, after)) if after.starts_with(':') => (
            db.split('/').map(str::to_string).collect::<Vec<_>>(),
            &after[1..],
        ),
        _ => (Vec::new(), body),
    };
    // Once a role alternative matches, anything left over fails the whole parse.
    let whole = |matched: &str| if matched.is_empty() { Some(()) } else { None };
    for (name, r) in [
        ("admin", KeyRole::Admin),
        ("server-readonly", KeyRole::ServerReadOnly),
        ("server", KeyRole::Server),
        ("client", KeyRole::Client),
    ] {
        if let Some(left) = role.strip_prefix(name) {
            whole(left)?;
            return Some((secret, AuthScope::Builtin(r, path)));
        }
    }
    if let Some((name, left)) = role.strip_prefix("@role/").and_then(segment) {
        whole(left)?;
        return Some((secret, AuthScope::Custom(name.to_string(), path)));
    }
    for prefix in ["classes/", "collections/", "@doc/"] {
        if let Some((_, left)) = role.strip_prefix(prefix).and_then(segment) {
            whole(left)?;
            return Some((secret, AuthScope::Doc));
        }
    }
    Some((secret, AuthScope::Null))
}

/// Finds the key with `secret` anywhere in the tree: the key and the path of the database
/// whose keys hold it.
pub fn find_key<'s>(st: &'s State, secret: &str) -> Option<(&'s KeyDef, Vec<String>)> {
    if let Some(k) = st.keys.iter().find(|k| k.secret == secret) {
        return Some((k, Vec::new()));
    }
    st.dbs.iter().find_map(|DbData { def, state }| {
        find_key(state, secret).map(|(k, mut path)| {
            path.insert(0, def.name.clone());
            (k, path)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('/').map(str::to_string).collect()
    }

    #[test]
    fn parses_the_server_grammar() {
        assert_eq!(parse("s"), Some(("s", AuthScope::Null)));
        assert_eq!(
            parse("s:admin"),
            Some(("s", AuthScope::Builtin(KeyRole::Admin, Vec::new())))
        );
        assert_eq!(
            parse("s:a/b:server-readonly"),
            Some(("s", AuthScope::Builtin(KeyRole::ServerReadOnly, p("a/b"))))
        );
        assert_eq!(
            parse("s:t1:server"),
            Some(("s", AuthScope::Builtin(KeyRole::Server, p("t1"))))
        );
        assert_eq!(
            parse("s:t1:@role/reader"),
            Some(("s", AuthScope::Custom("reader".into(), p("t1"))))
        );
        assert_eq!(parse("s:t1:@doc/users/1"), Some(("s", AuthScope::Doc)));
        // A suffix that is no scope is ignored; a role with trailing text fails.
        assert_eq!(parse("s:t1"), Some(("s", AuthScope::Null)));
        assert_eq!(parse("s:t1:nope"), Some(("s", AuthScope::Null)));
        assert_eq!(parse("s:t1:adminx"), None);
        assert_eq!(parse(":admin"), None);
        assert_eq!(parse("s/x"), None);
    }
}
