//! The HTTP routes the `google.api.http` annotations in `proto/` declare, read from the
//! descriptor set: a verb, a path template (`/v1/consumers/{id}`, `/v1/decisions:check`)
//! and which part of the request the body fills.
//!
//! This one file is compiled twice: into the server, which matches requests against the
//! routes, and into `build.rs`, which writes the OpenAPI document from the same routes —
//! so the document and the server cannot disagree. It depends on `prost-reflect` alone.
//!
//! The templates use the subset of Google's path syntax that predial's annotations need:
//! literal segments, `{field}` for one whole segment, and a `:verb` suffix on the last.

use prost_reflect::{DescriptorPool, MethodDescriptor, Value};

/// One RPC's HTTP binding.
#[derive(Debug, Clone)]
pub struct Route {
    /// `GET`, `PUT`, `POST`, `DELETE` or `PATCH`.
    pub verb: &'static str,
    /// The template as written, e.g. `/v1/consumers/{consumer_id}/exclusions`.
    pub template: String,
    segments: Vec<Segment>,
    /// What follows the last segment's `:`, e.g. `check` in `/v1/decisions:check`.
    suffix: Option<String>,
    pub body: Body,
    pub method: MethodDescriptor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Field(String),
}

/// What the request body fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body: the fields not in the path come from the query string.
    None,
    /// `body: "*"`: the whole request message.
    Whole,
}

/// The routes of every method in `pool` that carries a `google.api.http` option, in the
/// pool's order (services, then methods, as declared).
pub fn routes(pool: &DescriptorPool) -> Result<Vec<Route>, String> {
    let Some(http) = pool.get_extension_by_name("google.api.http") else {
        return Ok(Vec::new());
    };
    let mut routes = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http) {
                continue;
            }
            let rule = match &*options.get_extension(&http) {
                Value::Message(rule) => rule.clone(),
                _ => continue,
            };
            if method.is_client_streaming() || method.is_server_streaming() {
                return Err(format!("{}: a streaming method has no HTTP form", method.full_name()));
            }
            // The rule's own path, then each of its additional bindings.
            let additional = match rule.get_field_by_name("additional_bindings").as_deref() {
                Some(Value::List(list)) => list
                    .iter()
                    .filter_map(|v| match v {
                        Value::Message(m) => Some(m.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for binding in std::iter::once(rule).chain(additional) {
                routes.push(route(&binding, &method)?);
            }
        }
    }
    Ok(routes)
}

/// One HTTP rule (`google.api.HttpRule`) of `method` as a route.
fn route(rule: &prost_reflect::DynamicMessage, method: &MethodDescriptor) -> Result<Route, String> {
    let text = |name: &str| match rule.get_field_by_name(name).as_deref() {
        Some(Value::String(s)) if rule.has_field_by_name(name) => Some(s.clone()),
        _ => None,
    };
    let name = method.full_name().to_string();
    let (verb, template) = [
        ("GET", "get"),
        ("PUT", "put"),
        ("POST", "post"),
        ("DELETE", "delete"),
        ("PATCH", "patch"),
    ]
    .into_iter()
    .find_map(|(verb, field)| text(field).map(|t| (verb, t)))
    .ok_or_else(|| format!("{name}: google.api.http names no GET, PUT, POST, DELETE or PATCH path"))?;
    let body = match text("body").as_deref() {
        None | Some("") => Body::None,
        Some("*") => Body::Whole,
        Some(other) => return Err(format!("{name}: body {other:?}: only \"*\" or none is supported")),
    };
    let (segments, suffix) = parse(&template).map_err(|e| format!("{name}: {template}: {e}"))?;
    for segment in &segments {
        if let Segment::Field(field) = segment
            && method.input().get_field_by_name(field).is_none()
        {
            return Err(format!(
                "{name}: {template}: {field} is not a field of {}",
                method.input().name()
            ));
        }
    }
    Ok(Route {
        verb,
        template,
        segments,
        suffix,
        body,
        method: method.clone(),
    })
}

fn parse(template: &str) -> Result<(Vec<Segment>, Option<String>), String> {
    let rest = template.strip_prefix('/').ok_or("a path starts with /")?;
    let mut parts: Vec<&str> = rest.split('/').collect();
    let last = parts.pop().ok_or("an empty path")?;
    // A `:` inside the last `{field}` belongs to the field, not to a suffix.
    let (last, suffix) = match last.rfind(':') {
        Some(i) if !last[i..].contains('}') => (&last[..i], Some(last[i + 1..].to_string())),
        _ => (last, None),
    };
    parts.push(last);
    let segments = parts
        .into_iter()
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(field) if !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Ok(Segment::Field(field.to_string()))
            }
            Some(_) => Err(format!("{part}: a variable is one field's name")),
            None if part.is_empty() || part.contains(['{', '}', '*']) => {
                Err(format!("{part:?}: only literal segments and {{field}}"))
            }
            None => Ok(Segment::Literal(part.to_string())),
        })
        .collect::<Result<_, _>>()?;
    Ok((segments, suffix))
}

impl Route {
    /// The path's variables (still percent-encoded) when `path` fits this template.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Vec<(&str, &'p str)>> {
        let rest = path.strip_prefix('/')?;
        let (rest, suffix) = match &self.suffix {
            Some(_) => {
                let i = rest.rfind(':')?;
                (&rest[..i], Some(&rest[i + 1..]))
            }
            None => (rest, None),
        };
        if suffix != self.suffix.as_deref() {
            return None;
        }
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut vars = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Field(field) if !part.is_empty() => vars.push((field.as_str(), part)),
                _ => return None,
            }
        }
        Some(vars)
    }

    /// The names of the fields the path fills.
    pub fn path_fields(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(f.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The gRPC path of the method, `/predial.v1.Decisions/Check`.
    pub fn grpc_path(&self) -> String {
        format!("/{}/{}", self.method.parent_service().full_name(), self.method.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Route> {
        let pool = DescriptorPool::decode(crate::proto::v1::FILE_DESCRIPTOR_SET).unwrap();
        routes(&pool).unwrap()
    }

    fn find<'r>(routes: &'r [Route], verb: &str, path: &str) -> Option<(&'r Route, Vec<(String, String)>)> {
        routes.iter().find_map(|r| {
            (r.verb == verb).then(|| r.matches(path)).flatten().map(|vars| {
                (
                    r,
                    vars.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                )
            })
        })
    }

    #[test]
    fn every_unary_method_has_a_route_and_no_streaming_one_does() {
        let pool = DescriptorPool::decode(crate::proto::v1::FILE_DESCRIPTOR_SET).unwrap();
        let routed: Vec<String> = all().iter().map(|r| r.method.full_name().to_string()).collect();
        for service in pool.services().filter(|s| s.package_name() == "predial.v1") {
            for method in service.methods() {
                let streaming = method.is_client_streaming() || method.is_server_streaming();
                assert_eq!(
                    routed.contains(&method.full_name().to_string()),
                    !streaming,
                    "{}",
                    method.full_name()
                );
            }
        }
    }

    #[test]
    fn a_path_finds_its_method_and_its_variables() {
        let routes = all();
        let (route, vars) = find(&routes, "POST", "/v1/decisions:check").unwrap();
        assert_eq!(
            (route.grpc_path().as_str(), vars.len()),
            ("/predial.v1.Decisions/Check", 0)
        );
        let (route, vars) = find(&routes, "GET", "/v1/consumers/c%3A1/exclusions").unwrap();
        assert_eq!(route.method.name(), "GetExclusionStatus");
        assert_eq!(vars, [("id".to_string(), "c%3A1".to_string())]);
        let (route, vars) = find(&routes, "POST", "/v1/consumers/c1/phones/+15551234567:exclude").unwrap();
        assert_eq!(route.method.name(), "ExcludePhone");
        assert_eq!(vars.len(), 2);
        // An id with a colon is one segment where the template has no verb.
        let (route, vars) = find(&routes, "GET", "/v1/consumers/a:b").unwrap();
        assert_eq!((route.method.name(), vars[0].1.as_str()), ("GetConsumer", "a:b"));
    }

    #[test]
    fn a_path_off_every_template_finds_nothing() {
        let routes = all();
        for (verb, path) in [
            ("POST", "/v1/decisions:checkk"),
            ("POST", "/v1/decisions"),
            ("GET", "/v1/consumers/"),
            ("GET", "/v1/consumers//exclusions"),
            ("GET", "/v1/consumers/c1/exclusions/more"),
            ("POST", "v1/contacts"),
            ("DELETE", "/v1/rules"),
        ] {
            assert!(find(&routes, verb, path).is_none(), "{verb} {path}");
        }
    }

    #[test]
    fn templates_outside_the_supported_syntax_are_refused() {
        for bad in ["v1/x", "/v1/{a.b}", "/v1/**", "/v1//x", "/v1/{}"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("/v1/x:go").unwrap().1.as_deref(), Some("go"));
    }
}
