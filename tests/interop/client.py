"""A client nobody on the team wrote: Python's grpcio, with stubs generated from proto/.

Usage: client.py STUBS_DIR ADDRESS ADMIN_TOKEN DIALER_TOKEN

Drives a real predial server through a decision (unary and streamed), recorded contacts
up to the Regulation F limit, and a STOP / START round trip by inbound text. Exits
non-zero, saying what differed, on the first surprise.
"""

import sys

stubs, address, admin_token, dialer_token = sys.argv[1:5]
sys.path.insert(0, stubs)

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402
from predial.v1 import accounts_pb2, accounts_pb2_grpc  # noqa: E402
from predial.v1 import common_pb2  # noqa: E402
from predial.v1 import decisions_pb2, decisions_pb2_grpc  # noqa: E402

PHONE = "+12125550100"


def ts(text):
    t = Timestamp()
    t.FromJsonString(text)
    return t


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def auth(token):
    return [("authorization", f"Bearer {token}")]


channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=30)
accounts = accounts_pb2_grpc.AccountsStub(channel)
decisions = decisions_pb2_grpc.DecisionsStub(channel)

# No token: refused before anything happens.
try:
    decisions.Check(decisions_pb2.DialRequest(consumer_id="py-1"))
    check(False, "a call without a token is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.UNAUTHENTICATED, f"a call without a token is UNAUTHENTICATED ({e.code()})")

# A dialer may not write accounts.
consumer = accounts_pb2.Consumer(
    id="py-1",
    role=common_pb2.ROLE_DEBTOR,
    state="NY",
    country="US",
    time_zone="America/New_York",
    phones=[accounts_pb2.Phone(number="(212) 555-0100")],
)
try:
    accounts.UpsertConsumer(consumer, metadata=auth(dialer_token))
    check(False, "a dialer cannot upsert a consumer")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.PERMISSION_DENIED, f"a dialer's upsert is PERMISSION_DENIED ({e.code()})")

saved = accounts.UpsertConsumer(consumer, metadata=auth(admin_token))
check(saved.phones[0].number == PHONE, f"the phone is normalised to E.164 ({saved.phones[0].number})")


def dial(request_id, at, channel_kind=common_pb2.CHANNEL_PHONE):
    return decisions_pb2.DialRequest(
        request_id=request_id,
        consumer_id="py-1",
        channel=channel_kind,
        phone=PHONE,
        mode=common_pb2.MODE_AUTO,
        at=ts(at),
    )


first = decisions.Check(dial("d-0", "2026-06-08T15:00:00Z"), metadata=auth(dialer_token))
check(first.verdict == common_pb2.VERDICT_ALLOW, f"a fresh consumer is ALLOWed ({first.verdict})")
check(first.request_id == "d-0", "the answer carries the request_id")

# Seven calls in seven days, recorded by the dialer; a repeat counts once.
for day in range(1, 8):
    event = decisions_pb2.ContactEvent(
        event_id=f"py-call-{day}",
        consumer_id="py-1",
        channel=common_pb2.CHANNEL_PHONE,
        phone=PHONE,
        result_code=0,
        occurred_at=ts(f"2026-06-0{day}T15:00:00Z"),
    )
    ack = decisions.RecordContact(event, metadata=auth(dialer_token))
    check(ack.event_id == f"py-call-{day}" and not ack.duplicate, f"call {day} acknowledged")
repeat = decisions.RecordContact(event, metadata=auth(dialer_token))
check(repeat.duplicate, "a repeated event_id is acknowledged as a duplicate")

# The eighth: denied, with the reason and the counts; streamed and unary agree.
streamed = list(
    decisions.CanDial(iter([dial("s-1", "2026-06-07T18:00:00Z"), dial("s-2", "2026-06-14T18:00:00Z")]),
                      metadata=auth(dialer_token))
)
check([d.request_id for d in streamed] == ["s-1", "s-2"], "the stream answers each request, in order")
eighth = streamed[0]
check(eighth.verdict == common_pb2.VERDICT_DENY, f"the eighth call in seven days is DENIED ({eighth.verdict})")
codes = [r.code for r in eighth.reasons]
check(common_pb2.REASON_CODE_MAX_CONTACTS in codes, f"with MAX_CONTACTS ({codes})")
check(eighth.attempts == 7 and eighth.max_contacts == 7, f"counting 7 of 7 ({eighth.attempts} of {eighth.max_contacts})")
check(eighth.HasField("next_allowed_at"), "and saying when it will be allowed")
later = streamed[1]
check(later.verdict != common_pb2.VERDICT_DENY, f"a week later it is allowed again ({later.verdict})")

# STOP by text excludes the number; START brings it back.
stop = accounts.InboundText(
    accounts_pb2.InboundTextRequest(phone="212-555-0100", body="  stop please", at=ts("2026-06-08T16:00:00Z")),
    metadata=auth(admin_token),
)
check(stop.keyword == "STOP" and stop.excluded, f"STOP is recognised and excludes ({stop.keyword}, {stop.excluded})")
check(list(stop.consumer_ids) == ["py-1"], f"for the consumer with that number ({list(stop.consumer_ids)})")
text = decisions.Check(dial("t-1", "2026-06-08T17:00:00Z", common_pb2.CHANNEL_TEXT), metadata=auth(dialer_token))
text_codes = [r.code for r in text.reasons]
check(text.verdict == common_pb2.VERDICT_DENY, f"a text after STOP is DENIED ({text.verdict})")
check(common_pb2.REASON_CODE_NUMBER_EXCLUDED_BY_CUSTOMER in text_codes, f"as excluded by the customer ({text_codes})")
start = accounts.InboundText(
    accounts_pb2.InboundTextRequest(phone=PHONE, body="START", at=ts("2026-06-08T18:00:00Z")),
    metadata=auth(admin_token),
)
check(start.keyword == "START" and not start.excluded, f"START clears it ({start.keyword}, {start.excluded})")
again = decisions.Check(dial("t-2", "2026-06-08T19:00:00Z", common_pb2.CHANNEL_TEXT), metadata=auth(dialer_token))
again_codes = [r.code for r in again.reasons]
check(common_pb2.REASON_CODE_NUMBER_EXCLUDED_BY_CUSTOMER not in again_codes, f"and texts are no longer excluded ({again_codes})")

# Bad input: INVALID_ARGUMENT naming the field.
try:
    decisions.Check(decisions_pb2.DialRequest(consumer_id="py-1", channel=common_pb2.CHANNEL_PHONE, phone="12"),
                    metadata=auth(dialer_token))
    check(False, "a bad phone is refused")
except grpc.RpcError as e:
    check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "phone" in e.details(),
          f"a bad phone is INVALID_ARGUMENT naming the field ({e.code()}: {e.details()})")

print("interop: all checks passed")
