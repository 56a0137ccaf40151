//! The Proxmox VE module against the Proxmox fake: the checkpointed create (resumed after a lost
//! answer, waiting for a clone in flight, refusing a foreign VM), the idempotent lifecycle
//! calls, error classes, and exactly what Proxmox receives. No database.

use std::sync::Once;
use std::time::{Duration, Instant};

use lantian_core::provisioning::provider::proxmox::{Proxmox, ProxmoxSettings};
use lantian_core::provisioning::provider::{
    Checkpoint, CreateRequest, CreateStep, Handle, IpLease, Login, OpState, Power, PowerAction, Progress, ProvError,
    Provider, RemoteServer,
};
use lantian_fakes::proxmox::{ProxmoxFake, ProxmoxFakeSettings};

const KEY: &str = "svc-42-create-1";
const CLONE_PATH: &str = "/api2/json/nodes/pve/qemu/9000/clone";
/// A public key whose comment is its owner's e-mail address.
const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB+k/9Zq zhang.san@example.com";

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

async fn fake_with(task_duration: Duration) -> ProxmoxFake {
    install_crypto();
    ProxmoxFake::start(ProxmoxFakeSettings { task_duration, ..ProxmoxFakeSettings::default() }).await.unwrap()
}

async fn fake() -> ProxmoxFake {
    fake_with(Duration::from_millis(50)).await
}

fn settings(fake: &ProxmoxFake) -> ProxmoxSettings {
    let d = ProxmoxFakeSettings::default();
    ProxmoxSettings {
        endpoint: fake.base_url(),
        token_id: d.token_id,
        token_secret: d.token_secret,
        timeout: Duration::from_secs(5),
        task_poll: Duration::from_millis(20),
        ..ProxmoxSettings::default()
    }
}

fn client(fake: &ProxmoxFake) -> Proxmox {
    Proxmox::new(settings(fake)).unwrap()
}

fn request() -> CreateRequest {
    CreateRequest {
        service_id: 42,
        key: KEY.into(),
        hostname: "lc-42".into(),
        vcpu: 2,
        memory_mb: 2048,
        disk_gb: 20,
        bandwidth_mbps: 100,
        os_image: "debian-12".into(),
        target: "9000".into(),
        months: 1,
        login: Login::SshKey(SSH_KEY.into()),
        vmid: Some(101),
        ip: Some(IpLease { address: "203.0.113.10".into(), prefix_len: 24, gateway: "203.0.113.1".into() }),
        customer_ref: "A7K2P9".into(),
        real_name_verified: true,
    }
}

/// Calls `create` as the caller does, storing each checkpoint, until done or an error (with
/// the checkpoint stored last). The steps seen are returned with the handle.
async fn drive(
    p: &Proxmox,
    r: &CreateRequest,
    mut at: Checkpoint,
) -> Result<(Handle, Vec<String>), (ProvError, Checkpoint)> {
    let mut steps = Vec::new();
    for _ in 0..500 {
        match p.create(r, &at).await {
            Ok(CreateStep::Done(handle)) => return Ok((handle, steps)),
            Ok(CreateStep::Next { checkpoint, after }) => {
                steps.push(checkpoint.step.clone());
                at = checkpoint;
                tokio::time::sleep(after).await;
            }
            Err(e) => return Err((e, at)),
        }
    }
    panic!("the create never finished; stuck at {at:?}");
}

async fn created(p: &Proxmox) -> Handle {
    drive(p, &request(), Checkpoint::default()).await.unwrap().0
}

/// Polls a pending call's task to its end; its result.
async fn settle(p: &Proxmox, progress: Progress) -> OpState {
    let Progress::Pending { op, poll_after } = progress else { return OpState::Succeeded };
    loop {
        match p.poll(&op).await.unwrap() {
            OpState::Running => tokio::time::sleep(poll_after).await,
            done => return done,
        }
    }
}

fn clones(fake: &ProxmoxFake) -> usize {
    fake.requests().iter().filter(|r| r.method == "POST" && r.path == CLONE_PATH).count()
}

fn vmids(fake: &ProxmoxFake) -> Vec<u32> {
    fake.vms().iter().map(|vm| vm.vmid).collect()
}

#[tokio::test]
async fn a_create_runs_from_the_default_checkpoint_to_a_running_vm() {
    let fake = fake().await;
    let p = client(&fake);
    p.test_connection().await.unwrap();
    let (handle, steps) = drive(&p, &request(), Checkpoint::default()).await.unwrap();
    assert_eq!(handle, Handle { remote_id: "101".into(), node: Some("pve".into()) });
    for step in ["wait_clone", "configure", "resize", "wait_resize", "start", "wait_start", "verify"] {
        assert!(steps.iter().any(|s| s == step), "{step} in {steps:?}");
    }

    let vm = fake.vm(101).unwrap();
    assert!(vm.running);
    let c = &vm.config;
    assert_eq!((c["name"].as_str(), c["description"].as_str()), ("lc-42", "lantian:svc-42-create-1"));
    assert_eq!((c["cores"].as_str(), c["memory"].as_str(), c["onboot"].as_str()), ("2", "2048", "1"));
    assert_eq!(c["scsi0"], "local-lvm:vm-101-disk-0,size=20G");
    assert_eq!(c["ipconfig0"], "ip=203.0.113.10/24,gw=203.0.113.1");
    assert_eq!(c["ciuser"], "root");
    assert_eq!(c["sshkeys"], "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIB%2Bk%2F9Zq", "no comment, urlencoded");
    assert!(
        c["net0"].starts_with("virtio=BC:24:11:") && c["net0"].ends_with(",bridge=vmbr0,rate=12.5"),
        "{}",
        c["net0"]
    );
    assert!(!c.contains_key("lock") && !c.contains_key("template"));

    let status = p.status(&handle).await.unwrap();
    assert_eq!(
        (status.power, status.ips, status.locked, status.suspended),
        (Power::Running, vec!["203.0.113.10".to_string()], false, false)
    );
    assert_eq!(p.find_by_key(KEY).await.unwrap(), Some(handle.clone()));
    assert_eq!(p.find_by_key("svc-42").await.unwrap(), None, "a key is matched whole");
    assert_eq!(p.renew(&handle, 12).await.unwrap(), Progress::Done);

    // Called again from any stored checkpoint, it finds the VM and clones nothing.
    assert_eq!(drive(&p, &request(), Checkpoint::default()).await.unwrap().0, handle);
    assert_eq!((clones(&fake), vmids(&fake)), (1, vec![101, 9000]));
}

#[tokio::test]
async fn a_lost_clone_answer_is_an_unknown_outcome_and_resuming_never_clones_twice() {
    let fake = fake().await;
    let p = client(&fake);
    fake.faults().drop_after_accept_next(CLONE_PATH);
    let (error, stored) = drive(&p, &request(), Checkpoint::default()).await.unwrap_err();
    assert!(matches!(error, ProvError::UnknownOutcome(_)), "{error:?}");
    assert_eq!(stored, Checkpoint::default(), "nothing was stored past the clone");
    assert_eq!(vmids(&fake), [101, 9000], "the clone was carried out");

    let (handle, _) = drive(&p, &request(), stored).await.unwrap();
    assert_eq!(handle.remote_id, "101");
    assert_eq!((clones(&fake), vmids(&fake)), (1, vec![101, 9000]));
    assert!(fake.vm(101).unwrap().running);
}

#[tokio::test]
async fn a_clone_in_flight_is_waited_for() {
    let fake = fake_with(Duration::from_millis(300)).await;
    let p = client(&fake);
    let first = p.create(&request(), &Checkpoint::default()).await.unwrap();
    let CreateStep::Next { checkpoint, .. } = first else { panic!("{first:?}") };
    assert_eq!((checkpoint.step.as_str(), checkpoint.op.is_some()), ("wait_clone", true));
    assert_eq!(fake.vm(101).unwrap().config.keys().collect::<Vec<_>>(), ["lock"], "only lock: clone so far");

    // The answer is lost (the caller crashed before storing it): the next attempt sees the lock.
    let again = p.create(&request(), &Checkpoint::default()).await.unwrap();
    let CreateStep::Next { checkpoint, after } = again else { panic!("{again:?}") };
    assert_eq!((checkpoint.step.as_str(), checkpoint.op.is_none(), after), ("clone", true, Duration::from_millis(20)));
    drive(&p, &request(), checkpoint).await.unwrap();
    assert_eq!((clones(&fake), vmids(&fake)), (1, vec![101, 9000]));
}

#[tokio::test]
async fn a_foreign_vm_at_the_reserved_vmid_is_a_conflict_and_never_deleted() {
    let fake = fake().await;
    let p = client(&fake);
    fake.add_vm(101, &[("name", "staff-db"), ("description", "do not touch"), ("cores", "4")]);
    let (error, _) = drive(&p, &request(), Checkpoint::default()).await.unwrap_err();
    assert!(matches!(error, ProvError::Conflict(_)), "{error:?}");
    assert!(error.is_retryable(), "the caller reserves another vmid");
    assert_eq!(clones(&fake), 0);

    let handle = Handle { remote_id: "101".into(), node: Some("pve".into()) };
    let error = p.terminate(&handle).await.unwrap_err();
    assert!(matches!(error, ProvError::Conflict(_)), "{error:?}");
    assert_eq!(fake.vm(101).unwrap().config["name"], "staff-db");
}

#[tokio::test]
async fn suspend_unsuspend_and_power_actions_are_idempotent() {
    let fake = fake().await;
    let p = client(&fake);
    let h = created(&p).await;

    let suspending = p.suspend(&h).await.unwrap();
    assert!(matches!(suspending, Progress::Pending { .. }), "{suspending:?}");
    assert_eq!(settle(&p, suspending).await, OpState::Succeeded);
    let status = p.status(&h).await.unwrap();
    assert_eq!((status.power, status.suspended), (Power::Stopped, true));
    let config = fake.vm(101).unwrap().config;
    assert_eq!((config["onboot"].as_str(), config["tags"].as_str()), ("0", "suspended"));
    assert_eq!(p.suspend(&h).await.unwrap(), Progress::Done, "suspended twice");
    let shutdown = fake.requests().into_iter().find(|r| r.path.ends_with("/status/shutdown")).unwrap();
    assert_eq!((shutdown.form["forceStop"].as_str(), shutdown.form["timeout"].as_str()), ("1", "60"));

    assert_eq!(settle(&p, p.unsuspend(&h).await.unwrap()).await, OpState::Succeeded);
    let status = p.status(&h).await.unwrap();
    assert_eq!((status.power, status.suspended), (Power::Running, false));
    let config = fake.vm(101).unwrap().config;
    assert_eq!((config["onboot"].as_str(), config.contains_key("tags")), ("1", false));
    assert_eq!(p.unsuspend(&h).await.unwrap(), Progress::Done, "unsuspended twice");

    assert_eq!(p.power(&h, PowerAction::Start).await.unwrap(), Progress::Done, "already running");
    assert_eq!(settle(&p, p.power(&h, PowerAction::Reboot).await.unwrap()).await, OpState::Succeeded);
    assert_eq!(settle(&p, p.power(&h, PowerAction::Stop).await.unwrap()).await, OpState::Succeeded);
    assert!(!fake.vm(101).unwrap().running);
    assert_eq!(p.power(&h, PowerAction::Stop).await.unwrap(), Progress::Done, "already stopped");
    assert_eq!(p.power(&h, PowerAction::Shutdown).await.unwrap(), Progress::Done, "already stopped");
    // A stopped VM is started rather than rebooted (Proxmox refuses that).
    assert_eq!(settle(&p, p.power(&h, PowerAction::Reboot).await.unwrap()).await, OpState::Succeeded);
    assert!(fake.vm(101).unwrap().running);
    assert_eq!(settle(&p, p.power(&h, PowerAction::Shutdown).await.unwrap()).await, OpState::Succeeded);
    assert!(!fake.vm(101).unwrap().running);
}

#[tokio::test]
async fn terminate_stops_deletes_and_is_done_once_gone() {
    let fake = fake().await;
    let p = client(&fake);
    let h = created(&p).await;
    // Running: the first call stops it; the next deletes it; then it is gone.
    assert_eq!(settle(&p, p.terminate(&h).await.unwrap()).await, OpState::Succeeded);
    assert_eq!(vmids(&fake), [101, 9000], "stopped, not yet deleted");
    assert_eq!(settle(&p, p.terminate(&h).await.unwrap()).await, OpState::Succeeded);
    assert_eq!(vmids(&fake), [9000]);
    assert_eq!(p.terminate(&h).await.unwrap(), Progress::Done, "a missing VM is success");

    let delete = fake.requests().into_iter().find(|r| r.method == "DELETE").unwrap();
    assert_eq!(
        delete.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        ["destroy-unreferenced-disks=1", "purge=1"]
    );
    assert!(delete.form.is_empty(), "no body on DELETE");
    let missing = p.status(&h).await.unwrap_err();
    assert!(matches!(missing, ProvError::NotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn a_failed_task_fails_the_create_with_its_text_unless_a_redo_fixes_it() {
    let fake = fake().await;
    let p = client(&fake);
    fake.faults().fail_next_task("clone failed: no space left on device");
    let (error, stored) = drive(&p, &request(), Checkpoint::default()).await.unwrap_err();
    let ProvError::Invalid(text) = &error else { panic!("{error:?}") };
    assert!(text.contains("no space left on device"), "{text}");
    // Staff read the end of the task's log with the error.
    assert!(text.contains("--- task log ---\ncreate full clone of drive scsi0"), "{text}");
    assert!(text.ends_with("TASK ERROR: clone failed: no space left on device"), "{text}");
    assert_eq!(stored.step, "wait_clone");
    assert_eq!(vmids(&fake), [9000], "a failed clone leaves no VM");

    // A lock held by another task passes: the step that started the task is done again.
    let mut at = Checkpoint::default();
    while at.step != "start" {
        let CreateStep::Next { checkpoint, after } = p.create(&request(), &at).await.unwrap() else {
            panic!("done early")
        };
        at = checkpoint;
        tokio::time::sleep(after).await;
    }
    fake.faults().fail_next_task("VM is locked (backup)");
    let (handle, steps) = drive(&p, &request(), at).await.unwrap();
    assert_eq!(handle.remote_id, "101");
    assert_eq!(steps.iter().filter(|s| *s == "start").count(), 1, "back to start once: {steps:?}");
    assert!(fake.vm(101).unwrap().running);
}

#[tokio::test]
async fn refusals_are_classified() {
    let fake = fake().await;
    let p = client(&fake);
    let wrong = Proxmox::new(ProxmoxSettings { token_secret: "not-the-secret".into(), ..settings(&fake) }).unwrap();
    assert!(matches!(wrong.test_connection().await, Err(ProvError::Auth(_))));
    assert!(matches!(wrong.create(&request(), &Checkpoint::default()).await, Err(ProvError::Auth(_))));

    let bad_name = CreateRequest { hostname: "lc_42".into(), ..request() };
    let (error, _) = drive(&p, &bad_name, Checkpoint::default()).await.unwrap_err();
    let ProvError::Invalid(text) = &error else { panic!("{error:?}") };
    assert!(text.contains("HTTP 400") && text.contains("name: invalid format"), "{text}");
    let no_template = CreateRequest { target: "9001".into(), ..request() };
    assert!(matches!(drive(&p, &no_template, Checkpoint::default()).await, Err((ProvError::Invalid(_), _))));
    let too_small = CreateRequest { disk_gb: 1, ..request() };
    assert!(matches!(drive(&p, &too_small, Checkpoint::default()).await, Err((ProvError::Invalid(_), _))));
}

fn transient<T>(result: Result<T, ProvError>) -> bool {
    matches!(result, Err(ProvError::Transient(_)))
}

#[tokio::test]
async fn html_5xx_locks_and_hangs_are_transient() {
    let fake = fake().await;
    let p = Proxmox::new(ProxmoxSettings { timeout: Duration::from_secs(1), ..settings(&fake) }).unwrap();
    let h = created(&p).await;

    fake.faults().html_next();
    assert!(transient(p.status(&h).await));
    fake.faults().error_next(500, "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout");
    assert!(transient(p.status(&h).await));
    fake.faults().error_next(596, "Connection timed out");
    assert!(transient(p.find_by_key(KEY).await));
    fake.faults().locked_next("backup");
    assert!(transient(p.suspend(&h).await));
    fake.faults().hang_next();
    let started = Instant::now();
    assert!(transient(p.status(&h).await));
    assert!(started.elapsed() < Duration::from_secs(3), "the 1 s time-out: {:?}", started.elapsed());
    assert!(p.status(&h).await.is_ok(), "only the next request was hit");

    let gone = Proxmox::new(ProxmoxSettings { endpoint: "http://127.0.0.1:1".into(), ..settings(&fake) }).unwrap();
    assert!(matches!(gone.create(&request(), &Checkpoint::default()).await, Err(ProvError::Transient(_))));
}

#[tokio::test]
async fn ids_and_numbers_as_strings_are_accepted() {
    let fake = fake().await;
    fake.faults().ids_as_strings(true);
    let p = client(&fake);
    let h = created(&p).await;
    assert_eq!(p.find_by_key(KEY).await.unwrap(), Some(h.clone()));
    let status = p.status(&h).await.unwrap();
    assert_eq!((status.power, status.ips), (Power::Running, vec!["203.0.113.10".to_string()]));
    assert_eq!(settle(&p, p.suspend(&h).await.unwrap()).await, OpState::Succeeded);
    assert_eq!(p.suspend(&h).await.unwrap(), Progress::Done, "onboot \"0\" read as 0");
}

#[tokio::test]
async fn the_list_shows_every_vm_but_templates_from_one_call() {
    let fake = fake().await;
    let p = client(&fake);
    created(&p).await;
    fake.add_vm(200, &[("name", "db"), ("description", "made by staff")]);
    let vm = |remote_id: &str, name: &str| RemoteServer {
        remote_id: remote_id.into(),
        node: Some("pve".into()),
        name: name.into(),
        key: None,
    };
    let before = fake.requests().len();
    assert_eq!(p.list().await.unwrap(), [vm("101", "lc-42"), vm("200", "db")], "template 9000 left out");
    let sent = &fake.requests()[before..];
    assert_eq!(sent.len(), 1, "no config read per VM");
    assert_eq!(
        (sent[0].path.as_str(), sent[0].query.get("type").map(String::as_str)),
        ("/api2/json/cluster/resources", Some("vm"))
    );

    fake.faults().ids_as_strings(true);
    assert_eq!(p.list().await.unwrap(), [vm("101", "lc-42"), vm("200", "db")], "vmid and template as strings");
    fake.faults().ids_as_strings(false);

    // A clone in flight has no name yet; a VM removed by hand is gone from the list.
    fake.add_vm(102, &[("lock", "clone")]);
    assert!(fake.remove_vm(101));
    assert_eq!(p.list().await.unwrap(), [vm("102", ""), vm("200", "db")]);

    let wrong = Proxmox::new(ProxmoxSettings { token_secret: "not-the-secret".into(), ..settings(&fake) }).unwrap();
    assert!(matches!(wrong.list().await, Err(ProvError::Auth(_))));
    fake.faults().html_next();
    assert!(transient(p.list().await), "never an empty list for an answer that is not Proxmox's");
}

/// Who the customer is: none of it may reach Proxmox.
const CUSTOMER: [&str; 6] =
    ["A7K2P9", "zhang.san@example.com", "zhang.san", "13800138000", "张三", "110101190001010014"];

/// Every parameter name the module sends.
const PARAMS: [&str; 20] = [
    "newid",
    "name",
    "description",
    "full",
    "storage",
    "cores",
    "memory",
    "ciuser",
    "sshkeys",
    "cipassword",
    "ipconfig0",
    "net0",
    "onboot",
    "disk",
    "size",
    "type",
    "tags",
    "delete",
    "forceStop",
    "timeout",
];

#[tokio::test]
async fn clause_c3_5_proxmox_receives_only_the_service_s_own_parameters() {
    let fake = fake().await;
    let p = client(&fake);
    assert_eq!(
        (p.kind(), p.disclosed_fields()),
        ("proxmox", ["hostname", "plan", "os_image", "ssh_key_or_password", "ip_address"].as_slice())
    );
    let caps = p.capabilities();
    assert!(!caps.renew_upstream && caps.needs_reservations);

    let h = created(&p).await;
    let with_password = CreateRequest {
        vmid: Some(102),
        key: "svc-43".into(),
        hostname: "lc-43".into(),
        login: Login::Password("Gen3rated-pass".into()),
        ..request()
    };
    drive(&p, &with_password, Checkpoint::default()).await.unwrap();
    p.find_by_key(KEY).await.unwrap();
    p.status(&h).await.unwrap();
    settle(&p, p.suspend(&h).await.unwrap()).await;
    settle(&p, p.unsuspend(&h).await.unwrap()).await;

    let requests = fake.requests();
    assert!(requests.len() > 20);
    for r in &requests {
        for text in r.texts() {
            for personal in CUSTOMER {
                assert!(!text.contains(personal), "{personal:?} reached Proxmox: {} {}: {text}", r.method, r.path);
            }
        }
        assert!(r.query.keys().chain(r.form.keys()).all(|k| PARAMS.contains(&k.as_str())), "{r:?}");
        assert!(
            r.header_names
                .iter()
                .all(|h| ["accept", "authorization", "content-length", "content-type", "host"].contains(&h.as_str())),
            "{r:?}"
        );
        if let Some(name) = r.form.get("name") {
            assert!(name == "lc-42" || name == "lc-43", "{name}");
        }
        if let Some(description) = r.form.get("description") {
            assert!(description == "lantian:svc-42-create-1" || description == "lantian:svc-43", "{description}");
        }
    }
    let configures: Vec<_> = requests.iter().filter(|r| r.method == "PUT" && r.form.contains_key("cores")).collect();
    assert_eq!(configures.len(), 2);
    for c in configures {
        assert_eq!((c.form["cores"].as_str(), c.form["memory"].as_str()), ("2", "2048"), "the plan's values");
    }
}
