//! Helpers: plans written to temp folders with real pins, run services, the
//! repository's data.

use phasehost::plan::{Plan, load_plan};
use phasehost::runtime::state::{AllowAll, OutboundScanner, RunServices};
use phasehost::runtime::{PhaseInput, PhaseRun, Runtime};
use phasehost::store::Scope;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tempfile::TempDir;

/// The `phasehost` binary, without `PHASEHOST_PLAN` and `PHASEHOST_CONFIG`
/// from the environment, so the test's command line alone decides.
pub fn phasehost_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phasehost"));
    command
        .env_remove("PHASEHOST_PLAN")
        .env_remove("PHASEHOST_CONFIG");
    command
}

/// Run `command` to its end: (exit status, -1 if killed; stdout; stderr).
pub fn output_of(command: &mut Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `phasehost <args>`: (exit status, stdout, stderr).
pub fn phasehost(args: &[&str]) -> (i32, String, String) {
    output_of(phasehost_command().args(args))
}

/// `phasehost <args>`: (exit status, stdout then stderr), for tests that
/// look for a message wherever it is printed.
pub fn phasehost_merged(args: &[&str]) -> (i32, String) {
    let (code, out, err) = phasehost(args);
    (code, out + &err)
}

/// sha256 (hex) of a file.
pub fn sha256_file(path: &str) -> String {
    hex::encode(Sha256::digest(
        std::fs::read(path).expect("component exists"),
    ))
}

/// A file of the bundled corpus.
pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/vlc")
        .join(name)
}

/// The compile cache shared by the tests (safe for concurrent use): made
/// private (mode 0700), as the host refuses a folder others may write.
pub fn shared_cache() -> PathBuf {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("phasehost-cache");
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    // A folder left by an older build under a umask of 002 would be refused.
    if std::fs::metadata(&dir).is_ok_and(|m| m.permissions().mode() & 0o022 != 0) {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    dir
}

/// Host-config lines that put the compile cache in the tests' shared folder
/// (the cache folder is the operator's, never the plan's).
pub fn host_config_runtime() -> String {
    format!(
        "[runtime]\ncache_dir = {:?}\n",
        shared_cache().display().to_string()
    )
}

/// The files a live test run needs in `dir`: an approver's key pair
/// (`keys/approver.key` and its public half) and a host config that enables
/// live runs with the shared compile cache. Returns (approver key, host config).
pub fn live_run_files(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    phasehost_policy::approval::write_key_files(&keys, "approver").unwrap();
    let host_config = dir.join("host.toml");
    std::fs::write(
        &host_config,
        format!("[execution]\nenabled = true\n\n{}", host_config_runtime()),
    )
    .unwrap();
    (keys.join("approver.key"), host_config)
}

/// One `[[phases]]` entry.
pub struct PhaseDef<'a> {
    pub name: &'a str,
    pub component: &'a str,
    /// Lines under `[phases.grants]`.
    pub grants: &'a str,
    /// Lines under `[phases.config]`.
    pub config: &'a str,
    /// Lines under `[phases.limits]`.
    pub limits: &'a str,
    /// Phase-level lines (e.g. `on_denied = "record"`).
    pub head: &'a str,
}

impl<'a> PhaseDef<'a> {
    pub fn new(name: &'a str, component: &'a str) -> Self {
        Self {
            name,
            component,
            grants: "",
            config: "",
            limits: "",
            head: "",
        }
    }
    pub fn head(mut self, head: &'a str) -> Self {
        self.head = head;
        self
    }
    pub fn grants(mut self, grants: &'a str) -> Self {
        self.grants = grants;
        self
    }
    pub fn config(mut self, config: &'a str) -> Self {
        self.config = config;
        self
    }
    pub fn limits(mut self, limits: &'a str) -> Self {
        self.limits = limits;
        self
    }
}

/// A plan file in its own temp folder.
pub struct TestPlan {
    pub dir: TempDir,
    pub path: PathBuf,
}

impl TestPlan {
    /// Write a plan with `gates` (name, component) and `phases`, pinned to
    /// the components' real digests; `extra` is appended to the header.
    pub fn write(gates: &[(&str, &str)], phases: &[PhaseDef], extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!(
            "[plan]\nname = \"test\"\nplugin_set = \"test\"\n\n[kb]\npath = \"kb\"\n\n{extra}\n"
        );
        for (name, component) in gates {
            writeln!(
                text,
                "[[gates]]\nname = \"{name}\"\ncomponent = {component:?}\nsha256 = \"{}\"\n{}",
                sha256_file(component),
                allow_unbound(component, phases)
            )
            .unwrap();
        }
        for p in phases {
            writeln!(
                text,
                "[[phases]]\nname = \"{}\"\ncomponent = {:?}\nsha256 = \"{}\"\n{}\n[phases.grants]\n{}\n[phases.config]\n{}\n[phases.limits]\n{}\n",
                p.name,
                p.component,
                sha256_file(p.component),
                p.head,
                p.grants,
                p.config,
                p.limits
            )
            .unwrap();
        }
        let path = dir.path().join("plan.toml");
        std::fs::write(&path, text).unwrap();
        Self { dir, path }
    }

    pub fn load(&self) -> Plan {
        load_plan(&self.path).unwrap()
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }

    pub fn rewrite(&self, f: impl FnOnce(String) -> String) {
        std::fs::write(&self.path, f(self.text())).unwrap();
    }
}

/// `allow_unbound = [...]` naming each predicate of the gate plugin
/// `component` whose phase is not among `phases` (a test plan uses a few
/// phases of a gate plugin made for more), found by loading the plugin.
fn allow_unbound(component: &str, phases: &[PhaseDef]) -> String {
    let plan = phasehost::plan::parse_plan(
        &format!(
            "[plan]\nname = \"probe\"\nplugin_set = \"test\"\n[[gates]]\nname = \"g\"\ncomponent = {component:?}\nsha256 = \"{}\"\n[[phases]]\nname = \"p\"\ncomponent = \"p.wasm\"\n",
            sha256_file(component)
        ),
        Path::new("/probe.toml"),
    )
    .unwrap();
    let Ok(gate) = runtime().load_gate(&plan, &plan.gates[0]) else {
        return String::new(); // a plugin refused at load: the test is about that
    };
    let unbound: Vec<String> = gate
        .predicates()
        .iter()
        .filter(|p| !phases.iter().any(|d| d.name == p.phase))
        .map(|p| format!("{:?}", p.name))
        .collect();
    format!("allow_unbound = [{}]\n", unbound.join(", "))
}

/// A scanner that accepts everything (for tests of other properties).
pub struct NoScan;
impl OutboundScanner for NoScan {
    fn scan(&self, _text: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The grants source_pin needs.
pub const SOURCE_PIN_GRANTS: &str =
    "source = true\nlog = true\nstore = { source_versions = \"r\" }";

/// A plan of the one phase source_pin, granted `grants`, with the iu-gates
/// gate plugin that binds the predicates its descriptor declares.
pub fn source_pin_plan(grants: &str) -> TestPlan {
    TestPlan::write(
        &[("iu-gates", phasehost_test_artifacts::IU_GATES_COMPONENT)],
        &[
            PhaseDef::new("source_pin", phasehost_test_artifacts::SOURCE_PIN_COMPONENT)
                .grants(grants),
        ],
        "",
    )
}

/// A fresh SQLite store in `dir`, with a transaction open.
pub fn sqlite_store(dir: &Path) -> phasehost::runtime::state::SharedStore {
    let mut store = phasehost_store::open(&phasehost_store::StoreSpec::Sqlite(
        dir.join("store.sqlite"),
    ))
    .unwrap();
    store.begin().unwrap();
    Arc::new(std::sync::Mutex::new(store))
}

/// Services with an optional source and no store.
pub fn services(run_id: &str, source: Option<Vec<u8>>) -> RunServices {
    RunServices {
        run_id: run_id.into(),
        source: source.map(Arc::from),
        store: None,
        scope: Scope {
            document_id: "doc".into(),
        },
        artifacts_dir: None,
        artifacts_durability: phasehost::fsutil::Durability::Immediate,
        guard: Arc::new(AllowAll),
        scanner: Arc::new(NoScan),
    }
}

/// The input of a phase with `config` (JSON text).
pub fn input(run_id: &str, config: &str) -> PhaseInput {
    PhaseInput {
        run_id: run_id.into(),
        document_id: "doc".into(),
        version: "v1".into(),
        dry_run: true,
        config: config.into(),
        evidence: Vec::new(),
    }
}

/// A runtime on the shared cache.
pub fn runtime() -> Runtime {
    Runtime::new(&shared_cache()).unwrap()
}

/// Load phase `name` of `plan` and run it once.
pub fn run_phase(plan: &Plan, name: &str, services: &RunServices, config: &str) -> PhaseRun {
    let runtime = runtime();
    let phase = runtime
        .load_phase(plan, plan.phase(name).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    phase.run(runtime.engine(), services, &input(&services.run_id, config))
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn grep_tree(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(needle) {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

/// Every file under `dir` (symlinks not followed) with its bytes: compare
/// two snapshots to show nothing under `dir` was written.
pub fn tree_snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path, bytes);
            } else {
                files.insert(path, Vec::new());
            }
        }
    }
    files
}

/// `phasehost approve` through the library: the plan is the operator's.
pub fn approve(
    folder: &Path,
    gate: phasehost_policy::approval::Gate,
    key: &Path,
    plan: &Path,
) -> Result<phasehost::run::Approved, phasehost::Stop> {
    phasehost::run::approve(&phasehost::run::ApproveRequest {
        run_folder: folder.to_path_buf(),
        gate,
        key_file: key.to_path_buf(),
        plan: plan.to_path_buf(),
    })
}

/// `phasehost resume` through the library: plan and host config are the
/// operator's, never the run folder's.
pub fn resume(
    folder: &Path,
    plan: &Path,
    host_config: &Path,
) -> Result<phasehost::run::RunReport, phasehost::Stop> {
    phasehost::run::resume(&phasehost::run::ResumeRequest {
        run_folder: folder.to_path_buf(),
        plan: plan.to_path_buf(),
        host_config: Some(host_config.to_path_buf()),
        as_key: None,
    })
}

/// Where `key`'s approval of `gate` lives in a run folder
/// (`approvals/<gate>/<key id>.json`); the gate's folder is created.
pub fn approval_file(folder: &Path, gate: &str, key: &Path) -> PathBuf {
    let id = phasehost_policy::approval::load_signing_key(key)
        .unwrap()
        .key_id();
    let dir = folder.join("approvals").join(gate);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{id}.json"))
}

/// The test plans' first approval gate (`sg1`, iu-cut's SG_1).
pub fn sg1() -> phasehost_policy::approval::Gate {
    phasehost_policy::approval::Gate::new("sg1").expect("gate name")
}

/// The test plans' second approval gate (`sg2`, iu-cut's SG_2).
pub fn sg2() -> phasehost_policy::approval::Gate {
    phasehost_policy::approval::Gate::new("sg2").expect("gate name")
}
