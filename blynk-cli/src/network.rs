//! What went wrong on the wire, in words a user can act on: a refused connection, a TLS
//! handshake with a plain-http port, a port speaking another protocol, a timeout, a name that does
//! not resolve. Only the host and port are named: never a URL's user, password or query.

use std::error::Error as StdError;

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens on the port.
    Refused,
    /// The TLS handshake failed because the other side does not speak TLS.
    TlsToPlain,
    /// The TLS handshake failed for another reason (certificate, version).
    Tls,
    /// The other side answered, but not in HTTP.
    NotHttp,
    /// The time allowed ran out.
    Timeout,
    /// The host name does not resolve.
    Dns,
    /// The connection closed before the answer was complete.
    Closed,
    /// Anything else.
    Other,
}

/// The source chain below `error` as lower-case text, and the I/O error kinds found in it.
fn chain(error: &(dyn StdError + 'static)) -> (String, Vec<std::io::ErrorKind>) {
    let mut text = String::new();
    let mut kinds = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            kinds.push(io.kind());
        }
        text.push_str(&e.to_string().to_lowercase());
        text.push_str(" | ");
        next = e.source();
    }
    (text, kinds)
}

/// Classifies a failed request.
pub fn cause(error: &reqwest::Error) -> Cause {
    if error.is_timeout() {
        return Cause::Timeout;
    }
    let (text, kinds) = chain(error);
    use std::io::ErrorKind as K;
    if kinds.contains(&K::ConnectionRefused) || text.contains("connection refused") {
        Cause::Refused
    } else if kinds.contains(&K::TimedOut) || text.contains("timed out") {
        Cause::Timeout
    } else if text.contains("invalidcontenttype")
        || text.contains("corrupt message")
        || text.contains("invalid content type")
        || text.contains("wrong version number")
    {
        Cause::TlsToPlain
    } else if text.contains("tls") || text.contains("certificate") || text.contains("handshake") {
        Cause::Tls
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        Cause::Dns
    } else if text.contains("invalid http")
        || text.contains("unexpected message")
        || text.contains("http/0.9")
        || text.contains("parse")
        || text.contains("invalid status")
        || text.contains("invalid header")
    {
        Cause::NotHttp
    } else if text.contains("connection closed")
        // hyper: the connection failed before the request could be sent, as when a server
        // writes first (SSH) or closes at once.
        || text.contains("connection was not ready")
        || text.contains("connection reset")
        || kinds.contains(&K::ConnectionReset)
        || kinds.contains(&K::UnexpectedEof)
    {
        Cause::Closed
    } else {
        Cause::Other
    }
}

/// The deepest cause below the request error (whose own text names the URL).
fn innermost(error: &reqwest::Error) -> String {
    let mut last = None;
    let mut next = error.source();
    while let Some(e) = next {
        last = Some(e.to_string());
        next = e.source();
    }
    last.unwrap_or_else(|| "no further detail".to_string())
}

/// `host:port` of the request, if the error knows it (never the user, password, path or query).
fn place(error: &reqwest::Error) -> String {
    error
        .url()
        .and_then(|url| {
            let host = url.host_str()?;
            Some(match url.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            })
        })
        .unwrap_or_else(|| "the server".to_string())
}

/// A message and a hint for a failed request.
pub fn describe(error: &reqwest::Error) -> (String, String) {
    let at = place(error);
    let https = error.url().is_some_and(|u| u.scheme() == "https");
    match cause(error) {
        Cause::Refused => (
            format!("connection refused by {at}: nothing listens there"),
            "check the host and port of --server/BLYNK_SERVER, and that the server runs".into(),
        ),
        Cause::TlsToPlain => (
            format!("TLS handshake with {at} failed: the port does not speak TLS"),
            if https {
                "if the server speaks plain http (a local simulator), use an http:// URL".into()
            } else {
                "check the port of --server/BLYNK_SERVER".into()
            },
        ),
        Cause::Tls => (
            format!("TLS handshake with {at} failed"),
            "check the server's certificate and that --server/BLYNK_SERVER names the right host"
                .into(),
        ),
        Cause::NotHttp => (
            format!("{at} answered in another protocol than HTTP"),
            "check the port of --server/BLYNK_SERVER".into(),
        ),
        Cause::Timeout => (
            format!("no answer from {at} in the time allowed"),
            "check the network, or allow more time per request with --timeout, e.g. --timeout 60s"
                .into(),
        ),
        Cause::Dns => (
            format!("cannot resolve the host of {at}"),
            "check the host name of --server/BLYNK_SERVER or the region".into(),
        ),
        Cause::Closed => (
            format!("{at} closed the connection before answering"),
            "try again; if it persists, check the server and any proxy between".into(),
        ),
        Cause::Other => (
            format!("request to {at} failed: {}", innermost(error)),
            "check the network and --server/BLYNK_SERVER; -v shows more".into(),
        ),
    }
}
