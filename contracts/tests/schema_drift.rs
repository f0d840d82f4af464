//! Fails when the checked-in JSON Schemas under `contracts/schema/` drift from the types.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p throughline-contracts --test schema_drift`.

use std::path::PathBuf;

#[test]
fn checked_in_schemas_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut drifted = Vec::new();
    for (stem, schema) in throughline_contracts::schema::contract_schemas() {
        let path = dir.join(format!("{stem}.schema.json"));
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != generated {
            drifted.push(path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "schemas drifted from the types (rerun with UPDATE_SCHEMAS=1): {drifted:?}"
    );
}
