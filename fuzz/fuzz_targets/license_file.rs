//! License files and authority keys (the server's `license_file` module).
//! The first byte picks what the rest is: a whole license file verified
//! against a fixed trusted key (even), or the signed text of a file, signed
//! here with that key so that the body's parser is reached (odd). The same
//! bytes are also read as a public key and as a signing key. Properties:
//! nothing panics; keys print back to themselves; a body that verifies,
//! signed again, verifies to the same body.
#![no_main]

use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use seatmeter_fuzz::license_file::{
    FORMAT, LicenseFile, key_id, parse_public_key, parse_signing_key, public_key_text, sign,
    signing_key_text, verify,
};
use seatmeter_fuzz::secrets::hex;
use seatmeter_fuzz::split_selector;

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = split_selector(data);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let key = SigningKey::from_bytes(&[7; 32]);
    let trusted = key.verifying_key();

    if let Ok(public) = parse_public_key(text) {
        assert_eq!(parse_public_key(&public_key_text(&public)), Ok(public));
    }
    if let Some(signing) = parse_signing_key(text) {
        let again = parse_signing_key(&signing_key_text(&signing)).expect("a written key reads back");
        assert_eq!(again.to_bytes(), signing.to_bytes());
    }

    let file = if selector & 1 == 0 {
        text.to_string()
    } else {
        let signed = LicenseFile {
            format: FORMAT.to_string(),
            key: key_id(&trusted),
            license: text.to_string(),
            signature: hex(&key.sign(text.as_bytes()).to_bytes()),
        };
        serde_json::to_string(&signed).expect("a license file serialises")
    };
    let Ok(body) = verify(&file, &trusted) else { return };
    let resigned = serde_json::to_string(&sign(&body, &key)).expect("a license file serialises");
    assert_eq!(verify(&resigned, &trusted), Ok(body.clone()), "a verified body signed again verifies");
    let _ = body.check_for("acc_1", 1_800_000_000_000, |t| {
        seatmeter_core::time::parse_rfc3339(t.as_bytes()).ok().map(|t| t.0 / 1_000_000)
    });
    let _ = body.covers(u64::from(selector));
});
