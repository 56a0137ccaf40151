use sqlx::FromRow;

use crate::authz::Role;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: String,
    /// Sealed; open with `staff::phone_of`.
    pub phone: Option<String>,
    pub must_change_password: bool,
    pub active: bool,
    pub roles: Vec<Role>,
    pub created_at: UnixMs,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    username: String,
    display_name: String,
    email: String,
    phone: Option<String>,
    must_change_password: bool,
    active: bool,
    created_at: UnixMs,
    password_hash: String,
}

impl Row {
    fn split(self, roles: Vec<Role>) -> (StaffMember, String) {
        let m = StaffMember {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            email: self.email,
            phone: self.phone,
            must_change_password: self.must_change_password,
            active: self.active,
            roles,
            created_at: self.created_at,
        };
        (m, self.password_hash)
    }
}

async fn roles_of(db: &Db, id: i64) -> Result<Vec<Role>, sqlx::Error> {
    const SQL: &str = "SELECT role FROM staff_roles WHERE staff_id = $1 ORDER BY role";
    let names: Vec<String> = on_read!(db, c => sqlx::query_scalar(SQL).bind(id).fetch_all(c).await)?;
    let mut roles: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
    roles.sort();
    Ok(roles)
}

async fn with_roles(db: &Db, row: Option<Row>) -> Result<Option<(StaffMember, String)>, sqlx::Error> {
    match row {
        Some(r) => {
            let roles = roles_of(db, r.id).await?;
            Ok(Some(r.split(roles)))
        }
        None => Ok(None),
    }
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<(StaffMember, String)>, sqlx::Error> {
    const SQL: &str = "SELECT id, username, display_name, email, phone, must_change_password, active, created_at, password_hash \
         FROM staff WHERE username = $1";
    let row = on_read!(db, c => sqlx::query_as(SQL).bind(username).fetch_optional(c).await)?;
    with_roles(db, row).await
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<StaffMember>, sqlx::Error> {
    const SQL: &str = "SELECT id, username, display_name, email, phone, must_change_password, active, created_at, password_hash \
         FROM staff WHERE id = $1";
    let row = on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)?;
    Ok(with_roles(db, row).await?.map(|(m, _)| m))
}

pub async fn list(db: &Db) -> Result<Vec<StaffMember>, sqlx::Error> {
    const SQL: &str = "SELECT id, username, display_name, email, phone, must_change_password, active, created_at, password_hash \
         FROM staff ORDER BY id";
    const ROLES: &str = "SELECT staff_id, role FROM staff_roles ORDER BY staff_id, role";
    let rows: Vec<Row> = on_read!(db, c => sqlx::query_as(SQL).fetch_all(c).await)?;
    let roles: Vec<(i64, String)> = on_read!(db, c => sqlx::query_as(ROLES).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut mine: Vec<Role> =
                roles.iter().filter(|(id, _)| *id == r.id).filter_map(|(_, n)| Role::parse(n)).collect();
            mine.sort();
            r.split(mine).0
        })
        .collect())
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_read!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM staff").fetch_one(c).await)
}

pub async fn insert(
    tx: &mut Tx,
    username: &str,
    display_name: &str,
    email: &str,
    hash: &str,
    now: UnixMs,
) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO staff (username, display_name, email, password_hash, must_change_password, active, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, TRUE, $5) ON CONFLICT (username) DO NOTHING RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(username).bind(display_name).bind(email).bind(hash).bind(now).fetch_optional(c).await)
}

pub async fn add_role(tx: &mut Tx, id: i64, role: Role) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO staff_roles (staff_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(role.as_str()).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn set_password(tx: &mut Tx, id: i64, hash: &str, must_change: bool) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE staff SET password_hash = $2, must_change_password = $3 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(hash).bind(must_change).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn deactivate(tx: &mut Tx, id: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE staff SET active = FALSE, deactivated_at = $2 WHERE id = $1 AND active";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn set_phone(tx: &mut Tx, id: i64, sealed: Option<&str>) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE staff SET phone = $2 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(sealed).execute(c).await?.rows_affected());
    Ok(())
}

/// Active members holding any of `roles`.
pub async fn holders_of(tx: &mut Tx, roles: &[&str]) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::new();
    for role in roles {
        const SQL: &str =
            "SELECT s.id FROM staff s JOIN staff_roles r ON r.staff_id = s.id WHERE r.role = $1 AND s.active";
        let found: Vec<i64> = on_tx!(tx, c => sqlx::query_scalar(SQL).bind(*role).fetch_all(c).await)?;
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
