//! Demo Pay: the bundled demo payment gateway. It plays a separate payment
//! service that happens to run in the same process: its hosted payment
//! pages live under `/demo-pay/`, its records in its own tables, and the
//! shop reaches it only through `PaymentProvider` (begin, lookup, refund)
//! and the signed webhooks it posts to `SITE_URL`, as it would a real one.
//!
//! A payment page stays open after a declined card (the shopper may try
//! another), closes when a card is approved, and expires after
//! `CHECKOUT_MINUTES`. A page opened to authorize only holds the money:
//! the shop captures or voids it later, and an authorization left
//! uncaptured for `AUTHORIZATION_DAYS` is released, as card networks do. Each change is written with the webhook that
//! reports it, in one transaction; a job posts due webhooks until the shop
//! answers 2xx, backing off between attempts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use site_core::db::{write_transaction, Database, DbConn};
use site_core::schema::{gateway_checkout as gc, gateway_refund as gr, gateway_webhook as gw};
use subtle::ConstantTimeEq;

use crate::domain::{
    demo_decline, Answer, BeginRequest, Card, ChargeOutcome, Lookup, PaymentProvider,
    ProviderError, RefundOutcome, RefundRequest, WebhookError, WebhookEvent,
};

/// The provider's name (in webhook URLs and on payment records).
pub const NAME: &str = "demo-pay";
/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "demo-pay-signature";
/// A signature older (or newer) than this is refused, so a captured
/// webhook cannot be replayed later.
pub const TOLERANCE_SECONDS: i64 = 300;
/// How long a payment page stays open.
pub const CHECKOUT_MINUTES: i64 = 30;
/// How long an authorization holds the money before it is released.
pub const AUTHORIZATION_DAYS: i64 = 7;

type HmacSha256 = Hmac<Sha256>;

/// The key webhooks are signed with, derived from the site's secret (a
/// real provider hands it out in its dashboard).
pub fn webhook_key(site_secret: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(site_secret.as_bytes()).expect("any key length");
    mac.update(b"demo-pay.webhook");
    mac.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = hex::encode(mac(key, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={tag}")
}

/// Checks a signature header against the body, within the tolerance.
pub fn verify(key: &[u8], header: Option<&str>, body: &[u8], now: i64) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?;
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => tags.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::BadSignature)?;
    let expected = mac(key, timestamp, body).finalize().into_bytes();
    if !tags
        .iter()
        .any(|t| bool::from(t.ct_eq(expected.as_slice())))
    {
        return Err(WebhookError::BadSignature);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

site_core::text_enum! {
    pub enum CheckoutStatus {
        Open = "open",
        /// The money is held on the card, waiting for a capture or a void.
        Authorized = "authorized",
        /// Charged (captured).
        Succeeded = "succeeded",
        /// Authorized, then released uncaptured.
        Voided = "voided",
        Expired = "expired",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gc)]
pub struct Checkout {
    pub id: i64,
    pub token: String,
    pub merchant_reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub merchant_name: String,
    pub return_url: String,
    pub status: CheckoutStatus,
    pub charge_reference: Option<String>,
    pub card_last4: String,
    pub declines: i64,
    pub refunded_minor: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub manual_capture: bool,
}

const EXPIRED: &str = "The payment page expired before a payment was made, so nothing was charged.";
const VOIDED: &str =
    "The payment was authorized, then released without being taken, so nothing was charged.";

impl Checkout {
    pub fn by_token(conn: &mut DbConn, token: &str) -> QueryResult<Option<Checkout>> {
        gc::table
            .filter(gc::token.eq(token))
            .select(Checkout::as_select())
            .first(conn)
            .optional()
    }

    fn by_reference(conn: &mut DbConn, reference: &str) -> QueryResult<Option<Checkout>> {
        gc::table
            .filter(gc::merchant_reference.eq(reference))
            .select(Checkout::as_select())
            .first(conn)
            .optional()
    }

    pub fn amount(&self) -> site_core::Money {
        // Opened from a `Money`, so the code is one the shop knows.
        let currency =
            site_core::Currency::parse(&self.currency).unwrap_or(site_core::Currency::Usd);
        site_core::Money::from_minor(self.amount_minor, currency)
    }

    /// Whether the page is past its `CHECKOUT_MINUTES`, whether or not the
    /// expiry job has closed it yet.
    fn past_its_time(&self, now: NaiveDateTime) -> bool {
        now - self.created_at > chrono::TimeDelta::minutes(CHECKOUT_MINUTES)
    }

    /// A page past its time reads as expired (the card form refuses it
    /// already), before the expiry job closes it.
    fn lookup(&self, now: NaiveDateTime) -> Lookup {
        match self.status {
            CheckoutStatus::Open if !self.past_its_time(now) => Lookup::Open,
            CheckoutStatus::Succeeded => Lookup::Done(ChargeOutcome::Approved {
                reference: self.charge_reference.clone().unwrap_or_default(),
                card_last4: self.card_last4.clone(),
            }),
            CheckoutStatus::Authorized => Lookup::Done(ChargeOutcome::Authorized {
                reference: self.charge_reference.clone().unwrap_or_default(),
                card_last4: self.card_last4.clone(),
            }),
            CheckoutStatus::Voided => Lookup::Done(ChargeOutcome::Declined {
                reference: self.charge_reference.clone().unwrap_or_default(),
                reason: VOIDED.into(),
            }),
            CheckoutStatus::Open | CheckoutStatus::Expired => {
                Lookup::Done(ChargeOutcome::Declined {
                    reference: String::new(),
                    reason: EXPIRED.into(),
                })
            }
        }
    }

    fn event(&self, kind: &str, reason: &str, card_last4: &str) -> WebhookEvent {
        WebhookEvent {
            id: format!("evt_{}", site_core::random_token(24)),
            kind: kind.into(),
            reference: self.merchant_reference.clone(),
            charge: self.charge_reference.clone().unwrap_or_default(),
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
            card_last4: card_last4.into(),
            reason: reason.into(),
        }
    }
}

/// Queues a webhook in the caller's transaction.
fn queue(conn: &mut DbConn, event: &WebhookEvent) -> QueryResult<i64> {
    let body = serde_json::to_string(event).expect("an event serialises");
    let now = site_core::now();
    diesel::insert_into(gw::table)
        .values((
            gw::event_id.eq(&event.id),
            gw::body.eq(body),
            gw::next_attempt_at.eq(now),
            gw::created_at.eq(now),
        ))
        .execute(conn)?;
    gw::table
        .filter(gw::event_id.eq(&event.id))
        .select(gw::id)
        .first(conn)
}

/// Opens the payment page for `reference`, or finds the one already open
/// (also when two requests race to open it).
pub fn open(conn: &mut DbConn, request: &BeginRequest<'_>) -> QueryResult<Checkout> {
    use diesel::result::{DatabaseErrorKind, Error};
    match insert_checkout(conn, request) {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Checkout::by_reference(conn, request.reference)?.ok_or(diesel::NotFound)
        }
        other => other,
    }
}

fn insert_checkout(conn: &mut DbConn, request: &BeginRequest<'_>) -> QueryResult<Checkout> {
    write_transaction(conn, |conn| {
        if let Some(existing) = Checkout::by_reference(conn, request.reference)? {
            return Ok(existing);
        }
        let now = site_core::now();
        diesel::insert_into(gc::table)
            .values((
                gc::token.eq(site_core::random_token(32)),
                gc::merchant_reference.eq(request.reference),
                gc::amount_minor.eq(request.amount.minor()),
                gc::currency.eq(request.amount.currency().code()),
                gc::merchant_name.eq(request.merchant),
                gc::return_url.eq(request.return_url),
                gc::status.eq(CheckoutStatus::Open),
                gc::manual_capture.eq(!request.capture),
                gc::created_at.eq(now),
                gc::updated_at.eq(now),
            ))
            .execute(conn)?;
        Checkout::by_reference(conn, request.reference)?.ok_or(diesel::NotFound)
    })
}

/// What a card submitted on the payment page did.
#[derive(Debug)]
pub enum Attempt {
    /// Charged; the page is closed. With the webhook that says so.
    Approved(Checkout, i64),
    /// Refused; the page stays open for another card.
    Declined(Checkout, &'static str, i64),
    /// The page was already paid or has expired.
    Closed(Checkout),
}

/// Charges `card` for the checkout behind `token`, if it is still open.
pub fn pay(conn: &mut DbConn, token: &str, card: &Card) -> QueryResult<Option<Attempt>> {
    write_transaction(conn, |conn| {
        let Some(checkout) = Checkout::by_token(conn, token)? else {
            return Ok(None);
        };
        let now = site_core::now();
        let open = gc::table
            .find(checkout.id)
            .filter(gc::status.eq(CheckoutStatus::Open));
        if checkout.status != CheckoutStatus::Open || checkout.past_its_time(now) {
            return Ok(Some(Attempt::Closed(checkout)));
        }
        let last4 = card.number.last4();
        if let Some(reason) = demo_decline(card) {
            diesel::update(open)
                .set((gc::declines.eq(gc::declines + 1), gc::updated_at.eq(now)))
                .execute(conn)?;
            let webhook = queue(conn, &checkout.event("charge.failed", reason, last4))?;
            return Ok(Some(Attempt::Declined(checkout, reason, webhook)));
        }
        let charge = format!("ch_{}", site_core::random_token(24));
        let (status, kind) = if checkout.manual_capture {
            (CheckoutStatus::Authorized, "charge.authorized")
        } else {
            (CheckoutStatus::Succeeded, "charge.succeeded")
        };
        let moved = diesel::update(open)
            .set((
                gc::status.eq(status),
                gc::charge_reference.eq(&charge),
                gc::card_last4.eq(last4),
                gc::updated_at.eq(now),
            ))
            .execute(conn)?;
        let checkout = Checkout::by_token(conn, token)?.ok_or(diesel::NotFound)?;
        if moved == 0 {
            return Ok(Some(Attempt::Closed(checkout)));
        }
        let webhook = queue(conn, &checkout.event(kind, "", last4))?;
        Ok(Some(Attempt::Approved(checkout, webhook)))
    })
}

/// Closes payment pages left open longer than `CHECKOUT_MINUTES`, and
/// releases authorizations left uncaptured for `AUTHORIZATION_DAYS`,
/// telling the shop each time. Returns how many closed.
pub fn expire(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let held: Vec<String> = gc::table
        .filter(gc::status.eq(CheckoutStatus::Authorized))
        .filter(gc::updated_at.lt(now - chrono::TimeDelta::days(AUTHORIZATION_DAYS)))
        .order(gc::updated_at.asc())
        .limit(500)
        .select(gc::charge_reference.assume_not_null())
        .load(conn)?;
    let mut released = 0;
    for charge in held {
        if let Some((Answer::Approved { .. }, Some(_))) = void(conn, &charge)? {
            released += 1;
        }
    }
    Ok(released + expire_pages(conn, now)?)
}

fn expire_pages(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let cutoff = now - chrono::TimeDelta::minutes(CHECKOUT_MINUTES);
    let stale: Vec<i64> = gc::table
        .filter(gc::status.eq(CheckoutStatus::Open))
        .filter(gc::created_at.lt(cutoff))
        .order(gc::created_at.asc())
        .limit(500)
        .select(gc::id)
        .load(conn)?;
    let mut expired = 0;
    for id in stale {
        expired += write_transaction(conn, |conn| -> QueryResult<usize> {
            let moved = diesel::update(
                gc::table
                    .find(id)
                    .filter(gc::status.eq(CheckoutStatus::Open)),
            )
            .set((
                gc::status.eq(CheckoutStatus::Expired),
                gc::updated_at.eq(now),
            ))
            .execute(conn)?;
            if moved == 1 {
                let checkout: Checkout = gc::table
                    .find(id)
                    .select(Checkout::as_select())
                    .first(conn)?;
                queue(conn, &checkout.event("checkout.expired", EXPIRED, ""))?;
            }
            Ok(moved)
        })?;
    }
    Ok(expired)
}

/// Refunds part of a charge, once per `reference`, never beyond the charge.
pub fn refund(conn: &mut DbConn, request: &RefundRequest<'_>) -> QueryResult<RefundOutcome> {
    write_transaction(conn, |conn| {
        let done: Option<String> = gr::table
            .filter(gr::reference.eq(request.reference))
            .select(gr::refund_reference)
            .first(conn)
            .optional()?;
        if let Some(reference) = done {
            return Ok(RefundOutcome::Approved { reference });
        }
        let checkout: Option<Checkout> = gc::table
            .filter(gc::charge_reference.eq(request.charge_reference))
            .select(Checkout::as_select())
            .first(conn)
            .optional()?;
        let Some(checkout) = checkout else {
            return Ok(RefundOutcome::Declined {
                reason: "The payment service does not know this charge.".into(),
            });
        };
        let amount = request.amount.minor();
        let moved = diesel::update(
            gc::table
                .find(checkout.id)
                .filter(gc::refunded_minor.le(checkout.amount_minor - amount)),
        )
        .set(gc::refunded_minor.eq(gc::refunded_minor + amount))
        .execute(conn)?;
        if amount <= 0 || moved == 0 {
            return Ok(RefundOutcome::Declined {
                reason: "The refund is more than what is left of the charge.".into(),
            });
        }
        let reference = format!("re_{}", site_core::random_token(24));
        diesel::insert_into(gr::table)
            .values((
                gr::checkout_id.eq(checkout.id),
                gr::reference.eq(request.reference),
                gr::refund_reference.eq(&reference),
                gr::amount_minor.eq(amount),
                gr::created_at.eq(site_core::now()),
            ))
            .execute(conn)?;
        Ok(RefundOutcome::Approved { reference })
    })
}

fn by_charge(conn: &mut DbConn, charge_reference: &str) -> QueryResult<Option<Checkout>> {
    gc::table
        .filter(gc::charge_reference.eq(charge_reference))
        .select(Checkout::as_select())
        .first(conn)
        .optional()
}

const UNKNOWN_CHARGE: &str = "The payment service does not know this charge.";

/// Takes an authorized charge (all of it). A second capture answers the
/// first again; a voided or unknown one is declined. With the webhook that
/// reports a capture made now.
pub fn capture(
    conn: &mut DbConn,
    charge_reference: &str,
    amount: site_core::Money,
) -> QueryResult<(Answer, Option<i64>)> {
    write_transaction(conn, |conn| {
        let Some(checkout) = by_charge(conn, charge_reference)? else {
            return Ok((decline(UNKNOWN_CHARGE), None));
        };
        let approved = Answer::Approved {
            reference: charge_reference.to_string(),
        };
        match checkout.status {
            CheckoutStatus::Succeeded => return Ok((approved, None)),
            CheckoutStatus::Authorized => {}
            CheckoutStatus::Voided => {
                return Ok((
                    decline("The authorization was released: nothing can be captured."),
                    None,
                ))
            }
            CheckoutStatus::Open | CheckoutStatus::Expired => {
                return Ok((decline("Nothing was authorized on this charge."), None))
            }
        }
        if amount != checkout.amount() {
            return Ok((
                decline("Capture the authorized amount in full (this service captures once)."),
                None,
            ));
        }
        let webhook = close_authorization(conn, &checkout, CheckoutStatus::Succeeded)?;
        Ok((approved, Some(webhook)))
    })
}

/// Releases an authorized charge uncaptured. A second void answers the
/// first again; a captured one is declined (refund it instead).
pub fn void(
    conn: &mut DbConn,
    charge_reference: &str,
) -> QueryResult<Option<(Answer, Option<i64>)>> {
    write_transaction(conn, |conn| {
        let Some(checkout) = by_charge(conn, charge_reference)? else {
            return Ok(None);
        };
        let approved = Answer::Approved {
            reference: charge_reference.to_string(),
        };
        match checkout.status {
            CheckoutStatus::Voided => return Ok(Some((approved, None))),
            CheckoutStatus::Authorized => {}
            CheckoutStatus::Succeeded => {
                return Ok(Some((
                    decline("The charge was captured already: refund it instead."),
                    None,
                )))
            }
            CheckoutStatus::Open | CheckoutStatus::Expired => {
                return Ok(Some((
                    decline("Nothing was authorized on this charge."),
                    None,
                )))
            }
        }
        let webhook = close_authorization(conn, &checkout, CheckoutStatus::Voided)?;
        Ok(Some((approved, Some(webhook))))
    })
}

/// Captures (`Succeeded`) or voids (`Voided`) an authorized checkout, with
/// the webhook that says so. In the caller's transaction, whose read of
/// the checkout this guards: a change meanwhile rolls it back.
fn close_authorization(
    conn: &mut DbConn,
    checkout: &Checkout,
    to: CheckoutStatus,
) -> QueryResult<i64> {
    let moved = diesel::update(
        gc::table
            .find(checkout.id)
            .filter(gc::status.eq(CheckoutStatus::Authorized)),
    )
    .set((gc::status.eq(to), gc::updated_at.eq(site_core::now())))
    .execute(conn)?;
    if moved == 0 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    let (kind, reason) = match to {
        CheckoutStatus::Voided => ("charge.voided", VOIDED),
        _ => ("charge.captured", ""),
    };
    queue(conn, &checkout.event(kind, reason, &checkout.card_last4))
}

fn decline(reason: &str) -> Answer {
    Answer::Declined {
        reason: reason.into(),
    }
}

/// Where webhooks go: the shop's endpoint for this provider.
pub fn webhook_url(site_url: &str) -> String {
    format!(
        "{}/payments/webhooks/{NAME}/",
        site_url.trim_end_matches('/')
    )
}

/// Seconds to wait before attempt `n + 1`: 2, 4, 8 … up to an hour.
fn backoff(attempts: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(2i64.saturating_pow(attempts.clamp(1, 12) as u32).min(3600))
}

/// Posts every due webhook to `url`, signed with `key`. Returns how many
/// the shop accepted. Delivery is at least once: the shop stores each
/// event id once, so a repeat changes nothing.
pub fn deliver_due(db: &Database, url: &str, key: &[u8]) -> anyhow::Result<usize> {
    deliver(db, url, key, None)
}

/// Posts the undelivered webhooks among `only` (all due ones if `None`).
fn deliver(db: &Database, url: &str, key: &[u8], only: Option<&[i64]>) -> anyhow::Result<usize> {
    let mut conn = db.get()?;
    let now = site_core::now();
    let undelivered = gw::table.filter(gw::delivered_at.is_null());
    let due: Vec<(i64, String)> = match only {
        Some(ids) => undelivered
            .filter(gw::id.eq_any(ids))
            .select((gw::id, gw::body))
            .load(&mut conn)?,
        None => undelivered
            .filter(gw::next_attempt_at.le(now))
            .order(gw::id.asc())
            .limit(100)
            .select((gw::id, gw::body))
            .load(&mut conn)?,
    };
    drop(conn);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut delivered = 0;
    for (id, body) in due {
        let signature = sign(key, chrono::Utc::now().timestamp(), body.as_bytes());
        let answer = agent
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .send(body.as_bytes());
        let failure = match answer {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the shop answered {}", r.status())),
            Err(e) => Some(e.to_string()),
        };
        let mut conn = db.get()?;
        let now = site_core::now();
        match failure {
            None => {
                diesel::update(gw::table.find(id))
                    .set((gw::delivered_at.eq(now), gw::attempts.eq(gw::attempts + 1)))
                    .execute(&mut conn)?;
                delivered += 1;
            }
            Some(error) => {
                let attempts: i64 = gw::table.find(id).select(gw::attempts).first(&mut conn)?;
                tracing::warn!(webhook = id, %error, "demo gateway webhook not delivered; will retry");
                diesel::update(gw::table.find(id))
                    .set((
                        gw::attempts.eq(attempts + 1),
                        gw::next_attempt_at.eq(now + backoff(attempts + 1)),
                        gw::last_error.eq(error),
                    ))
                    .execute(&mut conn)?;
            }
        }
    }
    Ok(delivered)
}

/// The demo gateway as the shop's payment provider.
pub struct DemoGateway {
    pub db: Database,
    /// The shop's public URL (the gateway's pages are served under it).
    pub site_url: String,
    pub key: Vec<u8>,
    /// Post webhooks as soon as a payment page changes something (as a
    /// real service does); otherwise only the delivery job posts them.
    pub notify_at_once: bool,
}

impl DemoGateway {
    pub fn new(db: Database, site_url: &str, site_secret: &str) -> DemoGateway {
        DemoGateway {
            db,
            site_url: site_url.trim_end_matches('/').to_string(),
            key: webhook_key(site_secret),
            notify_at_once: true,
        }
    }

    fn conn(&self) -> Result<site_core::db::PooledConn, ProviderError> {
        self.db.get().map_err(|e| ProviderError(e.to_string()))
    }

    /// Posts every due webhook now (what the delivery job does).
    pub fn deliver_now(&self) -> anyhow::Result<usize> {
        deliver_due(&self.db, &webhook_url(&self.site_url), &self.key)
    }

    /// Posts one webhook right after the change it reports, on a thread of
    /// its own: the shop it calls may be this very server, whose request
    /// threads must not wait on themselves. The job retries a failure.
    pub fn notify(&self, webhook: i64) {
        if !self.notify_at_once {
            return;
        }
        let (db, url, key) = (
            self.db.clone(),
            webhook_url(&self.site_url),
            self.key.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name("demo-pay-webhook".into())
            .spawn(move || {
                if let Err(e) = deliver(&db, &url, &key, Some(&[webhook])) {
                    tracing::warn!(error = %e, "demo gateway webhook not delivered; the job will retry");
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "demo gateway webhook left to the job");
        }
    }
}

impl DemoGateway {
    fn post(&self, webhook: Option<i64>) {
        if let Some(webhook) = webhook {
            self.notify(webhook);
        }
    }
}

fn unreachable(e: diesel::result::Error) -> ProviderError {
    ProviderError(e.to_string())
}

impl PaymentProvider for DemoGateway {
    fn name(&self) -> &'static str {
        NAME
    }

    fn begin(&self, request: &BeginRequest<'_>) -> Result<String, ProviderError> {
        let checkout = open(&mut *self.conn()?, request).map_err(unreachable)?;
        Ok(format!("{}/demo-pay/{}/", self.site_url, checkout.token))
    }

    fn lookup(&self, reference: &str) -> Result<Lookup, ProviderError> {
        Ok(Checkout::by_reference(&mut *self.conn()?, reference)
            .map_err(unreachable)?
            .map_or(Lookup::Unknown, |c| c.lookup(site_core::now())))
    }

    fn refund(&self, request: &RefundRequest<'_>) -> Result<RefundOutcome, ProviderError> {
        refund(&mut *self.conn()?, request).map_err(unreachable)
    }

    fn capture(
        &self,
        charge_reference: &str,
        amount: site_core::Money,
    ) -> Result<Answer, ProviderError> {
        let (answer, webhook) =
            capture(&mut *self.conn()?, charge_reference, amount).map_err(unreachable)?;
        self.post(webhook);
        Ok(answer)
    }

    fn void(&self, charge_reference: &str) -> Result<Answer, ProviderError> {
        let (answer, webhook) = void(&mut *self.conn()?, charge_reference)
            .map_err(unreachable)?
            .unwrap_or((decline(UNKNOWN_CHARGE), None));
        self.post(webhook);
        Ok(answer)
    }

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        verify(&self.key, signature, body, chrono::Utc::now().timestamp())?;
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_check_the_body_the_key_and_the_time() {
        let key = webhook_key("secret");
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(&key, 1_000_000, body);
        assert_eq!(verify(&key, Some(&header), body, 1_000_010), Ok(()));
        assert_eq!(
            verify(&key, Some(&header), br#"{"id":"evt_2"}"#, 1_000_010),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&webhook_key("other"), Some(&header), body, 1_000_010),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&key, Some(&header), body, 1_000_000 + TOLERANCE_SECONDS + 1),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify(&key, None, body, 0),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(&key, Some("t=abc,v1=zz"), body, 0),
            Err(WebhookError::BadSignature)
        );
        // A moved timestamp breaks the signature.
        let moved = header.replace("t=1000000", "t=1000009");
        assert_eq!(
            verify(&key, Some(&moved), body, 1_000_010),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn retries_back_off_up_to_an_hour() {
        assert_eq!(backoff(1).num_seconds(), 2);
        assert_eq!(backoff(3).num_seconds(), 8);
        assert_eq!(backoff(40).num_seconds(), 3600);
    }
}
