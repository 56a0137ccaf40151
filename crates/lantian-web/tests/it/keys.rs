//! Sensitive fields are sealed at rest, and a key rotation re-seals them while the service
//! runs, resumably.

use std::sync::Arc;

use lantian_core::authz::{Principal, Role, Subject};
use lantian_core::crypto::KeyRing;
use lantian_core::crypto::keyring::KeyFile;
use lantian_core::jobs::{self, NewJob, Registry, RewrapPayload, Worker};
use lantian_core::staff::{self, PhoneChange};
use lantian_core::{Core, on_read, totp};

use crate::helpers::create_staff;

async fn give_phone(app: &crate::helpers::TestApp, id: i64, phone: &str) {
    let who = Principal::Staff { id, roles: vec![Role::Support] };
    staff::set_contact(&app.core, &who, PhoneChange::Set(phone), true, &Default::default()).await.unwrap();
}

async fn raw(app: &crate::helpers::TestApp, sql: &'static str) -> Vec<String> {
    on_read!(&app.core.db, c => sqlx::query_scalar::<_, String>(sql).fetch_all(c).await.unwrap())
}

db_test!(clause_c5_2_sensitive_fields_are_encrypted_at_rest, |app| {
    let (id, _) = create_staff(&app, "boss", &[Role::Owner]).await;
    give_phone(&app, id, "+86 138 1234 5678").await;
    let enrol = totp::begin(&app.core, Subject::staff(id), "boss@lantian", app.core.now()).await.unwrap();
    let phones = raw(&app, "SELECT phone FROM staff WHERE phone IS NOT NULL").await;
    let secrets = raw(&app, "SELECT secret FROM totp_factors").await;
    assert!(phones[0].starts_with("v1.") && !phones[0].contains("13812345678") && !phones[0].contains("5678"));
    assert!(secrets[0].starts_with("v1.") && !secrets[0].contains(&enrol.secret_base32));
    let hash = raw(&app, "SELECT password_hash FROM staff").await;
    assert!(hash[0].starts_with("$argon2id$"), "passwords are slow salted hashes only");
    // A sealed value copied to another row does not open there.
    let (other, _) = create_staff(&app, "clerk", &[Role::Billing]).await;
    let mut tx = app.core.db.begin().await.unwrap();
    lantian_core::on_tx!(&mut tx, c => sqlx::query("UPDATE staff SET phone = $1 WHERE id = $2").bind(&phones[0]).bind(other).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
    let moved = staff::get(&app.core, other).await.unwrap();
    assert!(staff::phone_of(&app.core, &moved).is_err());
});

db_test!(key_rotation_reseals_everything_and_survives_being_killed_half_way, |app| {
    for i in 0..25 {
        let (id, _) = create_staff(&app, &format!("member{i}"), &[Role::Support]).await;
        give_phone(&app, id, &format!("+8613800000{i:03}")).await;
    }
    let old_prefix = app.core.keys.active_prefix();
    // Rotate: the same key file with a new active key, as `lantian keys rotate` writes it.
    let mut file: KeyFile = toml::from_str(app.core.config.keys.inline.expose()).unwrap();
    let kid = file.rotate();
    let ring = Arc::new(KeyRing::from_key_file(&file).unwrap());
    let rotated = Core { keys: ring, ..app.core.clone() };
    let mut tx = rotated.db.begin().await.unwrap();
    let payload = RewrapPayload { target_kid: kid.clone(), batch: 10, batches_per_run: 1 };
    jobs::enqueue(&mut tx, &rotated, NewJob::new(jobs::REWRAP, &payload, rotated.now()).unwrap(), rotated.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A worker still on the old ring refuses and leaves the values alone.
    assert_eq!(Worker::new(app.core.clone(), Registry::standard()).step().await.unwrap(), 1);
    let count_new = |prefix: String| {
        let db = rotated.db.clone();
        async move {
            let all: Vec<String> = on_read!(&db, c => sqlx::query_scalar("SELECT phone FROM staff WHERE phone IS NOT NULL").fetch_all(c).await.unwrap());
            all.iter().filter(|p| p.starts_with(&prefix)).count()
        }
    };
    assert_eq!(count_new(rotated.keys.active_prefix()).await, 0);
    app.clock.advance(std::time::Duration::from_secs(3600));

    // One batch, then the worker is "killed" (dropped) half-way.
    Worker::new(rotated.clone(), Registry::standard()).step().await.unwrap();
    assert_eq!(count_new(rotated.keys.active_prefix()).await, 10);
    // A new worker finishes the job.
    Worker::new(rotated.clone(), Registry::standard()).drain().await.unwrap();
    assert_eq!(count_new(rotated.keys.active_prefix()).await, 25);
    assert_eq!(count_new(old_prefix).await, 0);
    let one = staff::get(&rotated, 3).await.unwrap();
    assert!(staff::phone_of(&rotated, &one).unwrap().unwrap().starts_with("+86138"));
});
