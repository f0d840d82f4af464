//! What the synthetic file generators share (feature `fixtures`): a seedable random source,
//! the choice of which records to corrupt, valid and deliberately wrong UPNs, and the command
//! line of the generator examples.
//!
//! Why: every generated record must be a pure function of the spec and its index, so a test can
//! stream 50,000 records to a file and still know exactly what record 31,337 holds, and which
//! records were corrupted, without keeping anything in memory.

use std::fs::File;
use std::io;
use std::process::ExitCode;

use throughline_contracts::identifiers::Upn;

/// The letters a UPN may use (the contracts' table, for picking a wrong check letter).
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// A small, fast, seedable generator (SplitMix64): fixtures must be reproducible and need no
/// statistical quality.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The generator for record `index` of a file generated with `seed`.
    pub fn for_record(seed: u64, index: usize) -> Self {
        Self::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Whether record `index` is one of the corrupted share `fraction` (0.0 to 1.0) of the file,
/// and if so which of the corrupted records it is, counted from 0 (for cycling through the
/// kinds of corruption). Exactly `floor(records × fraction)` are, spread evenly through the
/// file; the selection is exact integer arithmetic in millionths.
pub fn corrupted(fraction: f64, index: usize) -> Option<usize> {
    let per_million = (fraction.clamp(0.0, 1.0) * 1_000_000.0).round() as u64;
    let i = index as u64;
    let before = i * per_million / 1_000_000;
    let after = (i + 1) * per_million / 1_000_000;
    (after > before).then_some(before as usize)
}

/// The UPN with this 12-character tail, its check letter computed by the contracts' [`Upn`], or
/// the next letter of the table when `wrong_check_letter`.
pub fn upn(tail: &str, wrong_check_letter: bool) -> String {
    let letter = Upn::check_letter(tail).expect("a well-formed UPN tail");
    let letter = if wrong_check_letter {
        let at = UPN_LETTERS
            .iter()
            .position(|&l| char::from(l) == letter)
            .expect("a table letter");
        char::from(UPN_LETTERS[(at + 1) % UPN_LETTERS.len()])
    } else {
        letter
    };
    format!("{letter}{tail}")
}

/// What a generator example is asked for: `<count> <path> [corrupt_fraction]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorArgs {
    /// How many records (`noun`) to write.
    pub count: usize,
    pub path: String,
    pub corrupt_fraction: f64,
}

/// The whole `main` of a generator example named `name` that writes `noun` (`pupils`,
/// `children`): reads the command line, writes the file with `write`, and says what was
/// written. `example_fraction` is the corrupt fraction the usage line suggests.
pub fn generator_main(
    name: &str,
    noun: &str,
    example_fraction: &str,
    write: impl FnOnce(&GeneratorArgs, File) -> io::Result<()>,
) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: {name} <{noun}> <path> [corrupt_fraction, e.g. {example_fraction}]");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("{noun} must be a whole number");
        return ExitCode::from(2);
    };
    let corrupt_fraction = match args.get(2).map(|f| f.parse::<f64>()) {
        None => 0.0,
        Some(Ok(f)) if (0.0..=1.0).contains(&f) => f,
        Some(_) => {
            eprintln!("corrupt_fraction must be a number from 0 to 1");
            return ExitCode::from(2);
        }
    };
    let args = GeneratorArgs {
        count,
        path: path.clone(),
        corrupt_fraction,
    };
    let written = File::create(path).and_then(|file| write(&args, file));
    match written {
        Ok(()) => {
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            println!("wrote {count} {noun} ({bytes} bytes) to {path}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not write {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupts_exactly_the_share_asked_for_and_counts_them() {
        let corrupted: Vec<usize> = (0..1000).filter_map(|i| corrupted(0.02, i)).collect();
        assert_eq!(corrupted, (0..20).collect::<Vec<_>>());
        assert_eq!(corrupted_count(0.0), 0);
        assert_eq!(corrupted_count(1.0), 1000);
    }

    fn corrupted_count(fraction: f64) -> usize {
        (0..1000)
            .filter(|&i| corrupted(fraction, i).is_some())
            .count()
    }

    #[test]
    fn a_wrong_check_letter_is_refused_and_the_right_one_is_not() {
        let tail = "801200005001";
        assert!(Upn::parse(&upn(tail, false)).is_ok());
        assert!(Upn::parse(&upn(tail, true)).is_err());
    }
}
