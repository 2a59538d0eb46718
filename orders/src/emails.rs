//! The order confirmation email, rendered from templates (text and HTML).

use site_core::mail::Email;
use site_core::templates::Renderer;
use site_core::tera::Context;

use crate::models::{Order, OrderLine};

pub fn order_confirmation(
    renderer: &Renderer,
    site_url: &str,
    order: &Order,
    lines: &[OrderLine],
) -> Result<Email, site_core::tera::Error> {
    let mut ctx = Context::new();
    ctx.insert("order", &order.view(lines));
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
