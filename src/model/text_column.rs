//! The one mapping of a text-valued enum to its database column: written as its name
//! (`as_str`), read back with `parse`. The columns have CHECK constraints naming the same
//! values, so a name `parse` does not know is a broken database, an error, never a default.

/// Implements diesel's `ToSql`/`FromSql` on `Text` for an enum with `as_str(self)` and
/// `parse(&str) -> Option<Self>` (which must also derive `AsExpression` and `FromSqlRow` with
/// `#[diesel(sql_type = Text)]`). `$what` names the value in the error.
macro_rules! text_column {
    ($type:ty, $what:literal) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $type {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let name = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(value)?;
                Self::parse(&name)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), name).into())
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_column;
