//! The servers over the JSON API with a customer's personal access token: the list and one
//! server, power actions carried out by the job at the Proxmox fake, renewal; and what it
//! refuses: another customer's ids, unknown actions, a suspended server, staff and read-only
//! tokens. The first-login password never comes out.

use lantian_core::RequestMeta;
use lantian_core::authz::{Principal, Role};
use lantian_core::provisioning::{console, portal};
use serde_json::{Value, json};

use crate::billing_api::{customer_token, get, json_of, post};
use crate::helpers::{TestApp, create_staff};
use crate::provisioning::{buy_and_pay, catalog, run_provisioning, the_service};
use crate::services_pages::{credit_for, running_service};

/// Whether the only server at the fake runs.
fn vm_running(app: &TestApp) -> bool {
    let vms = crate::provisioning::servers(app);
    assert_eq!(vms.len(), 1);
    vms[0].running
}

db_test!(a_customer_reads_their_servers_and_another_customer_s_are_not_found, |app| {
    let (customer, token) = customer_token(&app, "api_svc", true).await;
    let id = running_service(&app, customer).await;
    let password = portal::first_login_password(&app.core, customer, id).await.unwrap().unwrap();

    let r = get(&app, &token, "/api/v1/services").await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(!body.contains(password.as_str()), "the password never comes out");
    let list: Value = serde_json::from_str(&body).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    let one = json_of(get(&app, &token, &format!("/api/v1/services/{id}")).await, 200).await;
    assert_eq!(one, items[0]);
    assert_eq!(one["name"], format!("lc-{id}"));
    assert_eq!((one["state"].as_str(), one["desired"].as_str()), (Some("active"), Some("active")));
    assert_eq!((one["has_password"].as_bool(), one["busy"].as_bool()), (Some(true), Some(false)));
    assert!(one["ip"].as_str().unwrap().starts_with("203.0.113."), "{one}");
    assert!(one["expires_at"].as_i64().unwrap() > one["activated_at"].as_i64().unwrap());
    assert_eq!(one["plan_en"], "Starter 1 vCPU 1 GB");
    assert!(one.get("password").is_none());

    // Another customer's server does not exist for them, whatever they do with it.
    let (_, other) = customer_token(&app, "api_svc_other", true).await;
    assert!(json_of(get(&app, &other, "/api/v1/services").await, 200).await["items"].as_array().unwrap().is_empty());
    let r = get(&app, &other, &format!("/api/v1/services/{id}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let power = post(&app, &other, &format!("/api/v1/services/{id}/power"), &json!({"action": "stop"})).await;
    assert_eq!(power.status(), 404);
    assert_eq!(post(&app, &other, &format!("/api/v1/services/{id}/renew"), &json!({})).await.status(), 404);
    assert!(vm_running(&app), "never stopped");

    for path in ["/api/v1/services/abc", "/api/v1/services/-1"] {
        let r = get(&app, &token, path).await;
        assert_eq!(
            (r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()),
            (400, "application/problem+json")
        );
    }
    assert_eq!(get(&app, &token, "/api/v1/services/999999").await.status(), 404);
    assert_eq!(app.client.get(app.url("/api/v1/services")).send().await.unwrap().status(), 401);

    // A read-only token reads but does not act; a staff token is not a customer's.
    let (_, read_only) = customer_token(&app, "api_svc_reader", false).await;
    assert_eq!(get(&app, &read_only, "/api/v1/services").await.status(), 200);
    let (staff, _) = create_staff(&app, "api_svc_staff", &[Role::Owner]).await;
    let now = app.core.now();
    let (_, staff_token) = lantian_core::apitokens::create(
        &app.core,
        lantian_core::authz::Subject::staff(staff),
        "console",
        &[lantian_core::apitokens::Scope::Read, lantian_core::apitokens::Scope::Write],
        30,
        now,
    )
    .await
    .unwrap();
    assert_eq!(get(&app, &staff_token, "/api/v1/services").await.status(), 403);
});

db_test!(a_power_action_is_accepted_and_the_job_does_it_at_the_proxmox_fake, |app| {
    let (customer, token) = customer_token(&app, "api_power", true).await;
    let id = running_service(&app, customer).await;
    let power = format!("/api/v1/services/{id}/power");

    let r = post(&app, &token, &power, &json!({"action": "stop"})).await;
    assert_eq!(r.headers()["location"], format!("/api/v1/services/{id}").as_str());
    assert_eq!(json_of(r, 202).await, json!({"power_request": "stop"}));
    assert_eq!(json_of(get(&app, &token, &format!("/api/v1/services/{id}")).await, 200).await["power_request"], "stop");
    // One action at a time, refused in the caller's language.
    let busy = json_of(post(&app, &token, &power, &json!({"action": "reboot"})).await, 422).await;
    assert_eq!(
        (busy["field"].as_str(), busy["detail"].as_str()),
        (Some("service"), Some("服务器正在执行其他操作，请稍后再试。"))
    );
    run_provisioning(&app).await;
    assert!(!vm_running(&app), "stopped at the upstream");
    let after = json_of(get(&app, &token, &format!("/api/v1/services/{id}")).await, 200).await;
    assert!(after["power_request"].is_null() && after["busy"] == false, "{after}");
    let stops =
        app.proxmox.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/status/stop")).count();
    assert_eq!(stops, 1);

    assert_eq!(post(&app, &token, &power, &json!({"action": "start"})).await.status(), 202);
    run_provisioning(&app).await;
    assert!(vm_running(&app), "started again");

    // Unknown actions and bad bodies.
    let unknown = json_of(post(&app, &token, &power, &json!({"action": "explode"})).await, 422).await;
    assert_eq!((unknown["field"].as_str(), unknown["detail"].as_str()), (Some("action"), Some("未知的操作。")));
    let r = app
        .client
        .post(app.url(&power))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .json(&json!({"action": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, 422).await["detail"], "Unknown action.");
    assert_eq!(post(&app, &token, &power, &json!({"action": "stop", "force": true})).await.status(), 422);
    let r = app
        .client
        .post(app.url(&power))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Suspended (a staff order here): power actions wait for the server to run again.
    let (admin, _) = create_staff(&app, "api_admin", &[Role::Admin]).await;
    let admin = Principal::Staff { id: admin, roles: vec![Role::Admin] };
    console::order(&app.core, &admin, id, "suspended", "abuse report 9", &RequestMeta::default(), app.core.now())
        .await
        .unwrap();
    run_provisioning(&app).await;
    let refused = json_of(post(&app, &token, &power, &json!({"action": "start"})).await, 422).await;
    assert_eq!(refused["detail"], "服务器已暂停：请先支付续费账单。");
    assert!(!vm_running(&app));
});

db_test!(renewing_over_the_api_issues_one_invoice_that_extends_the_server_when_paid, |app| {
    let (customer, token) = customer_token(&app, "api_renew", true).await;
    catalog(&app).await;
    buy_and_pay(&app, customer, "hk-tko").await;
    let id = the_service(&app).await;
    let renew = format!("/api/v1/services/{id}/renew");
    let early = json_of(post(&app, &token, &renew, &json!({})).await, 422).await;
    assert_eq!(early["detail"], "此服务无法续费（已终止或尚未开通）。", "not created yet");
    run_provisioning(&app).await;

    let r = post(&app, &token, &renew, &json!({})).await;
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let invoice = json_of(r, 200).await["invoice_id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/invoices/{invoice}"));
    assert_eq!(json_of(post(&app, &token, &renew, &json!({})).await, 200).await["invoice_id"], invoice, "the same one");
    let service = json_of(get(&app, &token, &format!("/api/v1/services/{id}")).await, 200).await;
    assert_eq!(service["renewal_invoice_id"], invoice);
    let expires = service["expires_at"].as_i64().unwrap();
    assert_eq!(json_of(get(&app, &token, &location).await, 200).await["state"], "unpaid");

    credit_for(&app, customer, invoice).await;
    let paid = post(&app, &token, &format!("{location}/payments"), &json!({"method": "balance"})).await;
    assert_eq!(json_of(paid, 200).await["state"], "paid");
    let service = json_of(get(&app, &token, &format!("/api/v1/services/{id}")).await, 200).await;
    assert!(service["renewal_invoice_id"].is_null());
    let month = service["expires_at"].as_i64().unwrap() - expires;
    assert!((28..=31).contains(&(month / 86_400_000)), "a month longer: {month} ms");
});

db_test!(the_openapi_document_lists_the_service_routes, |app| {
    let doc = json_of(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/services", "get"),
        ("/api/v1/services/{id}", "get"),
        ("/api/v1/services/{id}/power", "post"),
        ("/api/v1/services/{id}/renew", "post"),
    ] {
        assert_eq!(doc["paths"][path][method]["security"], json!([{"bearer": []}]), "{method} {path}");
    }
    assert!(doc["paths"]["/api/v1/services/{id}/power"]["post"]["responses"]["202"].is_object());
    for schema in ["ServiceOut", "ServiceList", "PowerRequest", "PowerAccepted", "Renewal"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let service = &doc["components"]["schemas"]["ServiceOut"]["properties"];
    assert!(service["has_password"].is_object() && service.get("password").is_none());
});
