//! Order rules: the checkout details, and the status pipeline.

use serde::Serialize;
use site_core::forms::Email;

/// Who buys and where it goes, parsed from the checkout form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckoutDetails {
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// An order moves forward only: pending -> paid -> shipped -> delivered;
/// pending or paid orders can be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        [
            Self::Pending,
            Self::Paid,
            Self::Shipped,
            Self::Delivered,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Paid)
                | (Paid, Shipped)
                | (Shipped, Delivered)
                | (Pending, Cancelled)
                | (Paid, Cancelled)
        )
    }

    pub fn awaits_payment(self) -> bool {
        self == OrderStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use OrderStatus::*;
        assert!(Pending.can_become(Paid));
        assert!(Paid.can_become(Shipped));
        assert!(!Paid.can_become(Pending));
        assert!(!Delivered.can_become(Cancelled));
        assert!(!Cancelled.can_become(Paid));
        for s in [Pending, Paid, Shipped, Delivered, Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }
}
