//! What a request is for, so the relayer can mirror its effect when it succeeds.

/// What a prepared request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// An ordinary execution.
    User,
    /// Registers (or updates) the session of this key.
    RegisterSession(String),
    /// Revokes the session of this key.
    RevokeSession(String),
    /// Revokes every session.
    RevokeAllSessions,
    /// Deploys the account of this owner key.
    Deploy(String),
}

impl Purpose {
    /// The stored form: `user`, `register_session:<key>`, …
    pub fn encode(&self) -> String {
        match self {
            Self::User => "user".into(),
            Self::RegisterSession(key) => format!("register_session:{key}"),
            Self::RevokeSession(key) => format!("revoke_session:{key}"),
            Self::RevokeAllSessions => "revoke_all_sessions".into(),
            Self::Deploy(owner) => format!("deploy:{owner}"),
        }
    }

    /// Reads the stored form; anything unknown is an ordinary execution.
    pub fn decode(text: &str) -> Self {
        let key = |rest: &str| (!rest.is_empty()).then(|| rest.to_string());
        match text.split_once(':') {
            Some(("register_session", rest)) => key(rest).map_or(Self::User, Self::RegisterSession),
            Some(("revoke_session", rest)) => key(rest).map_or(Self::User, Self::RevokeSession),
            Some(("deploy", rest)) => key(rest).map_or(Self::User, Self::Deploy),
            _ if text == "revoke_all_sessions" => Self::RevokeAllSessions,
            _ => Self::User,
        }
    }

    /// The session key whose cached record the request changes, if any.
    pub(crate) fn session_key(&self) -> Option<&str> {
        match self {
            Self::RegisterSession(key) | Self::RevokeSession(key) => Some(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip() {
        for purpose in [
            Purpose::User,
            Purpose::RegisterSession("0x7".into()),
            Purpose::RevokeSession("0x9".into()),
            Purpose::RevokeAllSessions,
            Purpose::Deploy("0x5".into()),
        ] {
            assert_eq!(Purpose::decode(&purpose.encode()), purpose);
        }
        assert_eq!(Purpose::decode("register_session:"), Purpose::User);
        assert_eq!(Purpose::decode("nonsense"), Purpose::User);
    }
}
