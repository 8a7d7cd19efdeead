//! Who is asking and what they may do: the root secret, keys with built-in roles, and custom
//! roles with static privileges.

use super::schema::{Grant, KeyRole, Resource};
use super::store::State;

/// An action checked against a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Read a document / index entries.
    Read,
    /// Read without per-document checks.
    UnrestrictedRead,
    /// Read a document's history.
    HistoryRead,
    /// Update/replace.
    Write,
    /// Create with a generated id.
    Create,
    /// Create with a chosen id.
    CreateWithId,
    /// Delete.
    Delete,
    /// Insert/remove history.
    HistoryWrite,
}

impl Act {
    fn name(self) -> &'static str {
        match self {
            Act::Read => "read",
            Act::UnrestrictedRead => "unrestricted_read",
            Act::HistoryRead => "history_read",
            Act::Write => "write",
            Act::Create => "create",
            Act::CreateWithId => "create_with_id",
            Act::Delete => "delete",
            Act::HistoryWrite => "history_write",
        }
    }

    /// True for the read actions.
    pub fn is_read(self) -> bool {
        matches!(self, Act::Read | Act::UnrestrictedRead | Act::HistoryRead)
    }
}

/// The authenticated identity of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity(pub KeyRole);

impl Identity {
    /// Checks `act` on `res`.
    pub fn allows(&self, st: &State, res: &Resource, act: Act) -> bool {
        match &self.0 {
            KeyRole::Admin => true,
            KeyRole::Client => false,
            KeyRole::Server | KeyRole::ServerReadOnly => {
                let protected = matches!(res, Resource::Native(n)
                    if matches!(n.as_str(), "keys" | "roles" | "databases" | "access_providers" | "tokens" | "credentials"));
                if protected {
                    return false;
                }
                if act == Act::UnrestrictedRead {
                    // Built-in roles pass every per-document check anyway.
                    return true;
                }
                act.is_read() || self.0 == KeyRole::Server
            }
            KeyRole::Roles(_) => self.grants(st, res, act).any(|g| *g == Grant::Static(true)),
        }
    }

    /// The predicates (`@query` JSON) custom roles attach to `act` on `res`.
    pub fn predicates<'s>(&self, st: &'s State, res: &Resource, act: Act) -> Vec<&'s str> {
        self.grants(st, res, act)
            .filter_map(|g| match g {
                Grant::Predicate(q) => Some(q.as_str()),
                Grant::Static(_) => None,
            })
            .collect()
    }

    fn grants<'s>(
        &self,
        st: &'s State,
        res: &Resource,
        act: Act,
    ) -> impl Iterator<Item = &'s Grant> + use<'s, '_> {
        let names: &[String] = match &self.0 {
            KeyRole::Roles(names) => names,
            _ => &[],
        };
        let res = res.clone();
        st.roles
            .iter()
            .filter(move |r| names.contains(&r.name))
            .flat_map(|r| r.privileges.iter())
            .filter(move |p| p.resource == res)
            .flat_map(|p| p.actions.iter())
            .filter(move |(a, _)| a == act.name())
            .map(|(_, g)| g)
    }
}
