//! The shop and the customer's money: plans and checkout (`shop`), invoices and paying them
//! (`invoices`), the balance and its ledger (`balance`), and the gateway's callbacks (`gateway`).

mod balance;
mod cart;
mod gateway;
mod invoices;
mod shop;

use axum::Router;
use axum::routing::get;
use lantian_core::billing::{Invoice, InvoiceLine};
use lantian_core::i18n::{Lang, Tr};

use crate::AppState;
use crate::pages::format_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/servers", get(shop::catalog))
        .route("/account/checkout", get(shop::checkout_form).post(shop::checkout))
        .route("/account/cart", get(cart::page).post(cart::add))
        .route("/account/cart/{id}/remove", axum::routing::post(cart::remove))
        .route("/account/cart/checkout", axum::routing::post(cart::checkout))
        .route("/account/invoices", get(invoices::list))
        .route("/account/invoices/{id}", get(invoices::detail))
        .route("/account/invoices/{id}/print", get(invoices::print))
        .route("/account/invoices/{id}/pay", get(invoices::pay_redirect).post(invoices::pay))
        .route("/account/invoices/{id}/cancel", axum::routing::post(invoices::cancel))
        .route("/account/payments/{id}", get(invoices::waiting))
        .route("/account/balance", get(balance::page).post(balance::top_up))
        .route("/pay/coopay/notify", get(gateway::notify).post(gateway::notify_form))
        .route("/pay/coopay/return", get(gateway::browser_return))
}

/// A keyset-paged list's query: rows older than `before` (0: the first page).
#[derive(serde::Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub before: i64,
}

/// `1250` → `¥12.50`; `-1250` → `-¥12.50`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}¥{}", lantian_core::money::format_yuan(fen.abs()))
}

/// An invoice as the pages show it.
pub struct InvoiceView {
    pub id: i64,
    pub number: String,
    pub buyer: String,
    pub item: String,
    pub price: String,
    pub discount: String,
    pub has_discount: bool,
    pub amount: String,
    pub refunded: String,
    pub has_refund: bool,
    /// `unpaid`, `paid` or `cancelled`.
    pub state: String,
    pub state_label: String,
    pub paid_via: String,
    pub issued: String,
    pub paid: String,
    pub top_up: bool,
    /// Filled for the pages that show one invoice; lists leave it empty.
    pub lines: Vec<LineView>,
}

/// One order on an invoice.
pub struct LineView {
    pub order_id: i64,
    pub item: String,
    pub price: String,
    pub discount: String,
    pub has_discount: bool,
    pub amount: String,
}

/// Text in the page's language, from its two snapshots.
pub fn pick(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::ZhCn => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

impl InvoiceView {
    pub fn new(i: &Invoice, t: &Tr, lang: Lang, tz: &str) -> InvoiceView {
        InvoiceView {
            id: i.id,
            number: i.number.clone(),
            buyer: i.buyer_username.clone(),
            item: pick(lang, &i.item_zh, &i.item_en),
            price: yuan(i.price_fen),
            discount: yuan(i.discount_fen),
            has_discount: i.discount_fen > 0,
            amount: yuan(i.amount_fen),
            refunded: yuan(i.refunded_fen),
            has_refund: i.refunded_fen > 0,
            state: i.state.clone(),
            state_label: t.t(&format!("invoice-state-{}", i.state)),
            paid_via: i.paid_via.as_deref().map(|v| t.t(&format!("paid-via-{v}"))).unwrap_or_default(),
            issued: format_time(tz, i.issued_at),
            paid: i.paid_at.map(|at| format_time(tz, at)).unwrap_or_default(),
            top_up: i.kind == "top_up",
            lines: Vec::new(),
        }
    }

    /// The view of one invoice with its lines.
    pub fn with_lines(mut self, lines: &[InvoiceLine], lang: Lang) -> InvoiceView {
        self.lines = lines
            .iter()
            .map(|l| LineView {
                order_id: l.order_id,
                item: pick(lang, &l.item_zh, &l.item_en),
                price: yuan(l.price_fen),
                discount: yuan(l.discount_fen),
                has_discount: l.discount_fen > 0,
                amount: yuan(l.amount_fen),
            })
            .collect();
        self
    }
}
