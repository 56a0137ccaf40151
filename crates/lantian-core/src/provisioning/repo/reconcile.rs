//! The SQL of the reconciler: what our records say an upstream holds for us.

use sqlx::FromRow;

use crate::db::Db;
use crate::on_read;

/// A service that has a server at its upstream, or may be getting one: every state but
/// `terminated`.
#[derive(Debug, Clone, FromRow)]
pub struct LiveService {
    pub id: i64,
    pub state: String,
    pub remote_id: Option<String>,
    /// The create's checkpoint (JSON), which names the server of a create under way.
    pub checkpoint: Option<String>,
    /// The vmid it holds from our pool (Proxmox), reserved before the clone is asked for.
    pub held_vmid: Option<i64>,
}

/// The live services of `upstream`, by id.
pub async fn live_services(db: &Db, upstream: &str) -> Result<Vec<LiveService>, sqlx::Error> {
    const SQL: &str = "SELECT s.id, s.state, s.remote_id, s.checkpoint, v.vmid AS held_vmid FROM services s \
         LEFT JOIN vmid_reservations v ON v.service_id = s.id \
         WHERE s.upstream = $1 AND s.state <> 'terminated' ORDER BY s.id";
    on_read!(db, c => sqlx::query_as(SQL).bind(upstream).fetch_all(c).await)
}
