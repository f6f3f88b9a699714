//! Fault rules aimed at one operation, device or call: "the third import of device 101 is applied,
//! then its connection dropped", "the next two batch reads answer 429 with `Retry-After: 1`",
//! "30 % of history reads take 2 s". Rules are data (JSON for files and `/__sim/rules`), checked
//! when set, and decided by a seeded generator so a run replays exactly.
//!
//! How a request meets the rules: every rule whose operation (and device, if given) matches counts
//! the call, from 1 since the rule was set. The first rule in list order that fires decides the
//! request: `nth(n)` fires on its nth matching call, `times(n)` on its first n, neither on every
//! one; `probability(p)` then fires with chance `p`. Requests no rule decides get the global
//! [`crate::Faults`]' decision. Every request, decided by a rule or not, waits the global latency,
//! counts toward the global rate limit and draws from its generator, so adding a rule does not
//! shift the sequence of global faults the other requests meet.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::{FaultError, check_fraction};

/// `Retry-After` of an injected status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this many seconds after the wall clock's now (the client reads
    /// the date with its own clock, so the simulator's advanced clock is not used); at most
    /// [`MAX_HTTP_DATE_SECS`].
    HttpDate(u64),
}

/// The furthest a `Retry-After` date may lie ahead: 100 years (an HTTP date ends at year 9999,
/// and a wall clock plus `u64::MAX` seconds overflows).
pub const MAX_HTTP_DATE_SECS: u64 = 100 * 365 * 24 * 3600;

/// What a rule does to the request it decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ActionSpec", into = "ActionSpec")]
#[non_exhaustive]
pub enum Action {
    /// Answer this status without applying the request, with the body the document gives it
    /// (an `ErrorResponse` for 400, 404 and 500; none for 403 and 429).
    Status {
        /// The status.
        status: u16,
        /// `Retry-After` to send.
        retry_after: Option<RetryAfter>,
    },
    /// Wait, then serve normally.
    Delay(Duration),
    /// Close the connection without applying the request or answering.
    DropBeforeProcessing,
    /// Apply the request, then close the connection without an answer: the case in which a client
    /// that retries applies a write twice.
    ApplyThenDrop,
    /// Apply the request and announce the whole answer, then send half of it and break off.
    TruncatedBody,
}

/// The JSON form of [`Action`]: `{"kind": "status", "status": 429, "retry_after": {"seconds": 1}}`,
/// `{"kind": "delay", "ms": 200}`, `{"kind": "drop_before_processing"}`,
/// `{"kind": "apply_then_drop"}`, `{"kind": "truncated_body"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum ActionSpec {
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<RetryAfter>,
    },
    Delay {
        ms: u64,
    },
    DropBeforeProcessing,
    ApplyThenDrop,
    TruncatedBody,
}

impl Action {
    /// What is wrong with this action, if anything: the one check for rules built in Rust and
    /// rules read from JSON.
    fn check(&self) -> Result<(), String> {
        if let Action::Status {
            status,
            retry_after,
        } = self
        {
            if !(100..=599).contains(status) {
                return Err(format!("status must be 100 to 599, got {status}"));
            }
            if let Some(RetryAfter::HttpDate(secs)) = retry_after
                && *secs > MAX_HTTP_DATE_SECS
            {
                return Err(format!(
                    "retry_after.http_date must be at most {MAX_HTTP_DATE_SECS} seconds (100 \
                     years), got {secs}"
                ));
            }
        }
        Ok(())
    }
}

impl TryFrom<ActionSpec> for Action {
    type Error = String;

    fn try_from(spec: ActionSpec) -> Result<Self, String> {
        Ok(match spec {
            ActionSpec::Status {
                status,
                retry_after,
            } => {
                let action = Action::Status {
                    status,
                    retry_after,
                };
                action.check()?;
                action
            }
            ActionSpec::Delay { ms } => Action::Delay(Duration::from_millis(ms)),
            ActionSpec::DropBeforeProcessing => Action::DropBeforeProcessing,
            ActionSpec::ApplyThenDrop => Action::ApplyThenDrop,
            ActionSpec::TruncatedBody => Action::TruncatedBody,
        })
    }
}

impl From<Action> for ActionSpec {
    fn from(action: Action) -> Self {
        match action {
            Action::Status {
                status,
                retry_after,
            } => ActionSpec::Status {
                status,
                retry_after,
            },
            Action::Delay(d) => ActionSpec::Delay {
                ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            },
            Action::DropBeforeProcessing => ActionSpec::DropBeforeProcessing,
            Action::ApplyThenDrop => ActionSpec::ApplyThenDrop,
            Action::TruncatedBody => ActionSpec::TruncatedBody,
        }
    }
}

impl Action {
    /// `429` with `Retry-After: <secs>`.
    pub fn too_many_requests(retry_after_secs: Option<u64>) -> Self {
        Action::Status {
            status: 429,
            retry_after: retry_after_secs.map(RetryAfter::Seconds),
        }
    }
}

/// One fault rule. Build with [`FaultRule::operation`] or [`FaultRule::any`], then narrow and say
/// what to do with [`FaultRule::then`] (without it, the rule answers 500).
///
/// ```
/// use blynk_sim::rules::{Action, FaultRule};
///
/// let rule = FaultRule::operation("importDeviceBatchData")
///     .device(101)
///     .nth(3)
///     .then(Action::ApplyThenDrop);
/// assert!(rule.validate().is_ok());
/// assert!(FaultRule::operation("importEverything").validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The `operationId` it applies to, or `oauth2Token` for the token endpoint; every API
    /// operation (not the token endpoint) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Only requests about this device (`deviceId`, `deviceIds` or a batch-update row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<i32>,
    /// Fire on the nth matching call only, counted from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Fire on the first n matching calls only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire with this chance (0 to 1) when the other conditions hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// What to do.
    pub action: Action,
}

impl FaultRule {
    /// A rule for one operation, by its `operationId` (`importDeviceBatchData`), or for the token
    /// endpoint ([`crate::TOKEN_OPERATION`]).
    pub fn operation(id: impl Into<String>) -> Self {
        Self {
            operation: Some(id.into()),
            ..Self::any()
        }
    }

    /// A rule for every API operation (not the token endpoint).
    pub fn any() -> Self {
        Self {
            operation: None,
            device: None,
            nth: None,
            times: None,
            probability: None,
            action: Action::Status {
                status: 500,
                retry_after: None,
            },
        }
    }

    /// Only requests about this device.
    pub fn device(mut self, device_id: i32) -> Self {
        self.device = Some(device_id);
        self
    }

    /// Only the nth matching call (from 1).
    pub fn nth(mut self, n: u64) -> Self {
        self.nth = Some(n);
        self
    }

    /// Only the next `n` matching calls.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Fire with chance `p` (0 to 1).
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// What to do when it fires.
    pub fn then(mut self, action: Action) -> Self {
        self.action = action;
        self
    }

    /// Checks the rule: a known operation, `nth`/`times` at least 1 and not both, a probability
    /// between 0 and 1, a status between 100 and 599.
    pub fn validate(&self) -> Result<(), FaultError> {
        if let Some(op) = &self.operation
            && op != crate::TOKEN_OPERATION
            && blynk_api::operations::by_id(op).is_none()
        {
            return Err(FaultError::UnknownOperation(op.clone()));
        }
        let problem = |p: &str| {
            Err(FaultError::Rule {
                index: 0,
                problem: p.to_string(),
            })
        };
        match (self.nth, self.times) {
            (Some(_), Some(_)) => return problem("give nth or times, not both"),
            (Some(0), _) => return problem("nth counts from 1, got 0"),
            (_, Some(0)) => return problem("times must be at least 1, got 0"),
            _ => {}
        }
        if let Some(p) = self.probability {
            check_fraction("probability", p)?;
        }
        if let Err(p) = self.action.check() {
            return problem(&p);
        }
        Ok(())
    }

    fn matches(&self, operation: &str, devices: &[i32]) -> bool {
        let operation_matches = match self.operation.as_deref() {
            Some(op) => op == operation,
            None => operation != crate::TOKEN_OPERATION,
        };
        operation_matches && self.device.is_none_or(|d| devices.contains(&d))
    }

    fn fires_on(&self, call: u64) -> bool {
        match (self.nth, self.times) {
            (Some(n), _) => call == n,
            (_, Some(n)) => call <= n,
            _ => true,
        }
    }
}

/// An ordered list of rules and the seed of their random choices. JSON:
/// `{"seed": 7, "rules": [{"operation": "importDeviceBatchData", "times": 2, "action": {...}}]}`,
/// or just the array of rules.
///
/// ```
/// use blynk_sim::rules::{Action, FaultRule, Rules};
///
/// // The next two imports: 429 with Retry-After 1; the third: applied, then dropped.
/// let rules = Rules::new()
///     .rule(FaultRule::operation("importDeviceBatchData").times(2).then(Action::too_many_requests(Some(1))))
///     .rule(FaultRule::operation("importDeviceBatchData").nth(3).then(Action::ApplyThenDrop))
///     .seed(7);
/// let json = serde_json::to_string(&rules).unwrap();
/// assert_eq!(Rules::from_json(&json).unwrap(), rules);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Seed of the probabilistic rules.
    #[serde(default)]
    pub seed: u64,
    /// The rules, in the order they are tried.
    pub rules: Vec<FaultRule>,
}

impl Rules {
    /// No rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a rule.
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Sets the seed of the probabilistic rules.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every rule; the error names the first bad one by its position.
    pub fn validate(&self) -> Result<(), FaultError> {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate().map_err(|e| match e {
                FaultError::Rule { problem, .. } => FaultError::Rule { index, problem },
                other => FaultError::Rule {
                    index,
                    problem: other.to_string(),
                },
            })?;
        }
        Ok(())
    }

    /// Reads and checks rules from JSON (an object with `seed` and `rules`, or an array of rules).
    pub fn from_json(text: &str) -> Result<Self, FaultError> {
        // Try the precise shapes first, so the error names the field that is wrong.
        let parsed = match serde_json::from_str::<Rules>(text) {
            Ok(rules) => rules,
            Err(full) => match serde_json::from_str::<Vec<FaultRule>>(text) {
                Ok(list) => Rules {
                    seed: 0,
                    rules: list,
                },
                Err(list) => {
                    let problem = if text.trim_start().starts_with('[') {
                        list
                    } else {
                        full
                    };
                    return Err(FaultError::Json(problem.to_string()));
                }
            },
        };
        parsed.validate()?;
        Ok(parsed)
    }
}

impl From<Vec<FaultRule>> for Rules {
    fn from(rules: Vec<FaultRule>) -> Self {
        Self { seed: 0, rules }
    }
}

/// The rules in force and how many matching calls each has seen.
pub(crate) struct RuleState {
    rules: Vec<(FaultRule, u64)>,
    seed: u64,
    rng: fastrand::Rng,
}

impl RuleState {
    pub(crate) fn new(rules: Rules) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(rules.seed),
            seed: rules.seed,
            rules: rules.rules.into_iter().map(|r| (r, 0)).collect(),
        }
    }

    /// The same rules, counting from 0 again, the generator back at its seed.
    pub(crate) fn restart(&mut self) {
        *self = Self::new(Rules {
            seed: self.seed,
            rules: self.rules(),
        });
    }

    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0));
    }

    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Counts the call on every matching rule; the action of the first that fires.
    pub(crate) fn decide(&mut self, operation: &str, devices: &[i32]) -> Option<Action> {
        let mut chosen = None;
        for (rule, seen) in &mut self.rules {
            if !rule.matches(operation, devices) {
                continue;
            }
            *seen += 1;
            if chosen.is_none()
                && rule.fires_on(*seen)
                && rule.probability.is_none_or(|p| self.rng.f64() < p)
            {
                chosen = Some(rule.action.clone());
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPORT: &str = "importDeviceBatchData";

    #[test]
    fn a_script_of_times_then_nth_plays_in_order() {
        let mut state = RuleState::new(
            Rules::new()
                .rule(
                    FaultRule::operation(IMPORT)
                        .times(2)
                        .then(Action::too_many_requests(Some(1))),
                )
                .rule(
                    FaultRule::operation(IMPORT)
                        .nth(3)
                        .then(Action::ApplyThenDrop),
                ),
        );
        let got: Vec<_> = (0..4).map(|_| state.decide(IMPORT, &[1])).collect();
        assert_eq!(
            got,
            [
                Some(Action::too_many_requests(Some(1))),
                Some(Action::too_many_requests(Some(1))),
                Some(Action::ApplyThenDrop),
                None
            ]
        );
    }

    #[test]
    fn rules_match_operation_and_device() {
        let mut state = RuleState::new(
            vec![
                FaultRule::operation(IMPORT)
                    .device(101)
                    .then(Action::DropBeforeProcessing),
            ]
            .into(),
        );
        assert_eq!(state.decide("getDeviceDataStreamsV2", &[101]), None);
        assert_eq!(state.decide(IMPORT, &[102]), None);
        assert_eq!(
            state.decide(IMPORT, &[101]),
            Some(Action::DropBeforeProcessing)
        );
    }

    #[test]
    fn probabilistic_rules_replay_under_their_seed() {
        let rules = Rules::new()
            .rule(FaultRule::any().probability(0.3))
            .seed(42);
        let run = || {
            let mut state = RuleState::new(rules.clone());
            (0..100)
                .map(|_| state.decide(IMPORT, &[]).is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let fired = first.iter().filter(|f| **f).count();
        assert!((10..=50).contains(&fired), "{fired} of 100 at 0.3");
    }

    #[test]
    fn bad_rules_are_refused_with_what_is_wrong() {
        let cases = [
            (
                r#"[{"operation": "nope", "action": {"kind": "apply_then_drop"}}]"#,
                "nope",
            ),
            (
                r#"[{"nth": 0, "action": {"kind": "apply_then_drop"}}]"#,
                "nth",
            ),
            (
                r#"[{"probability": 1.5, "action": {"kind": "apply_then_drop"}}]"#,
                "probability",
            ),
            (r#"[{"action": {"kind": "explode"}}]"#, "explode"),
            (
                r#"[{"action": {"kind": "status", "status": 1000}}]"#,
                "1000",
            ),
            (
                r#"[{"action": {"kind": "status", "status": 503, "retry_after": {"http_date": 18446744073709551615}}}]"#,
                "http_date",
            ),
            (r#"{"rules": [], "sed": 1}"#, "sed"),
        ];
        for (json, needle) in cases {
            let err = Rules::from_json(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn rules_round_trip_through_json() {
        let rules = Rules::new()
            .rule(
                FaultRule::operation(IMPORT)
                    .nth(2)
                    .then(Action::Delay(Duration::from_millis(250))),
            )
            .rule(FaultRule::any().then(Action::Status {
                status: 503,
                retry_after: Some(RetryAfter::HttpDate(5)),
            }))
            .seed(3);
        let json = serde_json::to_string(&rules).unwrap();
        assert_eq!(Rules::from_json(&json).unwrap(), rules);
    }
}
