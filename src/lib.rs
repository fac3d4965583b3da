//! Oblique integrations service: connects Oblique to an organisation's external systems, pulls
//! users, resources and access from them, and pushes Oblique's access decisions back.
//!
//! Data flows one way: [`api`] validates and authorises, calls [`domain`] and [`db`], which call
//! [`connectors`].

pub mod api;
pub mod auth;
pub mod cli;
pub mod connectors;
pub mod context;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod health;
pub mod logging;
pub mod model;
pub mod pb;
pub mod private_file;
pub mod request_limits;
pub mod server;
pub mod tls_client;
