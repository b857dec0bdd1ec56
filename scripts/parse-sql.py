#!/usr/bin/python3
"""Parses every statement of a golden SQL file with sqlglot in its dialect.

Usage: scripts/parse-sql.py tests/golden/sql/<dialect>.sql <dialect>

The golden files (written by tests/unit/dialect_sql_test.cpp) hold blocks of
    -- <scenario>: <statement>
    -- params: <bound values>
    <one statement>;
sqlglot (Debian's python3-sqlglot, an independent parser) parses each statement
with parse_one(sql, read=<dialect>). Every failure is printed with its label and
statement and the exit code is 1. Two documented adjustments come first, for
what sqlglot 10.6 cannot read although the dialect can: the ALLOWED rewrites
below (each names the construct and why; the rest of the statement is still
parsed; an entry that matches nothing is stale and fails), and quoted names
holding escapes, checked against the dialect's quoting rule and made plain
(see QUOTING).
Needs /usr/bin/python3 (the Debian module), not a pyenv python.
"""
import re
import sys

import sqlglot
from sqlglot.errors import ParseError, TokenError

# datawatch dialect -> sqlglot dialect
SQLGLOT = {
    "postgres": "postgres",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "sqlserver": "tsql",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "redshift": "redshift",
    "trino": "trino",
    "clickhouse": "clickhouse",
}

# The allow-list: constructs valid in a dialect that sqlglot 10.6 cannot read.
# Each entry is (datawatch dialect, regular expression, replacement, why): the
# construct is rewritten to one sqlglot reads and the REST of the statement is
# still parsed (never a blanket skip). An entry that matches no statement of
# its dialect's file is stale and fails the check.
ALLOWED = [
    ("postgres", r" REPEATABLE \(\d+\)", "",
     "TABLESAMPLE ... REPEATABLE (seed) is PostgreSQL 9.5+; sqlglot 10.6 reads "
     "TABLESAMPLE SYSTEM/BERNOULLI (p) but not the REPEATABLE clause"),
    ("sqlserver", r" REPEATABLE \(\d+\)", "",
     "TABLESAMPLE SYSTEM (p PERCENT) REPEATABLE (seed) is T-SQL (drift's repeatable "
     "sample); sqlglot 10.6 reads TABLESAMPLE (p PERCENT) but not REPEATABLE"),
    ("sqlite", r"^WITH s AS MATERIALIZED \(", "WITH s AS (",
     "WITH ... AS MATERIALIZED is SQLite 3.35+; sqlglot 10.6 lacks the CTE hint"),
    ("databricks", r"^DESCRIBE TABLE EXTENDED ", "DESCRIBE ",
     "DESCRIBE TABLE EXTENDED is Databricks SQL (the row estimate's statistics); "
     "sqlglot 10.6 reads DESCRIBE <table> but not TABLE EXTENDED"),
]

# How each dialect quotes names: (open, close, doubled close is an escape,
# backslash escapes). sqlglot 10.6 ends a quoted name at the first closing
# quote: it reads "a""b" as "a" AS "b" (no error!), `a\`b` as unterminated,
# [a]]b] as [a] then junk. So before parsing, each quoted name holding an
# escape is checked to be well-formed by the dialect's documented rule (an
# unterminated one fails) and replaced by the same name with its quote and
# backslash characters as '_': sqlglot then parses the statement around it.
QUOTING = {
    "postgres": ('"', '"', True, False),
    "sqlite": ("`", "`", True, False),
    "snowflake": ('"', '"', True, False),
    "redshift": ('"', '"', True, False),
    "trino": ('"', '"', True, False),
    "mysql": ("`", "`", True, False),
    "databricks": ("`", "`", True, False),
    "clickhouse": ("`", "`", True, True),
    "bigquery": ("`", "`", False, True),
    "sqlserver": ("[", "]", True, False),
}


def plain_names(sql, dialect):
    """(sql with escaped quoted names made plain, count) or raises ValueError."""
    open_q, close_q, doubled, backslash = QUOTING[dialect]
    out, i, count = [], 0, 0
    while i < len(sql):
        c = sql[i]
        if c == "'":  # a string literal: '' doubles a quote
            j = i + 1
            while j < len(sql) and not (sql[j] == "'" and sql[j + 1:j + 2] != "'"):
                j += 2 if sql[j] == "'" else 1
            if j >= len(sql):
                raise ValueError("unterminated string literal at %d" % i)
            out.append(sql[i:j + 1])
            i = j + 1
        elif c == open_q:
            name, j, escaped = [], i + 1, False
            while True:
                if j >= len(sql):
                    raise ValueError("unterminated quoted name at %d" % i)
                if backslash and sql[j] == "\\":
                    m = re.match(r"x([0-9a-fA-F]{2})", sql[j + 1:j + 4])
                    name.append(chr(int(m.group(1), 16)) if m else sql[j + 1:j + 2])
                    j += 4 if m else 2
                    escaped = True
                elif sql[j] == close_q and doubled and sql[j + 1:j + 2] == close_q:
                    name.append(close_q)
                    j += 2
                    escaped = True
                elif sql[j] == close_q:
                    break
                else:
                    name.append(sql[j])
                    j += 1
            text = "".join(name)
            if escaped:
                count += 1
                text = re.sub(r"[\\%s%s]" % (re.escape(open_q), re.escape(close_q)), "_", text)
            out.append(open_q + text + close_q)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out), count


def statements(text):
    """(label, sql) of each statement block."""
    out = []
    for chunk in text.split(";\n"):
        label, sql_lines, prev = None, [], None
        for line in chunk.split("\n"):
            if line.startswith("--"):
                if line.startswith("-- params:"):
                    label = prev[3:] if prev else "(unlabelled)"
                prev = line
            elif line.strip():
                sql_lines.append(line)
        if sql_lines:
            out.append((label or "(unlabelled)", "\n".join(sql_lines)))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SQLGLOT:
        sys.exit("usage: parse-sql.py FILE DIALECT (one of %s)" % ", ".join(SQLGLOT))
    path, dialect = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        stmts = statements(f.read())
    if not stmts:
        sys.exit("%s: no statements" % path)
    allowed = [(re.compile(p), r, why) for d, p, r, why in ALLOWED if d == dialect]
    used = set()
    failures = plain = 0
    for label, sql in stmts:
        text = sql
        for k, (pattern, replacement, why) in enumerate(allowed):
            if pattern.search(text):
                used.add(k)
                text = pattern.sub(replacement, text)
        try:
            text, n = plain_names(text, dialect)
            plain += n
            sqlglot.parse_one(text, read=SQLGLOT[dialect])
        except Exception as e:  # ParseError, TokenError, and 10.6's RuntimeError
            failures += 1
            print("FAIL %s: %s\n  %s\n  %s: %s" % (dialect, label, sql, type(e).__name__,
                                                  str(e).split("\n")[0]))
    for k, (pattern, _, why) in enumerate(allowed):
        if k not in used:
            failures += 1
            print("STALE allow-list entry for %s: /%s/ (%s) matches no statement"
                  % (dialect, pattern.pattern, why))
    print("%s: %d statements, %d failed; allow-list entries used: %d; escaped names made "
          "plain: %d (sqlglot %s)" % (dialect, len(stmts), failures, len(used), plain,
                                       sqlglot.__version__))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
