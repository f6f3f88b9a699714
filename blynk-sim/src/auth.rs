//! Authentication and permissions: `POST /oauth2/token` (client credentials with HTTP Basic, one-time
//! refresh tokens, expiry on the simulator's clock), bearer tokens, and what a principal's scopes
//! let it see and do (`OWN_`/`ORG_` permissions, 403 without a body).

use std::time::{Duration, SystemTime};

use axum::http::HeaderValue;
use base64::Engine as _;
use serde_json::json;

use crate::answer::Answer;
use crate::org::Org;
use crate::seed::{Device, Principal, Scope};

/// The token endpoint. It is not part of the OpenAPI document (which covers the DataStreams
/// operations), so it has no entry in `blynk_api::operations`.
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";
/// The name the request log, the counters and fault rules give token requests.
pub const TOKEN_OPERATION: &str = "oauth2Token";

pub(crate) struct IssuedToken {
    pub(crate) principal: Principal,
    pub(crate) expires_at: SystemTime,
}

/// The `(client_id, client_secret)` of an HTTP Basic `Authorization` header.
pub(crate) fn basic_auth(value: Option<&HeaderValue>) -> Option<(String, String)> {
    let encoded = value?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// An OAuth error answer (`{"error": code, "error_description": ...}`, 400).
pub(crate) fn oauth_error(code: &str, description: &str) -> Answer {
    Answer {
        status: 400,
        body: Some(json!({"error": code, "error_description": description})),
        retry_after: None,
    }
}

impl Org {
    /// The principal of a bearer token, or the 401 to answer.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Answer> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| Answer::error(401, "Missing bearer token"))?;
        if let Some(t) = self.seed.tokens.iter().find(|t| t.token == token) {
            return Ok(t.principal.clone());
        }
        match self.issued.get(token) {
            Some(t) if t.expires_at > self.now() => Ok(t.principal.clone()),
            Some(_) => Err(Answer::error(401, "Token expired")),
            None => Err(Answer::error(401, "Invalid token")),
        }
    }

    /// `POST /oauth2/token`: client credentials or refresh token, with HTTP Basic client auth.
    pub(crate) fn token(
        &mut self,
        client: Option<(String, String)>,
        grant: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Answer {
        let Some((id, secret)) = client else {
            return oauth_error(
                "invalid_client",
                "HTTP Basic client authentication is required",
            );
        };
        let Some(known) = self
            .seed
            .clients
            .iter()
            .find(|c| c.client_id == id && c.client_secret == secret)
            .cloned()
        else {
            return oauth_error("invalid_client", "Unknown client or wrong secret");
        };
        match grant {
            Some("client_credentials") => {}
            Some("refresh_token") => {
                let Some(refresh) = refresh_token else {
                    return oauth_error("invalid_request", "refresh_token is required");
                };
                // A refresh token works once.
                match self.refresh.remove(refresh) {
                    Some(owner) if owner == id => {}
                    _ => {
                        return oauth_error(
                            "invalid_grant",
                            "Refresh token is invalid or already used",
                        );
                    }
                }
            }
            Some(_) => {
                return oauth_error(
                    "unsupported_grant_type",
                    "Use client_credentials or refresh_token",
                );
            }
            None => return oauth_error("invalid_request", "grant_type is required"),
        }
        self.counter += 1;
        let access = format!("sim-access-{}-{}", self.counter, fastrand::u64(..));
        let refresh = format!("sim-refresh-{}-{}", self.counter, fastrand::u64(..));
        let ttl = self.seed.token_ttl_secs;
        self.issued.insert(
            access.clone(),
            IssuedToken {
                principal: known.principal.clone(),
                expires_at: self.now() + Duration::from_secs(ttl),
            },
        );
        self.refresh.insert(refresh.clone(), id);
        Answer::ok(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
        }))
    }

    /// Whether the principal may read at all (`OWN_DEVICES_VIEW` or `ORG_DEVICES_VIEW`).
    pub(crate) fn may_view_any(p: &Principal) -> bool {
        p.has(Scope::OwnDevicesView) || p.has(Scope::OrgDevicesView)
    }

    /// Whether the principal sees this device (its own, or the organisation's).
    pub(crate) fn visible(p: &Principal, device: &Device) -> bool {
        p.user.is_none()
            || p.has(Scope::OrgDevicesView)
            || (p.has(Scope::OwnDevicesView) && device.owner.as_deref() == p.user.as_deref())
    }

    /// 403, which the document gives no body.
    pub(crate) fn forbidden() -> Answer {
        Answer::bare(403)
    }

    /// 403 unless the principal may read.
    pub(crate) fn view(p: &Principal) -> Result<(), Answer> {
        if Self::may_view_any(p) {
            Ok(())
        } else {
            Err(Self::forbidden())
        }
    }

    /// 403 unless the principal may write (`ORG_DEVICES_CONTROL`).
    pub(crate) fn control(p: &Principal) -> Result<(), Answer> {
        if p.has(Scope::OrgDevicesControl) && Self::may_view_any(p) {
            Ok(())
        } else {
            Err(Self::forbidden())
        }
    }

    /// 403 unless the principal may import (`ORG_DEVICE_DATA_IMPORT`).
    pub(crate) fn import_allowed(p: &Principal) -> Result<(), Answer> {
        if p.has(Scope::OrgDeviceDataImport) && Self::may_view_any(p) {
            Ok(())
        } else {
            Err(Self::forbidden())
        }
    }
}
