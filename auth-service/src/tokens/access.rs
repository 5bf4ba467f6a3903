use shared_claims::AccessClaims;

use super::SigningKey;

/// Signs `claims` as an RFC 9068 access token: EdDSA, `typ: at+jwt`, `kid`.
pub fn mint_access_token(
    key: &SigningKey,
    claims: &AccessClaims,
) -> jsonwebtoken::errors::Result<String> {
    // jsonwebtoken::encode, with the key parsed when it was loaded.
    key.prepared().encode(key.header(), claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_claims::Role;

    fn claims() -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            iss: "http://issuer.test".into(),
            aud: "resource-service".into(),
            sub: "user-1".into(),
            exp: now + 60,
            iat: now,
            nbf: None,
            jti: "jti-1".into(),
            client_id: shared_claims::FIRST_PARTY_CLIENT.into(),
            subject: shared_claims::Subject::User {
                sid: "session-1".into(),
                role: Role::User,
                email: "ada@example.com".into(),
            },
            cnf: None,
        }
    }

    #[test]
    fn a_minted_token_has_the_access_token_header_and_verifies() {
        let row = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let key = SigningKey::from_row(&row).expect("load");
        let issued = claims();

        let token = mint_access_token(&key, &issued).expect("mint");

        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(row.kid.as_str()));
        let mut keys = shared_claims::KeySet::new();
        let public: [u8; 32] = row.public_key.as_slice().try_into().expect("32 bytes");
        keys.insert_ed25519(row.kid.clone(), &public);
        let verifier = shared_claims::Verifier::new(
            "http://issuer.test",
            "resource-service",
            std::time::Duration::ZERO,
        );
        assert_eq!(verifier.verify(&token, &keys), Ok(issued));
    }

    #[test]
    fn a_bound_token_carries_its_key_thumbprint_and_still_verifies() {
        let row = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let key = SigningKey::from_row(&row).expect("load");
        let issued = AccessClaims {
            cnf: Some(shared_claims::Confirmation {
                jkt: "thumbprint".into(),
            }),
            ..claims()
        };

        let token = mint_access_token(&key, &issued).expect("mint");

        // What any reader of the token sees, before the signature is checked below.
        let claims: serde_json::Value =
            jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("claims");
        assert_eq!(claims["cnf"], serde_json::json!({ "jkt": "thumbprint" }));
        let mut keys = shared_claims::KeySet::new();
        let public: [u8; 32] = row.public_key.as_slice().try_into().expect("32 bytes");
        keys.insert_ed25519(row.kid.clone(), &public);
        let verifier = shared_claims::Verifier::new(
            "http://issuer.test",
            "resource-service",
            std::time::Duration::ZERO,
        );
        assert_eq!(verifier.verify(&token, &keys), Ok(issued));
    }

    #[test]
    fn a_stored_key_whose_halves_do_not_match_is_refused() {
        let mut row = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let other = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        row.public_key = other.public_key;

        let outcome = SigningKey::from_row(&row);

        assert!(outcome.is_err());
    }
}
