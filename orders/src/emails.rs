//! The order confirmation email, rendered from templates (text and HTML).

use site_core::mail::Email;
use site_core::templates::Renderer;
use site_core::tera::Context;

use crate::models::{Order, OrderAdjustment, OrderLine};

/// What the confirmation tells the shopper about paying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayBy<'a> {
    /// By card on the order's page (or nothing to pay).
    Card,
    /// By bank transfer to this account.
    BankTransfer(&'a str),
    /// In cash to the courier.
    OnDelivery,
}

pub fn order_confirmation(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
    adjustments: &[OrderAdjustment],
    pay_by: PayBy<'_>,
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = Context::new();
    ctx.insert("order", &order.view(lines).with_adjustments(adjustments));
    ctx.insert("reference", &short_ref(&order.public_id));
    let bank_account = match pay_by {
        PayBy::BankTransfer(account) => Some(account),
        _ => None,
    };
    ctx.insert("bank_account", &bank_account);
    ctx.insert("cash_on_delivery", &matches!(pay_by, PayBy::OnDelivery));
    ctx.insert(
        "order_url",
        &format!("{site_url}/orders/{}/", order.public_id),
    );
    ctx.insert("site_url", site_url);
    Ok(Email {
        to: order.email.clone(),
        subject: format!("Your order {} is confirmed", short_ref(&order.public_id)),
        text: renderer.render("orders/email/confirmation.txt", &ctx)?,
        html: renderer.render("orders/email/confirmation.html", &ctx)?,
    })
}

/// The reference shown to people: the first 8 characters, upper-cased.
pub fn short_ref(public_id: &str) -> String {
    public_id.chars().take(8).collect::<String>().to_uppercase()
}

/// "We received your payment", with the invoice number and a link to it.
pub fn order_receipt(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
    adjustments: &[OrderAdjustment],
    invoice_label: &str,
    authorized: bool,
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = order_context(site_url, order, lines);
    ctx.insert("order", &order.view(lines).with_adjustments(adjustments));
    ctx.insert("invoice_label", invoice_label);
    ctx.insert("authorized", &authorized);
    ctx.insert(
        "invoice_url",
        &format!("{site_url}/orders/{}/invoice/", order.public_id),
    );
    Email::render(
        renderer,
        "orders/email/receipt",
        &order.email,
        if authorized {
            format!(
                "Order {} confirmed: invoice {invoice_label}",
                short_ref(&order.public_id)
            )
        } else {
            format!(
                "Payment received for order {}: invoice {invoice_label}",
                short_ref(&order.public_id)
            )
        },
        &ctx,
    )
}

/// Renders and queues the receipt of order `order_id`, just paid (or
/// paid for by a card `authorized`, to be charged when it ships); call it
/// in the paying transaction, so a paid order never lacks one.
pub fn queue_receipt(
    conn: &mut site_core::DbConn,
    renderer: &Renderer,
    site_url: &str,
    order_id: i64,
    authorized: bool,
) -> Result<(), String> {
    let order = Order::find(conn, order_id).map_err(|e| e.to_string())?;
    let lines = order.lines(conn).map_err(|e| e.to_string())?;
    let adjustments = order.adjustments(conn).map_err(|e| e.to_string())?;
    let invoice = crate::invoices::Invoice::for_order(conn, order_id)
        .map_err(|e| e.to_string())?
        .ok_or("a paid order has an invoice")?;
    let email = order_receipt(
        renderer,
        site_url,
        &order,
        &lines,
        &adjustments,
        &invoice.label(),
        authorized,
    )
    .map_err(|e| e.to_string())?;
    site_core::mail::outbox::enqueue(conn, &email).map_err(|e| e.to_string())?;
    Ok(())
}

/// "We refunded ...", with what and to which card.
pub fn order_refunded(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
    amount: site_core::Money,
    card_last4: &str,
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = order_context(site_url, order, lines);
    ctx.insert("amount", &amount);
    ctx.insert("card_last4", card_last4);
    Email::render(
        renderer,
        "orders/email/refunded",
        &order.email,
        format!("A refund for your order {}", short_ref(&order.public_id)),
        &ctx,
    )
}

/// "Your order is on its way", with the carrier and tracking number.
pub fn order_shipped(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = order_context(site_url, order, lines);
    ctx.insert("carrier", crate::domain::carrier_name(&order.carrier));
    Email::render(
        renderer,
        "orders/email/shipped",
        &order.email,
        format!("Your order {} is on its way", short_ref(&order.public_id)),
        &ctx,
    )
}

/// "Your order was cancelled" (and refunded, when it was paid).
pub fn order_cancelled(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
    was_paid: bool,
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = order_context(site_url, order, lines);
    ctx.insert("was_paid", &was_paid);
    Email::render(
        renderer,
        "orders/email/cancelled",
        &order.email,
        format!("Your order {} was cancelled", short_ref(&order.public_id)),
        &ctx,
    )
}

fn order_context(site_url: &str, order: &Order, lines: &[OrderLine]) -> Context {
    let mut ctx = Context::new();
    ctx.insert("order", &order.view(lines));
    ctx.insert("reference", &short_ref(&order.public_id));
    ctx.insert(
        "order_url",
        &format!("{site_url}/orders/{}/", order.public_id),
    );
    ctx.insert("site_url", site_url);
    ctx
}
