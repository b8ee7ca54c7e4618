//! One group commit as one database transaction, in the cluster's one write order.
//!
//! 1. Lock the feed's head row (`SELECT … FOR UPDATE`): from here to COMMIT no other node
//!    writes, so what this transaction reads is what the cluster holds.
//! 2. Read the feed since what this node's memory holds (and since the oldest position a
//!    lease of the group was decided at): the changes memory must apply before this group's
//!    own, and what tells whether a lease's decision has gone stale.
//! 3. Stage the jobs over the layout (`kv::stage`), reading what they need in one query
//!    up front and anything else key by key. A lease whose consumer (or group) another
//!    node changed after its decision's position, or that an earlier write of this very
//!    transaction changed (other than this node's own leases, which its decision already
//!    counted), or that was decided before a change to everything (a rule set, programs,
//!    Do Not Call), is refused as stale: the node decides it again, on memory that has by
//!    then applied those changes.
//! 4. Write the staged values, the feed's new changes and its new head, notify, COMMIT.
//!
//! A change's `keys` name what it touched: consumer ids, group ids, or `*` (everything).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use tokio_postgres::{SimpleQueryMessage, Statement};

use super::{PgStore, backend};
use crate::domain::PhoneNumber;
use crate::proto::v1 as pb;
use crate::store::change::encode;
use crate::store::kv::evidence::EVIDENCE_SEQ;
use crate::store::kv::keys::{
    CONSUMER, DNC_LIST, EVENT, EXCLUSIONS, LEGACY_DNC_SEQ, META, NUMBER_INDEX, PROMPT, UNSETTLED, callback_key, decode,
    key, lease_key, number_key,
};
use crate::store::kv::{StageError, Staging, stage_jobs_checked};
use crate::store::{Change, Committed, FeedCommit, Rejected, StoreError, WriteOp};

/// `predial_changes.kind` of a lease taken; 0 for every other change.
const LEASE_TAKEN: i16 = 1;

/// What touches everything a decision reads.
const EVERYTHING: &str = "*";

/// A change of the feed, as the staleness check reads it.
struct Seen {
    seq: u64,
    /// This node's own lease: already counted by the decisions made after it.
    own_lease: bool,
    keys: Vec<String>,
}

/// The statements a commit runs, prepared once per connection (deadpool's statement
/// cache): a statement sent by its text would cost a round trip of its own to prepare.
const CHANGES_SINCE: &str = "SELECT seq, node, kind, keys, CASE WHEN seq > $2 THEN record END \
     FROM predial_changes WHERE seq > $1 ORDER BY seq";
const PREFETCH: &str = "SELECT k, v FROM predial_kv WHERE k = ANY($1)";
const POINT: &str = "SELECT v FROM predial_kv WHERE k = $1";
const RANGE_KEYS: &str = "SELECT k FROM predial_kv WHERE k > $1 AND k < $2";
const UPSERT: &str = "INSERT INTO predial_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
     ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v";
const REMOVE: &str = "DELETE FROM predial_kv WHERE k = ANY($1)";
const APPEND: &str = "INSERT INTO predial_changes (seq, node, kind, keys, record) \
     SELECT * FROM unnest($1::int8[], $2::text[], $3::int2[], $4::text[], $5::bytea[])";
const ADVANCE: &str = "UPDATE predial_feed SET seq = $1 WHERE id = 1";
const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// The connection this node commits on: its own, driven by the commit thread itself on a
/// runtime of its own, so that a statement's answer wakes no other thread — under the
/// cluster's write lock, every hop between threads is a wait the other nodes share.
pub struct CommitConnection {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    statements: [Statement; 9],
}

impl CommitConnection {
    fn open(store: &PgStore) -> Result<CommitConnection, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| backend("starting the commit connection's runtime", e))?;
        let (client, connection) = runtime
            .block_on(store.config.connect(store.tls.clone()))
            .map_err(|e| backend("connecting to the store to commit", e))?;
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "the store's commit connection dropped");
            }
        });
        let prepared = runtime
            .block_on(futures_util::future::try_join_all(
                [
                    CHANGES_SINCE,
                    PREFETCH,
                    POINT,
                    RANGE_KEYS,
                    UPSERT,
                    REMOVE,
                    APPEND,
                    ADVANCE,
                    NOTIFY,
                ]
                .map(|sql| client.prepare(sql)),
            ))
            .map_err(|e| backend("preparing the store's statements", e))?;
        Ok(CommitConnection {
            runtime,
            client,
            statements: prepared.try_into().expect("nine statements"),
        })
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Lets the runtime go without blocking (it may be dropped on any thread).
    pub fn close(self) {
        drop(self.client);
        self.runtime.shutdown_background();
    }
}

pub fn commit(store: &PgStore, jobs: &[Vec<WriteOp>], after: u64, prune: bool) -> Result<Committed, StoreError> {
    let started = std::time::Instant::now();
    let mut held = store.commit_connection.lock().expect("commit connection lock");
    if held.as_ref().is_none_or(|c| c.client.is_closed()) {
        if let Some(old) = held.take() {
            old.close();
        }
        *held = Some(CommitConnection::open(store)?);
    }
    let connection = held.as_ref().expect("opened above");
    let committed = commit_on(store, connection, jobs, after, prune);
    if committed.is_err() && connection.block(connection.client.batch_execute("ROLLBACK")).is_err() {
        // A connection that cannot even roll back is replaced at the next commit.
        if let Some(broken) = held.take() {
            broken.close();
        }
    }
    if committed.is_ok() {
        crate::metrics::metrics().database_commit(started.elapsed());
    }
    committed
}

/// One group commit, in three round trips when nothing is missed: BEGIN with the lock and
/// the reads under it; then the writes with COMMIT; then, outside the lock, the other
/// nodes' changes memory must apply first.
///
/// Long on purpose: the three round trips, the lock and the retry on a lost connection are
/// one transaction's life, and read in order only when they stand together.
fn commit_on(
    store: &PgStore,
    connection: &CommitConnection,
    jobs: &[Vec<WriteOp>],
    after: u64,
    prune: bool,
) -> Result<Committed, StoreError> {
    let failed = |what: &'static str| move |e: tokio_postgres::Error| backend(what, e);
    let client = &connection.client;
    let [
        changes_since,
        prefetch,
        point,
        range_keys,
        upsert,
        remove,
        append,
        advance,
        notify,
    ] = &connection.statements;

    // 1. The cluster's one write order, and 2. what the group reads under it, in one round
    //    trip: BEGIN and the lock first, then — in the same pipeline, so behind the lock —
    //    the feed since memory (and since the oldest lease decision of the group) and what
    //    the group will read.
    let oldest_seen = jobs
        .iter()
        .flatten()
        .filter_map(|op| match op {
            WriteOp::TakeLease { seen, .. } => Some(*seen),
            _ => None,
        })
        .min()
        .map_or(after, |seen| seen.min(after));
    let wanted: Vec<Vec<u8>> = jobs.iter().flatten().flat_map(reads_of).collect();
    let (oldest, after_i64) = (oldest_seen as i64, after as i64);
    let (locked, change_rows, read_rows) = connection
        .block(futures_util::future::try_join3(
            client.simple_query("BEGIN; SELECT seq FROM predial_feed WHERE id = 1 FOR UPDATE"),
            client.query(changes_since, &[&oldest, &after_i64]),
            client.query(prefetch, &[&wanted]),
        ))
        .map_err(failed("reading the store under its lock"))?;
    let head: u64 = locked
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .ok_or_else(|| StoreError::Backend("the store's feed has no head row".into()))?;
    let mut before = Vec::new();
    let mut seen_changes = Vec::new();
    for row in change_rows {
        let (seq, node, kind, keys, record): (i64, String, i16, String, Option<Vec<u8>>) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        let mine = node == store.node;
        seen_changes.push(Seen {
            seq: seq as u64,
            own_lease: mine && kind == LEASE_TAKEN,
            keys: keys.split('\n').map(str::to_string).collect(),
        });
        if let Some(record) = record {
            let (op, applied) = crate::store::change::decode(&record)?;
            before.push(Change {
                seq: seq as u64,
                mine,
                op,
                applied,
            });
        }
    }

    // 3. Stage, with what was read at once, and the rest key by key.
    let cache: RefCell<HashMap<Vec<u8>, Option<Vec<u8>>>> =
        RefCell::new(wanted.into_iter().map(|k| (k, None)).collect());
    for row in read_rows {
        cache.borrow_mut().insert(row.get(0), Some(row.get(1)));
    }
    let read = |k: &[u8]| -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = cache.borrow().get(k) {
            return Ok(v.clone());
        }
        let v: Option<Vec<u8>> = connection
            .block(client.query_opt(point, &[&k]))
            .map_err(failed("reading the store"))?
            .map(|row| row.get(0));
        cache.borrow_mut().insert(k.to_vec(), v.clone());
        Ok(v)
    };
    let consumers_with = |phone: PhoneNumber| -> Result<Vec<String>, StoreError> {
        let prefix = number_key(NUMBER_INDEX, phone);
        let mut end = prefix.clone();
        end.push(0xff);
        let rows = connection
            .block(client.query(range_keys, &[&prefix, &end]))
            .map_err(failed("reading the store"))?;
        Ok(rows
            .iter()
            .map(|r| String::from_utf8_lossy(&r.get::<_, Vec<u8>>(0)[prefix.len()..]).into_owned())
            .collect())
    };
    let mut st = Staging::new(&read);
    let mut touched_here: HashSet<String> = HashSet::new();
    let mut stale = 0u64;
    let outcomes = stage_jobs_checked(jobs, &mut st, &mut |op, st| {
        let keys = touched(op, st, &consumers_with)?;
        if let WriteOp::TakeLease { seen, .. } = op
            && !unchecked_for_tests()
        {
            let moved_on = |k: &String| k == EVERYTHING || keys.contains(k);
            let changed_here = keys.iter().any(|k| touched_here.contains(k)) || touched_here.contains(EVERYTHING);
            let changed_since = seen_changes
                .iter()
                .filter(|c| c.seq > *seen && !c.own_lease)
                .any(|c| c.keys.iter().any(moved_on));
            if changed_here || changed_since {
                stale += 1;
                return Err(StageError::Rejected(Rejected::Stale));
            }
        } else {
            touched_here.extend(keys);
        }
        Ok(())
    })?;

    // The feed's new changes: one per write that landed and changed what memory holds.
    // (Their keys are read after staging: a consumer that moved is named with its new
    // group; its old group's members only lose its contacts, which makes no decision of
    // theirs unsafe.)
    let (mut seqs, mut kinds, mut keys, mut records) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut through = head;
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        let Ok(applied) = outcome else { continue };
        for (op, applied) in job.iter().zip(applied) {
            if let Some(record) = encode(op, applied) {
                let op_keys = touched(op, &st, &consumers_with).map_err(|e| match e {
                    StageError::Store(e) => e,
                    StageError::Rejected(r) => StoreError::Backend(r.to_string()),
                })?;
                through += 1;
                seqs.push(through as i64);
                kinds.push(if matches!(op, WriteOp::TakeLease { .. }) {
                    LEASE_TAKEN
                } else {
                    0
                });
                keys.push(op_keys.join("\n"));
                records.push(record);
            }
        }
    }
    let writes = st.into_writes();

    // 4. The writes, the feed's new changes and head, the notification and COMMIT, sent
    //    together (after an error the transaction is aborted and COMMIT only rolls back).
    let (upsert_k, upsert_v): (Vec<Vec<u8>>, Vec<Vec<u8>>) = writes
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .unzip();
    let removed: Vec<Vec<u8>> = writes
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.clone())
        .collect();
    let nodes: Vec<&str> = vec![store.node.as_str(); seqs.len()];
    let (through_i64, through_text) = (through as i64, through.to_string());
    type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);
    let upsert_params: [Param; 2] = [&upsert_k, &upsert_v];
    let remove_params: [Param; 1] = [&removed];
    let append_params: [Param; 5] = [&seqs, &nodes, &kinds, &keys, &records];
    let advance_params: [Param; 1] = [&through_i64];
    let notify_params: [Param; 2] = [&super::feed::CHANNEL, &through_text];
    let landing = async {
        let writes = futures_util::future::try_join5(
            client.execute(upsert, &upsert_params),
            client.execute(remove, &remove_params),
            client.execute(append, &append_params),
            client.execute(advance, &advance_params),
            client.execute(notify, &notify_params),
        );
        let pruned = async {
            if prune {
                // A node that was away longer than this rebuilds from the database.
                client
                    .batch_execute("DELETE FROM predial_changes WHERE at < now() - interval '1 day'")
                    .await?;
            }
            Ok(())
        };
        futures_util::future::try_join3(writes, pruned, client.batch_execute("COMMIT")).await
    };
    connection.block(landing).map_err(failed("committing to the store"))?;
    if stale > 0 {
        crate::metrics::metrics().stale_reservations(stale);
    }
    Ok(Committed {
        outcomes,
        feed: Some(FeedCommit { before, through }),
    })
}

/// The negative control of the cluster tests: with `PREDIAL_TEST_UNCHECKED_LEASES=1`, a
/// debug build grants every lease its node decided, stale or not, so the tests can show
/// that they catch the over-admission that follows. Release builds have no such switch.
#[cfg(debug_assertions)]
fn unchecked_for_tests() -> bool {
    static SET: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SET.get_or_init(|| std::env::var_os("PREDIAL_TEST_UNCHECKED_LEASES").is_some_and(|v| v == "1"))
}

#[cfg(not(debug_assertions))]
fn unchecked_for_tests() -> bool {
    false
}

/// What a write touches, as a change's `keys` name it: its consumer and the consumer's
/// group (both groups, for a consumer moving between them); every consumer who has a
/// number, for an opt-out; everything, for what every decision reads (rules, programs,
/// Do Not Call). Prompts and notes touch nothing a decision reads.
fn touched(
    op: &WriteOp,
    st: &Staging,
    consumers_with: &dyn Fn(PhoneNumber) -> Result<Vec<String>, StoreError>,
) -> Result<Vec<String>, StageError> {
    let with_group = |id: &str| -> Result<Vec<String>, StageError> {
        let k = key(CONSUMER, id);
        let group = match st.get(&k)? {
            Some(v) => Some(decode::<pb::Consumer>(&k, &v)?.group_id).filter(|g| !g.is_empty()),
            None => None,
        };
        Ok(std::iter::once(id.to_string()).chain(group).collect())
    };
    Ok(match op {
        WriteOp::PutConsumer(c) => {
            let mut keys = with_group(&c.id)?;
            keys.extend(c.group_id.clone());
            keys
        }
        WriteOp::RecordContact(c) => with_group(&c.consumer_id)?,
        WriteOp::TakeLease { lease, .. } => with_group(&lease.consumer_id)?,
        WriteOp::ReleaseLease { consumer_id, .. }
        | WriteOp::SetExclusionFlags { consumer_id, .. }
        | WriteOp::SetUserExclusion { consumer_id, .. }
        | WriteOp::SetConsent { consumer_id, .. } => with_group(consumer_id)?,
        WriteOp::PutCallback(cb) => with_group(&cb.consumer_id)?,
        WriteOp::SetOptOut { phone, .. } => consumers_with(*phone)?,
        WriteOp::PutRuleSet(_)
        | WriteOp::PutProgram(_)
        | WriteOp::AddProgramNumbers { .. }
        | WriteOp::CommitDoNotCall { .. }
        | WriteOp::PutReassigned(_) => {
            vec![EVERYTHING.to_string()]
        }
        WriteOp::IssuePrompt { .. }
        | WriteOp::AnswerPrompt { .. }
        | WriteOp::Note(_)
        | WriteOp::StageDoNotCall { .. } => vec![],
    })
}

/// The keys a write will read, to fetch them all at once (what is missed is read one by
/// one).
fn reads_of(op: &WriteOp) -> Vec<Vec<u8>> {
    let consumer = |id: &str| key(CONSUMER, id);
    let mut keys = own_reads_of(op, consumer);
    // Every write that may be evidence numbers its record.
    if matches!(
        op,
        WriteOp::RecordContact(_) | WriteOp::TakeLease { .. } | WriteOp::SetConsent { .. } | WriteOp::Note(_)
    ) {
        keys.push(key(META, EVIDENCE_SEQ));
    }
    keys
}

fn own_reads_of(op: &WriteOp, consumer: impl Fn(&str) -> Vec<u8>) -> Vec<Vec<u8>> {
    match op {
        WriteOp::PutConsumer(c) => vec![consumer(&c.id)],
        WriteOp::RecordContact(c) => {
            let mut keys = vec![
                key(EVENT, &c.event_id),
                consumer(&c.consumer_id),
                key(UNSETTLED, &c.consumer_id),
            ];
            if let Some(phone) = c.phone {
                keys.push(callback_key(&c.consumer_id, phone));
            }
            if let Some(id) = c.attempt_id {
                keys.push(lease_key(id));
            }
            keys
        }
        WriteOp::TakeLease { lease, .. } => vec![consumer(&lease.consumer_id), key(UNSETTLED, &lease.consumer_id)],
        WriteOp::ReleaseLease {
            consumer_id,
            attempt_id,
        } => vec![
            lease_key(*attempt_id),
            consumer(consumer_id),
            key(UNSETTLED, consumer_id),
        ],
        WriteOp::SetExclusionFlags { consumer_id, .. } | WriteOp::SetUserExclusion { consumer_id, .. } => {
            vec![key(EXCLUSIONS, consumer_id), consumer(consumer_id)]
        }
        WriteOp::PutCallback(cb) => vec![consumer(&cb.consumer_id)],
        WriteOp::SetConsent { consumer_id, .. } => vec![consumer(consumer_id)],
        WriteOp::AnswerPrompt { token, .. } => vec![key(PROMPT, token)],
        WriteOp::Note(_) => vec![key(META, "note-seq")],
        WriteOp::CommitDoNotCall { list, .. } => vec![key(DNC_LIST, list), key(META, LEGACY_DNC_SEQ)],
        WriteOp::PutReassigned(_) => vec![key(META, crate::store::kv::reassigned::REASSIGNED_SEQ)],
        WriteOp::PutRuleSet(_)
        | WriteOp::SetOptOut { .. }
        | WriteOp::IssuePrompt { .. }
        | WriteOp::PutProgram(_)
        | WriteOp::AddProgramNumbers { .. }
        | WriteOp::StageDoNotCall { .. } => vec![],
    }
}
