//! How big the directory of the connector modes (`--ldap`, `--scim`, `--mysql`) is, and who is
//! in which group. Every mode seeds the same shape (users, groups, memberships spread evenly over
//! the groups) so that their figures compare; each writes it in its server's own terms (LDIF,
//! SCIM Bulk requests, rows of MariaDB's privilege tables).
//!
//! Kept apart from the modes so that the shape (what a complete sync must land) can be read, and
//! unit-tested, without a server.

use crate::Landed;

/// The sizes: 20,000 users, 2,000 groups (or roles), 100,000 memberships.
pub const DEFAULT_USERS: u64 = 20_000;
pub const DEFAULT_GROUPS: u64 = 2_000;
pub const DEFAULT_MEMBERSHIPS: u64 = 100_000;

/// How big a generated directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectorySizes {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

impl DirectorySizes {
    /// The sizes multiplied by `scale` (`--scale 0.01`: 200 users, 20 groups, 1,000
    /// memberships), each at least 1.
    pub fn scaled(self, scale: f64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            scale.is_finite() && scale > 0.0,
            "--scale must be a positive number, not {scale}"
        );
        let times = |n: u64| ((n as f64 * scale).round() as u64).max(1);
        Ok(DirectorySizes {
            users: times(self.users),
            groups: times(self.groups),
            memberships: times(self.memberships),
        })
    }

    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.users > 0 && self.groups > 0,
            "--users and --groups must be at least 1"
        );
        anyhow::ensure!(
            self.memberships >= self.groups,
            "--memberships {} is fewer than --groups {}: each group needs a member",
            self.memberships,
            self.groups
        );
        anyhow::ensure!(
            self.memberships.div_ceil(self.groups) <= self.users,
            "--memberships {} is too many: a group can have at most {} members",
            self.memberships,
            self.users
        );
        Ok(())
    }

    /// What a complete sync lands when each user has `attributes_per_user` attribute rows.
    pub fn expected(&self, attributes_per_user: u64) -> Landed {
        Landed {
            accounts: self.users as i64,
            attributes: (self.users * attributes_per_user) as i64,
            resources: self.groups as i64,
            access: self.memberships as i64,
            users: self.users as i64,
        }
    }

    /// The members (user indexes) of group `g`: slots `s` with `s * groups + g < memberships`,
    /// slot `s` being user `(g + s * stride) mod users`, distinct since the stride is coprime
    /// with the user count and there are at most `users` slots.
    pub fn members(&self, g: u64) -> impl Iterator<Item = u64> + '_ {
        let stride = self.stride();
        (0..self.memberships.div_ceil(self.groups))
            .filter(move |s| s * self.groups + g < self.memberships)
            .map(move |s| (g + s * stride) % self.users)
    }

    fn stride(&self) -> u64 {
        let mut stride = 7919;
        while gcd(stride, self.users) != 1 {
            stride += 1;
        }
        stride
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_memberships_evenly_and_uniquely() {
        let sizes = DirectorySizes {
            users: 20,
            groups: 3,
            memberships: 10,
        };
        sizes.check().unwrap();
        let mut total = 0;
        for g in 0..sizes.groups {
            let mut members: Vec<u64> = sizes.members(g).collect();
            assert!(members.len() >= 3 && members.len() <= 4);
            total += members.len();
            members.sort();
            members.dedup();
            assert_eq!(members.len(), sizes.members(g).count());
        }
        assert_eq!(total, 10);
    }

    #[test]
    fn scales_every_size_and_keeps_each_at_least_one() {
        let full = DirectorySizes {
            users: DEFAULT_USERS,
            groups: DEFAULT_GROUPS,
            memberships: DEFAULT_MEMBERSHIPS,
        };
        let small = full.scaled(0.01).unwrap();
        assert_eq!(
            (small.users, small.groups, small.memberships),
            (200, 20, 1000)
        );
        let tiny = full.scaled(0.0001).unwrap();
        assert_eq!((tiny.users, tiny.groups, tiny.memberships), (2, 1, 10));
        assert!(full.scaled(0.0).is_err() && full.scaled(f64::NAN).is_err());
        assert!(tiny.check().is_err(), "10 members in one group of 2 users");
    }
}
