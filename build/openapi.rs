//! Writes the OpenAPI 3 document of the HTTP/JSON API from the descriptor set, at build
//! time, so that it cannot drift from the contract: one path per `google.api.http` route
//! (the same [`routes`](super::routes) the server matches), one schema per message in the
//! canonical proto3 JSON mapping (lowerCamelCase names, 64-bit integers as strings, enums
//! by name, Timestamps as RFC 3339 strings), and `google.rpc.Status` for every error.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value, json};

use super::routes::{Body, Route};

pub fn document(routes: &[Route], version: &str) -> Value {
    let mut schemas = BTreeMap::new();
    let mut paths = serde_json::Map::new();
    for route in routes {
        let method = &route.method;
        let input = method.input();
        let mut parameters: Vec<Value> = route
            .path_fields()
            .map(|name| {
                let field = input.get_field_by_name(name).expect("routes checks path fields");
                json!({"name": name, "in": "path", "required": true, "schema": field_schema(&field, &mut schemas)})
            })
            .collect();
        if route.body == Body::None {
            let in_path: Vec<&str> = route.path_fields().collect();
            for field in input.fields().filter(|f| !in_path.contains(&f.name())) {
                if matches!(field.kind(), Kind::Message(m) if !is_well_known_scalar(&m)) || field.is_map() {
                    continue;
                }
                parameters.push(json!({
                    "name": field.json_name(),
                    "in": "query",
                    "required": false,
                    "schema": field_schema(&field, &mut schemas),
                }));
            }
        }
        let mut operation = json!({
            "operationId": format!("{}_{}", method.parent_service().name(), method.name()),
            "tags": [method.parent_service().name()],
            "summary": comment(method),
            "parameters": parameters,
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "The answer.",
                    "content": {"application/json": {"schema": message_ref(&method.output(), &mut schemas)}},
                },
                "default": {
                    "description": "An error: the gRPC status, with the HTTP status of its code.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}},
                },
            },
        });
        if route.body == Body::Whole {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": message_ref(&input, &mut schemas)}},
            });
        }
        let entry = paths.entry(route.template.clone()).or_insert_with(|| json!({}));
        entry[route.verb.to_ascii_lowercase()] = operation;
    }
    paths.insert(
        "/v1/health".into(),
        json!({"get": {
            "operationId": "Health_Check",
            "tags": ["Health"],
            "summary": "grpc.health.v1 over HTTP: 200 while the server is SERVING, 503 while it is not. No token needed.",
            "responses": {
                "200": {"description": "Serving.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthStatus"}}}},
                "503": {"description": "Not serving.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthStatus"}}}},
            },
        }}),
    );
    // The two streaming RPCs with an HTTP form of their own (`src/api/http/{evidence,dnc}.rs`).
    if let Some(pool) = routes.first().map(|r| r.method.parent_pool().clone()) {
        let summary = pool
            .get_message_by_name("predial.v1.ImportSummary")
            .map(|m| message_ref(&m, &mut schemas));
        let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": description});
        paths.insert(
            "/v1/evidence".into(),
            json!({"get": {
                "operationId": "Compliance_Export",
                "tags": ["Compliance"],
                "summary": "Every recorded event in time order (Compliance.Export), streamed as CSV with a header row or as NDJSON. Without consumerId, from and to are required.",
                "parameters": [
                    query("consumerId", "One consumer's events."),
                    query("from", "RFC 3339: events at or after."),
                    query("to", "RFC 3339: events before."),
                    query("kinds", "Only these kinds (repeat the parameter): CONTACT, LEASE, LEASE_SETTLED, LEASE_RELEASED, PROMPT, OVERRIDE, EXCLUSION, OPT_OUT, OPT_IN, CALLBACK, CONSENT, RULES, NOTE."),
                    query("format", "csv (default) or ndjson."),
                ],
                "responses": {
                    "200": {"description": "The records.", "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}},
                    "default": {"description": "The call failed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}}},
                },
                "security": [{"bearer": []}],
            }}),
        );
        paths.insert(
            "/v1/dnc/{list}:import".into(),
            json!({"post": {
                "operationId": "Programs_ImportDoNotCall",
                "tags": ["Programs"],
                "summary": "A Do Not Call list file into a named list (ImportDoNotCall), streamed: one number per line, the registry's 2015550123 or 201,5550123, or E.164. All or nothing; a bad line is named.",
                "parameters": [
                    {"name": "list", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "mode", "in": "query", "required": false, "schema": {"type": "string", "enum": ["replace", "add", "remove"]}, "description": "Default add."},
                ],
                "requestBody": {"required": true, "content": {"text/plain": {"schema": {"type": "string"}}}},
                "responses": {
                    "200": {"description": "What the import did.", "content": {"application/json": {"schema": summary}}},
                    "default": {"description": "The call failed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/google.rpc.Status"}}}},
                },
                "security": [{"bearer": []}],
            }}),
        );
    }
    schemas.insert(
        "HealthStatus".into(),
        json!({"type": "object", "properties": {"status": {"type": "string", "enum": ["SERVING", "NOT_SERVING"]}}}),
    );
    schemas.insert(
        "google.rpc.Status".into(),
        json!({
            "type": "object",
            "description": "The gRPC status of a failed call.",
            "properties": {
                "code": {"type": "integer", "format": "int32", "description": "The google.rpc.Code."},
                "message": {"type": "string", "description": "What went wrong, naming the field when a field is wrong."},
                "details": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["code", "message"],
        }),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "predial HTTP/JSON API",
            "version": version,
            "description": "Every unary RPC of predial's gRPC contract, transcoded by the google.api.http annotations in proto/. Bodies are the canonical proto3 JSON mapping. The evidence export and Do Not Call imports stream (CSV or NDJSON out, a text file in). CanDial has no JSON form; CheckBatch serves bulk.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

/// The method's leading comment in its `.proto` file.
fn comment(method: &prost_reflect::MethodDescriptor) -> String {
    method
        .parent_file()
        .file_descriptor_proto()
        .source_code_info
        .as_ref()
        .and_then(|info| {
            info.location
                .iter()
                .find(|l| l.path == method.path())
                .and_then(|l| l.leading_comments.clone())
        })
        .map(|c| c.trim().replace('\n', " "))
        .unwrap_or_else(|| method.name().to_string())
}

fn is_well_known_scalar(m: &MessageDescriptor) -> bool {
    matches!(m.full_name(), "google.protobuf.Timestamp" | "google.protobuf.Duration")
}

fn message_ref(message: &MessageDescriptor, schemas: &mut BTreeMap<String, Value>) -> Value {
    if let Some(inline) = well_known(message) {
        return inline;
    }
    let name = message.full_name().to_string();
    if !schemas.contains_key(&name) {
        schemas.insert(name.clone(), json!({}));
        let mut properties = serde_json::Map::new();
        for field in message.fields() {
            properties.insert(field.json_name().to_string(), field_schema(&field, schemas));
        }
        schemas.insert(
            name.clone(),
            json!({"type": "object", "properties": properties, "additionalProperties": false}),
        );
    }
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn well_known(message: &MessageDescriptor) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"}),
        "google.protobuf.Empty" => json!({"type": "object"}),
        _ => return None,
    })
}

fn field_schema(field: &FieldDescriptor, schemas: &mut BTreeMap<String, Value>) -> Value {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field is an entry message")
        };
        let value = entry.map_entry_value_field();
        return json!({"type": "object", "additionalProperties": single(&value, schemas)});
    }
    if field.is_list() {
        return json!({"type": "array", "items": single(field, schemas)});
    }
    single(field, schemas)
}

fn single(field: &FieldDescriptor, schemas: &mut BTreeMap<String, Value>) -> Value {
    match field.kind() {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 4294967295u64})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"})
        }
        Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::Enum(e) => {
            json!({"type": "string", "enum": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>()})
        }
        Kind::Message(m) => message_ref(&m, schemas),
    }
}
