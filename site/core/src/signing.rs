//! Signed, expiring tokens for links in emails (verification, password
//! reset): HMAC-SHA256 over a purpose, the payload and the expiry, keyed
//! with the site's secret. Whatever must invalidate a token (a changed
//! password) goes into the signed state, not into the link.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is malformed or was tampered with")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Self {
        // A key of its own, so a token never doubles as a cookie signature.
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"demo-shop.signing");
        Signer {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(&self, purpose: &str, payload: &str, expires: i64, state: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [purpose, payload, &expires.to_string(), state] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// `payload.expires.mac`: the payload must not contain '.'.
    pub fn sign(&self, purpose: &str, payload: &str, expires: i64, state: &str) -> String {
        debug_assert!(!payload.contains('.'));
        let tag = hex::encode(
            self.mac(purpose, payload, expires, state)
                .finalize()
                .into_bytes(),
        );
        format!("{payload}.{expires}.{tag}")
    }

    /// The payload of a token signed for `purpose`; `state` must be what
    /// it was at signing (it is looked up by the payload, so pass a
    /// closure).
    pub fn unsign(
        &self,
        purpose: &str,
        token: &str,
        now: i64,
        state: impl FnOnce(&str) -> Option<String>,
    ) -> Result<String, TokenError> {
        let mut parts = token.rsplitn(3, '.');
        let (Some(tag), Some(expires), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let expires: i64 = expires.parse().map_err(|_| TokenError::Invalid)?;
        let tag = hex::decode(tag).map_err(|_| TokenError::Invalid)?;
        let state = state(payload).ok_or(TokenError::Invalid)?;
        self.mac(purpose, payload, expires, &state)
            .verify_slice(&tag)
            .map_err(|_| TokenError::Invalid)?;
        if now > expires {
            return Err(TokenError::Expired);
        }
        Ok(payload.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_check_purpose_state_and_expiry() {
        let s = Signer::new(b"k");
        let t = s.sign("reset", "42", 100, "hash-a");
        assert_eq!(
            s.unsign("reset", &t, 50, |_| Some("hash-a".into())),
            Ok("42".into())
        );
        assert_eq!(
            s.unsign("reset", &t, 101, |_| Some("hash-a".into())),
            Err(TokenError::Expired)
        );
        assert_eq!(
            s.unsign("reset", &t, 50, |_| Some("hash-b".into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.unsign("verify", &t, 50, |_| Some("hash-a".into())),
            Err(TokenError::Invalid)
        );
        let forged = t.replacen("42", "43", 1);
        assert_eq!(
            s.unsign("reset", &forged, 50, |_| Some("hash-a".into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            Signer::new(b"other").unsign("reset", &t, 50, |_| Some("hash-a".into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.unsign("reset", "garbage", 50, |_| Some("x".into())),
            Err(TokenError::Invalid)
        );
    }
}
