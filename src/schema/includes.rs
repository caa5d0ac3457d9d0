//! The JSON Schema of `includes`: namespaces (names without `:`) mapped to file paths.

use schemars::{Schema, SchemaGenerator, json_schema};

pub(super) fn schema(_: &mut SchemaGenerator) -> Schema {
  json_schema!({
    "type": "object",
    "propertyNames": {"pattern": crate::names::PATTERN},
    "additionalProperties": {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]*$"}
  })
}
