//! The WeCom API: answer models, errcode classes, the access-token cache and the HTTP client.

pub mod client;
pub mod discover;
pub mod errcode;
pub mod limiter;
pub mod model;
pub mod token;
