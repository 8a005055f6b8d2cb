// The golden paths are embedded with include_dir: rebuild when any of their files changes.
fn main() {
    println!("cargo:rerun-if-changed=../../golden-paths");
}
