//! Oblique integrations service: connects Oblique to an organisation's external systems, pulls
//! users, resources and access from them, and pushes Oblique's access decisions back.
//!
//! A call comes in through [`server`] (TLS, [`request_limits`], the [`auth`] layer) to [`api`],
//! which turns proto values into the domain's and checks the caller's role, then runs a use case
//! of [`domain`]. Use cases write through [`db`], check setups against the remote systems
//! through [`connectors`], and queue work for the [`engine`], which runs in the background on
//! every replica: it claims runs, pulls through [`connectors`] into staging and merges, pushes
//! decisions back, and publishes progress that [`api`] streams. [`cli`] wires it all into the
//! `oblique` command. Imports only point down these layers (README's "How it is built";
//! `tests/it/layers.rs` checks it).

pub mod api;
pub mod auth;
pub mod cli;
pub mod connectors;
pub mod console;
pub mod context;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod pb;
pub mod private_file;
pub mod request_limits;
pub mod server;
pub mod tls_client;
