//! The `[lifecycle]` section: when a service's renewal invoice is issued, and how long after
//! its expiry it is suspended and then terminated. Days are counted in China Standard Time.

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, invalid};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    /// The renewal invoice is issued this many days before expiry.
    pub invoice_days_before: u32,
    /// An unpaid service is suspended this many days after expiry.
    pub suspend_after_days: u32,
    /// … and terminated (its server deleted) this many days after expiry.
    pub terminate_after_days: u32,
}

/// Reminders go out this many days before expiry (the service class of the notifier).
pub const REMINDER_DAYS: [u32; 3] = [7, 3, 1];

impl Config {
    pub(super) fn validate_lifecycle(&self) -> Result<(), ConfigError> {
        let l = &self.lifecycle;
        if !(1..=60).contains(&l.invoice_days_before) {
            return Err(invalid("lifecycle.invoice_days_before", "expected 1 to 60"));
        }
        if l.suspend_after_days > 30 {
            return Err(invalid("lifecycle.suspend_after_days", "expected 0 to 30"));
        }
        if l.terminate_after_days <= l.suspend_after_days || l.terminate_after_days > 90 {
            return Err(invalid(
                "lifecycle.terminate_after_days",
                "expected more than suspend_after_days and at most 90 (a server is suspended before it is deleted)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Env;

    use super::*;

    fn with(l: LifecycleConfig) -> Result<(), ConfigError> {
        let mut c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
        c.lifecycle = l;
        c.validate_lifecycle()
    }

    #[test]
    fn defaults_are_a_week_a_day_and_a_week() {
        let c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
        let expected = LifecycleConfig { invoice_days_before: 7, suspend_after_days: 1, terminate_after_days: 7 };
        assert_eq!(c.lifecycle, expected);
    }

    #[test]
    fn a_server_is_never_deleted_before_it_is_suspended() {
        let ok = LifecycleConfig { invoice_days_before: 7, suspend_after_days: 0, terminate_after_days: 1 };
        assert!(with(ok.clone()).is_ok());
        let same = LifecycleConfig { suspend_after_days: 3, terminate_after_days: 3, ..ok.clone() };
        assert!(with(same).unwrap_err().to_string().contains("lifecycle.terminate_after_days"));
        let zero = LifecycleConfig { invoice_days_before: 0, ..ok };
        assert!(with(zero).unwrap_err().to_string().contains("lifecycle.invoice_days_before"));
    }
}
