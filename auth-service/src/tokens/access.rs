use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use shared_claims::AccessClaims;

use super::SigningKey;

/// Signs `claims` as an RFC 9068 access token: EdDSA, `typ: at+jwt`, `kid`
/// (the header is encoded once per key, see [`SigningKey::encoded_header`]).
pub fn mint_access_token(
    key: &SigningKey,
    claims: &AccessClaims,
) -> Result<String, serde_json::Error> {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
    let mut token = format!("{}.{payload}", key.encoded_header());
    let signature = key.ed25519().sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
    Ok(token)
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
            sid: "session-1".into(),
            role: Role::User,
            email: "ada@example.com".into(),
        }
    }

    #[test]
    fn a_minted_token_verifies_with_an_independent_jwt_library() {
        let row = SigningKey::generate(chrono::Utc::now().naive_utc()).expect("key");
        let key = SigningKey::from_row(&row).expect("load");
        let issued = claims();

        let token = mint_access_token(&key, &issued).expect("mint");

        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(row.kid.as_str()));
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_issuer(&["http://issuer.test"]);
        validation.set_audience(&["resource-service"]);
        let decoded = jsonwebtoken::decode::<AccessClaims>(
            &token,
            &jsonwebtoken::DecodingKey::from_ed_der(&row.public_key),
            &validation,
        )
        .expect("jsonwebtoken accepts the token");
        assert_eq!(decoded.claims, issued);
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
