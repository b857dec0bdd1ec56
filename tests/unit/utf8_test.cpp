#include <catch2/catch.hpp>

#include "core/utf8.hpp"
#include "probes/result.hpp"

using namespace datawatch;

namespace {
const std::string R = "\xEF\xBF\xBD";  // U+FFFD
}

TEST_CASE("toValidUtf8 returns valid UTF-8 unchanged", "[core][utf8]") {
  for (const std::string& s : {std::string(), std::string("plain ascii"),
                               std::string("caf\xC3\xA9"),       // é
                               std::string("\xE2\x82\xAC 5"),    // €
                               std::string("\xF0\x9F\x98\x80"),  // U+1F600
                               std::string("\xEF\xBF\xBF"),      // U+FFFF
                               std::string("\xF4\x8F\xBF\xBF"),  // U+10FFFF
                               std::string("nul\0inside", 10)}) {
    CHECK(isValidUtf8(s));
    CHECK(toValidUtf8(s) == s);
  }
}

TEST_CASE("toValidUtf8 replaces each ill-formed sequence by U+FFFD", "[core][utf8]") {
  // Unicode's "maximal subpart" practice (as ICU, WHATWG and Python do).
  CHECK(toValidUtf8("ba\xFF"
                    "d") == "ba" + R + "d");
  CHECK(toValidUtf8("\x80") == R);  // lone continuation
  CHECK(toValidUtf8("\x80\x80") == R + R);
  CHECK(toValidUtf8("\xC0\xAF") == R + R);  // overlong '/'
  CHECK(toValidUtf8("\xC1\xBF") == R + R);
  CHECK(toValidUtf8("\xE0\x80\xAF") == R + R + R);          // overlong 3-byte
  CHECK(toValidUtf8("\xF0\x80\x80\xAF") == R + R + R + R);  // overlong 4-byte
  CHECK(toValidUtf8("\xED\xA0\x80") == R + R + R);          // surrogate U+D800
  CHECK(toValidUtf8("\xED\xBF\xBF") == R + R + R);          // surrogate U+DFFF
  CHECK(toValidUtf8("\xF4\x90\x80\x80") == R + R + R + R);  // above U+10FFFF
  CHECK(toValidUtf8("\xF5\x80") == R + R);
  CHECK(toValidUtf8("a\xE2\x82") == "a" + R);  // truncated at the end
  CHECK(toValidUtf8("\xE2\x82z") == R + "z");  // truncated mid-string
  CHECK(toValidUtf8("\xF0\x9F\x98") == R);
  CHECK(toValidUtf8("\xF0\x9F\x98\xC3\xA9") == R + "\xC3\xA9");  // next char kept
  CHECK(toValidUtf8("\xC3") == R);
  CHECK_FALSE(isValidUtf8("\xC3"));
  CHECK(isValidUtf8(toValidUtf8("\xFE\xFF\xC0\x80\xED\xA0\x80\xF8\x88\x80\x80\x80")));
}

TEST_CASE("isValidUtf8 finds a bad byte or checks a character at any offset", "[core][utf8]") {
  // isValidUtf8 skips ASCII eight bytes at a time: every offset of a 40-byte
  // text, so each one falls before, across and after a word boundary.
  const std::string ascii(40, 'a');
  for (size_t k = 0; k < ascii.size(); ++k) {
    INFO(k);
    std::string bad = ascii;
    bad[k] = '\xFF';
    CHECK_FALSE(isValidUtf8(bad));
    bad[k] = '\x80';  // a lone continuation byte
    CHECK_FALSE(isValidUtf8(bad));
    for (const std::string& ch :
         {std::string("\xC3\xA9"), std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x98\x80")}) {
      std::string good = ascii;
      good.insert(k, ch);
      CHECK(isValidUtf8(good));
      std::string cut = ascii.substr(0, k) + ch.substr(0, ch.size() - 1);  // truncated at the end
      CHECK_FALSE(isValidUtf8(cut));
    }
    std::string surrogate = ascii;
    surrogate.insert(k, "\xED\xA0\x80");
    CHECK_FALSE(isValidUtf8(surrogate));
  }
}

TEST_CASE("dumpJson never throws on invalid UTF-8", "[core][utf8]") {
  nlohmann::json j = {{"k", std::string("ba\xFF"
                                        "d")}};
  CHECK_THROWS(j.dump());
  CHECK(dumpJson(j) == "{\"k\":\"ba" + R + "d\"}");
  CHECK(dumpJson(nlohmann::json::array({1}), 2) == "[\n  1\n]");
}

TEST_CASE("ProbeResult::makeValidUtf8 cleans every string, details at any depth",
          "[probes][utf8]") {
  const std::string bad = "x\xFF";
  auto r = ProbeResult::fail(2, "rows", "unexpected " + bad);
  r.target = bad;
  r.details = {{"samples", {bad, "ok"}}, {bad, {{"nested", bad}, {"n", 1}}}};
  r.threshold = {{"accepted", {bad}}};
  r.makeValidUtf8();
  const std::string good = "x" + R;
  CHECK(r.message == "unexpected " + good);
  CHECK(r.target == good);
  CHECK(r.details["samples"] == nlohmann::json::array({good, "ok"}));
  CHECK(r.details[good]["nested"] == good);
  CHECK(r.details[good]["n"] == 1);
  CHECK(r.threshold["accepted"][0] == good);
  CHECK_NOTHROW(r.toJson().dump());
}
