//! Secrets scoped to a database below the key's: `<secret>:<path>:<role>` (the core's
//! `AuthParser`). Only an admin key may take a scope; the role is the built-in one the use
//! needs, never more.

use super::path::DatabasePath;
use crate::fauna::Secret;

/// What a client of a database below the key's is for, and so its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reading collections, indexes, documents and their history: `server-readonly`.
    Read,
    /// Listing child databases (`Paginate(Databases())`), which only `admin` may read.
    List,
}

impl Access {
    /// The built-in role of a scoped secret.
    pub fn role(self) -> &'static str {
        match self {
            Access::Read => "server-readonly",
            Access::List => "admin",
        }
    }
}

/// `secret` for the database at `path`: itself for the key's own database, else scoped.
///
/// ```
/// use fauna_sync::fauna::Secret;
/// use fauna_sync::tree::{scoped_secret, Access, DatabasePath};
/// let s = Secret::new("fnKEY");
/// assert_eq!(scoped_secret(&s, &DatabasePath::root(), Access::List).expose(), "fnKEY");
/// let t = DatabasePath::parse("t1/eu").unwrap();
/// assert_eq!(scoped_secret(&s, &t, Access::Read).expose(), "fnKEY:t1/eu:server-readonly");
/// ```
pub fn scoped_secret(secret: &Secret, path: &DatabasePath, access: Access) -> Secret {
    if path.is_root() {
        return secret.clone();
    }
    Secret::new(format!("{}:{path}:{}", secret.expose(), access.role()))
}
