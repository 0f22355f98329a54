//! Which column types survive binary COPY between two servers.
//!
//! Binary COPY is raw `typsend` output, read back with `typreceive` on the
//! target. Two forms embed type OIDs, which are server-local for
//! user-defined types: an array's header carries its element type, a
//! composite carries each field's type. Targets before PostgreSQL 14
//! reject any mismatch ("wrong element type"); from 14 on, `array_recv`
//! and `record_recv` complain only when both OIDs are built-in, so user
//! types travel fine (found by test: `binary_portability_matches_server`).
//!
//! Enums (sent as labels), domains (sent as their base type) and ranges
//! (sent through their subtype) carry no OID of their own. Types without
//! send/receive functions cannot be sent in binary at all.

use std::collections::HashMap;

use anyhow::Result;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use crate::error::PgContext;

/// OIDs below this are assigned at initdb and equal on every server.
pub const FIRST_NORMAL_OBJECT_ID: u32 = 16384;

#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub name: String,
    /// `b` base, `c` composite, `d` domain, `e` enum, `p` pseudo, `r` range, `m` multirange.
    pub typtype: char,
    /// Element type of an array type (0 otherwise).
    pub elem: u32,
    pub is_array: bool,
    pub base: u32,
    pub range_subtype: u32,
    pub multirange_range: u32,
    pub has_binary_io: bool,
    /// Field types of a composite, in order.
    pub fields: Vec<u32>,
}

/// All types of one database, enough to judge binary portability.
#[derive(Debug, Default)]
pub struct TypeCatalog {
    types: HashMap<u32, TypeInfo>,
}

impl TypeCatalog {
    pub async fn read(client: &Client) -> Result<Self> {
        // Multiranges came with PostgreSQL 14.
        let multirange = if super::has_column(client, "pg_catalog.pg_range", "rngmultitypid").await
        {
            "coalesce((SELECT mr.rngtypid FROM pg_catalog.pg_range mr \
                        WHERE mr.rngmultitypid = t.oid), 0::oid)"
        } else {
            "0::oid"
        };
        let rows = client
            .query_typed(
                &format!(
                    "SELECT t.oid, pg_catalog.format_type(t.oid, NULL), t.typtype::text, t.typelem, \
                            t.typcategory = 'A' AND t.typelem <> 0 AND t.typlen = -1, \
                            t.typbasetype, coalesce(r.rngsubtype, 0::oid), {multirange}, \
                            t.typsend <> 0 AND t.typreceive <> 0, t.typrelid \
                       FROM pg_catalog.pg_type t \
                       LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid"
                ),
                &[],
            )
            .await
            .pg_context(|| "reading types".into())?;
        let mut relids: HashMap<u32, u32> = HashMap::new();
        let mut types = HashMap::with_capacity(rows.len());
        for r in &rows {
            let oid: u32 = r.get(0);
            let typtype: String = r.get(2);
            let relid: u32 = r.get(9);
            if typtype == "c" && relid != 0 {
                relids.insert(relid, oid);
            }
            types.insert(
                oid,
                TypeInfo {
                    name: r.get(1),
                    typtype: typtype.chars().next().unwrap_or('b'),
                    elem: r.get(3),
                    is_array: r.get(4),
                    base: r.get(5),
                    range_subtype: r.get(6),
                    multirange_range: r.get(7),
                    has_binary_io: r.get(8),
                    fields: Vec::new(),
                },
            );
        }
        // Field types of user-defined composites only: catalog composites
        // never hold user types, and tables' row types are rarely columns.
        let user_relids: Vec<u32> = relids
            .keys()
            .copied()
            .filter(|r| *r >= FIRST_NORMAL_OBJECT_ID)
            .collect();
        let attrs = client
            .query_typed(
                "SELECT attrelid, atttypid FROM pg_catalog.pg_attribute \
                  WHERE attrelid = ANY($1) AND attnum > 0 AND NOT attisdropped \
                  ORDER BY attrelid, attnum",
                &[(&user_relids, Type::OID_ARRAY)],
            )
            .await
            .pg_context(|| "reading composite types".into())?;
        for a in attrs {
            let relid: u32 = a.get(0);
            if let Some(t) = relids.get(&relid).and_then(|oid| types.get_mut(oid)) {
                t.fields.push(a.get(1));
            }
        }
        Ok(TypeCatalog { types })
    }

    pub fn insert(&mut self, oid: u32, info: TypeInfo) {
        self.types.insert(oid, info);
    }

    pub fn name(&self, oid: u32) -> String {
        self.types
            .get(&oid)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("type {oid}"))
    }

    /// Why a value of this type cannot travel in binary to the target, or
    /// `None` when it can. `strict_oids`: the target checks embedded type
    /// OIDs of arrays and composites (PostgreSQL before 14).
    pub fn binary_blocker(&self, oid: u32, strict_oids: bool) -> Option<String> {
        self.blocker(oid, strict_oids, 0)
    }

    fn blocker(&self, oid: u32, strict: bool, depth: usize) -> Option<String> {
        // Types can nest (composite of array of domain of ...) but never
        // this deep; the bound guards against a cyclic catalog.
        if depth > 32 {
            return Some(format!("type {} nests too deeply", self.name(oid)));
        }
        let Some(t) = self.types.get(&oid) else {
            return Some(format!("type {oid} is unknown"));
        };
        if !t.has_binary_io {
            return Some(format!("{} has no binary send/receive functions", t.name));
        }
        if t.is_array {
            if strict && t.elem >= FIRST_NORMAL_OBJECT_ID {
                return Some(format!(
                    "{}: binary arrays carry the element type's server-local OID ({})",
                    t.name,
                    self.name(t.elem)
                ));
            }
            return self.blocker(t.elem, strict, depth + 1);
        }
        match t.typtype {
            'c' => {
                for &f in &t.fields {
                    if strict && f >= FIRST_NORMAL_OBJECT_ID {
                        return Some(format!(
                            "{}: binary composites carry each field type's server-local OID ({})",
                            t.name,
                            self.name(f)
                        ));
                    }
                    if let Some(why) = self.blocker(f, strict, depth + 1) {
                        return Some(why);
                    }
                }
                None
            }
            'd' => self.blocker(t.base, strict, depth + 1),
            'r' => self.blocker(t.range_subtype, strict, depth + 1),
            'm' => self.blocker(t.multirange_range, strict, depth + 1),
            _ => None,
        }
    }

    /// Why a value of this type cannot be stored in binary in a dump that
    /// may be restored into any server (older ones check embedded OIDs,
    /// other versions of an extension may change its binary form), or
    /// `None` when it can.
    pub fn dump_blocker(&self, oid: u32) -> Option<String> {
        if let Some(why) = self.binary_blocker(oid, true) {
            return Some(why);
        }
        self.is_non_core_base(oid).then(|| {
            format!(
                "{} is not a built-in type; its binary form may differ between versions",
                self.name(oid)
            )
        })
    }

    /// A type that comes from an extension or the user and has its own
    /// binary functions: its format may differ between versions.
    pub fn is_non_core_base(&self, oid: u32) -> bool {
        self.types
            .get(&oid)
            .is_some_and(|t| oid >= FIRST_NORMAL_OBJECT_ID && t.typtype == 'b' && !t.is_array)
            || self
                .types
                .get(&oid)
                .is_some_and(|t| t.is_array && self.is_non_core_base(t.elem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str, typtype: char) -> TypeInfo {
        TypeInfo {
            name: name.into(),
            typtype,
            elem: 0,
            is_array: false,
            base: 0,
            range_subtype: 0,
            multirange_range: 0,
            has_binary_io: true,
            fields: vec![],
        }
    }

    fn catalog() -> TypeCatalog {
        let mut c = TypeCatalog::default();
        c.insert(23, ty("integer", 'b'));
        c.insert(25, ty("text", 'b'));
        c.insert(
            1007,
            TypeInfo {
                elem: 23,
                is_array: true,
                ..ty("integer[]", 'b')
            },
        );
        c.insert(20000, ty("app.mood", 'e'));
        c.insert(
            20001,
            TypeInfo {
                elem: 20000,
                is_array: true,
                ..ty("app.mood[]", 'b')
            },
        );
        c.insert(
            20002,
            TypeInfo {
                fields: vec![23, 25],
                ..ty("app.pair", 'c')
            },
        );
        c.insert(
            20003,
            TypeInfo {
                fields: vec![23, 20000],
                ..ty("app.tagged", 'c')
            },
        );
        c.insert(
            20004,
            TypeInfo {
                base: 23,
                ..ty("app.posint", 'd')
            },
        );
        c.insert(
            20005,
            TypeInfo {
                base: 20003,
                ..ty("app.dom_tagged", 'd')
            },
        );
        c.insert(
            20006,
            TypeInfo {
                has_binary_io: false,
                ..ty("app.nobin", 'b')
            },
        );
        c.insert(
            20007,
            TypeInfo {
                elem: 20002,
                is_array: true,
                ..ty("app.pair[]", 'b')
            },
        );
        c
    }

    #[test]
    fn portable_types() {
        let c = catalog();
        for oid in [23, 25, 1007, 20000, 20002, 20004] {
            assert_eq!(c.binary_blocker(oid, true), None, "{}", c.name(oid));
        }
        // PostgreSQL 14+ targets accept user-type OIDs inside arrays and
        // composites.
        for oid in [20001, 20003, 20005, 20007] {
            assert_eq!(c.binary_blocker(oid, false), None, "{}", c.name(oid));
        }
    }

    #[test]
    fn non_portable_types_say_why() {
        let c = catalog();
        assert!(c.binary_blocker(20001, true).unwrap().contains("app.mood"));
        assert!(c.binary_blocker(20003, true).unwrap().contains("field"));
        assert!(c
            .binary_blocker(20005, true)
            .unwrap()
            .contains("app.tagged"));
        assert!(c.binary_blocker(20007, true).unwrap().contains("element"));
        for strict in [true, false] {
            assert!(c
                .binary_blocker(20006, strict)
                .unwrap()
                .contains("no binary"));
            assert!(c.binary_blocker(99, strict).unwrap().contains("unknown"));
        }
    }
}
