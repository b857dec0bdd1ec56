// OdbcSource::rewritePlaceholders: "$n" markers become "?" with the order of
// the values they bind, and nothing quoted or commented is touched; UTF-16
// from wide columns becomes valid UTF-8.

#include <catch2/catch.hpp>

#include "probes/odbc_handle.hpp"
#include "probes/odbc_source.hpp"

using namespace datawatch;

namespace {

OdbcSource::Rewritten rewrite(const std::string& sql, size_t params) {
  auto r = OdbcSource::rewritePlaceholders(sql, params);
  INFO(sql << " -> " << (r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("ODBC placeholders: markers in any order and repeated", "[odbc][placeholders]") {
  auto r = rewrite("SELECT $2, $1 FROM t WHERE a = $2 AND b < $3", 3);
  CHECK(r.sql == "SELECT ?, ? FROM t WHERE a = ? AND b < ?");
  CHECK(r.order == std::vector<int>{2, 1, 2, 3});
  auto ten = rewrite("SELECT $10,$1", 10);
  CHECK(ten.sql == "SELECT ?,?");
  CHECK(ten.order == std::vector<int>{10, 1});
  // No markers: the SQL as written.
  auto none = rewrite("SELECT 1", 0);
  CHECK(none.sql == "SELECT 1");
  CHECK(none.order.empty());
}

TEST_CASE("ODBC placeholders: literals, identifiers and comments are left alone",
          "[odbc][placeholders]") {
  auto r = rewrite(
      "SELECT '$1', 'it''s $2', \"col$1\", \"a\"\"$1\", `b$1`, [c $1], x$1, $tag$ $1 $tag$, "
      "$$ $2 $$ -- $1 here\n, /* $2 */ $1",
      1);
  CHECK(r.sql ==
        "SELECT '$1', 'it''s $2', \"col$1\", \"a\"\"$1\", `b$1`, [c $1], x$1, $tag$ $1 $tag$, "
        "$$ $2 $$ -- $1 here\n, /* $2 */ ?");
  CHECK(r.order == std::vector<int>{1});
  // A '[' after an identifier or ')' is a subscript (ARRAY[$1], (a)[$2]), not a quote.
  auto sub = rewrite("SELECT ARRAY[$1], (v)[$2], a[$1]", 2);
  CHECK(sub.sql == "SELECT ARRAY[?], (v)[?], a[?]");
  CHECK(sub.order == std::vector<int>{1, 2, 1});
  // A ';' inside a literal or identifier, or a trailing one, is one statement.
  auto semi = rewrite("SELECT ';', \"a;b\" FROM t WHERE x = $1; -- done\n", 1);
  CHECK(semi.sql == "SELECT ';', \"a;b\" FROM t WHERE x = ?; -- done\n");
}

TEST_CASE("ODBC placeholders: a marker without a value or a second statement is an error",
          "[odbc][placeholders]") {
  auto high = OdbcSource::rewritePlaceholders("SELECT $1, $3", 2);
  REQUIRE_FALSE(high.ok());
  CHECK_THAT(high.error(), Catch::Contains("$3") && Catch::Contains("2 given"));
  auto zero = OdbcSource::rewritePlaceholders("SELECT $0", 2);
  REQUIRE_FALSE(zero.ok());
  CHECK_THAT(zero.error(), Catch::Contains("$0"));
  auto two = OdbcSource::rewritePlaceholders("SELECT 1; DELETE FROM t", 0);
  REQUIRE_FALSE(two.ok());
  CHECK_THAT(two.error(), Catch::Contains("one statement"));
  auto hidden = OdbcSource::rewritePlaceholders("SELECT 1; /* c */ DELETE FROM t", 0);
  CHECK_FALSE(hidden.ok());
}

TEST_CASE("ODBC wide text becomes valid UTF-8", "[odbc][utf8]") {
  const SQLWCHAR text[] = {'a', 0x00E9, 0x20AC, 0xD83D, 0xDE00, 'b'};
  CHECK(odbc::fromUtf16(text, 6) ==
        "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"
        "b");
  // Unpaired surrogates (a high one at the end, a low one alone) become U+FFFD.
  const SQLWCHAR lone[] = {0xDE00, 'x', 0xD83D};
  CHECK(odbc::fromUtf16(lone, 3) == "\xEF\xBF\xBDx\xEF\xBF\xBD");
  CHECK(odbc::fromUtf16(text, 0).empty());
}

TEST_CASE("ODBC placeholders: backslash escapes where the dialect reads them",
          "[odbc][placeholders]") {
  const std::string sql = "SELECT a FROM t WHERE (name <> 'O\\'Brien') AND c >= $1 AND c <= $2";
  // MySQL reads 'O\'Brien' as one literal: both markers are outside it.
  auto mysql = OdbcSource::rewritePlaceholders(
      sql, 2, dialectFor(config::DialectId::Mysql).backslashEscapes());
  REQUIRE(mysql.ok());
  CHECK(mysql->sql == "SELECT a FROM t WHERE (name <> 'O\\'Brien') AND c >= ? AND c <= ?");
  CHECK(mysql->order == std::vector<int>{1, 2});
  // PostgreSQL (standard strings): the backslash is a character, the quote after
  // it ends the literal, and "Brien') AND c >= $1 ..." opens another that never
  // closes: nothing is rewritten, and the driver reports the SQL as broken.
  auto pg = OdbcSource::rewritePlaceholders(
      sql, 2, dialectFor(config::DialectId::Postgres).backslashEscapes());
  REQUIRE(pg.ok());
  CHECK(pg->order.empty());
  // BigQuery and ClickHouse also escape inside `names`; MySQL does not.
  const std::string named = "SELECT `a\\`b` FROM t WHERE x = $1";
  auto bq = OdbcSource::rewritePlaceholders(
      named, 1, dialectFor(config::DialectId::BigQuery).backslashEscapes());
  REQUIRE(bq.ok());
  CHECK(bq->order == std::vector<int>{1});
  const std::string my_named = "SELECT `a\\` FROM t WHERE x = $1";  // the name is a backslash
  auto my = OdbcSource::rewritePlaceholders(
      my_named, 1, dialectFor(config::DialectId::Mysql).backslashEscapes());
  REQUIRE(my.ok());
  CHECK(my->order == std::vector<int>{1});
  // A ';' inside an escaped literal is not a second statement.
  CHECK(OdbcSource::rewritePlaceholders("SELECT 'a\\'; DROP' FROM t", 0,
                                        dialectFor(config::DialectId::Mysql).backslashEscapes())
            .ok());
}

TEST_CASE("ODBC user statements: one query, nothing that writes or changes the session",
          "[odbc][placeholders]") {
  for (const char* ok : {"SELECT count(*) FROM t", "  /* c */ with x AS (SELECT 1) SELECT * FROM x",
                         "(SELECT 1)", "VALUES (1)", "SELECT 'into' AS word FROM t",
                         "SELECT \"into\" FROM t", "SELECT 1 -- into\n"}) {
    INFO(ok);
    CHECK(OdbcSource::checkUserStatement(ok).ok());
  }
  for (const char* bad :
       {"BEGIN READ WRITE", "SET search_path = pg_catalog", "USE information_schema",
        "COPY (SELECT 1) TO '/tmp/x'", "INSERT INTO t VALUES (1)", "CALL p()", "",
        "-- only a comment", "SELECT 1 INTO OUTFILE '/tmp/x'", "SELECT * INTO t2 FROM t",
        "START TRANSACTION"}) {
    INFO(bad);
    const auto st = OdbcSource::checkUserStatement(bad);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Contains("probes may only read"));
  }
}
