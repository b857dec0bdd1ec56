#include <catch2/catch.hpp>

#include <ctime>

#include "core/cron.hpp"
#include "core/duration.hpp"
#include "core/redact.hpp"
#include "core/time_format.hpp"
#include "probes/timestamp_values.hpp"

using namespace datawatch;
using namespace std::chrono_literals;

TEST_CASE("durations parse in config syntax", "[core][duration]") {
  CHECK(*parseDuration("500ms") == 500ms);
  CHECK(*parseDuration("30s") == 30s);
  CHECK(*parseDuration("5m") == 5min);
  CHECK(*parseDuration("1h") == 1h);
  CHECK(*parseDuration("1d") == 24h);
  CHECK(*parseDuration("28d") == 28 * 24h);
  CHECK(*parseDuration("1h30m") == 90min);
  CHECK(*parseDuration("2w") == 14 * 24h);
  CHECK(*parseDuration("0s") == 0s);
}

TEST_CASE("bad durations are errors that say why", "[core][duration]") {
  CHECK(parseDuration("").error() == "empty duration");
  CHECK_THAT(parseDuration("5").error(), Catch::Contains("missing unit"));
  CHECK_THAT(parseDuration("1hour").error(), Catch::Contains("unknown unit \"hour\""));
  CHECK_THAT(parseDuration("-5m").error(), Catch::Contains("expected a number"));
  CHECK_THAT(parseDuration("m5").error(), Catch::Contains("invalid duration"));
  CHECK_THAT(parseDuration("99999999999999999999d").error(), Catch::Contains("too large"));
}

TEST_CASE("durations format back", "[core][duration]") {
  CHECK(formatDuration(90min) == "1h30m");
  CHECK(formatDuration(28 * 24h) == "28d");
  CHECK(formatDuration(1500ms) == "1s500ms");
  CHECK(formatDuration(0s) == "0s");
  CHECK(humanDuration(13min + 32s) == "13m32s");
  CHECK(humanDuration(2h) == "2h");
  CHECK(humanDuration(50h) == "2d2h");
  CHECK(humanDuration(1500ms) == "1.5s");
  for (auto d : {500ms, Duration(30s), Duration(5min), Duration(26h + 1s)}) {
    CHECK(*parseDuration(formatDuration(d)) == d);
  }
}

TEST_CASE("timestamps parse with and without zones", "[core][time]") {
  const auto base = *parseTimestamp("2026-11-26T10:00:00Z");
  CHECK(formatRfc3339(base) == "2026-11-26T10:00:00Z");
  CHECK(toUnixSeconds(base) == 1795687200.0);
  CHECK(*parseTimestamp("2026-11-26 10:00:00") == base);
  CHECK(*parseTimestamp("2026-11-26T12:00:00+02:00") == base);
  CHECK(*parseTimestamp("2026-11-26T05:30:00-0430") == base);
  CHECK(*parseTimestamp("2026-11-26T10:00") == base);
  CHECK(*parseTimestamp("2026-11-26") == base - 10h);
  CHECK(*parseTimestamp("2026-11-26T10:00:00.250Z") == base + 250ms);
  CHECK_FALSE(parseTimestamp("yesterday"));
  CHECK_FALSE(parseTimestamp("2026-13-01"));
  CHECK_FALSE(parseTimestamp("2026-02-30"));
  CHECK_FALSE(parseTimestamp("2026-11-26T25:00:00Z"));
  CHECK_FALSE(parseTimestamp("2026-11-26T10:00:00Zjunk"));
  // As warehouses print zones, after a space (SQL Server datetimeoffset,
  // Snowflake TIMESTAMP_TZ, Trino/BigQuery "UTC").
  CHECK(*parseTimestamp("2026-11-26 12:00:00.0000000 +02:00") == base);
  CHECK(*parseTimestamp("2026-11-26 10:00:00.000 +0000") == base);
  CHECK(*parseTimestamp("2026-11-26 05:30:00 -04:30") == base);
  CHECK(*parseTimestamp("2026-11-26 10:00:00.000 UTC") == base);
  CHECK_FALSE(parseTimestamp("2026-11-26 10:00:00 CEST"));
  CHECK_FALSE(parseTimestamp("2026-11-26 10:00:00  +02:00"));
  CHECK(formatRfc3339Millis(base + 5ms) == "2026-11-26T10:00:00.005Z");
  CHECK(formatCompactDate(base) == "20261126");
}

TEST_CASE("RFC 3339 formatting (and with milliseconds) agrees with gmtime and strftime",
          "[core][time]") {
  // The reference is the C library's: gmtime_r + strftime, on whole seconds
  // over TimePoint's range, years 1678 to 2261 (a fixed-seed walk; leap days,
  // year ends and centuries among the fixed ones), plus sub-second instants,
  // which are truncated.
  const auto reference = [](int64_t secs) {
    const time_t t = static_cast<time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf);
  };
  const int64_t first = -9214560000;  // 1678-01-01T00:00:00Z
  const int64_t last = 9214646399;    // 2261-12-31T23:59:59Z
  std::vector<int64_t> instants{first,
                                last,
                                0,
                                951782400 /* 2000-02-29 */,
                                4107456000 /* 2100-02-28 */,
                                1798761599 /* 2026-12-31T23:59:59 */,
                                -2203977600 /* 1900-02-28 */};
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    instants.push_back(first + static_cast<int64_t>(x % static_cast<uint64_t>(last - first)));
  }
  for (int64_t secs : instants) {
    const TimePoint t{std::chrono::seconds(secs)};
    INFO(secs);
    CHECK(formatRfc3339(t) == reference(secs));
    CHECK(formatRfc3339(t + 999ms) == reference(secs));
    for (const auto& [add, text] :
         {std::pair{0us, ".000"}, std::pair{7999us, ".007"}, std::pair{999999us, ".999"}}) {
      std::string millis = reference(secs);
      millis.insert(millis.size() - 1, text);
      CHECK(formatRfc3339Millis(t + add) == millis);
    }
  }
  // TimePoint's first instant: its milliseconds from the count (t - floor(t)
  // would overflow there).
  CHECK(formatRfc3339Millis(TimePoint::min()) == "1677-09-21T00:12:43.145Z");
}

TEST_CASE("cron expressions find the previous and next run", "[core][cron]") {
  const auto t = *parseTimestamp("2026-11-26T07:30:00Z");  // a Thursday
  auto daily6 = CronExpr::parse("0 6 * * *");
  REQUIRE(daily6);
  CHECK(formatRfc3339(*daily6->previous(t)) == "2026-11-26T06:00:00Z");
  CHECK(formatRfc3339(*daily6->previous(*parseTimestamp("2026-11-26T05:59:00Z"))) ==
        "2026-11-25T06:00:00Z");
  CHECK(formatRfc3339(*daily6->next(t)) == "2026-11-27T06:00:00Z");
  auto every15 = CronExpr::parse("*/15 * * * *");
  REQUIRE(every15);
  CHECK(formatRfc3339(*every15->previous(*parseTimestamp("2026-11-26T07:44:59Z"))) ==
        "2026-11-26T07:30:00Z");
  auto weekdays = CronExpr::parse("30 9 * * mon-fri");
  REQUIRE(weekdays);
  CHECK(formatRfc3339(*weekdays->next(*parseTimestamp("2026-11-27T10:00:00Z"))) ==
        "2026-11-30T09:30:00Z");
  auto monthly = CronExpr::parse("@monthly");
  REQUIRE(monthly);
  CHECK(formatRfc3339(*monthly->previous(t)) == "2026-11-01T00:00:00Z");
  // A fixed offset: 06:00 at +02:00 is 04:00 UTC.
  CHECK(formatRfc3339(*daily6->previous(t, 2h)) == "2026-11-26T04:00:00Z");
  // Sunday as 7.
  auto sunday = CronExpr::parse("0 0 * * 7");
  REQUIRE(sunday);
  CHECK(formatRfc3339(*sunday->next(t)) == "2026-11-29T00:00:00Z");
}

TEST_CASE("bad cron expressions are rejected with the field named", "[core][cron]") {
  CHECK_THAT(CronExpr::parse("0 6 * *").error(), Catch::Contains("expected 5 fields"));
  CHECK_THAT(CronExpr::parse("60 * * * *").error(), Catch::Contains("minute"));
  CHECK_THAT(CronExpr::parse("0 24 * * *").error(), Catch::Contains("hour"));
  CHECK_THAT(CronExpr::parse("0 0 0 * *").error(), Catch::Contains("day-of-month"));
  CHECK_THAT(CronExpr::parse("0 0 * foo *").error(), Catch::Contains("month"));
  CHECK_THAT(CronExpr::parse("*/0 * * * *").error(), Catch::Contains("step"));
}

TEST_CASE("the redactor masks secrets and DSN passwords", "[core][redact]") {
  Redactor r({"s3cr3t-token", "hooks.slack.com/services/T000/B000/XXXX"});
  CHECK(r.redact("token=abc s3cr3t-token end") == "token=<redacted> <redacted> end");
  CHECK(r.redact("posting to https://hooks.slack.com/services/T000/B000/XXXX failed") ==
        "posting to https://<redacted> failed");
  CHECK(Redactor::redactDsn("postgres://user:pa55@db:5432/x") ==
        "postgres://user:<redacted>@db:5432/x");
  // A password that is not percent-encoded: nothing of it leaks.
  CHECK(Redactor::redactDsn("postgres://u:p@ss/w#rd@db:5432/x") ==
        "postgres://u:<redacted>@db:5432/x");
  CHECK(Redactor::redactDsn("postgres://db:5432/x") == "postgres://db:5432/x");
  CHECK(Redactor::redactDsn("host=db user=u password=pa55 dbname=x") ==
        "host=db user=u password=<redacted> dbname=x");
  CHECK(Redactor::redactDsn("host=db password='pa 55' dbname=x") ==
        "host=db password=<redacted> dbname=x");
  CHECK(Redactor::redactDsn("postgres://db/x") == "postgres://db/x");
  // Short values are not treated as secrets (they would mask ordinary words).
  Redactor short_ones({"on"});
  CHECK(short_ones.redact("connection") == "connection");
}

TEST_CASE("the redactor masks the secrets of ODBC connection strings by shape",
          "[core][redact][odbc]") {
  CHECK(Redactor::redactDsn("Driver={PostgreSQL Unicode};Server=db;Uid=u;PWD=pa55;Port=5432") ==
        "Driver={PostgreSQL Unicode};Server=db;Uid=u;PWD=<redacted>;Port=5432");
  // Keys are case-insensitive; a value runs to the next ';', spaces included.
  CHECK(Redactor::redactDsn("DSN=x;password=my secret pw;UID=u") ==
        "DSN=x;password=<redacted>;UID=u");
  CHECK(Redactor::redactDsn("Driver=X;Pwd=last one") == "Driver=X;Pwd=<redacted>");
  // A braced value is masked whole, ';' and escaped '}}' inside included.
  CHECK(Redactor::redactDsn("Driver=X;PWD={a;b}}c=d};Server=s") ==
        "Driver=X;PWD=<redacted>;Server=s");
  CHECK(Redactor::redactDsn("Driver=X;PWD={never closed;Server=s") == "Driver=X;PWD=<redacted>");
  // Any key naming a token or a secret.
  CHECK(Redactor::redactDsn(
            "Driver=Simba;AuthMech=11;Auth_AccessToken=eyJ.abc;OAuthClientSecret=s3;Host=h") ==
        "Driver=Simba;AuthMech=11;Auth_AccessToken=<redacted>;OAuthClientSecret=<redacted>;Host=h");
  CHECK(Redactor::redactDsn("Driver=X;ProxyPwd=pp;UID=u") == "Driver=X;ProxyPwd=<redacted>;UID=u");
  // Non-secret keys stay readable; a message around a connection string keeps its other lines.
  CHECK(Redactor::redactDsn("Driver=X;Server=db;Database=shop") ==
        "Driver=X;Server=db;Database=shop");
  CHECK(Redactor::redactDsn("Driver=X;ApiKey=v1-leak;Credentials_File=/k.json;UID=u") ==
        "Driver=X;ApiKey=<redacted>;Credentials_File=<redacted>;UID=u");
  CHECK(Redactor::redactDsn("connect failed\nDriver=X;PWD=pa55;UID=u\nretrying") ==
        "connect failed\nDriver=X;PWD=<redacted>;UID=u\nretrying");
}

TEST_CASE("stored timestamp representations are detected and written back comparably",
          "[core][time]") {
  const auto t = *parseTimestamp("2026-11-26T10:00:00Z");
  struct Case {
    SqlValue sample;
    SqlValue expected_bound;
  };
  const Case cases[] = {
      {SqlValue{std::string("2026-11-20T01:02:03Z")},
       SqlValue{std::string("2026-11-26T10:00:00Z")}},
      {SqlValue{std::string("2026-11-20 01:02:03")}, SqlValue{std::string("2026-11-26 10:00:00")}},
      {SqlValue{std::string("2026-11-20T01:02:03.123456+02:00")},
       SqlValue{std::string("2026-11-26T12:00:00.000000+02:00")}},
      {SqlValue{std::string("2026-11-20T01:02")}, SqlValue{std::string("2026-11-26T10:00")}},
      {SqlValue{std::string("2026-11-20")}, SqlValue{std::string("2026-11-26")}},
      {SqlValue{std::string("2026-11-20 01:02:03.1234567 +02:00")},
       SqlValue{std::string("2026-11-26 12:00:00.0000000 +02:00")}},
      {SqlValue{std::string("2026-11-20 01:02:03.000 UTC")},
       SqlValue{std::string("2026-11-26 10:00:00.000 UTC")}},
      {SqlValue{int64_t{1795000000}}, SqlValue{1795687200.0}},
      {SqlValue{int64_t{1795000000000}}, SqlValue{1795687200000.0}},
  };
  for (const auto& c : cases) {
    auto f = detectTimestampFormat(c.sample);
    REQUIRE(f);
    CHECK(timestampToValue(*f, t) == c.expected_bound);
    // The bound reads back as the same time (to the format's precision).
    auto back = timestampFromValue(timestampToValue(*f, t));
    REQUIRE(back);
    CHECK(std::chrono::abs(*back - t) < std::chrono::hours(24));
  }
  CHECK(*timestampFromValue(SqlValue{int64_t{1795687200000}}) == t);
  CHECK_FALSE(detectTimestampFormat(SqlValue{std::string("soon")}));
  CHECK_FALSE(detectTimestampFormat(SqlValue{}));
}

#include "core/timezone.hpp"

TEST_CASE("named time zones follow the zoneinfo tables and their rules", "[core][timezone]") {
  auto berlin = TimeZone::load("Europe/Berlin");
  REQUIRE(berlin.ok());
  CHECK(berlin->offsetAt(*parseTimestamp("2026-01-15T12:00:00Z")) == 1h);
  CHECK(berlin->offsetAt(*parseTimestamp("2026-07-01T12:00:00Z")) == 2h);
  // The 2026 switches: 29 March 01:00 UTC, 25 October 01:00 UTC.
  CHECK(berlin->offsetAt(*parseTimestamp("2026-03-29T00:59:59Z")) == 1h);
  CHECK(berlin->offsetAt(*parseTimestamp("2026-03-29T01:00:00Z")) == 2h);
  CHECK(berlin->offsetAt(*parseTimestamp("2026-10-25T00:59:59Z")) == 2h);
  CHECK(berlin->offsetAt(*parseTimestamp("2026-10-25T01:00:00Z")) == 1h);
  // Past the table (2037): the POSIX rule CET-1CEST,M3.5.0,M10.5.0/3.
  CHECK(berlin->offsetAt(*parseTimestamp("2045-07-01T12:00:00Z")) == 2h);
  CHECK(berlin->offsetAt(*parseTimestamp("2045-12-01T12:00:00Z")) == 1h);
  CHECK(berlin->offsetAt(*parseTimestamp("2045-03-26T01:00:00Z")) ==
        2h);                                         // last Sunday of March 2045
  auto sydney = TimeZone::load("Australia/Sydney");  // southern hemisphere
  REQUIRE(sydney.ok());
  CHECK(sydney->offsetAt(*parseTimestamp("2045-01-15T00:00:00Z")) == 11h);
  CHECK(sydney->offsetAt(*parseTimestamp("2045-07-15T00:00:00Z")) == 10h);
  auto kolkata = TimeZone::load("+05:30");
  REQUIRE(kolkata.ok());
  CHECK(kolkata->offsetAt(*parseTimestamp("2026-07-01T00:00:00Z")) == 5h + 30min);
  CHECK_THAT(TimeZone::load("Mars/Olympus").error(), Catch::Contains("unknown time zone"));
  CHECK_FALSE(TimeZone::load("../../etc/passwd").ok());

  // "06:00 every day, Berlin time": 05:00 UTC in winter, 04:00 UTC in summer.
  auto daily6 = CronExpr::parse("0 6 * * *");
  REQUIRE(daily6);
  CHECK(formatRfc3339(*previousRun(*daily6, *parseTimestamp("2026-01-15T07:00:00Z"), *berlin)) ==
        "2026-01-15T05:00:00Z");
  CHECK(formatRfc3339(*previousRun(*daily6, *parseTimestamp("2026-07-01T07:00:00Z"), *berlin)) ==
        "2026-07-01T04:00:00Z");
  // The day after the spring switch, early: the run is the previous day's, in the old offset.
  CHECK(formatRfc3339(*previousRun(*daily6, *parseTimestamp("2026-03-29T03:00:00Z"), *berlin)) ==
        "2026-03-28T05:00:00Z");
}

TEST_CASE(
    "schedules on DST days run as cron runs them: the first of a repeated time, the gap's end "
    "for a skipped one",
    "[core][timezone][cron]") {
  auto berlin = TimeZone::load("Europe/Berlin");
  REQUIRE(berlin.ok());
  auto at230 = CronExpr::parse("30 2 * * *");
  REQUIRE(at230);
  auto run = [&](const char* utc) {
    return formatRfc3339(*previousRun(*at230, *parseTimestamp(utc), *berlin));
  };
  // 25 Oct 2026: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30 happens at 00:30 UTC
  // (CEST) and again at 01:30 UTC (CET). Cron runs the first one only.
  CHECK(run("2026-10-25T00:20:00Z") == "2026-10-24T00:30:00Z");  // 02:20 CEST: not yet
  CHECK(run("2026-10-25T00:30:00Z") == "2026-10-25T00:30:00Z");  // the first 02:30
  CHECK(run("2026-10-25T00:45:00Z") == "2026-10-25T00:30:00Z");  // 02:45 CEST
  CHECK(run("2026-10-25T01:20:00Z") == "2026-10-25T00:30:00Z");  // 02:20 CET, local time went back
  CHECK(run("2026-10-25T01:45:00Z") == "2026-10-25T00:30:00Z");  // 02:45 CET: not the second 02:30
  CHECK(run("2026-10-25T12:00:00Z") == "2026-10-25T00:30:00Z");
  CHECK(run("2026-10-26T02:00:00Z") == "2026-10-26T01:30:00Z");  // the next day, in CET
  // 29 Mar 2026: 02:00 CET -> 03:00 CEST at 01:00 UTC; 02:30 does not exist and
  // runs when the gap ends, at 03:00 CEST (01:00 UTC), as Vixie cron does.
  CHECK(run("2026-03-29T00:59:00Z") == "2026-03-28T01:30:00Z");  // 01:59 CET: yesterday's
  CHECK(run("2026-03-29T01:00:00Z") == "2026-03-29T01:00:00Z");
  CHECK(run("2026-03-29T01:10:00Z") == "2026-03-29T01:00:00Z");
  CHECK(run("2026-03-30T01:00:00Z") == "2026-03-30T00:30:00Z");  // the next day, in CEST
  // Every 15 minutes of the skipped hour: all of them run at 03:00 CEST.
  auto quarterly2 = CronExpr::parse("*/15 2 * * *");
  REQUIRE(quarterly2);
  CHECK(formatRfc3339(*previousRun(*quarterly2, *parseTimestamp("2026-03-29T01:05:00Z"),
                                   *berlin)) == "2026-03-29T01:00:00Z");
  // Every 15 minutes of the repeated hour: the first pass only (00:00-00:45 UTC).
  CHECK(formatRfc3339(*previousRun(*quarterly2, *parseTimestamp("2026-10-25T01:50:00Z"),
                                   *berlin)) == "2026-10-25T00:45:00Z");
  // An hourly job runs in both passes of the repeated hour, as cron runs it.
  auto hourly = CronExpr::parse("0 * * * *");
  REQUIRE(hourly);
  CHECK(formatRfc3339(*previousRun(*hourly, *parseTimestamp("2026-10-25T01:10:00Z"), *berlin)) ==
        "2026-10-25T01:00:00Z");
  CHECK(formatRfc3339(*previousRun(*hourly, *parseTimestamp("2026-10-25T00:10:00Z"), *berlin)) ==
        "2026-10-25T00:00:00Z");
  // A fixed offset has neither.
  auto plus2 = TimeZone::load("+02:00");
  REQUIRE(plus2.ok());
  CHECK(formatRfc3339(*previousRun(*at230, *parseTimestamp("2026-10-25T01:45:00Z"), *plus2)) ==
        "2026-10-25T00:30:00Z");
}
