//! Typed ids, so an account id can never be passed where a contact id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a raw database id.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw database id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Id of a success plan.
    PlanId
);
id_type!(
    /// Id of a customer account.
    AccountId
);
id_type!(
    /// Id of a contact (stakeholder) at a customer.
    ContactId
);
id_type!(
    /// Id of a subscription row.
    SubscriptionId
);
id_type!(
    /// Id of a touchpoint.
    TouchpointId
);
id_type!(
    /// Id of a user of Mikawaya (CS team member or partner staff).
    UserId
);
id_type!(
    /// Id of a partner organisation (代理店).
    PartnerId
);
id_type!(
    /// Id of a saved segment.
    SegmentId
);
id_type!(
    /// Id of an API token.
    TokenId
);
