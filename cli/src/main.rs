//! `lls`: one CLI over the golden model, the RTL generator, co-simulation and synthesis.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "lls", version, about = "LLS on-device learning: golden model, RTL generator, co-simulation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Train(cmd::train::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => cmd::train::run(args),
    };
    if let Err(message) = result {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
