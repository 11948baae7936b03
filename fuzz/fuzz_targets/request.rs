//! Arbitrary `POST /v1/responses` bodies into `CreateResponse::from_body`.
//!
//! Checks: nothing panics; a rejection is a 400 `validation_error` or a
//! 413 `payload_too_large`; an accepted request passes `validate`, agrees
//! with the `Deserialize` impl, and survives a serialize/read round trip.
#![no_main]

use agent37_stream::protocol::request::CreateResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match CreateResponse::from_body(body) {
        Ok(request) => {
            request.validate().expect("an accepted request validates");
            let via_serde: CreateResponse =
                serde_json::from_slice(body).expect("Deserialize accepts what from_body accepts");
            assert_eq!(via_serde, request);
            let written = serde_json::to_vec(&request).expect("a request serializes");
            let again = CreateResponse::from_body(&written).expect("a written request reads back");
            assert_eq!(
                again,
                request,
                "round trip through {}",
                String::from_utf8_lossy(&written)
            );
        }
        Err(error) => {
            let code = error.code().map(|code| code.as_str().to_owned());
            match error.status() {
                400 => assert_eq!(code.as_deref(), Some("validation_error"), "{error:?}"),
                413 => assert_eq!(code.as_deref(), Some("payload_too_large"), "{error:?}"),
                other => panic!("rejected with status {other}: {error:?}"),
            }
            assert!(!error.message().is_empty());
        }
    }
});
