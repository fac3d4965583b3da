//! The whole story in a real browser: written next.
