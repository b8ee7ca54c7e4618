//! The evidence export: the store's log of every recorded event, scanned in time order and
//! completed with what the rules say about each record (the version in force at its
//! instant, whether a contact counted), handed on one record at a time.
//!
//! Nothing is gathered: the scan reads as the caller takes, so memory stays flat however
//! many records an export holds. A scan over a shared store reads what every node
//! committed.

use super::engine::{Engine, EngineError};
use crate::domain::Profile;
use crate::domain::consumer::Whereabouts;
use crate::domain::evidence::{Evidence, ExportQuery};
use crate::store::StoreError;

impl Engine {
    /// Hands every record `query` asks for to `send`, in time order, until `send` answers
    /// false (the reader went away). Blocking: run it off the async runtime. Answers how
    /// many records were sent.
    pub fn export(&self, query: &ExportQuery, send: &mut dyn FnMut(Evidence) -> bool) -> Result<u64, EngineError> {
        let timeline = self.inner.rules.timeline();
        let to_ms = query.to.map(|t| t.timestamp_millis());
        let from_ms = query.from.map(|t| t.timestamp_millis());
        let mut places = LastPlace::default();
        let mut sent = 0u64;
        self.inner
            .store
            .evidence(query.consumer_id.as_deref(), from_ms, &mut |mut e| {
                let at_ms = e.at.timestamp_millis();
                if to_ms.is_some_and(|to| at_ms >= to) {
                    return Ok(false);
                }
                if !query.admits(Some(e.kind), at_ms) {
                    return Ok(true);
                }
                let at = places.of(self, &e.consumer_id)?;
                e.complete(timeline.in_force_at_ms(at_ms), &at);
                sent += 1;
                Ok(send(e))
            })?;
        Ok(sent)
    }
}

/// Where the last consumer is: records of one consumer come together in a consumer's
/// export, and a range's are looked up once per change of consumer.
#[derive(Default)]
struct LastPlace {
    last: Option<(String, Whereabouts)>,
}

impl LastPlace {
    fn of(&mut self, engine: &Engine, id: &str) -> Result<Whereabouts, StoreError> {
        if let Some((last, at)) = &self.last
            && last == id
        {
            return Ok(*at);
        }
        let at = match id {
            "" => None,
            id => engine.inner.store.consumer(id)?,
        }
        .map(|c| Profile::of(&c).whereabouts())
        .unwrap_or_default();
        self.last = Some((id.to_string(), at));
        Ok(at)
    }
}
