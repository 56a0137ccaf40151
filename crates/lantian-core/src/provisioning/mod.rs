//! Provisioning: servers created, changed and removed at upstream providers for paid services.

pub mod provider;
