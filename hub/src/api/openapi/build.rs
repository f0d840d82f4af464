//! The machinery the document is built with: schemars generators writing into
//! `#/components/schemas`, and a small builder for operations, so `openapi.rs` reads as the list
//! of routes and what each answers.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

/// The security scheme of a source's key (every source has its own).
pub(super) const SOURCE_KEY: &str = "sourceKey";
/// The same key sent as `X-API-Key`.
pub(super) const SOURCE_KEY_HEADER: &str = "sourceKeyHeader";
/// The security scheme of `api.operator_api_key`.
pub(super) const OPERATOR_KEY: &str = "operatorKey";

/// The schemas of the document's bodies: requests described as the hub reads them, responses
/// as it writes them (schemars' two contracts), both into `#/components/schemas`.
pub(super) struct Schemas {
    requests: SchemaGenerator,
    responses: SchemaGenerator,
}

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    })
}

impl Schemas {
    pub(super) fn new() -> Self {
        Self {
            requests: settings().for_deserialize().into_generator(),
            responses: settings().for_serialize().into_generator(),
        }
    }

    pub(super) fn request<T: JsonSchema>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    pub(super) fn response<T: JsonSchema>(&mut self) -> Value {
        self.responses.subschema_for::<T>().to_value()
    }

    /// A query struct's fields as OpenAPI query parameters, with their doc comments.
    pub(super) fn query<T: JsonSchema>() -> Vec<Value> {
        let root: Schema = settings()
            .with(|s| s.inline_subschemas = true)
            .for_deserialize()
            .into_generator()
            .into_root_schema_for::<T>();
        let root = root.to_value();
        let required: Vec<&str> = root["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = root["properties"].as_object() else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, schema)| {
                let mut schema = without_null(schema.clone());
                let description = schema
                    .as_object_mut()
                    .and_then(|s| s.remove("description"))
                    .unwrap_or(Value::Null);
                let mut p = json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": schema,
                });
                if !description.is_null() {
                    p["description"] = description;
                }
                p
            })
            .collect()
    }

    /// Every schema referenced so far. A type both read and written must be described the same
    /// way both times; a difference is reported by name.
    pub(super) fn into_components(mut self) -> Result<Map<String, Value>, Vec<String>> {
        let mut all = self.requests.take_definitions(true);
        let mut conflicts = Vec::new();
        for (name, schema) in self.responses.take_definitions(true) {
            match all.get(&name) {
                Some(existing) if *existing != schema => conflicts.push(name),
                Some(_) => {}
                None => {
                    all.insert(name, schema);
                }
            }
        }
        if conflicts.is_empty() {
            Ok(all)
        } else {
            Err(conflicts)
        }
    }
}

/// A query parameter is absent or has a value: `null` is not something a query can say.
fn without_null(mut schema: Value) -> Value {
    let Some(s) = schema.as_object_mut() else {
        return schema;
    };
    if let Some(Value::Array(types)) = s.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            s.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = s.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = s.get(key).cloned() {
            let rest: Vec<Value> = options
                .into_iter()
                .filter(|o| o.get("type") != Some(&json!("null")))
                .collect();
            if rest.len() == 1 {
                s.remove(key);
                if let Some(Value::Object(inner)) = rest.into_iter().next() {
                    for (k, v) in inner {
                        s.entry(k).or_insert(v);
                    }
                }
            } else {
                s.insert(key.into(), Value::Array(rest));
            }
        }
    }
    schema
}

/// One operation, built up by what it takes and what it can answer.
pub(super) struct Op {
    pub(super) value: Value,
}

impl Op {
    pub(super) fn new(id: &str, tag: &str, summary: &str, description: &str) -> Self {
        Self {
            value: json!({
                "operationId": id,
                "tags": [tag],
                "summary": summary,
                "description": description,
                "responses": {},
            }),
        }
    }

    /// Authenticated with a source's key (as a bearer token or `X-API-Key`).
    pub(super) fn source_key(mut self) -> Self {
        self.value["security"] = json!([{SOURCE_KEY: []}, {SOURCE_KEY_HEADER: []}]);
        self.problem(401, "No key, or a key no source has.")
    }

    /// Authenticated with `api.operator_api_key`.
    pub(super) fn operator_key(mut self) -> Self {
        self.value["security"] = json!([{OPERATOR_KEY: []}]);
        self.problem(401, "No key, or a key that is not the operator key.")
            .problem(
                403,
                "The hub has no `api.operator_api_key` (the operator endpoints are off), or the key is a source's.",
            )
    }

    pub(super) fn path_param(mut self, name: &str, description: &str) -> Self {
        self.push_params(vec![json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": {"type": "string"},
        })]);
        self
    }

    pub(super) fn query(mut self, params: Vec<Value>) -> Self {
        self.push_params(params);
        self
    }

    pub(super) fn push_params(&mut self, params: Vec<Value>) {
        let list = self
            .value
            .as_object_mut()
            .expect("an operation is an object")
            .entry("parameters")
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.extend(params);
        }
    }

    /// The request body, by media type.
    pub(super) fn body(mut self, required: bool, content: Value) -> Self {
        self.value["requestBody"] = json!({"required": required, "content": content});
        self
    }

    pub(super) fn answer(mut self, status: u16, description: &str, content: Value) -> Self {
        self.value["responses"][status.to_string()] =
            json!({"description": description, "content": content});
        self
    }

    pub(super) fn json(self, status: u16, description: &str, schema: Value) -> Self {
        self.answer(
            status,
            description,
            json!({"application/json": {"schema": schema}}),
        )
    }

    /// An RFC 9457 problem (`application/problem+json`), with why this operation answers it.
    pub(super) fn problem(mut self, status: u16, description: &str) -> Self {
        let mut response = json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        });
        if status == 503 {
            response["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            }});
        }
        self.value["responses"][status.to_string()] = response;
        self
    }

    /// The store did not answer.
    pub(super) fn unavailable(self) -> Self {
        self.problem(
            503,
            "The hub's store is unavailable: retry after `Retry-After` seconds.",
        )
    }

    /// The body could not be read, or is larger than `api.body_limit_bytes`.
    pub(super) fn body_problems(self) -> Self {
        self.problem(400, "The request body could not be read.")
            .problem(413, "The body is larger than `api.body_limit_bytes`.")
    }

    /// A whole file's body could not be read, is empty, or is larger than
    /// `api.file_upload_limit_bytes`.
    pub(super) fn file_problems(self) -> Self {
        self.problem(400, "The request body could not be read, or is empty.").problem(
            413,
            "The file is larger than `api.file_upload_limit_bytes` (or, for a file that is one input, `api.body_limit_bytes`).",
        )
    }

    /// A follow-up operation fed from this answer (for readers and for schemathesis's stateful
    /// phase).
    pub(super) fn link(mut self, status: u16, name: &str, operation: &str, id: &str) -> Self {
        self.value["responses"][status.to_string()]["links"][name] =
            json!({"operationId": operation, "parameters": {"id": id}});
        self
    }

    /// Links from an answer holding a handoff (at `at`) to what can be done with it.
    pub(super) fn handoff_links(self, status: u16, at: &str) -> Self {
        let id = format!("$response.body#{at}/id");
        self.link(status, "handoff", "getHandoff", &id)
            .link(status, "acknowledge", "acknowledgeHandoff", &id)
            .link(status, "startExemption", "startExemption", &id)
            .link(status, "endExemption", "endExemption", &id)
            .link(
                status,
                "childTimeline",
                "childTimeline",
                &format!("$response.body#{at}/child_id"),
            )
    }
}
