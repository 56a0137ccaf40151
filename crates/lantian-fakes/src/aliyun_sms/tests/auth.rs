//! What the gateway checks: signature, AccessKey, date, nonce, action.

use super::*;

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let (fake, _) = start().await;
    let call = Call { secret: "notTheSecret".to_owned(), ..Call::sms("13800000000") };
    let message = refused(&call.send(&fake).await, 400, "SignatureDoesNotMatch");
    assert!(message.starts_with("Specified signature does not match our calculation."), "{message}");
    // The fake shows what it signed, so a client bug can be found.
    assert!(message.contains("SignName=%E8%93%9D%E5%A4%A9%E4%BA%91"), "{message}");
    assert!(fake.messages().is_empty());
    assert_eq!(fake.attempts(), 1);
}

#[tokio::test]
async fn unknown_access_key_is_404() {
    let (fake, _) = start().await;
    let call = Call { access_key_id: "LTAIsomeoneElse".to_owned(), ..Call::sms("13800000000") };
    let (status, body) = call.send(&fake).await;
    refused(&(status, body.clone()), 404, "InvalidAccessKeyId.NotFound");
    assert_eq!(body["HostId"], "dysmsapi.aliyuncs.com");
    assert!(body["Recommend"].as_str().unwrap().contains("InvalidAccessKeyId.NotFound"), "{body}");
}

#[tokio::test]
async fn tampering_after_signing_is_caught() {
    let (fake, _) = start().await;
    let call = Call::sms("13800000000");

    let signed = call.sign(&fake);
    let url = signed.url.replace("13800000000", "13900000000");
    refused(&Signed { url, ..signed }.send().await, 400, "SignatureDoesNotMatch");

    let signed = call.clone().at(NOW_MS + 1000).sign(&fake);
    let replayed_date = call.sign(&fake).header("x-acs-date").to_owned();
    refused(&signed.set_header("x-acs-date", &replayed_date).send().await, 400, "SignatureDoesNotMatch");

    let signed = Call::sms("13800000000").sign(&fake);
    refused(&Signed { body: b"x".to_vec(), ..signed }.send().await, 400, "SignatureDoesNotMatch");

    // An x-acs-* header left out of SignedHeaders.
    let signed = Call::sms("13800000000").sign(&fake).set_header("x-acs-extra", "1");
    let message = refused(&signed.send().await, 400, "IncompleteSignature");
    assert!(message.contains("x-acs-extra"), "{message}");

    let signed = Call::sms("13800000000").sign(&fake);
    let unsorted = signed.header("authorization").replace("host;x-acs-action", "x-acs-action;host");
    refused(&signed.set_header("authorization", &unsorted).send().await, 400, "IncompleteSignature");

    let signed = Call::sms("13800000000").sign(&fake);
    let other_algorithm = signed.header("authorization").replace("ACS3-HMAC-SHA256", "ACS3-HMAC-SM3");
    refused(&signed.set_header("authorization", &other_algorithm).send().await, 400, "IncompleteSignature");

    let signed = Call::sms("13800000000").sign(&fake).remove_header("authorization");
    refused(&signed.send().await, 400, "MissingParameter");

    assert!(fake.messages().is_empty());
    assert_eq!(accepted(&call.send(&fake).await).len(), 20);
}

#[tokio::test]
async fn dates_must_be_within_15_minutes_of_the_fake_clock() {
    let (fake, clock) = start().await;
    clock.store(NOW_MS + 15 * 60_000 + 1000, Ordering::SeqCst);
    let message = refused(&Call::sms("13800000000").send(&fake).await, 400, "InvalidTimeStamp.Expired");
    assert!(message.contains("2025-01-01T00:15:01Z"), "{message}");
    refused(&Call::sms("13800000000").at(NOW_MS + 31 * 60_000).send(&fake).await, 400, "InvalidTimeStamp.Expired");

    // Exactly 15 minutes either way is still on time.
    clock.store(NOW_MS + 15 * 60_000, Ordering::SeqCst);
    accepted(&Call::sms("13800000000").send(&fake).await);
    clock.store(NOW_MS, Ordering::SeqCst);
    accepted(&Call::sms("13900000000").at(NOW_MS + 15 * 60_000).send(&fake).await);

    let signed = Call::sms("13800000000").sign(&fake).set_header("x-acs-date", "2025-01-01 00:00:00");
    refused(&signed.send().await, 400, "InvalidTimeStamp.Format");
}

#[tokio::test]
async fn a_nonce_works_once() {
    let (fake, _) = start().await;
    let call = Call::sms("13800000000");
    accepted(&call.send(&fake).await);
    let message = refused(&call.send(&fake).await, 400, "SignatureNonceUsed");
    assert_eq!(message, "Specified signature nonce was used already.");
    assert_eq!(fake.messages().len(), 1);

    // A forged request does not use up the nonce of a real one.
    let real = Call::sms("13900000000");
    let forged = Call { secret: "forger".to_owned(), ..real.clone() };
    refused(&forged.send(&fake).await, 400, "SignatureDoesNotMatch");
    accepted(&real.send(&fake).await);
}

#[tokio::test]
async fn action_and_version_are_checked() {
    let (fake, _) = start().await;
    let call = Call { action: "SendBatchSms".to_owned(), ..Call::sms("13800000000") };
    refused(&call.send(&fake).await, 400, "InvalidParameter");
    let call = Call { version: "2018-05-01".to_owned(), ..Call::sms("13800000000") };
    refused(&call.send(&fake).await, 400, "InvalidParameter");
    for header in ["x-acs-action", "x-acs-version", "x-acs-signature-nonce", "x-acs-content-sha256"] {
        let signed = Call::sms("13800000000").sign(&fake).remove_header(header);
        let message = refused(&signed.send().await, 400, "MissingParameter");
        assert!(message.contains(header), "{message}");
    }
    assert_eq!(fake.attempts(), 6);
}

/// A client that form-encodes its query string (`+` for a space, `*` bare)
/// still matches, as with Aliyun: the signature covers decoded values.
#[tokio::test]
async fn the_signature_covers_decoded_parameters() {
    let (fake, _) = start().await;
    let call = Call::sms("13800000000").param("OutId", "a b*c");
    let signed = call.sign(&fake);
    let url = signed.url.replace("a%20b%2Ac", "a+b*c");
    assert_ne!(url, signed.url);
    accepted(&Signed { url, ..signed }.send().await);
    assert_eq!(fake.messages()[0].out_id.as_deref(), Some("a b*c"));
}
