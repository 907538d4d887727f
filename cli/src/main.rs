//! `lls`: one CLI over the golden model, the RTL generator, co-simulation and synthesis.

mod cmd;
// Charts for the `lls run` report and `lls sweep`.
mod plot;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lls",
    version,
    about = "LLS on-device learning: golden model, RTL generator, co-simulation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: data, golden model, RTL, bit-exact co-sim, synthesis, report.
    Run(cmd::run::Args),
    /// Train the golden model (float or fixed point) and report.
    Train(cmd::train::Args),
    /// Generate the Verilog training datapath for a config.
    Gen(cmd::gen::Args),
    /// Co-simulate training on the RTL against the golden model, bit for bit.
    Cosim(cmd::cosim::Args),
    /// Synthesise, place and route for an FPGA: resources, Fmax, bitstream.
    Synth(cmd::synth::Args),
    /// MACs and memory per training sample, LLS against BP (config and VGG8).
    Costs(cmd::costs::Args),
    /// Training throughput of the golden model on one core (JSON).
    Bench(cmd::bench::Args),
    /// Lane sweep: cycles, ideal, throughput (and resources/Fmax with --synth).
    Sweep(cmd::sweep::Args),
    /// List the preset configs: name, data set, shape, target, lanes.
    Presets(cmd::presets::Args),
    /// Export a checkpoint's learned state as `$readmemh` images, or import images into one.
    Weights(cmd::weights::Args),
    /// Train a board over its UART host link (`--sim`: the whole board top in Verilator).
    Board(cmd::board::Args),
    /// Program a board with the bitstream `lls synth --board` built (iceprog, openFPGALoader).
    Flash(cmd::flash::Args),
}

fn main() {
    let cli = Cli::parse();
    cmd::opts::clean_up_on_interrupt();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Gen(args) => cmd::gen::run(args),
        Command::Cosim(args) => cmd::cosim::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        Command::Costs(args) => cmd::costs::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Presets(args) => cmd::presets::run(args),
        Command::Weights(args) => cmd::weights::run(args),
        Command::Board(args) => cmd::board::run(args),
        Command::Flash(args) => cmd::flash::run(args),
    };
    if let Err(message) = result {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
