//! Accepting a prediction as a `custom_model` annotation. A client may not claim that a model
//! made an annotation; instead `POST /api/v1/models/{id}/predict` on a project image signs each
//! predicted shape (an HS256 token over the image, the model, the shape, its class and
//! confidence, valid for [`TOKEN_TTL`]) and `POST /api/v1/images/{id}/annotations/accept`
//! stores exactly what was signed. The key is derived from the token-signing secret with its
//! own purpose, so a prediction token is never an access token and the other way round;
//! nothing is kept on the server, so any instance behind a load balancer accepts it.

use std::time::Duration;

use af_core::AnnotationType;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::jobs::inference::PredictResponse;
use crate::state::AppState;

/// How long a prediction stays acceptable (an annotation session, not forever).
pub const TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Separates these keys from the access-token key derived from the same secret.
const PURPOSE: &[u8] = b"annotateforge accept-prediction v1\0";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Always [`PURPOSE`]'s name: a token of another kind never parses as this one.
    kind: String,
    image_id: i64,
    model_id: i64,
    #[serde(rename = "type")]
    ty: AnnotationType,
    data: Value,
    class_label: String,
    confidence: f64,
    exp: u64,
}

const KIND: &str = "accept-prediction";

/// A verified prediction, ready to validate and store.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub model_id: i64,
    pub ty: AnnotationType,
    pub data: Value,
    pub class_label: String,
    pub confidence: f64,
}

fn key(state: &AppState) -> anyhow::Result<Vec<u8>> {
    let secret = match &state.config.jwt_secret {
        Some(s) => s.expose().as_bytes().to_vec(),
        None => state.storage.jwt_secret()?,
    };
    let mut h = Sha256::new();
    h.update(PURPOSE);
    h.update(&secret);
    Ok(h.finalize().to_vec())
}

/// Signs every predicted shape of a prediction on project image `response.image_id` (a
/// prediction on an uploaded file has nothing to accept it onto).
pub fn sign_all(state: &AppState, response: &mut PredictResponse) -> anyhow::Result<()> {
    let Some(image_id) = response.image_id else { return Ok(()) };
    let key = EncodingKey::from_secret(&key(state)?);
    let exp = jsonwebtoken::get_current_timestamp() + TOKEN_TTL.as_secs();
    let model_id = response.model_id;
    for a in response.annotations.iter_mut().flatten() {
        let claims = Claims {
            kind: KIND.into(),
            image_id,
            model_id,
            ty: a.ty,
            data: a.data.clone(),
            class_label: a.class_label.clone(),
            confidence: a.confidence,
            exp,
        };
        a.accept_token = Some(encode(&Header::new(Algorithm::HS256), &claims, &key)?);
    }
    Ok(())
}

/// The prediction signed in `token`, if this server signed it for `image_id` and it has not
/// expired. Every failure is the same 422 (no token library internals).
pub fn verify(state: &AppState, token: &str, image_id: i64) -> Result<Accepted, AppError> {
    let bad = || {
        AppError::invalid(
            "accept_token",
            format!("not a current prediction of this server for image {image_id}: predict the image again and accept from that answer"),
        )
    };
    let key = DecodingKey::from_secret(&key(state)?);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    let claims = decode::<Claims>(token, &key, &validation).map_err(|_| bad())?.claims;
    if claims.kind != KIND || claims.image_id != image_id {
        return Err(bad());
    }
    Ok(Accepted { model_id: claims.model_id, ty: claims.ty, data: claims.data, class_label: claims.class_label, confidence: claims.confidence })
}
