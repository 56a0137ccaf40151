//! The two real-name verification clients (Aliyun Cloudauth and an Aliyun market APPCODE
//! seller) against the fake that speaks both protocols: verdicts, errors, and exactly what the
//! provider receives. No database: the clients are built from `[kyc]` alone.

use std::collections::BTreeMap;
use std::sync::{Arc, Once};

use figment::providers::Env;
use lantian_core::clock::SystemClock;
use lantian_core::config::{Config, KycConfig, KycProvider, MarketMethod, Secret};
use lantian_core::kyc::provider::{self, RealNameProvider, Verdict};
use lantian_fakes::aliyun_kyc::{AliyunKycFake, AliyunKycFakeSettings, KycApi, ReceivedKycRequest};

/// Structurally valid (GB 11643 check character 4); the fake's records match it to any name
/// but 王五 and 赵六.
const ID: &str = "110101190001010014";
/// Valid, with sequence digits 999: the fake has no record of it.
const ID_NOT_ON_RECORD: &str = "110101190001019991";
const NAME: &str = "张三";

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

async fn start_fake() -> AliyunKycFake {
    install_crypto();
    AliyunKycFake::start(AliyunKycFakeSettings::default()).await.unwrap()
}

fn aliyun(fake: &AliyunKycFake) -> KycConfig {
    let d = AliyunKycFakeSettings::default();
    KycConfig {
        provider: KycProvider::Aliyun,
        endpoint: fake.base_url(),
        access_key_id: d.access_key_id,
        access_key_secret: Secret::new(d.access_key_secret),
        ..KycConfig::default()
    }
}

fn appcode(fake: &AliyunKycFake) -> KycConfig {
    let d = AliyunKycFakeSettings::default();
    KycConfig {
        provider: KycProvider::Appcode,
        endpoint: fake.base_url(),
        appcode: Secret::new(d.appcode),
        ..KycConfig::default()
    }
}

fn client(cfg: &KycConfig) -> Arc<dyn RealNameProvider> {
    provider::from_config(cfg, Arc::new(SystemClock)).unwrap().expect("a provider is configured")
}

/// Both clients, configured against `fake`.
fn both(fake: &AliyunKycFake) -> [Arc<dyn RealNameProvider>; 2] {
    [client(&aliyun(fake)), client(&appcode(fake))]
}

fn assert_error(verdict: &Verdict, code: &str, retryable: bool) {
    assert_eq!(verdict, &Verdict::ProviderError { code: code.into(), retryable });
    let shown = format!("{verdict:?}");
    assert!(!shown.contains(ID) && !shown.contains(NAME), "{shown}");
}

fn last_request(fake: &AliyunKycFake) -> ReceivedKycRequest {
    fake.requests().pop().expect("the fake received a request")
}

#[tokio::test]
async fn both_clients_read_match_mismatch_and_not_found() {
    let fake = start_fake().await;
    for p in both(&fake) {
        let verdict = p.verify(NAME, ID).await;
        let Verdict::Match { request_id } = &verdict else { panic!("{}: {verdict:?}", p.name()) };
        assert_eq!(request_id.len(), 36, "the provider's request id is kept: {request_id}");
        assert!(verdict.is_match());
        let mismatch = p.verify("王五", ID).await;
        assert!(matches!(mismatch, Verdict::Mismatch { .. }) && !mismatch.is_match(), "{mismatch:?}");
        assert!(matches!(p.verify("赵六", ID).await, Verdict::NotFound { .. }));
        assert!(matches!(p.verify(NAME, ID_NOT_ON_RECORD).await, Verdict::NotFound { .. }));
    }
    // A lower-case check character is the same number.
    assert!(client(&aliyun(&fake)).verify(NAME, "11010119000101068x").await.is_match());
}

#[tokio::test]
async fn bad_credentials_are_not_retryable() {
    let fake = start_fake().await;
    let wrong_secret = KycConfig { access_key_secret: Secret::new("notTheSecret"), ..aliyun(&fake) };
    assert_error(&client(&wrong_secret).verify(NAME, ID).await, "aliyun-SignatureDoesNotMatch", false);
    let unknown_key = KycConfig { access_key_id: "LTAIsomeoneElse".into(), ..aliyun(&fake) };
    assert_error(&client(&unknown_key).verify(NAME, ID).await, "aliyun-InvalidAccessKeyId.NotFound", false);
    let wrong_appcode = KycConfig { appcode: Secret::new("ffffffffffffffffffffffffffffffff"), ..appcode(&fake) };
    assert_error(&client(&wrong_appcode).verify(NAME, ID).await, "http-401", false);
}

#[tokio::test]
async fn account_and_request_errors_are_not_retryable() {
    let fake = start_fake().await;
    let [cloudauth, market] = both(&fake);
    fake.faults().error_next("410");
    assert_error(&cloudauth.verify(NAME, ID).await, "aliyun-410", false);
    fake.faults().error_next("403");
    assert_error(&market.verify(NAME, ID).await, "http-403", false);
    // A number our own checks should have refused: the provider calls it an illegal parameter.
    assert_error(&cloudauth.verify(NAME, "110101190001010015").await, "aliyun-401", false);
    assert_error(&market.verify(NAME, "110101190001010015").await, "market-400", false);
}

#[tokio::test]
async fn provider_failures_are_retryable() {
    let fake = start_fake().await;
    let [cloudauth, market] = both(&fake);
    fake.faults().error_next("500");
    assert_error(&cloudauth.verify(NAME, ID).await, "aliyun-500", true);
    fake.faults().error_next("500");
    assert_error(&market.verify(NAME, ID).await, "http-500", true);
    for p in [&cloudauth, &market] {
        fake.faults().garbage_next();
        assert_error(&p.verify(NAME, ID).await, "garbage", true);
        assert!(p.verify(NAME, ID).await.is_match(), "only the next request was hit");
    }
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out() {
    let fake = start_fake().await;
    for cfg in [aliyun(&fake), appcode(&fake)] {
        let p = client(&KycConfig { timeout_secs: 1, ..cfg });
        fake.faults().hang_next();
        assert_error(&p.verify(NAME, ID).await, "timeout", true);
    }
    let gone = KycConfig { endpoint: "http://127.0.0.1:1".into(), ..aliyun(&fake) };
    assert_error(&client(&gone).verify(NAME, ID).await, "unreachable", true);
}

fn names(params: &BTreeMap<String, String>) -> Vec<&str> {
    params.keys().map(String::as_str).collect()
}

/// Every header either client sends: nothing in them is personal.
const PROTOCOL_HEADERS: [&str; 10] = [
    "accept",
    "authorization",
    "content-length",
    "content-type",
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
];

#[tokio::test]
async fn clause_c3_4_provider_receives_only_name_and_number() {
    let fake = start_fake().await;
    for p in both(&fake) {
        assert_eq!(p.disclosed_fields(), ["real_name", "id_number"], "{}", p.name());
    }
    assert_eq!(both(&fake).map(|p| p.name()), ["aliyun-cloudauth", "aliyun-market"]);

    client(&aliyun(&fake)).verify(NAME, ID).await;
    let r = last_request(&fake);
    assert_eq!((r.api, r.method.as_str(), r.path.as_str()), (KycApi::Cloudauth, "POST", "/"));
    assert!(r.query.is_empty(), "nothing in the URL: {:?}", r.query);
    assert_eq!(names(&r.form), ["IdentifyNum", "ParamType", "UserName"]);
    assert_eq!((r.form["UserName"].as_str(), r.form["IdentifyNum"].as_str()), (NAME, ID));
    assert_eq!(r.form["ParamType"], "normal");
    assert!(r.header_names.iter().all(|h| PROTOCOL_HEADERS.contains(&h.as_str())), "{:?}", r.header_names);

    client(&appcode(&fake)).verify(NAME, ID).await;
    let r = last_request(&fake);
    assert_eq!((r.api, r.method.as_str(), r.path.as_str()), (KycApi::Market, "POST", "/eid/check"));
    assert!(r.query.is_empty(), "nothing in the URL: {:?}", r.query);
    assert_eq!(names(&r.form), ["idcard", "name"]);
    assert_eq!((r.form["name"].as_str(), r.form["idcard"].as_str()), (NAME, ID));
    assert!(r.header_names.iter().all(|h| PROTOCOL_HEADERS.contains(&h.as_str())), "{:?}", r.header_names);

    // Sellers that only take GET get the same two values, necessarily in the query string.
    let mut get = appcode(&fake);
    get.market.method = MarketMethod::Get;
    assert!(client(&get).verify(NAME, ID).await.is_match());
    let r = last_request(&fake);
    assert_eq!((r.method.as_str(), names(&r.query), r.form.is_empty()), ("GET", vec!["idcard", "name"], true));
}

#[tokio::test]
async fn clause_c3_4_the_provider_is_reached_only_over_https() {
    let fake = start_fake().await;
    let mut config = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
    assert!(provider::from_config(&config.kyc, Arc::new(SystemClock)).unwrap().is_none(), "\"none\" by default");
    for kyc in [aliyun(&fake), appcode(&fake)] {
        config.kyc = kyc;
        config.validate().unwrap();
        config.kyc.endpoint = "http://example.com".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("kyc.endpoint") && err.contains("https://"), "{err}");
        config.kyc.endpoint = "https://example.com".into();
        config.validate().unwrap();
    }
}
