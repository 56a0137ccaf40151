//! What the fake remembers: the accepted messages, the nonces already used
//! and the send times that limit control counts.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::send_sms::SmsRequest;
use crate::aliyun_gateway::{Failure, Nonces};

/// An SMS the fake accepted (answered `OK`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedSms {
    /// 1 for the first message since start; never reused.
    pub id: u64,
    /// When it was accepted, by the clock given in the options.
    pub received_at_ms: i64,
    /// The `BizId` the reply carried, for clients that keep it.
    pub biz_id: String,
    /// The `PhoneNumbers` list as sent (prefixes such as `+86` kept).
    pub phone_numbers: Vec<String>,
    pub sign_name: String,
    pub template_code: String,
    /// The `TemplateParam` object; empty when none was sent.
    pub params: BTreeMap<String, String>,
    pub out_id: Option<String>,
}

/// `(per_minute, per_hour, per_day)` sends allowed to one phone number.
pub(super) type Limits = (u32, u32, u32);

/// Accepted messages beyond this many are forgotten (oldest first), so a
/// long-running demo does not grow without bound.
const KEEP_LAST: usize = 1000;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Default)]
pub(super) struct Store {
    messages: VecDeque<ReceivedSms>,
    accepted: u64,
    /// Spent by requests whose signature is good.
    pub nonces: Nonces,
    /// Mainland number (11 digits) to the times SMS were accepted for it.
    sends: HashMap<String, Vec<i64>>,
}

impl Store {
    /// Accepts `sms` unless one of its numbers has reached a limit, in which
    /// case nothing is recorded (Aliyun refuses the whole request).
    pub(super) fn admit(&mut self, sms: SmsRequest, limits: Limits, now: i64) -> Result<ReceivedSms, Failure> {
        let mobiles: BTreeSet<&str> = sms.mobiles.iter().map(String::as_str).collect();
        for mobile in &mobiles {
            let Some(times) = self.sends.get_mut(*mobile) else {
                continue;
            };
            // A time after `now` (the clock moved back) still counts as recent.
            times.retain(|&t| now - t < DAY_MS);
            let within = |window: i64| times.iter().filter(|&&t| now - t < window).count();
            let (per_minute, per_hour, per_day) = limits;
            for (window, limit, level) in
                [(MINUTE_MS, per_minute, "分钟"), (HOUR_MS, per_hour, "小时"), (DAY_MS, per_day, "天")]
            {
                if within(window) >= usize::try_from(limit).unwrap_or(usize::MAX) {
                    return Err(Failure::business(
                        "isv.BUSINESS_LIMIT_CONTROL",
                        format!("触发{level}级流控Permits:{limit}"),
                    ));
                }
            }
        }
        for mobile in mobiles {
            self.sends.entry(mobile.to_owned()).or_default().push(now);
        }

        self.accepted += 1;
        let id = self.accepted;
        // Like Aliyun's: digits, then `^0`.
        let biz_id = format!("{:010}{:08}^0", now.div_euclid(1000), id);
        let message = ReceivedSms {
            id,
            received_at_ms: now,
            biz_id,
            phone_numbers: sms.phone_numbers,
            sign_name: sms.sign_name,
            template_code: sms.template_code,
            params: sms.params,
            out_id: sms.out_id,
        };
        self.messages.push_back(message.clone());
        while self.messages.len() > KEEP_LAST {
            self.messages.pop_front();
        }
        Ok(message)
    }

    /// The kept messages, oldest first.
    pub(super) fn messages(&self) -> Vec<ReceivedSms> {
        self.messages.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sms(numbers: &[&str]) -> SmsRequest {
        SmsRequest {
            phone_numbers: numbers.iter().map(|n| (*n).to_owned()).collect(),
            mobiles: numbers.iter().map(|n| n.trim_start_matches("+86").to_owned()).collect(),
            sign_name: "蓝天云".into(),
            template_code: "SMS_1".into(),
            params: BTreeMap::new(),
            out_id: None,
        }
    }

    fn limit_message(result: Result<ReceivedSms, Failure>) -> String {
        let failure = result.unwrap_err();
        assert_eq!(failure.code, "isv.BUSINESS_LIMIT_CONTROL");
        failure.message
    }

    #[test]
    fn limits_per_minute_hour_and_day() {
        let mut store = Store::default();
        let limits = (1, 3, 4);
        let mut now = 0;
        assert_eq!(store.admit(sms(&["13800000000"]), limits, now).unwrap().id, 1);
        assert_eq!(
            limit_message(store.admit(sms(&["+8613800000000"]), limits, now + 59_999)),
            "触发分钟级流控Permits:1"
        );
        // Another number is not affected, and a refused request records nothing.
        assert_eq!(store.admit(sms(&["13900000000"]), limits, now).unwrap().id, 2);

        for _ in 0..2 {
            now += MINUTE_MS;
            store.admit(sms(&["13800000000"]), limits, now).unwrap();
        }
        now += MINUTE_MS;
        assert_eq!(limit_message(store.admit(sms(&["13800000000"]), limits, now)), "触发小时级流控Permits:3");
        now += HOUR_MS;
        store.admit(sms(&["13800000000"]), limits, now).unwrap();
        now += HOUR_MS;
        assert_eq!(limit_message(store.admit(sms(&["13800000000"]), limits, now)), "触发天级流控Permits:4");
        now += DAY_MS;
        store.admit(sms(&["13800000000"]), limits, now).unwrap();
        assert_eq!(store.messages().len(), 6);
    }

    #[test]
    fn a_number_listed_twice_counts_once_and_one_limited_number_refuses_all() {
        let mut store = Store::default();
        store.admit(sms(&["13800000000", "+8613800000000"]), (1, 5, 10), 0).unwrap();
        assert_eq!(store.sends["13800000000"], [0]);
        limit_message(store.admit(sms(&["13900000000", "13800000000"]), (1, 5, 10), 10));
        assert!(!store.sends.contains_key("13900000000"));
    }

    #[test]
    fn keeps_only_the_newest_messages() {
        let mut store = Store::default();
        for n in 0..=KEEP_LAST as i64 {
            store.admit(sms(&["13800000000"]), (u32::MAX, u32::MAX, u32::MAX), n).unwrap();
        }
        let messages = store.messages();
        assert_eq!(messages.len(), KEEP_LAST);
        assert_eq!(messages[0].id, 2);
        assert_eq!(messages[0].biz_id, "000000000000000002^0");
    }
}
