"""Lists and resolves predial's services through server reflection v1alpha, the way
older gRPC tools do, with Python's grpcio-reflection (its descriptor database asks only
for v1alpha).

Usage: reflection_v1alpha.py ADDRESS
Prints each service with its methods; exits non-zero on the first surprise.
"""

import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

channel = grpc.insecure_channel(sys.argv[1])
database = ProtoReflectionDescriptorDatabase(channel)
services = sorted(database.get_services())
pool = DescriptorPool(database)
for name in services:
    if name.startswith("grpc."):
        print(name)
        continue
    service = pool.FindServiceByName(name)
    print(name, " ".join(m.name for m in service.methods))
check = pool.FindMessageTypeByName("predial.v1.DialDecision")
if "attempt_id" not in check.fields_by_name:
    sys.exit("predial.v1.DialDecision has no attempt_id")
print("reflection v1alpha: all checks passed")
