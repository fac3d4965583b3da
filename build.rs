//! Compiles the gRPC contract in proto/ with a vendored protoc, so a fresh machine needs no
//! system package, and writes the descriptor set that server reflection serves.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { env::set_var("PROTOC", protoc) };

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let protos = [
        "proto/oblique/v1/common.proto",
        "proto/oblique/v1/integration.proto",
        "proto/oblique/v1/sync.proto",
        "proto/oblique/v1/user.proto",
        "proto/oblique/v1/team.proto",
        "proto/oblique/v1/access.proto",
    ];
    // Servers for the service and clients for the tests (both tonic's defaults); every RPC has a
    // handler, so no default method bodies.
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("oblique_descriptor.bin"))
        .compile_protos(&protos, &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
