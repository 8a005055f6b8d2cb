//! ID token validation (OpenID Connect Core 3.1.3.7): a JWS signed RS256 or ES256 with a key of
//! the provider's JWKS, `iss` exactly the issuer, `aud` naming this client (and `azp` this client
//! when there are several audiences), `exp`/`iat`/`nbf` by the application's clock with a small
//! skew, and the `nonce` of the login it answers.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::IdTokenProblem;

/// The claims Socle reads; the others are kept for the resolver.
#[derive(Debug, Clone, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    pub aud: Audience,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// What validation needs besides the token.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_s: i64,
    pub skew_s: i64,
}

/// The header's algorithm and key id, for choosing the key. Only RS256 and ES256 are taken.
pub fn header(token: &str) -> Result<(Algorithm, Option<String>), IdTokenProblem> {
    if token.len() > 16 * 1024 {
        return Err(IdTokenProblem::Malformed);
    }
    let h = jsonwebtoken::decode_header(token).map_err(|_| IdTokenProblem::Malformed)?;
    match h.alg {
        Algorithm::RS256 | Algorithm::ES256 => Ok((h.alg, h.kid)),
        other => Err(IdTokenProblem::Algorithm(format!("{other:?}"))),
    }
}

/// Validates `token` signed with `key` against what is expected.
pub fn validate(
    token: &str,
    alg: Algorithm,
    key: &DecodingKey,
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenProblem> {
    use jsonwebtoken::errors::ErrorKind;
    let mut v = Validation::new(alg);
    v.set_issuer(&[expected.issuer]);
    v.set_audience(&[expected.client_id]);
    // Times are checked below by the application's clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<IdClaims>(token, key, &v).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => IdTokenProblem::Signature,
        ErrorKind::InvalidIssuer => IdTokenProblem::Issuer,
        ErrorKind::InvalidAudience => IdTokenProblem::Audience,
        ErrorKind::InvalidAlgorithm => IdTokenProblem::Algorithm(format!("{alg:?}")),
        ErrorKind::MissingRequiredClaim(c) => IdTokenProblem::MissingClaim(c.clone()),
        _ => IdTokenProblem::Malformed,
    })?;
    let c = data.claims;
    if let Audience::Many(auds) = &c.aud
        && auds.len() > 1
        && c.azp.as_deref() != Some(expected.client_id)
    {
        return Err(IdTokenProblem::Audience);
    }
    let (now, skew) = (expected.now_s, expected.skew_s);
    if c.exp <= now - skew {
        return Err(IdTokenProblem::Expired);
    }
    if c.iat > now + skew {
        return Err(IdTokenProblem::IssuedInFuture);
    }
    if c.nbf.is_some_and(|nbf| nbf > now + skew) {
        return Err(IdTokenProblem::NotYetValid);
    }
    let nonce_ok = c.nonce.as_deref().is_some_and(|n| {
        subtle::ConstantTimeEq::ct_eq(n.as_bytes(), expected.nonce.as_bytes()).into()
    });
    if !nonce_ok {
        return Err(IdTokenProblem::Nonce);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    struct Key {
        enc: EncodingKey,
        dec: DecodingKey,
    }

    fn key() -> Key {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        Key {
            enc: EncodingKey::from_ec_der(pkcs8.as_ref()),
            dec: DecodingKey::from_ec_components(&b64(&point[1..33]), &b64(&point[33..65]))
                .unwrap(),
        }
    }

    fn claims() -> serde_json::Value {
        json!({"iss": "https://idp", "aud": "socle", "sub": "alice", "exp": NOW + 300,
               "iat": NOW, "nonce": "n1", "email": "alice@example.com"})
    }

    fn sign(k: &Key, c: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), c, &k.enc).unwrap()
    }

    fn check(k: &Key, token: &str) -> Result<IdClaims, IdTokenProblem> {
        let (alg, _) = header(token)?;
        let expected = Expected {
            issuer: "https://idp",
            client_id: "socle",
            nonce: "n1",
            now_s: NOW,
            skew_s: 60,
        };
        validate(token, alg, &k.dec, &expected)
    }

    fn with(change: impl FnOnce(&mut serde_json::Value)) -> Result<IdClaims, IdTokenProblem> {
        let k = key();
        let mut c = claims();
        change(&mut c);
        check(&k, &sign(&k, &c))
    }

    #[test]
    fn a_good_token_gives_its_claims() {
        let c = with(|_| {}).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.other["email"], "alice@example.com");
    }

    #[test]
    fn expiry_is_checked_with_the_skew() {
        assert!(
            with(|c| c["exp"] = json!(NOW - 30)).is_ok(),
            "within the skew"
        );
        assert_eq!(
            with(|c| c["exp"] = json!(NOW - 61)).unwrap_err(),
            IdTokenProblem::Expired
        );
    }

    #[test]
    fn tokens_from_the_future_are_refused() {
        assert_eq!(
            with(|c| c["iat"] = json!(NOW + 600)).unwrap_err(),
            IdTokenProblem::IssuedInFuture
        );
        assert_eq!(
            with(|c| c["nbf"] = json!(NOW + 600)).unwrap_err(),
            IdTokenProblem::NotYetValid
        );
    }

    #[test]
    fn audience_issuer_and_nonce_must_be_ours() {
        assert_eq!(
            with(|c| c["aud"] = json!("other")).unwrap_err(),
            IdTokenProblem::Audience
        );
        assert_eq!(
            with(|c| c["iss"] = json!("https://evil")).unwrap_err(),
            IdTokenProblem::Issuer
        );
        assert_eq!(
            with(|c| c["nonce"] = json!("n2")).unwrap_err(),
            IdTokenProblem::Nonce
        );
        let no_nonce = with(|c| {
            c.as_object_mut().unwrap().remove("nonce");
        });
        assert_eq!(no_nonce.unwrap_err(), IdTokenProblem::Nonce);
    }

    #[test]
    fn several_audiences_need_us_as_the_authorized_party() {
        assert_eq!(
            with(|c| c["aud"] = json!(["socle", "other"])).unwrap_err(),
            IdTokenProblem::Audience
        );
        assert!(
            with(|c| {
                c["aud"] = json!(["socle", "other"]);
                c["azp"] = json!("socle");
            })
            .is_ok()
        );
    }

    #[test]
    fn a_token_signed_by_another_key_is_refused() {
        let (k1, k2) = (key(), key());
        let token = sign(&k2, &claims());
        assert_eq!(check(&k1, &token).unwrap_err(), IdTokenProblem::Signature);
    }

    #[test]
    fn symmetric_and_unsigned_algorithms_are_refused() {
        // Algorithm confusion: an HMAC "signed" with public material.
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"public"),
        )
        .unwrap();
        assert_eq!(
            header(&hs).unwrap_err(),
            IdTokenProblem::Algorithm("HS256".into())
        );
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(&claims().to_string())
        );
        assert_eq!(header(&none).unwrap_err(), IdTokenProblem::Malformed);
    }
}
