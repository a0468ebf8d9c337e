//! Gives the shared library its soname on Linux, `libopensharing.so.MAJOR`, so programs linked
//! against it keep loading the same ABI after a compatible upgrade (`make install` creates the
//! `.so` → `.so.MAJOR` → `.so.MAJOR.MINOR.PATCH` links).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libopensharing.so.{major}");
    }
}
