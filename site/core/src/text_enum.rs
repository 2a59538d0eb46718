//! Statuses and kinds stored as text: `text_enum!` declares the enum, its
//! text forms, and diesel's `ToSql`/`FromSql` for both backends. A value
//! in the database that is not one of them is an error when read, never a
//! silent default.

/// ```text
/// site_core::text_enum! {
///     /// Where an order is in its life.
///     pub enum OrderStatus {
///         Pending = "pending",
///         Paid = "paid",
///     }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text =
                    <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(
                        bytes,
                    )?;
                $name::parse(&text).ok_or_else(|| {
                    format!(
                        "{:?} is not a known {} (expected one of: {})",
                        text,
                        stringify!($name),
                        [$($text),+].join(", ")
                    )
                    .into()
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    crate::text_enum! {
        enum Colour {
            Red = "red",
            Green = "green",
        }
    }

    #[derive(QueryableByName, Debug)]
    struct Found {
        #[diesel(sql_type = Text)]
        colour: Colour,
    }

    #[test]
    fn round_trips_and_refuses_unknown_text() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let green: Found = diesel::sql_query("SELECT ? AS colour")
            .bind::<Text, _>(Colour::Green)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(green.colour, Colour::Green);
        let lost = diesel::sql_query("SELECT 'blue' AS colour").get_result::<Found>(&mut conn);
        let err = lost.expect_err("an unknown value is an error").to_string();
        assert!(err.contains("\"blue\" is not a known Colour"), "{err}");
        assert_eq!(Colour::parse("red"), Some(Colour::Red));
        assert_eq!(Colour::ALL.len(), 2);
        assert_eq!(Colour::Red.to_string(), "red");
    }
}
