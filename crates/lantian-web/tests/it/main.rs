//! The one integration-test binary (each file under tests/ would be another link step).
//! Database tests run on SQLite and on PostgreSQL through `db_test!`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod helpers;

mod access_log;
mod accounts;
mod audit;
mod billing;
mod billing_api;
mod billing_staff;
mod browser;
mod browser_billing;
mod browser_kyc;
mod browser_services;
mod cart;
mod cli;
mod i18n;
mod jobs;
mod keys;
mod kyc;
mod kyc_api;
mod kyc_providers;
mod kyc_staff;
mod lifecycle;
mod notify;
mod provider_proxmox;
mod provider_zjmf;
mod provisioning;
mod reconcile;
mod schema;
mod services_api;
mod services_pages;
mod shared;
mod staff;
mod tls;
mod web;
