//! What the Aliyun clients share: the V3 request signature (ACS3-HMAC-SHA256), used by the
//! SMS client now and the real-name verification client later.

pub mod acs3;
