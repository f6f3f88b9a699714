//! The `/__sim/...` endpoints that drive the simulator over HTTP (for tests in any language):
//!
//! | endpoint | does |
//! |---|---|
//! | `GET /__sim/requests`, `DELETE /__sim/requests` | the request log; clear it |
//! | `GET /__sim/counters`, `DELETE /__sim/counters` | in-flight and per-operation counts; zero them |
//! | `GET /__sim/rules`, `PUT /__sim/rules`, `POST /__sim/rules`, `DELETE /__sim/rules` | fault rules: list, replace, append, remove |
//! | `GET /__sim/faults`, `PUT /__sim/faults` | global faults |
//! | `GET /__sim/violations`, `DELETE /__sim/violations` | exchanges that broke the document |
//! | `POST /__sim/reset` | back to the seed (state, log, counters, violations, rule counts) |
//! | `GET /__sim/state` | the organisation now, as seed JSON `--seed` loads |
//! | `POST /__sim/clock` | `{"advance_ms": n}` moves the simulator's clock forward |

use std::time::Duration;

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::faults::{FaultError, FaultState, Faults};
use crate::lock;
use crate::rules::{FaultRule, Rules};
use crate::server::{Shared, json_response};

/// Largest body an admin endpoint reads.
const MAX_ADMIN_BODY: usize = 1024 * 1024;

/// The endpoints, for `--help` and 404 answers.
pub const ENDPOINTS: &[&str] = &[
    "GET|DELETE /__sim/requests",
    "GET|DELETE /__sim/counters",
    "GET|PUT|POST|DELETE /__sim/rules",
    "GET|PUT /__sim/faults",
    "GET|DELETE /__sim/violations",
    "POST /__sim/reset",
    "GET /__sim/state",
    "POST /__sim/clock",
];

fn bad(message: impl std::fmt::Display) -> Response {
    json_response(400, &json!({"error": {"message": message.to_string()}}))
}

fn ok() -> Response {
    Response::new(Body::empty())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<FaultRule>),
    Many(Vec<FaultRule>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_ms: u64,
}

pub(crate) async fn handle(
    shared: &Shared,
    method: &Method,
    endpoint: &str,
    body: Body,
) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ADMIN_BODY).await else {
        return bad(format!("body over {MAX_ADMIN_BODY} bytes"));
    };
    let text = String::from_utf8_lossy(&bytes);
    match (method.as_str(), endpoint) {
        ("GET", "requests") => {
            let log = lock(&shared.log).entries();
            json_response(200, &serde_json::to_value(log).unwrap_or_default())
        }
        ("DELETE", "requests") => {
            lock(&shared.log).clear();
            ok()
        }
        ("GET", "counters") => json_response(
            200,
            &serde_json::to_value(shared.live.snapshot()).unwrap_or_default(),
        ),
        ("DELETE", "counters") => {
            shared.live.reset();
            ok()
        }
        ("GET", "rules") => {
            let rules = lock(&shared.rules).rules();
            json_response(200, &serde_json::to_value(rules).unwrap_or_default())
        }
        ("PUT", "rules") => match Rules::from_json(&text) {
            Ok(rules) => {
                *lock(&shared.rules) = crate::rules::RuleState::new(rules);
                ok()
            }
            Err(e) => bad(e),
        },
        ("POST", "rules") => {
            let new = match serde_json::from_str::<OneOrMany>(&text) {
                Ok(OneOrMany::One(rule)) => vec![*rule],
                Ok(OneOrMany::Many(rules)) => rules,
                Err(_) => {
                    // Name the field that is wrong, as the single-rule form reports it.
                    return bad(match serde_json::from_str::<FaultRule>(&text) {
                        Err(e) => FaultError::Json(e.to_string()),
                        Ok(_) => FaultError::Json("expected a rule or a list of rules".into()),
                    });
                }
            };
            if let Err(e) = Rules::from(new.clone()).validate() {
                return bad(e);
            }
            let mut state = lock(&shared.rules);
            for rule in new {
                state.push(rule);
            }
            ok()
        }
        ("DELETE", "rules") => {
            *lock(&shared.rules) = crate::rules::RuleState::new(Rules::default());
            ok()
        }
        ("GET", "faults") => json_response(
            200,
            &serde_json::to_value(&lock(&shared.faults).faults).unwrap_or_default(),
        ),
        ("PUT", "faults") => match serde_json::from_str::<Faults>(&text) {
            Ok(faults) => match faults.validate() {
                Ok(()) => {
                    *lock(&shared.faults) = FaultState::new(faults, shared.clock.now());
                    ok()
                }
                Err(e) => bad(e),
            },
            Err(e) => bad(format!(
                "faults are not valid JSON of the expected shape: {e}"
            )),
        },
        ("GET", "violations") => json_response(
            200,
            &serde_json::to_value(lock(&shared.violations).report()).unwrap_or_default(),
        ),
        ("DELETE", "violations") => {
            lock(&shared.violations).clear();
            ok()
        }
        ("POST", "reset") => {
            shared.reset();
            ok()
        }
        ("GET", "state") => {
            let seed = lock(&shared.org).snapshot();
            json_response(200, &serde_json::to_value(seed).unwrap_or_default())
        }
        ("POST", "clock") => match serde_json::from_str::<Advance>(&text) {
            Ok(a) => {
                shared.clock.advance(Duration::from_millis(a.advance_ms));
                ok()
            }
            Err(e) => bad(format!("expected {{\"advance_ms\": <milliseconds>}}: {e}")),
        },
        _ => json_response(
            404,
            &json!({"error": {"message": format!(
                "No simulator endpoint {method} /__sim/{endpoint}; the endpoints are: {}",
                ENDPOINTS.join(", ")
            )}}),
        ),
    }
}
