//! Loopback protocol fakes of every outside system Lantian talks to.
//!
//! The demo mode and the integration tests start these fakes on `127.0.0.1`
//! and point the real clients at them, so the product's outbound code paths
//! run unchanged against something that speaks the real wire protocol but
//! records what it received and can be told to misbehave.
//!
//! Every fake binds loopback only ([`harness::bind_loopback`]): they have no
//! authentication worth the name and must never be reachable from outside
//! the machine. They share the application's clock ([`harness::NowMs`]) so
//! signed timestamps agree when a test moves time.
//!
//! This crate deliberately depends on no other crate of the workspace: the
//! fakes model the outside world, not Lantian's view of it.

mod aliyun_gateway;
pub mod aliyun_kyc;
pub mod aliyun_sms;
pub mod epay;
pub(crate) mod form;
pub mod harness;
mod html;
pub mod proxmox;
pub mod smtp;
mod utc;
pub mod zjmf;
