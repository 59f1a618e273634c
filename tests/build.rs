//! Builds every plugin of `plugins/` and generates one constant per plugin:
//! `pub const <NAME>_COMPONENT: &str = "<path>"`, plus `ALL_PLUGINS`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let repo_root = manifest_dir
        .parent()
        .expect("tests/ is in the repo")
        .to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    for input in phasehost_build_plugins::inputs(&repo_root)? {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let built = phasehost_build_plugins::build_all(
        &repo_root,
        &cargo,
        &rustc,
        &out_dir.join("plugins-target"),
        &out_dir.join("components"),
    )?;
    let mut consts = String::new();
    let mut all = String::from(
        "/// Every plugin: (crate name, component path).\npub const ALL_PLUGINS: &[(&str, &str)] = &[\n",
    );
    for plugin in &built {
        let ident = plugin.crate_name.to_uppercase().replace('-', "_");
        let path = plugin.path.display();
        writeln!(
            consts,
            "/// The `{}` component ({}).",
            plugin.crate_name, plugin.target
        )?;
        writeln!(consts, "pub const {ident}_COMPONENT: &str = {path:?};")?;
        writeln!(all, "    ({:?}, {ident}_COMPONENT),", plugin.crate_name)?;
    }
    all.push_str("];\n");
    std::fs::write(out_dir.join("components.rs"), consts + &all)?;
    Ok(())
}
