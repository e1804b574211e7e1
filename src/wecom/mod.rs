//! The WeCom API: one [`client::Client::call`] loop (pacing, errcode classes, retries) over a
//! typed HTTP exchange ([`http`]), the access-token cache ([`token`]), the shared limiter
//! ([`limiter`]), errcode classes ([`errcode`]), typed answer models ([`model`]), the repair of answers
//! whose text is cut ([`repair`]) and meeting discovery ([`discover`]). A new endpoint is a model here and a method on the client.
//! Depends on [`crate::config`] and [`crate::domain`].

pub mod client;
pub mod directory;
pub mod discover;
pub mod errcode;
pub mod http;
pub mod limiter;
pub mod model;
pub mod quota;
pub mod repair;
pub mod token;
