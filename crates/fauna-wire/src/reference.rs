//! Fauna refs: a document, a schema item or a native collection, possibly in a child database.

/// Names of Fauna's native collections, which render as refs without a `collection`.
pub const NATIVE_COLLECTIONS: [&str; 9] = [
    "collections",
    "indexes",
    "databases",
    "keys",
    "tokens",
    "credentials",
    "functions",
    "roles",
    "access_providers",
];

/// A Fauna reference (`@ref`): an id, the collection it belongs to and, for refs into child
/// databases, the database. A ref without collection and database is a native collection
/// such as `Collections()` (`{"@ref":{"id":"collections"}}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref {
    /// The id: a decimal int64 for documents and keys, a name for schema items.
    pub id: String,
    /// The collection the ref belongs to (itself a ref).
    pub collection: Option<Box<Ref>>,
    /// The child database the ref lives in, if not the request's own.
    pub database: Option<Box<Ref>>,
}

/// What a ref points at, as the export format names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind<'a> {
    /// A document of the user collection named here.
    Document(&'a str),
    /// `Collection("x")`.
    Collection,
    /// `Database("x")`.
    Database,
    /// `Index("x")`.
    Index,
    /// `Function("x")`.
    Function,
    /// `Role("x")`.
    Role,
    /// An access provider.
    AccessProvider,
    /// A key.
    Key,
    /// A token.
    Token,
    /// A credential.
    Credential,
    /// Anything else: a native collection itself, a ref nested deeper than a document, …
    Unknown,
}

impl RefKind<'_> {
    /// The export format's `type` string.
    pub fn export_type(&self) -> &'static str {
        match self {
            RefKind::Document(_) => "document",
            RefKind::Collection => "collection",
            RefKind::Database => "database",
            RefKind::Index => "index",
            RefKind::Function => "function",
            RefKind::Role => "role",
            RefKind::AccessProvider => "access_provider",
            RefKind::Key => "key",
            RefKind::Token => "token",
            RefKind::Credential => "credential",
            RefKind::Unknown => "unknown",
        }
    }
}

impl Ref {
    /// A native collection ref, e.g. `Ref::native("collections")` for `Collections()`.
    pub fn native(name: &str) -> Ref {
        Ref {
            id: name.to_string(),
            collection: None,
            database: None,
        }
    }

    /// A ref whose collection is the native collection `native` (a schema item or key).
    pub fn in_native(native: &str, id: &str) -> Ref {
        Ref {
            id: id.to_string(),
            collection: Some(Box::new(Ref::native(native))),
            database: None,
        }
    }

    /// `Collection(name)`.
    pub fn collection(name: &str) -> Ref {
        Ref::in_native("collections", name)
    }

    /// `Index(name)`.
    pub fn index(name: &str) -> Ref {
        Ref::in_native("indexes", name)
    }

    /// `Ref(Collection(collection), id)`: a document of a user collection.
    pub fn document(collection: &str, id: &str) -> Ref {
        Ref {
            id: id.to_string(),
            collection: Some(Box::new(Ref::collection(collection))),
            database: None,
        }
    }

    /// True for a native collection ref (no collection, no database).
    pub fn is_native(&self) -> bool {
        self.collection.is_none() && self.database.is_none()
    }

    /// The name of the native collection this ref is directly in, if any
    /// (`"collections"` for `Collection("x")`).
    pub fn native_parent(&self) -> Option<&str> {
        self.collection
            .as_deref()
            .filter(|c| c.is_native())
            .map(|c| c.id.as_str())
    }

    /// Classifies the ref as the export format does.
    pub fn kind(&self) -> RefKind<'_> {
        let Some(parent) = self.collection.as_deref() else {
            return RefKind::Unknown;
        };
        if parent.is_native() {
            return match parent.id.as_str() {
                "collections" => RefKind::Collection,
                "databases" => RefKind::Database,
                "indexes" => RefKind::Index,
                "functions" => RefKind::Function,
                "roles" => RefKind::Role,
                "access_providers" => RefKind::AccessProvider,
                "keys" => RefKind::Key,
                "tokens" => RefKind::Token,
                "credentials" => RefKind::Credential,
                _ => RefKind::Unknown,
            };
        }
        if parent.native_parent() == Some("collections") {
            RefKind::Document(&parent.id)
        } else {
            RefKind::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_refs_like_the_export_format() {
        assert_eq!(Ref::document("foo", "1").kind(), RefKind::Document("foo"));
        assert_eq!(Ref::collection("foo").kind(), RefKind::Collection);
        assert_eq!(Ref::index("ts").kind(), RefKind::Index);
        assert_eq!(Ref::in_native("keys", "12").kind(), RefKind::Key);
        assert_eq!(
            Ref::in_native("access_providers", "p").kind(),
            RefKind::AccessProvider
        );
        assert_eq!(Ref::native("collections").kind(), RefKind::Unknown);
        assert_eq!(Ref::in_native("widgets", "1").kind(), RefKind::Unknown);
        let deep = Ref {
            id: "9".into(),
            collection: Some(Box::new(Ref::document("foo", "1"))),
            database: None,
        };
        assert_eq!(deep.kind(), RefKind::Unknown);
    }
}
