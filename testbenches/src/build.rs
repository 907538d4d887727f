//! Building a simulator for a generated design.

use std::path::{Path, PathBuf};

use rtl_gen::Design;

use crate::{io_err, CosimError};

pub const HARNESS_CPP: &str = include_str!("../harness/tb_main.cpp");
pub const IVERILOG_TB: &str = include_str!("../harness/tb_iverilog.v");

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Simulator {
    Verilator,
    Iverilog,
}

impl std::str::FromStr for Simulator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "verilator" => Ok(Simulator::Verilator),
            "iverilog" => Ok(Simulator::Iverilog),
            _ => Err(format!(
                "unknown simulator `{s}`; expected verilator or iverilog"
            )),
        }
    }
}

/// Profile-guided optimization of a Verilator build (GCC's `-fprofile-generate` and
/// `-fprofile-use`, on the model, its runtime and the harness). The model is one long
/// function a cycle; with a profile GCC lays it out for the branches a training run
/// takes: 1.76x the cycles per second on the banked 8-lane mnist design, within the noise
/// on the unbanked one (docs/performance.md).
#[derive(Clone, Copy, Debug)]
pub enum Profile<'a> {
    /// An ordinary optimized build.
    None,
    /// An instrumented build that writes its profile into this folder when it exits.
    Generate(&'a Path),
    /// A build optimized with the profile in this folder. The profile's files are named
    /// after the objects' paths: it must come from a `Generate` build in the same `dir`.
    Use(&'a Path),
}

impl Profile<'_> {
    fn verilator_flags(self) -> Vec<String> {
        match self {
            Profile::None => Vec::new(),
            Profile::Generate(dir) => {
                let flag = format!("-fprofile-generate={}", dir.display());
                vec!["-CFLAGS".into(), flag.clone(), "-LDFLAGS".into(), flag]
            }
            // Code the profile run never reached (readback of rare values) is optimized
            // as without a profile instead of for size.
            Profile::Use(dir) => vec![
                "-CFLAGS".into(),
                format!("-fprofile-use={}", dir.display()),
                "-CFLAGS".into(),
                "-fprofile-partial-training".into(),
                "-CFLAGS".into(),
                "-Wno-missing-profile".into(),
            ],
        }
    }
}

/// Writes the design into `dir/rtl` and builds the simulator; returns the command to run
/// (program, args) with `dir/rtl` as its working directory (the `$readmemh` paths).
/// `profile` applies to Verilator only.
pub fn build(
    design: &Design,
    dir: &Path,
    sim: Simulator,
    trace: bool,
    profile: Profile<'_>,
) -> Result<(PathBuf, Vec<String>), CosimError> {
    // Absolute, because the simulator later runs with `rtl` as its working directory.
    let dir = std::path::absolute(dir).map_err(|e| io_err(dir, e))?;
    let rtl = dir.join("rtl");
    design.write(&rtl)?;
    let sources: Vec<String> = design
        .files
        .keys()
        .filter(|n| n.ends_with(".v"))
        .cloned()
        .collect();
    match sim {
        Simulator::Verilator => {
            let harness = rtl.join("tb_main.cpp");
            write_if_changed(&harness, HARNESS_CPP)?;
            let verilator = toolchain::verilator()?;
            let mut extra = profile.verilator_flags();
            extra.extend(extra_verilator_flags());
            let args = verilator_args(design, trace, sources, &extra);
            // Rebuild only when the sources changed: the stamp holds the exact inputs.
            let stamp = rtl.join("obj_dir/.lls-build-stamp");
            let inputs = format!(
                "{args:?}\n{}",
                design
                    .files
                    .values()
                    .map(|t| t.len().to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            // -march=native: a build folder copied to another CPU must rebuild.
            let inputs = format!("{inputs}\n{}", host_cpu());
            let fingerprint = fingerprint(&inputs, design);
            let exe = rtl.join("obj_dir/sim");
            if !(exe.is_file()
                && std::fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str()))
            {
                // Start from an empty obj_dir: make tracks sources, not the -CFLAGS that name
                // the top, so a harness object built for another design would be linked.
                let obj_dir = rtl.join("obj_dir");
                if obj_dir.exists() {
                    std::fs::remove_dir_all(&obj_dir).map_err(|e| io_err(&obj_dir, e))?;
                }
                verilator.run(&args, &rtl)?;
                std::fs::write(&stamp, &fingerprint).map_err(|e| io_err(&stamp, e))?;
            }
            Ok((exe, Vec::new()))
        }
        Simulator::Iverilog => {
            let tb = rtl.join("tb_iverilog.v");
            write_if_changed(&tb, IVERILOG_TB)?;
            let iverilog = toolchain::iverilog()?;
            let vvp = toolchain::vvp()?;
            let args = iverilog_args(design, sources);
            iverilog.run(&args, &rtl)?;
            Ok((vvp.path.clone(), vec!["-n".into(), "sim.vvp".into()]))
        }
    }
}

/// Extra Verilator arguments from `LLS_VERILATOR_FLAGS` (whitespace-separated), for trying
/// flags without a rebuild of `lls`; they are part of the build stamp, so a change rebuilds.
pub const VERILATOR_FLAGS_ENV: &str = "LLS_VERILATOR_FLAGS";

fn extra_verilator_flags() -> Vec<String> {
    std::env::var(VERILATOR_FLAGS_ENV)
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// Verilator's arguments: an optimized model plus the C++ harness, `-Wall` (warnings are
/// fatal), the collision poison defined (`rtl_gen::blocks::POISON_COLLISIONS`), then
/// `extra`.
fn verilator_args(
    design: &Design,
    trace: bool,
    sources: Vec<String>,
    extra: &[String],
) -> Vec<String> {
    let class = format!("V{}", design.top);
    let mut args: Vec<String> = vec![
        "--cc".into(),
        "--exe".into(),
        "--build".into(),
        "-j".into(),
        "2".into(),
        "-O3".into(),
        "--x-assign".into(),
        "fast".into(),
        "--x-initial".into(),
        "fast".into(),
        "--noassert".into(),
        "-Wall".into(),
        // Reads of a block RAM's address written in the same cycle return garbage:
        // every co-simulation checks that the design never uses one.
        format!("+define+{}", rtl_gen::blocks::POISON_COLLISIONS),
        "--top-module".into(),
        design.top.clone(),
        "-CFLAGS".into(),
        format!(
            "{} -DTOP_HEADER='\"{class}.h\"' -DTOP_CLASS={class} -DRB_LATENCY={}{}",
            cxx_opt(),
            design.params.rb_latency,
            if trace { " -DLLS_TRACE" } else { "" }
        ),
        // verilated.mk appends OPT_FAST (default -Os) after -CFLAGS on the model and
        // harness, and OPT_GLOBAL (-Os) on the runtime: set them, or -Os wins.
        "-MAKEFLAGS".into(),
        "OPT_FAST=-O3".into(),
        "-MAKEFLAGS".into(),
        "OPT_GLOBAL=-O3".into(),
        "-o".into(),
        "sim".into(),
    ];
    args.extend(extra.iter().cloned());
    if trace {
        args.push("--trace-fst".into());
    }
    args.extend(sources);
    args.push("tb_main.cpp".into());
    args
}

/// Icarus's arguments: Verilog-2005, the testbench's parameters and the collision poison.
fn iverilog_args(design: &Design, sources: Vec<String>) -> Vec<String> {
    let p = &design.params;
    let mut args = vec![
        "-g2005".to_string(),
        "-o".into(),
        "sim.vvp".into(),
        "-s".into(),
        "tb".into(),
    ];
    for (name, value) in [
        ("TOP", design.top.clone()),
        ("N_IN", p.inputs.to_string()),
        ("LABEL_W", p.label_bits.to_string()),
        ("RB_LAYER_W", p.rb_layer_bits.to_string()),
        ("RB_ADDR_W", p.rb_addr_bits.to_string()),
        ("RB_DATA_W", p.rb_data_bits.to_string()),
        ("RB_LATENCY", p.rb_latency.to_string()),
    ] {
        args.push(format!("-D{name}={value}"));
    }
    args.push(format!("-D{}", rtl_gen::blocks::POISON_COLLISIONS));
    args.extend(sources);
    args.push("tb_iverilog.v".into());
    args
}

/// C++ optimization for the Verilated model, its runtime and the harness. The simulator
/// is built where it runs, so it may use the host's instruction set (x86-64 only, where
/// GCC and Clang both take `-march=native`). -O3 -march=native simulates about 1.5x as
/// many cycles per second as Verilator's default -Os on mnist-mlp.
fn cxx_opt() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "-O3 -march=native"
    } else {
        "-O3"
    }
}

/// The host CPU's model name and instruction-set flags (Linux), part of the build
/// fingerprint because of `-march=native`; empty where unknown.
fn host_cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    ["model name", "flags"]
        .iter()
        .filter_map(|key| info.lines().find(|l| l.starts_with(key)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fingerprint(inputs: &str, design: &Design) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    inputs.hash(&mut h);
    design.files.hash(&mut h);
    HARNESS_CPP.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), CosimError> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).map_err(|e| io_err(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_design() -> Design {
        let text = include_str!("../../configs/digits-mlp.toml");
        let cfg = golden_model::config::Config::from_toml_str(text, "digits-mlp.toml")
            .expect("preset is valid");
        rtl_gen::generate(&cfg, text, true).expect("generates")
    }

    /// The co-simulations' proof of `no_rw_check` rests on the macro being defined: both
    /// simulators get it, and the generated RTL tests it.
    #[test]
    fn both_simulators_poison_colliding_block_ram_reads() {
        let design = digits_design();
        let define = rtl_gen::blocks::POISON_COLLISIONS;
        assert!(
            verilator_args(&design, false, Vec::new(), &[]).contains(&format!("+define+{define}"))
        );
        assert!(iverilog_args(&design, Vec::new()).contains(&format!("-D{define}")));
        let uses = design
            .files
            .values()
            .filter(|t| t.contains(&format!("`ifdef {define}")))
            .count();
        assert!(
            uses >= 2,
            "the layer and softmax RTL poison their reads ({uses} files)"
        );
    }

    /// `LLS_VERILATOR_FLAGS` lands after the project's own flags (so it can override
    /// them) and before the sources.
    #[test]
    fn extra_verilator_flags_follow_the_projects_own() {
        let design = digits_design();
        let extra = ["--threads".to_string(), "2".to_string()];
        let plain = verilator_args(&design, false, vec!["a.v".into()], &[]);
        let args = verilator_args(&design, false, vec!["a.v".into()], &extra);
        assert_eq!(args.len(), plain.len() + 2);
        let at = args
            .iter()
            .position(|a| a == "--threads")
            .expect("passed on");
        assert_eq!(args[at + 1], "2");
        assert!(at > args.iter().position(|a| a == "-O3").expect("own flags"));
        assert_eq!(args[at + 2], "a.v", "before the sources");
    }
}
