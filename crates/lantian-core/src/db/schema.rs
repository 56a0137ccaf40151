//! The schema as the database itself reports it, reduced to what must agree between the
//! backends: tables, columns, a type class, nullability and indexed column lists. The parity
//! test compares the SQLite and PostgreSQL descriptions after all migrations.

use std::collections::BTreeMap;

use super::Db;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    /// `integer`, `text`, `real` or `blob`.
    pub class: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Each index as `unique:` or `index:` followed by its comma-joined columns, sorted.
    pub indexes: Vec<String>,
}

fn class_of(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let class = if t.contains("int") {
        "integer"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") || t.contains("numeric") {
        "real"
    } else if t.contains("blob") || t.contains("bytea") {
        "blob"
    } else if t.contains("bool") {
        "integer"
    } else {
        "other"
    };
    class.to_string()
}

pub async fn describe(db: &Db) -> Result<BTreeMap<String, Table>, sqlx::Error> {
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    match db {
        Db::Sqlite(s) => {
            let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
                "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
                 AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' ORDER BY m.name, p.cid",
            )
            .fetch_all(&s.reader)
            .await?;
            for (table, name, ty, notnull, pk) in rows {
                let nullable = notnull == 0 && pk == 0;
                out.entry(table).or_default().columns.push(Column { name, class: class_of(&ty), nullable });
            }
            let idx: Vec<(String, String, i64, String)> = sqlx::query_as(
                "SELECT m.name, il.name, il.\"unique\", \
                 (SELECT group_concat(name, ',') FROM (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)) \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) il \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' AND il.origin <> 'pk'",
            )
            .fetch_all(&s.reader)
            .await?;
            for (table, _name, unique, cols) in idx {
                let kind = if unique != 0 { "unique" } else { "index" };
                out.entry(table).or_default().indexes.push(format!("{kind}:{cols}"));
            }
        }
        Db::Pg(p) => {
            // Partitions (the access log's monthly tables) are storage of their parent, not
            // tables of the schema: SQLite has no counterpart, so they are left out. A
            // partitioned table's primary key must contain the partition key (`PRIMARY KEY
            // (id, at)`), but primary keys are not compared (only nullability, which a key
            // implies on both sides), so that needs nothing here.
            let rows: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name NOT IN ('_sqlx_migrations') AND table_name NOT LIKE 'pg_%' \
                 AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = table_schema AND c.relname = table_name AND c.relispartition) \
                 ORDER BY table_name, ordinal_position",
            )
            .fetch_all(p)
            .await?;
            for (table, name, ty, nullable) in rows {
                out.entry(table).or_default().columns.push(Column {
                    name,
                    class: class_of(&ty),
                    nullable: nullable == "YES",
                });
            }
            let idx: Vec<(String, bool, String)> = sqlx::query_as(
                "SELECT t.relname::text, ix.indisunique, \
                 string_agg(a.attname::text, ',' ORDER BY k.ord) \
                 FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND NOT ix.indisprimary AND t.relname <> '_sqlx_migrations' \
                 AND NOT t.relispartition \
                 GROUP BY t.relname, i.relname, ix.indisunique",
            )
            .fetch_all(p)
            .await?;
            for (table, unique, cols) in idx {
                let kind = if unique { "unique" } else { "index" };
                out.entry(table).or_default().indexes.push(format!("{kind}:{cols}"));
            }
        }
    }
    for t in out.values_mut() {
        t.columns.sort();
        t.indexes.sort();
    }
    Ok(out)
}
