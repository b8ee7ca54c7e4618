//! `predial.v1.Accounts`: consumers, exclusions, STOP replies and the audit trail.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::paging;
use super::{engine_error, invalid};
use crate::domain::audit::NoteKind;
use crate::domain::consumer::validate_id;
use crate::domain::exclusions::{ExclusionLevel, ExclusionStatus};
use crate::domain::{ExcludedBy, Exclusions, FieldError, PhoneNumber};
use crate::proto::convert::{consumer_from, consumer_to, enum_field, opt_phone, opt_timestamp_from, timestamp_to};
use crate::proto::v1::{self as pb, accounts_server::Accounts};
use crate::state::{ConsumerFilter, Engine, NoteFilter};

/// The listing name consumer page tokens are checked against.
const CONSUMERS: &str = "consumers";

/// The time range and kinds of a notes listing; `from` after `to` is refused.
fn note_filter(r: &pb::ListAuditNotesRequest) -> Result<NoteFilter, FieldError> {
    let from = opt_timestamp_from(&r.from, "from")?;
    let to = opt_timestamp_from(&r.to, "to")?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(FieldError::new("from", "is after to"));
    }
    let kinds = r
        .kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            NoteKind::from_name(k.trim())
                .ok_or_else(|| FieldError::new(format!("kinds[{i}]"), format!("{k:?} is not a note kind")))
        })
        .collect::<Result<_, _>>()?;
    Ok(NoteFilter { from, to, kinds })
}

pub struct AccountsService {
    engine: Engine,
}

impl AccountsService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

fn status_to(s: ExclusionStatus) -> pb::ExclusionStatus {
    let level = match s.level {
        ExclusionLevel::None => pb::ExclusionLevel::None,
        ExclusionLevel::Partial => pb::ExclusionLevel::Partial,
        ExclusionLevel::Full => pb::ExclusionLevel::Full,
    };
    pb::ExclusionStatus {
        status: level as i32,
        bankruptcy: s.flags.bankruptcy,
        disable_text_and_auto_calls: s.flags.disable_text_and_auto_calls,
        disable_auto_communications: s.flags.disable_auto_communications,
        phones: s
            .numbers
            .into_iter()
            .map(|n| pb::PhoneExclusion {
                number: n.number.to_string(),
                excluded_by_customer_at: n.excluded_by_customer_at.map(timestamp_to),
                excluded_by_user: n.excluded_by_user,
            })
            .collect(),
        consumer_id: s.consumer_id,
    }
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn upsert_consumer(&self, request: Request<pb::Consumer>) -> Result<Response<pb::Consumer>, Status> {
        let consumer = consumer_from(request.get_ref()).map_err(invalid)?;
        let stored = self.engine.upsert_consumer(consumer).await.map_err(engine_error)?;
        Ok(Response::new(consumer_to(&stored)))
    }

    async fn get_consumer(&self, request: Request<pb::GetConsumerRequest>) -> Result<Response<pb::Consumer>, Status> {
        let id = validate_id(&request.get_ref().id, "id").map_err(invalid)?;
        match self.engine.consumer(id).map_err(engine_error)? {
            Some(c) => Ok(Response::new(consumer_to(&c))),
            None => Err(Status::not_found(format!("no consumer {id:?}"))),
        }
    }

    async fn set_exclusions(
        &self,
        request: Request<pb::SetExclusionsRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let flags = Exclusions {
            bankruptcy: r.bankruptcy,
            disable_text_and_auto_calls: r.disable_text_and_auto_calls,
            disable_auto_communications: r.disable_auto_communications,
            user_excluded: thin_vec::ThinVec::new(),
        };
        let status = self
            .engine
            .set_exclusions(consumer_id, flags, r.operator_id.trim())
            .await
            .map_err(engine_error)?;
        Ok(Response::new(status_to(status)))
    }

    /// `by` UNSPECIFIED means USER.
    async fn exclude_phone(
        &self,
        request: Request<pb::ExcludePhoneRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let phone = PhoneNumber::parse_field(&r.phone, "phone").map_err(invalid)?;
        let by = enum_field::<ExcludedBy>(r.by, "by")
            .map_err(invalid)?
            .unwrap_or(ExcludedBy::User);
        let status = self
            .engine
            .exclude_phone(consumer_id, phone, by, r.excluded, r.operator_id.trim())
            .await
            .map_err(engine_error)?;
        Ok(Response::new(status_to(status)))
    }

    async fn inbound_text(
        &self,
        request: Request<pb::InboundTextRequest>,
    ) -> Result<Response<pb::InboundTextResponse>, Status> {
        let r = request.get_ref();
        let phone = PhoneNumber::parse_field(&r.phone, "phone").map_err(invalid)?;
        let at = opt_timestamp_from(&r.at, "at")
            .map_err(invalid)?
            .unwrap_or_else(Utc::now);
        let caller_id = opt_phone(&r.caller_id, "caller_id").map_err(invalid)?;
        let outcome = self
            .engine
            .inbound_text(phone, &r.body, at, caller_id)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::InboundTextResponse {
            phone: outcome.phone.to_string(),
            keyword: outcome.keyword.unwrap_or("").to_string(),
            excluded: outcome.excluded,
            consumer_ids: outcome.consumer_ids,
        }))
    }

    async fn get_exclusion_status(
        &self,
        request: Request<pb::GetConsumerRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        let id = validate_id(&request.get_ref().id, "id").map_err(invalid)?;
        Ok(Response::new(status_to(
            self.engine.exclusion_status(id).map_err(engine_error)?,
        )))
    }

    /// One consumer's notes, or with no consumer every note (rule changes included),
    /// oldest first, filtered by time and kind, a page at a time.
    async fn list_audit_notes(
        &self,
        request: Request<pb::ListAuditNotesRequest>,
    ) -> Result<Response<pb::ListAuditNotesResponse>, Status> {
        let r = request.get_ref();
        let consumer = match r.consumer_id.trim() {
            "" => None,
            given => Some(validate_id(given, "consumer_id").map_err(invalid)?),
        };
        let filter = note_filter(r).map_err(invalid)?;
        let size = paging::page_size(r.page_size).map_err(invalid)?;
        let listing = format!("audit-notes/{}", consumer.unwrap_or("*"));
        let after = paging::start_number(&listing, &r.page_token)
            .map_err(invalid)?
            .unwrap_or(0);
        let mut notes = self
            .engine
            .notes_page(consumer, after, size + 1, &filter)
            .map_err(engine_error)?;
        let next_page_token = paging::next_token(&mut notes, size, |n| paging::token(&listing, &n.id.to_be_bytes()));
        let notes = notes
            .into_iter()
            .map(|n| pb::AuditNote {
                id: n.id.to_string(),
                at: Some(timestamp_to(n.note.at)),
                operator_id: n.note.operator_id,
                kind: n.note.kind.name().to_string(),
                text: n.note.text,
                consumer_id: n.note.consumer_id,
            })
            .collect();
        Ok(Response::new(pb::ListAuditNotesResponse { notes, next_page_token }))
    }

    /// Consumers in id order, by state, group and number, a page at a time.
    async fn list_consumers(
        &self,
        request: Request<pb::ListConsumersRequest>,
    ) -> Result<Response<pb::ListConsumersResponse>, Status> {
        let r = request.get_ref();
        let filter = ConsumerFilter {
            state: r.state.trim().to_uppercase(),
            group_id: r.group_id.trim().to_string(),
            phone: match r.phone.trim() {
                "" => None,
                given => Some(
                    PhoneNumber::parse(given)
                        .map_err(|e| invalid(crate::domain::FieldError::new("phone", e.to_string())))?,
                ),
            },
        };
        let size = paging::page_size(r.page_size).map_err(invalid)?;
        let after = paging::start_text(CONSUMERS, &r.page_token).map_err(invalid)?;
        let mut consumers = self
            .engine
            .consumers_page(after.as_deref(), size + 1, &filter)
            .map_err(engine_error)?;
        let next_page_token = paging::next_token(&mut consumers, size, |c| paging::token(CONSUMERS, c.id.as_bytes()));
        Ok(Response::new(pb::ListConsumersResponse {
            consumers: consumers.iter().map(consumer_to).collect(),
            next_page_token,
        }))
    }
}
