//! Demo mode: a complete Lantian on this machine alone. The outside services are the protocol
//! fakes of `lantian-fakes` on loopback, and the real clients talk to them.

use std::sync::Arc;

use lantian_core::authz::{Principal, Role};
use lantian_core::config::{Config, LogFormat, MailTls, Secret, UpstreamConfig};
use lantian_core::crypto::keyring::KeyFile;
use lantian_core::{Core, RequestMeta, catalog, provisioning, staff};
use lantian_fakes::aliyun_kyc::{AliyunKycFake, AliyunKycFakeSettings};
use lantian_fakes::aliyun_sms::{AliyunSmsFake, AliyunSmsFakeOptions};
use lantian_fakes::epay::{EpayFake, EpayFakeSettings};
use lantian_fakes::harness::NowMs;
use lantian_fakes::proxmox::{ProxmoxFake, ProxmoxFakeSettings};
use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};
use lantian_fakes::zjmf::{ZjmfFake, ZjmfFakeSettings};

pub const DEMO_DB: &str = "sqlite://data/demo.db";
const DEMO_KEYS: &str = "data/demo-keys.toml";
/// The demo's 魔方 V10 upstream (the ZJMF fake), where its Shanghai servers are bought.
pub const DEMO_RESELLER: &str = "zjmf-sh";
/// The reseller's prepaid balance at the ZJMF fake: 100,000 yuan, more than a demo spends.
const DEMO_RESELLER_BALANCE_FEN: i64 = 10_000_000;

pub struct Demo {
    pub smtp: SmtpFake,
    pub sms: AliyunSmsFake,
    /// The payment gateway: its cashier page is the demo's sandbox cashier.
    pub epay: EpayFake,
    /// The real-name provider (Aliyun Cloudauth): 王五 does not match, 赵六 is not found,
    /// every other valid name and number match.
    pub kyc: AliyunKycFake,
    /// The Proxmox VE cluster Hong Kong servers are created on (upstream `pve-hk`).
    pub proxmox: ProxmoxFake,
    /// The 魔方 V10 upstream Shanghai servers are bought at (upstream [`DEMO_RESELLER`]).
    pub zjmf: ZjmfFake,
    /// The owner made at the first start, with the one-time password to sign in with.
    pub new_owner: Option<String>,
}

impl Demo {
    /// Starts the fakes and points the configuration at them. Demo data lives in its own
    /// database and key file (made at the first start), never the production defaults.
    pub async fn start(config: &mut Config, now: NowMs) -> anyhow::Result<Demo> {
        use_demo_database(config)?;
        config.log.format = LogFormat::Pretty;
        let opts =
            |web_port| SmtpFakeOptions { web_port: Some(web_port), now: now.clone(), ..SmtpFakeOptions::default() };
        // The mailbox prefers its documented port; if something holds it, any free one.
        let smtp = match SmtpFake::start(opts(config.demo.mailbox_port)).await {
            Ok(s) => s,
            Err(_) => SmtpFake::start(opts(0)).await?,
        };
        config.mail.host = "127.0.0.1".into();
        config.mail.port = smtp.smtp_addr().port();
        config.mail.tls = MailTls::None;
        config.mail.username.clear();
        let sms =
            AliyunSmsFake::start(AliyunSmsFakeOptions { now: now.clone(), ..AliyunSmsFakeOptions::default() }).await?;
        point_sms_at(config, &sms);
        let epay = EpayFake::start(EpayFakeSettings { now: now.clone(), ..EpayFakeSettings::default() }).await?;
        point_payments_at(config, &epay);
        let kyc = AliyunKycFake::start(AliyunKycFakeSettings { now: now.clone(), ..AliyunKycFakeSettings::default() })
            .await?;
        point_kyc_at(config, &kyc);
        let proxmox =
            ProxmoxFake::start(ProxmoxFakeSettings { now: now.clone(), ..ProxmoxFakeSettings::default() }).await?;
        point_provisioning_at(config, &proxmox);
        let zjmf = ZjmfFake::start(ZjmfFakeSettings {
            now,
            balance_fen: DEMO_RESELLER_BALANCE_FEN,
            ..ZjmfFakeSettings::default()
        })
        .await?;
        add_reseller(config, &zjmf);
        Ok(Demo { smtp, sms, epay, kyc, proxmox, zjmf, new_owner: None })
    }

    /// Demo data: the starter catalog with its Hong Kong plans served by the Proxmox fake and
    /// its Shanghai plans by the ZJMF fake, and an owner account on the first start.
    pub async fn seed(&mut self, core: &Core) -> anyhow::Result<()> {
        catalog::seed_starter_regions(core, core.now()).await?;
        catalog::plans::seed_starter_plans(core, core.now()).await?;
        provisioning::seed_demo_targets(core).await?;
        if staff::count(core).await? == 0 {
            let input = staff::NewStaff {
                username: "owner".into(),
                display_name: "演示管理员 Demo owner".into(),
                email: "owner@lantian.example".into(),
                roles: vec![Role::Owner],
            };
            let (_, password) = staff::create(core, &Principal::System, input, &RequestMeta::default()).await?;
            self.new_owner = Some(password);
        }
        Ok(())
    }

    pub fn banner(&self, site: &str) -> String {
        let mailbox = self.smtp.web_addr().map(|a| format!("http://{a}")).unwrap_or_default();
        let owner = match &self.new_owner {
            Some(pw) => format!("owner / {pw}  (one-time: you choose a new one, then set up an authenticator app)"),
            None => "owner, with the password you chose (`lantian staff create` makes more staff)".into(),
        };
        format!(
            "\n  蓝天云 Lantian demo\n\n  Site            {site}\n  Staff console   {site}/staff\n  \
             Staff sign-in   {owner}\n  Demo mailbox    {mailbox}\n  SMS fake        {}\n  SMTP fake       {}\n  \
             Payment gateway {} (sandbox cashier: pay or fail each order there)\n  \
             Real-name check {} (王五: no match; 赵六: not found; others match)\n  \
             Proxmox VE fake {} (upstream pve-hk: Hong Kong servers are created here)\n  \
             魔方 V10 fake   {} (upstream {DEMO_RESELLER}: Shanghai servers are bought here)\n\n  \
             Everything runs on this machine; nothing is sent anywhere. Ctrl-C stops it.\n",
            self.sms.endpoint(),
            self.smtp.smtp_addr(),
            self.epay.base_url(),
            self.kyc.base_url(),
            self.proxmox.base_url(),
            self.zjmf.base_url()
        )
    }

    pub async fn stop(self) {
        self.smtp.shutdown().await;
        self.sms.shutdown().await;
        self.epay.shutdown().await;
        self.kyc.shutdown().await;
        self.proxmox.shutdown().await;
        self.zjmf.shutdown().await;
    }
}

/// The demo's own database and key file (made at the first start) in place of the production
/// defaults; settings that name others are kept.
pub fn use_demo_database(config: &mut Config) -> anyhow::Result<()> {
    if config.database.url.expose() == "sqlite://data/lantian.db" {
        config.database.url = Secret::new(DEMO_DB);
    }
    if config.keys.file.is_empty() && config.keys.inline.expose().is_empty() {
        if !std::path::Path::new(DEMO_KEYS).exists() {
            std::fs::create_dir_all("data")?;
            std::fs::write(DEMO_KEYS, KeyFile::generate().to_toml())?;
        }
        config.keys.file = DEMO_KEYS.into();
    }
    Ok(())
}

/// The fakes read the same clock as the application.
pub fn fake_clock(clock: Arc<dyn lantian_core::Clock>) -> NowMs {
    Arc::new(move || clock.now().0)
}

/// Points the real Aliyun SMS client at the fake, with the fake's credentials and templates.
pub fn point_sms_at(config: &mut Config, fake: &AliyunSmsFake) {
    let defaults = AliyunSmsFakeOptions::default();
    config.sms.provider = lantian_core::config::SmsProvider::Aliyun;
    config.sms.endpoint = fake.endpoint();
    config.sms.access_key_id = defaults.access_key_id;
    config.sms.access_key_secret = Secret::new(defaults.access_key_secret);
    config.sms.template_security_alert = "SMS_900000001".into();
    config.sms.template_service_expiry = "SMS_900000002".into();
}

/// Points the real CooPay client (EPay V1) at the fake, with the fake's merchant id and key.
pub fn point_payments_at(config: &mut Config, fake: &EpayFake) {
    let defaults = EpayFakeSettings::default();
    config.payments.provider = lantian_core::config::PaymentsProvider::Coopay;
    config.payments.version = lantian_core::config::EpayVersion::V1;
    config.payments.base_url = fake.base_url();
    config.payments.pid = defaults.pid;
    config.payments.key = Secret::new(defaults.key);
}

/// Points the real Aliyun Cloudauth client at the fake, with the fake's AccessKey.
pub fn point_kyc_at(config: &mut Config, fake: &AliyunKycFake) {
    let defaults = AliyunKycFakeSettings::default();
    config.kyc.provider = lantian_core::config::KycProvider::Aliyun;
    config.kyc.endpoint = fake.base_url();
    config.kyc.access_key_id = defaults.access_key_id;
    config.kyc.access_key_secret = Secret::new(defaults.access_key_secret);
}

/// Points provisioning at the Proxmox fake: one upstream, [`provisioning::DEMO_UPSTREAM`], with
/// the fake's token and node and the vmids 10000–10999.
pub fn point_provisioning_at(config: &mut Config, fake: &ProxmoxFake) {
    let defaults = ProxmoxFakeSettings::default();
    config.provisioning.upstreams = vec![UpstreamConfig {
        name: provisioning::DEMO_UPSTREAM.into(),
        kind: lantian_core::config::PROXMOX.into(),
        endpoint: fake.base_url(),
        token_id: defaults.token_id,
        token_secret: Secret::new(defaults.token_secret),
        token_secret_file: String::new(),
        node: defaults.node,
        storage: "local-lvm".into(),
        bridge: "vmbr0".into(),
        timeout_secs: 10,
        vmid_first: 10_000,
        vmid_last: 10_999,
        username: String::new(),
        api_key: Secret::default(),
        api_key_file: String::new(),
    }];
}

/// Adds the ZJMF fake as a second upstream, [`DEMO_RESELLER`], with the fake's login and API
/// key (after [`point_provisioning_at`], which sets the list).
pub fn add_reseller(config: &mut Config, fake: &ZjmfFake) {
    let defaults = ZjmfFakeSettings::default();
    let upstream =
        UpstreamConfig::zjmf(DEMO_RESELLER, &fake.base_url(), &defaults.username, Secret::new(defaults.api_key));
    config.provisioning.upstreams.push(upstream);
}
