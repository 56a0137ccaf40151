use std::time::{Duration, Instant};

use super::*;

#[tokio::test]
async fn fail_next_answers_valid_requests_with_the_code() {
    let (fake, _) = start().await;
    fake.faults().fail_next(2, "isv.AMOUNT_NOT_ENOUGH");
    // An invalid request keeps its own error and does not use up the fault.
    refused(&Call::sms("123").send(&fake).await, 200, "isv.MOBILE_NUMBER_ILLEGAL");
    refused(&Call::sms("13800000000").send(&fake).await, 200, "isv.AMOUNT_NOT_ENOUGH");
    refused(&Call::sms("13800000000").send(&fake).await, 200, "isv.AMOUNT_NOT_ENOUGH");
    assert!(fake.messages().is_empty());

    // Failed sends do not count towards limit control.
    accepted(&Call::sms("13800000000").send(&fake).await);
    assert_eq!(fake.attempts(), 4);

    fake.faults().fail_next(1, "isv.BUSINESS_LIMIT_CONTROL");
    refused(&Call::sms("13900000000").send(&fake).await, 200, "isv.BUSINESS_LIMIT_CONTROL");
}

#[tokio::test]
async fn server_errors_then_success() {
    let (fake, _) = start().await;
    fake.faults().server_error_next(2);
    fake.faults().unavailable_next(1);
    let message = refused(&Call::sms("13800000000").send(&fake).await, 503, "ServiceUnavailable");
    assert!(message.contains("temporary"), "{message}");
    for _ in 0..2 {
        refused(&Call::sms("13800000000").send(&fake).await, 500, "InternalError");
    }
    accepted(&Call::sms("13800000000").send(&fake).await);
    assert_eq!((fake.attempts(), fake.messages().len()), (4, 1));
}

#[tokio::test]
async fn drop_next_hangs_up_without_a_response() {
    let (fake, _) = start().await;
    fake.faults().drop_next(1);
    let err = Call::sms("13800000000").sign(&fake).send_raw().await.unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert!(fake.messages().is_empty());
    assert_eq!(fake.attempts(), 1);

    // Only one was asked for: the retry (a new nonce, as a client makes) goes through.
    accepted(&Call::sms("13800000000").send(&fake).await);
    assert_eq!(fake.attempts(), 2);
}

#[tokio::test]
async fn delay_slows_responses_and_reset_clears_everything() {
    let (fake, _) = start().await;
    fake.faults().set_delay_ms(300);
    let started = Instant::now();
    accepted(&Call::sms("13800000000").send(&fake).await);
    assert!(started.elapsed() >= Duration::from_millis(300));

    fake.faults().fail_next(5, "isv.OUT_OF_SERVICE");
    fake.faults().server_error_next(5);
    fake.faults().unavailable_next(5);
    fake.faults().drop_next(5);
    fake.faults().reset();
    let started = Instant::now();
    accepted(&Call::sms("13900000000").send(&fake).await);
    assert!(started.elapsed() < Duration::from_millis(300));
}
