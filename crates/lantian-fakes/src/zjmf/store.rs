//! What the fake upstream holds: the reseller's balance and cart, orders,
//! hosts, issued tokens and the requests received.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

/// A day, in milliseconds; a month of the fake is 30 of them.
pub(super) const DAY_MS: i64 = 86_400_000;

/// A host's state, named as ZJMF names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostStatus {
    Unpaid,
    Pending,
    Active,
    Suspended,
    Deleted,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Unpaid => "Unpaid",
            HostStatus::Pending => "Pending",
            HostStatus::Active => "Active",
            HostStatus::Suspended => "Suspended",
            HostStatus::Deleted => "Deleted",
        }
    }
}

/// A server bought by the reseller.
#[derive(Debug, Clone)]
pub struct ZjmfHost {
    pub id: u64,
    pub order_id: u64,
    pub product_id: u64,
    /// The upstream's own name for it (`ser…`).
    pub name: String,
    pub status: HostStatus,
    /// The reseller's ids for it, from the settle call.
    pub downstream_host_id: i64,
    pub downstream_token: String,
    /// What the cart received, as received.
    pub config_options: Value,
    /// The settle call's `customfield`, as received.
    pub customfield: Value,
    pub client_notes: String,
    pub ip: Option<String>,
    pub power_on: bool,
    /// Months bought with the order (`config_options.months`, default 1).
    pub months: u32,
    /// Paid up to, by the fake's clock (0 while unpaid).
    pub due_ms: i64,
    pub suspend_reason: String,
    /// Set by an `Immediate` refund request.
    pub refunded: bool,
    /// When a paid host becomes `Active`.
    pub(super) active_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    New,
    Renew,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Unpaid,
    Paid,
}

#[derive(Debug, Clone)]
pub struct ZjmfOrder {
    pub id: u64,
    pub kind: OrderKind,
    pub host_id: u64,
    pub amount_fen: i64,
    pub status: OrderStatus,
    /// Months the order buys.
    pub months: u32,
}

/// A request as the fake received it, whatever its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedZjmfRequest {
    pub method: String,
    pub path: String,
    /// The query string's parameters, decoded.
    pub query: BTreeMap<String, String>,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// The names of the headers received, lower case, sorted.
    pub header_names: Vec<String>,
    /// By the clock given in the settings.
    pub received_at_ms: i64,
}

impl ReceivedZjmfRequest {
    /// Every parameter as (name, value) from the query and the body, nested
    /// names joined with dots (`config_options.cpu`, `positions.0`).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        flatten("", &self.body, &mut out);
        out
    }
}

fn flatten(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |key: &str| if name.is_empty() { key.to_owned() } else { format!("{name}.{key}") };
    match value {
        Value::Null => {}
        Value::Object(map) => map.iter().for_each(|(k, v)| flatten(&join(k), v, out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| flatten(&join(&i.to_string()), v, out)),
        Value::String(s) => out.push((name.to_owned(), s.clone())),
        other => out.push((name.to_owned(), other.to_string())),
    }
}

/// A host's address: TEST-NET-3 (RFC 5737), never a real machine.
pub(super) fn address_of(host_id: u64) -> String {
    format!("203.0.113.{}", host_id % 250 + 1)
}

/// One line of the reseller's cart.
#[derive(Debug, Clone)]
pub(super) struct CartItem {
    pub product_id: u64,
    pub config_options: Value,
}

/// Requests beyond this many are forgotten (oldest first).
const KEEP_LAST: usize = 1000;

pub(super) struct Store {
    pub balance_fen: i64,
    pub products: BTreeMap<u64, i64>,
    pub cart: Vec<CartItem>,
    /// Issued token → the epoch it was issued in.
    pub tokens: HashMap<String, u64>,
    activation_ms: i64,
    hosts: BTreeMap<u64, ZjmfHost>,
    orders: BTreeMap<u64, ZjmfOrder>,
    requests: VecDeque<ReceivedZjmfRequest>,
    /// Ids in different ranges, so a host id passed as an order id shows.
    next_host_id: u64,
    next_order_id: u64,
}

impl Store {
    pub fn new(balance_fen: i64, products: BTreeMap<u64, i64>, activation_ms: i64) -> Store {
        Store {
            balance_fen,
            products,
            cart: Vec::new(),
            tokens: HashMap::new(),
            activation_ms,
            hosts: BTreeMap::new(),
            orders: BTreeMap::new(),
            requests: VecDeque::new(),
            next_host_id: 5001,
            next_order_id: 1001,
        }
    }

    pub fn record(&mut self, request: ReceivedZjmfRequest) {
        self.requests.push_back(request);
        while self.requests.len() > KEEP_LAST {
            self.requests.pop_front();
        }
    }

    pub fn requests(&self) -> Vec<ReceivedZjmfRequest> {
        self.requests.iter().cloned().collect()
    }

    pub fn hosts(&self) -> Vec<ZjmfHost> {
        self.hosts.values().cloned().collect()
    }

    pub fn orders(&self) -> Vec<ZjmfOrder> {
        self.orders.values().cloned().collect()
    }

    pub fn host(&self, id: u64) -> Option<&ZjmfHost> {
        self.hosts.get(&id)
    }

    pub fn host_mut(&mut self, id: u64) -> Option<&mut ZjmfHost> {
        self.hosts.get_mut(&id)
    }

    pub fn order(&self, id: u64) -> Option<&ZjmfOrder> {
        self.orders.get(&id)
    }

    /// Drops a host's unpaid renewal orders, as a new renewal does
    /// (`deleteUnpaidRenewOrder`).
    pub fn remove_unpaid_renewals(&mut self, host_id: u64) {
        self.orders
            .retain(|_, o| !(o.host_id == host_id && o.kind == OrderKind::Renew && o.status == OrderStatus::Unpaid));
    }

    /// Opens the paid hosts whose activation delay has passed.
    pub fn advance(&mut self, now: i64) {
        for host in self.hosts.values_mut() {
            if host.status == HostStatus::Pending && host.active_at_ms.is_some_and(|at| at <= now) {
                host.status = HostStatus::Active;
                host.power_on = true;
                host.ip = Some(address_of(host.id));
            }
        }
    }

    pub fn add_host(&mut self, mut host: ZjmfHost) -> u64 {
        host.id = self.next_host_id;
        host.name = format!("ser{}", host.id);
        self.next_host_id += 1;
        let id = host.id;
        self.hosts.insert(id, host);
        id
    }

    pub fn add_order(&mut self, kind: OrderKind, host_id: u64, amount_fen: i64, months: u32) -> u64 {
        let id = self.next_order_id;
        self.next_order_id += 1;
        let status = OrderStatus::Unpaid;
        self.orders.insert(id, ZjmfOrder { id, kind, host_id, amount_fen, status, months });
        id
    }

    /// Pays an order from the balance and gives the host what it bought: a
    /// new host starts opening, a renewal moves the due time.
    pub fn pay(&mut self, order_id: u64, now: i64) -> Result<(), &'static str> {
        let Some(order) = self.orders.get_mut(&order_id) else { return Err("订单不存在") };
        if order.status == OrderStatus::Paid {
            return Err("订单已支付");
        }
        if self.balance_fen < order.amount_fen {
            return Err("余额不足,请先充值");
        }
        self.balance_fen -= order.amount_fen;
        order.status = OrderStatus::Paid;
        let (kind, months) = (order.kind, i64::from(order.months));
        let Some(host) = self.hosts.get_mut(&order.host_id) else { return Ok(()) };
        match kind {
            OrderKind::New => {
                host.status = HostStatus::Pending;
                host.active_at_ms = Some(now + self.activation_ms);
                host.due_ms = now + months * 30 * DAY_MS;
            }
            OrderKind::Renew => host.due_ms = host.due_ms.max(now) + months * 30 * DAY_MS,
        }
        Ok(())
    }
}
