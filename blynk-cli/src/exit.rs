//! The exit codes of `blynk`: one enum, from which the table in `blynk --help` and the READMEs'
//! tables are both derived (`tests/readme.rs` keeps the READMEs equal to [`Exit::markdown_table`]).

/// What a run of `blynk` ended with; the discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// Success (also when the reader of stdout went away, as with `| head`).
    Ok = 0,
    /// Anything else: output that cannot be written, a runtime that cannot start.
    Other = 1,
    /// Wrong flags or arguments.
    Usage = 2,
    /// Server, region, credentials or config file, or a redirect to another region.
    Config = 3,
    /// A bad argument value, a bad input file, or a 400 from the server.
    Input = 4,
    /// The credentials were refused (401, or the token endpoint said no).
    Auth = 5,
    /// The token lacks a permission (403).
    Permission = 6,
    /// A device, datastream or property does not exist or is not visible (404).
    NotFound = 7,
    /// Still rate limited (429) after the retries.
    RateLimited = 8,
    /// The server failed (5xx), or answered something undocumented or undecodable.
    Server = 9,
    /// No answer: connection refused, TLS failure, another protocol, timeout.
    Network = 10,
    /// Partial results: some devices were read, the requests for others failed.
    Partial = 11,
}

impl Exit {
    /// Every exit code, in numeric order.
    pub const ALL: [Exit; 12] = [
        Exit::Ok,
        Exit::Other,
        Exit::Usage,
        Exit::Config,
        Exit::Input,
        Exit::Auth,
        Exit::Permission,
        Exit::NotFound,
        Exit::RateLimited,
        Exit::Server,
        Exit::Network,
        Exit::Partial,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// A short name, used as the `kind` of a JSON error.
    pub const fn name(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::Other => "other",
            Exit::Usage => "usage",
            Exit::Config => "configuration",
            Exit::Input => "bad input",
            Exit::Auth => "authentication",
            Exit::Permission => "permission",
            Exit::NotFound => "not found",
            Exit::RateLimited => "rate limited",
            Exit::Server => "server error",
            Exit::Network => "network",
            Exit::Partial => "partial",
        }
    }

    /// When the code is used.
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success (also when the reader of the output goes away, as `head` does)",
            Exit::Other => "output that cannot be written, or another local failure",
            Exit::Usage => "wrong flags or arguments",
            Exit::Config => {
                "server, region, credentials or config file; a redirect to another region"
            }
            Exit::Input => {
                "a bad argument value or input file (nothing was sent), or a 400 from the server"
            }
            Exit::Auth => "credentials refused (401, or the token endpoint said no)",
            Exit::Permission => "the token lacks a permission (403)",
            Exit::NotFound => "device, datastream or property not found or not visible (404)",
            Exit::RateLimited => "still rate limited (429) after the retries",
            Exit::Server => "the server failed (5xx) or answered something undocumented",
            Exit::Network => {
                "no answer: connection refused, TLS failure, another protocol, timeout"
            }
            Exit::Partial => {
                "partial results (`values --devices`): what was read is printed, the devices whose requests failed are listed on stderr with the reason"
            }
        }
    }

    /// The table shown at the end of `blynk --help`.
    pub fn help_table() -> String {
        let mut out = String::from("Exit codes:\n");
        for exit in Exit::ALL {
            out.push_str(&format!(
                "  {:>2}  {:<15} {}\n",
                exit.code(),
                exit.name(),
                exit.meaning()
            ));
        }
        out.push_str("\nWith --json, an error is one JSON object on stderr: {\"error\": {\"code\", \"kind\", \"message\", \"hint\"}}.");
        out
    }

    /// The table of the README's `blynk` section, as Markdown.
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | kind | when |\n|---|---|---|\n");
        for exit in Exit::ALL {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                exit.code(),
                exit.name(),
                exit.meaning()
            ));
        }
        out
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, exit) in Exit::ALL.iter().enumerate() {
            assert_eq!(usize::from(exit.code()), i);
        }
    }

    #[test]
    fn meanings_fit_in_a_markdown_table_cell() {
        for exit in Exit::ALL {
            assert!(!exit.meaning().contains('|'), "{exit:?}");
        }
    }
}
