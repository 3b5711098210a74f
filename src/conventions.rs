#![doc = include_str!("../docs/CONVENTIONS.md")]
