//! Mirroring: what a finished request changed on the account, written into the store
//! (session states, the owner key), so readers of the store see the chain's truth.

use latchkey_chain::rotated_owner;
use latchkey_store::{Request, SessionState};
use serde_json::Value;

use crate::{Purpose, RelayError, Relayer};

impl Relayer {
    pub(crate) async fn mirror_success(&self, request: &Request) -> Result<(), RelayError> {
        let store = &self.inner.store;
        let Some(wallet_id) = &request.wallet_id else { return Ok(()) };
        // An owner rotation: the store follows the chain at once, so the new owner signs
        // gaslessly from the next request on and the old one is refused (R2-08).
        let payload = serde_json::from_str::<Value>(&request.typed_data_json).ok();
        let inspected = payload.and_then(|p| self.inner.chain.inspect(&request.account, &p).ok());
        if let Some(owner) = inspected.and_then(|i| rotated_owner(&i.calls)) {
            store.set_owner_public_key(wallet_id, &owner).await?;
            store.revoke_all_sessions(wallet_id).await?;
            self.forget_session(&request.account, None);
        }
        let purpose = Purpose::decode(&request.purpose);
        match &purpose {
            Purpose::RevokeAllSessions => self.forget_session(&request.account, None),
            other => {
                if let Some(key) = other.session_key() {
                    self.forget_session(&request.account, Some(key));
                }
            }
        }
        let revoked = match purpose {
            Purpose::RegisterSession(key) => {
                store.set_session_state(wallet_id, &key, SessionState::Active).await?;
                return Ok(());
            }
            Purpose::RevokeSession(key) => {
                store.set_session_state(wallet_id, &key, SessionState::Revoked).await?;
                Some(key)
            }
            Purpose::RevokeAllSessions => {
                store.revoke_all_sessions(wallet_id).await?;
                None
            }
            Purpose::User | Purpose::Deploy(_) => return Ok(()),
        };
        // A revoked session's encrypted key, stored for its end user, goes too.
        let Some(wallet) = store.wallet(wallet_id).await? else { return Ok(()) };
        let Some(subject) = &wallet.external_user_id else { return Ok(()) };
        if let Some(stored) = store.user_session(&wallet.org_id, subject).await? {
            let stored_key = serde_json::from_str::<Value>(&stored.blob)
                .ok()
                .and_then(|v| v.get("publicKey").and_then(|k| k.as_str()).map(str::to_string))
                .and_then(|k| self.inner.chain.parse_address(&k).ok());
            if revoked.is_none() || stored_key == revoked {
                store.delete_user_session(&wallet.org_id, subject).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn mirror_failure(&self, request: &Request) -> Result<(), RelayError> {
        if let (Some(wallet_id), Purpose::RegisterSession(key)) =
            (&request.wallet_id, Purpose::decode(&request.purpose))
        {
            self.inner.store.set_session_state(wallet_id, &key, SessionState::Failed).await?;
        }
        Ok(())
    }
}
