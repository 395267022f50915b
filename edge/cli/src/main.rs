//! `edgeward`: the operator's and the machine client's tool for edgeward's proof-of-possession
//! clients (README "Machine clients").
//!
//! The operator keeps a small certificate authority ([`ca`]: a root, optionally an
//! intermediate, and the signing of client CSRs with the CA's own parameters). A client makes
//! its key pair and CSR ([`client`]; the private key never leaves it), and for every request a
//! proof JWT signed with that key that carries its chain in `x5c` ([`proof`]), which `call`
//! sends as `Authorization: PoP <jwt>`. Native only: this crate is not part of the worker.

mod ca;
mod client;
mod files;
mod proof;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// edgeward's tool for machine clients: a small CA for the operator, keys, CSRs and
/// proof-of-possession JWTs for the client.
#[derive(Debug, Parser)]
#[command(name = "edgeward", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The operator's certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// The client's key pair and certificate signing request.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Prints a proof-of-possession JWT for one request (send it as `Authorization: PoP <jwt>`).
    Pop(PopArgs),
    /// Makes a request with a fresh proof of possession and prints the response body.
    Call(CallArgs),
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Makes a root CA: a new key (ca.key, keep it offline) and a self-signed certificate
    /// (ca.crt: what EDGEWARD_CLIENT_CA holds).
    Init {
        /// The CA's name (the certificate's subject CN).
        #[arg(long)]
        name: String,
        /// The directory to write ca.key, ca.crt and root.crt into (made if missing; existing
        /// files are never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// How many intermediate CAs may stand below this root (basicConstraints pathLen).
        #[arg(long, default_value_t = 1)]
        path_len: u8,
        /// An RSA-2048 key instead of ECDSA P-256.
        #[arg(long)]
        rsa: bool,
    },
    /// Makes an intermediate CA signed by a CA directory (pathLen 0: it signs clients only).
    Intermediate {
        /// The issuing CA's directory (from `ca init`).
        #[arg(long)]
        ca: PathBuf,
        /// The intermediate's name (subject CN).
        #[arg(long)]
        name: String,
        /// The directory for the intermediate's ca.key, ca.crt, issuers.pem and root.crt.
        #[arg(long)]
        out: PathBuf,
        /// Validity in days (at most the issuer's remaining validity).
        #[arg(long, default_value_t = 1825)]
        days: u32,
        /// An RSA-2048 key instead of ECDSA P-256.
        #[arg(long)]
        rsa: bool,
    },
    /// Signs a client's CSR into a client certificate. Only the CSR's public key and (unless
    /// --subject is given) its subject CN are used: every extension is the CA's own
    /// (CA:FALSE, digitalSignature, clientAuth), whatever the CSR asks for.
    Sign(SignArgs),
}

#[derive(Debug, Args)]
struct SignArgs {
    /// The signing CA's directory (root or intermediate).
    #[arg(long)]
    ca: PathBuf,
    /// The client's CSR (PEM).
    #[arg(long)]
    csr: PathBuf,
    /// Validity in days (at most the CA's remaining validity).
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// The subject CN to certify (default: the CSR's CN).
    #[arg(long)]
    subject: Option<String>,
    /// A SAN URI to certify (e.g. spiffe://example.org/ci/runner-1); edgeward takes it as the
    /// client's identity (`sub`) before the CN. Repeatable. The CSR's own SANs are not copied.
    #[arg(long = "san-uri")]
    san_uri: Vec<String>,
    /// The directory for client.crt, chain.pem (client.crt and the intermediates: what the
    /// client sends in x5c) and ca.pem (the root).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Makes the client's key pair (client.key, stays here) and a CSR (client.csr, goes to the
    /// operator).
    Key {
        /// The subject CN to ask for.
        #[arg(long)]
        subject: String,
        /// A SAN URI to ask for (the operator decides what is certified). Repeatable.
        #[arg(long = "san-uri")]
        san_uri: Vec<String>,
        /// An RSA-2048 key (proofs signed RS256) instead of ECDSA P-256 (ES256).
        #[arg(long)]
        rsa: bool,
        /// The directory for client.key and client.csr.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
struct PopArgs {
    /// The client's private key (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long)]
    key: PathBuf,
    /// The chain to send in x5c (PEM): the client certificate first, then intermediates.
    #[arg(long)]
    chain: PathBuf,
    /// The request's method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// The request's URL (query and fragment are left out of htu).
    #[arg(long)]
    url: String,
    /// How long the proof is valid, seconds (at most 300).
    #[arg(long, default_value_t = 60)]
    lifetime: u64,
}

#[derive(Debug, Args)]
struct CallArgs {
    #[command(flatten)]
    pop: PopArgs,
    /// The request body.
    #[arg(long)]
    data: Option<String>,
    /// An extra request header, `Name: value`. Repeatable.
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Ca(CaCommand::Init {
            name,
            out,
            days,
            path_len,
            rsa,
        }) => ca::init(&name, &out, days, path_len, rsa)?,
        Command::Ca(CaCommand::Intermediate {
            ca,
            name,
            out,
            days,
            rsa,
        }) => ca::intermediate(&ca, &name, &out, days, rsa)?,
        Command::Ca(CaCommand::Sign(args)) => ca::sign(&ca::SignRequest {
            ca: &args.ca,
            csr: &args.csr,
            days: args.days,
            subject: args.subject.as_deref(),
            san_uris: &args.san_uri,
            out: &args.out,
        })?,
        Command::Client(ClientCommand::Key {
            subject,
            san_uri,
            rsa,
            out,
        }) => client::key(&subject, &san_uri, rsa, &out)?,
        Command::Pop(args) => {
            let jwt = proof::make(&proof_request(&args))?;
            println!("{jwt}");
        }
        Command::Call(args) => {
            return proof::call(
                &proof_request(&args.pop),
                args.data.as_deref(),
                &args.headers,
            )
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn proof_request(args: &PopArgs) -> proof::ProofRequest<'_> {
    proof::ProofRequest {
        key: &args.key,
        chain: &args.chain,
        method: &args.method,
        url: &args.url,
        lifetime: args.lifetime,
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edgeward: {e}");
            ExitCode::FAILURE
        }
    }
}
