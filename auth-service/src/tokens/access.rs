use jsonwebtoken::{encode, Algorithm, Header};
use shared_claims::{AccessClaims, ACCESS_TOKEN_TYPE};

use super::SigningKey;

/// Signs `claims` as an RFC 9068 access token: EdDSA, `typ: at+jwt`, `kid`.
pub fn mint_access_token(
    key: &SigningKey,
    claims: &AccessClaims,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
    header.kid = Some(key.kid().to_owned());
    encode(&header, claims, key.encoding_key())
}
