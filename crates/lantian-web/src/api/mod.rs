//! The JSON API. Conventions: RFC 9457 problem documents for every error; lists are pages
//! `{ "items": [...], "next_after": <id or null> }` fetched with `?limit=1..100&after=<id>`
//! (keyset pagination: stable while rows are added).

pub mod v1;
