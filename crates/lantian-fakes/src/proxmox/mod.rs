//! A fake of the Proxmox VE REST API (research `provisioning-upstreams.md` §1, §5), one node,
//! under `/api2/json` relative to [`ProxmoxFake::base_url`]:
//!
//! - Auth: `Authorization: PVEAPIToken=<id>=<secret>` (or a space after `PVEAPIToken`); 401
//!   otherwise (without Proxmox's 3 s delay on refusals).
//! - Answers `{"data": …}`; errors `{"data":null,"message":"…"}` with the status, plus
//!   `errors` on a 400 ([`reply`]). Unknown paths 501; a body on GET or DELETE 501.
//! - `GET /version`, `GET /cluster/resources?type=vm`, `GET /nodes/{node}/qemu`,
//!   `POST …/qemu/{id}/clone`, `GET|PUT …/config`, `PUT …/resize`, `GET …/status/current`,
//!   `POST …/status/{start,stop,shutdown,reboot}`, `DELETE …/qemu/{id}`,
//!   `GET /nodes/{node}/tasks/{upid}/status`. Parameters come as a form body or, for GET and
//!   DELETE, in the query string (JSON bodies are not read).
//! - Tasks run for [`ProxmoxFakeSettings::task_duration`] by the fake's clock, then stop with
//!   `OK` or an error text. While a clone runs, its VM's config is only `lock: clone`: PUT
//!   config answers 500 "VM is locked (clone)" and start gets a task that fails. A clone to an
//!   existing id is 500 "…config file already exists"; a start of a running VM fails its task;
//!   a stop of a stopped one is OK; a DELETE of a running VM is 500; a missing VM is 500
//!   "Configuration file … does not exist".
//!
//! Every request is recorded ([`ProxmoxFake::requests`]); [`ProxmoxFaults`] makes requests
//! hang, fail, get dropped after being carried out, or tasks fail. It is **plain HTTP on
//! loopback only**.

mod cluster;
mod faults;
mod qemu;
mod reply;
mod routes;
mod schema;
mod store;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::harness::{self, NowMs, Running};
use cluster::{Cluster, Ctx};
use reply::PveError;
use schema::Params;
use store::Store;

pub use cluster::{Config, FakeVm};
pub use faults::ProxmoxFaults;
pub use store::ReceivedProxmoxRequest;

/// How the fake is started.
#[derive(Clone)]
pub struct ProxmoxFakeSettings {
    /// Port on 127.0.0.1; `0` picks a free port.
    pub port: u16,
    /// The clock tasks run by.
    pub now: NowMs,
    /// The one API token accepted.
    pub token_id: String,
    pub token_secret: String,
    /// The node's name.
    pub node: String,
    /// The templates on the node (cloud-init ready, a 2 GiB `scsi0`).
    pub templates: Vec<u32>,
    /// How long every task runs.
    pub task_duration: Duration,
}

impl Default for ProxmoxFakeSettings {
    fn default() -> Self {
        ProxmoxFakeSettings {
            port: 0,
            now: harness::system_now(),
            token_id: "lantian@pve!provision".to_owned(),
            token_secret: "5f0c6a4e-2b1d-4c8e-9a7f-3e6d2c1b0a99".to_owned(),
            node: "pve".to_owned(),
            templates: vec![9000],
            task_duration: Duration::from_millis(50),
        }
    }
}

/// State shared by the handlers and the [`ProxmoxFake`] handle.
struct Shared {
    cluster: Mutex<Cluster>,
    store: Mutex<Store>,
    faults: ProxmoxFaults,
    now: NowMs,
    token_id: String,
    /// `<id>=<secret>`, as the header carries it.
    token: String,
    /// Cancelled when the fake stops, ending hung requests.
    stop: CancellationToken,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that matters
    // to a fake; keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The cluster with its due tasks ended.
    fn cluster(&self) -> MutexGuard<'_, Cluster> {
        let mut cluster = lock(&self.cluster);
        cluster.settle((self.now)());
        cluster
    }

    fn record(&self, method: &Method, path: &str, headers: &HeaderMap, query: &Params, form: &Params) {
        let mut header_names: Vec<String> = headers.keys().map(|name| name.as_str().to_owned()).collect();
        header_names.sort_unstable();
        header_names.dedup();
        lock(&self.store).record(ReceivedProxmoxRequest {
            method: method.to_string(),
            path: path.to_owned(),
            query: query.clone(),
            form: form.clone(),
            header_names,
            received_at_ms: (self.now)(),
        });
    }

    /// `PVEAPIToken` then `=` or a space, the value up to the next `;`.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let token = value.strip_prefix("PVEAPIToken").and_then(|rest| rest.strip_prefix(['=', ' ']));
        token.map(|t| t.split(';').next().unwrap_or("").trim()) == Some(self.token.as_str())
    }

    /// Runs `op` on the cluster, on `node` when the path names one, and answers.
    fn run(&self, node: Option<&str>, op: impl FnOnce(&mut Cluster, &Ctx<'_>) -> Result<Value, PveError>) -> Response {
        let mut cluster = self.cluster();
        let ctx = Ctx { now_ms: (self.now)(), user: &self.token_id, faults: &self.faults };
        let result = node.map_or(Ok(()), |node| cluster.on_node(node)).and_then(|()| op(&mut cluster, &ctx));
        reply::answer(result, self.faults.strings())
    }

    /// Holds a hung request until the fake stops (or an hour has passed).
    async fn hang(&self) {
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// A running Proxmox fake. Dropping it stops the server.
pub struct ProxmoxFake {
    shared: Arc<Shared>,
    server: Running,
    _stop: DropGuard,
}

impl ProxmoxFake {
    /// Binds the port on 127.0.0.1 and starts serving.
    pub async fn start(settings: ProxmoxFakeSettings) -> io::Result<ProxmoxFake> {
        let task_ms = i64::try_from(settings.task_duration.as_millis()).unwrap_or(i64::MAX);
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            cluster: Mutex::new(Cluster::new(&settings.node, &settings.templates, task_ms)),
            store: Mutex::new(Store::default()),
            faults: ProxmoxFaults::default(),
            now: settings.now,
            token: format!("{}={}", settings.token_id, settings.token_secret),
            token_id: settings.token_id,
            stop: stop.clone(),
        });
        // Hang-up capable, for `drop_after_accept_next`.
        let server = harness::serve_router_with_hang_up(settings.port, routes::router(Arc::clone(&shared))).await?;
        tracing::info!(addr = %server.addr(), "Proxmox VE fake started");
        Ok(ProxmoxFake { shared, server, _stop: stop.drop_guard() })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint to configure a client with: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request received, oldest first (the newest 1000 are kept), refused and faulted
    /// ones included.
    pub fn requests(&self) -> Vec<ReceivedProxmoxRequest> {
        lock(&self.shared.store).requests()
    }

    /// The VMs now (templates included), by vmid, with the tasks due by now ended.
    pub fn vms(&self) -> Vec<FakeVm> {
        self.shared.cluster().snapshot()
    }

    pub fn vm(&self, vmid: u32) -> Option<FakeVm> {
        self.vms().into_iter().find(|vm| vm.vmid == vmid)
    }

    /// Puts a stopped VM with `config` at `vmid`, as staff or another tool would (replacing
    /// any VM there).
    pub fn add_vm(&self, vmid: u32, config: &[(&str, &str)]) {
        let config = config.iter().map(|&(k, v)| (k.to_owned(), v.to_owned())).collect();
        self.shared.cluster().insert(vmid, config);
    }

    /// Removes the VM at `vmid` at once, as staff deleting it by hand would; false when there
    /// was none.
    pub fn remove_vm(&self, vmid: u32) -> bool {
        self.shared.cluster().vms.remove(&vmid).is_some()
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &ProxmoxFaults {
        &self.shared.faults
    }

    /// Ends hung requests, stops the server and waits until it has stopped.
    pub async fn shutdown(self) {
        let ProxmoxFake { shared: _, server, _stop: stop } = self;
        drop(stop);
        server.shutdown().await;
    }
}
