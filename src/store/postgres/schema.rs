//! The database's schema, and its versioned migrations.
//!
//! The first node to start on an empty database creates the schema; every node applies the
//! migrations it knows and the database does not have yet, one transaction each, under an
//! advisory lock so that nodes starting together do not race. A database whose schema is
//! newer than this binary knows is refused with a clear message: an older node would
//! misread what a newer one writes.
//!
//! Version 1:
//! - `predial_kv (k bytea primary key, v bytea)`: every record, in the key-value layout
//!   both backends share (`store::kv::keys`), values protobuf;
//! - `predial_changes (seq, node, kind, keys, at, record)`: the change feed, one row per
//!   write that changed what memory holds, numbered without gaps in commit order;
//! - `predial_feed (id = 1, seq)`: the feed's head. Every write transaction locks this row
//!   first, which is what orders the feed — and every write — across the cluster.

use tokio_postgres::Client;

use crate::store::StoreError;

/// The migrations, in order; a database at version `n` has the first `n` applied.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE predial_kv (
        k bytea PRIMARY KEY,
        v bytea NOT NULL
    );
    CREATE TABLE predial_changes (
        seq bigint PRIMARY KEY,
        node text NOT NULL,
        kind smallint NOT NULL,
        keys text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        record bytea NOT NULL
    );
    CREATE INDEX predial_changes_at ON predial_changes (at);
    CREATE TABLE predial_feed (
        id int PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL
    );
    INSERT INTO predial_feed VALUES (1, 0);
",
    "
    -- The log of every note by id ('j' + id): a copy of each note ('n' + consumer + id).
    INSERT INTO predial_kv (k, v)
    SELECT '\\x6a'::bytea || substring(k from length(k) - 7), v
    FROM predial_kv WHERE k >= '\\x6e'::bytea AND k < '\\x6f'::bytea
    ON CONFLICT (k) DO NOTHING;
",
];

/// The schema version this binary writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Any advisory lock number, the same on every node: who migrates.
const MIGRATION_LOCK: i64 = 0x7072_6564_6961_6c00; // "predial\0"

fn backend(what: &str, e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("{what}: {e}"))
}

/// Brings the database's schema to [`VERSION`], or refuses a newer one.
pub async fn migrate(client: &mut Client) -> Result<i32, StoreError> {
    let tx = client.transaction().await.map_err(|e| backend("migrating", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| backend("migrating", e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS predial_schema (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL);
         INSERT INTO predial_schema VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    )
    .await
    .map_err(|e| backend("migrating", e))?;
    let found: i32 = tx
        .query_one("SELECT version FROM predial_schema WHERE id = 1", &[])
        .await
        .map_err(|e| backend("reading the schema version", e))?
        .get(0);
    if found > VERSION {
        return Err(StoreError::Backend(format!(
            "the database's schema is version {found}, newer than this predial knows (version {VERSION}): \
             upgrade predial on this node before starting it on this database"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| backend(&format!("applying migration {}", i + 1), e))?;
    }
    tx.execute("UPDATE predial_schema SET version = $1 WHERE id = 1", &[&VERSION])
        .await
        .map_err(|e| backend("migrating", e))?;
    tx.commit().await.map_err(|e| backend("migrating", e))?;
    if found < VERSION {
        tracing::info!(from = found, to = VERSION, "store schema migrated");
    }
    Ok(VERSION)
}
