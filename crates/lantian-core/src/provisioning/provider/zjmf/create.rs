//! A create, step by step. Each invocation runs one step and makes at most one call that could
//! buy twice (settle, pay); the caller stores the checkpoint before the next.
//!
//! | step | calls | next |
//! |---|---|---|
//! | `order` (or the empty default) | `DELETE cart` with our downstream ids; unless it names an unpaid order of ours: add to the cart, **settle** | `stamp` |
//! | `stamp` | the order's host (when the cart named the order); `PUT host/{id}/notes` `lantian:<key>` | `pay` |
//! | `pay` | the order; unless already paid: **pay** it from the balance | `wait_active` |
//! | `wait_active` | the host, until `Active` | `verify` |
//! | `verify` | the host's IP addresses, until it has one | done |
//!
//! After an unknown outcome the same step runs again: `order` asks the cart first, which names
//! the order the lost settle made; `pay` reads the order first.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::api::{Effect, int};
use super::{Zjmf, handle, op, parse_id, parse_op};
use crate::crypto::token::hash_token;
use crate::provisioning::provider::{Checkpoint, CreateRequest, CreateStep, Login, ProvError};

const ORDER: &str = "order";
const STAMP: &str = "stamp";
const PAY: &str = "pay";
const WAIT_ACTIVE: &str = "wait_active";
const VERIFY: &str = "verify";

/// ZJMF's answer when the cart check finds our order already paid.
const ALREADY_PAID: &str = "已开通";

/// What the upstream keeps on our order to recognise it: derived from our key, so a retry (or a
/// restart from scratch with the same key) sends the same token. Not derived from the API key,
/// which staff may rotate mid-create.
pub(super) fn downstream_token(key: &str) -> String {
    hash_token(&format!("lantian-zjmf:{key}"))[..32].to_owned()
}

/// What precedes our key in a host's client notes.
const NOTES_PREFIX: &str = "lantian:";

/// The host's client notes that carry our key.
pub(super) fn stamp(key: &str) -> String {
    format!("{NOTES_PREFIX}{key}")
}

/// The key in a host's client notes, when they are our stamp.
pub(super) fn key_of(notes: &str) -> Option<&str> {
    notes.strip_prefix(NOTES_PREFIX).filter(|key| !key.is_empty())
}

impl Zjmf {
    pub(super) async fn create_step(&self, r: &CreateRequest, at: &Checkpoint) -> Result<CreateStep, ProvError> {
        let host = at.remote_id.as_deref().map(parse_id).transpose()?;
        let order = match &at.op {
            Some(o) => match parse_op(o)? {
                ("order", id) => Some(id),
                _ => return Err(ProvError::Invalid(format!("not an order in the checkpoint: {:?}", o.id))),
            },
            None => None,
        };
        let missing = |what: &str| ProvError::Invalid(format!("checkpoint at {:?} without its {what}", at.step));
        match at.step.as_str() {
            "" | ORDER => self.order(r).await,
            STAMP => self.stamp(r, host, order.ok_or_else(|| missing("order"))?).await,
            PAY => self.pay(host.ok_or_else(|| missing("host"))?, order.ok_or_else(|| missing("order"))?).await,
            WAIT_ACTIVE => self.wait_active(host.ok_or_else(|| missing("host"))?).await,
            VERIFY => self.verify(host.ok_or_else(|| missing("host"))?).await,
            other => Err(ProvError::Invalid(format!("unknown create step {other:?}"))),
        }
    }

    async fn order(&self, r: &CreateRequest) -> Result<CreateStep, ProvError> {
        let product_id = parse_id(&r.target).map_err(|_| {
            ProvError::Invalid(format!("the plan's target must be a ZJMF product id, not {:?}", r.target))
        })?;
        if r.service_id <= 0 || r.months == 0 {
            return Err(ProvError::Invalid("a create needs a service id and at least one month".into()));
        }
        // Held from the clear to the settle: the cart is the account's (module docs).
        let _cart = self.cart.lock().await;
        let ours = json!({ "downstream_host_id": r.service_id, "downstream_token": downstream_token(&r.key) });
        let reply = self.api.send(Method::DELETE, "/console/v1/cart", ours.clone(), Effect::Repeatable).await?;
        if reply.status == 400 && reply.msg.contains(ALREADY_PAID) {
            return self.already_paid(r).await;
        }
        if let Some(order) = reply.data()?.get("order_id").and_then(int).filter(|id| *id > 0) {
            tracing::info!(
                service_id = r.service_id,
                order,
                "zjmf: our unpaid order exists; paying it, not ordering again"
            );
            return Ok(next(STAMP, None, Some(order), Duration::ZERO));
        }
        let line = json!({ "product_id": product_id, "qty": 1, "config_options": config_options(r) });
        self.api.send(Method::POST, "/console/v1/cart", line, Effect::Repeatable).await?.data()?;
        let mut settle = ours;
        settle["positions"] = json!([0]);
        settle["customfield"] = json!({
            "downstream_customer": r.customer_ref,
            "real_name_verified": u8::from(r.real_name_verified),
        });
        let data = self.api.send(Method::POST, "/console/v1/cart/settle", settle, Effect::Once).await?.data()?;
        let order = data.get("order_id").and_then(int).filter(|id| *id > 0);
        // The order exists, but without its id only the cart check can find it: ask again.
        let order = order.ok_or_else(|| ProvError::UnknownOutcome("settled, but the answer has no order id".into()))?;
        let host = data.pointer("/host_ids/0").and_then(int).filter(|id| *id > 0);
        Ok(next(STAMP, host, Some(order), Duration::ZERO))
    }

    /// The cart check says our order is paid, so a host exists: the one carrying our key.
    async fn already_paid(&self, r: &CreateRequest) -> Result<CreateStep, ProvError> {
        match self.find_stamped(&r.key).await? {
            Some(host) => Ok(next(WAIT_ACTIVE, Some(host), None, Duration::ZERO)),
            // A settle whose answer was lost and whose order someone else paid: only staff
            // can tell which host it made.
            None => Err(ProvError::Conflict(format!(
                "the upstream has a paid order for downstream host {}, but no host carries our key",
                r.service_id
            ))),
        }
    }

    async fn stamp(&self, r: &CreateRequest, host: Option<i64>, order: i64) -> Result<CreateStep, ProvError> {
        let host = match host {
            Some(host) => host,
            None => self.host_of_order(order).await?,
        };
        let notes = json!({ "notes": stamp(&r.key) });
        let path = format!("/console/v1/host/{host}/notes");
        self.api.send(Method::PUT, &path, notes, Effect::Repeatable).await?.data()?;
        Ok(next(PAY, Some(host), Some(order), Duration::ZERO))
    }

    async fn pay(&self, host: i64, order: i64) -> Result<CreateStep, ProvError> {
        match self.order_status(order).await?.as_str() {
            "Paid" => {}
            "Unpaid" => {
                let pay = json!({ "id": order, "gateway": "credit" });
                self.api.send(Method::POST, "/console/v1/pay", pay, Effect::Once).await?.data()?;
            }
            other => return Err(ProvError::Invalid(format!("order {order} is {other:?}, neither paid nor unpaid"))),
        }
        Ok(next(WAIT_ACTIVE, Some(host), None, Duration::ZERO))
    }

    async fn wait_active(&self, host: i64) -> Result<CreateStep, ProvError> {
        let h = self.host(host).await?;
        match h.status.as_str() {
            "Active" => Ok(next(VERIFY, Some(host), None, Duration::ZERO)),
            // Paid, and the upstream is opening it.
            "Unpaid" | "Pending" => Ok(next(WAIT_ACTIVE, Some(host), None, self.poll_after)),
            "Failed" => Err(ProvError::Invalid(format!("the upstream failed to open host {host}"))),
            other => Err(ProvError::Invalid(format!("host {host} is {other} before it opened: {}", h.suspend_reason))),
        }
    }

    async fn verify(&self, host: i64) -> Result<CreateStep, ProvError> {
        if self.ips(host).await?.is_empty() {
            return Ok(next(VERIFY, Some(host), None, self.poll_after));
        }
        Ok(CreateStep::Done(handle(host)))
    }

    async fn host_of_order(&self, order: i64) -> Result<i64, ProvError> {
        let data = self.api.get(&format!("/console/v1/order/{order}"), &[]).await?;
        let items = data.pointer("/order/items").and_then(Value::as_array);
        let host = items.into_iter().flatten().find_map(|item| item.get("host_id").and_then(int).filter(|id| *id > 0));
        host.ok_or_else(|| ProvError::Invalid(format!("order {order} names no host")))
    }
}

fn next(step: &str, host: Option<i64>, order: Option<i64>, after: Duration) -> CreateStep {
    let checkpoint = Checkpoint {
        step: step.to_owned(),
        remote_id: host.map(|id| id.to_string()),
        node: None,
        op: order.map(|id| op("order", id)),
    };
    CreateStep::Next { checkpoint, after }
}

/// The plan, in the cart line's `config_options`: the names the upstream product must take.
fn config_options(r: &CreateRequest) -> Value {
    let mut options = json!({
        "hostname": r.hostname,
        "cpu": r.vcpu,
        "memory": r.memory_mb,
        "system_disk_size": r.disk_gb,
        "bw": r.bandwidth_mbps,
        "os": r.os_image,
        "months": r.months,
    });
    match &r.login {
        Login::Password(password) => options["password"] = json!(password),
        Login::SshKey(key) => options["ssh_key"] = json!(key),
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_follows_the_key_only() {
        assert_eq!(downstream_token("svc-7-gen-1"), downstream_token("svc-7-gen-1"));
        assert_ne!(downstream_token("svc-7-gen-1"), downstream_token("svc-7-gen-2"));
        assert_eq!(downstream_token("k").len(), 32);
    }

    #[test]
    fn the_key_comes_back_from_the_stamp_only() {
        assert_eq!(key_of(&stamp("svc-7")), Some("svc-7"));
        assert_eq!((key_of("lantian:"), key_of("my own notes"), key_of("")), (None, None, None));
    }
}
