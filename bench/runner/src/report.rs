//! The catalogue of benchmarks, the medians criterion wrote for each pass,
//! and the report: a Markdown table of medians and ratios, the targets, and
//! an SVG of the per-call costs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How a benchmark's median is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds per call.
    Nanos,
    /// Microseconds per load.
    Micros,
    /// Milliseconds per batch.
    Millis,
}

impl Unit {
    fn show(self, nanos: f64) -> String {
        match self {
            Unit::Nanos if nanos < 10.0 => format!("{nanos:.2} ns"),
            Unit::Nanos => format!("{nanos:.1} ns"),
            Unit::Micros => format!("{:.1} µs", nanos / 1e3),
            Unit::Millis => format!("{:.1} ms", nanos / 1e6),
        }
    }
}

/// One benchmark: criterion's group and function id, what it measures, and
/// the benchmark of the same group its ratio is taken against.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Criterion group.
    pub group: &'static str,
    /// Criterion function id.
    pub id: &'static str,
    /// What the row measures.
    pub label: &'static str,
    /// The id, in the same group, of the reference for the ratio.
    pub reference: Option<&'static str>,
    /// How to show the median.
    pub unit: Unit,
}

impl Entry {
    /// `group/id`, the key of a pass in [`Results::passes`].
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.id)
    }
}

const fn call(group: &'static str, id: &'static str, label: &'static str) -> Entry {
    Entry {
        group,
        id,
        label,
        reference: Some("baseline"),
        unit: Unit::Nanos,
    }
}

/// The approaches of the per-call table, as (id, label), in row order.
pub const APPROACHES: [(&str, &str); 12] = [
    ("baseline", "baseline: host `&dyn Trait`"),
    ("c_abi", "hand-written C ABI (greeting as ptr/len/cap)"),
    (
        "c_abi_string",
        "hand-written C ABI, greeting copied into a host `String`",
    ),
    ("abi_stable", "abi_stable 0.11 `#[sabi_trait]` (`RString`)"),
    (
        "abi_stable_string",
        "abi_stable 0.11, greeting converted into a host `String`",
    ),
    ("stabby", "stabby 72 `dynptr!` (`stabby::string::String`)"),
    ("ours", "ours, `allocator = own`: proxy (greeting copied)"),
    (
        "ours_try",
        "ours, `allocator = own`: the proxy's `try_` method",
    ),
    (
        "ours_manager",
        "ours, `allocator = own`: proxy from a `PluginManager` (follows reloads)",
    ),
    (
        "ours_inline_slot",
        "ours' shims called directly, without the proxy (not an API)",
    ),
    (
        "ours_shared",
        "ours by default (the host's allocator): proxy (greeting adopted)",
    ),
    (
        "ours_shared_manager",
        "ours by default (the host's allocator): `PluginManager` proxy",
    ),
];

/// The methods of the per-call table.
pub const METHODS: [&str; 3] = ["add", "greet", "sum"];

/// Every benchmark of the suite.
pub fn catalogue() -> Vec<Entry> {
    let mut entries = Vec::new();
    for method in METHODS {
        for (id, label) in APPROACHES {
            if (id == "c_abi_string" || id == "abi_stable_string") && method != "greet" {
                continue;
            }
            entries.push(call(method, id, label));
        }
    }
    for (approach, label) in [
        ("baseline", "baseline `&dyn`"),
        ("c_abi", "C ABI"),
        ("ours", "ours"),
        ("ours_manager", "ours: `PluginManager` proxy"),
    ] {
        for method in ["add", "greet"] {
            for threads in ["1t", "2t"] {
                let id = leak(format!("{approach}_{method}_{threads}"));
                entries.push(Entry {
                    group: "threads",
                    id,
                    label,
                    reference: None,
                    unit: Unit::Nanos,
                });
            }
        }
    }
    let load = |id, label, reference| Entry {
        group: "load",
        id,
        label,
        reference,
        unit: Unit::Micros,
    };
    entries.extend([
        load("ours_bare", "bare `dlopen`+`dlsym` of ours' file", None),
        load(
            "ours_open",
            "ours: `PluginLibrary::open` (canary read and checked)",
            Some("ours_bare"),
        ),
        load(
            "ours_open_instantiate",
            "ours: `open` + `instantiate` (one proxy)",
            Some("ours_bare"),
        ),
        load(
            "ours_load_plugins",
            "ours: `load_plugins(file)` (one proxy)",
            Some("ours_bare"),
        ),
        load(
            "c_abi_bare",
            "bare `dlopen`+`dlsym` of the C-ABI file",
            None,
        ),
        load(
            "c_abi",
            "C ABI: `dlopen`+`dlsym`+make (no check)",
            Some("c_abi_bare"),
        ),
        load(
            "stabby_bare",
            "bare `dlopen`+`dlsym` of stabby's file",
            None,
        ),
        load(
            "stabby",
            "stabby: `dlopen`+`get_stabbied`+make",
            Some("stabby_bare"),
        ),
        load(
            "abi_stable_bare",
            "bare `dlopen`+`dlsym` of abi_stable's file",
            None,
        ),
        load(
            "abi_stable",
            "abi_stable: `lib_header_from_path`+`init_root_module`+make",
            Some("abi_stable_bare"),
        ),
    ]);
    entries.extend([
        Entry {
            group: "load_1000",
            id: "bare_loop",
            label: "bare loop: `read_dir` + `dlopen`+`dlsym` per file",
            reference: None,
            unit: Unit::Millis,
        },
        Entry {
            group: "load_1000",
            id: "ours_load_plugins",
            label: "ours: `load_plugins(dir)` (1,000 proxies)",
            reference: Some("bare_loop"),
            unit: Unit::Millis,
        },
    ]);
    entries
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The machine a run happened on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// `nproc`.
    pub cpus: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `/proc/loadavg` before the run.
    pub load_before: String,
    /// `/proc/loadavg` after the run.
    pub load_after: String,
}

impl Machine {
    /// Reads what it can of this machine.
    pub fn probe() -> Self {
        let cpu_model = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let rustc = std::process::Command::new(std::env::var_os("RUSTC").unwrap_or("rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            rustc,
            load_before: loadavg(),
            load_after: String::new(),
        }
    }
}

/// `/proc/loadavg`, trimmed.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| text.trim().to_owned())
        .unwrap_or_default()
}

/// Every pass's median of every benchmark, and the memory table.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Where and with what the run happened.
    pub machine: Machine,
    /// Per pass, `group/id` → criterion's median of that pass, in ns.
    pub passes: Vec<BTreeMap<String, f64>>,
    /// What `examples/memory.rs` printed, if it ran.
    pub memory: Option<serde_json::Value>,
}

impl Results {
    /// Reads the medians criterion wrote since `since` into a new pass.
    pub fn add_pass(&mut self, criterion_dir: &Path, since: SystemTime) {
        let mut pass = BTreeMap::new();
        for entry in catalogue() {
            let file = estimates_file(criterion_dir, &entry);
            let fresh = fs::metadata(&file)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| modified >= since);
            if !fresh {
                continue;
            }
            if let Some(median) = read_median(&file) {
                pass.insert(entry.key(), median);
            }
        }
        self.passes.push(pass);
    }

    fn values(&self, group: &str, id: &str) -> Vec<f64> {
        let key = format!("{group}/{id}");
        self.passes
            .iter()
            .filter_map(|pass| pass.get(&key).copied())
            .collect()
    }

    /// Median over the passes of `group/id`.
    pub fn median(&self, group: &str, id: &str) -> Option<f64> {
        median(&self.values(group, id))
    }

    /// Median over the passes of `group/id` divided by `group/reference`
    /// of the same pass: benchmarks that ran close together in time are
    /// compared, so slow drifts of the machine's load cancel out.
    pub fn ratio(&self, group: &str, id: &str, reference: &str) -> Option<f64> {
        let (key, reference) = (format!("{group}/{id}"), format!("{group}/{reference}"));
        let ratios: Vec<f64> = self
            .passes
            .iter()
            .filter_map(|pass| Some(pass.get(&key)? / pass.get(&reference)?))
            .collect();
        median(&ratios)
    }

    fn spread(&self, group: &str, id: &str) -> Option<(f64, f64)> {
        let values = self.values(group, id);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        values.first().map(|_| (min, max))
    }

    /// Saves the results as JSON.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let machine = &self.machine;
        let json = serde_json::json!({
            "machine": {
                "cpus": machine.cpus,
                "cpu_model": machine.cpu_model,
                "rustc": machine.rustc,
                "load_before": machine.load_before,
                "load_after": machine.load_after,
            },
            "passes": self.passes,
            "memory": self.memory,
        });
        fs::write(path, serde_json::to_string_pretty(&json)?)
    }

    /// Loads results saved by [`save`](Self::save).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or parsed.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = fs::read_to_string(path)?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let text_of = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
        let machine = &json["machine"];
        Ok(Self {
            machine: Machine {
                cpus: machine["cpus"].as_u64().unwrap_or(0) as usize,
                cpu_model: text_of(&machine["cpu_model"]),
                rustc: text_of(&machine["rustc"]),
                load_before: text_of(&machine["load_before"]),
                load_after: text_of(&machine["load_after"]),
            },
            passes: serde_json::from_value(json["passes"].clone())?,
            memory: Some(json["memory"].clone()).filter(|memory| !memory.is_null()),
        })
    }
}

fn estimates_file(criterion_dir: &Path, entry: &Entry) -> PathBuf {
    criterion_dir
        .join(entry.group)
        .join(entry.id)
        .join("new")
        .join("estimates.json")
}

fn read_median(file: &Path) -> Option<f64> {
    let text = fs::read_to_string(file).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// The median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The whole report, in Markdown.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let entries = catalogue();
    let machine = &results.machine;
    let _ = writeln!(
        out,
        "Machine: {} CPUs, {}; {}. Load average before: {}; after: {}.",
        machine.cpus, machine.cpu_model, machine.rustc, machine.load_before, machine.load_after
    );
    let _ = writeln!(
        out,
        "Each time is the median over {} pass(es) of criterion's median in that pass; \
         each ratio `(n×)` is the median over the passes of the ratio within one pass, \
         to the row it is compared with.\n",
        results.passes.len()
    );

    let _ = writeln!(out, "### Per call (ratio to the `&dyn` baseline)\n");
    let _ = writeln!(out, "| approach | add | greet | sum |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (id, label) in APPROACHES {
        let mut row = format!("| {label} |");
        for method in METHODS {
            let cell = match (
                results.median(method, id),
                results.ratio(method, id, "baseline"),
            ) {
                (Some(value), _) if id == "baseline" => Unit::Nanos.show(value),
                (Some(value), Some(ratio)) => {
                    format!("{} ({ratio:.2}×)", Unit::Nanos.show(value))
                }
                (Some(value), None) => Unit::Nanos.show(value),
                (None, _) => "–".to_owned(),
            };
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');

    let _ = writeln!(out, "### Spread of the per-call medians over the passes\n");
    let _ = writeln!(out, "| benchmark | min | max |");
    let _ = writeln!(out, "|---|---:|---:|");
    for entry in entries.iter().filter(|e| METHODS.contains(&e.group)) {
        if let Some((min, max)) = results.spread(entry.group, entry.id) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                entry.key(),
                entry.unit.show(min),
                entry.unit.show(max)
            );
        }
    }
    out.push('\n');

    let _ = writeln!(
        out,
        "### Two threads calling one handle at once (ns per call, per thread)\n"
    );
    let _ = writeln!(
        out,
        "| approach | method | 1 thread | 2 threads | 2 threads / 1 thread |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    for entry in entries
        .iter()
        .filter(|e| e.group == "threads" && e.id.ends_with("_1t"))
    {
        let stem = entry.id.trim_end_matches("_1t");
        let method = stem.rsplit('_').next().unwrap_or_default();
        let two_id = format!("{stem}_2t");
        let one = results.median("threads", entry.id);
        let two = results.median("threads", &two_id);
        let show = |value: Option<f64>| value.map_or("–".to_owned(), |v| Unit::Nanos.show(v));
        let ratio = results
            .ratio("threads", &two_id, entry.id)
            .map_or("–".to_owned(), |ratio| format!("{ratio:.2}×"));
        let _ = writeln!(
            out,
            "| {} | {method} | {} | {} | {ratio} |",
            entry.label,
            show(one),
            show(two)
        );
    }
    out.push('\n');

    for (group, title) in [
        (
            "load",
            "Loading one library from a fresh copy of its file (ratio to a bare load of the same file)",
        ),
        (
            "load_1000",
            "Loading 1,000 distinct library files (fresh copies of ours)",
        ),
    ] {
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(out, "| what | median | ratio |");
        let _ = writeln!(out, "|---|---:|---:|");
        for entry in entries.iter().filter(|e| e.group == group) {
            let Some(value) = results.median(group, entry.id) else {
                let _ = writeln!(out, "| {} | – | |", entry.label);
                continue;
            };
            let ratio = entry
                .reference
                .and_then(|reference| results.ratio(group, entry.id, reference))
                .map_or(String::new(), |ratio| format!("{ratio:.2}×"));
            let _ = writeln!(
                out,
                "| {} | {} | {ratio} |",
                entry.label,
                entry.unit.show(value)
            );
        }
        out.push('\n');
    }

    if let Some(memory) = &results.memory {
        render_memory(&mut out, memory);
    }

    render_targets(&mut out, results);
    out
}

fn render_memory(out: &mut String, memory: &serde_json::Value) {
    let plugins = memory["plugins"].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "### Host-side memory per loaded plugin ({plugins} loaded at once, bytes per plugin)\n"
    );
    let _ = writeln!(
        out,
        "| approach | Rust-heap allocations | Rust-heap bytes allocated | Rust-heap bytes kept | `malloc` bytes kept (all of the process) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for row in memory["rows"].as_array().into_iter().flatten() {
        let number = |key: &str| {
            row[key]
                .as_f64()
                .map_or("–".to_owned(), |v| format!("{v:.0}"))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row["label"].as_str().unwrap_or_default(),
            number("allocations"),
            number("bytes_allocated"),
            number("bytes_kept"),
            number("malloc_kept")
        );
    }
    out.push('\n');
}

/// The proxies the per-call targets apply to: a direct one and one from a
/// `PluginManager`, as (id, how the call is made).
const OURS: [(&str, &str); 4] = [
    ("ours_shared", "direct proxy (default)"),
    ("ours_shared_manager", "`PluginManager` proxy (default)"),
    ("ours", "direct proxy, `allocator = own`"),
    ("ours_manager", "`PluginManager` proxy, `allocator = own`"),
];

fn render_targets(out: &mut String, results: &Results) {
    let _ = writeln!(out, "### Targets\n");
    let _ = writeln!(out, "| target | measured | met? |");
    let _ = writeln!(out, "|---|---:|---|");
    let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
    let ratio = |group: &str, id: &str, reference: &str| results.ratio(group, id, reference);
    for (method, limit) in [("add", 1.5), ("greet", 1.25), ("sum", 1.15)] {
        for (id, through) in OURS {
            if let Some(r) = ratio(method, id, "baseline") {
                let _ = writeln!(
                    out,
                    "| `{method}` ≤ {limit}× the `&dyn` baseline, {through} | {r:.2}× | {} |",
                    verdict(r <= limit)
                );
            }
        }
    }
    let peers = ["c_abi", "abi_stable", "stabby"];
    let fastest = peers
        .iter()
        .filter_map(|peer| Some((*peer, results.median("add", peer)?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    for (id, through) in OURS {
        if let (Some((peer, best)), Some(ours)) = (fastest, results.median("add", id)) {
            let r = results.ratio("add", id, peer).unwrap_or(ours / best);
            let _ = writeln!(
                out,
                "| `add` no slower than the fastest peer ({peer}, {}), {through} | {} ({r:.2}× {peer}) | {} |",
                Unit::Nanos.show(best),
                Unit::Nanos.show(ours),
                verdict(r <= 1.0)
            );
        }
    }
    for (id, what) in [
        ("ours_open_instantiate", "`open` + `instantiate`"),
        ("ours_load_plugins", "`load_plugins(file)`"),
    ] {
        if let Some(r) = ratio("load", id, "ours_bare") {
            let _ = writeln!(
                out,
                "| checked load ({what}) ≤ 1.2× bare `dlopen`+`dlsym` | {r:.2}× | {} |",
                verdict(r <= 1.2)
            );
        }
    }
    if let Some(r) = ratio("load_1000", "ours_load_plugins", "bare_loop") {
        let _ = writeln!(
            out,
            "| 1,000 files ≤ 1.3× the bare loop | {r:.2}× | {} |",
            verdict(r <= 1.3)
        );
    }
    out.push('\n');
}

/// A short name of an approach of the per-call table, for the chart.
fn short_label(id: &str) -> &'static str {
    match id {
        "baseline" => "&dyn baseline",
        "c_abi" => "C ABI",
        "c_abi_string" => "C ABI, host String",
        "abi_stable" => "abi_stable",
        "abi_stable_string" => "abi_stable, host String",
        "stabby" => "stabby",
        "ours" => "ours, own alloc",
        "ours_try" => "ours (try_)",
        "ours_manager" => "ours, own alloc (mgr)",
        "ours_inline_slot" => "shims, no proxy",
        "ours_shared" => "ours (default)",
        "ours_shared_manager" => "ours (default, mgr)",
        _ => "?",
    }
}

/// A hand-made SVG bar chart of the per-call medians, one panel per method.
pub fn svg(results: &Results) -> String {
    const WIDTH: f64 = 760.0;
    const LABEL: f64 = 190.0;
    const BAR: f64 = 16.0;
    const GAP: f64 = 4.0;
    let mut body = String::new();
    let mut y = 30.0;
    for method in METHODS {
        let rows: Vec<(&str, f64)> = APPROACHES
            .iter()
            .filter_map(|(id, _)| Some((short_label(id), results.median(method, id)?)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let max = rows.iter().map(|(_, v)| *v).fold(0.0, f64::max);
        let scale = (WIDTH - LABEL - 90.0) / max.max(f64::MIN_POSITIVE);
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-weight="bold">{method}</text>"#
        );
        y += 8.0;
        for (label, value) in rows {
            let width = value * scale;
            let label = label.replace('&', "&amp;");
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" text-anchor="end">{label}</text><rect x="{LABEL}" y="{y}" width="{width:.1}" height="{BAR}" fill="#4a7ab5"/><text x="{:.1}" y="{}">{:.2} ns</text>"##,
                LABEL - 6.0,
                y + BAR - 4.0,
                LABEL + width + 4.0,
                y + BAR - 4.0,
                value
            );
            y += BAR + GAP;
        }
        y += 24.0;
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="16">Per-call cost by approach (median ns; lower is better; {} pass(es))</text>
{body}</svg>
"#,
        results.passes.len()
    )
}
