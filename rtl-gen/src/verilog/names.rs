//! Identifier rules for generated Verilog.
//!
//! Only plain identifiers are produced (no escaped identifiers, no `$`), and
//! SystemVerilog keywords are rejected too: Verilator parses `.v` files as
//! IEEE 1800-2017 by default, so a signal named `logic` or `bit` breaks lint.

/// Reserved words of IEEE 1364-2005 (Annex B).
pub const VERILOG_2005_KEYWORDS: &[&str] = &[
    "always",
    "and",
    "assign",
    "automatic",
    "begin",
    "buf",
    "bufif0",
    "bufif1",
    "case",
    "casex",
    "casez",
    "cell",
    "cmos",
    "config",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "edge",
    "else",
    "end",
    "endcase",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endprimitive",
    "endspecify",
    "endtable",
    "endtask",
    "event",
    "for",
    "force",
    "forever",
    "fork",
    "function",
    "generate",
    "genvar",
    "highz0",
    "highz1",
    "if",
    "ifnone",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "instance",
    "integer",
    "join",
    "large",
    "liblist",
    "library",
    "localparam",
    "macromodule",
    "medium",
    "module",
    "nand",
    "negedge",
    "nmos",
    "nor",
    "noshowcancelled",
    "not",
    "notif0",
    "notif1",
    "or",
    "output",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "pulsestyle_ondetect",
    "pulsestyle_onevent",
    "rcmos",
    "real",
    "realtime",
    "reg",
    "release",
    "repeat",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "scalared",
    "showcancelled",
    "signed",
    "small",
    "specify",
    "specparam",
    "strong0",
    "strong1",
    "supply0",
    "supply1",
    "table",
    "task",
    "time",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "unsigned",
    "use",
    "uwire",
    "vectored",
    "wait",
    "wand",
    "weak0",
    "weak1",
    "while",
    "wire",
    "wor",
    "xnor",
    "xor",
];

/// Reserved words IEEE 1800-2017 adds on top of Verilog-2005.
pub const SYSTEMVERILOG_KEYWORDS: &[&str] = &[
    "accept_on",
    "alias",
    "always_comb",
    "always_ff",
    "always_latch",
    "assert",
    "assume",
    "before",
    "bind",
    "bins",
    "binsof",
    "bit",
    "break",
    "byte",
    "chandle",
    "checker",
    "class",
    "clocking",
    "const",
    "constraint",
    "context",
    "continue",
    "cover",
    "covergroup",
    "coverpoint",
    "cross",
    "dist",
    "do",
    "endchecker",
    "endclass",
    "endclocking",
    "endgroup",
    "endinterface",
    "endpackage",
    "endprogram",
    "endproperty",
    "endsequence",
    "enum",
    "eventually",
    "expect",
    "export",
    "extends",
    "extern",
    "final",
    "first_match",
    "foreach",
    "forkjoin",
    "global",
    "iff",
    "ignore_bins",
    "illegal_bins",
    "implements",
    "implies",
    "import",
    "inside",
    "int",
    "interconnect",
    "interface",
    "intersect",
    "join_any",
    "join_none",
    "let",
    "local",
    "logic",
    "longint",
    "matches",
    "modport",
    "nettype",
    "new",
    "nexttime",
    "null",
    "package",
    "packed",
    "priority",
    "program",
    "property",
    "protected",
    "pure",
    "rand",
    "randc",
    "randcase",
    "randsequence",
    "ref",
    "reject_on",
    "restrict",
    "return",
    "s_always",
    "s_eventually",
    "s_nexttime",
    "s_until",
    "s_until_with",
    "sequence",
    "shortint",
    "shortreal",
    "soft",
    "solve",
    "static",
    "string",
    "strong",
    "struct",
    "super",
    "sync_accept_on",
    "sync_reject_on",
    "tagged",
    "this",
    "throughout",
    "timeprecision",
    "timeunit",
    "type",
    "typedef",
    "union",
    "unique",
    "unique0",
    "until",
    "until_with",
    "untyped",
    "var",
    "virtual",
    "void",
    "wait_order",
    "weak",
    "wildcard",
    "with",
    "within",
];

/// Longest identifier IEEE 1364-2005 guarantees every tool accepts.
pub const MAX_IDENTIFIER_LEN: usize = 1024;

/// True if `word` is reserved in Verilog-2005 or SystemVerilog-2017.
pub fn is_keyword(word: &str) -> bool {
    VERILOG_2005_KEYWORDS.contains(&word) || SYSTEMVERILOG_KEYWORDS.contains(&word)
}

/// Checks that `name` can be emitted as a plain identifier:
/// `[A-Za-z_][A-Za-z0-9_]*`, at most [`MAX_IDENTIFIER_LEN`] characters, not a
/// keyword. `$` is legal Verilog after the first character but is refused
/// because it collides with system-task syntax and some tool flows.
pub fn check_identifier(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("empty identifier".to_string());
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(format!(
            "identifier {name:?} must start with a letter or '_'"
        ));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(format!(
            "identifier {name:?} contains {bad:?}; only [A-Za-z0-9_] are allowed"
        ));
    }
    if name.len() > MAX_IDENTIFIER_LEN {
        return Err(format!(
            "identifier {name:?} is longer than {MAX_IDENTIFIER_LEN} characters"
        ));
    }
    if is_keyword(name) {
        return Err(format!(
            "identifier {name:?} is a Verilog/SystemVerilog keyword"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for ok in ["a", "_x", "acc_q", "w0", "A_B_9", "begin_", "logic2"] {
            assert_eq!(check_identifier(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_illegal_identifiers() {
        for bad in [
            "",
            "0a",
            "a$b",
            "a b",
            "a-b",
            "a.b",
            "\\esc",
            "é",
            "module",
            "wire",
            "reg",
            "uwire",
            "logic",
            "bit",
            "always_ff",
            "int",
        ] {
            assert!(check_identifier(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_identifier(&"a".repeat(MAX_IDENTIFIER_LEN + 1)).is_err());
        assert!(check_identifier(&"a".repeat(MAX_IDENTIFIER_LEN)).is_ok());
    }

    #[test]
    fn keyword_lists_are_sorted_and_disjoint() {
        // Sorted lists keep diffs reviewable against the standard's tables.
        for list in [VERILOG_2005_KEYWORDS, SYSTEMVERILOG_KEYWORDS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(VERILOG_2005_KEYWORDS
            .iter()
            .all(|k| !SYSTEMVERILOG_KEYWORDS.contains(k)));
    }
}
