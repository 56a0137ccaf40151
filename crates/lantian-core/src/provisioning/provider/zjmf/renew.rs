//! A renewal at the upstream, paid from our balance: the period of `months` from the host's
//! renewal page, `POST host/{id}/renew` (an unpaid renewal order, replacing any earlier unpaid
//! one), then the balance applied to it and paid, as ZJMF's own resellers do.

use reqwest::Method;
use serde_json::{Value, json};

use super::Zjmf;
use super::api::{Effect, int};
use crate::provisioning::provider::{Progress, ProvError};

const DAY_SECS: i64 = 86_400;

impl Zjmf {
    pub(super) async fn renew_host(&self, id: i64, months: u32) -> Result<Progress, ProvError> {
        if months == 0 {
            return Err(ProvError::Invalid("a renewal of zero months".into()));
        }
        let data = self.api.get(&format!("/console/v1/host/{id}/renew"), &[]).await?;
        let periods = data.get("host").and_then(Value::as_array).cloned().unwrap_or_default();
        let cycle = period_of(&periods, months).ok_or_else(|| {
            let offered: Vec<&str> = periods.iter().filter_map(|p| p.get("billing_cycle")?.as_str()).collect();
            ProvError::Invalid(format!("host {id} cannot be renewed for {months} months; it offers {offered:?}"))
        })?;
        let path = format!("/console/v1/host/{id}/renew");
        let body = self.api.send(Method::POST, &path, json!({ "billing_cycle": cycle }), Effect::Once).await?.ok()?;
        if body.get("code").and_then(Value::as_str) == Some("Paid") {
            return Ok(Progress::Done);
        }
        let order = body.pointer("/data/id").and_then(int).filter(|id| *id > 0);
        let order =
            order.ok_or_else(|| ProvError::UnknownOutcome(format!("{path}: an unpaid renewal without its order")))?;
        let credit = json!({ "id": order, "use": 1 });
        self.api.send(Method::POST, "/console/v1/credit", credit, Effect::Repeatable).await?.data()?;
        let pay = json!({ "id": order, "gateway": "credit" });
        self.api.send(Method::POST, "/console/v1/pay", pay, Effect::Once).await?.data()?;
        Ok(Progress::Done)
    }
}

/// The `billing_cycle` whose `duration` (seconds) is `months` months: names differ by module
/// and language (月付, 1个月, monthly), lengths do not, allowing for calendar months.
fn period_of(periods: &[Value], months: u32) -> Option<String> {
    let months = i64::from(months);
    periods.iter().find_map(|p| {
        let days = p.get("duration").and_then(int)? / DAY_SECS;
        let name = p.get("billing_cycle")?.as_str()?;
        (28 * months..=31 * months).contains(&days).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_matched_by_length() {
        let periods = [
            json!({ "billing_cycle": "月付", "duration": 30 * DAY_SECS }),
            json!({ "billing_cycle": "季付", "duration": (92 * DAY_SECS).to_string() }),
            json!({ "billing_cycle": "年付", "duration": 365 * DAY_SECS }),
        ];
        assert_eq!(period_of(&periods, 1).as_deref(), Some("月付"));
        assert_eq!(period_of(&periods, 3).as_deref(), Some("季付"));
        assert_eq!(period_of(&periods, 12).as_deref(), Some("年付"));
        assert_eq!(period_of(&periods, 6), None);
    }
}
