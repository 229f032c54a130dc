//! Problem sizes on the command line: plain integers, decimal suffixes `K/M/G` (10^3) and binary
//! suffixes `Ki/Mi/Gi` (2^10), and powers of two written `2^25`.

/// The largest size any flag takes (each kernel and experiment has a lower limit of its own).
const LARGEST: u64 = 1 << 62;

/// Parses a size such as `33554432`, `32Mi`, `1.5M`, `2^25`. Zero, negatives and unknown suffixes
/// are rejected with a message that shows the accepted forms.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let help = "use a positive integer with an optional suffix K, M, G (x1000) or Ki, Mi, Gi (x1024), or 2^N";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty size; {help}"));
    }
    if trimmed.starts_with('-') {
        return Err(format!("sizes are positive, got '{text}'"));
    }
    let too_large = || format!("'{text}' is too large: sizes go up to 2^62");
    if let Some(exponent) = trimmed.strip_prefix("2^") {
        let exponent: u32 = exponent
            .parse()
            .map_err(|_| format!("'{text}' is not a size; {help}"))?;
        return 1u64
            .checked_shl(exponent)
            .filter(|_| exponent < 63)
            .ok_or_else(too_large);
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    let multiplier: u64 = match suffix {
        "" => 1,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return Err(format!("'{text}' has an unknown suffix '{suffix}'; {help}")),
    };
    if number.is_empty() {
        return Err(format!("'{text}' is not a size; {help}"));
    }
    let value = if number.contains('.') {
        let fraction: f64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a size; {help}"))?;
        let value = fraction * multiplier as f64;
        if value.fract() != 0.0 || value > u64::MAX as f64 / 2.0 {
            return Err(format!("'{text}' is not a whole number of elements"));
        }
        value as u64
    } else {
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .ok_or_else(|| match number.bytes().all(|b| b.is_ascii_digit()) {
                true => too_large(),
                false => format!("'{text}' is not a size; {help}"),
            })?
    };
    if value == 0 {
        return Err(format!("size must be at least 1, got '{text}'"));
    }
    if value > LARGEST {
        return Err(too_large());
    }
    Ok(value)
}

/// Parses a doubling range `FIRST..LAST` into its two ends (`transfer --sizes`, which doubles
/// from the first to the last as `sweep --sizes` does).
pub fn parse_size_range(text: &str) -> Result<(u64, u64), String> {
    let Some((low, high)) = text.split_once("..") else {
        return Err(format!(
            "'{text}': give FIRST..LAST (e.g. 4Ki..256Mi); the sizes double from FIRST"
        ));
    };
    let (low, high) = (parse_size(low)?, parse_size(high)?);
    if low > high {
        return Err(format!("'{text}': the first size is larger than the last"));
    }
    Ok((low, high))
}

/// Parses a list of sizes: `1Ki..256Mi` (doubling from the first to the last, the last
/// included) or a comma list `1000,1M,2^24`. Sorted, duplicates removed.
pub fn parse_sizes(text: &str) -> Result<Vec<u64>, String> {
    let mut sizes = if let Some((low, high)) = text.split_once("..") {
        let (low, high) = (parse_size(low)?, parse_size(high)?);
        if low > high {
            return Err(format!("'{text}': the first size is larger than the last"));
        }
        let mut sizes = Vec::new();
        let mut size = low;
        while size < high {
            sizes.push(size);
            size = size.saturating_mul(2);
        }
        sizes.push(high);
        sizes
    } else {
        text.split(',')
            .map(parse_size)
            .collect::<Result<Vec<_>, _>>()?
    };
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

/// Writes an element count compactly and exactly: `2^25`, `32Mi`, `1M` or the plain number.
pub fn format_count(n: u64) -> String {
    if n.is_power_of_two() && n >= 1024 {
        return format!("2^{}", n.trailing_zeros());
    }
    for (suffix, unit) in [
        ("Gi", 1u64 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("K", 1_000),
    ] {
        if n >= unit && n.is_multiple_of(unit) {
            return format!("{}{suffix}", n / unit);
        }
    }
    n.to_string()
}

/// Writes a byte count in powers of ten (the unit of every GB/s figure): `402.7 MB`.
pub fn format_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", b / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

/// Caps a size by `HPCLAB_MAX_SIZE` (e.g. `1Mi`) when it is set, so that a whole suite can run
/// quickly on any machine. An unreadable value is ignored with a warning.
pub fn cap_size(size: u64) -> u64 {
    match std::env::var("HPCLAB_MAX_SIZE") {
        Ok(text) => match parse_size(&text) {
            Ok(cap) => size.min(cap),
            Err(message) => {
                eprintln!("hpclab: ignoring HPCLAB_MAX_SIZE: {message}");
                size
            }
        },
        Err(_) => size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("4K"), Ok(4000));
        assert_eq!(parse_size("4Ki"), Ok(4096));
        assert_eq!(parse_size("32Mi"), Ok(32 << 20));
        assert_eq!(parse_size("2M"), Ok(2_000_000));
        assert_eq!(parse_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size("2^25"), Ok(1 << 25));
        assert_eq!(parse_size("1.5M"), Ok(1_500_000));
    }

    #[test]
    fn a_refusal_states_the_limit_or_the_sign() {
        for large in ["2^63", "2^64", "99999999999999999999", "5000000000G"] {
            let message = parse_size(large).unwrap_err();
            assert!(message.contains("up to 2^62"), "{large}: {message}");
        }
        assert_eq!(parse_size("2^62"), Ok(1 << 62));
        assert!(parse_size("-5").unwrap_err().contains("positive"));
    }

    #[test]
    fn rejects_malformed_sizes() {
        for bad in [
            "12Q",
            "-5",
            "0",
            "",
            "Mi",
            "2^",
            "2^64",
            "1.5",
            "99999999999999999999",
            "0.5K1",
        ] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn size_lists_and_ranges() {
        assert_eq!(parse_sizes("1Ki..8Ki"), Ok(vec![1024, 2048, 4096, 8192]));
        assert_eq!(parse_sizes("1000..5000"), Ok(vec![1000, 2000, 4000, 5000]));
        assert_eq!(
            parse_sizes("1M,1000,2^10,1000"),
            Ok(vec![1000, 1024, 1_000_000])
        );
        assert!(parse_sizes("8Ki..1Ki").is_err());
        assert!(parse_sizes("1K,12Q").is_err());
    }

    #[test]
    fn formats_counts_and_bytes() {
        assert_eq!(format_count(1 << 25), "2^25");
        assert_eq!(format_count(3 << 20), "3Mi");
        assert_eq!(format_count(1017), "1017");
        assert_eq!(format_bytes(402_653_184), "402.7 MB");
        assert_eq!(format_bytes(999), "999 B");
    }
}
