//! What the SMS service checks once the gateway lets a request through.

use super::*;

#[tokio::test]
async fn accepted_messages_are_recorded() {
    let (fake, _) = start().await;
    let call = Call::sms("+8613800000000,13900000000")
        .param("TemplateCode", "SMS_900000002")
        .param("TemplateParam", r#"{"service":"云主机 vm-1","days":"3"}"#)
        .param("OutId", "renewal-42");
    let biz_id = accepted(&call.send(&fake).await);
    assert!(biz_id.ends_with("^0"), "{biz_id}");

    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!((m.id, m.received_at_ms, m.biz_id.as_str()), (1, NOW_MS, biz_id.as_str()));
    assert_eq!(m.phone_numbers, ["+8613800000000", "13900000000"]);
    assert_eq!((m.sign_name.as_str(), m.template_code.as_str()), ("蓝天云", "SMS_900000002"));
    assert_eq!(m.params, BTreeMap::from([("days".into(), "3".into()), ("service".into(), "云主机 vm-1".into())]));
    assert_eq!(m.out_id.as_deref(), Some("renewal-42"));
    assert_eq!(fake.attempts(), 1);
}

#[tokio::test]
async fn business_errors_are_http_200_with_a_code() {
    let (fake, _) = start().await;
    let cases = [
        (Call::sms("1380000000"), "isv.MOBILE_NUMBER_ILLEGAL"),
        (Call::sms("+4413800000000"), "isv.MOBILE_NUMBER_ILLEGAL"),
        (Call::sms("13800000000").param("SignName", "别的签名"), "isv.SMS_SIGNATURE_ILLEGAL"),
        (Call::sms("13800000000").param("TemplateCode", "SMS_1"), "isv.SMS_TEMPLATE_ILLEGAL"),
        (Call::sms("13800000000").param("TemplateParam", r#"{"event":1}"#), "isv.INVALID_JSON_PARAM"),
        (Call::sms("13800000000").param("TemplateParam", "event=login"), "isv.INVALID_JSON_PARAM"),
        (Call::sms("13800000000").param("TemplateParam", r#"{"other":"x"}"#), "isv.TEMPLATE_MISSING_PARAMETERS"),
        (Call::sms("13800000000").without("TemplateParam"), "isv.TEMPLATE_MISSING_PARAMETERS"),
    ];
    for (call, code) in cases {
        let (status, body) = call.send(&fake).await;
        refused(&(status, body.clone()), 200, code);
        // Business errors carry no gateway fields.
        assert!(body.get("HostId").is_none(), "{body}");
    }
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn missing_parameters_are_http_400() {
    let (fake, _) = start().await;
    for name in ["PhoneNumbers", "SignName", "TemplateCode"] {
        let message =
            refused(&Call::sms("13800000000").without(name).send(&fake).await, 400, &format!("Missing{name}"));
        assert!(message.contains(name), "{message}");
    }
}

#[tokio::test]
async fn limit_control_per_number_then_recovery() {
    let (fake, clock) = start().await;
    accepted(&Call::sms("13800000000").send(&fake).await);
    let message = refused(&Call::sms("+8613800000000").send(&fake).await, 200, "isv.BUSINESS_LIMIT_CONTROL");
    assert_eq!(message, "触发分钟级流控Permits:1");
    // Other numbers are not held back.
    accepted(&Call::sms("13900000000").send(&fake).await);
    assert_eq!(fake.messages().len(), 2);

    let later = NOW_MS + 61_000;
    clock.store(later, Ordering::SeqCst);
    accepted(&Call::sms("13800000000").at(later).send(&fake).await);
    assert_eq!(fake.messages().len(), 3);
    assert_eq!(fake.attempts(), 4);
}
