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

/// The C++ compiler a Verilator simulator is built with (`lls cosim --compiler`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compiler {
    /// clang++ where it and a matching llvm-profdata are installed, else g++. Plain
    /// clang++ builds simulate 1.07x (banked mnist) to 1.28x (unbanked) faster and compile
    /// in 2/3 of the time.
    #[default]
    Auto,
    /// Verilator's default, g++.
    Gcc,
    /// clang++ (`toolchain::clangxx`), with llvm-profdata for profile-guided builds.
    Clang,
}

impl std::str::FromStr for Compiler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Compiler::Auto),
            "gcc" => Ok(Compiler::Gcc),
            "clang" => Ok(Compiler::Clang),
            _ => Err(format!(
                "unknown compiler `{s}`; expected auto, gcc or clang"
            )),
        }
    }
}

/// A [`Compiler`] resolved to the programs that build with it.
#[derive(Clone, Debug)]
pub enum Toolchain {
    Gcc,
    Clang {
        clangxx: toolchain::Tool,
        profdata: toolchain::Tool,
    },
}

impl Compiler {
    /// The programs behind this choice. Clang needs clang++ and an llvm-profdata of the
    /// same major version (its raw profiles are version-specific); `Auto` falls back to
    /// g++ without them.
    pub fn resolve(self) -> Result<Toolchain, CosimError> {
        let clang = || -> Result<Toolchain, CosimError> {
            let clangxx = toolchain::clangxx()?;
            let profdata = toolchain::llvm_profdata()?;
            if clangxx.version.0 != profdata.version.0 {
                return Err(CosimError::Options(format!(
                    "--compiler clang: clang++ is version {} but llvm-profdata is {}; set \
                     LLS_LLVM_PROFDATA to llvm-profdata-{} or use --compiler gcc",
                    clangxx.version.0, profdata.version.0, clangxx.version.0
                )));
            }
            Ok(Toolchain::Clang { clangxx, profdata })
        };
        match self {
            Compiler::Gcc => Ok(Toolchain::Gcc),
            Compiler::Clang => clang(),
            Compiler::Auto => Ok(clang().unwrap_or(Toolchain::Gcc)),
        }
    }
}

impl Toolchain {
    /// For reports: `g++` or `clang++ <major>.<minor>`.
    pub fn name(&self) -> String {
        match self {
            Toolchain::Gcc => "g++".into(),
            Toolchain::Clang { clangxx, .. } => {
                format!("clang++ {}.{}", clangxx.version.0, clangxx.version.1)
            }
        }
    }

    fn verilator_flags(&self) -> Vec<String> {
        match self {
            Toolchain::Gcc => Vec::new(),
            Toolchain::Clang { clangxx, .. } => {
                let cxx = clangxx.path.display();
                vec![
                    "--compiler".into(),
                    "clang".into(),
                    "-MAKEFLAGS".into(),
                    format!("CXX={cxx}"),
                    // The link pulls in clang's profile runtime for instrumented builds.
                    "-MAKEFLAGS".into(),
                    format!("LINK={cxx}"),
                ]
            }
        }
    }

    /// The flags for `profile`, and for clang's `Use` first merges the raw profiles the
    /// instrumented simulator wrote into the one file clang reads.
    fn profile_flags(&self, profile: Profile<'_>) -> Result<Vec<String>, CosimError> {
        let both = |flag: String| vec!["-CFLAGS".into(), flag.clone(), "-LDFLAGS".into(), flag];
        Ok(match (self, profile) {
            (_, Profile::None) => Vec::new(),
            (_, Profile::Generate(dir)) => both(format!("-fprofile-generate={}", dir.display())),
            // Code the profile run never reached (readback of rare values) is optimized
            // as without a profile instead of for size.
            (Toolchain::Gcc, Profile::Use(dir)) => vec![
                "-CFLAGS".into(),
                format!("-fprofile-use={}", dir.display()),
                "-CFLAGS".into(),
                "-fprofile-partial-training".into(),
                "-CFLAGS".into(),
                "-Wno-missing-profile".into(),
            ],
            (Toolchain::Clang { profdata, .. }, Profile::Use(dir)) => {
                let merged = merge_clang_profile(profdata, dir)?;
                vec![
                    "-CFLAGS".into(),
                    format!("-fprofile-use={}", merged.display()),
                    "-CFLAGS".into(),
                    "-Wno-profile-instr-unprofiled".into(),
                ]
            }
        })
    }
}

/// The file [`merge_clang_profile`] writes in a profile folder.
pub const CLANG_PROFILE: &str = "merged.profdata";

/// Merges the `*.profraw` files in `dir` into `dir/merged.profdata`.
fn merge_clang_profile(profdata: &toolchain::Tool, dir: &Path) -> Result<PathBuf, CosimError> {
    let mut raw: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "profraw"))
        .map(|p| p.display().to_string())
        .collect();
    if raw.is_empty() {
        return Err(CosimError::Options(format!(
            "{}: no .profraw profile to build from; the profile run wrote none",
            dir.display()
        )));
    }
    raw.sort();
    let merged = dir.join(CLANG_PROFILE);
    let mut args = vec![
        "merge".to_string(),
        "-o".into(),
        merged.display().to_string(),
    ];
    args.extend(raw);
    profdata.run(&args, dir)?;
    Ok(merged)
}

/// Profile-guided optimization of a Verilator build (`-fprofile-generate` and
/// `-fprofile-use`, on the model, its runtime and the harness). The model is one long
/// function a cycle; with a profile the compiler lays it out for the branches a training
/// run takes: 1.3-1.4x the cycles per second on the banked 8-lane mnist design (where the
/// two compilers' profiled builds tied on a 3,000-sample slice side by side, and clang++'s
/// ran full epochs 1.03-1.18x faster); within the noise unbanked (docs/performance.md).
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

/// Writes the design into `dir/rtl` and builds the simulator; returns the command to run
/// (program, args) with `dir/rtl` as its working directory (the `$readmemh` paths).
/// `profile` applies to Verilator only.
pub fn build(
    design: &Design,
    dir: &Path,
    sim: Simulator,
    compiler: &Toolchain,
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
            let mut extra = compiler.verilator_flags();
            extra.extend(compiler.profile_flags(profile)?);
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
            // Absolute: segments run one build in folders of their own.
            let program = rtl.join("sim.vvp");
            let program = program.to_str().ok_or_else(|| {
                CosimError::Options(format!(
                    "{}: Icarus needs a UTF-8 work folder path; pass --work with one",
                    program.display()
                ))
            })?;
            Ok((vvp.path.clone(), vec!["-n".into(), program.into()]))
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

/// The arguments every simulator build here shares: an optimized C++ model of `top` built
/// with its harness into an executable, `-Wall` (warnings are fatal), X values resolved
/// fast, assertions off.
pub(crate) fn model_args(top: &str) -> Vec<String> {
    [
        "--cc",
        "--exe",
        "--build",
        "-j",
        "2",
        "-O3",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--noassert",
        "-Wall",
        "--top-module",
        top,
    ]
    .into_iter()
    .map(String::from)
    .collect()
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
    let mut args = model_args(&design.top);
    args.extend([
        // Reads of a block RAM's address written in the same cycle return garbage:
        // every co-simulation checks that the design never uses one.
        format!("+define+{}", rtl_gen::blocks::POISON_COLLISIONS),
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
    ]);
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
        ("TAG_W", p.tag_bits().to_string()),
        ("RB_LAYER_W", p.rb_layer_bits.to_string()),
        ("RB_ADDR_W", p.rb_addr_bits.to_string()),
        ("RB_DATA_W", p.rb_data_bits.to_string()),
        ("LOAD_W", p.load_bits().to_string()),
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

    /// `--compiler` names: a wrong one is refused with the three that exist.
    #[test]
    fn compiler_names_parse_and_a_wrong_one_lists_the_choices() {
        assert_eq!("auto".parse(), Ok(Compiler::Auto));
        assert_eq!("gcc".parse(), Ok(Compiler::Gcc));
        assert_eq!("clang".parse(), Ok(Compiler::Clang));
        let err = "icc".parse::<Compiler>().expect_err("not a choice");
        assert!(err.contains("auto, gcc or clang"), "{err}");
    }

    /// Each compiler gets its own profile flags: g++ reads the profile folder (and keeps
    /// unreached code fast), clang++ the file llvm-profdata merged; both instrument
    /// compile and link alike.
    #[test]
    fn profile_flags_follow_the_compiler() {
        let dir = std::env::temp_dir().join(format!("lls-profile-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let gcc = Toolchain::Gcc;
        assert!(
            gcc.verilator_flags().is_empty(),
            "g++ is Verilator's default"
        );
        let used = gcc.profile_flags(Profile::Use(&dir)).expect("no merge");
        assert!(used.contains(&format!("-fprofile-use={}", dir.display())));
        assert!(used.contains(&"-fprofile-partial-training".to_string()));
        let generate = gcc.profile_flags(Profile::Generate(&dir)).expect("flags");
        let flag = format!("-fprofile-generate={}", dir.display());
        assert_eq!(generate, ["-CFLAGS", &flag, "-LDFLAGS", &flag]);
        assert!(gcc.profile_flags(Profile::None).expect("flags").is_empty());

        // clang++ is installed by scripts/install-deps.sh, as the test command runs it.
        let clang = Compiler::Clang
            .resolve()
            .expect("clang++ and llvm-profdata installed");
        let flags = clang.verilator_flags();
        assert_eq!(flags[..2], ["--compiler", "clang"]);
        assert!(flags
            .iter()
            .any(|f| f.starts_with("CXX=") && f.ends_with("clang++")));
        assert!(clang.name().starts_with("clang++ "), "{}", clang.name());
        // No raw profile yet: a clear error, not a build without one.
        let err = clang
            .profile_flags(Profile::Use(&dir))
            .expect_err("nothing to merge");
        assert!(err.to_string().contains("no .profraw"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
