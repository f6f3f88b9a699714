//! Failures: one line each, with a hint, and a distinct exit code per kind.
//!
//! | code | kind |
//! |---|---|
//! | 0 | success |
//! | 1 | other (I/O on output) |
//! | 2 | usage (wrong flags; from clap) |
//! | 3 | configuration (server, region, credentials, config file, wrong region redirect) |
//! | 4 | bad input (argument, input file, or a 400 from the server) |
//! | 5 | authentication (401, token endpoint refused) |
//! | 6 | permission (403) |
//! | 7 | not found (404) |
//! | 8 | rate limited (429 after retries) |
//! | 9 | server error (5xx, unexpected status, undecodable answer) |
//! | 10 | network (connection, TLS, timeout) |

use std::process::ExitCode;

use blynk_api_ext::Error;

/// A failure to report.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub hint: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(3, message, hint)
    }

    pub fn input(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(4, message, hint)
    }

    /// Prints `error: ... (hint: ...)` on one line of stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        let message = self.message.replace('\n', " ");
        eprintln!("error: {message} (hint: {})", self.hint);
        ExitCode::from(self.code)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let (code, hint) = match &e {
            Error::InvalidInput { .. } => (4, "fix the value named above; nothing was sent"),
            Error::BadRequest { .. } => (
                4,
                "the server refused the input; check IDs, types and formats",
            ),
            Error::Unauthorized { .. } | Error::Auth { .. } => (
                5,
                "check BLYNK_TOKEN or BLYNK_CLIENT_ID/BLYNK_CLIENT_SECRET and the server",
            ),
            Error::Forbidden { .. } => (
                6,
                "the token lacks a permission this command needs (e.g. ORG_DEVICES_CONTROL)",
            ),
            Error::NotFound { .. } => (
                7,
                "check the device and datastream IDs, and that the token may see them",
            ),
            Error::RateLimited { .. } => (8, "wait and run again, or lower --concurrency"),
            Error::Redirected { .. } => (
                3,
                "set BLYNK_REGION (or BLYNK_SERVER) to the region of your account",
            ),
            Error::Transport { .. } => (
                10,
                "check the network and BLYNK_SERVER; the server did not answer in time",
            ),
            Error::Io { .. } => (1, "check the output destination"),
            _ => (9, "the server failed; try again later"),
        };
        Failure::new(code, message, hint)
    }
}

impl From<crate::input::InputError> for Failure {
    fn from(e: crate::input::InputError) -> Self {
        Failure::input(
            e.to_string(),
            "fix the file at that line and column; nothing was sent",
        )
    }
}
