//! Order rules: the checkout details, and the status pipeline.

use serde::Serialize;
use site_core::address::PostalAddress;
use site_core::forms::Email;

/// Who buys and where it goes, parsed from the checkout form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckoutDetails {
    pub email: Email,
    /// Where the order goes (and whose name is on it).
    #[serde(flatten)]
    pub address: PostalAddress,
    /// Where the invoice goes, when not to the delivery address.
    pub billing: Option<PostalAddress>,
}

site_core::text_enum! {
    /// Where an order is in its life. It moves forward only: pending ->
    /// paid -> shipped -> delivered; pending or paid orders can be
    /// cancelled. [`OrderStatus::transition`] is the one place that says
    /// which moves are allowed.
    pub enum OrderStatus {
        Pending = "pending",
        Paid = "paid",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
    }
}

/// A move the pipeline does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {} cannot become {}", .from.label().to_lowercase(), .to.label().to_lowercase())]
pub struct TransitionError {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    /// The label of an order paid in cash on delivery, which ships before
    /// it is paid: waiting for the courier, not for the shopper.
    pub fn label_paying_on_delivery(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Confirmed: pay on delivery",
            other => other.label(),
        }
    }

    /// The statuses an order in this one may move to.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Pending => &[Paid, Cancelled],
            Paid => &[Shipped, Cancelled],
            Shipped => &[Delivered],
            Delivered | Cancelled => &[],
        }
    }

    pub fn can_become(self, next: OrderStatus) -> bool {
        self.next().contains(&next)
    }

    /// The move from this status to `to`, if the pipeline allows it.
    pub fn transition(self, to: OrderStatus) -> Result<OrderStatus, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// The move for an order paid on delivery: it also ships unpaid
    /// (pending -> shipped); its payment is recorded later, without a
    /// status of its own.
    pub fn transition_paying_on_delivery(
        self,
        to: OrderStatus,
    ) -> Result<OrderStatus, TransitionError> {
        match (self, to) {
            (OrderStatus::Pending, OrderStatus::Shipped) => Ok(to),
            _ => self.transition(to),
        }
    }

    pub fn awaits_payment(self) -> bool {
        self == OrderStatus::Pending
    }
}

/// The carriers staff ship with: (value, name).
pub const CARRIERS: &[(&str, &str)] = &[
    ("dhl", "DHL"),
    ("dpd", "DPD"),
    ("fedex", "FedEx"),
    ("royal-mail", "Royal Mail"),
    ("ups", "UPS"),
    ("usps", "USPS"),
    ("other", "Other carrier"),
];

pub fn carrier_name(value: &str) -> &str {
    CARRIERS
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, n)| *n)
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use OrderStatus::*;
        assert!(Pending.can_become(Paid));
        assert!(Paid.can_become(Shipped));
        assert!(Shipped.can_become(Delivered));
        assert!(!Paid.can_become(Pending));
        assert!(!Pending.can_become(Shipped), "not before it is paid");
        assert!(!Delivered.can_become(Cancelled));
        assert!(!Shipped.can_become(Cancelled));
        assert!(!Cancelled.can_become(Paid));
        assert_eq!(
            Shipped.transition(Cancelled),
            Err(TransitionError {
                from: Shipped,
                to: Cancelled
            })
        );
        assert_eq!(
            Shipped.transition(Cancelled).unwrap_err().to_string(),
            "an order that is shipped cannot become cancelled"
        );
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(*s));
            assert!(!s.can_become(*s), "{s} does not move to itself");
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }

    #[test]
    fn an_order_paid_on_delivery_ships_unpaid_and_nothing_else_changes() {
        use OrderStatus::*;
        assert_eq!(Pending.transition_paying_on_delivery(Shipped), Ok(Shipped));
        assert_eq!(
            Pending.transition_paying_on_delivery(Cancelled),
            Ok(Cancelled)
        );
        assert!(Shipped.transition_paying_on_delivery(Cancelled).is_err());
        assert!(Delivered.transition_paying_on_delivery(Shipped).is_err());
        assert!(Cancelled.transition_paying_on_delivery(Shipped).is_err());
    }
}
