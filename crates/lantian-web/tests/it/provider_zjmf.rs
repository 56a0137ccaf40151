//! The 魔方业务系统 V10 reseller client against the fake upstream: a create driven step by step
//! as the job queue drives it, the recoveries that keep it from buying twice, the error
//! classes, the changes that must be safe to repeat, and exactly what the upstream receives.
//! No database: the client is an HTTP client only.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lantian_core::config::Secret;
use lantian_core::provisioning::provider::zjmf::{Zjmf, ZjmfSettings};
use lantian_core::provisioning::provider::{
    Checkpoint, CreateRequest, CreateStep, Handle, Login, OpRef, OpState, Power, PowerAction, Progress, ProvError,
    Provider, RemoteServer,
};
use lantian_fakes::zjmf::{HostStatus, OrderStatus, ZjmfFake, ZjmfFakeSettings, ZjmfFaults, ZjmfHost};

/// The fake's product 101 costs 30 yuan a month.
const PRODUCT: &str = "101";
const PRICE: i64 = 3_000;
const START_BALANCE: i64 = 100_000;
const PASSWORD: &str = "Pw-lantian-Z9";

async fn start() -> ZjmfFake {
    ZjmfFake::start(ZjmfFakeSettings::default()).await.unwrap()
}

fn settings(fake: &ZjmfFake) -> ZjmfSettings {
    let d = ZjmfFakeSettings::default();
    ZjmfSettings {
        endpoint: fake.base_url(),
        username: d.username,
        api_key: Secret::new(d.api_key),
        timeout: Duration::from_secs(1),
        poll_after: Duration::from_millis(20),
    }
}

fn client(fake: &ZjmfFake) -> Zjmf {
    Zjmf::new(settings(fake)).unwrap()
}

fn request(service_id: i64) -> CreateRequest {
    CreateRequest {
        service_id,
        key: format!("svc-{service_id}-gen-1"),
        hostname: format!("lc-{service_id}"),
        vcpu: 2,
        memory_mb: 2048,
        disk_gb: 40,
        bandwidth_mbps: 5,
        os_image: "debian-12".into(),
        target: PRODUCT.into(),
        months: 1,
        login: Login::Password(PASSWORD.into()),
        vmid: None,
        ip: None,
        customer_ref: "A7KQ2M9X".into(),
        real_name_verified: true,
    }
}

/// Runs a create as the job queue does: store each checkpoint, wait as told, call again; until
/// done or an error. Returns the outcome, the last checkpoint stored and the steps passed.
async fn drive(
    p: &Zjmf,
    r: &CreateRequest,
    mut at: Checkpoint,
) -> (Result<Handle, ProvError>, Checkpoint, Vec<String>) {
    let mut steps = Vec::new();
    for _ in 0..200 {
        match p.create(r, &at).await {
            Ok(CreateStep::Next { checkpoint, after }) => {
                steps.push(checkpoint.step.clone());
                at = checkpoint;
                tokio::time::sleep(after).await;
            }
            Ok(CreateStep::Done(handle)) => return (Ok(handle), at, steps),
            Err(e) => return (Err(e), at, steps),
        }
    }
    panic!("the create did not finish: {at:?}");
}

async fn create(p: &Zjmf, service_id: i64) -> Handle {
    drive(p, &request(service_id), Checkpoint::default()).await.0.unwrap()
}

fn only_host(fake: &ZjmfFake) -> ZjmfHost {
    let hosts = fake.hosts();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    hosts.into_iter().next().unwrap()
}

fn calls(fake: &ZjmfFake, method: &str, path: &str) -> usize {
    fake.requests().iter().filter(|r| r.method == method && r.path == path).count()
}

#[tokio::test]
async fn a_create_runs_step_by_step_to_an_active_server_charged_once() {
    let fake = start().await;
    let p = client(&fake);
    assert_eq!((p.kind(), p.capabilities().renew_upstream, p.capabilities().needs_reservations), ("zjmf", true, false));
    let r = request(42);

    let (done, _, mut steps) = drive(&p, &r, Checkpoint::default()).await;
    let handle = done.unwrap();
    steps.dedup();
    assert_eq!(steps, ["stamp", "pay", "wait_active", "verify"]);

    let host = only_host(&fake);
    assert_eq!(handle, Handle { remote_id: host.id.to_string(), node: None });
    assert_eq!(host.status, HostStatus::Active);
    assert_eq!((host.downstream_host_id, host.client_notes.as_str()), (42, "lantian:svc-42-gen-1"));
    assert_eq!(fake.balance_fen(), START_BALANCE - PRICE, "charged once");
    assert_eq!(fake.orders().len(), 1);

    let status = p.status(&handle).await.unwrap();
    assert_eq!((status.power, status.suspended, status.locked), (Power::Running, false, false));
    assert_eq!(status.ips, [host.ip.clone().unwrap()]);
    assert_eq!(p.find_by_key(&r.key).await.unwrap(), Some(handle.clone()));
    assert_eq!(p.find_by_key("svc-42-gen-2").await.unwrap(), None);
    let order = OpRef { id: format!("order:{}", host.order_id), node: None };
    assert_eq!(p.poll(&order).await.unwrap(), OpState::Succeeded);
}

#[tokio::test]
async fn an_unknown_outcome_after_pay_resumes_without_a_second_order() {
    let fake = start().await;
    let p = client(&fake);
    let r = request(43);
    fake.faults().drop_after_accept_next("/console/v1/pay");
    let (failed, at, _) = drive(&p, &r, Checkpoint::default()).await;
    assert!(matches!(failed, Err(ProvError::UnknownOutcome(_))), "{failed:?}");
    assert_eq!(at.step, "pay", "the caller holds the checkpoint stored before the pay");
    assert_eq!(fake.balance_fen(), START_BALANCE - PRICE, "the upstream took the payment");

    let (done, _, _) = drive(&p, &r, at).await;
    let host = only_host(&fake);
    assert_eq!(done.unwrap().remote_id, host.id.to_string());
    assert_eq!((fake.orders().len(), fake.balance_fen()), (1, START_BALANCE - PRICE), "one order, one charge");
    assert_eq!(calls(&fake, "POST", "/console/v1/pay"), 1, "the order was read, not paid again");
}

#[tokio::test]
async fn an_unknown_outcome_after_settle_pays_the_order_the_cart_check_names() {
    let fake = start().await;
    let p = client(&fake);
    let r = request(44);
    fake.faults().drop_after_accept_next("/console/v1/cart/settle");
    let (failed, at, _) = drive(&p, &r, Checkpoint::default()).await;
    assert!(matches!(failed, Err(ProvError::UnknownOutcome(_))), "{failed:?}");
    assert_eq!(at, Checkpoint::default());
    assert_eq!(only_host(&fake).status, HostStatus::Unpaid, "the settle made an order and a host");
    assert_eq!(p.find_by_key(&r.key).await.unwrap(), None, "not stamped yet: the cart check finds it");

    let handle = drive(&p, &r, at).await.0.unwrap();
    assert_eq!(handle.remote_id, only_host(&fake).id.to_string());
    assert_eq!((fake.orders().len(), fake.balance_fen()), (1, START_BALANCE - PRICE));
    assert_eq!(calls(&fake, "POST", "/console/v1/cart/settle"), 1, "settled once");
}

#[tokio::test]
async fn low_balance_is_exhausted_and_the_unpaid_order_is_paid_later() {
    let fake = start().await;
    let p = client(&fake);
    let r = request(45);
    fake.set_balance(1_000);
    let (failed, at, _) = drive(&p, &r, Checkpoint::default()).await;
    assert!(matches!(failed, Err(ProvError::Exhausted(_))), "{failed:?}");
    assert_eq!((at.step.as_str(), fake.balance_fen()), ("pay", 1_000), "nothing charged");
    assert_eq!(fake.orders()[0].status, OrderStatus::Unpaid);

    // Topped up; even a caller that lost the checkpoint pays the existing order.
    fake.set_balance(10_000);
    let handle = drive(&p, &r, Checkpoint::default()).await.0.unwrap();
    assert_eq!(handle.remote_id, only_host(&fake).id.to_string());
    assert_eq!((fake.orders().len(), fake.balance_fen()), (1, 10_000 - PRICE));
    assert_eq!(calls(&fake, "POST", "/console/v1/cart/settle"), 1);
}

#[tokio::test]
async fn an_ended_login_is_renewed_once_and_the_work_goes_on() {
    let fake = start().await;
    let p = client(&fake);
    p.test_connection().await.unwrap();
    let logins = calls(&fake, "POST", "/api/v1/auth");
    fake.faults().expire_token_now();
    let handle = create(&p, 46).await;
    assert_eq!(calls(&fake, "POST", "/api/v1/auth"), logins + 1, "one new login for the whole create");
    assert_eq!(only_host(&fake).status, HostStatus::Active);

    // The key revoked while the login ends: the new login is refused, which is staff's to fix.
    fake.faults().expire_token_now();
    fake.faults().refuse_logins(true);
    let err = p.status(&handle).await.unwrap_err();
    assert!(matches!(err, ProvError::Auth(_)) && !err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let fake = start().await;
    let wrong = Zjmf::new(ZjmfSettings { api_key: Secret::new("not-the-key"), ..settings(&fake) }).unwrap();
    assert!(matches!(wrong.test_connection().await, Err(ProvError::Auth(_))));
    let (failed, _, _) = drive(&wrong, &request(47), Checkpoint::default()).await;
    assert!(matches!(failed, Err(ProvError::Auth(_))), "{failed:?}");
    assert!(fake.requests().iter().all(|r| r.path == "/api/v1/auth"), "nothing else was sent");
    assert!(Zjmf::new(ZjmfSettings { endpoint: "http://idc.example".into(), ..settings(&fake) }).is_err());
}

#[tokio::test]
async fn suspend_renew_and_terminate_are_safe_to_repeat() {
    let fake = start().await;
    let p = client(&fake);
    let h = create(&p, 48).await;

    for _ in 0..2 {
        assert_eq!(p.suspend(&h).await.unwrap(), Progress::Done);
    }
    assert_eq!(calls(&fake, "POST", &format!("/console/v1/host/{}/module/suspend", h.remote_id)), 1);
    let status = p.status(&h).await.unwrap();
    assert_eq!((status.suspended, status.power), (true, Power::Stopped));
    for _ in 0..2 {
        assert_eq!(p.unsuspend(&h).await.unwrap(), Progress::Done);
    }
    assert_eq!(only_host(&fake).status, HostStatus::Active);

    let due = only_host(&fake).due_ms;
    let balance = fake.balance_fen();
    assert_eq!(p.renew(&h, 3).await.unwrap(), Progress::Done);
    assert_eq!(fake.balance_fen(), balance - 3 * PRICE, "the renewal is paid from our balance");
    assert_eq!(only_host(&fake).due_ms, due + 90 * 86_400_000);
    assert!(matches!(p.renew(&h, 2).await, Err(ProvError::Invalid(_))), "no two-month period");
    fake.set_balance(100);
    assert!(matches!(p.renew(&h, 1).await, Err(ProvError::Exhausted(_))));
    assert_eq!(fake.balance_fen(), 100);

    assert_eq!(p.terminate(&h).await.unwrap(), Progress::Done);
    assert_eq!(only_host(&fake).status, HostStatus::Deleted);
    assert_eq!(p.terminate(&h).await.unwrap(), Progress::Done, "already gone");
    assert_eq!(calls(&fake, "POST", "/console/v1/refund"), 1);
    assert!(matches!(p.status(&h).await, Err(ProvError::NotFound(_))));
    assert_eq!(p.find_by_key("svc-48-gen-1").await.unwrap(), None);
    let gone = Handle { remote_id: "999999".into(), node: None };
    assert_eq!(p.terminate(&gone).await.unwrap(), Progress::Done);
    assert!(matches!(p.suspend(&gone).await, Err(ProvError::NotFound(_))));
}

#[tokio::test]
async fn power_actions_skip_what_is_already_so() {
    let fake = start().await;
    let p = client(&fake);
    let h = create(&p, 49).await;
    let power = || async { p.status(&h).await.unwrap().power };
    assert_eq!(p.power(&h, PowerAction::Start).await.unwrap(), Progress::Done);
    assert_eq!(p.power(&h, PowerAction::Shutdown).await.unwrap(), Progress::Done);
    assert_eq!(power().await, Power::Stopped);
    assert_eq!(p.power(&h, PowerAction::Stop).await.unwrap(), Progress::Done);
    assert_eq!(p.power(&h, PowerAction::Reboot).await.unwrap(), Progress::Done, "a stopped server is started");
    assert_eq!(power().await, Power::Running);
    assert_eq!(p.power(&h, PowerAction::Reboot).await.unwrap(), Progress::Done);
    let sent: Vec<String> = fake.requests().into_iter().filter(|r| r.method == "POST").map(|r| r.path).collect();
    let power_calls: Vec<&str> =
        sent.iter().filter_map(|path| path.strip_prefix(&format!("/console/v1/mf_cloud/{}/", h.remote_id))).collect();
    assert_eq!(power_calls, ["off", "on", "reboot"]);
}

#[tokio::test]
async fn unreadable_answers_and_silence_are_transient() {
    let fake = start().await;
    let p = client(&fake);
    p.test_connection().await.unwrap();
    let faults: [fn(&ZjmfFaults); 2] = [ZjmfFaults::html_next, ZjmfFaults::broken_json_next];
    for arm in faults {
        arm(fake.faults());
        let err = p.find_by_key("k").await.unwrap_err();
        assert!(matches!(err, ProvError::Transient(_)) && err.is_retryable(), "{err:?}");
    }
    fake.faults().hang_next();
    let started = Instant::now();
    assert!(matches!(p.find_by_key("k").await, Err(ProvError::Transient(_))));
    assert!(started.elapsed() < Duration::from_secs(3), "the 1 s time-out ended it");
    assert_eq!(p.find_by_key("k").await.unwrap(), None, "only one request was hit");

    let gone = Zjmf::new(ZjmfSettings { endpoint: "http://127.0.0.1:1".into(), ..settings(&fake) }).unwrap();
    assert!(matches!(gone.test_connection().await, Err(ProvError::Transient(_))));
}

#[tokio::test]
async fn the_list_pages_through_every_host_that_is_not_gone() {
    let fake = start().await;
    let p = client(&fake);
    let ours = create(&p, 52).await;
    let gone = create(&p, 53).await;
    p.terminate(&gone).await.unwrap();
    // Bought by hand in the client area: more than a page of them.
    let by_hand: Vec<u64> = (0..55).map(|_| fake.add_host(101, "")).collect();
    let noted = fake.add_host(102, "staff's test box");

    let before = fake.requests().len();
    let listed = p.list().await.unwrap();
    let pages: Vec<_> = fake.requests()[before..].iter().filter(|r| r.path == "/console/v1/host").cloned().collect();
    assert_eq!(pages.len(), 2, "57 hosts in pages of 50");
    assert_eq!(
        (pages[1].query.get("page"), pages[1].query.get("orderby"), pages[1].query.get("sort")),
        (Some(&"2".to_string()), Some(&"id".to_string()), Some(&"asc".to_string())),
        "oldest first, so a host bought meanwhile cannot shift a page"
    );

    assert_eq!(listed.len(), 57, "every host once, the deleted one left out");
    assert_eq!(
        listed[0],
        RemoteServer {
            remote_id: ours.remote_id.clone(),
            node: None,
            name: format!("ser{}", ours.remote_id),
            key: Some("svc-52-gen-1".into())
        }
    );
    assert!(listed.iter().all(|s| s.remote_id != gone.remote_id));
    let unstamped: Vec<String> = listed.iter().filter(|s| s.key.is_none()).map(|s| s.remote_id.clone()).collect();
    let expected: Vec<String> = by_hand.iter().chain([&noted]).map(u64::to_string).collect();
    assert_eq!(unstamped, expected, "a host without our stamp has no key");

    fake.faults().expire_token_now();
    fake.faults().refuse_logins(true);
    assert!(matches!(p.list().await, Err(ProvError::Auth(_))));
    fake.faults().refuse_logins(false);
    fake.faults().broken_json_next();
    assert!(matches!(p.list().await, Err(ProvError::Transient(_))), "never an empty list for an unreadable answer");
}

/// Nothing in the requests may come from these: the client is never given them.
const CUSTOMER_EMAIL: &str = "zhangsan@example.com";
const CUSTOMER_PHONE: &str = "13800138000";
const CUSTOMER_NAME: &str = "张三";
const CUSTOMER_ID_NUMBER: &str = "110101199003070019";

/// Every parameter the client sends, to any call.
const PARAMS: [&str; 30] = [
    // The login: our reseller account and its API key.
    "username",
    "password",
    // The order: our ids, the plan, the customer's pseudonym and real-name status.
    "downstream_host_id",
    "downstream_token",
    "product_id",
    "qty",
    "positions.0",
    "config_options.hostname",
    "config_options.cpu",
    "config_options.memory",
    "config_options.system_disk_size",
    "config_options.bw",
    "config_options.os",
    "config_options.months",
    "config_options.password",
    "customfield.downstream_customer",
    "customfield.real_name_verified",
    // Our key on the host, paying, listing, suspending, renewing, stopping.
    "notes",
    "id",
    "gateway",
    "use",
    "page",
    "limit",
    "orderby",
    "sort",
    "suspend_type",
    "suspend_reason",
    "billing_cycle",
    "host_id",
    "type",
];

#[tokio::test]
async fn clause_c3_5_the_reseller_receives_only_a_pseudonym_the_real_name_status_and_the_service_s_parameters() {
    let fake = start().await;
    let p = client(&fake);
    assert_eq!(
        p.disclosed_fields(),
        ["customer_ref", "real_name_verified", "hostname", "plan", "os_image", "months", "password_or_ssh_key"]
    );
    let h = create(&p, 51).await;
    p.suspend(&h).await.unwrap();
    p.unsuspend(&h).await.unwrap();
    p.renew(&h, 1).await.unwrap();
    p.terminate(&h).await.unwrap();

    let requests = fake.requests();
    let mut names = BTreeSet::new();
    for r in &requests {
        for (name, value) in r.params() {
            for personal in [CUSTOMER_EMAIL, CUSTOMER_PHONE, CUSTOMER_NAME, CUSTOMER_ID_NUMBER] {
                assert!(!value.contains(personal) && !r.path.contains(personal), "{} {name}={value}", r.path);
            }
            names.insert(name);
        }
        let headers = ["accept", "authorization", "content-length", "content-type", "host"];
        assert!(r.header_names.iter().all(|h| headers.contains(&h.as_str())), "{:?}", r.header_names);
    }
    let unexpected: Vec<&String> = names.iter().filter(|n| !PARAMS.contains(&n.as_str())).collect();
    assert!(unexpected.is_empty(), "unexpected parameters: {unexpected:?}");

    // What the upstream keeps of the customer and the service is exactly the request's values.
    let host = only_host(&fake);
    assert_eq!(host.customfield, serde_json::json!({ "downstream_customer": "A7KQ2M9X", "real_name_verified": 1 }));
    let options = serde_json::json!({
        "hostname": "lc-51", "cpu": 2, "memory": 2048, "system_disk_size": 40, "bw": 5,
        "os": "debian-12", "months": 1, "password": PASSWORD,
    });
    assert_eq!(host.config_options, options);
}
