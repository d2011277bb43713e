//! The error answers of the OpenAPI document, written once for every operation from what
//! the server does to every request (so none can be forgotten on a route): a bad
//! parameter or body is 400, missing credentials 401, a role, scope or CSRF refusal 403,
//! an id nobody (or nobody the caller may see) has 404, a taken value or a row still in
//! use 409, a body too large or of the wrong type 413/415, a full disk on a write 503.
//! Each names the one error shape, `ErrorBody`. Answers a route documents itself (with
//! its own description) are kept.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

/// The shared answers: status, component name, description.
const ANSWERS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "a parameter or the body is invalid (`field` names it)",
    ),
    ("401", "Unauthorized", "no valid credentials"),
    (
        "403",
        "Forbidden",
        "the caller's role or token scope does not allow this, or a cookie session sent no CSRF token",
    ),
    (
        "404",
        "NotFound",
        "no such object, or none the caller may see",
    ),
    (
        "409",
        "Conflict",
        "a unique value is taken, or the object is still in use (`field` names it)",
    ),
    (
        "413",
        "PayloadTooLarge",
        "the body is larger than this route takes",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "the body is not of a type this route takes",
    ),
    (
        "503",
        "Unavailable",
        "the server's disk is full: nothing was written; try again after `Retry-After` seconds",
    ),
];

/// Adds the shared error answers to every operation of `document`.
pub fn document_errors(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (_, name, description) in ANSWERS {
        components.responses.insert(
            (*name).to_owned(),
            RefOr::T(
                Response::builder()
                    .description(*description)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .build(),
            ),
        );
    }
    for item in document.paths.paths.values_mut() {
        let writes = [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in writes.into_iter().flatten() {
            add(operation, true);
        }
        if let Some(operation) = item.get.as_mut() {
            add(operation, false);
        }
    }
}

fn add(operation: &mut Operation, writes: bool) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path_id = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_input = !parameters.is_empty() || operation.request_body.is_some();
    // An operation that names an empty requirement is public (health, login, signed hooks).
    let public = operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().all(is_empty_requirement));
    for (status, name, _) in ANSWERS {
        let wanted = match *status {
            "400" => has_input,
            "401" | "403" => !public,
            "404" => has_path_id,
            "409" | "503" => writes,
            "413" | "415" => operation.request_body.is_some(),
            _ => false,
        };
        if wanted {
            operation
                .responses
                .responses
                .entry((*status).to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
        }
    }
}

fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement)
        .is_ok_and(|value| value.as_object().is_some_and(|o| o.is_empty()))
}

/// Adds what the descriptions say to the parameters' and properties' schemas, so clients
/// and generators see it: a day written `YYYY-MM-DD` is `format: date` (not where an RFC
/// 3339 instant is also taken), a page size of "1 to 1000" or "at most 1000" has those
/// bounds, and a text whose description lists its values (`high, low or tech`) has them
/// as its `enum` (a sort key's as a pattern).
pub fn describe_formats(document: &mut serde_json::Value) {
    // (`get_mut`, not indexing: indexing a JSON object mutably adds the key as null.)
    if let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for operation in paths.values_mut().filter_map(|item| item.as_object_mut()) {
            for operation in operation.values_mut() {
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(|p| p.as_array_mut())
                {
                    for parameter in parameters {
                        let description = parameter["description"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        if let Some(schema) = parameter.get_mut("schema") {
                            refine(schema, &description);
                        }
                    }
                }
            }
        }
    }
    if let Some(schemas) = document
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(|s| s.as_object_mut())
    {
        for schema in schemas.values_mut() {
            if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
                for property in properties.values_mut() {
                    let description = property["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    refine(property, &description);
                }
            }
        }
    }
}

fn refine(schema: &mut serde_json::Value, description: &str) {
    let types = match &schema["type"] {
        serde_json::Value::String(one) => vec![one.clone()],
        serde_json::Value::Array(many) => many
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => return,
    };
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if types.iter().any(|t| t == "string")
        && description.contains("YYYY-MM-DD")
        && !description.contains("RFC 3339")
        && !object.contains_key("format")
    {
        object.insert("format".into(), "date".into());
    }
    if types.iter().any(|t| t == "string")
        && !object.contains_key("enum")
        && let Some(mut values) = listed_values(description)
    {
        if description.contains("prefix `-`") {
            // A sort key: each value, descending with a leading `-`.
            let keys: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
            object.insert("pattern".into(), format!("^-?({})$", keys.join("|")).into());
        } else {
            if types.iter().any(|t| t == "null") {
                values.push(serde_json::Value::Null);
            }
            object.insert("enum".into(), values.into());
        }
    }
    if types.iter().any(|t| t == "integer")
        && (description.contains("1 to 1000") || description.contains("at most 1000"))
    {
        object.insert("minimum".into(), 1.into());
        object.insert("maximum".into(), 1000.into());
    }
}

/// The values a description lists as the only ones (`high, low or tech`, `json (default)
/// or csv`, `Touch tier: high, low or tech.`): the first clause (split at `:` and `;`)
/// that is nothing but lower-case words joined by commas and one `or`, once notes in
/// parentheses and backticks are left out. A description that lists values among other
/// words (`A user id, a user's email, me, or none`) lists none.
fn listed_values(description: &str) -> Option<Vec<serde_json::Value>> {
    let mut plain = String::new();
    let mut depth = 0_u32;
    for c in description.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '`' => {}
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    plain.split([':', ';']).find_map(|clause| {
        let clause = clause.trim().trim_end_matches('.').trim();
        let (head, last) = clause.rsplit_once(" or ")?;
        let mut values: Vec<&str> = head.split(',').map(str::trim).collect();
        values.push(last.trim());
        (values.len() >= 2 && values.iter().all(|v| word(v)))
            .then(|| values.into_iter().map(serde_json::Value::from).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::listed_values;

    fn listed(description: &str) -> Vec<String> {
        listed_values(description)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn only_a_description_made_of_a_list_of_values_gives_an_enum() {
        assert_eq!(
            listed("Touch tier: high, low or tech."),
            ["high", "low", "tech"]
        );
        assert_eq!(listed("json (default) or csv."), ["json", "csv"]);
        assert_eq!(
            listed("`red` (below 40), `yellow` (below 70) or `green`"),
            ["red", "yellow", "green"]
        );
        assert_eq!(
            listed("en (default) or ja: the customer's language."),
            ["en", "ja"]
        );
        assert_eq!(
            listed("friction, delight or neutral; null: back to the rules."),
            ["friction", "delight", "neutral"]
        );
        assert!(listed("A user id, a user's email, `me`, or `none` (the team queue).").is_empty());
        assert!(listed("`user:ID`, `contact:ID`, or null (Mikawaya).").is_empty());
        assert!(
            listed("Send as the HTTP Basic user name (empty password) or as `writeKey`.")
                .is_empty()
        );
        assert!(listed("RFC 3339, or a date.").is_empty());
    }
}
