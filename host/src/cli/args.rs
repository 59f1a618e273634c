//! Command-line arguments (clap derive).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// phasehost runs a fail-closed, gated pipeline whose phases are sandboxed
/// WebAssembly components. Digests, ids and secrets are never typed on the
/// command line: they are read from files.
#[derive(Debug, Parser)]
#[command(
    name = "phasehost",
    version,
    about,
    long_about = None,
    after_help = crate::stop::StopCode::help_text()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load every plugin of a plan; exit 0 only if all would load.
    ///
    /// Checks each component's sha256 against the plan's pin and its imports
    /// against its grants, and prints the difference when they disagree.
    Check {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
        /// The operator's host config (TOML): where compiled components are
        /// cached (`[runtime] cache_dir`).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
    },
    /// Show, per plugin, what it is, imports, exports, is granted and runs under.
    Audit {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print JSON for machines instead of a table for people.
        #[arg(long)]
        json: bool,
        /// The operator's host config (TOML): where compiled components are
        /// cached (`[runtime] cache_dir`).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
    },
    /// Write the sha256 of each component into the plan (after reviewing them).
    Pin {
        /// The plan file (TOML); rewritten in place, formatting kept.
        plan: PathBuf,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List every gate predicate and where it runs.
    Gates {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
        /// The operator's host config (TOML): where compiled components are
        /// cached (`[runtime] cache_dir`).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
    },
    /// Run a plan on a source document. Dry-run unless --live.
    Run {
        /// The plan file (TOML).
        plan: PathBuf,
        /// The source document.
        #[arg(long)]
        source: PathBuf,
        /// Really write: also needs `execution.enabled = true` in the host
        /// config and no kill file.
        #[arg(long)]
        live: bool,
        /// The operator's host config (TOML): execution switch, kill file, compile cache.
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
        /// Your signing key file: signs the run's start (who started it);
        /// required when the plan sets `require_signed_start`.
        #[arg(long = "as", value_name = "KEY_FILE")]
        as_key: Option<PathBuf>,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run every document of a queue file with its plan (dry-run unless --live).
    ///
    /// The queue file (TOML) names the plan and `[[documents]] source = …`;
    /// a document id that appears twice is refused before anything runs.
    /// Each document's run pauses at its own gates.
    Batch {
        /// The queue file (TOML).
        queue: PathBuf,
        /// Really write (see `run --live`).
        #[arg(long)]
        live: bool,
        /// The operator's host config (TOML).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
        /// Your signing key file: signs the start of every run (see `run --as`).
        #[arg(long = "as", value_name = "KEY_FILE")]
        as_key: Option<PathBuf>,
        /// How many documents run at once (default: the cores this process
        /// may use). Each still pauses at its own gates.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: Option<u16>,
        /// Print one JSON line per document (for machines) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Claim documents from the plan's PostgreSQL queue and run them.
    ///
    /// Fill the queue with `phasehost batch <queue-file>` on a plan whose
    /// store is PostgreSQL. Run as many workers as you like, on any machine
    /// that shares the KB folder; each document is claimed by one worker at
    /// a time under a lease. A document paused at an approval waits in the
    /// queue; `phasehost approve` makes it claimable again.
    Worker {
        /// The plan file (TOML); its store must be PostgreSQL.
        plan: PathBuf,
        /// Really write (see `run --live`). Required: a worker marks what it
        /// runs as done in the shared queue, so it does not dry-run.
        #[arg(long)]
        live: bool,
        /// The operator's host config (TOML).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
        /// Seconds a claim lasts without renewal (renewed every third).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=604_800))]
        lease_secs: u64,
        /// Milliseconds to wait before looking again when nothing is claimable.
        #[arg(long, default_value_t = 1000)]
        poll_ms: u64,
        /// Exit once nothing is claimable and no other worker holds a claim
        /// (documents waiting for an approval stay queued).
        #[arg(long)]
        until_idle: bool,
        /// Your signing key file: signs the start and every resume of the
        /// runs this worker drives (see `run --as`).
        #[arg(long = "as", value_name = "KEY_FILE")]
        as_key: Option<PathBuf>,
        /// Print one JSON line per processed document (for machines).
        #[arg(long)]
        json: bool,
    },
    /// Show the plan's PostgreSQL queue: counts, and what each document waits for.
    Queue {
        /// The plan file (TOML); its store must be PostgreSQL.
        plan: PathBuf,
        /// Print JSON for machines instead of a table for people.
        #[arg(long)]
        json: bool,
    },
    /// Continue a paused run, after checking that nothing drifted.
    ///
    /// The plan and host config come from this command line, as at start,
    /// never from the run folder: the plan must be the one the run started
    /// with (another plan is drift), and the host config is read afresh.
    Resume {
        /// The run folder (`<kb>/runs/<run>`).
        run_folder: PathBuf,
        /// The plan file the run started with.
        #[arg(long, env = "PHASEHOST_PLAN")]
        plan: PathBuf,
        /// The operator's host config (TOML): execution switch, kill file, compile cache.
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
        /// Your signing key file: records who resumed the run.
        #[arg(long = "as", value_name = "KEY_FILE")]
        as_key: Option<PathBuf>,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show what an approval gate approves, from the run's evidence.
    ///
    /// Prints the review and writes it to `review/<gate>.md` in the run
    /// folder; `approve` signs its sha256 with the approval.
    Review {
        /// The run folder (`<kb>/runs/<run>`).
        run_folder: PathBuf,
        /// The plan file the run started with.
        #[arg(long, env = "PHASEHOST_PLAN")]
        plan: PathBuf,
        /// Which gate, by its name in the plan's `[[approvals.gates]]`
        /// (default: the one the run waits at).
        #[arg(long, value_parser = parse_gate)]
        gate: Option<GateArg>,
        /// Print JSON (the review text and its sha256) for machines.
        #[arg(long)]
        json: bool,
    },
    /// Sign an approval for the gate a run is paused at.
    ///
    /// `approve` first checks everything `resume` would (trusted key, the
    /// digest the evidence holds, the gate's separation of duties), prints
    /// the review (see `review`) and signs its sha256 with the approval.
    Approve {
        /// The run folder (`<kb>/runs/<run>`).
        run_folder: PathBuf,
        /// Which gate, by its name in the plan's `[[approvals.gates]]`
        /// (iu-cut: `sg1`, `sg2`).
        #[arg(long, value_parser = parse_gate)]
        gate: GateArg,
        /// Your signing key file (made by `phasehost keygen`); its public
        /// key must be among the plan's trusted keys.
        #[arg(long)]
        key: PathBuf,
        /// The plan file the run started with.
        #[arg(long, env = "PHASEHOST_PLAN")]
        plan: PathBuf,
        /// Sign without asking (the review is printed first; on a terminal
        /// `approve` asks for confirmation unless this is given).
        #[arg(long)]
        yes: bool,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show where a run is and what to do next.
    Status {
        /// The run folder (`<kb>/runs/<run>`).
        run_folder: PathBuf,
        /// The plan file: approval files are then checked against its
        /// trusted keys.
        #[arg(long, env = "PHASEHOST_PLAN")]
        plan: Option<PathBuf>,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a self-contained HTML report of a run folder.
    ///
    /// One page, no script, nothing loaded from elsewhere (inline CSS and
    /// SVG): the outcome, a timeline of the phases with their durations, every
    /// gate predicate checked, the approvals (who, when, how long the gate
    /// waited), the reviews the approvers saw, the stop and the plugins'
    /// sha256s. Default `<run-folder>/report.html`; an existing file is
    /// refused unless --force, and the page is written to a temp file in the
    /// same folder and renamed into place.
    Report {
        /// The run folder (`<kb>/runs/<run>`).
        run_folder: PathBuf,
        /// Where to write the page (default `<run-folder>/report.html`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        /// Print one JSON object (`path`, `bytes`, `sha256`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain of the store's runs index.
    ///
    /// Exits 0 when every entry chains to the one before;
    /// `invariant-failed` naming the first broken link (seq, run id) when not.
    VerifyIndex {
        /// The plan file (TOML): its store.
        plan: PathBuf,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the runs of a KB: document, version, mode, status and age.
    Runs {
        /// The KB folder, or a plan file (its `[kb]`; also used in the
        /// next commands shown).
        target: PathBuf,
        /// Only the runs paused at a gate, with the command to type next.
        #[arg(long)]
        waiting: bool,
        /// Print JSON (an array of runs) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// For the store's owner: create or migrate the store's schema.
    ///
    /// Prints the schema version before and after; running it again
    /// changes nothing.
    Migrate {
        /// The plan file (TOML): its store.
        plan: PathBuf,
    },
    /// Write one version of a document of the store as Akoma Ntoso 3.0 XML
    /// or JSON (see docs/EXPORT.md).
    ///
    /// The store's rows are checked first (each text's sha256 against its
    /// `text_sha`, characters XML cannot carry, the tree); a refusal writes
    /// nothing. `--out` must not exist: an export never overwrites a file.
    Export {
        /// The plan file (TOML): its store.
        #[arg(long, env = "PHASEHOST_PLAN")]
        plan: PathBuf,
        /// The document id (the source file's stem, e.g. `hien-phap`).
        #[arg(long)]
        document: String,
        /// The version label (default: the version in force).
        #[arg(long)]
        version: Option<String>,
        /// `akn` (Akoma Ntoso 3.0 XML) or `json`.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The file to write; it must not exist.
        #[arg(long)]
        out: PathBuf,
        /// The work's date, YYYY-MM-DD (default: the first "ngày D tháng M
        /// năm YYYY" of the preamble, else of the closing).
        #[arg(long)]
        work_date: Option<String>,
        /// The operator's host config (TOML).
        #[arg(long, env = "PHASEHOST_CONFIG")]
        host_config: Option<PathBuf>,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make an Ed25519 key pair for signing approvals.
    Keygen {
        /// Folder to write `<name>.key` (private, mode 0600) and `<name>.pub`.
        #[arg(long)]
        out: PathBuf,
        /// Who holds the key, e.g. "Full Name <email>": recorded in both
        /// files and shown wherever the key signs.
        #[arg(long)]
        name: Option<String>,
        /// File name stem (default: from the name, else `approver`).
        #[arg(long)]
        file: Option<String>,
        /// Print one JSON object on stdout (for scripts) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The format of `phasehost export`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// Akoma Ntoso 3.0 XML.
    Akn,
    /// JSON (`phasehost-export/v1`).
    Json,
}

/// An approval gate, by the name the plan gives it; whether the plan has it
/// is checked when the plan is loaded.
pub type GateArg = phasehost_policy::approval::Gate;

fn parse_gate(name: &str) -> Result<GateArg, String> {
    GateArg::new(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        let table: &[(&[&str], &str)] = &[
            (&["phasehost", "check", "p.toml"], "Check"),
            (&["phasehost", "audit", "p.toml", "--json"], "Audit"),
            (&["phasehost", "pin", "p.toml"], "Pin"),
            (&["phasehost", "gates", "p.toml"], "Gates"),
            (
                &["phasehost", "check", "p.toml", "--host-config", "h.toml"],
                "Check",
            ),
            (&["phasehost", "run", "p.toml", "--source", "a.txt"], "Run"),
            (
                &["phasehost", "resume", "kb/runs/x", "--plan", "p.toml"],
                "Resume",
            ),
            (&["phasehost", "batch", "queue.toml", "--json"], "Batch"),
            (
                &["phasehost", "worker", "p.toml", "--live", "--until-idle"],
                "Worker",
            ),
            (&["phasehost", "queue", "p.toml"], "Queue"),
            (
                &[
                    "phasehost",
                    "approve",
                    "kb/runs/x",
                    "--gate",
                    "sg2",
                    "--key",
                    "k.key",
                    "--plan",
                    "p.toml",
                ],
                "Approve",
            ),
            (&["phasehost", "status", "kb/runs/x"], "Status"),
            (
                &["phasehost", "report", "kb/runs/x", "--out", "r.html"],
                "Report",
            ),
            (&["phasehost", "keygen", "--out", "keys"], "Keygen"),
            (&["phasehost", "verify-index", "p.toml"], "VerifyIndex"),
            (&["phasehost", "runs", "kb", "--waiting", "--json"], "Runs"),
            (&["phasehost", "migrate", "p.toml"], "Migrate"),
            (
                &[
                    "phasehost",
                    "export",
                    "--plan",
                    "p.toml",
                    "--document",
                    "hien-phap",
                    "--format",
                    "akn",
                    "--out",
                    "out.xml",
                ],
                "Export",
            ),
        ];
        for (args, want) in table {
            let cli = Cli::try_parse_from(*args).unwrap();
            assert!(format!("{:?}", cli.command).starts_with(want), "{args:?}");
        }
    }

    #[test]
    fn resume_and_approve_take_the_plan_from_the_operator() {
        // SAFETY-relevant: without --plan (or PHASEHOST_PLAN) there is no
        // plan to resume with; the run folder never names one.
        if std::env::var_os("PHASEHOST_PLAN").is_none() {
            assert!(Cli::try_parse_from(["phasehost", "resume", "kb/runs/x"]).is_err());
            assert!(
                Cli::try_parse_from(["phasehost", "approve", "r", "--gate", "sg1", "--key", "k"])
                    .is_err()
            );
        }
    }

    #[test]
    fn a_zero_lease_is_refused() {
        assert!(
            Cli::try_parse_from(["phasehost", "worker", "p.toml", "--lease-secs", "0"]).is_err()
        );
    }

    #[test]
    fn run_needs_a_source() {
        assert!(Cli::try_parse_from(["phasehost", "run", "p.toml"]).is_err());
    }

    #[test]
    fn approve_needs_a_known_gate_and_a_key() {
        assert!(
            Cli::try_parse_from(["phasehost", "approve", "r", "--gate", "sg3", "--key", "k"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["phasehost", "approve", "r", "--gate", "sg1"]).is_err());
    }
}
