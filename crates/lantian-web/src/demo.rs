//! Demo mode: a complete Lantian on this machine alone. The outside services are the protocol
//! fakes of `lantian-fakes` on loopback, and the real clients talk to them.

use std::sync::Arc;

use lantian_core::config::Config;
use lantian_core::{Core, catalog};
use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};

const DEMO_DB: &str = "sqlite://data/demo.db";

/// Demo data lives in its own file, never in the default production database; the log is
/// for a person at a terminal.
pub fn adjust_config(config: &mut Config) {
    if config.database.url.expose() == "sqlite://data/lantian.db" {
        config.database.url = lantian_core::config::Secret::new(DEMO_DB);
    }
    config.log.format = lantian_core::config::LogFormat::Pretty;
}

pub struct Demo {
    pub smtp: SmtpFake,
}

impl Demo {
    pub async fn start(core: &Core) -> anyhow::Result<Demo> {
        let clock = core.clock.clone();
        let opts = |web_port| SmtpFakeOptions {
            web_port: Some(web_port),
            now: Arc::new({
                let clock = clock.clone();
                move || clock.now().0
            }),
            ..SmtpFakeOptions::default()
        };
        // The mailbox prefers its documented port; if something holds it, any free one.
        let smtp = match SmtpFake::start(opts(core.config.demo.mailbox_port)).await {
            Ok(s) => s,
            Err(_) => SmtpFake::start(opts(0)).await?,
        };
        catalog::seed_starter_regions(core, core.now()).await?;
        Ok(Demo { smtp })
    }

    pub fn banner(&self, site: &str) -> String {
        let mailbox = self.smtp.web_addr().map(|a| format!("http://{a}")).unwrap_or_default();
        format!(
            "\n  蓝天云 Lantian demo\n\n  Site            {site}\n  Staff console   {site}/staff\n  \
             Demo mailbox    {mailbox}\n  SMTP fake       {}\n\n  Everything runs on this machine; nothing is sent anywhere. \
             Ctrl-C stops it.\n",
            self.smtp.smtp_addr()
        )
    }

    pub async fn stop(self) {
        self.smtp.shutdown().await;
    }
}
