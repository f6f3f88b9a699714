//! Failures: one line each on stderr with a hint (one JSON object under `--json`), and an
//! [`Exit`] code per kind. Messages pass through [`screen::escape`], since
//! they may quote the server.

use std::io::Write;

use blynk_api_ext::{AuthError, Error};
use serde_json::json;

use crate::exit::Exit;
use crate::screen;

/// A failure to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its kind and exit code.
    pub exit: Exit,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The command line to run next, when there is one (also inside the hint); a field of its
    /// own under `--json`, so scripts need not parse the hint.
    pub next: Option<String>,
}

impl Failure {
    /// A failure of kind `exit`.
    pub fn new(exit: Exit, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: hint.into(),
            next: None,
        }
    }

    /// A configuration failure (exit 3).
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Exit::Config, message, hint)
    }

    /// Bad input (exit 4).
    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Exit::Input, message, hint)
    }

    /// The reader of stdout went away (`| head`): not an error, nothing to say.
    pub fn closed_output() -> Self {
        Self::new(Exit::Ok, "", "")
    }

    /// A failed write to stdout: silent success when the reader went away, exit 1 otherwise.
    pub fn output(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self::closed_output()
        } else {
            Self::new(
                Exit::Other,
                format!("cannot write the output: {e}"),
                "check where stdout goes (a full disk, a closed file)",
            )
        }
    }

    /// Writes the failure to stderr (one line, or one JSON object) and returns its exit code.
    pub fn report(&self, json: bool) -> Exit {
        if self.exit == Exit::Ok {
            return Exit::Ok;
        }
        let line = if json {
            let mut error = json!({
                "code": self.exit.code(),
                "kind": self.exit.name(),
                "message": self.message,
                "hint": self.hint,
            });
            if let (Some(next), Some(fields)) = (&self.next, error.as_object_mut()) {
                fields.insert("next".into(), json!(next));
            }
            screen::json_line(&json!({ "error": error }))
        } else {
            format!(
                "error: {} (hint: {})",
                screen::escape(&self.message),
                screen::escape(&self.hint)
            )
        };
        // Nothing more can be done if stderr is gone too.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
        self.exit
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let operation = e.operation();
        let (exit, hint) = match &e {
            Error::Transport { source, .. } => {
                let (message, hint) = crate::network::describe(source);
                return Failure::new(Exit::Network, format!("{operation}: {message}"), hint);
            }
            Error::Auth { source, .. } => match source {
                AuthError::Transport(source) => {
                    let (message, hint) = crate::network::describe(source);
                    return Failure::new(
                        Exit::Network,
                        format!("{operation}: token request: {message}"),
                        hint,
                    );
                }
                AuthError::InvalidResponse(_) => (
                    Exit::Server,
                    "the token endpoint answered something that is not a token; check --server",
                ),
                _ => (
                    Exit::Auth,
                    "check BLYNK_CLIENT_ID/BLYNK_CLIENT_SECRET (or BLYNK_TOKEN) and the server",
                ),
            },
            Error::InvalidInput { .. } => {
                (Exit::Input, "fix the value named above; nothing was sent")
            }
            Error::BadRequest { .. } => (
                Exit::Input,
                "the server refused the input; check IDs, types and formats",
            ),
            Error::Unauthorized { .. } => (
                Exit::Auth,
                "check BLYNK_TOKEN or BLYNK_CLIENT_ID/BLYNK_CLIENT_SECRET and the server",
            ),
            Error::Forbidden { .. } => (
                Exit::Permission,
                "the token lacks a permission this command needs (e.g. ORG_DEVICES_CONTROL)",
            ),
            Error::NotFound { .. } => (
                Exit::NotFound,
                "check the device and datastream IDs, and that the token may see them",
            ),
            Error::RateLimited { .. } => (
                Exit::RateLimited,
                "wait and run again, or lower --concurrency",
            ),
            Error::Redirected { .. } => (
                Exit::Config,
                "set BLYNK_REGION (or BLYNK_SERVER) to the region of your account",
            ),
            Error::Io { .. } => (Exit::Other, "check the output destination"),
            _ => (Exit::Server, "the server failed; try again later"),
        };
        Failure::new(exit, e.to_string(), hint)
    }
}
