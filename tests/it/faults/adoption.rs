//! Switching a resource to push mode adopts the remote's members as they are now, every account
//! of a user included.
