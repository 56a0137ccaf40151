//! Starting a payment of an invoice through the gateway: a payment row with our number, one
//! disclosure row (the gateway learns the order number, the amount and the product name:
//! privacy policy C3.3), then the redirect address or the QR code.

use rand::Rng;

use super::gateway::{Channel, PayRequest};
use super::repo::{self, Payment};
use crate::authz::Subject;
use crate::disclosures::{self, Disclosure, Recipient};
use crate::{Core, Error, Result, UnixMs, billing};

/// How the customer pays: redirected to the gateway's cashier, or by scanning a QR code shown
/// on our own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Redirect,
    Qr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    Redirect { payment_id: i64, url: String },
    Qr { payment_id: i64, content: String },
}

/// What the disclosure ledger records as given to the gateway.
pub const DISCLOSED: [&str; 3] = ["order_number", "amount", "product_name"];

pub async fn start(
    core: &Core,
    customer_id: i64,
    invoice_id: i64,
    channel: Channel,
    mode: Mode,
    now: UnixMs,
) -> Result<Started> {
    let gateway = core.payments.clone().ok_or(Error::validation("channel", "payments-unavailable"))?;
    let invoice = billing::invoice_of(&core.db, customer_id, invoice_id).await?;
    if invoice.state != "unpaid" || invoice.amount_fen == 0 {
        return Err(Error::Conflict("invoice-not-unpaid"));
    }
    let out_trade_no = new_out_trade_no(now);
    let mut tx = core.db.begin().await?;
    let payment_id =
        repo::insert_payment(&mut tx, &out_trade_no, invoice.id, channel.as_str(), invoice.amount_fen, now).await?;
    let disclosure = Disclosure {
        recipient: Recipient::PaymentGateway,
        recipient_name: gateway.name(),
        fields: &DISCLOSED,
        purpose: "payment",
        object: ("payment", payment_id.to_string()),
    };
    disclosures::disclose(&mut tx, Subject::customer(customer_id), disclosure, now).await?;
    tx.commit().await?;
    let req = PayRequest {
        out_trade_no,
        amount_fen: invoice.amount_fen,
        // The invoice number identifies the order; nothing about the buyer.
        product_name: format!("蓝天云 {}", invoice.number),
        channel,
    };
    Ok(match mode {
        Mode::Redirect => Started::Redirect { payment_id, url: gateway.redirect_url(&req, now) },
        Mode::Qr => {
            let qr = gateway.create_qr(&req, now).await.map_err(|e| Error::Upstream(e.to_string()))?;
            repo::set_qr(&core.db, payment_id, &qr.qr_content).await?;
            Started::Qr { payment_id, content: qr.qr_content }
        }
    })
}

/// Our payment number: `P`, the time in milliseconds and four random digits (at most 32
/// letters and digits, as the gateways require; unique by constraint).
fn new_out_trade_no(now: UnixMs) -> String {
    format!("P{}{:04}", now.0, rand::rng().random_range(0..10_000))
}

/// One of the customer's payments and its invoice, for the page that waits for it. Another
/// customer's payment is "not found".
pub async fn payment_of(core: &Core, customer_id: i64, payment_id: i64) -> Result<(Payment, billing::Invoice)> {
    let payment = repo::payment(&core.db, payment_id).await?.ok_or(Error::NotFound)?;
    let invoice = billing::invoice_of(&core.db, customer_id, payment.invoice_id).await?;
    Ok((payment, invoice))
}
