// config::Bound: the ODCS / dbt comparison operators, parsed from their config
// spelling and judged at their edges.
#include <catch2/catch.hpp>

#include "config/types.hpp"

using datawatch::config::Bound;
using datawatch::config::parseBound;

namespace {

Bound parsed(const std::string& text) {
  std::string err;
  auto b = parseBound(text, &err);
  INFO(text << ": " << err);
  REQUIRE(b);
  return *b;
}

std::string errorOf(const std::string& text) {
  std::string err;
  CHECK_FALSE(parseBound(text, &err));
  return err;
}

}  // namespace

TEST_CASE("bounds parse every operator and judge at their edges", "[config][bound]") {
  struct Case {
    const char* text;
    Bound::Op op;
    double below, at, above;  // values just below, at and just above the bound
    bool holds_below, holds_at, holds_above;
  };
  const Case cases[] = {
      {"= 0", Bound::Op::Eq, -1, 0, 1, false, true, false},
      {"== 2", Bound::Op::Eq, 1, 2, 3, false, true, false},
      {"!= 0", Bound::Op::Ne, -1, 0, 1, true, false, true},
      {"<> 0", Bound::Op::Ne, -1, 0, 1, true, false, true},
      {"> 5", Bound::Op::Gt, 4.9, 5, 5.1, false, false, true},
      {">=5", Bound::Op::Ge, 4.9, 5, 5.1, false, true, true},
      {"< 1%", Bound::Op::Lt, 0.9, 1, 1.1, true, false, false},
      {"  <= 10 ", Bound::Op::Le, 9, 10, 11, true, true, false},
  };
  for (const auto& c : cases) {
    const Bound b = parsed(c.text);
    INFO(c.text);
    CHECK(b.op == c.op);
    CHECK(b.holds(c.below) == c.holds_below);
    CHECK(b.holds(c.at) == c.holds_at);
    CHECK(b.holds(c.above) == c.holds_above);
    CHECK(parsed(b.str()) == b);  // the printed spelling reads back the same
  }
  CHECK(parsed("< 1%").percent);
  CHECK_FALSE(parsed("<= 10").percent);
}

TEST_CASE("between is inclusive at both ends, not between exclusive", "[config][bound]") {
  const Bound in = parsed("between 1 and 3");
  CHECK(in.op == Bound::Op::Between);
  CHECK_FALSE(in.holds(0.99));
  CHECK(in.holds(1));
  CHECK(in.holds(3));
  CHECK_FALSE(in.holds(3.01));
  const Bound out = parsed("NOT BETWEEN 1% AND 3%");
  CHECK(out.op == Bound::Op::NotBetween);
  CHECK(out.percent);
  CHECK(out.holds(0.5));
  CHECK_FALSE(out.holds(1));
  CHECK_FALSE(out.holds(3));
  CHECK(out.holds(3.5));
  CHECK(out.str() == "not between 1% and 3%");
  CHECK(parsed("between -2.5 and 1e3").b == 1000);
}

TEST_CASE("a bound's spelling reads back exactly, even where 15 digits do not", "[config][bound]") {
  Bound b;
  b.op = Bound::Op::Le;
  b.a = 0.1 + 0.2;  // 0.30000000000000004: "%.15g" prints 0.3
  CHECK(parsed(b.str()) == b);
  CHECK(b.str() == "<= 0.30000000000000004");
  b.a = 0.1;
  CHECK(b.str() == "<= 0.1");  // short where short is exact
  CHECK(parsed(b.str()) == b);
}

TEST_CASE("a malformed bound says what is wrong", "[config][bound]") {
  CHECK(errorOf("").find("no comparison operator") != std::string::npos);
  CHECK(errorOf("5").find("no comparison operator") != std::string::npos);
  CHECK(errorOf("< ").find("no number after the operator") != std::string::npos);
  CHECK(errorOf("< five").find("no number") != std::string::npos);
  CHECK(errorOf("<= 3 rows").find("unexpected \"rows\"") != std::string::npos);
  CHECK(errorOf("between 5 and 1").find("lower end is above the upper end") != std::string::npos);
  CHECK(errorOf("between 1 and").find("two numbers") != std::string::npos);
  CHECK(errorOf("between 1% and 5").find("percentages or neither") != std::string::npos);
  CHECK(errorOf("not < 5").find("'not' must be followed by 'between'") != std::string::npos);
  CHECK(errorOf("< 150%").find("between 0 and 100") != std::string::npos);
  CHECK(errorOf("< nan").find("no number") != std::string::npos);
  // Every error quotes the input and shows the accepted spellings.
  CHECK(errorOf("~ 3").find("\"~ 3\": ") == 0);
  CHECK(errorOf("~ 3").find("between 1 and 5") != std::string::npos);
}
