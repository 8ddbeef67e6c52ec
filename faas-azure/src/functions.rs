//! Which functions the app has and how each is triggered: read from the same files the
//! Functions host reads (`<app root>/host.json` and `<app root>/<name>/function.json`), or
//! declared in code ([`crate::Server::function`]).
//!
//! The trigger binding decides two things:
//!
//! * how a request reaches the handler: a function whose only bindings are an `httpTrigger` and
//!   an `http` output is *forwarded* when host.json sets
//!   `customHandler.enableForwardingHttpRequest: true` (the original request arrives on its
//!   original path, `/api/<route>`); every other function arrives on the **invoke protocol**,
//!   `POST /<FunctionName>` with an [`InvokeRequest`](crate::InvokeRequest) body;
//! * `faas.trigger` and the span's shape ([`Binding::trigger`]):
//!
//! | binding type | `faas.trigger` |
//! |---|---|
//! | `httpTrigger` | `http` |
//! | `queueTrigger`, `serviceBusTrigger`, `eventHubTrigger`, `eventGridTrigger`, `kafkaTrigger`, `rabbitMQTrigger` | `pubsub` |
//! | `blobTrigger`, `cosmosDBTrigger`, `sqlTrigger` | `datasource` |
//! | `timerTrigger` | `timer` |
//! | anything else | `other` |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use faas_core::ConfigError;
use faas_core::env::Env;
use faas_core::invocation::Trigger;
use serde_json::{Map, Value};

/// The variable the host sets to the app root in Azure (`/home/site/wwwroot`).
pub const SCRIPT_ROOT_VAR: &str = "AzureWebJobsScriptRoot";
/// The default HTTP route prefix (`extensions.http.routePrefix` in host.json).
pub const DEFAULT_ROUTE_PREFIX: &str = "api";

/// A function's trigger binding (the `bindings` entry of function.json whose `type` ends in
/// `Trigger`).
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The binding type, e.g. `queueTrigger`.
    pub binding_type: String,
    /// The binding name: the key of its value in the invoke request's `Data`.
    pub name: String,
    /// The binding's other properties (`queueName`, `route`, `schedule`, ...).
    pub settings: Map<String, Value>,
}

impl Binding {
    /// A trigger binding of type `binding_type` named `name`.
    pub fn new(binding_type: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            binding_type: binding_type.into(),
            name: name.into(),
            settings: Map::new(),
        }
    }

    /// Adds a property (`queueName`, `route`, `schedule`, ...).
    pub fn with_setting(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// `queueTrigger` named `name` on queue `queue_name`.
    pub fn queue(name: impl Into<String>, queue_name: impl Into<String>) -> Self {
        Self::new("queueTrigger", name).with_setting("queueName", queue_name.into())
    }

    /// `httpTrigger` named `name`; `route` as in function.json (`None`: the function name).
    pub fn http(name: impl Into<String>, route: Option<&str>) -> Self {
        let binding = Self::new("httpTrigger", name);
        match route {
            Some(route) => binding.with_setting("route", route),
            None => binding,
        }
    }

    /// `timerTrigger` named `name` with the NCRONTAB `schedule`.
    pub fn timer(name: impl Into<String>, schedule: impl Into<String>) -> Self {
        Self::new("timerTrigger", name).with_setting("schedule", schedule.into())
    }

    /// `faas.trigger` of this binding; see the [module docs](self).
    pub fn trigger(&self) -> Trigger {
        trigger_of(&self.binding_type)
    }

    /// Whether this is an `httpTrigger`.
    pub fn is_http(&self) -> bool {
        self.binding_type.eq_ignore_ascii_case("httpTrigger")
    }

    /// A string setting (case-insensitive key), with `%AppSetting%` resolved from `env` (app
    /// settings are environment variables); `None` when unset or unresolvable.
    pub fn setting(&self, key: &str, env: &Env) -> Option<String> {
        let value = self
            .settings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))?
            .1
            .as_str()?;
        resolve_app_settings(value, env)
    }
}

/// `faas.trigger` for a function.json binding type; see the [module docs](self).
pub fn trigger_of(binding_type: &str) -> Trigger {
    const PUBSUB: &[&str] = &[
        "queueTrigger",
        "serviceBusTrigger",
        "eventHubTrigger",
        "eventGridTrigger",
        "kafkaTrigger",
        "rabbitMQTrigger",
    ];
    const DATASOURCE: &[&str] = &["blobTrigger", "cosmosDBTrigger", "sqlTrigger"];
    let is = |list: &[&str]| list.iter().any(|t| t.eq_ignore_ascii_case(binding_type));
    if binding_type.eq_ignore_ascii_case("httpTrigger") {
        Trigger::Http
    } else if is(PUBSUB) {
        Trigger::PubSub
    } else if is(DATASOURCE) {
        Trigger::Datasource
    } else if binding_type.eq_ignore_ascii_case("timerTrigger") {
        Trigger::Timer
    } else {
        Trigger::Other
    }
}

/// `orders-%ENV%` → `orders-prod` with `ENV=prod`; `None` when a setting is missing.
fn resolve_app_settings(value: &str, env: &Env) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('%')?;
        out.push_str(&env.get(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// One function of the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// The function's name (its folder).
    pub name: String,
    /// Its trigger binding.
    pub trigger: Binding,
    /// Whether its requests are forwarded on their original path (HTTP in, HTTP out only, and
    /// forwarding on) rather than sent with the invoke protocol.
    pub forwarded: bool,
}

/// The functions of an app, and the HTTP route prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Functions {
    functions: BTreeMap<String, Function>,
    route_prefix: String,
    forwarding: bool,
}

impl Default for Functions {
    fn default() -> Self {
        Self {
            functions: BTreeMap::new(),
            route_prefix: DEFAULT_ROUTE_PREFIX.to_owned(),
            forwarding: false,
        }
    }
}

impl Functions {
    /// No functions, the default prefix, no forwarding.
    pub fn new() -> Self {
        Self::default()
    }

    /// The app root: `AzureWebJobsScriptRoot`, else the working directory (the host starts the
    /// handler in the app root).
    pub fn app_root(env: &Env) -> PathBuf {
        env.get(SCRIPT_ROOT_VAR)
            .filter(|r| !r.trim().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Reads `root/host.json` (optional: forwarding and `routePrefix`) and every
    /// `root/<name>/function.json`. A file that is there but is not valid JSON is an error
    /// naming it; a folder without function.json is not a function.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let mut functions = Self::new();
        if let Some(host) = read_json(&root.join("host.json"))? {
            functions.forwarding = host
                .pointer("/customHandler/enableForwardingHttpRequest")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if let Some(prefix) = host
                .pointer("/extensions/http/routePrefix")
                .and_then(Value::as_str)
            {
                functions.route_prefix = prefix.trim_matches('/').to_owned();
            }
        }
        let Ok(entries) = std::fs::read_dir(root) else {
            return Ok(functions);
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let Some(json) = read_json(&dir.join("function.json"))? else {
                continue;
            };
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            functions.insert_json(name, &json);
        }
        Ok(functions)
    }

    /// Sets whether HTTP-only functions added *afterwards* are forwarded
    /// (`enableForwardingHttpRequest`).
    pub fn with_forwarding(mut self, forwarding: bool) -> Self {
        self.forwarding = forwarding;
        self
    }

    /// Adds (or replaces) function `name` with `trigger`; an HTTP trigger declared this way is
    /// forwarded when forwarding is on.
    pub fn insert(&mut self, name: impl Into<String>, trigger: Binding) {
        let name = name.into();
        let forwarded = self.forwarding && trigger.is_http();
        self.functions.insert(
            name.clone(),
            Function {
                name,
                trigger,
                forwarded,
            },
        );
    }

    /// Adds function `name` from its function.json content; `false` when it has no trigger.
    pub fn insert_json(&mut self, name: &str, function_json: &Value) -> bool {
        let bindings = function_json
            .get("bindings")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let parsed: Vec<Binding> = bindings
            .iter()
            .filter_map(|b| {
                let mut settings = b.as_object()?.clone();
                let binding_type = settings.remove("type")?.as_str()?.to_owned();
                let name = settings
                    .remove("name")
                    .and_then(|n| n.as_str().map(str::to_owned))
                    .unwrap_or_default();
                Some(Binding {
                    binding_type,
                    name,
                    settings,
                })
            })
            .collect();
        let Some(trigger) = parsed.iter().find(|b| {
            b.binding_type.to_ascii_lowercase().ends_with("trigger")
                && b.settings.get("direction").and_then(Value::as_str) != Some("out")
        }) else {
            return false;
        };
        let http_in_and_out = trigger.is_http()
            && parsed.len() == 2
            && parsed
                .iter()
                .any(|b| b.binding_type.eq_ignore_ascii_case("http"));
        self.functions.insert(
            name.to_owned(),
            Function {
                name: name.to_owned(),
                trigger: trigger.clone(),
                forwarded: self.forwarding && http_in_and_out,
            },
        );
        true
    }

    /// Function `name`.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.functions.get(name)
    }

    /// Every function, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Function> {
        self.functions.values()
    }

    /// Whether there is no function.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// The HTTP route prefix (`api` by default, without slashes).
    pub fn route_prefix(&self) -> &str {
        &self.route_prefix
    }

    /// The function an invoke-protocol request is for: `POST /<name>` where `<name>` is a
    /// known function that is not forwarded.
    pub fn invoked(&self, method: &http::Method, path: &str) -> Option<&Function> {
        if method != http::Method::POST {
            return None;
        }
        let name = path.strip_prefix('/')?;
        self.functions.get(name).filter(|f| !f.forwarded)
    }

    /// The HTTP route template of an HTTP function: `/<prefix>/<route or name>`.
    pub fn http_route(&self, function: &Function) -> String {
        let route = function
            .trigger
            .settings
            .get("route")
            .and_then(Value::as_str)
            .map(|r| r.trim_matches('/').to_owned())
            .unwrap_or_else(|| function.name.clone());
        if self.route_prefix.is_empty() {
            format!("/{route}")
        } else {
            format!("/{}/{route}", self.route_prefix)
        }
    }

    /// The HTTP function whose route matches a forwarded request's `path` (`{param}` segments
    /// match any one segment, `{*rest}` the rest).
    pub fn http_function_for_path(&self, path: &str) -> Option<&Function> {
        self.functions
            .values()
            .filter(|f| f.trigger.is_http())
            .find(|f| route_matches(&self.http_route(f), path))
    }
}

fn route_matches(template: &str, path: &str) -> bool {
    let mut template = template.trim_matches('/').split('/');
    let mut path = path.trim_matches('/').split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), _) if t.starts_with("{*") => return true,
            (Some(t), Some(p)) => {
                let param = t.starts_with('{') && t.ends_with('}');
                if !(param && !p.is_empty() || t.eq_ignore_ascii_case(p)) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn read_json(path: &Path) -> Result<Option<Value>, ConfigError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    // host.json and function.json may start with a byte-order mark.
    let text = text.trim_start_matches('\u{feff}');
    serde_json::from_str(text).map(Some).map_err(|e| {
        ConfigError::new(
            path.display().to_string(),
            text.chars().take(80).collect::<String>(),
            format!("expected a JSON document as the Functions host reads it: {e}"),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn binding_types_map_to_triggers() {
        for (binding_type, trigger) in [
            ("httpTrigger", Trigger::Http),
            ("HttpTrigger", Trigger::Http),
            ("queueTrigger", Trigger::PubSub),
            ("serviceBusTrigger", Trigger::PubSub),
            ("eventHubTrigger", Trigger::PubSub),
            ("eventGridTrigger", Trigger::PubSub),
            ("kafkaTrigger", Trigger::PubSub),
            ("rabbitMQTrigger", Trigger::PubSub),
            ("blobTrigger", Trigger::Datasource),
            ("cosmosDBTrigger", Trigger::Datasource),
            ("sqlTrigger", Trigger::Datasource),
            ("timerTrigger", Trigger::Timer),
            ("activityTrigger", Trigger::Other),
            ("signalRTrigger", Trigger::Other),
            ("", Trigger::Other),
        ] {
            assert_eq!(trigger_of(binding_type), trigger, "{binding_type}");
        }
    }

    #[test]
    fn function_json_decides_forwarding_and_routes() {
        let mut functions = Functions::new().with_forwarding(true);
        // The documented HTTP-only function: forwarded.
        assert!(functions.insert_json(
            "hello",
            &serde_json::json!({"bindings": [
                {"authLevel": "anonymous", "type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get"]},
                {"type": "http", "direction": "out", "name": "res"}
            ]})
        ));
        // HTTP with a queue output: invoke protocol.
        functions.insert_json(
            "submit",
            &serde_json::json!({"bindings": [
                {"type": "httpTrigger", "direction": "in", "name": "req", "route": "orders/{id}"},
                {"type": "http", "direction": "out", "name": "res"},
                {"type": "queue", "direction": "out", "name": "message", "queueName": "orders"}
            ]}),
        );
        functions.insert_json(
            "orders",
            &serde_json::json!({"bindings": [
                {"type": "queueTrigger", "direction": "in", "name": "order", "queueName": "%QUEUE%"}
            ]}),
        );
        assert!(!functions.insert_json("broken", &serde_json::json!({"bindings": 3})));
        assert!(functions.get("hello").unwrap().forwarded);
        assert!(!functions.get("submit").unwrap().forwarded);
        let post = http::Method::POST;
        assert_eq!(functions.invoked(&post, "/orders").unwrap().name, "orders");
        assert_eq!(functions.invoked(&post, "/submit").unwrap().name, "submit");
        assert!(functions.invoked(&post, "/hello").is_none());
        assert!(functions.invoked(&http::Method::GET, "/orders").is_none());
        assert!(functions.invoked(&post, "/api/orders").is_none());
        assert_eq!(
            functions.http_function_for_path("/api/hello").unwrap().name,
            "hello"
        );
        assert_eq!(
            functions
                .http_function_for_path("/api/orders/17")
                .unwrap()
                .name,
            "submit"
        );
        assert!(functions.http_function_for_path("/api/orders").is_none());
        assert!(functions.http_function_for_path("/hello").is_none());
        let env = Env::from_pairs([("QUEUE", "orders-prod")]);
        let trigger = &functions.get("orders").unwrap().trigger;
        assert_eq!(trigger.setting("queuename", &env).unwrap(), "orders-prod");
        assert_eq!(
            trigger.setting("queueName", &Env::from_pairs::<&str, &str>([])),
            None
        );
    }

    #[test]
    fn loads_an_app_root_and_names_a_broken_file() {
        let root =
            std::env::temp_dir().join(format!("faas-azure-functions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("tick")).unwrap();
        std::fs::create_dir_all(root.join("not-a-function")).unwrap();
        std::fs::write(
            root.join("host.json"),
            "\u{feff}{\"version\": \"2.0\", \"customHandler\": {\"enableForwardingHttpRequest\": true}, \"extensions\": {\"http\": {\"routePrefix\": \"\"}}}",
        )
        .unwrap();
        std::fs::write(
            root.join("tick/function.json"),
            r#"{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *"}]}"#,
        )
        .unwrap();
        let functions = Functions::load(&root).unwrap();
        assert_eq!(functions.route_prefix(), "");
        assert_eq!(functions.iter().count(), 1);
        let tick = functions.get("tick").unwrap();
        assert_eq!(tick.trigger.trigger(), Trigger::Timer);
        assert_eq!(tick.trigger.name, "timer");
        std::fs::write(root.join("tick/function.json"), "{ bindings: ").unwrap();
        let err = Functions::load(&root).unwrap_err();
        assert!(err.variable.ends_with("function.json"), "{err}");
        assert_eq!(err.value, "{ bindings: ");
        std::fs::remove_dir_all(&root).unwrap();
        // No app root at all: no functions, no error.
        assert!(
            Functions::load(Path::new("/nonexistent/faas-azure"))
                .unwrap()
                .is_empty()
        );
    }
}
